// SPDX-License-Identifier: GPL-2.0
/*
 * Built with AddressSanitizer, its runtime a shared library (GCC's
 * default): the runtime stops the program unless it comes first in the
 * loader's list, so peaktrace --preload must run it without
 * peaktrace-preload.so.  Prints the LD_PRELOAD it got, then makes and
 * frees a block (ASan's allocator: no C library probe sees it).
 */
#include <stdlib.h>
#include "../victim.h"

int main(void)
{
	const char *pre = getenv("LD_PRELOAD");

	printf("LD_PRELOAD=%s\n", pre ? pre : "");
	fflush(stdout);
	free(keep(malloc(1 * MiB)));
	return 0;
}

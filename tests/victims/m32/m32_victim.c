// SPDX-License-Identifier: GPL-2.0
/*
 * A 32-bit program (built with -m32): one 3 MiB malloc.  peaktrace probes
 * x86-64 code only: it must say the heap of this process is not traced,
 * never report figures read with 64-bit conventions.
 */
#include "../victim.h"

int main(void)
{
	char *p = keep(malloc(3 * MiB));

	memset(p, 1, 3 * MiB);
	free(p);
	return 3;
}

// SPDX-License-Identifier: GPL-2.0
/* Statically linked: no C library for peaktrace to probe.  Exits 5. */
#include "victim.h"

int main(void)
{
	memset(keep(malloc(3 * MiB)), 1, 3 * MiB); /* 3 MiB of anon RSS */
	return 5;
}

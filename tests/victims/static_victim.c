// SPDX-License-Identifier: GPL-2.0
/* Statically linked: no C library for peaktrace to probe.  Exits 5. */
#include "victim.h"

int main(void)
{
	keep(malloc(3 * MiB));
	return 5;
}

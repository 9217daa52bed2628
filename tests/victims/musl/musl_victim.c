// SPDX-License-Identifier: GPL-2.0
/*
 * Linked against musl instead of glibc: a program a traced shell execs
 * into must have its C library probed from its first allocation.
 *   musl_alloc: 6 MiB, held, then freed.
 * Then 1 KiB from aligned_alloc and from posix_memalign, freed: exits 99
 * (keep) or 5 if either fails (musl turns them off when malloc is replaced
 * and aligned_alloc is not, as a preload library may do).
 */
#include "../victim.h"

NOINLINE void *musl_alloc(void)
{
	void *p = keep(malloc(6 * MiB));

	NO_TAIL();
	return p;
}

int main(void)
{
	void *q = NULL;

	free(musl_alloc());
	free(keep(aligned_alloc(64, 1024)));
	if (posix_memalign(&q, 64, 1024))
		return 5;
	free(q);
	return 0;
}

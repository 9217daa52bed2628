// SPDX-License-Identifier: GPL-2.0
/*
 * Linked against musl instead of glibc: a program a traced shell execs
 * into must have its C library probed from its first allocation.
 *   musl_alloc: 6 MiB, held, then freed.
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
	free(musl_alloc());
	return 0;
}

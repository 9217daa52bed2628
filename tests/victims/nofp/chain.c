// SPDX-License-Identifier: GPL-2.0
/*
 * A shared library built with -O2 -fomit-frame-pointer: a chain of four
 * functions, none inlined, none a tail call, allocating at the bottom.
 * A frame-pointer walk loses these frames; the unwind tables must not.
 */
#include "../victim.h"

#define CHAIN __attribute__((noinline, noclone, visibility("default")))

CHAIN void *chain_d(size_t n)
{
	void *p = keep(malloc(n));

	NO_TAIL();
	return p;
}

CHAIN void *chain_c(size_t n)
{
	void *p = chain_d(n);

	NO_TAIL();
	return p;
}

CHAIN void *chain_b(size_t n)
{
	void *p = chain_c(n);

	NO_TAIL();
	return p;
}

CHAIN void *chain_a(size_t n)
{
	void *p = chain_b(n);

	NO_TAIL();
	return p;
}

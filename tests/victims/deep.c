// SPDX-License-Identifier: GPL-2.0
/*
 * A 200-frame native stack: recurse 200 times, then allocate 3 MiB
 * (deep_alloc).  Deeper than the 127 frames kept: the stack is cut, its
 * innermost frames (deep_alloc, recurse, ...) kept, and every byte counted.
 */
#include "victim.h"

NOINLINE void *deep_alloc(void)
{
	void *p = keep(malloc(3 * MiB));

	NO_TAIL();
	return p;
}

NOINLINE void *recurse(int n)
{
	void *p = n ? recurse(n - 1) : deep_alloc();

	NO_TAIL();
	return p;
}

int main(void)
{
	free(recurse(200));
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Every allocation entry point, each from its own function, all live at
 * one moment (the peak), then freed.
 *
 *   use_calloc          calloc(1000, 1000)                 1 000 000
 *   grow_chain          realloc 1 -> 2 -> 4 -> 3 MiB        3 MiB (4 MiB earlier, alone)
 *   use_posix_memalign  posix_memalign(4096, 5 MiB)         5 MiB
 *   use_aligned_alloc   aligned_alloc(64, 6 MiB)            6 MiB
 *   use_memalign        memalign(256, 7 MiB)                7 MiB
 *   use_valloc          valloc(8 MiB)                       8 MiB
 *   use_reallocarray    reallocarray(NULL, 100, 10 KiB)     1 024 000
 *   small_chain         realloc(NULL, 100) -> 5000 -> realloc(p, 0)   0 at the end
 *
 * Peak = 1 000 000 + 1 024 000 + 29 MiB.
 */
#include <malloc.h>
#include "victim.h"

NOINLINE void *use_calloc(void)
{
	void *p = keep(calloc(1000, 1000));

	NO_TAIL();
	return p;
}

NOINLINE void *grow_chain(void)
{
	void *p = keep(realloc(NULL, 1 * MiB));

	p = keep(realloc(p, 2 * MiB));
	p = keep(realloc(p, 4 * MiB));
	p = keep(realloc(p, 3 * MiB));
	NO_TAIL();
	return p;
}

NOINLINE void *use_posix_memalign(void)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, 5 * MiB))
		exit(95);
	keep(p);
	NO_TAIL();
	return p;
}

NOINLINE void *use_aligned_alloc(void)
{
	void *p = keep(aligned_alloc(64, 6 * MiB));

	NO_TAIL();
	return p;
}

NOINLINE void *use_memalign(void)
{
	void *p = keep(memalign(256, 7 * MiB));

	NO_TAIL();
	return p;
}

NOINLINE void *use_valloc(void)
{
	void *p = keep(valloc(8 * MiB));

	NO_TAIL();
	return p;
}

NOINLINE void *use_reallocarray(void)
{
	void *p = keep(reallocarray(NULL, 100, 10 * KiB));

	NO_TAIL();
	return p;
}

NOINLINE void small_chain(void)
{
	void *p = keep(realloc(NULL, 100));

	p = keep(realloc(p, 5000));
	/* glibc frees and returns NULL */
	victim_sink = realloc(p, 0);
	NO_TAIL();
}

int main(void)
{
	void *p[7];
	int i;

	small_chain();
	p[0] = grow_chain();
	p[1] = use_calloc();
	p[2] = use_posix_memalign();
	p[3] = use_aligned_alloc();
	p[4] = use_memalign();
	p[5] = use_valloc();
	p[6] = use_reallocarray();
	for (i = 0; i < 7; i++)
		free(p[i]);
	return 0;
}

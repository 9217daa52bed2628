// SPDX-License-Identifier: GPL-2.0
/*
 * An allocator a program links (as it might jemalloc or tcmalloc): malloc,
 * calloc, realloc and free from a pool of its own, counting its calls.
 * Its constructor allocates, before any preloaded library's constructor
 * has run (the loader runs a program's libraries' first).
 */
#include <stddef.h>
#include <string.h>

static char pool[16 << 20] __attribute__((aligned(16)));
static size_t used;
int ownalloc_calls;
void *ownalloc_early;	/* the constructor's block */

int ownalloc_owns(unsigned long addr)
{
	return addr >= (unsigned long)pool && addr < (unsigned long)pool + sizeof(pool);
}

void *malloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (n > sizeof(pool) - used)
		return NULL;
	p = pool + used;
	used += n;
	__atomic_fetch_add(&ownalloc_calls, 1, __ATOMIC_RELAXED);
	return p;
}

void free(void *p)
{
	(void)p;
}

void *calloc(size_t a, size_t b)
{
	void *p = b && a > (size_t)-1 / b ? NULL : malloc(a * b);

	return p ? memset(p, 0, a * b) : NULL;
}

void *realloc(void *p, size_t n)
{
	void *q = malloc(n);

	if (q && p)
		memcpy(q, p, n);	/* a bump pool: the old block is below */
	return q;
}

__attribute__((constructor)) static void early(void)
{
	ownalloc_early = malloc(100);
}

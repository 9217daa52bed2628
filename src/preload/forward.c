// SPDX-License-Identifier: GPL-2.0
/*
 * peaktrace-preload.so's calls that pass no site: under a C library other
 * than glibc, or where the program links an allocator of its own (sites.S,
 * next.c), malloc, calloc, realloc and free go on to the next definition
 * of the function; and aligned_alloc always does (sites.S), for musl.
 * peaktrace's probes on the C library count these calls (none are placed
 * on another allocator: its blocks are not counted, as without this
 * library).  Built -nostdlib
 * and without the stack protector: nothing here may need a symbol the C
 * library might lack.
 */
#include <stddef.h>
#include "preload/next.h"
#include "preload/sys.h"

/* No C library behind this one to forward to: malloc returning NULL would
 * pass for out of memory, so the program stops here, saying why. */
static void __attribute__((noreturn)) no_next(const char *name)
{
	static const char a[] = "peaktrace-preload.so: no next definition of ";
	static const char b[] = " (dlsym(RTLD_NEXT) found none); run this program without "
				"peaktrace-preload.so (peaktrace --no-preload)\n";
	size_t n = 0;

	while (name[n])
		n++;
	sys3(SYS_write, 2, (long)a, sizeof(a) - 1);
	sys3(SYS_write, 2, (long)name, (long)n);
	sys3(SYS_write, 2, (long)b, sizeof(b) - 1);
	sys3(SYS_kill, sys3(SYS_getpid, 0, 0, 0), 6 /* SIGABRT */, 0);
	for (;;)
		sys3(SYS_exit_group, 127, 0, 0);
}

/* The next definition (next.c), needed now: the program stops without
 * one. */
static void *next(int k, const char *name)
{
	void *f = __atomic_load_n(&pt_next[k], __ATOMIC_RELAXED);

	if (!f)
		no_next(name);
	return f;
}

HIDDEN void *pt_fwd___libc_malloc(size_t n)
{
	void *(*f)(size_t) = next(PT_NEXT_MALLOC, "malloc");

	return f(n);
}

HIDDEN void *pt_fwd___libc_calloc(size_t n, size_t size)
{
	void *(*f)(size_t, size_t) = next(PT_NEXT_CALLOC, "calloc");

	return f(n, size);
}

HIDDEN void *pt_fwd___libc_realloc(void *p, size_t n)
{
	void *(*f)(void *, size_t) = next(PT_NEXT_REALLOC, "realloc");

	return f(p, n);
}

HIDDEN void pt_fwd___libc_free(void *p)
{
	void (*f)(void *) = next(PT_NEXT_FREE, "free");

	f(p);
}

/* aligned_alloc's next definition, for sites.S's jump. */
HIDDEN void *pt_resolve_aligned_alloc(void)
{
	if (!__atomic_load_n(&pt_mode, __ATOMIC_ACQUIRE))
		pt_decide();
	return next(PT_NEXT_ALIGNED_ALLOC, "aligned_alloc");
}

/* Decided before the program's code runs where no call came first. */
__attribute__((constructor)) static void decide_early(void)
{
	if (!__atomic_load_n(&pt_mode, __ATOMIC_ACQUIRE))
		pt_decide();
}

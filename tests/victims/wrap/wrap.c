// SPDX-License-Identifier: GPL-2.0
/*
 * A malloc wrapper that ends in glibc's (as a leak checker or a counting
 * shim might): malloc, calloc, realloc and free call glibc's __libc_*
 * functions, counting the calls.  Built as libwrap.so, which wrap_lib
 * links (the preload library then forwards to it, past its sites), and
 * into wrap_exe itself (the program's malloc is then not the preload
 * library's at all); into wrap_free with free alone (NO_WRAP_MALLOC: the
 * blocks come from the library, their frees go past it) and into
 * wrap_mixed without calloc (NO_WRAP_CALLOC: calloc's blocks come from
 * the library, free goes past it).
 */
#include <stddef.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t a, size_t b);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

int wrap_calls;

#ifndef NO_WRAP_MALLOC
void *malloc(size_t n)
{
	__atomic_fetch_add(&wrap_calls, 1, __ATOMIC_RELAXED);
	return __libc_malloc(n);
}

void *realloc(void *p, size_t n)
{
	__atomic_fetch_add(&wrap_calls, 1, __ATOMIC_RELAXED);
	return __libc_realloc(p, n);
}
#endif

#if !defined(NO_WRAP_MALLOC) && !defined(NO_WRAP_CALLOC)
void *calloc(size_t a, size_t b)
{
	__atomic_fetch_add(&wrap_calls, 1, __ATOMIC_RELAXED);
	return __libc_calloc(a, b);
}
#endif

void free(void *p)
{
	__atomic_fetch_add(&wrap_calls, 1, __ATOMIC_RELAXED);
	__libc_free(p);
}

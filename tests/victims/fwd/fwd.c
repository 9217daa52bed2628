// SPDX-License-Identifier: GPL-2.0
/*
 * A preloaded library that wraps the allocator and forwards to glibc's own
 * (__libc_malloc...), as a tracer's or a debugging library may: a process
 * with it before peaktrace-preload.so in LD_PRELOAD gets its malloc from
 * here, past the sites, so glibc's own probes must count it.
 */
#include <stddef.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

void *malloc(size_t n)
{
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	return __libc_realloc(p, n);
}

void free(void *p)
{
	__libc_free(p);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * peaktrace-preload.so's calls that pass no site: under a C library other
 * than glibc (sites.S), malloc, calloc, realloc and free go on to the next
 * definition of the function (the C library's), found once with
 * dlsym(RTLD_NEXT); and aligned_alloc always does (sites.S), for musl.
 * peaktrace's probes on the C library count these calls.  Built -nostdlib
 * and without the stack protector: nothing here may need a symbol the C
 * library might lack.
 */
#include <dlfcn.h>
#include <stddef.h>

extern void *dlsym(void *handle, const char *name) __attribute__((weak));

#define HIDDEN __attribute__((visibility("hidden")))

static long sys3(long nr, long a, long b, long c)
{
	long r;

	asm volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}

/* No C library behind this one to forward to: malloc returning NULL would
 * pass for out of memory, so the program stops here, saying why. */
static void __attribute__((noreturn)) no_next(const char *name)
{
	static const char a[] = "peaktrace-preload.so: no next definition of ";
	static const char b[] = " (dlsym(RTLD_NEXT) found none); run this program without "
				"peaktrace --preload\n";
	size_t n = 0;

	while (name[n])
		n++;
	sys3(1 /* write */, 2, (long)a, sizeof(a) - 1);
	sys3(1, 2, (long)name, (long)n);
	sys3(1, 2, (long)b, sizeof(b) - 1);
	sys3(62 /* kill */, sys3(39 /* getpid */, 0, 0, 0), 6 /* SIGABRT */, 0);
	for (;;)
		sys3(231 /* exit_group */, 127, 0, 0);
}

static void *lookup(const char *name, void **cache)
{
	void *f = __atomic_load_n(cache, __ATOMIC_ACQUIRE);

	if (!f && dlsym) {
		f = dlsym(RTLD_NEXT, name);
		__atomic_store_n(cache, f, __ATOMIC_RELEASE);
	}
	return f;
}

/* The next definition, needed now: the program stops without one. */
static void *next(const char *name, void **cache)
{
	void *f = lookup(name, cache);

	if (!f)
		no_next(name);
	return f;
}

HIDDEN void *pt_fwd___libc_malloc(size_t n)
{
	static void *c;
	void *(*f)(size_t) = next("malloc", &c);

	return f(n);
}

HIDDEN void *pt_fwd___libc_calloc(size_t n, size_t size)
{
	static void *c;
	void *(*f)(size_t, size_t) = next("calloc", &c);

	return f(n, size);
}

HIDDEN void *pt_fwd___libc_realloc(void *p, size_t n)
{
	static void *c;
	void *(*f)(void *, size_t) = next("realloc", &c);

	return f(p, n);
}

HIDDEN void pt_fwd___libc_free(void *p)
{
	static void *c;
	void (*f)(void *) = next("free", &c);

	f(p);
}

/* aligned_alloc's next definition, for sites.S's jump; 0 until found. */
HIDDEN void *pt_next_aligned_alloc;

HIDDEN void *pt_resolve_aligned_alloc(void)
{
	return next("aligned_alloc", &pt_next_aligned_alloc);
}

/* Found before the program's code runs where the loader allows, so that
 * its calls jump straight on. */
__attribute__((constructor)) static void resolve_early(void)
{
	lookup("aligned_alloc", &pt_next_aligned_alloc);
}

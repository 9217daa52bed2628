// SPDX-License-Identifier: GPL-2.0
/*
 * peaktrace-preload.so under a C library other than glibc (sites.S): the
 * call goes on to the next definition of the function (the C library's),
 * found once with dlsym(RTLD_NEXT).  No site: peaktrace's probes on that
 * library count the call.  Built -nostdlib and without the stack
 * protector: nothing here may need a symbol the C library might lack.
 */
#include <dlfcn.h>
#include <stddef.h>

extern void *dlsym(void *handle, const char *name) __attribute__((weak));

#define HIDDEN __attribute__((visibility("hidden")))

static void *next(const char *name, void **cache)
{
	void *f = __atomic_load_n(cache, __ATOMIC_ACQUIRE);

	if (!f && dlsym) {
		f = dlsym(RTLD_NEXT, name);
		__atomic_store_n(cache, f, __ATOMIC_RELEASE);
	}
	return f;
}

HIDDEN void *pt_fwd___libc_malloc(size_t n)
{
	static void *c;
	void *(*f)(size_t) = next("malloc", &c);

	return f ? f(n) : NULL;
}

HIDDEN void *pt_fwd___libc_calloc(size_t n, size_t size)
{
	static void *c;
	void *(*f)(size_t, size_t) = next("calloc", &c);

	return f ? f(n, size) : NULL;
}

HIDDEN void *pt_fwd___libc_realloc(void *p, size_t n)
{
	static void *c;
	void *(*f)(void *, size_t) = next("realloc", &c);

	return f ? f(p, n) : NULL;
}

HIDDEN void pt_fwd___libc_free(void *p)
{
	static void *c;
	void (*f)(void *) = next("free", &c);

	if (f)
		f(p);
}

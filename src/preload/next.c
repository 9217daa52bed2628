// SPDX-License-Identifier: GPL-2.0
/*
 * Whose malloc comes after this library's: the one sites.S calls
 * (__libc_malloc: glibc's, or that of an allocator the program links that
 * exports glibc's __libc_* names too, as jemalloc and tcmalloc built for
 * glibc do: their calls pass the sites), or another one the program links
 * (a library defining malloc alone): it would have been the program's
 * malloc, and stays it: the calls go on to it past no site, as they do
 * under musl.  Decided at the first call into this
 * library, which may come before its constructor runs (another library's
 * constructor allocating), and without allocating: glibc's link map is
 * walked and each object's own symbol table read, in the order the
 * loader searches them.  Under another C library (no __libc_malloc),
 * dlsym(RTLD_NEXT) finds the next definitions.
 */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include "preload/next.h"

extern struct r_debug _r_debug __attribute__((weak));
extern void *__libc_malloc(size_t n) __attribute__((weak));
extern void *__libc_memalign(size_t align, size_t n) __attribute__((weak));
extern void *dlsym(void *handle, const char *name) __attribute__((weak));
extern ElfW(Dyn) _DYNAMIC[] __attribute__((visibility("hidden")));

static const char *const names[PT_NEXT_N] = { "malloc", "calloc", "realloc", "free",
					      "aligned_alloc" };

HIDDEN void *pt_next[PT_NEXT_N];
HIDDEN int pt_mode;

static int same(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* A .dynamic address: glibc's loader has added the load address to most
 * of them in place, not to all (and not on every loader). */
static uintptr_t dyn_addr(const struct link_map *l, uintptr_t p)
{
	return p < l->l_addr ? p + l->l_addr : p;
}

/* A definition the loader would bind a reference to. */
static void *definition(const struct link_map *l, const ElfW(Sym) *s)
{
	int type = ELF64_ST_TYPE(s->st_info), bind = ELF64_ST_BIND(s->st_info);
	void *p;

	/* (STT_NOTYPE: a function written in assembly, which the loader binds
	 * to as well) */
	if (s->st_shndx == SHN_UNDEF ||
	    (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE) ||
	    (bind != STB_GLOBAL && bind != STB_WEAK) ||
	    ELF64_ST_VISIBILITY(s->st_other) == STV_HIDDEN ||
	    ELF64_ST_VISIBILITY(s->st_other) == STV_INTERNAL)
		return NULL;
	p = (void *)(l->l_addr + s->st_value);
	return type == STT_GNU_IFUNC ? ((void *(*)(void))p)() : p;
}

/* name's definition in l's dynamic symbol table, or NULL. */
static void *lookup_in(const struct link_map *l, const char *name)
{
	const ElfW(Sym) *sym = NULL;
	const uint32_t *gnu = NULL, *sysv = NULL;
	const char *str = NULL;
	const ElfW(Dyn) *d;
	uint32_t h, i;
	void *p;

	for (d = l->l_ld; d && d->d_tag != DT_NULL; d++) {
		if (d->d_tag == DT_SYMTAB)
			sym = (const void *)dyn_addr(l, d->d_un.d_ptr);
		else if (d->d_tag == DT_STRTAB)
			str = (const void *)dyn_addr(l, d->d_un.d_ptr);
		else if (d->d_tag == DT_GNU_HASH)
			gnu = (const void *)dyn_addr(l, d->d_un.d_ptr);
		else if (d->d_tag == DT_HASH)
			sysv = (const void *)dyn_addr(l, d->d_un.d_ptr);
	}
	if (!sym || !str)
		return NULL;
	if (gnu) {
		uint32_t nbuckets = gnu[0], symoffset = gnu[1], bloom_words = gnu[2];
		const uint32_t *buckets = (const void *)((const ElfW(Addr) *)&gnu[4] + bloom_words);
		const uint32_t *chain = buckets + nbuckets;

		for (h = 5381, i = 0; name[i]; i++)
			h = h * 33 + (unsigned char)name[i];
		if (!nbuckets || (i = buckets[h % nbuckets]) < symoffset)
			return NULL;
		for (;; i++) {
			uint32_t c = chain[i - symoffset];

			if ((c | 1) == (h | 1) && same(str + sym[i].st_name, name) &&
			    (p = definition(l, &sym[i])))
				return p;
			if (c & 1)
				return NULL;
		}
	}
	if (sysv) {
		uint32_t nbucket = sysv[0], g;
		const uint32_t *bucket = &sysv[2], *chain = bucket + nbucket;

		for (h = 0, i = 0; name[i]; i++) {
			h = (h << 4) + (unsigned char)name[i];
			g = h & 0xf0000000;
			h ^= g >> 24;
			h &= ~g;
		}
		for (i = nbucket ? bucket[h % nbucket] : 0; i; i = chain[i])
			if (same(str + sym[i].st_name, name) && (p = definition(l, &sym[i])))
				return p;
	}
	return NULL;
}

/* Whether the loader binds malloc, calloc, realloc and free to this
 * library's: no object searched before it (the program, a library
 * preloaded before it) defines any of them (a program's own free that
 * calls __libc_free would free blocks past the sites). */
static int first_definitions_mine(void)
{
	const struct link_map *l;
	int k;

	for (l = &_r_debug ? _r_debug.r_map : NULL; l; l = l->l_next) {
		if (l->l_ld == _DYNAMIC)
			return 1;
		for (k = 0; k < PT_NEXT_ALIGNED_ALLOC; k++)
			if (lookup_in(l, names[k]))
				return 0;
	}
	return 1;	/* not in the main namespace's list: not told */
}

HIDDEN void pt_decide(void)
{
	void *next[PT_NEXT_N] = { 0 };
	const struct link_map *l;
	int k, mode, mine = 0;

	if (!__libc_malloc) {
		/* not glibc: its dlsym finds without allocating */
		for (k = 0; k < PT_NEXT_N && dlsym; k++)
			next[k] = dlsym(RTLD_NEXT, names[k]);
		mode = PT_MODE_FORWARD;
	} else {
		for (l = &_r_debug ? _r_debug.r_map : NULL; l; l = l->l_next) {
			if (!mine) {
				mine = l->l_ld == _DYNAMIC;
				continue;
			}
			for (k = 0; k < PT_NEXT_N; k++)
				if (!next[k])
					next[k] = lookup_in(l, names[k]);
		}
		mode = !next[PT_NEXT_MALLOC] || next[PT_NEXT_MALLOC] == (void *)__libc_malloc ?
			       PT_MODE_SITES : PT_MODE_FORWARD;
		/* this library's own map not found (another namespace): glibc's
		 * (aligned_alloc is memalign there) */
		if (!next[PT_NEXT_ALIGNED_ALLOC])
			next[PT_NEXT_ALIGNED_ALLOC] = (void *)__libc_memalign;
		/* before any call goes on: its blocks are then all counted, by
		 * the BPF side alone */
		if (mode == PT_MODE_FORWARD || !first_definitions_mine()) {
			pt_ledger_off();
			pt_ask_glibc_probes();
		}
	}
	for (k = 0; k < PT_NEXT_N; k++)
		__atomic_store_n(&pt_next[k], next[k], __ATOMIC_RELAXED);
	__atomic_store_n(&pt_mode, mode, __ATOMIC_RELEASE);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * A module's symbols sorted by address (see symtab.h), giving libdw's own
 * answer (dwfl_module_addrinfo, elfutils' __libdwfl_addrsym).  libdw goes
 * through the table in order, the global symbols first and the local ones
 * only if no global one with a size covers the address, and its choice
 * among symbols covering the address depends on that order (a stronger
 * binding wins over a closer symbol that came earlier; at one address the
 * smaller one of equal or stronger binding).  Here the covering symbols
 * are found by binary search and libdw's choice is replayed over them in
 * table order.  Where labels (symbols without a size) could decide, whose
 * rules also hang on every symbol below the address, the lookup is left to
 * libdw: an address no sized symbol covers (an assembly stub), or one at
 * the very address of a global label.  Rare in stacks; checked against
 * libdw in tests/unit/test_symtab.c.
 */
#include <stdlib.h>
#include "stacks/symtab.h"

struct sym {
	GElf_Addr value;
	GElf_Xword size;
	const char *name;
	uint32_t index;		/* in the module's table: libdw's order */
	uint32_t binding;	/* libdw's binding_value: global 3, weak 2, local 1 */
};

struct symtab {
	Dwfl_Module *mod;
	int first_global;	/* libdw's: the global pass starts there */
	struct sym *v;		/* by value, then index */
	GElf_Addr *end;		/* end[i]: the highest value + size of v[0..i] */
	size_t n;
};

/* Covering symbols looked at per lookup at most, and symbols walked to
 * find them: past either, libdw answers. */
#define COVER_MAX 32
#define WALK_MAX 4096

static uint32_t binding_value(const GElf_Sym *s)
{
	switch (GELF_ST_BIND(s->st_info)) {
	case STB_GLOBAL:
		return 3;
	case STB_WEAK:
		return 2;
	case STB_LOCAL:
		return 1;
	default:
		return 0;
	}
}

static int cmp_value(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

struct symtab *symtab__build(Dwfl_Module *mod)
{
	int n = dwfl_module_getsymtab(mod), i;
	struct symtab *t;
	size_t k;

	if (n <= 1)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t || !(t->v = malloc((size_t)n * sizeof(*t->v))))
		goto fail;
	t->mod = mod;
	t->first_global = dwfl_module_getsymtab_first_global(mod);
	if (t->first_global < 0)
		goto fail;
	for (i = 1; i < n; i++) {
		GElf_Sym s;
		GElf_Addr value;
		GElf_Word shndx;
		const char *name = dwfl_module_getsym_info(mod, i, &s, &value, &shndx, NULL, NULL);
		int type = GELF_ST_TYPE(s.st_info);

		/* what libdw's search_table() looks at */
		if (!name || !name[0] || s.st_shndx == SHN_UNDEF || type == STT_SECTION ||
		    type == STT_FILE || type == STT_TLS)
			continue;
		t->v[t->n++] = (struct sym){ .value = value, .size = s.st_size, .name = name,
					     .index = (uint32_t)i, .binding = binding_value(&s) };
	}
	if (!t->n || !(t->end = malloc(t->n * sizeof(*t->end))))
		goto fail;
	qsort(t->v, t->n, sizeof(*t->v), cmp_value);
	for (k = 0; k < t->n; k++) {
		GElf_Addr e = t->v[k].value + t->v[k].size;

		t->end[k] = k && t->end[k - 1] > e ? t->end[k - 1] : e;
	}
	return t;
fail:
	symtab__free(t);
	return NULL;
}

void symtab__free(struct symtab *t)
{
	if (!t)
		return;
	free(t->v);
	free(t->end);
	free(t);
}

static int cmp_index(const void *a, const void *b)
{
	const struct sym *const *x = a, *const *y = b;

	return (*x)->index < (*y)->index ? -1 : (*x)->index > (*y)->index;
}

/* libdw's try_sym_value() for a sized symbol s covering the address:
 * whether it replaces the closest so far, c. */
static int replaces(const struct sym *c, const struct sym *s)
{
	if (!c || c->value < s->value || c->binding < s->binding)
		return 1;
	return c->value == s->value &&
	       ((c->size > s->size && c->binding <= s->binding) ||
		(c->size >= s->size && c->binding < s->binding));
}

/* One of libdw's passes over the covering symbols cov[0..n) (in table
 * order): those whose index is in [from, to). */
static const struct sym *pass(const struct sym *const *cov, size_t n, uint32_t from, uint32_t to)
{
	const struct sym *c = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		if (cov[i]->index >= from && cov[i]->index < to && replaces(c, cov[i]))
			c = cov[i];
	return c;
}

/* Whether a global symbol without a size is at addr itself (v[lo - 1]
 * and down are the symbols at or below addr). */
static int global_label_at(const struct symtab *t, size_t lo, GElf_Addr addr, uint32_t first)
{
	size_t i;

	for (i = lo; i-- > 0 && t->v[i].value == addr;)
		if (!t->v[i].size && t->v[i].index >= first)
			return 1;
	return 0;
}

static const char *ask_libdw(const struct symtab *t, GElf_Addr addr, GElf_Off *offset)
{
	GElf_Off off = 0;
	GElf_Sym sym;
	const char *name = dwfl_module_addrinfo(t->mod, addr, &off, &sym, NULL, NULL, NULL);

	if (offset)
		*offset = off;
	return name;
}

/*
 * No sized symbol covers addr, and libdw tried every symbol at or below
 * it.  It answers with a label only at or above where the last of those
 * ends (end[lo - 1]): a label exactly there, labels having no size.  With
 * none there, no symbol: most addresses in a library whose internal
 * functions have no symbol (libtorch_cpu's, with .dynsym only) end here,
 * where asking libdw took seconds.  With one, libdw's order decides.
 */
static const char *label_or_none(const struct symtab *t, size_t lo, GElf_Addr addr,
				 GElf_Off *offset)
{
	GElf_Addr e = lo ? t->end[lo - 1] : 0;
	size_t a = 0, b = lo;

	while (a < b) {
		size_t mid = a + (b - a) / 2;

		if (t->v[mid].value < e)
			a = mid + 1;
		else
			b = mid;
	}
	for (; a < lo && t->v[a].value == e; a++)
		if (!t->v[a].size)
			return ask_libdw(t, addr, offset);
	return NULL;
}

const char *symtab__lookup(const struct symtab *t, GElf_Addr addr, GElf_Off *offset)
{
	const struct sym *cov[COVER_MAX], *best;
	uint32_t first = t->first_global > 0 ? (uint32_t)t->first_global : 1;
	size_t lo = 0, hi = t->n, n = 0, i, walked = 0;

	/* the symbols at or below addr: v[0..lo) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid].value <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* every sized symbol covering addr: none below v[i] does once
	 * end[i] <= addr */
	for (i = lo; i-- > 0 && t->end[i] > addr;) {
		const struct sym *s = &t->v[i];

		if (++walked > WALK_MAX)
			return ask_libdw(t, addr, offset);
		if (s->size && addr - s->value < s->size) {
			if (n == COVER_MAX)
				return ask_libdw(t, addr, offset);
			cov[n++] = s;
		}
	}
	qsort(cov, n, sizeof(cov[0]), cmp_index);
	/* the global pass; then, with none found, the local one, which libdw
	 * skips if the label its global pass kept is at addr itself: which
	 * label that is depends on all of them, so libdw is asked if there
	 * is a global one at addr */
	best = pass(cov, n, first, UINT32_MAX);
	if (!best && first > 1) {
		if (global_label_at(t, lo, addr, first))
			return ask_libdw(t, addr, offset);
		best = pass(cov, n, 1, first);
	}
	if (!best)
		return label_or_none(t, lo, addr, offset);
	if (offset)
		*offset = addr - best->value;
	return best->name;
}

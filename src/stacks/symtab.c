// SPDX-License-Identifier: GPL-2.0
/*
 * A module's symbols sorted by address (see symtab.h).  The rules are
 * libdw's (dwfl_module_addrsym): of the symbols at or below the address,
 * one whose size covers it, the closest, a global before a weak before a
 * local one at the same address, the first in the table after that; with
 * none, the closest symbol without a size (an assembly label), unless a
 * sized symbol below the address ends above that label.
 */
#include <stdlib.h>
#include <string.h>
#include "stacks/symtab.h"

struct sym {
	GElf_Addr value;
	GElf_Xword size;
	const char *name;
	uint32_t index;		/* in the module's table (see better()) */
	uint32_t shndx;		/* its section in files[file] */
	uint8_t rank;		/* global 3, weak 2, local 1, other 0 */
	uint8_t file;
};

/* The ELF files the symbols come from (the module, its debug file, its
 * MiniDebugInfo), with what maps their addresses to the module's. */
#define SYMTAB_FILES 4

struct symtab {
	Elf *files[SYMTAB_FILES];
	GElf_Addr bias[SYMTAB_FILES];
	size_t nfiles;
	struct sym *v;
	GElf_Addr *end;		/* end[i]: the highest value + size of v[0..i] */
	size_t n;
};

static uint32_t rank_of(const GElf_Sym *s)
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
	for (i = 1; i < n; i++) {
		GElf_Sym s;
		GElf_Addr value;
		GElf_Word shndx;
		GElf_Addr bias = 0;
		Elf *elf = NULL;
		const char *name = dwfl_module_getsym_info(mod, i, &s, &value, &shndx, &elf, &bias);
		int type = GELF_ST_TYPE(s.st_info);
		size_t f;

		if (!name || !name[0] || s.st_shndx == SHN_UNDEF || type == STT_SECTION ||
		    type == STT_FILE || type == STT_TLS)
			continue;
		for (f = 0; f < t->nfiles && t->files[f] != elf; f++)
			;
		if (f == t->nfiles) {
			if (f == SYMTAB_FILES)
				goto fail;
			t->files[f] = elf;
			t->bias[t->nfiles++] = bias;
		}
		t->v[t->n++] = (struct sym){ .value = value, .size = s.st_size, .name = name,
					     .index = (uint32_t)i, .shndx = shndx,
					     .rank = (uint8_t)rank_of(&s), .file = (uint8_t)f };
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

/*
 * Whether label y may name addr: only in the section addr is in (the first
 * of y's file whose range holds it, as libdw finds it); an absolute label
 * (SHN_ABS and the like) names its own address only.  Labels are looked
 * at only where no sized symbol covers the address: rare, so not indexed.
 */
static int label_names(const struct symtab *t, const struct sym *y, GElf_Addr addr)
{
	Elf *elf = t->files[y->file];
	GElf_Addr at = addr - t->bias[y->file];
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	if (y->shndx >= SHN_LORESERVE)
		return y->value == addr;
	while (elf && (scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && at >= sh.sh_addr && at - sh.sh_addr < sh.sh_size)
			return elf_ndxscn(scn) == y->shndx;
	return 0;
}

/* a beats b (both at or below the address, both sized or both labels):
 * the closer, then the stronger binding; then, as libdw decides (checked
 * against it in tests/unit/test_symtab.c), the first in the table for a
 * sized symbol and the last for a label. */
static int better(const struct sym *a, const struct sym *b)
{
	if (!b || a->value != b->value)
		return !b || a->value > b->value;
	if (a->rank != b->rank)
		return a->rank > b->rank;
	return a->size ? a->index < b->index : a->index > b->index;
}

const char *symtab__lookup(const struct symtab *t, GElf_Addr addr, GElf_Off *offset)
{
	const struct sym *best = NULL;
	size_t lo = 0, hi, i;

	if (!t)
		return NULL;
	/* the symbols at or below addr: v[0..lo) */
	hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid].value <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	if (t->end[lo - 1] > addr) {
		/* a sized symbol covers addr: the closest, down from v[lo - 1]
		 * while the ones below may still reach addr */
		for (i = lo; i-- > 0 && t->end[i] > addr;) {
			const struct sym *s = &t->v[i];

			if (best && s->value < best->value)
				break;
			if (s->size && addr - s->value < s->size && better(s, best))
				best = s;
		}
	} else {
		/* none does: the closest label, if no sized symbol below addr
		 * ends above it (end[lo - 1] is where the last one ends) */
		for (i = lo; i-- > 0 && t->v[i].value >= t->end[lo - 1];) {
			const struct sym *s = &t->v[i];

			if (!s->size && better(s, best) && label_names(t, s, addr))
				best = s;
		}
	}
	if (!best)
		return NULL;
	if (offset)
		*offset = addr - best->value;
	return best->name;
}

// SPDX-License-Identifier: GPL-2.0
/* Exported function lookup in an ELF shared object, with libelf. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "files/elffile.h"
#include "files/elfsym.h"
#include "files/procmaps.h"

struct elfsym {
	struct elf_file f;
	Elf *elf;		/* f.elf */
	Elf_Scn *dynsym;
	GElf_Shdr dynsym_hdr;
	Elf_Data *versym; /* .gnu.version, may be NULL */
};

struct elfsym *elfsym__open(const char *path, char *err, size_t errlen)
{
	struct elfsym *e = calloc(1, sizeof(*e));
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (elf_file__open(&e->f, path, 0, 0)) {
		if (e->f.fd < 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		else
			snprintf(err, errlen, "%s: not an ELF file (%s)", path, elf_errmsg(-1));
		elfsym__free(e);
		return NULL;
	}
	e->elf = e->f.elf;
	/* probe placement and the BPF programs read x86-64 registers: a
	 * 32-bit library would be probed with the wrong conventions */
	if (!elf_file__x86_64(&e->f)) {
		snprintf(err, errlen, "%s: not x86-64 code (a 32-bit library?): peaktrace probes "
			 "x86-64 only", path);
		elfsym__free(e);
		return NULL;
	}
	while ((scn = elf_nextscn(e->elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_DYNSYM) {
			e->dynsym = scn;
			e->dynsym_hdr = sh;
		} else if (sh.sh_type == SHT_GNU_versym) {
			e->versym = elf_getdata(scn, NULL);
		}
	}
	if (!e->dynsym) {
		snprintf(err, errlen, "%s: no dynamic symbol table", path);
		elfsym__free(e);
		return NULL;
	}
	return e;
}

void elfsym__free(struct elfsym *e)
{
	if (!e)
		return;
	elf_file__close(&e->f);
	free(e);
}

static int load_segment_map(Elf *elf, uint64_t value, int from_offset, uint64_t *out,
			    uint64_t *left)
{
	size_t i, n;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return -1;
	for (i = 0; i < n; i++) {
		uint64_t start;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		start = from_offset ? ph.p_offset : ph.p_vaddr;
		if (value >= start && value - start < ph.p_filesz) {
			*out = value - start + (from_offset ? ph.p_vaddr : ph.p_offset);
			if (left)
				*left = ph.p_filesz - (value - start);
			return 0;
		}
	}
	return -1;
}

int elf_offset_to_vaddr(Elf *elf, uint64_t off, uint64_t *vaddr)
{
	return load_segment_map(elf, off, 1, vaddr, NULL);
}

int elf_vaddr_to_offset(Elf *elf, uint64_t vaddr, uint64_t *off, uint64_t *left)
{
	return load_segment_map(elf, vaddr, 0, off, left);
}

/* The default version (any version, if any_version) of the defined
 * dynamic symbol name of one of the types in types (a bit per STT_*).
 * Returns 0, or -1 if absent. */
static int find_symbol_in(struct elfsym *e, const char *name, unsigned types, int any_version,
			  GElf_Sym *out)
{
	Elf_Data *data = elf_getdata(e->dynsym, NULL);
	size_t i, n;
	GElf_Sym sym;

	if (!data || !e->dynsym_hdr.sh_entsize)
		return -1;
	n = e->dynsym_hdr.sh_size / e->dynsym_hdr.sh_entsize;
	for (i = 0; i < n; i++) {
		const char *s;

		if (!gelf_getsym(data, i, &sym))
			continue;
		if (!(types & (1u << GELF_ST_TYPE(sym.st_info))))
			continue;
		if (sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		s = elf_strptr(e->elf, e->dynsym_hdr.sh_link, sym.st_name);
		if (!s || strcmp(s, name))
			continue;
		/* Skip hidden (non-default) versions: bit 15 of the versym. */
		if (!any_version && e->versym && (i + 1) * sizeof(GElf_Versym) <= e->versym->d_size &&
		    (((GElf_Versym *)e->versym->d_buf)[i] & 0x8000))
			continue;
		*out = sym;
		return 0;
	}
	return -1;
}

static int find_symbol(struct elfsym *e, const char *name, unsigned types, GElf_Sym *out)
{
	return find_symbol_in(e, name, types, 0, out);
}

int elfsym__function(struct elfsym *e, const char *name, uint64_t *file_offset,
		     uint8_t *code, size_t len)
{
	GElf_Sym sym;
	ssize_t got;

	if (find_symbol(e, name, 1u << STT_FUNC | 1u << STT_GNU_IFUNC, &sym))
		return -1;
	if (GELF_ST_TYPE(sym.st_info) == STT_GNU_IFUNC)
		return -1; /* a resolver, not the function: not probed */
	if (elf_vaddr_to_offset(e->elf, sym.st_value, file_offset, NULL))
		return -1;
	got = pread(e->f.fd, code, len, *file_offset);
	return got < 0 ? -1 : (int)got;
}

int elfsym__object(struct elfsym *e, const char *name, uint64_t *vaddr, uint64_t *size,
		   void *buf, size_t len)
{
	uint64_t off;
	GElf_Sym sym;
	ssize_t got;

	if (find_symbol(e, name, 1u << STT_OBJECT | 1u << STT_FUNC, &sym))
		return -1;
	*vaddr = sym.st_value;
	*size = sym.st_size;
	if (!len)
		return 0;
	if (elf_vaddr_to_offset(e->elf, sym.st_value, &off, NULL))
		return -1;
	got = pread(e->f.fd, buf, len, off);
	return got < 0 ? -1 : (int)got;
}

Elf *elfsym__elf(struct elfsym *e)
{
	return e->elf;
}

int elfsym__defines(const char *path, const char *name)
{
	struct elfsym *e = elfsym__open(path, NULL, 0);
	GElf_Sym sym;
	int r;

	if (!e)
		return -1;
	r = !find_symbol(e, name, 1u << STT_FUNC | 1u << STT_GNU_IFUNC, &sym);
	elfsym__free(e);
	return r;
}

/* The u32 at link-time address vaddr (+ 4 * i), or -1 on failure. */
static int64_t word_at(struct elfsym *e, uint64_t vaddr, uint64_t i)
{
	uint64_t off, left;
	uint32_t w;

	if (elf_vaddr_to_offset(e->elf, vaddr + 4 * i, &off, &left) || left < 4 ||
	    pread(e->f.fd, &w, 4, (off_t)off) != 4)
		return -1;
	return w;
}

/* How many symbols the loader's hash table at vaddr reaches (gnu: a
 * DT_GNU_HASH table, else DT_HASH): -1 if it cannot be read. */
static int64_t hash_symbols(struct elfsym *e, uint64_t vaddr, int gnu)
{
	int64_t nbuckets, symoffset, bloom, max = 0, b, c;
	uint64_t buckets, i;

	if (!gnu)
		return word_at(e, vaddr, 1);	/* nchain */
	nbuckets = word_at(e, vaddr, 0);
	symoffset = word_at(e, vaddr, 1);
	bloom = word_at(e, vaddr, 2);
	if (nbuckets < 0 || symoffset < 0 || bloom < 0 || nbuckets > (1 << 24))
		return -1;
	buckets = vaddr + 16 + (uint64_t)bloom * 8;
	for (i = 0; i < (uint64_t)nbuckets; i++) {
		if ((b = word_at(e, buckets, i)) < 0)
			return -1;
		if (b > max)
			max = b;
	}
	if (max < symoffset)
		return symoffset;
	/* the last chain, to its end bit */
	for (i = (uint64_t)max; i < (uint64_t)max + (1 << 24); i++) {
		if ((c = word_at(e, buckets + 4 * (uint64_t)nbuckets, i - (uint64_t)symoffset)) < 0)
			return -1;
		if (c & 1)
			return (int64_t)i + 1;
	}
	return -1;
}

/*
 * Whether the symbols read from the section headers are those the loader
 * looks up (it reads PT_DYNAMIC and its hash table, never the sections):
 * DT_SYMTAB and DT_STRTAB are .dynsym's and its strings', and the hash
 * table reaches no symbol past .dynsym.  And no DT_FILTER or DT_AUXILIARY:
 * a filter's filtees are searched before it.  0 if anything disagrees or
 * cannot be read.
 */
static int dynamic_agrees(struct elfsym *e)
{
	uint64_t symtab = 0, strtab = 0, hash = 0, nsyms;
	Elf_Scn *strs = elf_getscn(e->elf, e->dynsym_hdr.sh_link);
	GElf_Shdr strs_hdr;
	int gnu = 0, filter = 0;
	size_t i, n;
	GElf_Phdr ph;

	if (elf_getphdrnum(e->elf, &n) || !strs || !gelf_getshdr(strs, &strs_hdr))
		return 0;
	for (i = 0; i < n; i++) {
		Elf_Data *d;
		GElf_Dyn dyn;
		size_t k;

		if (!gelf_getphdr(e->elf, i, &ph) || ph.p_type != PT_DYNAMIC)
			continue;
		d = elf_getdata_rawchunk(e->elf, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_DYN);
		for (k = 0; d && gelf_getdyn(d, (int)k, &dyn); k++) {
			if (dyn.d_tag == DT_NULL)
				break;
			if (dyn.d_tag == DT_SYMTAB)
				symtab = dyn.d_un.d_ptr;
			else if (dyn.d_tag == DT_STRTAB)
				strtab = dyn.d_un.d_ptr;
			else if (dyn.d_tag == DT_GNU_HASH)
				hash = dyn.d_un.d_ptr, gnu = 1;
			else if (dyn.d_tag == DT_HASH && !gnu)
				hash = dyn.d_un.d_ptr;
			else if (dyn.d_tag == DT_FILTER || dyn.d_tag == DT_AUXILIARY)
				filter = 1;
		}
	}
	if (filter || !symtab || symtab != e->dynsym_hdr.sh_addr || strtab != strs_hdr.sh_addr ||
	    !hash || !e->dynsym_hdr.sh_entsize)
		return 0;
	nsyms = e->dynsym_hdr.sh_size / e->dynsym_hdr.sh_entsize;
	{
		int64_t reach = hash_symbols(e, hash, gnu);

		return reach >= 0 && (uint64_t)reach <= nsyms;
	}
}

int elfsym__may_define_malloc(const char *file)
{
	/* any of them: a library that replaces free alone still takes
	 * glibc's blocks out of the sites' sight */
	static const char *const names[] = { "malloc", "calloc", "realloc", "free",
					     "aligned_alloc", "memalign", "posix_memalign",
					     "valloc", "pvalloc", NULL };
	struct elfsym *e = elfsym__open(file, NULL, 0);
	const char *const *name;
	GElf_Sym sym;
	int r;

	if (!e)
		return 1;
	r = !dynamic_agrees(e);
	/* any symbol the loader binds a call to: an IFUNC, an assembler
	 * label, even an object; a hidden version too (a program linked
	 * against that version binds to it) */
	for (name = names; *name && !r; name++)
		r = !find_symbol_in(e, *name,
				    1u << STT_FUNC | 1u << STT_GNU_IFUNC | 1u << STT_NOTYPE |
					    1u << STT_OBJECT | 1u << STT_COMMON | 1u << STT_TLS,
				    1, &sym);
	elfsym__free(e);
	return r;
}

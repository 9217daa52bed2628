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

/* The default version of the defined dynamic symbol name of one of the
 * types in types (a bit per STT_*).  Returns 0, or -1 if absent. */
static int find_symbol(struct elfsym *e, const char *name, unsigned types, GElf_Sym *out)
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
		if (e->versym && (i + 1) * sizeof(GElf_Versym) <= e->versym->d_size &&
		    (((GElf_Versym *)e->versym->d_buf)[i] & 0x8000))
			continue;
		*out = sym;
		return 0;
	}
	return -1;
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
	uint8_t code[1];
	struct elfsym *e = elfsym__open(path, NULL, 0);
	uint64_t off;
	int r;

	if (!e)
		return -1;
	r = elfsym__function(e, name, &off, code, sizeof(code)) > 0;
	elfsym__free(e);
	return r;
}

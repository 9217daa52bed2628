// SPDX-License-Identifier: GPL-2.0
/*
 * Unwind tables from .eh_frame.
 *
 * Why unwind in BPF from tables rather than copy the stack and unwind in
 * userspace (perf --call-graph dwarf): allocations are accounted per stack
 * as they happen, so the stack must be known, and deduplicated, in the BPF
 * program; a stack copy would have to be unwound before it could be
 * counted.  The tables are compact (12 bytes a row) and built once per
 * file.  Frame pointers remain the fallback for code without tables.
 *
 * The rows come from each FDE's program run once (stacks/ehframe.c); code
 * of the executable segment that no FDE covers gets an UNKNOWN row, so that
 * it does not inherit the rule of the function before it.
 */
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "files/elffile.h"
#include "files/elfsym.h"
#include "stacks/cfi.h"
#include "stacks/ehframe.h"
#include "files/procmaps.h"
#include "util/vec.h"

int cfi__push(struct cfi_table *t, uint64_t pc, int cfa_reg, int64_t cfa_off, int rbp_saved,
	      int64_t rbp_off)
{
	struct pt_cfi_row *r;

	if (cfa_off > INT32_MAX || cfa_off < INT32_MIN || rbp_off > INT16_MAX || rbp_off < INT16_MIN)
		cfa_reg = PT_CFA_UNKNOWN;
	/* merge with the previous row when the rule is the same */
	if (t->n) {
		r = &t->rows[t->n - 1];
		if (r->cfa_reg == cfa_reg && r->cfa_off == cfa_off && r->rbp_saved == rbp_saved &&
		    (!rbp_saved || r->rbp_off == rbp_off))
			return 0;
	}
	if (vec_grow((void **)&t->rows, &t->cap, t->n + 1, sizeof(*t->rows), 4096))
		return -1;
	r = &t->rows[t->n++];
	memset(r, 0, sizeof(*r));
	r->pc = (uint32_t)pc;
	r->cfa_reg = cfa_reg;
	r->cfa_off = (int32_t)cfa_off;
	r->rbp_saved = rbp_saved;
	r->rbp_off = rbp_saved ? (int16_t)rbp_off : 0;
	return 0;
}

/* Bounds on the work one file can cause (a crafted file claims anything):
 * libc takes 30 k rows, LAPACK 150 k. */
#define CFI_MAX_ROWS (4u << 20)

/* The .eh_frame bytes of the file and their address: the section, or,
 * without section headers, what PT_GNU_EH_FRAME's header points at, up to
 * the end of the segment holding it.  Returns 0, or -1. */
static int eh_frame_of(Elf *elf, const uint8_t **sec, size_t *size, uint64_t *addr)
{
	size_t shstrndx, nph, fsize, i;
	const uint8_t *file;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Phdr hdr;
	uint64_t off, left;
	int have_hdr = 0;

	if (!elf_getshdrstrndx(elf, &shstrndx)) {
		while ((scn = elf_nextscn(elf, scn))) {
			const char *name;
			Elf_Data *d;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
				continue;
			name = elf_strptr(elf, shstrndx, sh.sh_name);
			if (!name || strcmp(name, ".eh_frame"))
				continue;
			d = elf_rawdata(scn, NULL);
			if (!d || !d->d_buf)
				return -1;
			*sec = d->d_buf;
			*size = d->d_size;
			*addr = sh.sh_addr;
			return 0;
		}
	}
	file = (const uint8_t *)elf_rawfile(elf, &fsize);
	if (!file || elf_getphdrnum(elf, &nph))
		return -1;
	for (i = 0; i < nph; i++)
		if (gelf_getphdr(elf, i, &hdr) && hdr.p_type == PT_GNU_EH_FRAME) {
			have_hdr = 1;
			break;
		}
	/* the header: version 1, then eh_frame_ptr in its encoding (sdata4,
	 * pc-relative, is what linkers write) */
	if (!have_hdr || hdr.p_offset > fsize || fsize - hdr.p_offset < 8 ||
	    file[hdr.p_offset] != 1 || file[hdr.p_offset + 1] != 0x1b)
		return -1;
	*addr = hdr.p_vaddr + 4 + (uint64_t)(int64_t)(int32_t)((uint32_t)file[hdr.p_offset + 4] |
		(uint32_t)file[hdr.p_offset + 5] << 8 | (uint32_t)file[hdr.p_offset + 6] << 16 |
		(uint32_t)file[hdr.p_offset + 7] << 24);
	/* up to the end of its segment, which must be in the file */
	if (elf_vaddr_to_offset(elf, *addr, &off, &left) || off > fsize || left > fsize - off)
		return -1;
	*sec = file + off;
	*size = left;
	return 0;
}

struct build {
	struct cfi_table *t;
	int too_many, oom;
};

static int emit_row(void *ctx, uint64_t pc, int cfa_reg, int64_t cfa_off, int rbp_saved,
		    int64_t rbp_off)
{
	struct build *b = ctx;

	if (b->t->n >= CFI_MAX_ROWS) {
		b->too_many = 1;
		return -1;
	}
	if (cfi__push(b->t, pc, cfa_reg, cfa_off, rbp_saved, rbp_off)) {
		b->oom = 1;
		return -1;
	}
	return 0;
}

int cfi__build(const char *path, struct cfi_table *t, char *err, size_t errlen)
{
	uint64_t lo = 0, hi = 0, size, in_file, sec_addr;
	struct build b = { .t = t };
	const uint8_t *sec;
	struct stat st;
	int found = 0, ret = -1, fd;
	struct elf_file ef;
	size_t i, nph, sec_size;
	Elf *elf;
	GElf_Phdr ph;

	memset(t, 0, sizeof(*t));
	if (elf_file__open(&ef, path, 0, 0) && ef.fd < 0) {
		snprintf(err, errlen, "%s: cannot open", path);
		return -1;
	}
	elf = ef.elf;
	fd = ef.fd;
	if (!elf || elf_getphdrnum(elf, &nph)) {
		snprintf(err, errlen, "%s: not an ELF file", path);
		goto out;
	}
	for (i = 0; i < nph; i++) {
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		/* code is in the file: a segment claiming more than the file
		 * holds (a crafted ELF) is cut to what is there */
		size = ph.p_filesz < ph.p_memsz ? ph.p_filesz : ph.p_memsz;
		in_file = fstat(fd, &st) || ph.p_offset > (uint64_t)st.st_size ? 0 :
			  (uint64_t)st.st_size - ph.p_offset;
		lo = ph.p_vaddr;
		size = size < in_file ? size : in_file;
		hi = lo + size < lo ? UINT64_MAX : lo + size;	/* refused below */
		t->vaddr_minus_offset = (int64_t)ph.p_vaddr - (int64_t)ph.p_offset;
		found = 1;
		break;
	}
	if (!found || hi > UINT32_MAX) {
		snprintf(err, errlen, "%s: %s", path,
			 found ? "executable segment above 4 GiB" : "no executable segment");
		goto out;
	}
	if (eh_frame_of(elf, &sec, &sec_size, &sec_addr)) {
		snprintf(err, errlen, "%s: no call-frame information (.eh_frame)", path);
		goto out;
	}
	if (ehframe__table(sec, sec_size, sec_addr, lo, hi, emit_row, &b)) {
		if (!b.too_many)
			goto oom;
		snprintf(err, errlen, "%s: call-frame information too large (over %u rows): "
			 "not used", path, CFI_MAX_ROWS);
		cfi__free(t);
		goto out;
	}
	if (cfi__push(t, hi, PT_CFA_UNKNOWN, 0, 0, 0))
		goto oom;
	ret = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory building unwind tables for %s", path);
	cfi__free(t);
out:
	elf_file__close(&ef);
	return ret;
}

void cfi__free(struct cfi_table *t)
{
	free(t->rows);
	memset(t, 0, sizeof(*t));
}

const struct pt_cfi_row *cfi__lookup(const struct cfi_table *t, uint32_t pc)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (t->rows[mid].pc <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &t->rows[lo - 1] : NULL;
}

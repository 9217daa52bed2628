// SPDX-License-Identifier: GPL-2.0
/*
 * Unwind tables from .eh_frame with libdw.
 *
 * Why unwind in BPF from tables rather than copy the stack and unwind in
 * userspace (perf --call-graph dwarf): allocations are accounted per stack
 * as they happen, so the stack must be known, and deduplicated, in the BPF
 * program; a stack copy would have to be unwound before it could be
 * counted.  The tables are compact (12 bytes a row) and built once per
 * file.  Frame pointers remain the fallback for code without tables.
 *
 * libdw answers "what is the rule at this address" (dwarf_cfi_addrframe)
 * with the range the answer holds for; walking the executable segment from
 * range to range yields the rows.  Addresses without CFI get an UNKNOWN row
 * so that they do not inherit the rule of the function before them.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "files/elffile.h"
#include "stacks/cfi.h"
#include "files/procmaps.h"
#include "util/vec.h"

#define DW_REG_RBP 6
#define DW_REG_RSP 7
#define DW_REG_RA 16

static int push(struct cfi_table *t, uint64_t pc, int cfa_reg, int64_t cfa_off, int rbp_saved,
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

/* The rule at one address: CFA = reg + off; %rbp saved at CFA + off? */
static int rule(Dwarf_Frame *f, int *cfa_reg, int64_t *cfa_off, int *rbp_saved, int64_t *rbp_off)
{
	Dwarf_Op *ops, mem[3];
	size_t n;

	*cfa_reg = PT_CFA_UNKNOWN;
	*cfa_off = 0;
	*rbp_saved = 0;
	*rbp_off = 0;
	if (dwarf_frame_cfa(f, &ops, &n) || n != 1)
		return 0;
	if (ops[0].atom == DW_OP_bregx) {
		if (ops[0].number == DW_REG_RSP || ops[0].number == DW_REG_RBP) {
			*cfa_reg = ops[0].number == DW_REG_RSP ? PT_CFA_RSP : PT_CFA_RBP;
			*cfa_off = (int64_t)ops[0].number2;
		}
	} else if (ops[0].atom == DW_OP_breg0 + DW_REG_RSP || ops[0].atom == DW_OP_breg0 + DW_REG_RBP) {
		*cfa_reg = ops[0].atom == DW_OP_breg0 + DW_REG_RSP ? PT_CFA_RSP : PT_CFA_RBP;
		*cfa_off = (int64_t)ops[0].number;
	}
	if (*cfa_reg == PT_CFA_UNKNOWN)
		return 0;
	/* an undefined return address marks the outermost frame (_start) */
	if (dwarf_frame_register(f, DW_REG_RA, mem, &ops, &n) == 0 && n == 0 && ops) {
		*cfa_reg = PT_CFA_END;
		return 0;
	}
	if (dwarf_frame_register(f, DW_REG_RBP, mem, &ops, &n))
		return 0;
	if (n == 0)
		return 0; /* same value (or undefined: left as it is) */
	/* saved at CFA + off: [DW_OP_call_frame_cfa, DW_OP_plus_uconst off] or
	 * [DW_OP_call_frame_cfa, DW_OP_consts off, DW_OP_plus] */
	if (n == 2 && ops[0].atom == DW_OP_call_frame_cfa && ops[1].atom == DW_OP_plus_uconst) {
		*rbp_saved = 1;
		*rbp_off = (int64_t)ops[1].number;
	} else if (n == 3 && ops[0].atom == DW_OP_call_frame_cfa && ops[1].atom == DW_OP_consts &&
		   ops[2].atom == DW_OP_plus) {
		*rbp_saved = 1;
		*rbp_off = (int64_t)ops[1].number;
	} else {
		*cfa_reg = PT_CFA_UNKNOWN; /* a rule BPF cannot follow */
	}
	return 0;
}

/* Bounds on the work one file can cause (a crafted file claims anything):
 * libc takes 30 k rows and about 40 k lookups. */
#define CFI_MAX_LOOKUPS (8u << 20)
#define CFI_MAX_ROWS (4u << 20)

int cfi__build(const char *path, struct cfi_table *t, char *err, size_t errlen)
{
	uint64_t lo = 0, hi = 0, addr, lookups = 0, gap = 0, size, in_file;
	struct stat st;
	int found = 0, ret = -1, fd;
	Dwarf_CFI *cfi = NULL;
	struct elf_file ef;
	Elf *elf;
	GElf_Phdr ph;
	size_t i, nph;

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
		hi = lo + (size < in_file ? size : in_file);
		t->vaddr_minus_offset = (int64_t)ph.p_vaddr - (int64_t)ph.p_offset;
		found = 1;
		break;
	}
	if (!found || hi > UINT32_MAX) {
		snprintf(err, errlen, "%s: %s", path,
			 found ? "executable segment above 4 GiB" : "no executable segment");
		goto out;
	}
	cfi = dwarf_getcfi_elf(elf);
	if (!cfi) {
		snprintf(err, errlen, "%s: no call-frame information (.eh_frame)", path);
		goto out;
	}
	for (addr = lo; addr < hi;) {
		Dwarf_Frame *f = NULL;
		Dwarf_Addr start, end;
		int64_t cfa_off, rbp_off;
		int cfa_reg, rbp_saved;

		/* bounded work whatever the file says: lookups and rows */
		if (++lookups > CFI_MAX_LOOKUPS || t->n >= CFI_MAX_ROWS) {
			snprintf(err, errlen, "%s: call-frame information too large or too sparse "
				 "(%llu lookups): not used", path, (unsigned long long)lookups);
			cfi__free(t);
			goto out;
		}
		if (dwarf_cfi_addrframe(cfi, addr, &f) || dwarf_frame_info(f, &start, &end, NULL) < 0 ||
		    end <= addr) {
			free(f);
			if (!gap && push(t, addr, PT_CFA_UNKNOWN, 0, 0, 0))
				goto oom;
			/* gaps between functions are small: byte by byte, then
			 * in growing strides (a function found inside a stride
			 * is entered at its own start, below) */
			addr += gap < 16 ? 1 : 16;
			gap++;
			continue;
		}
		rule(f, &cfa_reg, &cfa_off, &rbp_saved, &rbp_off);
		free(f);
		/* after a stride, the function began before addr */
		if (gap && start < addr && start >= lo && (!t->n || start > t->rows[t->n - 1].pc))
			addr = start;
		gap = 0;
		if (push(t, addr, cfa_reg, cfa_off, rbp_saved, rbp_off))
			goto oom;
		addr = end;
	}
	if (push(t, hi, PT_CFA_UNKNOWN, 0, 0, 0))
		goto oom;
	ret = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory building unwind tables for %s", path);
	cfi__free(t);
out:
	if (cfi)
		dwarf_cfi_end(cfi);
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

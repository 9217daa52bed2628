// SPDX-License-Identifier: GPL-2.0
/*
 * The one-pass .eh_frame reader (src/stacks/ehframe.c, through
 * cfi__build) against libdw: the rows of every file below must be the rows
 * libdw gives when asked for the rule at each address, range after range
 * (how peaktrace built its tables before, except that it strode over gaps
 * between functions and so missed tiny ones; a function of k rows cost k^2
 * steps).  The files: this test itself, the C and C++ runtimes,
 * the dynamic loader, the Python interpreter, and whatever of numpy, LAPACK
 * and OpenSSL is installed (long Fortran routines, hand-written assembly).
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "check.h"
#include "files/elffile.h"
#include "stacks/cfi.h"
#include "stacks/ehframe.h"
#include "util/vec.h"

#define DW_REG_RBP 6
#define DW_REG_RSP 7
#define DW_REG_RA 16

/* --- the reference: libdw, one query per row ------------------------------ */

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
	/* the return address must be at CFA - 8, where BPF reads it */
	if (dwarf_frame_register(f, DW_REG_RA, mem, &ops, &n) || n < 2 ||
	    ops[0].atom != DW_OP_call_frame_cfa ||
	    !((n == 2 && ops[1].atom == DW_OP_plus_uconst && (int64_t)ops[1].number == -8) ||
	      (n == 3 && ops[1].atom == DW_OP_consts && (int64_t)ops[1].number == -8 &&
	       ops[2].atom == DW_OP_plus))) {
		*cfa_reg = PT_CFA_UNKNOWN;
		*cfa_off = 0;
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

static int ref_build(const char *path, struct cfi_table *t)
{
	uint64_t lo = 0, hi = 0, addr, gap = 0;
	Dwarf_CFI *cfi = NULL;
	struct elf_file ef;
	int found = 0;
	size_t i, nph;
	GElf_Phdr ph;
	Elf *elf;

	memset(t, 0, sizeof(*t));
	if (elf_file__open(&ef, path, 0, 0))
		return -1;
	elf = ef.elf;
	if (elf_getphdrnum(elf, &nph))
		return -1;
	for (i = 0; i < nph && !found; i++) {
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		lo = ph.p_vaddr;
		hi = lo + (ph.p_filesz < ph.p_memsz ? ph.p_filesz : ph.p_memsz);
		found = 1;
	}
	cfi = dwarf_getcfi_elf(elf);
	if (!cfi)
		return -1;
	for (addr = lo; addr < hi;) {
		Dwarf_Frame *f = NULL;
		Dwarf_Addr start, end;
		int64_t cfa_off, rbp_off;
		int cfa_reg, rbp_saved;

		if (dwarf_cfi_addrframe(cfi, addr, &f) || dwarf_frame_info(f, &start, &end, NULL) < 0 ||
		    end <= addr) {
			free(f);
			if (!gap && cfi__push(t, addr, PT_CFA_UNKNOWN, 0, 0, 0))
				return -1;
			/* byte by byte: the old builder strode over long gaps
			 * and missed the 1-byte FDEs some assembly has */
			addr++;
			gap++;
			continue;
		}
		rule(f, &cfa_reg, &cfa_off, &rbp_saved, &rbp_off);
		free(f);
		/* after a stride, the function began before addr */
		if (gap && start < addr && start >= lo && (!t->n || start > t->rows[t->n - 1].pc))
			addr = start;
		gap = 0;
		if (cfi__push(t, addr, cfa_reg, cfa_off, rbp_saved, rbp_off))
			return -1;
		addr = end;
	}
	cfi__push(t, hi, PT_CFA_UNKNOWN, 0, 0, 0);
	dwarf_cfi_end(cfi);
	elf_file__close(&ef);
	return 0;
}

/* --- the comparison ------------------------------------------------------- */

static int same_row(const struct pt_cfi_row *a, const struct pt_cfi_row *b)
{
	return a->pc == b->pc && a->cfa_reg == b->cfa_reg && a->cfa_off == b->cfa_off &&
	       a->rbp_saved == b->rbp_saved && a->rbp_off == b->rbp_off;
}

static int compare(const char *path, int required)
{
	struct cfi_table ref, got;
	char err[256];
	size_t i;

	if (access(path, R_OK)) {
		if (required)
			CHECK(!"a file every Debian 12 with the test's dependencies has");
		printf("  %s: not installed, not compared\n", path);
		return 0;
	}
	if (!CHECK(ref_build(path, &ref) == 0) || !CHECK(cfi__build(path, &got, err, sizeof(err)) == 0)) {
		fprintf(stderr, "%s: %s\n", path, err);
		return 0;
	}
	for (i = 0; i < ref.n && i < got.n && same_row(&ref.rows[i], &got.rows[i]); i++)
		;
	if (!CHECK_U64(got.n, ref.n) || i < ref.n) {
		if (i < ref.n && i < got.n)
			fprintf(stderr, "%s: row %zu differs: libdw pc %#x cfa %d%+d rbp %d%+d, "
				"ours pc %#x cfa %d%+d rbp %d%+d\n", path, i, ref.rows[i].pc,
				ref.rows[i].cfa_reg, ref.rows[i].cfa_off, ref.rows[i].rbp_saved,
				ref.rows[i].rbp_off, got.rows[i].pc, got.rows[i].cfa_reg,
				got.rows[i].cfa_off, got.rows[i].rbp_saved, got.rows[i].rbp_off);
		CHECK(i == ref.n);
		for (size_t k = i > 3 ? i - 3 : 0; k < i + 4 && k < ref.n && k < got.n; k++)
			fprintf(stderr, "    %zu: libdw %#x %d%+d %d%+d | ours %#x %d%+d %d%+d\n", k,
				ref.rows[k].pc, ref.rows[k].cfa_reg, ref.rows[k].cfa_off,
				ref.rows[k].rbp_saved, ref.rows[k].rbp_off, got.rows[k].pc,
				got.rows[k].cfa_reg, got.rows[k].cfa_off, got.rows[k].rbp_saved,
				got.rows[k].rbp_off);
	} else {
		printf("  %s: %zu rows, the same\n", path, got.n);
	}
	cfi__free(&ref);
	cfi__free(&got);
	return 1;
}

/* --- a hostile section: mutated bytes ------------------------------------ */

struct order {
	uint64_t lo, hi, last;
	size_t rows;
	int bad;
};

/* Rows come in order, within the range, whatever the bytes say. */
static int check_row(void *ctx, uint64_t pc, int cfa_reg, int64_t cfa_off, int rbp_saved,
		     int64_t rbp_off)
{
	struct order *o = ctx;

	(void)cfa_off, (void)rbp_saved, (void)rbp_off;
	if (pc < o->lo || pc >= o->hi || (o->rows && pc <= o->last) || cfa_reg < 0 ||
	    cfa_reg > PT_CFA_END)
		o->bad = 1;
	o->last = pc;
	o->rows++;
	return 0;
}

/* libc's .eh_frame with random bytes changed, 300 times over: the reader
 * stays inside the buffer (the copy ends where an unmapped page begins: a
 * read past it faults) and keeps its promises: FDEs sorted and not empty,
 * rows in order within the range asked for, rules the table knows. */
static void mutated(void)
{
	struct elf_file ef;
	Elf_Scn *scn = NULL;
	size_t shstrndx, pg = (size_t)sysconf(_SC_PAGESIZE);
	const uint8_t *orig = NULL;
	size_t size = 0;
	uint64_t addr = 0;
	GElf_Shdr sh;

	if (!CHECK(elf_file__open(&ef, "/usr/lib/x86_64-linux-gnu/libc.so.6", 0, 0) == 0) ||
	    elf_getshdrstrndx(ef.elf, &shstrndx))
		return;
	while ((scn = elf_nextscn(ef.elf, scn)))
		if (gelf_getshdr(scn, &sh) &&
		    !strcmp(elf_strptr(ef.elf, shstrndx, sh.sh_name) ?: "", ".eh_frame")) {
			Elf_Data *d = elf_rawdata(scn, NULL);

			orig = d ? d->d_buf : NULL;
			size = d ? d->d_size : 0;
			addr = sh.sh_addr;
		}
	if (!CHECK(orig && size)) {
		elf_file__close(&ef);
		return;
	}
	size_t span = (size + pg - 1) / pg * pg + pg;
	uint8_t *area = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *buf = area + (span - pg) - size;
	int bad = 0, fdes_seen = 0;

	CHECK(area != MAP_FAILED);
	mprotect(area + span - pg, pg, PROT_NONE);
	rnd_state = 0x1234567;
	for (int round = 0; round < 300; round++) {
		struct order o = { .lo = 0x20000, .hi = 0x1c0000 };

		memcpy(buf, orig, size);
		for (int k = 0; k < 1 + (int)(rnd() % 64); k++)
			buf[rnd() % size] = (uint8_t)rnd();
		if (ehframe__table(buf, size, addr, o.lo, o.hi, check_row, &o))
			continue;
		bad |= o.bad;
		fdes_seen += o.rows > 1000;
	}
	CHECK(!bad);
	CHECK(fdes_seen > 250);	/* most mutations leave most of it readable */
	munmap(area, span);
	elf_file__close(&ef);
}

/* Without section headers, .eh_frame is found through PT_GNU_EH_FRAME:
 * libc copied with its section header table dropped gives the same rows. */
static void no_section_headers(void)
{
	const char *path = "/usr/lib/x86_64-linux-gnu/libc.so.6";
	char copy[] = "/tmp/peaktrace-test-ehframe-XXXXXX", err[256];
	struct cfi_table a, b;
	static uint8_t buf[4 << 20];
	FILE *in = fopen(path, "rb");
	size_t n = in ? fread(buf, 1, sizeof(buf), in) : 0;
	int fd = mkstemp(copy);

	if (in)
		fclose(in);
	if (!CHECK(n > 0x40 && n < sizeof(buf) && fd >= 0))
		return;
	memset(buf + 0x28, 0, 8);	/* e_shoff */
	memset(buf + 0x3c, 0, 4);	/* e_shnum, e_shstrndx */
	CHECK(write(fd, buf, n) == (ssize_t)n);
	close(fd);
	if (CHECK(cfi__build(path, &a, err, sizeof(err)) == 0) &&
	    CHECK(cfi__build(copy, &b, err, sizeof(err)) == 0)) {
		CHECK_U64(b.n, a.n);
		CHECK(b.n == a.n && !memcmp(a.rows, b.rows, a.n * sizeof(*a.rows)));
		printf("  %s without section headers: %zu rows, the same\n", path, b.n);
		cfi__free(&a);
		cfi__free(&b);
	}
	unlink(copy);
}

int main(void)
{
	static const char *const required[] = {
		"/proc/self/exe",
		"/usr/lib/x86_64-linux-gnu/libc.so.6",
		"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
		"/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
		"/usr/bin/python3.11",
		"/usr/lib/x86_64-linux-gnu/libelf.so.1",
	};
	static const char *const optional[] = {
		"/usr/lib/x86_64-linux-gnu/lapack/liblapack.so.3",
		"/usr/lib/python3/dist-packages/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
		"/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
		"/usr/lib/x86_64-linux-gnu/libgfortran.so.5",
		"/usr/lib/x86_64-linux-gnu/libffi.so.8",	/* hand-written assembly */
	};

	elf_version(EV_CURRENT);
	for (size_t i = 0; i < sizeof(required) / sizeof(*required); i++)
		compare(required[i], 1);
	for (size_t i = 0; i < sizeof(optional) / sizeof(*optional); i++)
		compare(optional[i], 0);
	no_section_headers();
	mutated();
	return check_report("test_ehframe");
}

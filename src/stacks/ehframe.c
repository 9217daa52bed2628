// SPDX-License-Identifier: GPL-2.0
/*
 * Unwind rows from .eh_frame in one pass: each FDE's call-frame program is
 * run once, and every advance of its location closes a row.
 *
 * Why not ask libdw for the rule at each address (dwarf_cfi_addrframe, as
 * this file's unit test does for its reference): each answer runs the FDE's
 * program again from its start, so a function of k rows costs k^2 steps.
 * pandas maps 82 modules; libdw took 0.56 s of CPU for their 640 k rows,
 * 0.38 s for LAPACK's long Fortran routines alone, on the traced program's
 * other core.
 *
 * What a row says (what the BPF unwinder can follow): the CFA is %rsp or
 * %rbp plus an offset; %rbp is unchanged or saved at CFA + an offset; the
 * return address is at CFA - 8 (undefined: the outermost frame).  Any
 * other rule makes the row UNKNOWN, and so does everything after an
 * instruction that cannot be followed.  Everything read is bounded by the
 * section, each CIE is read once, and each FDE's program once: a crafted
 * file gets rows that say UNKNOWN, or an error, in time linear in its size.
 */
#include <stdlib.h>
#include <string.h>
#include "stacks/ehframe.h"
#include "util/vec.h"

#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16
#define STATE_DEPTH 16	/* remember_state nesting kept */

/* A cursor over [p, end): reads past the end fail and stick. */
struct rd {
	const uint8_t *p, *end;
	int bad;
};

static uint64_t rd_bytes(struct rd *r, size_t n)
{
	uint64_t v = 0;

	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = 1;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	return v;
}

/* A LEB128 number's bits, and how many it has (in *shift) and its last
 * byte (in *last), for the sign. */
static uint64_t rd_leb(struct rd *r, unsigned *shift, uint8_t *last)
{
	uint64_t v = 0;
	uint8_t b;

	*shift = 0;
	do {
		b = (uint8_t)rd_bytes(r, 1);
		if (*shift < 64)
			v |= (uint64_t)(b & 0x7f) << *shift;
		*shift += 7;
	} while ((b & 0x80) && !r->bad);
	*last = b;
	return v;
}

static uint64_t rd_uleb(struct rd *r)
{
	unsigned shift;
	uint8_t last;

	return rd_leb(r, &shift, &last);
}

static int64_t rd_sleb(struct rd *r)
{
	unsigned shift;
	uint8_t last;
	uint64_t v = rd_leb(r, &shift, &last);

	if (shift < 64 && (last & 0x40))
		v |= ~0ULL << shift;
	return (int64_t)v;
}

/* A pointer in encoding enc (DW_EH_PE_*) read at section address here. */
static uint64_t rd_ptr(struct rd *r, uint8_t enc, uint64_t here)
{
	uint64_t v;

	if (enc == 0xff) /* omit */
		return 0;
	if (enc & 0x80) {	/* indirect: the value would be where it points */
		r->bad = 1;
		return 0;
	}
	switch (enc & 0x0f) {
	case 0x00: case 0x04: case 0x0c: v = rd_bytes(r, 8); break;	/* absptr, udata8, sdata8 */
	case 0x01: v = rd_uleb(r); break;
	case 0x02: v = rd_bytes(r, 2); break;
	case 0x03: v = rd_bytes(r, 4); break;
	case 0x09: v = (uint64_t)rd_sleb(r); break;
	case 0x0a: v = (uint64_t)(int64_t)(int16_t)rd_bytes(r, 2); break;
	case 0x0b: v = (uint64_t)(int64_t)(int32_t)rd_bytes(r, 4); break;
	default: r->bad = 1; return 0;
	}
	switch (enc & 0x70) {
	case 0x00: break;
	case 0x10: v += here; break;	/* pcrel */
	default: r->bad = 1; break;	/* textrel, datarel, funcrel: not in .eh_frame of x86-64 code */
	}
	return v;
}

enum { RULE_SAME, RULE_UNDEF, RULE_OFFSET, RULE_OTHER };

struct regrule {
	uint8_t kind;
	int64_t off;
};

/* The part of a frame state a row needs. */
struct state {
	int cfa_reg;		/* DWARF register; -1: unknown, or an expression */
	int64_t cfa_off;
	struct regrule rbp, ra;
};

struct cie {
	uint64_t caf;		/* code alignment factor */
	int64_t daf;		/* data alignment factor */
	uint8_t fde_enc;	/* pointer encoding of FDE addresses */
	uint8_t has_aug_data;	/* 'z': augmentation data length present */
	uint8_t ok;		/* parsed, and its initial program followed */
	struct state start;	/* the state its initial instructions leave */
};

/* Products of a factor and an operand, wrapping (a crafted operand must
 * not be undefined behaviour). */
static int64_t times(uint64_t v, int64_t factor)
{
	return (int64_t)(v * (uint64_t)factor);
}

static struct regrule *reg_of(struct state *s, uint64_t reg)
{
	return reg == REG_RBP ? &s->rbp : reg == REG_RA ? &s->ra : NULL;
}

static void set_rule(struct state *s, uint64_t reg, uint8_t kind, int64_t off)
{
	struct regrule *r = reg_of(s, reg);

	if (r) {
		r->kind = kind;
		r->off = off;
	}
}

/* The row a state gives, as src/stacks/cfi.c's table wants it. */
static void row_of(const struct state *s, int *cfa_reg, int64_t *cfa_off, int *rbp_saved,
		   int64_t *rbp_off)
{
	*cfa_reg = PT_CFA_UNKNOWN;
	*cfa_off = 0;
	*rbp_saved = 0;
	*rbp_off = 0;
	if (s->cfa_reg != REG_RSP && s->cfa_reg != REG_RBP)
		return;
	*cfa_off = s->cfa_off;
	if (s->ra.kind == RULE_UNDEF) {	/* the outermost frame (_start) */
		*cfa_reg = PT_CFA_END;
		return;
	}
	/* BPF reads the return address at CFA - 8 */
	if (s->ra.kind != RULE_OFFSET || s->ra.off != -8) {
		*cfa_off = 0;
		return;
	}
	*cfa_reg = s->cfa_reg == REG_RSP ? PT_CFA_RSP : PT_CFA_RBP;
	if (s->rbp.kind == RULE_OFFSET) {
		*rbp_saved = 1;
		*rbp_off = s->rbp.off;
	} else if (s->rbp.kind == RULE_OTHER) {
		*cfa_reg = PT_CFA_UNKNOWN; /* a rule BPF cannot follow */
	}
}

/* A call-frame program being run.  With emit, every advance closes the row
 * [loc, new loc) of the state so far; rows stop at limit. */
struct run {
	const struct cie *cie;
	const uint8_t *sec;
	uint64_t sec_addr, loc, limit;
	struct state st;
	struct state saved[STATE_DEPTH];
	unsigned depth;
	ehframe_emit_fn emit;
	void *ctx;
	int failed;
};

static int advance(struct run *x, uint64_t to)
{
	int cfa_reg, rbp_saved;
	int64_t cfa_off, rbp_off;

	if (to > x->limit)
		to = x->limit;
	if (to <= x->loc)
		return 0;
	if (x->emit) {
		row_of(&x->st, &cfa_reg, &cfa_off, &rbp_saved, &rbp_off);
		if (x->emit(x->ctx, x->loc, cfa_reg, cfa_off, rbp_saved, rbp_off))
			return -1;
	}
	x->loc = to;
	return 0;
}

static void skip_block(struct rd *r)
{
	uint64_t n = rd_uleb(r);

	if (n > (uint64_t)(r->end - r->p))
		r->bad = 1;
	else
		r->p += n;
}

/* Runs the program in r.  Returns 0, or -1 if emit stopped it.  An
 * instruction it cannot follow sets failed, with the state unknown, and
 * ends the program. */
static int run_program(struct run *x, struct rd *r)
{
	const struct cie *c = x->cie;
	struct state *init = (struct state *)&c->start;

	while (r->p < r->end && !r->bad) {
		uint8_t op = (uint8_t)rd_bytes(r, 1), low = op & 0x3f;
		uint64_t reg, delta = 0;
		struct regrule *rr;
		int moves = 0;

		switch (op & 0xc0) {
		case 0x40: /* advance_loc */
			delta = low;
			moves = 1;
			break;
		case 0x80: /* offset */
			set_rule(&x->st, low, RULE_OFFSET, times(rd_uleb(r), c->daf));
			continue;
		case 0xc0: /* restore */
			rr = reg_of(&x->st, low);
			if (rr)
				*rr = *reg_of(init, low);
			continue;
		default:
			switch (op) {
			case 0x00: /* nop */
				break;
			case 0x01: /* set_loc */
				reg = rd_ptr(r, c->fde_enc, x->sec_addr + (uint64_t)(r->p - x->sec));
				if (!r->bad && advance(x, reg))
					return -1;
				break;
			case 0x02: delta = rd_bytes(r, 1); moves = 1; break;
			case 0x03: delta = rd_bytes(r, 2); moves = 1; break;
			case 0x04: delta = rd_bytes(r, 4); moves = 1; break;
			case 0x05: /* offset_extended */
				reg = rd_uleb(r);
				set_rule(&x->st, reg, RULE_OFFSET, times(rd_uleb(r), c->daf));
				break;
			case 0x06: /* restore_extended */
				reg = rd_uleb(r);
				rr = reg_of(&x->st, reg);
				if (rr)
					*rr = *reg_of(init, reg);
				break;
			case 0x07: /* undefined */
				set_rule(&x->st, rd_uleb(r), RULE_UNDEF, 0);
				break;
			case 0x08: /* same_value */
				set_rule(&x->st, rd_uleb(r), RULE_SAME, 0);
				break;
			case 0x0a: /* remember_state */
				if (x->depth >= STATE_DEPTH)
					goto cannot;
				x->saved[x->depth++] = x->st;
				break;
			case 0x0b: /* restore_state */
				if (!x->depth)
					goto cannot;
				x->st = x->saved[--x->depth];
				break;
			case 0x0c: /* def_cfa */
				x->st.cfa_reg = (int)(rd_uleb(r) & 0xffff);
				x->st.cfa_off = (int64_t)rd_uleb(r);
				break;
			case 0x0d: /* def_cfa_register */
				reg = rd_uleb(r);
				if (x->st.cfa_reg < 0)	/* no offset to keep */
					goto cannot;
				x->st.cfa_reg = (int)(reg & 0xffff);
				break;
			case 0x0e: /* def_cfa_offset */
				x->st.cfa_off = (int64_t)rd_uleb(r);
				break;
			case 0x0f: /* def_cfa_expression */
				skip_block(r);
				x->st.cfa_reg = -1;
				break;
			case 0x10: /* expression */
			case 0x16: /* val_expression */
				reg = rd_uleb(r);
				skip_block(r);
				set_rule(&x->st, reg, RULE_OTHER, 0);
				break;
			case 0x11: /* offset_extended_sf */
				reg = rd_uleb(r);
				set_rule(&x->st, reg, RULE_OFFSET, times((uint64_t)rd_sleb(r), c->daf));
				break;
			case 0x12: /* def_cfa_sf */
				x->st.cfa_reg = (int)(rd_uleb(r) & 0xffff);
				x->st.cfa_off = times((uint64_t)rd_sleb(r), c->daf);
				break;
			case 0x13: /* def_cfa_offset_sf */
				x->st.cfa_off = times((uint64_t)rd_sleb(r), c->daf);
				break;
			case 0x09: /* register */
			case 0x14: /* val_offset */
			case 0x15: /* val_offset_sf */
				/* a rule BPF cannot follow; its operand (unsigned or
				 * signed, the same bytes) passed over */
				reg = rd_uleb(r);
				rd_uleb(r);
				set_rule(&x->st, reg, RULE_OTHER, 0);
				break;
			case 0x2e: /* GNU_args_size */
				rd_uleb(r);
				break;
			case 0x2f: /* GNU_negative_offset_extended */
				reg = rd_uleb(r);
				set_rule(&x->st, reg, RULE_OFFSET, -times(rd_uleb(r), c->daf));
				break;
			default: /* an operation this reader does not know */
				goto cannot;
			}
		}
		if (moves && !r->bad && advance(x, x->loc + delta * c->caf))
			return -1;
	}
	if (!r->bad)
		return 0;
cannot:
	/* from here on the state is not known */
	x->failed = 1;
	x->st.cfa_reg = -1;
	return 0;
}

/* An entry's header: its content in *r (after the length), the next
 * entry's offset in *next.  Returns 1, 0 at the end (terminator, 64-bit length entries,
 * which no x86-64 toolchain writes, or a length past the section). */
static int entry_at(const uint8_t *sec, size_t size, size_t off, struct rd *r, size_t *next)
{
	uint64_t len;

	if (off > size || size - off < 4)
		return 0;
	r->p = sec + off;
	r->end = sec + size;
	r->bad = 0;
	len = rd_bytes(r, 4);
	if (len == 0 || len == 0xffffffff || len > (uint64_t)(r->end - r->p))
		return 0;
	r->end = r->p + len;
	*next = off + 4 + (size_t)len;
	return 1;
}

/* Parses the CIE at off into c (c->ok says whether it can be used). */
static void parse_cie(const uint8_t *sec, size_t size, uint64_t sec_addr, size_t off,
		      struct cie *c)
{
	const char *aug;
	uint8_t version;
	struct rd r;
	struct run x;
	size_t next;

	memset(c, 0, sizeof(*c));
	if (!entry_at(sec, size, off, &r, &next) || rd_bytes(&r, 4) != 0)
		return;
	version = (uint8_t)rd_bytes(&r, 1);
	if (r.bad || (version != 1 && version != 3))
		return;
	aug = (const char *)r.p;
	while (r.p < r.end && *r.p)
		r.p++;
	rd_bytes(&r, 1);
	if (r.bad || strstr(aug, "eh"))
		return;
	c->caf = rd_uleb(&r);
	c->daf = rd_sleb(&r);
	if (version == 1)
		rd_bytes(&r, 1);
	else
		rd_uleb(&r);
	if (aug[0] == 'z') {
		uint64_t alen = rd_uleb(&r);
		const uint8_t *after;
		uint8_t enc;

		if (r.bad || alen > (uint64_t)(r.end - r.p))
			return;
		after = r.p + alen;
		c->has_aug_data = 1;
		for (const char *a = aug + 1; *a && !r.bad && r.p <= after; a++) {
			if (*a == 'R') {
				c->fde_enc = (uint8_t)rd_bytes(&r, 1);
			} else if (*a == 'L') {
				rd_bytes(&r, 1);
			} else if (*a == 'P') {
				/* the personality routine: not needed, only passed */
				enc = (uint8_t)rd_bytes(&r, 1);
				if ((enc & 0x70) == 0x50) { /* aligned */
					uint64_t at = sec_addr + (uint64_t)(r.p - sec);

					rd_bytes(&r, (size_t)((8 - (at & 7)) & 7));
					rd_bytes(&r, 8);
				} else if (enc != 0xff) {
					rd_ptr(&r, enc & 0x0f, 0);
				}
			} else if (*a != 'S' && *a != 'B') {
				break;	/* unknown: the length says where data ends */
			}
		}
		if (r.bad || r.p > after)
			return;
		r.p = after;
	}
	if (r.bad)
		return;
	memset(&x, 0, sizeof(x));
	x.cie = c;
	x.sec = sec;
	x.sec_addr = sec_addr;
	x.st.cfa_reg = -1;
	x.limit = 0;	/* an advance in a CIE moves nothing */
	run_program(&x, &r);
	c->start = x.st;
	c->ok = !x.failed;
}

struct fde {
	uint64_t start, end;
	size_t off;		/* the entry */
	size_t cie;		/* index into the parsed CIEs */
	struct rd prog;		/* its call-frame program */
};

static int cmp_fde(const void *a, const void *b)
{
	const struct fde *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;	/* the first in the section */
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* Reads the header of FDE f (its off set) with its CIE c: range and
 * program.  Returns 1, or 0 if it cannot be used. */
static int fde_at(const uint8_t *sec, size_t size, uint64_t sec_addr, const struct cie *c,
		  struct fde *f)
{
	struct rd r;
	size_t next;
	uint64_t range;

	if (!c->ok || !entry_at(sec, size, f->off, &r, &next))
		return 0;
	rd_bytes(&r, 4);	/* the CIE pointer */
	f->start = rd_ptr(&r, c->fde_enc, sec_addr + (uint64_t)(r.p - sec));
	range = rd_ptr(&r, c->fde_enc & 0x0f, 0);
	if (c->has_aug_data)
		skip_block(&r);
	if (r.bad || !range || f->start + range < f->start)
		return 0;
	f->end = f->start + range;
	f->prog = r;
	return 1;
}

/* Passes rows on to the caller, from lo on: a row that began before lo
 * (an FDE straddling it) is given at lo. */
struct clip {
	ehframe_emit_fn emit;
	void *ctx;
	uint64_t lo, hi;
	int pending, cfa_reg, rbp_saved;
	int64_t cfa_off, rbp_off;
};

static int clip_row(void *ctx, uint64_t pc, int cfa_reg, int64_t cfa_off, int rbp_saved,
		    int64_t rbp_off)
{
	struct clip *k = ctx;

	if (pc >= k->hi)
		return 0;
	if (pc < k->lo) {
		k->pending = 1;
		k->cfa_reg = cfa_reg;
		k->cfa_off = cfa_off;
		k->rbp_saved = rbp_saved;
		k->rbp_off = rbp_off;
		return 0;
	}
	if (k->pending && pc > k->lo &&
	    k->emit(k->ctx, k->lo, k->cfa_reg, k->cfa_off, k->rbp_saved, k->rbp_off))
		return -1;
	k->pending = 0;
	return k->emit(k->ctx, pc, cfa_reg, cfa_off, rbp_saved, rbp_off);
}

int ehframe__table(const uint8_t *sec, size_t size, uint64_t sec_addr, uint64_t lo, uint64_t hi,
		   ehframe_emit_fn emit, void *ctx)
{
	size_t off = 0, next, nf = 0, capf = 0, i, *offs = NULL, ncie = 0;
	struct clip k = { .emit = emit, .ctx = ctx, .lo = lo, .hi = hi };
	struct cie *cies = NULL;
	struct fde *fdes = NULL, f = { 0 };
	uint64_t covered = lo;
	struct rd r;
	int ret = -1;

	/* the FDEs and the CIEs they name */
	while (entry_at(sec, size, off, &r, &next)) {
		size_t id_at = off + 4;
		uint64_t id = rd_bytes(&r, 4);

		off = next;
		if (r.bad || id == 0 || id > id_at)
			continue;
		f.off = id_at - 4;
		f.cie = id_at - id;	/* an offset for now */
		if (vec_grow((void **)&fdes, &capf, nf + 1, sizeof(*fdes), 1024))
			goto out;
		fdes[nf++] = f;
	}
	/* each CIE parsed once */
	if (nf && !(offs = malloc(nf * sizeof(*offs))))
		goto out;
	for (i = 0; i < nf; i++)
		offs[i] = fdes[i].cie;
	if (nf)
		qsort(offs, nf, sizeof(*offs), cmp_size);
	for (i = 0, ncie = 0; i < nf; i++)
		if (!i || offs[i] != offs[i - 1])
			offs[ncie++] = offs[i];
	if (ncie && !(cies = malloc(ncie * sizeof(*cies))))
		goto out;
	for (i = 0; i < ncie; i++)
		parse_cie(sec, size, sec_addr, offs[i], &cies[i]);
	/* their ranges, in address order */
	for (i = 0; i < nf; i++) {
		size_t *hit = bsearch(&fdes[i].cie, offs, ncie, sizeof(*offs), cmp_size);

		fdes[i].cie = hit ? (size_t)(hit - offs) : 0;
		if (!hit || !fde_at(sec, size, sec_addr, &cies[fdes[i].cie], &fdes[i]))
			fdes[i].end = fdes[i].start = 0;
	}
	if (nf)
		qsort(fdes, nf, sizeof(*fdes), cmp_fde);
	/* rows: each FDE's, and UNKNOWN where none covers (an FDE overlapping
	 * one already placed is not used) */
	for (i = 0; i < nf; i++) {
		struct run x;

		if (fdes[i].end <= covered || fdes[i].start >= hi ||
		    (fdes[i].start < covered && covered > lo))
			continue;
		if (fdes[i].start > covered && emit(ctx, covered, PT_CFA_UNKNOWN, 0, 0, 0))
			goto out;
		memset(&x, 0, sizeof(x));
		x.cie = &cies[fdes[i].cie];
		x.sec = sec;
		x.sec_addr = sec_addr;
		x.st = x.cie->start;
		x.loc = fdes[i].start;
		x.limit = fdes[i].end;
		x.emit = clip_row;
		x.ctx = &k;
		k.pending = 0;
		if (run_program(&x, &fdes[i].prog) || advance(&x, x.limit))
			goto out;
		if (k.pending && emit(ctx, lo, k.cfa_reg, k.cfa_off, k.rbp_saved, k.rbp_off))
			goto out;	/* the straddling FDE's last row covers lo */
		k.pending = 0;
		covered = fdes[i].end;
	}
	if (covered < hi && emit(ctx, covered, PT_CFA_UNKNOWN, 0, 0, 0))
		goto out;
	ret = 0;
out:
	free(fdes);
	free(offs);
	free(cies);
	return ret;
}

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
 * other rule makes the row UNKNOWN.  Everything read is bounded by the
 * section: a crafted file gets rows that say UNKNOWN, or an error.
 */
#include <gelf.h>
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
	switch (enc & 0x0f) {
	case 0x00: v = rd_bytes(r, 8); break;
	case 0x01: v = rd_uleb(r); break;
	case 0x02: v = rd_bytes(r, 2); break;
	case 0x03: v = rd_bytes(r, 4); break;
	case 0x04: v = rd_bytes(r, 8); break;
	case 0x09: v = (uint64_t)rd_sleb(r); break;
	case 0x0a: v = (uint64_t)(int64_t)(int16_t)rd_bytes(r, 2); break;
	case 0x0b: v = (uint64_t)(int64_t)(int32_t)rd_bytes(r, 4); break;
	case 0x0c: v = rd_bytes(r, 8); break;
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
	int cfa_reg;		/* DWARF register, -1: an expression */
	int64_t cfa_off;
	struct regrule rbp, ra;
};

struct cie {
	uint64_t caf;		/* code alignment factor */
	int64_t daf;		/* data alignment factor */
	uint8_t fde_enc;	/* pointer encoding of FDE addresses */
	int has_aug_data;	/* 'z': augmentation data length present */
	struct rd init;		/* initial instructions */
	struct state start;	/* the state they leave */
};

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
	*cfa_reg = s->cfa_reg == REG_RSP ? PT_CFA_RSP : PT_CFA_RBP;
	if (s->rbp.kind == RULE_OFFSET) {
		*rbp_saved = 1;
		*rbp_off = s->rbp.off;
	} else if (s->rbp.kind == RULE_OTHER) {
		*cfa_reg = PT_CFA_UNKNOWN; /* a rule BPF cannot follow */
	}
}

/* Runs a call-frame program.  With emit, every advance closes the row
 * [*loc, new loc) of the state so far; stops at limit. */
struct run {
	const struct cie *cie;
	uint64_t loc, limit;
	struct state st;
	struct state saved[STATE_DEPTH];
	unsigned depth, lost_depth;
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

static int run_program(struct run *x, struct rd *r)
{
	const struct cie *c = x->cie;

	while (r->p < r->end && !r->bad) {
		uint8_t op = (uint8_t)rd_bytes(r, 1), low = op & 0x3f;
		uint64_t reg, n;
		struct regrule *rr;

		switch (op & 0xc0) {
		case 0x40: /* advance_loc */
			if (advance(x, x->loc + low * c->caf))
				return -1;
			continue;
		case 0x80: /* offset */
			set_rule(&x->st, low, RULE_OFFSET, (int64_t)rd_uleb(r) * c->daf);
			continue;
		case 0xc0: /* restore */
			rr = reg_of(&x->st, low);
			if (rr)
				*rr = *reg_of((struct state *)&c->start, low);
			continue;
		}
		switch (op) {
		case 0x00: /* nop */
			break;
		case 0x01: /* set_loc */
			if (advance(x, rd_ptr(r, c->fde_enc, 0)))
				return -1;
			break;
		case 0x02:
			if (advance(x, x->loc + rd_bytes(r, 1) * c->caf))
				return -1;
			break;
		case 0x03:
			if (advance(x, x->loc + rd_bytes(r, 2) * c->caf))
				return -1;
			break;
		case 0x04:
			if (advance(x, x->loc + rd_bytes(r, 4) * c->caf))
				return -1;
			break;
		case 0x05: /* offset_extended */
			reg = rd_uleb(r);
			set_rule(&x->st, reg, RULE_OFFSET, (int64_t)rd_uleb(r) * c->daf);
			break;
		case 0x06: /* restore_extended */
			reg = rd_uleb(r);
			rr = reg_of(&x->st, reg);
			if (rr)
				*rr = *reg_of((struct state *)&c->start, reg);
			break;
		case 0x07: /* undefined */
			set_rule(&x->st, rd_uleb(r), RULE_UNDEF, 0);
			break;
		case 0x08: /* same_value */
			set_rule(&x->st, rd_uleb(r), RULE_SAME, 0);
			break;
		case 0x09: /* register */
			reg = rd_uleb(r);
			rd_uleb(r);
			set_rule(&x->st, reg, RULE_OTHER, 0);
			break;
		case 0x0a: /* remember_state */
			if (x->depth < STATE_DEPTH)
				x->saved[x->depth++] = x->st;
			else
				x->lost_depth++;
			break;
		case 0x0b: /* restore_state */
			if (x->lost_depth)
				x->lost_depth--, x->failed = 1;
			else if (x->depth)
				x->st = x->saved[--x->depth];
			break;
		case 0x0c: /* def_cfa */
			x->st.cfa_reg = (int)rd_uleb(r);
			x->st.cfa_off = (int64_t)rd_uleb(r);
			break;
		case 0x0d: /* def_cfa_register */
			x->st.cfa_reg = (int)rd_uleb(r);
			break;
		case 0x0e: /* def_cfa_offset */
			x->st.cfa_off = (int64_t)rd_uleb(r);
			break;
		case 0x0f: /* def_cfa_expression */
			n = rd_uleb(r);
			rd_bytes(r, 0);
			if (n > (uint64_t)(r->end - r->p))
				r->bad = 1;
			else
				r->p += n;
			x->st.cfa_reg = -1;
			break;
		case 0x10: /* expression */
		case 0x16: /* val_expression */
			reg = rd_uleb(r);
			n = rd_uleb(r);
			if (n > (uint64_t)(r->end - r->p))
				r->bad = 1;
			else
				r->p += n;
			set_rule(&x->st, reg, RULE_OTHER, 0);
			break;
		case 0x11: /* offset_extended_sf */
			reg = rd_uleb(r);
			set_rule(&x->st, reg, RULE_OFFSET, rd_sleb(r) * c->daf);
			break;
		case 0x12: /* def_cfa_sf */
			x->st.cfa_reg = (int)rd_uleb(r);
			x->st.cfa_off = rd_sleb(r) * c->daf;
			break;
		case 0x13: /* def_cfa_offset_sf */
			x->st.cfa_off = rd_sleb(r) * c->daf;
			break;
		case 0x14: /* val_offset */
			reg = rd_uleb(r);
			rd_uleb(r);
			set_rule(&x->st, reg, RULE_OTHER, 0);
			break;
		case 0x15: /* val_offset_sf */
			reg = rd_uleb(r);
			rd_sleb(r);
			set_rule(&x->st, reg, RULE_OTHER, 0);
			break;
		case 0x2e: /* GNU_args_size */
			rd_uleb(r);
			break;
		case 0x2f: /* GNU_negative_offset_extended */
			reg = rd_uleb(r);
			set_rule(&x->st, reg, RULE_OFFSET, -(int64_t)rd_uleb(r) * c->daf);
			break;
		default: /* an operation this reader does not know: the rest is unknown */
			x->failed = 1;
			return 0;
		}
	}
	if (r->bad)
		x->failed = 1;
	return 0;
}

/* Parses the CIE at offset off of the section; 0, or -1 if malformed. */
static int parse_cie(const uint8_t *sec, size_t size, size_t off, struct cie *c)
{
	struct rd r = { sec + off, sec + size, 0 };
	uint64_t len = rd_bytes(&r, 4), id;
	const char *aug;
	uint8_t version;
	struct run x;

	memset(c, 0, sizeof(*c));
	if (len == 0xffffffff)
		len = rd_bytes(&r, 8);
	if (r.bad || len > (uint64_t)(r.end - r.p))
		return -1;
	r.end = r.p + len;
	id = rd_bytes(&r, 4);
	version = (uint8_t)rd_bytes(&r, 1);
	if (r.bad || id != 0 || (version != 1 && version != 3))
		return -1;
	aug = (const char *)r.p;
	while (r.p < r.end && *r.p)
		r.p++;
	rd_bytes(&r, 1);
	if (r.bad || strstr(aug, "eh"))
		return -1;
	c->caf = rd_uleb(&r);
	c->daf = rd_sleb(&r);
	if (version == 1)
		rd_bytes(&r, 1);
	else
		rd_uleb(&r);
	c->fde_enc = 0;
	if (aug[0] == 'z') {
		uint64_t alen = rd_uleb(&r);
		const uint8_t *after = r.p + alen;

		if (r.bad || alen > (uint64_t)(r.end - r.p))
			return -1;
		c->has_aug_data = 1;
		for (const char *a = aug + 1; *a && !r.bad; a++) {
			if (*a == 'R')
				c->fde_enc = (uint8_t)rd_bytes(&r, 1);
			else if (*a == 'L')
				rd_bytes(&r, 1);
			else if (*a == 'P')
				rd_ptr(&r, (uint8_t)rd_bytes(&r, 1) & 0x7f, 0);
			else if (*a != 'S' && *a != 'B')
				break;	/* unknown: the length says where data ends */
		}
		r.p = after;
	}
	if (r.bad)
		return -1;
	c->init = r;
	/* the initial state: CFA unknown until the program says */
	memset(&x, 0, sizeof(x));
	x.cie = c;
	x.st.cfa_reg = -1;
	x.limit = ~0ULL;
	run_program(&x, &r);
	c->start = x.st;
	return 0;
}

static int cmp_fde(const void *a, const void *b)
{
	const struct ehframe_fde *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The CIE an FDE at id_at names by id, cached: most FDEs share one. */
static int cie_for(const uint8_t *sec, size_t size, size_t id_at, uint64_t id, struct cie *c,
		   size_t *cached)
{
	if (id > id_at)
		return -1;	/* points before the section */
	if (id_at - id != *cached) {
		*cached = id_at - id;
		if (parse_cie(sec, size, *cached, c)) {
			*cached = (size_t)-1;
			return -1;
		}
	}
	return 0;
}

/* Reads the entry at *off: its FDE's range and program in *r, or nothing
 * (a CIE, an FDE naming a bad CIE).  Returns 1 for an FDE, 0 for anything
 * else, -1 at the end or if the section is cut short. */
static int next_entry(const uint8_t *sec, size_t size, uint64_t sec_addr, size_t *off,
		      struct cie *c, size_t *cached, struct ehframe_fde *f, struct rd *prog)
{
	struct rd r = { sec + *off, sec + size, 0 };
	uint64_t len, id, range;
	size_t id_at;

	if (*off + 4 > size)
		return -1;
	len = rd_bytes(&r, 4);
	if (len == 0)
		return -1;	/* terminator */
	if (len == 0xffffffff)
		len = rd_bytes(&r, 8);
	if (r.bad || len > (uint64_t)(r.end - r.p))
		return -1;
	f->off = *off;
	*off = (size_t)(r.p - sec) + len;
	r.end = r.p + len;
	id_at = (size_t)(r.p - sec);
	id = rd_bytes(&r, 4);
	if (r.bad || id == 0 || cie_for(sec, size, id_at, id, c, cached))
		return 0;
	f->start = rd_ptr(&r, c->fde_enc, sec_addr + (size_t)(r.p - sec));
	range = rd_ptr(&r, c->fde_enc & 0x0f, 0);
	if (c->has_aug_data) {
		uint64_t alen = rd_uleb(&r);

		if (alen > (uint64_t)(r.end - r.p))
			r.bad = 1;
		else
			r.p += alen;
	}
	if (r.bad || !range || f->start + range < f->start)
		return 0;
	f->end = f->start + range;
	*prog = r;
	return 1;
}

int ehframe__fdes(const uint8_t *sec, size_t size, uint64_t sec_addr, struct ehframe_fde **out,
		  size_t *n)
{
	size_t off = 0, cached = (size_t)-1, cap = 0;
	struct ehframe_fde f, *v = NULL;
	struct cie c;
	struct rd prog;
	int e;

	*n = 0;
	while ((e = next_entry(sec, size, sec_addr, &off, &c, &cached, &f, &prog)) >= 0) {
		if (!e)
			continue;
		if (vec_grow((void **)&v, &cap, *n + 1, sizeof(*v), 1024)) {
			free(v);
			return -1;
		}
		v[(*n)++] = f;
	}
	qsort(v, *n, sizeof(*v), cmp_fde);
	*out = v;
	return 0;
}

int ehframe__rows(const uint8_t *sec, size_t size, uint64_t sec_addr, const struct ehframe_fde *f,
		  ehframe_emit_fn emit, void *ctx)
{
	size_t off = f->off, cached = (size_t)-1;
	struct ehframe_fde g;
	struct cie c;
	struct rd prog;
	struct run x;

	if (next_entry(sec, size, sec_addr, &off, &c, &cached, &g, &prog) != 1)
		return 0;
	memset(&x, 0, sizeof(x));
	x.cie = &c;
	x.st = c.start;
	x.loc = g.start;
	x.limit = g.end;
	x.emit = emit;
	x.ctx = ctx;
	if (run_program(&x, &prog))
		return -1;
	if (x.failed)
		x.st.cfa_reg = -1;	/* from where it could not be followed */
	return advance(&x, x.limit);
}

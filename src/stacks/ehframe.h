/* SPDX-License-Identifier: GPL-2.0 */
/*
 * .eh_frame read in one pass (see ehframe.c): the FDEs of a section, and
 * the rows of one FDE as the BPF unwinder wants them.
 */
#ifndef PT_EHFRAME_H
#define PT_EHFRAME_H

#include <stddef.h>
#include <stdint.h>
#include "peaktrace.h"

struct ehframe_fde {
	uint64_t start, end;	/* the code it covers, section addresses */
	size_t off;		/* where it is in the section */
};

/* A row from pc on: CFA = cfa_reg (PT_CFA_*) + cfa_off; %rbp saved at
 * CFA + rbp_off if rbp_saved.  Returns 0, or -1 to stop. */
typedef int (*ehframe_emit_fn)(void *ctx, uint64_t pc, int cfa_reg, int64_t cfa_off,
			       int rbp_saved, int64_t rbp_off);

/* The FDEs of the section (size bytes, loaded at sec_addr), sorted by
 * start, in *out (malloc'd).  Returns 0, or -1 if memory ran out. */
int ehframe__fdes(const uint8_t *sec, size_t size, uint64_t sec_addr, struct ehframe_fde **out,
		  size_t *n);
/* Emits the rows of FDE f, in order, the last one up to f->end.  Returns
 * 0, or -1 if emit stopped it. */
int ehframe__rows(const uint8_t *sec, size_t size, uint64_t sec_addr, const struct ehframe_fde *f,
		  ehframe_emit_fn emit, void *ctx);

#endif

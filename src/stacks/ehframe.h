/* SPDX-License-Identifier: GPL-2.0 */
/*
 * .eh_frame read in one pass (see ehframe.c): the rows of an address range
 * as the BPF unwinder wants them.
 */
#ifndef PT_EHFRAME_H
#define PT_EHFRAME_H

#include <stddef.h>
#include <stdint.h>
#include "peaktrace.h"

/* A row from pc on: CFA = cfa_reg (PT_CFA_*) + cfa_off; %rbp saved at
 * CFA + rbp_off if rbp_saved.  Returns 0, or -1 to stop. */
typedef int (*ehframe_emit_fn)(void *ctx, uint64_t pc, int cfa_reg, int64_t cfa_off,
			       int rbp_saved, int64_t rbp_off);

/*
 * Emits the rows of [lo, hi) from the .eh_frame section sec (size bytes,
 * loaded at sec_addr), in address order: each FDE's, and an UNKNOWN row
 * where no FDE covers the code (the caller ends the table at hi).  Returns
 * 0, or -1 if memory ran out or emit stopped.
 */
int ehframe__table(const uint8_t *sec, size_t size, uint64_t sec_addr, uint64_t lo, uint64_t hi,
		   ehframe_emit_fn emit, void *ctx);

#endif

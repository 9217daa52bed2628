/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Unwind tables for BPF, from a module's call-frame information: which
 * register the CFA is based on and where %rbp was saved, for every address
 * range of the executable segment.
 */
#ifndef PT_CFI_H
#define PT_CFI_H

#include <stddef.h>
#include <stdint.h>
#include "peaktrace.h"

struct cfi_table {
	struct pt_cfi_row *rows;
	size_t n, cap;
	int64_t vaddr_minus_offset;
};

/* Builds the table of the ELF file at path.  Returns 0, or -1 with a
 * message (no .eh_frame, not an ELF file, addresses above 4 GiB). */
int cfi__build(const char *path, struct cfi_table *t, char *err, size_t errlen);
void cfi__free(struct cfi_table *t);
/* Appends the row from pc on (merged into the last if its rule is the
 * same; an offset out of range makes it UNKNOWN).  Returns 0, or -1 if
 * memory ran out. */
int cfi__push(struct cfi_table *t, uint64_t pc, int cfa_reg, int64_t cfa_off, int rbp_saved,
	      int64_t rbp_off);

/* The row for pc (the last one starting at or below it), or NULL. */
const struct pt_cfi_row *cfi__lookup(const struct cfi_table *t, uint32_t pc);

#endif

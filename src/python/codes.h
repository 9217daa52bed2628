/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Python code objects as BPF copied them (struct pt_py_code, one per
 * image, address and fingerprint): their names in UTF-8 and line tables,
 * and the frames they make in reports.
 */
#ifndef PT_PY_CODES_H
#define PT_PY_CODES_H

#include <stddef.h>
#include <stdint.h>
#include "peaktrace.h"
#include "report/report.h"
#include "util/hindex.h"

struct py_code {
	uint32_t instance;
	uint64_t code, fingerprint;
	char *qualname, *filename;	/* UTF-8; NULL if not copied */
	int firstlineno;
	uint8_t *linetable;
	size_t linetable_len;
};

struct py_codes {
	struct py_code *v;
	size_t n, cap;
	struct hindex index;
};

/* Adds a code object from BPF (a repeat is ignored).  Returns 0, or -1 if
 * memory ran out. */
int py_codes__add(struct py_codes *t, const struct pt_py_code *e);
const struct py_code *py_codes__find(const struct py_codes *t, uint32_t instance, uint64_t code,
				     uint64_t fingerprint);
void py_codes__free(struct py_codes *t);

/* A Python frame as a report frame (strings malloc'ed): the code's
 * qualname, file and the line at f->instr_off (code_adaptive: the
 * version's first-instruction offset), or "<unknown code>" if the code
 * object was not copied. */
void py_codes__frame(const struct py_codes *t, uint32_t instance, const struct pt_py_frame *f,
		     uint32_t code_adaptive, struct report_frame *out);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CPython versions whose frames peaktrace reads, and the offsets of each
 * (checked on this machine against the internal headers, then read live:
 * see ../shared/PYTHON.md); and the line-table decoder.  Pure: unit-tested.
 */
#ifndef PT_PY_LAYOUTS_H
#define PT_PY_LAYOUTS_H

#include <stddef.h>
#include <stdint.h>
#include "peaktrace.h"

struct py_version_layout {
	unsigned major, minor;
	uint32_t tss_offset;		/* _PyRuntime to autoTSSkey (a Py_tss_t) */
	uint32_t code_adaptive;		/* co_code_adaptive: the first instruction */
	struct pt_py_layout bpf;	/* without tss_key_addr and glibc's part */
};

/* The layout of Python major.minor, or NULL if peaktrace has none. */
const struct py_version_layout *py_layout__find(unsigned major, unsigned minor);
/* "3.11" ... : the versions with a layout, for messages. */
const char *py_layout__supported(void);

/* 3.13's layout from its _Py_DebugOffsets (runtime: len bytes of
 * _PyRuntime from the file), checked against py_version (Py_Version); a
 * free-threaded build is refused.  Returns 0, or -1 with why filled. */
int py_layout__from_debug(const void *runtime, size_t len, uint32_t py_version,
			  struct py_version_layout *out, char *why, size_t whylen);
/* Whether every offset of L lies within what BPF reads of each object. */
int py_layout__fits(const struct pt_py_layout *L);

/* The line running at byte offset instr_off of a code object (from the
 * object's start: what BPF records), from its line table: -1 if the table
 * says the instruction has no line, 0 if instr_off is outside it. */
int py_line(const uint8_t *table, size_t len, int firstlineno, uint32_t code_adaptive,
	    uint32_t instr_off);

#endif

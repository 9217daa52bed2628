/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Native and Python frames into one stack (pure: unit-tested).  Each
 * native frame of the eval loop (_PyEval_EvalFrameDefault, the containing
 * function, not what was inlined into it) is replaced by the Python frames
 * it was running: up to and including the next entry frame (one called
 * from C).  Python frames left when the native frames end (a native walk
 * cut short) go at the end.  CPython's glue (interpreter frames above the
 * innermost Python frame, and _Py*, PyEval*, *vectorcall* ones anywhere)
 * is dropped unless show_glue.
 */
#ifndef PT_PY_MERGE_H
#define PT_PY_MERGE_H

#include <stddef.h>
#include "report/report.h"

enum py_mode {
	PY_MERGED,	/* native and Python frames */
	PY_ONLY,	/* Python frames, and the native ones below the innermost */
	PY_OFF,		/* native frames only */
};

/* native[0..nn) innermost first, py[0..np) innermost first with
 * entry[i] set on entry frames; interp: the interpreter's module path
 * (glue is recognised by it).  Writes at most nn + np frames to out and
 * returns how many. */
size_t py_merge(const struct report_frame *const *native, size_t nn,
		const struct report_frame *const *py, const int *entry, size_t np,
		const char *interp, enum py_mode mode, int show_glue,
		const struct report_frame **out);

#endif

// SPDX-License-Identifier: GPL-2.0
/* The merge rule (see merge.h). */
#include <fnmatch.h>
#include <string.h>
#include "python/merge.h"

static int is_eval(const struct report_frame *f)
{
	return !f->inlined && f->function && !strcmp(f->function, "_PyEval_EvalFrameDefault");
}

static int in_interp(const struct report_frame *f, const char *interp)
{
	return interp && f->module && !strcmp(f->module, interp);
}

/* CPython's own call machinery, by name. */
static int glue_name(const char *fn)
{
	static const char *const pat[] = {
		"_Py*", "PyEval*", "*vectorcall*", "*Vectorcall*", "PyObject_Call*", "cfunction_call*",
		"method_vectorcall*", "slot_tp_*", "PyRun_*", "run_eval_code_obj", "run_mod",
		"pyrun_*", "Py_RunMain", "Py_BytesMain", "pymain_*", "builtin_exec*", "call_function*",
	};

	if (!fn)
		return 0;
	for (size_t i = 0; i < sizeof(pat) / sizeof(pat[0]); i++)
		if (!fnmatch(pat[i], fn, 0))
			return 1;
	return 0;
}

size_t py_merge(const struct report_frame *const *native, size_t nn,
		const struct report_frame *const *py, const int *entry, size_t np,
		const char *interp, enum py_mode mode, int show_glue,
		const struct report_frame **out)
{
	size_t i, k, pi = 0, n = 0, first_py = (size_t)-1;

	if (mode == PY_OFF || !np) {
		memcpy(out, native, nn * sizeof(*out));
		return nn;
	}
	for (i = 0; i < nn; i++) {
		if (is_eval(native[i]) && pi < np) {
			/* what was inlined into the eval loop at this address */
			while (n && out[n - 1]->inlined && out[n - 1]->address == native[i]->address &&
			       out[n - 1]->kind != PT_FRAME_PYTHON)
				n--;
			if (first_py == (size_t)-1)
				first_py = n;
			for (k = pi; k < np; k++) {
				out[n++] = py[k];
				if (entry[k])
					break;
			}
			pi = k < np ? k + 1 : np;
			continue;
		}
		if (!show_glue && in_interp(native[i], interp) &&
		    (first_py != (size_t)-1 || glue_name(native[i]->function)))
			continue;
		if (mode == PY_ONLY && first_py != (size_t)-1)
			continue;
		out[n++] = native[i];
	}
	for (; pi < np; pi++)
		out[n++] = py[pi];
	return n;
}

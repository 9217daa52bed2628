// SPDX-License-Identifier: GPL-2.0
/*
 * The line-table decoder (src/python/layouts.c) against Python's own
 * co_lines() for every code object of several standard modules (dumped by
 * tests/unit/py_lines.py with Debian's python3.11, the version whose
 * layout peaktrace reads); then the merge rule (src/python/merge.c) on
 * synthetic stacks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "python/layouts.h"
#include "python/merge.h"

#define ADAPTIVE 184

static size_t unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;
	unsigned b;

	if (!strcmp(s, "-"))
		return 0;
	while (n < max && sscanf(s + 2 * n, "%2x", &b) == 1)
		out[n++] = (uint8_t)b;
	return n;
}

static void lines_match_co_lines(void)
{
	static uint8_t table[1 << 16];
	static char line[1 << 18];
	FILE *f = popen("/usr/bin/python3.11 tests/unit/py_lines.py", "r");
	size_t len = 0, codes = 0, units = 0, wrong = 0;
	int first = 0;

	if (!CHECK(f != NULL))
		return;
	while (fgets(line, sizeof(line), f)) {
		char hex[sizeof(line)];
		unsigned start, end;
		int want;

		if (sscanf(line, "C %d %s", &first, hex) == 2) {
			len = unhex(hex, table, sizeof(table));
			codes++;
		} else if (sscanf(line, "R %u %u %d", &start, &end, &want) == 3) {
			for (unsigned at = start; at < end; at += 2, units++) {
				int got = py_line(table, len, first, ADAPTIVE, ADAPTIVE + at);

				if (got != want && wrong++ < 5)
					fprintf(stderr, "line at byte %u: %d, co_lines says %d\n", at, got,
						want);
			}
		}
	}
	CHECK(pclose(f) == 0);
	CHECK(codes > 500 && units > 50000);
	CHECK_U64(wrong, 0);
	printf("line tables: %zu code objects, %zu code units\n", codes, units);
	CHECK(py_line(table, len, first, ADAPTIVE, ADAPTIVE - 2) == 0); /* before the code */
}

static const struct report_frame nat[] = {
	{ .address = 1, .function = "PyByteArray_Resize", .module = "/py" },
	{ .address = 2, .function = "do_thing", .module = "/ext.so" },
	{ .address = 3, .function = "_PyEval_inlined", .module = "/py", .inlined = 1 },
	{ .address = 3, .function = "_PyEval_EvalFrameDefault", .module = "/py" },
	{ .address = 4, .function = "_PyObject_Call", .module = "/py" },
	{ .address = 5, .function = "_PyEval_EvalFrameDefault", .module = "/py" },
	{ .address = 6, .function = "Py_RunMain", .module = "/py" },
	{ .address = 7, .function = "main", .module = "/py" },
	{ .address = 8, .function = "__libc_start_main", .module = "/libc.so.6" },
};
static const struct report_frame pyf[] = {
	{ .function = "inner", .kind = PT_FRAME_PYTHON },
	{ .function = "middle", .kind = PT_FRAME_PYTHON },
	{ .function = "cb", .kind = PT_FRAME_PYTHON },
	{ .function = "<module>", .kind = PT_FRAME_PYTHON },
};

static void names(const struct report_frame **v, size_t n, char *out, size_t len)
{
	out[0] = 0;
	for (size_t i = 0; i < n; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? " " : "", v[i]->function);
}

static void merge_rule(void)
{
	const struct report_frame *native[9], *py[4], *out[16];
	int entry[4] = { 0, 1, 1, 1 };	/* inner+middle run in one eval frame */
	char s[512];
	size_t n;

	for (size_t i = 0; i < 9; i++)
		native[i] = &nat[i];
	for (size_t i = 0; i < 4; i++)
		py[i] = &pyf[i];
	n = py_merge(native, 9, py, entry, 4, "/py", PY_MERGED, 0, out);
	names(out, n, s, sizeof(s));
	/* each eval frame takes Python frames up to an entry frame; glue
	 * above the innermost Python frame and in the interpreter is hidden;
	 * Python frames left over (cb, <module>: no eval frame seen) go last */
	CHECK_STR(s, "PyByteArray_Resize do_thing inner middle cb __libc_start_main <module>");
	n = py_merge(native, 9, py, entry, 4, "/py", PY_MERGED, 1, out);
	names(out, n, s, sizeof(s));
	CHECK_STR(s, "PyByteArray_Resize do_thing inner middle _PyObject_Call cb Py_RunMain main "
		     "__libc_start_main <module>");
	n = py_merge(native, 9, py, entry, 4, "/py", PY_ONLY, 0, out);
	names(out, n, s, sizeof(s));
	CHECK_STR(s, "PyByteArray_Resize do_thing inner middle cb <module>");
	n = py_merge(native, 9, py, entry, 4, "/py", PY_OFF, 0, out);
	CHECK_U64(n, 9);
	/* a missing eval frame (a native walk cut short): all Python frames last */
	n = py_merge(native, 2, py, entry, 4, "/py", PY_MERGED, 0, out);
	names(out, n, s, sizeof(s));
	CHECK_STR(s, "PyByteArray_Resize do_thing inner middle cb <module>");
}

int main(void)
{
	lines_match_co_lines();
	merge_rule();
	return check_report("test_pylines");
}

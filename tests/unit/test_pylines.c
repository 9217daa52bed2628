// SPDX-License-Identifier: GPL-2.0
/*
 * The line-table decoder (src/python/layouts.c) against Python's own
 * co_lines() for every code object of several standard modules (dumped by
 * tests/unit/py_lines.py with Debian's python3.11, and pyenv's 3.12 and
 * 3.13 where present); then the merge rule (src/python/merge.c) on
 * synthetic stacks.
 */
#include <glob.h>
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

static void lines_match_co_lines(const char *python)
{
	static uint8_t table[1 << 16];
	static char line[1 << 18];
	char cmd[512];
	FILE *f;
	size_t len = 0, codes = 0, units = 0, wrong = 0;
	int first = 0;

	snprintf(cmd, sizeof(cmd), "%s tests/unit/py_lines.py", python);
	f = popen(cmd, "r");
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
	printf("%s: line tables of %zu code objects, %zu code units: as co_lines()\n", python, codes,
	       units);
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

/* 3.13's layout from _Py_DebugOffsets: read, checked, free-threading refused. */
static void debug_offsets(void)
{
	uint8_t rt[8 + 8 * 80] = "xdebugpy";
	uint64_t *v = (uint64_t *)(rt + 8);
	struct py_version_layout out;
	char why[200];

	v[0] = 0x030d00f0;
	v[22] = 72, v[28] = 8, v[29] = 0, v[30] = 56, v[32] = 70;
	v[34] = 112, v[36] = 128, v[37] = 136, v[38] = 68, v[42] = 200;
	v[64] = 16, v[65] = 32, v[67] = 32, v[69] = 40;
	CHECK(py_layout__from_debug(rt, sizeof(rt), 0x030d00f0, &out, why, sizeof(why)) == 0);
	CHECK_U64(out.bpf.cframe_frame, 72);
	CHECK_U64(out.bpf.tstate_cframe, 0);
	CHECK_U64(out.bpf.shim_owner, 3);
	CHECK_U64(out.code_adaptive, 200);
	CHECK_U64(out.bpf.str_compact_data, 56);
	CHECK_U64(out.tss_offset, 2160);
	CHECK(py_layout__from_debug(rt, sizeof(rt), 0x030d01f0, &out, why, sizeof(why)) == -1);
	CHECK(strstr(why, "Py_Version") != NULL);
	v[1] = 1;	/* free-threaded */
	CHECK(py_layout__from_debug(rt, sizeof(rt), 0x030d00f0, &out, why, sizeof(why)) == -1);
	CHECK(strstr(why, "free-threaded") != NULL);
	v[1] = 0;
	v[30] = 4096;	/* beyond what BPF reads */
	CHECK(py_layout__from_debug(rt, sizeof(rt), 0x030d00f0, &out, why, sizeof(why)) == -1);
	rt[0] = 'y';
	CHECK(py_layout__from_debug(rt, sizeof(rt), 0x030d00f0, &out, why, sizeof(why)) == -1);
	CHECK(strstr(why, "cookie") != NULL);
	CHECK(py_layout__find(3, 10) == NULL && py_layout__find(3, 14) == NULL);
}

int main(void)
{
	debug_offsets();
	glob_t g = { 0 };

	lines_match_co_lines("/usr/bin/python3.11");
	/* other versions where this machine has them (pyenv's) */
	if (!glob("/root/.pyenv/versions/3.1[23].*/bin/python3", 0, NULL, &g))
		for (size_t i = 0; i < g.gl_pathc; i++)
			lines_match_co_lines(g.gl_pathv[i]);
	globfree(&g);
	merge_rule();
	return check_report("test_pylines");
}

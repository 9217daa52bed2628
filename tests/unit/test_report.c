// SPDX-License-Identifier: GPL-2.0
/* The JSON and text writers on a hand-built report: exact output. */
#include <stdlib.h>
#include "check.h"
#include "model/frames.h"
#include "report/json.h"
#include "report/report.h"
#include "report/writers.h"

/* --top 1: one stack shown per view */
static char *render(int json, const struct report *r)
{
	struct writer_options o = { .top = 1 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (json)
		report__write_json(r, f, &o);
	else
		report__write_text(r, f, &o);
	fclose(f);
	return buf;
}

static void build(struct report *r)
{
	static struct report_frame frames[2] = {
		{ 0x401136, "make\"it\"", "/usr/bin/v\\x", "v.c", 12, 0x1136, 1, 0, PT_FRAME_INLINED, NULL },
		{ 0x7f0000001000, NULL, "/lib/libc.so.6", NULL, 0, 0x27000, 0, 1, PT_FRAME_NATIVE, NULL },
	};
	static const struct report_frame *fp[2] = { &frames[0], &frames[1] };
	static struct report_trace tr[3] = {
		{ .pid = 42, .instance = 1, .stack_id = 5, .symbolized = 1, .nframes = 2, .frames = fp },
		{ .pid = 42, .instance = 1, .stack_id = 6, .symbolized = 1 },
		{ .pid = 42, .instance = 1, .stack_id = 7, .symbolized = 1 },
	};
	/* three stacks at the tree peak, one at the process's */
	static struct report_stack st[3] = {
		{ .bytes = 1536, .allocations = 3, .trace = &tr[0] },
		{ .bytes = 60, .allocations = 1, .trace = &tr[1] },
		{ .bytes = 40, .allocations = 1, .trace = &tr[2] },
	};
	static char *argv[] = { "v", "a\tb", "\033[31mred\xff\xc3\xa9" };
	static struct report_proc p = {
		.pid = 42, .ppid = 1, .instance = 1, .comm = "v", .argv = argv, .argc = 3,
		.peak_bytes = 2048, .peak_time_ns = 5, .bytes_at_tree_peak = 1536,
		.live_bytes_at_end = 0, .start_ns = 1, .end_ns = 9, .allocs = 4, .frees = 4,
		.exit_code = 3, .stacks = { .n = 1, .v = st },
	};

	memset(r, 0, sizeof(*r));
	r->peak_bytes = 1536;
	r->peak_time_ns = 7;
	r->duration_ns = 10;
	r->stopped_by = "exit";
	r->stacks.n = 3;
	r->stacks.v = st;
	r->nprocs = 1;
	r->procs = &p;
}

static void json_exact(void)
{
	struct report r;
	char *out;
	/* a frame on one line */
	const char *frame0 =
		"\"frames\": [\n          {\"function\": \"make\\\"it\\\"\", \"module\": \"/usr/bin/v\\\\x\", "
		"\"file\": \"v.c\", \"line\": 12, \"address\": \"0x401136\", \"module_offset\": \"0x1136\", "
		"\"inlined\": true, \"python\": false, \"kind\": \"inlined\"},\n          {";

	build(&r);
	out = render(1, &r);
	CHECK(strncmp(out, "{\n  \"peaktrace\": 1,\n  \"complete\": true,\n", 40) == 0);
	CHECK(strstr(out, frame0) != NULL);
	CHECK(strstr(out, "{\"function\": null, \"module\": \"/lib/libc.so.6\", \"file\": null, "
			  "\"line\": null,") != NULL);
	/* an escape sequence and a byte that is not UTF-8 from a traced
	 * program's argv: valid JSON, the valid é kept */
	CHECK(strstr(out, "\"argv\": [\n        \"v\",\n        \"a\\tb\",\n"
			  "        \"\\u001b[31mred\\ufffd\xc3\xa9\"\n      ],") != NULL);
	CHECK(strstr(out, "\"warnings\": [],") != NULL);
	CHECK(strstr(out, "\"exit_code\": 3,\n      \"exit_signal\": null,") != NULL);
	/* the JSON lists every stack, whatever --top */
	CHECK(strstr(out, "\"stacks_total\": 3,\n    \"stacks_omitted_bytes\": 0,") != NULL);
	CHECK(strstr(out, "\"bytes\": 40,") != NULL);
	CHECK(strstr(out, "\"lost\": {\n    \"events\": 0,\n    \"unknown_frees\": 0,\n"
			  "    \"map_full\": 0,") != NULL);
	CHECK(out[strlen(out) - 1] == '\n' && out[strlen(out) - 2] == '}');
	{
		/* frames interned in a table, as the model makes them: each
		 * line rendered once and copied where it repeats (the stack is
		 * listed at the tree's peak and at the process's): the same
		 * document */
		const struct report_frame **fr = r.stacks.v[0].trace->frames;
		const struct report_frame *orig[2] = { fr[0], fr[1] };
		struct frame_table *ft = frames__new();
		char *again;

		CHECK(ft && !r.frames);
		fr[0] = frames__intern(ft, orig[0]);
		fr[1] = frames__intern(ft, orig[1]);
		CHECK(fr[0] && fr[0] != orig[0] && frames__count(ft) == 2);
		r.frames = ft;
		again = render(1, &r);
		CHECK_STR(again, out);
		free(again);
		fr[0] = orig[0];
		fr[1] = orig[1];
		r.frames = NULL;
		frames__free(ft);
	}
	free(out);

	r.lost.count[PT_LOST_UNKNOWN_FREES] = 2;
	report__warn(&r, "pid %d: \"x\"", 7);
	out = render(1, &r);
	CHECK(strstr(out, "\"complete\": false,") != NULL);
	CHECK(strstr(out, "\"warnings\": [\n    \"pid 7: \\\"x\\\"\"\n  ],") != NULL);
	free(out);
	free(r.warnings[0]);
	free(r.warnings);
}

static void text_report(void)
{
	struct report r;
	char *out;

	build(&r);
	out = render(0, &r);
	CHECK(strstr(out, "Heap peak of the process tree: 1.5 KiB at 0.000 s") != NULL);
	CHECK(strstr(out, "  #1  1.5 KiB in 3 allocations, pid 42\n"
			  "        make\"it\" (v.c:12) (inlined) [v\\\\x]\n"
			  "        0x7f0000001000 [libc.so.6+0x27000]\n") != NULL);
	CHECK(strstr(out, "(100 B in 2 more stacks)") != NULL);
	/* the traced program's argv reaches the terminal escaped */
	CHECK(strstr(out, "v a\\x09b \\x1b[31mred\\xff\xc3\xa9") != NULL);
	CHECK(strchr(out, '\033') == NULL);
	CHECK(strstr(out, "INCOMPLETE") == NULL);
	free(out);
	/* a note is not a loss: complete, and said after the table */
	r.lost.count[PT_LOST_TRUNCATED] = 4;
	out = render(0, &r);
	CHECK(strstr(out, "INCOMPLETE") == NULL);
	CHECK(strstr(out, "Notes (every byte was counted):\n  4 stacks cut at the depth limit") != NULL);
	free(out);
	out = render(1, &r);
	CHECK(strstr(out, "\"complete\": true,") != NULL);
	CHECK(strstr(out, "\"notes\": {\n    \"truncated_stacks\": 4,") != NULL);
	free(out);
	r.lost.count[PT_LOST_ALLOCS_FULL] = 5;
	out = render(0, &r);
	CHECK(strncmp(out, "peaktrace: INCOMPLETE", 21) == 0);
	CHECK(strstr(out, "5 allocations not counted: allocation maps full (--max-allocs)") != NULL);
	free(out);
	out = render(1, &r);
	CHECK(strstr(out, "\"map_full\": 5,\n    \"allocs_map_full\": 5,") != NULL);
	free(out);
}

static void folded(void)
{
	struct writer_options o = { .top = 1 };
	struct report r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	build(&r);
	CHECK(report__write_folded(&r, f, &o) == 0);
	fclose(f);
	/* every stack, outermost frame first, the process as the root */
	CHECK_STR(buf, "v 42;libc.so.6+0x27000;make\"it\" 1536\n"
		       "v 42;[no stack] 60\n"
		       "v 42;[no stack] 40\n");
	free(buf);
}

/* The process table as a tree: an exec'd image under its fork, a fork
 * image that held nothing folded into the count line, sizes aligned. */
static void process_tree(void)
{
	static struct report_proc procs[3] = {
		{ .pid = 10, .ppid = 1, .instance = 1, .comm = "sh", .peak_bytes = 4096,
		  .exit_code = 0, .start_ns = 1 },
		{ .pid = 11, .ppid = 10, .instance = 2, .parent_instance = 1, .comm = "sh",
		  .peak_bytes = 0, .exit_code = 0, .start_ns = 2 },
		{ .pid = 11, .ppid = 10, .instance = 3, .parent_instance = 2, .comm = "cc1",
		  .peak_bytes = 8 << 20, .exit_code = 0, .exit_signal = 9, .start_ns = 3 },
	};
	struct writer_options o = { .top = 1 };
	struct report r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	memset(&r, 0, sizeof(r));
	r.peak_bytes = 8 << 20;
	r.stopped_by = "exit";
	r.nprocs = 3;
	r.procs = procs;
	CHECK(report__write_text(&r, f, &o) == 0);
	fclose(f);
	CHECK(strstr(buf, "  10            4.0 KiB            0 B          0 B       0  [sh]\n"
			  "  11            8.0 MiB            0 B          0 B   sig 9    [cc1]\n"
			  "  (1 more process image, each holding under 1% of the peak") != NULL);
	free(buf);
}

static void bytes_format(void)
{
	char b[32];

	CHECK_STR(report__bytes(0, b, sizeof(b)), "0 B");
	CHECK_STR(report__bytes(1023, b, sizeof(b)), "1023 B");
	CHECK_STR(report__bytes(80 << 20, b, sizeof(b)), "80.0 MiB");
	CHECK_STR(report__bytes(3ULL << 40, b, sizeof(b)), "3.0 TiB");
}

/* -a / --cgroup: the scope, and the trees ranked (text) and listed (JSON). */
static void scope_trees(void)
{
	struct report r;
	struct report_tree trees[2] = {
		{ .root_pid = 42, .root_instance = 1, .rss_peak_bytes = 3 << 20,
		  .rss_peak_time_ns = 2000000, .approx_peak_bytes = 2 << 20, .max_drift_bytes = 1 << 20,
		  .processes = 3 },
		{ .root_pid = 7, .root_instance = 9, .rss_peak_bytes = 4096, .processes = 1 },
	};
	char *out;

	build(&r);
	trees[0].root = &r.procs[0];
	r.trees = trees;
	r.ntrees = 2;
	r.rss_only = 1;
	r.scope.kind = "all";
	out = render(1, &r);
	CHECK(strstr(out, "\"scope\": {\n    \"kind\": \"all\"\n  },") != NULL);
	CHECK(strstr(out, "\"trees\": [\n    {\n      \"root_pid\": 42,\n      \"root_comm\": \"v\",\n"
			  "      \"rss_peak_bytes\": 3145728,") != NULL);
	CHECK(strstr(out, "\"root_pid\": 7,\n      \"root_comm\": null,") != NULL);
	free(out);
	out = render(0, &r);	/* --top 1 */
	CHECK(strstr(out, "RSS peak of the machine (every process)") != NULL);
	CHECK(strstr(out, "Process trees by exact RSS peak (1 of 2;") != NULL);
	CHECK(strstr(out, "  42            3.0 MiB   0.002 s      2.0 MiB    1.0 MiB      3  v") != NULL);
	CHECK(strstr(out, "Processes by exact RSS peak (1 of 1)") != NULL);
	free(out);
}

/* The writer alone: every escape, numbers at their limits, nesting with
 * and without indentation. */
static void json_writer(void)
{
	static const char raw[] = "a\"b\\c\nd\re\tf\x01g\x7fh\xc3\xa9i\xffj\xe2\x82k";
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json j;

	json__init(&j, f, 0);
	json__begin_object(&j);
	json__key(&j, "s");
	json__stringn(&j, raw, sizeof(raw) - 1);
	json__key(&j, "n");
	json__begin_array(&j);
	json__u64(&j, 0);
	json__u64(&j, UINT64_MAX);
	json__i64(&j, -1);
	json__i64(&j, INT64_MIN);
	json__i64(&j, INT64_MAX);
	json__null(&j);
	json__bool(&j, 1);
	json__bool(&j, 0);
	json__end_array(&j);
	json__string_field(&j, "e", "");
	json__end_object(&j);
	fclose(f);
	CHECK_STR(buf, "{\"s\":\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u007fh\xc3\xa9i\\ufffdj"
		  "\\ufffd\\ufffdk\",\"n\":[0,18446744073709551615,-1,-9223372036854775808,"
		  "9223372036854775807,null,true,false],\"e\":\"\"}");
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &len);
	json__init(&j, f, 1);
	json__begin_object(&j);
	json__key(&j, "a");
	json__begin_array(&j);
	json__begin_object(&j);
	json__end_object(&j);
	json__u64(&j, 7);
	json__end_array(&j);
	json__key(&j, "b");
	json__begin_array(&j);
	json__end_array(&j);
	json__key(&j, "c");
	json__begin_array(&j);
	json__begin_line_object(&j);
	json__u64_field(&j, "x", 1);
	json__key(&j, "y");
	json__begin_array(&j);
	json__u64(&j, 2);
	json__begin_object(&j);
	json__end_object(&j);
	json__end_array(&j);
	json__end_object(&j);
	json__begin_line_object(&j);
	json__end_object(&j);
	json__end_array(&j);
	json__end_object(&j);
	fclose(f);
	CHECK_STR(buf, "{\n  \"a\": [\n    {},\n    7\n  ],\n  \"b\": [],\n  \"c\": [\n"
		  "    {\"x\": 1, \"y\": [2, {}]},\n    {}\n  ]\n}");
	free(buf);
}

int main(void)
{
	json_writer();
	json_exact();
	scope_trees();
	text_report();
	folded();
	process_tree();
	bytes_format();
	return check_report("test_report");
}

// SPDX-License-Identifier: GPL-2.0
/* Command-line parsing with argp. */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/options.h"
#include "peaktrace.h"
#include "python/merge.h"
#include "report/writers.h"

const char *argp_program_version = "peaktrace 0.1";
const char *argp_program_bug_address = "";

static const char doc[] =
	"peaktrace: the exact heap peak of a process tree, and the stacks holding it.\v"
	"Modes:\n"
	"  peaktrace [OPTION...] -- CMD [ARGS...]   run CMD under tracing from its first\n"
	"                                          instruction, with all it starts\n"
	"  peaktrace [OPTION...] -p PID            trace PID, its descendants and all they\n"
	"                                          start, until SIGINT/SIGTERM or the tree ends\n"
	"  peaktrace [OPTION...] --cgroup PATH     trace every process in a cgroup (v2) and\n"
	"                                          below, those that enter later too, until\n"
	"                                          SIGINT/SIGTERM or --duration\n"
	"  peaktrace [OPTION...] -a                every process on the machine, RSS only: each\n"
	"                                          process's and process tree's exact RSS peak\n"
	"\n"
	"The status line and the text report go to stderr; stdout is left to CMD.\n"
	"With --json -, the JSON report has stdout and CMD's stdout goes to stderr.\n"
	"Report files are written whole or not at all.  Needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN for tracefs).\n"
	"\n"
	"Exit status: with -- CMD, CMD's exit status (128+N if signal N killed it);\n"
	"with -p, --cgroup or -a, 0.  peaktrace's own failures: 2 usage error; 3 -p\n"
	"target does not exist or is a kernel thread, or no such --cgroup; 125 could\n"
	"not trace (not root, BPF or BTF unavailable, probes failed, no cgroup v2; the\n"
	"message says which); 126 CMD not executable; 127 CMD not found.";

enum {
	OPT_TOP = 1000,
	OPT_DURATION,
	OPT_MAX_ALLOCS,
	OPT_STATUS,
	OPT_MAX_STACKS,
	OPT_MAX_PROCS,
	OPT_MAX_UNWIND_ROWS,
	OPT_BARE,
	OPT_RSS_ONLY,
	OPT_DRIFT,
	OPT_STACK_DEPTH,
	OPT_FRAME_POINTERS,
	OPT_INTERVAL,
	OPT_SAMPLE_BYTES,
	OPT_EXACT_STACKS,
	OPT_PYTHON,
	OPT_PYTHON_MALLOC,
	OPT_PRELOAD,
	OPT_NO_PRELOAD,
	OPT_CGROUP,
	OPT_ALL_HEAP,
	OPT_WRITER = 2000,	/* + the writer's row in report/writers.c */
};

static const struct argp_option opts[] = {
	{ NULL, 0, NULL, 0, "Target:", 1 },
	{ "pid", 'p', "PID", 0, "Trace a running process and its descendants", 1 },
	{ "cgroup", OPT_CGROUP, "PATH", 0, "Trace a cgroup v2: a directory (absolute, or relative "
	  "to the cgroup2 mount) or a systemd unit name (foo.service); every process in it or "
	  "below, present or entering later; one that leaves stops counting", 1 },
	{ "all", 'a', NULL, 0, "Every process on the machine, RSS only unless --heap: exact RSS "
	  "peaks per process and per process tree (a child of init and its descendants), with "
	  "drift; until SIGINT/SIGTERM or --duration", 1 },
	{ "heap", OPT_ALL_HEAP, NULL, 0, "With -a: trace every process's heap too.  Costly: every "
	  "malloc and free on the machine then traps into the kernel (2-6 us each here, a "
	  "malloc-heavy program runs several times slower), and each thread carries 22 "
	  "perf events", 1 },
	{ NULL, 0, NULL, 0, "Output:", 2 },
	{ "status", OPT_STATUS, NULL, 0, "With -- CMD, draw the status line on the terminal even "
	  "though CMD writes there too (with -p it is drawn by default)", 2 },
	{ "quiet", 'q', NULL, 0, "Print nothing but errors (no status line, no text report)", 2 },
	{ "verbose", 'v', NULL, 0, "Say where each probe was placed and why", 2 },
	{ "top", OPT_TOP, "N", 0, "Stacks shown per section (default 10)", 2 },
	{ "frame-pointers", OPT_FRAME_POINTERS, NULL, 0,
	  "Unwind by frame pointers only (no .eh_frame tables): cheaper, cut short in code "
	  "built without them", 2 },
	{ "stack-depth", OPT_STACK_DEPTH, "N", 0,
	  "Frames unwound per stack, 1-127 (default 127: deep Python and C++ stacks whole)", 2 },
	{ "sample-bytes", OPT_SAMPLE_BYTES, "N", 0,
	  "Capture the stack of a block smaller than N bytes with probability size/N "
	  "(default 16384): totals and peaks stay exact, blocks of N bytes or more keep "
	  "exact stacks, and the split of small blocks' bytes between stacks is estimated "
	  "(standard error about sqrt(N x bytes) per stack)", 2 },
	{ "exact-stacks", OPT_EXACT_STACKS, NULL, 0,
	  "Capture the stack of every block (no sampling; slower on programs that make "
	  "many small blocks)", 2 },
	{ "python", OPT_PYTHON, "MODE", 0,
	  "Python programs' stacks: merged (default: each eval-loop frame replaced by the "
	  "Python functions and lines it ran, CPython's glue hidden unless -v), python (Python "
	  "frames and the native ones below them), native (no Python frames)", 2 },
	{ "python-malloc", OPT_PYTHON_MALLOC, NULL, 0,
	  "With -- CMD: run it with PYTHONMALLOC=malloc, so every Python object comes from "
	  "malloc and small objects are charged to their own lines instead of to the line "
	  "that opened their pymalloc arena.  This changes the program's own peak (no "
	  "arenas, malloc's overhead per object) and costs a trap per object", 2 },
	{ "no-preload", OPT_NO_PRELOAD, NULL, 0,
	  "With -- CMD: run it as it is, every allocator call stopping at a breakpoint in the "
	  "C library (two for malloc, calloc and realloc), instead of with "
	  "peaktrace-preload.so (beside the peaktrace binary) in its LD_PRELOAD, the "
	  "default, whose malloc, calloc, realloc and free call glibc's past a probe site that "
	  "sees the arguments and the result at once, and count most small blocks in the "
	  "process.  Same figures; the command and its children do not see LD_PRELOAD, "
	  "PEAKTRACE_LEDGER, the ledger's fds and ASAN_OPTIONS's verify_asan_link_order=0", 2 },
	{ "preload", OPT_PRELOAD, NULL, OPTION_HIDDEN,
	  "With -- CMD: peaktrace-preload.so (the default; an error if it cannot be used)", 2 },
	{ "interval", OPT_INTERVAL, "MS", 0,
	  "Timeline: sample the heap and RSS of the tree and of each process every MS "
	  "milliseconds (default 20; 0: no timeline)", 2 },
	{ "drift", OPT_DRIFT, NULL, 0,
	  "Text report: per process exact and approximate RSS peaks, VmHWM and drift", 2 },
	{ "rss-only", OPT_RSS_ONLY, NULL, 0,
	  "No uprobes: RSS, process tree and drift only (near-zero overhead; static "
	  "binaries too)", 1 },
	{ NULL, 0, NULL, 0, "Limits:", 3 },
	{ "duration", OPT_DURATION, "SEC", 0, "Stop tracing after SEC seconds", 3 },
	{ "max-allocs", OPT_MAX_ALLOCS, "N", 0, "Live allocations tracked at most (default 67108864); their tables are made as the "
	  "program needs them, 32 bytes of kernel memory per slot, 2 to 4 slots per live block", 3 },
	{ "max-stacks", OPT_MAX_STACKS, "N", 0, "Distinct (process, stack) records at most (default 1048576)", 3 },
	{ "max-procs", OPT_MAX_PROCS, "N", 0,
	  "Process images over the run (default 16384; rounded up to a power of two)", 3 },
	{ "max-unwind-rows", OPT_MAX_UNWIND_ROWS, "N", 0,
	  "Unwind table rows at most (default 16777216, rounded up to a power of two): 16 "
	  "tables, the first made at start (16 MiB of kernel memory at the default), the others "
	  "as programs map code (a torch job's 313 modules need 5.9 M rows)", 3 },
	{ "bench-bare-probes", OPT_BARE, NULL, 0,
	  "Benchmark baseline: attach every probe but count nothing (the report is empty)", 3 },
	{ NULL, 0, NULL, 0, NULL, 0 },
};

static int parse_range(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || end == s || *s == '-' || v < min || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

#define MAX_ALLOCS_LIMIT (255u << 20)
#define MAX_STACKS_LIMIT (1u << 22)
#define MAX_UNWIND_ROWS_LIMIT (1u << 28)
#define MAX_PROCS_LIMIT (1u << 20)

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct options *o = state->input;
	uint32_t v;
	char *end;

	switch (key) {
	case 'p':
		if (parse_range(arg, 1, UINT32_MAX, &v) || v > 0x7fffffff)
			argp_error(state, "invalid pid '%s': expected a positive number", arg);
		o->pid = (pid_t)v;
		break;
	case OPT_CGROUP:
		if (!*arg)
			argp_error(state, "invalid --cgroup '': expected a cgroup directory or unit name");
		o->cgroup = arg;
		break;
	case 'a':
		o->all = 1;
		break;
	case OPT_ALL_HEAP:
		o->all_heap = 1;
		break;
	case 'q':
		o->quiet = 1;
		break;
	case 'v':
		o->verbose = 1;
		break;
	case OPT_STATUS:
		o->status = 1;
		break;
	case OPT_TOP:
		if (parse_range(arg, 0, UINT32_MAX, &o->top))
			argp_error(state, "invalid --top '%s': expected a number", arg);
		break;
	case OPT_DURATION:
		errno = 0;
		o->duration = strtod(arg, &end);
		if (errno || *end || end == arg || !(o->duration > 0))
			argp_error(state, "invalid --duration '%s': expected seconds > 0", arg);
		break;
	case OPT_MAX_ALLOCS:
		/* 2 slots per block in 12 tables doubling from 128 Ki (src/collect/tables.c) */
		if (parse_range(arg, 1024, MAX_ALLOCS_LIMIT, &o->max_allocs))
			argp_error(state, "invalid --max-allocs '%s': expected 1024 to %u (each takes 64 to "
				   "128 bytes of kernel memory)", arg, MAX_ALLOCS_LIMIT);
		break;
	case OPT_MAX_STACKS:
		if (parse_range(arg, 1024, MAX_STACKS_LIMIT, &o->max_stacks))
			argp_error(state, "invalid --max-stacks '%s': expected 1024 to %u (each stack "
				   "takes up to 2.5 KiB of kernel memory)", arg, MAX_STACKS_LIMIT);
		break;
	case OPT_MAX_PROCS:
		if (parse_range(arg, 16, MAX_PROCS_LIMIT, &o->max_procs))
			argp_error(state, "invalid --max-procs '%s': expected 16 to %u", arg,
				   MAX_PROCS_LIMIT);
		break;
	case OPT_MAX_UNWIND_ROWS:
		if (parse_range(arg, 1024 * PT_CFI_TABLES, MAX_UNWIND_ROWS_LIMIT, &o->max_unwind_rows))
			argp_error(state, "invalid --max-unwind-rows '%s': expected %u to %u (16 bytes "
				   "of kernel memory each)", arg, 1024 * PT_CFI_TABLES,
				   MAX_UNWIND_ROWS_LIMIT);
		while (o->max_unwind_rows & (o->max_unwind_rows - 1))
			o->max_unwind_rows += o->max_unwind_rows & -o->max_unwind_rows;
		break;
	case OPT_BARE:
		o->bare_probes = 1;
		break;
	case OPT_RSS_ONLY:
		o->rss_only = 1;
		break;
	case OPT_DRIFT:
		o->drift = 1;
		break;
	case OPT_FRAME_POINTERS:
		o->frame_pointers = 1;
		break;
	case OPT_INTERVAL:
		if (parse_range(arg, 0, 3600 * 1000, &o->interval_ms))
			argp_error(state, "invalid --interval '%s': expected milliseconds, 0 to 3600000",
				   arg);
		break;
	case OPT_SAMPLE_BYTES:
		/* the BPF draw multiplies a 32-bit random number by it */
		if (parse_range(arg, 1, 1u << 30, &o->sample_bytes))
			argp_error(state, "invalid --sample-bytes '%s': expected 1 to %u (or "
				   "--exact-stacks for no sampling)", arg, 1u << 30);
		break;
	case OPT_EXACT_STACKS:
		o->exact_stacks = 1;
		break;
	case OPT_PYTHON_MALLOC:
		o->python_malloc = 1;
		break;
	case OPT_PRELOAD:
		o->preload = 1;
		break;
	case OPT_NO_PRELOAD:
		o->preload = 0;
		break;
	case OPT_PYTHON:
		if (!strcmp(arg, "merged"))
			o->python = PY_MERGED;
		else if (!strcmp(arg, "python"))
			o->python = PY_ONLY;
		else if (!strcmp(arg, "native"))
			o->python = PY_OFF;
		else
			argp_error(state, "invalid --python '%s': expected merged, python or native",
				   arg);
		break;
	case OPT_STACK_DEPTH:
		if (parse_range(arg, 1, PT_MAX_STACK_DEPTH, &o->stack_depth))
			argp_error(state, "invalid --stack-depth '%s': expected 1 to 127", arg);
		break;
	case OPT_WRITER ... OPT_WRITER + REPORT_WRITERS_MAX - 1: {
		const struct report_writer *w = &report_writers[key - OPT_WRITER];
		size_t i;

		/* "--json -- cmd" would otherwise write a file named "--" */
		if (arg[0] == '-' && arg[1])
			argp_error(state, "invalid --%s '%s': expected a file name, or - for stdout",
				   w->option, arg);
		for (i = 0; i < report_nwriters; i++)
			if (o->out_path[i] && i != (size_t)(key - OPT_WRITER) &&
			    !strcmp(o->out_path[i], arg))
				argp_error(state, !strcmp(arg, "-") ?
					   "--%s - and --%s -: only one report can have stdout" :
					   "--%s and --%s name the same file: one would replace the other",
					   report_writers[i].option, w->option);
		o->out_path[key - OPT_WRITER] = arg;
		break;
	}
	case ARGP_KEY_ARG:
		/* The first non-option starts the command: the rest is its own. */
		o->argv = &state->argv[state->next - 1];
		state->next = state->argc;
		break;
	case ARGP_KEY_END:
		if (!!o->pid + !!o->argv + !!o->cgroup + !!o->all > 1)
			argp_error(state, "give one of -p PID, --cgroup PATH, -a or -- CMD");
		if (!o->pid && !o->argv && !o->cgroup && !o->all)
			argp_error(state, "nothing to trace: give -p PID, --cgroup PATH, -a or -- CMD "
				   "[ARGS...]");
		if (o->all_heap && !o->all)
			argp_error(state, "--heap goes with -a (the other scopes trace heaps already)");
		/* -a: RSS only unless asked (processed here: the order of -a,
		 * --heap and --rss-only on the command line does not matter) */
		if (o->all && !o->all_heap)
			o->rss_only = 1;
		if (!o->argv && o->python_malloc)
			argp_error(state, "--python-malloc sets the environment of a command peaktrace "
				   "starts: it needs -- CMD");
		/* the library by default for a command whose heap is traced */
		if (o->preload == PRELOAD_DEFAULT)
			o->preload = o->argv && !o->rss_only ? PRELOAD_DEFAULT : 0;
		else if (o->preload && (!o->argv || o->rss_only))
			argp_error(state, "--preload sets the environment of a command peaktrace "
				   "starts and probes its heap: it needs -- CMD, without --rss-only");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* The fixed options, then one per report writer that has a file. */
static const struct argp_option *all_options(void)
{
	static struct argp_option all[sizeof(opts) / sizeof(opts[0]) + REPORT_WRITERS_MAX];
	size_t n = sizeof(opts) / sizeof(opts[0]) - 1, i;

	memcpy(all, opts, n * sizeof(opts[0]));
	for (i = 0; i < report_nwriters; i++) {
		if (!report_writers[i].option)
			continue;
		all[n++] = (struct argp_option){ report_writers[i].option, OPT_WRITER + (int)i, "FILE",
						 0, report_writers[i].help, 2 };
	}
	memset(&all[n], 0, sizeof(all[n]));
	return all;
}

int options__stdout_report(const struct options *o)
{
	size_t i;

	for (i = 0; i < REPORT_WRITERS_MAX; i++)
		if (o->out_path[i] && !strcmp(o->out_path[i], "-"))
			return 1;
	return 0;
}

int options__parse(int argc, char **argv, struct options *o)
{
	struct argp argp = { all_options(), parse_opt, "-- CMD [ARGS...]\n-p PID\n--cgroup PATH\n-a",
			     doc,
			     NULL, NULL, NULL };

	memset(o, 0, sizeof(*o));
	o->top = 10;
	o->max_allocs = 1u << 26;
	o->max_stacks = 1u << 20;
	o->max_procs = 16384;
	o->max_unwind_rows = 1u << 24;
	o->stack_depth = 127;
	o->interval_ms = 20;
	o->preload = PRELOAD_DEFAULT;
	o->sample_bytes = PT_SAMPLE_BYTES_DEFAULT;
	/* argp exits with argp_err_exit_status on usage errors. */
	argp_err_exit_status = PT_EXIT_USAGE;
	if (argp_parse(&argp, argc, argv, ARGP_IN_ORDER, NULL, o))
		return PT_EXIT_USAGE;
	return -1;
}

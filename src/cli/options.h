/* SPDX-License-Identifier: GPL-2.0 */
/* Command-line options. */
#ifndef PT_OPTIONS_H
#define PT_OPTIONS_H

#include <stdint.h>
#include <sys/types.h>
#include "report/writers.h"

/* Exit codes of peaktrace's own (documented in README.md and --help). */
enum pt_exit {
	PT_EXIT_OK = 0,
	PT_EXIT_USAGE = 2,	/* bad command line */
	PT_EXIT_NO_TARGET = 3,	/* -p: no such process, or a kernel thread */
	PT_EXIT_FAILED = 125,	/* peaktrace could not trace: see its message */
	PT_EXIT_NOEXEC = 126,	/* CMD found but could not be executed */
	PT_EXIT_NOTFOUND = 127,	/* CMD not found */
};

/* --sample-bytes by default: see heap_stack_rec() in bpf/heap/heap.bpf.h
 * for the choice. */
#define PT_SAMPLE_BYTES_DEFAULT 16384

struct options {
	pid_t pid;		/* -p, or 0 */
	const char *cgroup;	/* --cgroup PATH, or NULL */
	int all;		/* -a, --all: every process on the machine */
	int all_heap;		/* --heap with -a: their heaps too (every malloc traps) */
	char **argv;		/* the command after --, or NULL */
	int status;		/* --status: the status line with -- CMD too */
	/* per row of report_writers (report/writers.h): its file (--json
	 * FILE), "-" for stdout, or NULL if not asked for */
	const char *out_path[REPORT_WRITERS_MAX];
	int quiet;		/* -q */
	int verbose;		/* -v */
	unsigned top;		/* --top */
	double duration;	/* --duration, seconds; 0 = until the tree ends */
	uint32_t max_allocs;	/* --max-allocs */
	uint32_t max_stacks;	/* --max-stacks */
	uint32_t max_procs;	/* --max-procs */
	uint32_t max_unwind_rows; /* --max-unwind-rows: PT_CFI_TABLES tables, a power of two */
	int bare_probes;	/* --bench-bare-probes */
	int rss_only;		/* --rss-only: no uprobes */
	int drift;		/* --drift: the drift table in the text report */
	uint32_t stack_depth;	/* --stack-depth */
	int frame_pointers;	/* --frame-pointers: no unwind tables */
	uint32_t interval_ms;	/* --interval: timeline sampling, 0 = none */
	uint32_t sample_bytes;	/* --sample-bytes */
	int exact_stacks;	/* --exact-stacks: sample_bytes not used */
	int python;		/* --python: enum py_mode (python/merge.h) */
	int python_malloc;	/* --python-malloc: CMD runs with PYTHONMALLOC=malloc */
	int preload;		/* CMD runs with peaktrace-preload.so: 0 (--no-preload),
				 * 1 (--preload) or PRELOAD_DEFAULT */
	int preload_missing;	/* the default's library could not be used (said) */
};

/* o->preload by default: with -- CMD, on, unless the library is missing */
#define PRELOAD_DEFAULT 2

/* Parses argv into o; on a usage error prints it and returns PT_EXIT_USAGE,
 * -1 on success. */
int options__parse(int argc, char **argv, struct options *o);
/* Whether a report goes to stdout (the command's output then goes to stderr). */
int options__stdout_report(const struct options *o);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The report: plain data, built by src/model.c from what was collected and
 * symbolized, written by report_json.c and report_text.c.  Nothing here
 * needs root or BPF, so the writers are unit-tested on their own.
 */
#ifndef PT_REPORT_H
#define PT_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct report_frame {
	uint64_t address;	/* as the process saw it */
	char *function;		/* NULL if unknown */
	char *module;		/* NULL if unknown */
	char *file;		/* NULL without debug info */
	int line;		/* 0 without debug info */
	uint64_t module_offset;	/* file offset in module */
	int inlined;		/* inlined into the next frame (same address) */
	int inlined_into;	/* the previous frame was inlined here */
};

struct report_stack {
	uint64_t bytes;
	uint64_t allocations;
	uint32_t pid;
	uint32_t instance;
	uint64_t stack_id;
	size_t nframes;
	struct report_frame *frames; /* innermost first */
};

/* Exact RSS of one process image, bytes (see bpf/peak_model.h). */
struct report_rss {
	uint64_t peak_bytes, peak_time_ns;
	uint64_t peak_file_bytes, peak_anon_bytes, peak_shmem_bytes, peak_swap_bytes;
	uint64_t approx_peak_bytes;	/* what the kernel's own counters showed */
	uint64_t max_drift_bytes;
	uint64_t kernel_hiwater_bytes;	/* VmHWM at exit; 0 if still running */
	uint64_t start_bytes;
	uint64_t events;
};

struct report_proc {
	uint32_t pid, ppid, instance, parent_instance;
	char comm[16];
	char **argv;
	size_t argc;
	uint64_t peak_bytes;
	uint64_t peak_time_ns;	/* since the start of tracing */
	uint64_t bytes_at_tree_peak;
	uint64_t live_bytes_at_end; /* still allocated when it ended (or now) */
	uint64_t start_ns, end_ns;
	uint64_t allocs, frees;
	int alive;		/* still running when tracing stopped */
	int exit_code;		/* -1 if unknown */
	int exit_signal;	/* 0 if none */
	const char *heap_note;	/* why the heap is not traced, or NULL */
	struct report_rss rss;
	size_t nstacks;
	struct report_stack *stacks;
	size_t stacks_total;	/* stacks holding memory at its peak */
	uint64_t stacks_omitted_bytes; /* their bytes beyond the top shown */
};

struct report_lost {
	uint64_t events;
	uint64_t unknown_frees;
	uint64_t map_full;	/* the sum of the *_full below */
	uint64_t allocs_full, stacks_full, regions_full, procs_full;
	uint64_t stack_errors;
	uint64_t overlaps;
	uint64_t lock_timeouts;
	uint64_t truncated;
};

struct report {
	uint64_t peak_bytes;
	uint64_t peak_time_ns;	/* since the start of tracing */
	uint64_t duration_ns;
	uint64_t live_bytes_at_end;
	size_t nstacks;
	struct report_stack *stacks;
	size_t stacks_total;
	uint64_t stacks_omitted_bytes;
	size_t nprocs;
	struct report_proc *procs;
	struct report_lost lost;
	char **warnings;
	size_t nwarnings;
	const char *stopped_by;	/* "exit", "signal", "duration" */
	int rss_only;		/* --rss-only: no heap figures */
	int show_drift;		/* --drift: the drift table in the text report */
	struct {
		uint64_t peak_bytes, peak_time_ns, peak_shmem_bytes;
		uint64_t at_heap_peak_bytes;	/* tree RSS when the heap peaked */
		uint64_t drift_bound_bytes;	/* per counter: batch * CPUs * page */
	} rss;
	uint64_t heap_at_rss_peak_bytes;
};

/* Each loss counter: its JSON name and, for the text report, what it means
 * ("%llu" is the count).  map_full (the sum) has no text line of its own. */
struct report_lost_field {
	const char *json;
	const char *text;
	size_t offset;		/* in struct report_lost */
};
extern const struct report_lost_field report_lost_fields[];
extern const size_t report_lost_nfields;
uint64_t report__lost_value(const struct report_lost *l, const struct report_lost_field *f);

void report__free(struct report *r);
int report__warn(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether anything was lost: the report then says so at its top. */
int report__has_losses(const struct report *r);

int report__write_json(const struct report *r, FILE *out);
/* top: stacks shown per section. */
int report__write_text(const struct report *r, FILE *out, unsigned top);

/* "12.3 MiB": human-readable bytes into buf. */
const char *report__bytes(uint64_t bytes, char *buf, size_t len);

#endif

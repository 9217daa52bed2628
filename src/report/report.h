/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The report: plain data, built by src/model/model.c from what was collected and
 * symbolized, written by the writers of src/report/writers.h.  Nothing here
 * needs root or BPF, so the writers are unit-tested on their own.
 */
#ifndef PT_REPORT_H
#define PT_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "peaktrace.h"

struct frame_table;

struct report_frame {
	uint64_t address;	/* as the process saw it */
	char *function;		/* NULL if unknown */
	char *module;		/* NULL if unknown */
	char *file;		/* NULL without debug info */
	int line;		/* 0 without debug info */
	uint64_t module_offset;	/* file offset in module */
	int inlined;		/* inlined into the next frame (same address) */
	int inlined_into;	/* the previous frame was inlined here */
	enum pt_frame_kind kind;
	char *build_id;		/* the module's GNU build id in hex, or NULL */
};

/*
 * One distinct stack of one process image, symbolized at most once and
 * shared by every view that lists it.  Its frames are interned in the
 * report's frame table (src/model/frames.c): equal frames are one pointer.
 */
struct report_trace {
	uint32_t pid;
	uint32_t instance;
	uint64_t stack_id;
	int truncated;		/* cut at the depth limit: outermost frames missing */
	int partial;		/* the unwinder stopped before the outermost frame */
	int symbolized;		/* frames filled (only stacks some writer shows are) */
	size_t nframes;
	const struct report_frame **frames; /* innermost first */
};

/* A stack in a view: what it held at that moment. */
struct report_stack {
	uint64_t bytes;
	uint64_t allocations;
	/* of bytes, those estimated from sampled small blocks (and of
	 * allocations, all but the blocks of --sample-bytes or more) */
	uint64_t estimated_bytes;
	const struct report_trace *trace;
};

/* A process tree of the scope (--all, --cgroup): a child of init, or a
 * process whose parent is outside, and its descendants; exact RSS. */
struct report_tree {
	uint32_t root_pid, root_instance;
	const struct report_proc *root;	/* NULL if not in the report */
	uint64_t rss_peak_bytes, rss_peak_time_ns;
	uint64_t approx_peak_bytes, max_drift_bytes;
	uint64_t processes;
};

/* Every stack holding memory at one moment (the tree's peak, or one
 * process's own peak), by bytes held, largest first.  Writers cut it to
 * --top with report_view__shown(). */
struct report_view {
	size_t n;
	struct report_stack *v;
};

/* Exact RSS of one process image, bytes (see bpf/model/peak_model.h). */
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
	int probes_removed;	/* the kernel took its probes away: heap incomplete */
	int left_scope;		/* moved out of the --cgroup: counted until then */
	int untraced;		/* could not be traced (see heap_note): a loss */
	struct report_rss rss;
	struct report_view stacks;	/* at its own peak */
};

/* One process image's samples: values for the timeline's samples
 * first .. first + n - 1 (it was alive for those). */
struct report_series {
	uint32_t pid, instance;
	size_t first, n, cap;
	uint64_t *heap, *rss;	/* bytes */
};

/* The tree's live heap and RSS over time (src/collect/timeline.c). */
struct report_timeline {
	uint64_t interval_ns;	/* between samples (doubles as they merge) */
	uint64_t t0_ns, next_ns; /* the start of tracing; the next sample */
	size_t n, cap;
	uint64_t *t_ns;		/* since the start of tracing */
	uint64_t *heap, *rss;	/* bytes */
	size_t nprocs, capprocs;
	struct report_series *procs;
	/* -a: the machine's series only; one per process of hundreds of
	 * thousands would cost a scan of them all at every sample */
	int no_procs;
};

/* The counters of PT_COUNTER_LIST (bpf/peaktrace.h), by enum pt_lost. */
struct report_lost {
	uint64_t count[PT_LOST_COUNT];
};

struct report {
	uint64_t peak_bytes;
	uint64_t peak_time_ns;	/* since the start of tracing */
	uint64_t duration_ns;
	uint64_t live_bytes_at_end;
	struct report_view stacks;	/* at the tree's peak */
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
	/* the distinct stacks the views point to, and their interned frames */
	struct report_trace *traces;
	size_t ntraces;
	struct frame_table *frames;
	struct report_timeline timeline;	/* empty if not sampled */
	struct {
		const char *kind;	/* "tree" (-- CMD, -p), "cgroup", "all" */
		const char *cgroup;	/* the directory, for "cgroup" */
	} scope;
	struct report_tree *trees;	/* by RSS peak, largest first */
	size_t ntrees;
	struct {
		uint64_t sample_bytes;	/* 0: every stack exact (--exact-stacks) */
		uint64_t small_bytes;	/* at the tree's peak, in blocks below it */
		uint64_t sampled_blocks;
		uint64_t unattributed_bytes; /* of small_bytes, in processes with
					      * no sampled block then */
	} sampling;
};

/* Each counter: its JSON name, whether it is a loss, and for the text
 * report what it means ("%llu" is the count); indexed by enum pt_lost. */
struct report_counter {
	const char *json;
	const char *text;
	int loss;
};
extern const struct report_counter report_counters[PT_LOST_COUNT];
/* The sum of the *_map_full losses (JSON "map_full"). */
uint64_t report__map_full(const struct report_lost *l);

/* How many of the view's stacks a writer shows with --top top, and the
 * bytes of those it leaves out. */
size_t report_view__shown(const struct report_view *v, unsigned top);
uint64_t report_view__omitted(const struct report_view *v, unsigned top);

/* The base name of a frame's module, "?" if unknown. */
const char *report__module_name(const struct report_frame *f);
/* A frame's name for writers that need one: its function, else
 * "module+0xoffset" (written into buf). */
const char *report__frame_name(const struct report_frame *f, char *buf, size_t len);

/* The process image instance, or NULL. */
const struct report_proc *report__proc(const struct report *r, uint32_t instance);

void report__free(struct report *r);
int report__warn(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether anything was lost: the report then says so at its top. */
int report__has_losses(const struct report *r);


/* "12.3 MiB": human-readable bytes into buf. */
const char *report__bytes(uint64_t bytes, char *buf, size_t len);

#endif

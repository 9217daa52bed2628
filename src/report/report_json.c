// SPDX-License-Identifier: GPL-2.0
/*
 * The JSON report.  Field names are an interface (tests, other tools):
 * add, never rename.  Times are nanoseconds since tracing started.
 */
#include <stdio.h>
#include <stdlib.h>
#include "model/frames.h"
#include "report/json.h"
#include "report/report.h"
#include "report/writers.h"

static void hex(struct json *j, const char *key, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
	json__string_field(j, key, buf);
}

#define PT_FRAME_KIND_NAME(name, json) [PT_FRAME_##name] = json,
static const char *const frame_kinds[PT_FRAME_KIND_COUNT] = { PT_FRAME_KIND_LIST(PT_FRAME_KIND_NAME) };

static void write_frame(struct json *j, const struct report_frame *f)
{
	json__begin_line_object(j);
	json__string_field(j, "function", f->function);
	json__string_field(j, "module", f->module);
	json__string_field(j, "file", f->file);
	json__key(j, "line");
	if (f->line)
		json__i64(j, f->line);
	else
		json__null(j);
	hex(j, "address", f->address);
	hex(j, "module_offset", f->module_offset);
	json__bool_field(j, "inlined", f->inlined);
	json__bool_field(j, "python", f->kind == PT_FRAME_PYTHON);
	json__string_field(j, "kind", frame_kinds[f->kind < PT_FRAME_KIND_COUNT ? f->kind : 0]);
	json__end_object(j);
}

/*
 * Each distinct frame's line, rendered at its first use and copied after:
 * a frame is in every stack that goes through it.  A torch job's report
 * writes 440 k frames, 5.8 k distinct ones; rendering each every time
 * (escaping, number formatting, stdio calls per field) took 0.41-0.44 s
 * of its writing, now 0.14-0.18 s.
 */
struct frame_lines {
	const struct frame_table *ft;	/* NULL: no cache, every frame rendered */
	char **text;
	size_t *len;
	size_t n;
};

static void frame_lines_init(struct frame_lines *fl, const struct frame_table *ft)
{
	fl->n = ft ? frames__count(ft) : 0;
	fl->text = fl->n ? calloc(fl->n, sizeof(*fl->text)) : NULL;
	fl->len = fl->n ? calloc(fl->n, sizeof(*fl->len)) : NULL;
	fl->ft = fl->text && fl->len ? ft : NULL;
}

static void frame_lines_free(struct frame_lines *fl)
{
	size_t i;

	for (i = 0; fl->text && i < fl->n; i++)
		free(fl->text[i]);
	free(fl->text);
	free(fl->len);
}

static void frame(struct json *j, struct frame_lines *fl, const struct report_frame *f)
{
	size_t i = fl->ft ? frames__index(fl->ft, f) : fl->n;
	struct json line;
	FILE *mem;

	if (i < fl->n && !fl->text[i] && (mem = open_memstream(&fl->text[i], &fl->len[i]))) {
		json__init(&line, mem, j->indent);
		write_frame(&line, f);
		/* a write that failed short sets the error flag; fclose may
		 * still succeed */
		if (ferror(mem) | fclose(mem)) {
			free(fl->text[i]);
			fl->text[i] = NULL;
		}
	}
	if (i < fl->n && fl->text[i])
		json__raw(j, fl->text[i], fl->len[i]);
	else
		write_frame(j, f);
}

/* Every stack of a view (top: (unsigned)-1), or the first `top` and the
 * rest as a count and their bytes. */
static void stacks(struct json *j, struct frame_lines *fl, const struct report_view *view,
		   unsigned top)
{
	size_t i, k, n = report_view__shown(view, top);
	const struct report_stack *v = view->v;

	json__u64_field(j, "stacks_total", view->n);
	json__u64_field(j, "stacks_omitted_bytes", report_view__omitted(view, top));
	json__key(j, "stacks");
	json__begin_array(j);
	for (i = 0; i < n; i++) {
		json__begin_object(j);
		json__key(j, "bytes");
		json__u64(j, v[i].bytes);
		json__key(j, "allocations");
		json__u64(j, v[i].allocations);
		json__u64_field(j, "estimated_bytes", v[i].estimated_bytes);
		json__key(j, "pid");
		json__u64(j, v[i].trace->pid);
		json__bool_field(j, "truncated", v[i].trace->truncated);
		json__bool_field(j, "partial", v[i].trace->partial);
		json__key(j, "frames");
		json__begin_array(j);
		for (k = 0; k < v[i].trace->nframes; k++)
			frame(j, fl, v[i].trace->frames[k]);
		json__end_array(j);
		json__end_object(j);
	}
	json__end_array(j);
}

static void proc_rss(struct json *j, const struct report_rss *r)
{
	json__key(j, "rss");
	json__begin_object(j);
	json__u64_field(j, "peak_bytes", r->peak_bytes);
	json__u64_field(j, "peak_time_ns", r->peak_time_ns);
	json__u64_field(j, "peak_anon_bytes", r->peak_anon_bytes);
	json__u64_field(j, "peak_file_bytes", r->peak_file_bytes);
	json__u64_field(j, "peak_shmem_bytes", r->peak_shmem_bytes);
	json__u64_field(j, "peak_swap_bytes", r->peak_swap_bytes);
	json__u64_field(j, "approx_peak_bytes", r->approx_peak_bytes);
	json__u64_field(j, "max_drift_bytes", r->max_drift_bytes);
	json__u64_field(j, "kernel_hiwater_bytes", r->kernel_hiwater_bytes);
	json__u64_field(j, "start_bytes", r->start_bytes);
	json__u64_field(j, "events", r->events);
	json__end_object(j);
}

static void process(struct json *j, struct frame_lines *fl, const struct report_proc *p)
{
	size_t i;

	json__begin_object(j);
	json__u64_field(j, "pid", p->pid);
	json__u64_field(j, "ppid", p->ppid);
	json__string_field(j, "comm", p->comm);
	json__key(j, "argv");
	json__begin_array(j);
	for (i = 0; i < p->argc; i++)
		json__string(j, p->argv[i]);
	json__end_array(j);
	json__u64_field(j, "peak_bytes", p->peak_bytes);
	json__u64_field(j, "peak_time_ns", p->peak_time_ns);
	json__u64_field(j, "bytes_at_tree_peak", p->bytes_at_tree_peak);
	json__u64_field(j, "live_bytes_at_end", p->live_bytes_at_end);
	json__u64_field(j, "allocations", p->allocs);
	json__u64_field(j, "frees", p->frees);
	json__u64_field(j, "start_ns", p->start_ns);
	json__u64_or_null_field(j, "end_ns", !p->alive, p->end_ns);
	json__u64_or_null_field(j, "exit_code", p->exit_code >= 0 && !p->exit_signal,
				(uint64_t)p->exit_code);
	json__u64_or_null_field(j, "exit_signal", p->exit_signal != 0, (uint64_t)p->exit_signal);
	json__bool_field(j, "heap_traced", !p->heap_note);
	json__string_field(j, "heap_note", p->heap_note);
	json__bool_field(j, "trace_failed", p->untraced);
	json__bool_field(j, "probes_removed", p->probes_removed);
	json__bool_field(j, "left_scope", p->left_scope);
	proc_rss(j, &p->rss);
	stacks(j, fl, &p->stacks, (unsigned)-1);
	json__end_object(j);
}

/* The scope's process trees (--all, --cgroup), every one. */
static void trees(struct json *j, const struct report *r)
{
	size_t i;

	if (!r->ntrees)
		return;
	json__key(j, "trees");
	json__begin_array(j);
	for (i = 0; i < r->ntrees; i++) {
		const struct report_tree *t = &r->trees[i];

		json__begin_object(j);
		json__u64_field(j, "root_pid", t->root_pid);
		json__string_field(j, "root_comm", t->root ? t->root->comm : NULL);
		json__u64_field(j, "rss_peak_bytes", t->rss_peak_bytes);
		json__u64_field(j, "rss_peak_time_ns", t->rss_peak_time_ns);
		json__u64_field(j, "approx_peak_bytes", t->approx_peak_bytes);
		json__u64_field(j, "max_drift_bytes", t->max_drift_bytes);
		json__u64_field(j, "processes", t->processes);
		json__end_object(j);
	}
	json__end_array(j);
}

/* Samples over time: the tree's, then each process image's from its first
 * sample (an index into t_ns) on. */
static void timeline(struct json *j, const struct report_timeline *tl)
{
	size_t i;

	json__key(j, "timeline");
	json__begin_object(j);
	json__u64_field(j, "interval_ns", tl->interval_ns);
	json__u64_array(j, "t_ns", tl->t_ns, tl->n);
	json__u64_array(j, "heap_bytes", tl->heap, tl->n);
	json__u64_array(j, "rss_bytes", tl->rss, tl->n);
	json__key(j, "processes");
	json__begin_array(j);
	for (i = 0; i < tl->nprocs; i++) {
		const struct report_series *s = &tl->procs[i];

		json__begin_object(j);
		json__u64_field(j, "pid", s->pid);
		json__u64_field(j, "first", s->first);
		json__u64_array(j, "heap_bytes", s->heap, s->n);
		json__u64_array(j, "rss_bytes", s->rss, s->n);
		json__end_object(j);
	}
	json__end_array(j);
	json__end_object(j);
}

/* The loss counters (and map_full, their maps' sum), or the notes. */
static void counters(struct json *j, const char *key, const struct report *r, int losses)
{
	size_t i;

	json__key(j, key);
	json__begin_object(j);
	for (i = 0; i < PT_LOST_COUNT; i++) {
		if (report_counters[i].loss != losses)
			continue;
		if (i == PT_LOST_ALLOCS_FULL)
			json__u64_field(j, "map_full", report__map_full(&r->lost));
		json__u64_field(j, report_counters[i].json, r->lost.count[i]);
	}
	json__end_object(j);
}

/* Every stack: the JSON is the complete record (--top cuts the text). */
int report__write_json(const struct report *r, FILE *out, const struct writer_options *o)
{
	struct frame_lines fl;
	struct json j;
	size_t i;

	(void)o;

	frame_lines_init(&fl, r->frames);
	json__init(&j, out, 1);
	json__begin_object(&j);
	json__u64_field(&j, "peaktrace", 1);
	json__bool_field(&j, "complete", !report__has_losses(r));
	json__u64_field(&j, "duration_ns", r->duration_ns);
	json__string_field(&j, "stopped_by", r->stopped_by);
	json__bool_field(&j, "heap_traced", !r->rss_only);
	json__key(&j, "scope");
	json__begin_object(&j);
	json__string_field(&j, "kind", r->scope.kind ? r->scope.kind : "tree");
	if (r->scope.cgroup)
		json__string_field(&j, "cgroup", r->scope.cgroup);
	json__end_object(&j);
	json__key(&j, "stack_sampling");
	json__begin_object(&j);
	json__u64_field(&j, "sample_bytes", r->sampling.sample_bytes);
	json__u64_field(&j, "small_bytes_at_peak", r->sampling.small_bytes);
	json__u64_field(&j, "sampled_blocks_at_peak", r->sampling.sampled_blocks);
	json__u64_field(&j, "unattributed_bytes_at_peak", r->sampling.unattributed_bytes);
	json__end_object(&j);
	json__key(&j, "warnings");
	json__begin_array(&j);
	for (i = 0; i < r->nwarnings; i++)
		json__string(&j, r->warnings[i]);
	json__end_array(&j);

	json__key(&j, "tree");
	json__begin_object(&j);
	json__u64_field(&j, "peak_bytes", r->peak_bytes);
	json__u64_field(&j, "peak_time_ns", r->peak_time_ns);
	json__u64_field(&j, "live_bytes_at_end", r->live_bytes_at_end);
	json__u64_field(&j, "heap_at_rss_peak_bytes", r->heap_at_rss_peak_bytes);
	json__key(&j, "rss");
	json__begin_object(&j);
	json__u64_field(&j, "peak_bytes", r->rss.peak_bytes);
	json__u64_field(&j, "peak_time_ns", r->rss.peak_time_ns);
	json__u64_field(&j, "peak_shmem_bytes", r->rss.peak_shmem_bytes);
	json__u64_field(&j, "at_heap_peak_bytes", r->rss.at_heap_peak_bytes);
	json__u64_field(&j, "drift_bound_bytes", r->rss.drift_bound_bytes);
	json__string_field(&j, "note", "the sum of each live process's exact RSS: shared pages (shmem, file) "
			 "count once per process that maps them");
	json__end_object(&j);
	stacks(&j, &fl, &r->stacks, (unsigned)-1);
	json__end_object(&j);

	json__key(&j, "processes");
	json__begin_array(&j);
	for (i = 0; i < r->nprocs; i++)
		process(&j, &fl, &r->procs[i]);
	json__end_array(&j);

	trees(&j, r);
	counters(&j, "lost", r, 1);
	counters(&j, "notes", r, 0);
	timeline(&j, &r->timeline);
	json__end_object(&j);
	fputc('\n', out);
	frame_lines_free(&fl);
	return ferror(out) ? -1 : 0;
}

// SPDX-License-Identifier: GPL-2.0
/* The human-readable report (stderr by default). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/paths.h"
#include "util/utf8.h"
#include "report/report.h"
#include "report/writers.h"

#define PROC_STACKS_SHOWN 3

static void seconds(char *buf, size_t len, uint64_t ns)
{
	snprintf(buf, len, "%.3f s", ns / 1e9);
}

static void frames(FILE *out, const struct report_trace *s)
{
	char path[128];
	size_t k;

	if (!s->nframes) {
		fprintf(out, "        (no user stack: it could not be captured)\n");
		return;
	}
	for (k = 0; k < s->nframes; k++) {
		const struct report_frame *f = s->frames[k];
		const char *mod = report__module_name(f);

		/* names come from the traced programs' files: written escaped */
		fputs("        ", out);
		if (f->function)
			utf8__write_safe(out, f->function);
		else
			fprintf(out, "0x%llx", (unsigned long long)f->address);
		if (f->file) { /* long build paths shortened; JSON has them whole */
			fputs(" (", out);
			utf8__write_safe(out, path__tail(f->file, 60, path, sizeof(path)));
			fprintf(out, ":%d)", f->line);
		}
		if (f->inlined)
			fputs(" (inlined)", out);
		if (f->kind == PT_FRAME_PYTHON) {	/* its file says where */
			fputc('\n', out);
			continue;
		}
		fputs(" [", out);
		utf8__write_safe(out, mod);
		if (!f->function)
			fprintf(out, "+0x%llx", (unsigned long long)f->module_offset);
		fputs("]\n", out);
	}
	if (s->truncated)
		fprintf(out, "        ... (cut at the depth limit, --stack-depth)\n");
	else if (s->partial)
		fprintf(out, "        ... (the unwinder could go no further)\n");
}

/* How the small blocks' bytes were split between stacks, if they were. */
static void sampling_line(FILE *out, const struct report *r)
{
	char b1[32], b2[32];

	if (!r->sampling.sample_bytes || !r->sampling.small_bytes)
		return;
	fprintf(out, "  ~ estimated: %s of the peak is in blocks under %s, split between stacks by "
		"%llu sampled blocks (--sample-bytes; standard error about sqrt(%s x bytes) per "
		"stack; --exact-stacks for exact ones)\n",
		report__bytes(r->sampling.small_bytes, b1, sizeof(b1)),
		report__bytes(r->sampling.sample_bytes, b2, sizeof(b2)),
		(unsigned long long)r->sampling.sampled_blocks, b2);
}

/* The first `top` stacks of a view, and what the rest hold. */
static void stack_list(FILE *out, const struct report_view *view, unsigned top)
{
	size_t i, n = report_view__shown(view, top);
	const struct report_stack *v = view->v;
	char b[32];

	for (i = 0; i < n; i++) {
		const char *est = v[i].estimated_bytes ? "~" : "";

		fprintf(out, "  #%zu  %s%s in %s%llu allocation%s, pid %u\n", i + 1, est,
			report__bytes(v[i].bytes, b, sizeof(b)), est,
			(unsigned long long)v[i].allocations, v[i].allocations == 1 ? "" : "s",
			v[i].trace->pid);
		frames(out, v[i].trace);
	}
	if (view->n > n)
		fprintf(out, "  (%s in %zu more stack%s)\n",
			report__bytes(report_view__omitted(view, top), b, sizeof(b)), view->n - n,
			view->n - n == 1 ? "" : "s");
}

/* The counters of one kind that are not zero, one line each. */
static void counter_lines(FILE *out, const struct report *r, int losses)
{
	size_t i;

	for (i = 0; i < PT_LOST_COUNT; i++) {
		const struct report_counter *f = &report_counters[i];

		if (f->loss != losses || !r->lost.count[i])
			continue;
		fputs("  ", out);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		fprintf(out, f->text, (unsigned long long)r->lost.count[i]);
#pragma GCC diagnostic pop
		fputc('\n', out);
	}
}

static void losses(FILE *out, const struct report *r)
{
	size_t i;

	if (!report__has_losses(r))
		return;
	fprintf(out, "peaktrace: INCOMPLETE: some events were not counted:\n");
	counter_lines(out, r, 1);
	for (i = 0; i < r->nprocs; i++) {
		if (r->procs[i].probes_removed)
			fprintf(out, "  pid %u: the kernel removed its probes while it ran\n",
				r->procs[i].pid);
		if (r->procs[i].untraced) {
			fprintf(out, "  pid %u: not traced: ", r->procs[i].pid);
			utf8__write_safe(out, r->procs[i].heap_note ? r->procs[i].heap_note : "?");
			fputc('\n', out);
		}
	}
}

/* Everything was counted, but these are worth knowing. */
static void notes(FILE *out, const struct report *r)
{
	size_t i;

	for (i = 0; i < PT_LOST_COUNT; i++)
		if (!report_counters[i].loss && r->lost.count[i])
			break;
	if (i == PT_LOST_COUNT)
		return;
	fprintf(out, "\nNotes (every byte was counted):\n");
	counter_lines(out, r, 0);
}

static void command(FILE *out, const struct report_proc *p)
{
	size_t i;

	/* the traced program's own bytes: escape sequences must not reach
	 * root's terminal as such, and newlines must not break the table */
	if (!p->argc) {
		fputc('[', out);
		utf8__write_safe(out, p->comm);
		fputc(']', out);
		return;
	}
	for (i = 0; i < p->argc && i < 8; i++) {
		if (i)
			fputc(' ', out);
		utf8__write_safe(out, p->argv[i]);
	}
	if (p->argc > 8)
		fprintf(out, " ...");
}

static void drift_table(FILE *out, const struct report *r)
{
	char b[5][32];
	size_t i;

	fprintf(out, "\nRSS per process, exact (count + per-CPU deltas) beside the kernel's "
		     "approximate count (the kernel's batching bounds the drift by %s):\n",
		report__bytes(r->rss.drift_bound_bytes, b[0], sizeof(b[0])));
	fprintf(out, "  %-8s %12s %12s %12s %12s %8s  %s\n", "PID", "EXACT PEAK", "APPROX PEAK",
		"VmHWM", "MAX DRIFT", "EVENTS", "COMMAND");
	for (i = 0; i < r->nprocs; i++) {
		const struct report_proc *p = &r->procs[i];

		fprintf(out, "  %-8u %12s %12s %12s %12s %8llu  ", p->pid,
			report__bytes(p->rss.peak_bytes, b[0], sizeof(b[0])),
			report__bytes(p->rss.approx_peak_bytes, b[1], sizeof(b[1])),
			p->rss.kernel_hiwater_bytes ?
				report__bytes(p->rss.kernel_hiwater_bytes, b[2], sizeof(b[2])) : "-",
			report__bytes(p->rss.max_drift_bytes, b[3], sizeof(b[3])),
			(unsigned long long)p->rss.events);
		command(out, p);
		fputc('\n', out);
	}
}

/*
 * The processes as a tree: each image under the one it was forked or
 * exec'd from, in start order (depth-first), with its depth.  Returns the
 * number placed in order[] (all of them), or 0 if memory ran out.
 */
static size_t tree_order(const struct report *r, size_t *order, int *depth)
{
	size_t n = r->nprocs, i, k, top = 0, placed = 0;
	size_t *parent = calloc(n + 1, sizeof(*parent)), *stack = calloc(n + 1, sizeof(*stack));
	int *sdepth = calloc(n + 1, sizeof(*sdepth));

	if (!parent || !stack || !sdepth) {
		placed = 0;
		goto out;
	}
	/* procs are in start order: a parent image starts before its child */
	for (i = 0; i < n; i++) {
		parent[i] = n;
		for (k = i; k-- > 0;)
			if (r->procs[k].instance == r->procs[i].parent_instance) {
				parent[i] = k;
				break;
			}
	}
	/* roots, last first on the stack so that the first is shown first */
	for (i = n; i-- > 0;)
		if (parent[i] == n) {
			stack[top] = i;
			sdepth[top++] = 0;
		}
	while (top) {
		size_t cur = stack[--top];
		int d = sdepth[top];

		order[placed] = cur;
		depth[placed++] = d;
		for (k = n; k-- > 0;)
			if (parent[k] == cur && top < n) {
				stack[top] = k;
				sdepth[top++] = d + 1;
			}
	}
out:
	free(parent);
	free(stack);
	free(sdepth);
	return placed == n ? placed : 0;
}

/* Worth a row of its own: what held memory, or ended badly, or is noted. */
static int worth_a_row(const struct report *r, const struct report_proc *p, int depth)
{
	uint64_t scale = r->rss_only ? r->rss.peak_bytes : r->peak_bytes;
	uint64_t own = r->rss_only ? p->rss.peak_bytes : p->peak_bytes;

	return depth == 0 || own * 100 >= scale || p->heap_note || p->exit_signal ||
	       (p->exit_code > 0) || p->untraced;
}

static void exit_status(FILE *out, const struct report_proc *p)
{
	char b[16];

	if (p->alive)
		snprintf(b, sizeof(b), "running");
	else if (p->exit_signal)
		snprintf(b, sizeof(b), "sig %d", p->exit_signal);
	else if (p->exit_code >= 0)
		snprintf(b, sizeof(b), "%d", p->exit_code);
	else
		snprintf(b, sizeof(b), "-");
	fprintf(out, " %7s  ", b);
}

static int cmp_rss_peak(const void *a, const void *b)
{
	const struct report_proc *x = *(const struct report_proc *const *)a;
	const struct report_proc *y = *(const struct report_proc *const *)b;

	if (x->rss.peak_bytes != y->rss.peak_bytes)
		return x->rss.peak_bytes > y->rss.peak_bytes ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/*
 * --all, --cgroup: the process trees and the processes with the highest
 * exact RSS peaks (top of each), with when, what the kernel's own
 * counters showed, and their largest drift.  The JSON has every one.
 */
static void scope_tables(FILE *out, const struct report *r, unsigned top)
{
	const struct report_proc **v = calloc(r->nprocs + 1, sizeof(*v));
	char b1[32], b2[32], b3[32], t[32];
	size_t i, n;

	n = r->ntrees < top ? r->ntrees : top;
	fprintf(out, "\nProcess trees by exact RSS peak (%zu of %zu; a tree: a child of init, or of a "
		"process outside the scope, and its descendants):\n", n, r->ntrees);
	fprintf(out, "  %-8s %12s %9s %12s %10s %6s  %s\n", "ROOT", "RSS PEAK", "AT", "APPROX PEAK",
		"MAX DRIFT", "PROCS", "ROOT COMMAND");
	for (i = 0; i < n; i++) {
		const struct report_tree *tr = &r->trees[i];

		seconds(t, sizeof(t), tr->rss_peak_time_ns);
		fprintf(out, "  %-8u %12s %9s %12s %10s %6llu  ", tr->root_pid,
			report__bytes(tr->rss_peak_bytes, b1, sizeof(b1)), t,
			report__bytes(tr->approx_peak_bytes, b2, sizeof(b2)),
			report__bytes(tr->max_drift_bytes, b3, sizeof(b3)),
			(unsigned long long)tr->processes);
		if (tr->root)
			command(out, tr->root);
		fputc('\n', out);
	}
	if (!v)
		return;
	for (i = 0; i < r->nprocs; i++)
		v[i] = &r->procs[i];
	qsort(v, r->nprocs, sizeof(*v), cmp_rss_peak);
	n = r->nprocs < top ? r->nprocs : top;
	fprintf(out, "\nProcesses by exact RSS peak (%zu of %zu):\n", n, r->nprocs);
	fprintf(out, "  %-8s %12s %9s %12s %10s  %s\n", "PID", "RSS PEAK", "AT", "APPROX PEAK",
		"MAX DRIFT", "COMMAND");
	for (i = 0; i < n; i++) {
		seconds(t, sizeof(t), v[i]->rss.peak_time_ns);
		fprintf(out, "  %-8u %12s %9s %12s %10s  ", v[i]->pid,
			report__bytes(v[i]->rss.peak_bytes, b1, sizeof(b1)), t,
			report__bytes(v[i]->rss.approx_peak_bytes, b2, sizeof(b2)),
			report__bytes(v[i]->rss.max_drift_bytes, b3, sizeof(b3)));
		command(out, v[i]);
		fputc('\n', out);
	}
	free(v);
}

static void process_table(FILE *out, const struct report *r)
{
	size_t *order = calloc(r->nprocs + 1, sizeof(*order)), i, n, folded = 0;
	int *depth = calloc(r->nprocs + 1, sizeof(*depth));
	int *shown_depth = calloc(r->nprocs + 1, sizeof(*shown_depth));
	uint64_t folded_max = 0;
	char b1[32], b2[32], b3[32];

	n = order && depth && shown_depth ? tree_order(r, order, depth) : 0;
	if (!n) { /* out of memory: start order, flat */
		for (i = 0; order && depth && shown_depth && i < r->nprocs; i++) {
			order[i] = i;
			depth[i] = 0;
		}
		n = order && depth && shown_depth ? r->nprocs : 0;
	}
	fprintf(out, "\n  %-8s %12s %14s %12s %7s  %s\n", "PID", "HEAP PEAK", "AT TREE PEAK",
		"RSS PEAK", "EXIT", "COMMAND (indented under its parent)");
	/* depth counts the rows shown above: a child of a folded image moves
	 * up under the nearest shown ancestor */
	for (i = 0; i < n; i++) {
		size_t k = i;

		while (k > 0 && depth[k - 1] >= depth[i])
			k--;
		/* k - 1 is the parent row (the last row before i one level up) */
		shown_depth[i] = depth[i] == 0 || k == 0 ? 0 :
				 shown_depth[k - 1] + worth_a_row(r, &r->procs[order[k - 1]],
								  depth[k - 1]);
	}
	for (i = 0; i < n; i++) {
		const struct report_proc *p = &r->procs[order[i]];
		int d;

		if (!worth_a_row(r, p, depth[i])) {
			folded++;
			if (p->peak_bytes > folded_max)
				folded_max = p->peak_bytes;
			continue;
		}
		fprintf(out, "  %-8u %12s %14s %12s", p->pid,
			r->rss_only ? "-" : report__bytes(p->peak_bytes, b1, sizeof(b1)),
			r->rss_only ? "-" : report__bytes(p->bytes_at_tree_peak, b2, sizeof(b2)),
			report__bytes(p->rss.peak_bytes, b3, sizeof(b3)));
		exit_status(out, p);
		for (d = 0; d < shown_depth[i] && d < 12; d++)
			fputs("  ", out);
		command(out, p);
		if (p->heap_note && !r->rss_only)
			fprintf(out, "  (%s)", p->heap_note);
		fputc('\n', out);
	}
	if (folded)
		fprintf(out, "  (%zu more process image%s, each holding under 1%% of the peak: at most "
			     "%s; the JSON lists every one)\n", folded, folded == 1 ? "" : "s",
			report__bytes(folded_max, b1, sizeof(b1)));
	free(order);
	free(depth);
	free(shown_depth);
}

int report__write_text(const struct report *r, FILE *out, const struct writer_options *o)
{
	unsigned top = o->top;
	size_t shown_procs;
	char b1[32], b2[32], t[32];
	size_t i;

	/* Warnings were printed on stderr when they arose (unless -q). */
	losses(out, r);
	seconds(t, sizeof(t), r->peak_time_ns);
	if (!r->rss_only) {
		fprintf(out, "\nHeap peak of the %s: %s at %s", r->scope.cgroup ? "cgroup" : "process tree",
			report__bytes(r->peak_bytes, b1, sizeof(b1)), t);
		fprintf(out, " (RSS then %s)\n",
			report__bytes(r->rss.at_heap_peak_bytes, b2, sizeof(b2)));
		fprintf(out, "  bytes: requested sizes of live malloc-family blocks + anonymous mmaps\n");
	}
	seconds(t, sizeof(t), r->rss.peak_time_ns);
	fprintf(out, "%sRSS peak of the %s: %s at %s", r->rss_only ? "\n" : "",
		r->scope.kind && !strcmp(r->scope.kind, "all") ? "machine (every process)" :
		r->scope.cgroup ? "cgroup" : "process tree",
		report__bytes(r->rss.peak_bytes, b1, sizeof(b1)), t);
	if (!r->rss_only)
		fprintf(out, " (heap then %s)", report__bytes(r->heap_at_rss_peak_bytes, b2, sizeof(b2)));
	seconds(t, sizeof(t), r->duration_ns);
	fprintf(out, "\n  exact, summed over live processes; shmem %s of it, counted once per process "
		     "mapping it\n", report__bytes(r->rss.peak_shmem_bytes, b2, sizeof(b2)));
	fprintf(out, "  %zu process%s, traced for %s\n", r->nprocs, r->nprocs == 1 ? "" : "es", t);

	if (r->scope.cgroup) {
		fputs("  cgroup ", out);
		utf8__write_safe(out, r->scope.cgroup);
		fputc('\n', out);
	}
	if (r->ntrees)
		scope_tables(out, r, top);
	else
		process_table(out, r);

	if (r->show_drift)
		drift_table(out, r);
	notes(out, r);
	if (r->rss_only)
		return ferror(out) ? -1 : 0;
	fprintf(out, "\nStacks holding memory at the tree peak:\n");
	if (!r->stacks.n)
		fprintf(out, "  (none)\n");
	sampling_line(out, r);
	stack_list(out, &r->stacks, top);

	/* own-peak sections for the images that matter: a tenth of the tree
	 * peak or more; not when there is one (it is the section above) */
	for (i = 0, shown_procs = 0; i < r->nprocs; i++)
		shown_procs += r->procs[i].peak_bytes && r->procs[i].stacks.n &&
			       r->procs[i].peak_bytes * 10 >= r->peak_bytes;
	for (i = 0; shown_procs > 1 && i < r->nprocs; i++) {
		const struct report_proc *p = &r->procs[i];

		if (!p->peak_bytes || !p->stacks.n || p->peak_bytes * 10 < r->peak_bytes)
			continue;
		seconds(t, sizeof(t), p->peak_time_ns);
		fprintf(out, "\nAt the own peak of pid %u (", p->pid);
		utf8__write_safe(out, p->comm);
		fprintf(out, ", %s at %s):\n", report__bytes(p->peak_bytes, b1, sizeof(b1)), t);
		stack_list(out, &p->stacks, top < PROC_STACKS_SHOWN ? top : PROC_STACKS_SHOWN);
	}
	return ferror(out) ? -1 : 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The end of a run: the last look at live processes, the maps read, the
 * profile built and symbolized, the reports written.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "model/model.h"
#include "model/frames.h"
#include "model/sampling.h"
#include "peaktrace.skel.h"
#include "probes/probes.h"
#include "report/writers.h"
#include "run/run.h"
#include "run/session.h"
#include "stacks/symbolize.h"

/*
 * How far the approximate RSS may lag the exact one: each CPU keeps up to
 * percpu_counter_batch - 1 pages per counter before folding them into the
 * count, the batch is max(32, 2 * online CPUs) (lib/percpu_counter.c,
 * compute_batch_value), and RSS is three counters (file, anon, shmem).
 */
static uint64_t drift_bound_pages(void)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	long batch = online * 2 > 32 ? online * 2 : 32;

	return 3 * (uint64_t)(batch - 1) * (uint64_t)(online > 0 ? online : 1);
}

/* The model's sources (model/model.h): stacks from the BPF map, symbols
 * from the files the run collected. */
/* Stack stack_id from the BPF map (the last one read kept), or NULL. */
static const struct pt_stack *read_stack(struct session *s, uint64_t stack_id)
{
	__u64 key = stack_id;

	if (s->last_stack.valid && s->last_stack.id == stack_id)
		return &s->last_stack.st;
	s->last_stack.valid = !bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.stacks), &key,
						   &s->last_stack.st);
	s->last_stack.id = stack_id;
	return s->last_stack.valid ? &s->last_stack.st : NULL;
}

static int stack_of(void *ctx, uint64_t stack_id, uint64_t *ips, size_t max, uint32_t *flags)
{
	const struct pt_stack *st = read_stack(ctx, stack_id);

	if (!st || st->nr > PT_MAX_STACK_DEPTH || st->nr > max)
		return -1;
	memcpy(ips, st->ips, st->nr * sizeof(*ips));
	*flags = st->flags;
	return (int)st->nr;
}

static size_t symbolize(void *ctx, uint32_t instance, uint64_t ip, struct report_frame *out,
			size_t max)
{
	struct session *s = ctx;

	/* Stacks are taken in return probes: every frame is a return address. */
	return symbolizer__frames(s->sym, &s->collected, instance, ip, 1, out, max);
}

/* A stack's Python frames (src/python/), merged with its native ones. */
static long python_frames(void *ctx, uint32_t instance, uint64_t stack_id,
			  const struct report_frame **native, size_t nn, struct frame_table *ft,
			  const struct report_frame ***out)
{
	struct session *s = ctx;
	const struct py_image *img = python__image(&s->py, instance);
	const struct report_frame *py[PT_PY_MAX_FRAMES];
	int entry[PT_PY_MAX_FRAMES];
	const struct pt_stack *st;
	size_t i, np;

	*out = NULL;
	if (!img || s->py.mode == PY_OFF || !(st = read_stack(s, stack_id)) || !st->npy)
		return 0;
	np = st->npy < PT_PY_MAX_FRAMES ? st->npy : PT_PY_MAX_FRAMES;
	for (i = 0; i < np; i++) {
		struct report_frame f;

		py_codes__frame(&s->py.codes, instance, &st->py[i], img->code_adaptive, &f);
		py[i] = frames__intern(ft, &f);
		free(f.function);
		free(f.file);
		if (!py[i])
			return -1;
		entry[i] = !!(st->py[i].flags & PT_PY_ENTRY);
	}
	*out = calloc(nn + np + 1, sizeof(**out));
	if (!*out)
		return -1;
	return (long)py_merge(native, nn, py, entry, np, img->interp, s->py.mode,
			      s->py.show_glue, *out);
}

/*
 * With the preload library: an image that ended before peaktrace saw whether it runs with
 * the preload library (its C library not found yet) and made no call that
 * was counted may have run without it, its heap not traced: said, since
 * nothing in the report would show it otherwise.
 */
static void warn_unseen_preload(struct session *s)
{
	const struct report *r = &s->report;
	size_t i, n = 0;

	for (i = 0; i < r->nprocs; i++) {
		const struct report_proc *p = &r->procs[i];
		const struct proc_info *pi = proctable__find(&s->procs, p->instance);

		if (p->heap_note || p->untraced || p->allocs || p->frees || !pi ||
		    pi->libc_state != LIBC_PENDING)
			continue;
		if (n++ < 5)
			warn(s, "pid %u (%s) ended before peaktrace saw its C library and made no "
			     "allocation it counted: if it ran without peaktrace-preload.so first "
			     "in its LD_PRELOAD, its heap was not traced", p->pid, p->comm);
	}
	if (n > 5)
		warn(s, "%zu more process images like that", n - 5);
}

/*
 * A command whose allocator calls were each counted at a breakpoint (two
 * traps for an allocation, one for a free: 1-3 us a call here), many of
 * them, with --no-preload (or without a usable library): the library
 * counts most of them in the process instead (the C++ workload of
 * scripts/bench: 30x its time without, about 2x with).  Said, not warned:
 * the figures are right either way.
 */
#define PRELOAD_HINT_CALLS 200000

static void hint_preload(const struct session *s, const struct report *r)
{
	uint64_t calls = 0;
	size_t i;

	if (s->o->quiet || !s->o->argv || s->o->rss_only || session__preload(s) ||
	    s->o->preload_missing)
		return;
	for (i = 0; i < r->nprocs; i++)
		calls += r->procs[i].allocs + r->procs[i].frees;
	if (calls >= PRELOAD_HINT_CALLS)
		fprintf(stderr, "peaktrace: %" PRIu64 " allocator calls were each stopped at a "
			"breakpoint; peaktrace-preload.so (without --no-preload) counts most of "
			"them in the process, far faster (README: --no-preload)\n", calls);
}

/* Where writer i writes: its file, stderr (the text report, unless -q),
 * or nowhere. */
static FILE *writer_out(const struct session *s, FILE *const out[], size_t i)
{
	return report_writers[i].option ? out[i] : s->o->quiet ? NULL : stderr;
}

/* Symbolizes what the chosen writers show: every stack if one lists all,
 * none if nothing is written (-q alone: a run for its exit status, or
 * timed, needs no names). */
static unsigned stacks_needed(const struct session *s, FILE *const out[])
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < report_nwriters; i++) {
		if (!writer_out(s, out, i))
			continue;
		if (report_writers[i].all_stacks)
			return MODEL_ALL_STACKS;
		n = s->o->top;
	}
	return n;
}

int session__report(struct session *s, FILE *const out[], char *err, size_t errlen)
{
	struct model_sources src = { stack_of, symbolize, python_frames, s };
	struct writer_options wo = { .top = s->o->top };
	struct report *r = &s->report;
	unsigned needed;
	size_t i;

	/* Last look at live processes' files, then stop the probes: the maps
	 * no longer change while they are read. */
	for (i = 0; i < s->procs.n; i++)
		if (!s->procs.v[i].ended)
			symbolizer__scan_process(s->sym, s->procs.v[i].tgid);
	if (s->probes)
		probes__stop_targets(s->probes);
	ring_buffer__consume(s->rb);
	session__drain(s);
	if (collect__read(&s->collected, s->skel, &s->records, err, errlen))
		return -1;
	phase(s->o, "report: maps read", s->t_end_ns);
	if (s->o->verbose) /* what --max-procs and --max-stacks bound */
		fprintf(stderr, "peaktrace: %zu process images, %zu stack records\n",
			s->collected.nprocs, s->collected.nstacks);
	r->rss_only = s->o->rss_only;
	r->scope.kind = s->o->cgroup ? "cgroup" : s->o->all ? "all" : "tree";
	r->scope.cgroup = s->o->cgroup ? s->cgroup.path : NULL;
	r->show_drift = s->o->drift;
	r->rss.drift_bound_bytes = drift_bound_pages() * sysconf(_SC_PAGESIZE);
	if (collect__add_vmas(&s->collected, s->sweep.vmas, s->sweep.nvmas) ||
	    collect__add_procs(&s->collected, s->sweep.procv, s->sweep.nprocv) ||
	    collect__add_unsampled(&s->collected) ||
	    sampling__fold(&s->collected) ||
	    model__build(r, &s->collected, &s->procs, s->t0_ns, sysconf(_SC_PAGESIZE)))
		goto oom;
	phase(s->o, "report: model built", s->t_end_ns);
	if (session__preload(s))
		warn_unseen_preload(s);
	hint_preload(s, r);
	needed = stacks_needed(s, out);
	if (needed && model__symbolize(r, &src, needed))
		goto oom;
	phase(s->o, "report: stacks symbolized", s->t_end_ns);
	r->duration_ns = (s->t_end_ns ? s->t_end_ns : now_ns()) - s->t0_ns;
	r->stopped_by = s->stopped_by;
	for (i = 0; i < report_nwriters; i++) {
		const struct report_writer *w = &report_writers[i];
		FILE *f = writer_out(s, out, i);

		if (!f)
			continue;
		/* the text report on a terminal: nothing to fail for */
		if (w->write(r, f, &wo) && w->option) {
			snprintf(err, errlen, "writing the %s report to %s failed: %s", w->name,
				 s->o->out_path[i], strerror(errno));
			return -1;
		}
	}
	phase(s->o, "report: reports written", s->t_end_ns);
	return 0;
oom:
	snprintf(err, errlen, "out of memory building the report");
	return -1;
}

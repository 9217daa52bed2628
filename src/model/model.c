// SPDX-License-Identifier: GPL-2.0
/* The profile from the model's records (see bpf/model/peak_model.h). */
#include <stdlib.h>
#include <string.h>
#include "model/frames.h"
#include "model/model.h"
#include "model/peak_model.h"
#include "util/vec.h"

struct ranked {
	size_t rec;		/* index in collected stacks = index of its trace */
	uint32_t instance;
	uint64_t stack_id;
	uint64_t bytes, count, estimated;
};

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->instance != y->instance)
		return x->instance < y->instance ? -1 : 1;
	return x->stack_id < y->stack_id ? -1 : x->stack_id > y->stack_id;
}

static uint64_t since(uint64_t t, uint64_t t0)
{
	return t > t0 ? t - t0 : 0;
}

/* The view of the stacks idx[lo..hi) (indices into c->stacks: all of
 * them, or one instance's) by their value at the tree peak (proc_peak 0) or
 * at their process's peak. */
static int view_build(struct report *r, const struct collected *c, const size_t *idx, size_t lo,
		      size_t hi, int proc_peak, struct report_view *out)
{
	struct ranked *v = calloc(hi > lo ? hi - lo : 1, sizeof(*v));
	size_t i, j, n = 0;

	out->v = NULL;
	out->n = 0;
	if (!v)
		return -1;
	for (j = lo; j < hi; j++) {
		const struct collected_stack *s = &c->stacks[idx[j]];
		const struct collected_proc *p;
		__u64 bytes, count;

		p = collect__proc(c, s->key.instance);
		if (!p)
			continue;
		if (proc_peak)
			pt_model_stack_at_proc_peak(&p->p, &s->rec, &bytes, &count);
		else
			pt_model_stack_at_tree_peak(&c->global, &p->p, &s->rec, &bytes, &count);
		if (!bytes)
			continue;
		v[n].rec = idx[j];
		v[n].instance = s->key.instance;
		v[n].stack_id = s->key.stack_id;
		v[n].bytes = bytes;
		v[n].count = count;
		v[n].estimated = proc_peak ? s->est_proc_bytes : s->est_tree_bytes;
		n++;
	}
	qsort(v, n, sizeof(*v), cmp_ranked);
	if (n) {
		out->v = calloc(n, sizeof(*out->v));
		if (!out->v) {
			free(v);
			return -1;
		}
	}
	for (i = 0; i < n; i++) {
		struct report_trace *tr = &r->traces[v[i].rec];
		const struct collected_proc *p = collect__proc(c, v[i].instance);

		tr->instance = v[i].instance;
		tr->stack_id = v[i].stack_id;
		tr->pid = p ? p->p.tgid : 0;
		out->v[i].bytes = v[i].bytes;
		out->v[i].allocations = v[i].count;
		out->v[i].estimated_bytes = v[i].estimated;
		out->v[i].trace = tr;
	}
	out->n = n;
	free(v);
	return 0;
}

static void split_argv(struct report_proc *rp, const struct proc_info *pi)
{
	size_t i, n = 0, start = 0;

	if (!pi || !pi->argv_len)
		return;
	for (i = 0; i < pi->argv_len; i++)
		n += !pi->argv[i] || i + 1 == pi->argv_len;
	rp->argv = calloc(n, sizeof(*rp->argv));
	if (!rp->argv)
		return;
	for (i = 0; i < pi->argv_len; i++) {
		if (pi->argv[i] && i + 1 != pi->argv_len)
			continue;
		/* the last argument may be cut at the copy limit, unterminated */
		rp->argv[rp->argc++] = strndup(pi->argv + start, i - start + (pi->argv[i] != 0));
		start = i + 1;
	}
}

static int cmp_proc(const void *a, const void *b)
{
	const struct report_proc *x = a, *y = b;

	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return x->instance < y->instance ? -1 : x->instance > y->instance;
}

static void proc_rss(struct report_rss *out, const struct pt_proc *p, uint64_t t0_ns,
		     uint64_t page)
{
	out->peak_bytes = p->rss_peak * page;
	out->peak_time_ns = p->rss_peak ? since(p->rss_peak_time_ns, t0_ns) : 0;
	out->peak_file_bytes = p->rss_member_peak[PT_RSS_FILE] * page;
	out->peak_anon_bytes = p->rss_member_peak[PT_RSS_ANON] * page;
	out->peak_shmem_bytes = p->rss_member_peak[PT_RSS_SHMEM] * page;
	out->peak_swap_bytes = p->rss_member_peak[PT_RSS_SWAP] * page;
	out->approx_peak_bytes = p->rss_approx_peak * page;
	out->max_drift_bytes = p->rss_max_drift * page;
	out->kernel_hiwater_bytes = p->rss_hiwater * page;
	out->start_bytes = p->rss_start * page;
	out->events = p->rss_events;
}

/* Stack indices ordered by instance, so that each process's view reads its
 * own (a run of 12 000 processes read every stack once per process). */
static int cmp_by_instance(const void *a, const void *b, void *ctx)
{
	const struct collected *c = ctx;
	uint32_t x = c->stacks[*(const size_t *)a].key.instance;
	uint32_t y = c->stacks[*(const size_t *)b].key.instance;

	return x < y ? -1 : x > y;
}

/* [*lo, *hi) of idx: the stacks of instance. */
static void instance_range(const struct collected *c, const size_t *idx, uint32_t instance,
			   size_t *lo, size_t *hi)
{
	size_t a = 0, b = c->nstacks;

	while (a < b) {
		size_t m = (a + b) / 2;

		if (c->stacks[idx[m]].key.instance < instance)
			a = m + 1;
		else
			b = m;
	}
	*lo = a;
	for (b = a; b < c->nstacks && c->stacks[idx[b]].key.instance == instance; b++)
		;
	*hi = b;
}

static int cmp_tree(const void *a, const void *b)
{
	const struct report_tree *x = a, *y = b;

	if (x->rss_peak_bytes != y->rss_peak_bytes)
		return x->rss_peak_bytes > y->rss_peak_bytes ? -1 : 1;
	return x->root_instance < y->root_instance ? -1 : x->root_instance > y->root_instance;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Images per tree, by root, into count[] (indexed like c->trees).  Counted
 * here, from the images' records, not kept in the tree's own: BPF and
 * userspace both register processes, and only BPF writes tree records.
 */
static int tree_members(const struct collected *c, uint64_t *count)
{
	uint32_t *roots = calloc(c->ntrees + 1, 2 * sizeof(*roots)), *hit;
	size_t i;

	if (!roots)
		return -1;
	for (i = 0; i < c->ntrees; i++) {
		roots[2 * i] = c->trees[i].root;
		roots[2 * i + 1] = (uint32_t)i;
	}
	qsort(roots, c->ntrees, 2 * sizeof(*roots), cmp_u32);
	for (i = 0; i < c->nprocs; i++) {
		uint32_t root = c->procs[i].p.tree_root;

		if (!root || c->procs[i].p.launcher)
			continue;
		hit = bsearch(&root, roots, c->ntrees, 2 * sizeof(*roots), cmp_u32);
		if (hit)
			count[hit[1]]++;
	}
	free(roots);
	return 0;
}

/* The scope's process trees (collected with --all, --cgroup), by RSS peak. */
static int trees_build(struct report *r, const struct collected *c, uint64_t t0_ns, uint64_t page)
{
	uint64_t *count;
	size_t i;

	if (!c->ntrees)
		return 0;
	r->trees = calloc(c->ntrees, sizeof(*r->trees));
	count = calloc(c->ntrees, sizeof(*count));
	if (!r->trees || !count || tree_members(c, count)) {
		free(count);
		return -1;
	}
	for (i = 0; i < c->ntrees; i++) {
		const struct pt_tree *pt = &c->trees[i].t;
		struct report_tree *rt = &r->trees[r->ntrees];

		rt->processes = count[i];
		if (!rt->processes)
			continue;	/* made for a process registered elsewhere meanwhile */
		rt->root_instance = c->trees[i].root;
		rt->root = report__proc(r, rt->root_instance);
		rt->root_pid = rt->root ? rt->root->pid : 0;
		rt->rss_peak_bytes = pt->rss_peak * page;
		rt->rss_peak_time_ns = pt->rss_peak ? since(pt->rss_peak_time_ns, t0_ns) : 0;
		rt->approx_peak_bytes = pt->approx_peak * page;
		rt->max_drift_bytes = pt->max_drift * page;
		r->ntrees++;
	}
	free(count);
	qsort(r->trees, r->ntrees, sizeof(*r->trees), cmp_tree);
	return 0;
}

int model__build(struct report *r, const struct collected *c, const struct proctable *t,
		 uint64_t t0_ns, uint64_t page)
{
	size_t i, lo, hi, *idx;
	int ret = -1;

	r->frames = frames__new();
	r->traces = calloc(c->nstacks ? c->nstacks : 1, sizeof(*r->traces));
	idx = calloc(c->nstacks ? c->nstacks : 1, sizeof(*idx));
	if (!r->frames || !r->traces || !idx)
		goto out;
	r->ntraces = c->nstacks;
	for (i = 0; i < c->nstacks; i++)
		idx[i] = i;
	qsort_r(idx, c->nstacks, sizeof(*idx), cmp_by_instance, (void *)c);

	r->rss.peak_bytes = c->global.rss_peak * page;
	r->rss.peak_time_ns = c->global.rss_peak ? since(c->global.rss_peak_time_ns, t0_ns) : 0;
	r->rss.peak_shmem_bytes = c->global.rss_shmem_at_peak * page;
	r->rss.at_heap_peak_bytes = c->global.rss_at_heap_peak * page;
	r->heap_at_rss_peak_bytes = c->global.heap_at_rss_peak;

	r->peak_bytes = c->global.peak_bytes;
	r->peak_time_ns = c->global.peak_epoch ? since(c->global.peak_time_ns, t0_ns) : 0;
	r->live_bytes_at_end = c->global.live_bytes;
	r->sampling.sample_bytes = c->sample_bytes;
	r->sampling.small_bytes = c->sampling.small_bytes;
	r->sampling.sampled_blocks = c->sampling.sampled_blocks;
	r->sampling.unattributed_bytes = c->sampling.unattributed_bytes;
	if (view_build(r, c, idx, 0, c->nstacks, 0, &r->stacks))
		goto out;

	r->procs = calloc(c->nprocs + t->n + 1, sizeof(*r->procs));
	if (!r->procs)
		goto out;
	for (i = 0; i < c->nprocs; i++) {
		const struct collected_proc *cp = &c->procs[i];
		const struct proc_info *pi = proctable__find((struct proctable *)t, cp->instance);
		struct report_proc *rp = &r->procs[r->nprocs];

		/* peaktrace's own gated fork, replaced by CMD at exec */
		if ((pi && pi->launcher && !cp->p.peak_bytes) || cp->p.launcher)
			continue;
		r->nprocs++;
		rp->pid = cp->p.tgid;
		rp->ppid = cp->p.ppid;
		rp->instance = cp->instance;
		rp->parent_instance = cp->p.parent_instance;
		rp->peak_bytes = cp->p.peak_bytes;
		rp->peak_time_ns = cp->p.peak_epoch ? since(cp->p.peak_time_ns, t0_ns) : 0;
		rp->bytes_at_tree_peak = pt_model_proc_at_tree_peak(&c->global, &cp->p);
		rp->live_bytes_at_end = cp->p.live_bytes;
		rp->start_ns = since(cp->p.start_ns, t0_ns);
		rp->end_ns = cp->p.alive ? 0 : since(cp->p.end_ns, t0_ns);
		rp->allocs = cp->p.allocs;
		rp->frees = cp->p.frees;
		rp->alive = cp->p.alive;
		rp->exit_code = -1;
		proc_rss(&rp->rss, &cp->p, t0_ns, page);
		if (pi) {
			memcpy(rp->comm, pi->comm, sizeof(rp->comm));
			split_argv(rp, pi);
			if (pi->has_exit_code) {
				rp->exit_code = (pi->exit_code >> 8) & 0xff;
				rp->exit_signal = pi->exit_code & 0x7f;
			}
			rp->heap_note = pi->note[0] ? pi->note : NULL;
			rp->untraced = pi->untraced;
			rp->left_scope = pi->left_scope;
		}
		rp->probes_removed = cp->p.probes_removed;
		if (rp->probes_removed && !rp->heap_note)
			rp->heap_note = "the kernel removed its probes while it ran: heap incomplete";
		if (r->rss_only)
			rp->heap_note = "heap not traced (--rss-only)";
		instance_range(c, idx, cp->instance, &lo, &hi);
		if (view_build(r, c, idx, lo, hi, 1, &rp->stacks))
			goto out;
	}
	/* processes that could not be traced: no BPF record, listed all the same */
	for (i = 0; i < t->n; i++) {
		const struct proc_info *pi = &t->v[i];
		struct report_proc *rp = &r->procs[r->nprocs];

		if (!pi->untraced)
			continue;
		r->nprocs++;
		rp->pid = pi->tgid;
		rp->ppid = pi->ppid;
		rp->instance = pi->instance;
		rp->start_ns = since(pi->start_ns, t0_ns);
		rp->exit_code = -1;
		rp->alive = 1;	/* for all we know */
		rp->untraced = 1;
		rp->heap_note = pi->note;
		memcpy(rp->comm, pi->comm, sizeof(rp->comm));
		split_argv(rp, pi);
	}
	qsort(r->procs, r->nprocs, sizeof(*r->procs), cmp_proc);
	if (trees_build(r, c, t0_ns, page))
		goto out;

	memcpy(r->lost.count, c->lost, sizeof(r->lost.count));
	ret = 0;
out:
	free(idx);
	return ret;
}

/* Room for the frames inlined at one address. */
#define CHAIN_MAX 16

/* The interned frames of address ip of tr's image, resolved once. */
static long address_chain(struct report *r, const struct model_sources *src,
			  const struct report_trace *tr, uint64_t ip,
			  const struct report_frame *const **out)
{
	const struct report_frame *chain[CHAIN_MAX];
	struct report_frame raw[CHAIN_MAX];
	size_t n, k;
	long got = frames__chain(r->frames, tr->instance, ip, out);
	int failed = 0;

	if (got >= 0)
		return got;
	memset(raw, 0, sizeof(raw));
	n = src->symbolize(src->ctx, tr->instance, ip, raw, CHAIN_MAX);
	for (k = 0; k < n; k++) {
		raw[k].kind = raw[k].inlined ? PT_FRAME_INLINED : PT_FRAME_NATIVE;
		chain[k] = frames__intern(r->frames, &raw[k]);
		failed |= !chain[k];
		free(raw[k].function);
		free(raw[k].module);
		free(raw[k].file);
		free(raw[k].build_id);
	}
	if (failed || frames__set_chain(r->frames, tr->instance, ip, chain, n))
		return -1;
	return frames__chain(r->frames, tr->instance, ip, out);
}

/* The small blocks of a process with no sampled one (src/model/sampling.c):
 * one frame that says so, so every writer shows it as a stack. */
static int unsampled_frame(struct report *r, struct report_trace *tr)
{
	static const struct report_frame label = {
		.function = "[small blocks: no stack sampled]", .kind = PT_FRAME_NATIVE,
	};
	const struct report_frame *f = frames__intern(r->frames, &label);

	tr->frames = f ? malloc(sizeof(*tr->frames)) : NULL;
	if (!tr->frames)
		return -1;
	tr->frames[0] = f;
	tr->nframes = 1;
	return 0;
}

static int trace_symbolize(struct report *r, const struct model_sources *src,
			   struct report_trace *tr)
{
	uint64_t ips[PT_MAX_STACK_DEPTH];
	const struct report_frame **v = NULL;
	size_t n = 0, cap = 0;
	uint32_t flags = 0;
	int nips, i;

	tr->symbolized = 1;
	if (tr->stack_id == PT_STACK_NONE)
		return 0;
	if (tr->stack_id == PT_STACK_UNSAMPLED)
		return unsampled_frame(r, tr);
	nips = src->stack(src->ctx, tr->stack_id, ips, PT_MAX_STACK_DEPTH, &flags);
	if (nips < 0)
		return 0;	/* not in the map: shown without frames */
	tr->truncated = !!(flags & PT_STACK_TRUNCATED);
	tr->partial = !!(flags & PT_STACK_PARTIAL);
	for (i = 0; i < nips; i++) {
		const struct report_frame *const *chain;
		long k = address_chain(r, src, tr, ips[i], &chain);

		if (k < 0 || vec_grow((void **)&v, &cap, n + k, sizeof(*v), 64)) {
			free(v);
			return -1;
		}
		memcpy(v + n, chain, k * sizeof(*v));
		n += k;
	}
	if (src->python) {
		const struct report_frame **merged = NULL;
		long m = src->python(src->ctx, tr->instance, tr->stack_id, v, n, r->frames, &merged);

		if (m < 0) {
			free(v);
			return -1;
		}
		if (merged) {
			free(v);
			v = merged;
			n = (size_t)m;
		}
	}
	tr->frames = v;
	tr->nframes = n;
	return 0;
}

static int view_symbolize(struct report *r, const struct model_sources *src,
			  const struct report_view *view, unsigned top)
{
	size_t i, shown = report_view__shown(view, top);

	for (i = 0; i < shown; i++) {
		struct report_trace *tr = &r->traces[view->v[i].trace - r->traces];

		if (!tr->symbolized && trace_symbolize(r, src, tr))
			return -1;
	}
	return 0;
}

int model__symbolize(struct report *r, const struct model_sources *src, unsigned top)
{
	size_t i;

	if (view_symbolize(r, src, &r->stacks, top))
		return -1;
	for (i = 0; i < r->nprocs; i++)
		if (view_symbolize(r, src, &r->procs[i].stacks, top))
			return -1;
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The updates queued while the model lock's holder was not running
 * (bpf/model/model.bpf.h says why), applied in the order they were queued
 * by the first program that takes the lock after: each program that may
 * update the model calls model_drain_pending() first, where its stack is
 * still empty (an update's chain of calls, under this one's, would pass
 * the 512 bytes of stack a program and its subprograms share).
 */
#ifndef PT_BPF_DEFERRED_H
#define PT_BPF_DEFERRED_H

#include "model/model.bpf.h"
#include "heap/heap.bpf.h"

/* Updates applied by one program at most; any left wait for the next. */
#define DRAIN_MAX 1024

/* The update being applied: off the stack, under which the removal of a
 * block runs its chain of calls. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct deferred);
} deferred_one SEC(".maps");

/* A queued change of RSS counter member (a call of its own: its clock
 * stays off drain_one's stack). */
static __noinline void rss_apply_held(__u32 inst, int member, __s64 exact, __s64 count)
{
	struct pt_global *g = global_get();
	struct pt_proc *p = proc_get(inst);
	__u64 now = 0;

	if (g && p)
		pt_model_rss(g, p, tree_of(p), member, exact, count, &now);
}

static long drain_one(__u64 i, void *ctx)
{
	struct pt_global *g = global_get();
	__u32 zero = 0;
	struct deferred *d = bpf_map_lookup_elem(&deferred_one, &zero);
	struct pt_proc *p;

	if (!g || !d || bpf_map_pop_elem(&deferred_ops, d))
		return 1;
	__sync_fetch_and_add(&g->deferred, -1);
	p = proc_get(d->inst);
	if (!p)
		return 0;
	switch (d->op) {
	case DEFER_ALLOC:
		heap_alloc_held(d->inst, d->a, d->b, d->c);
		break;
	case DEFER_FREE:
		if (heap_free_held(d->inst, d->a))
			free_unknown(d->b);
		break;
	case DEFER_APPLY:
		model_apply_held(g, p, heap_rec(p, d->inst, d->c), d->a, d->b);
		break;
	case DEFER_RSS:
		rss_apply_held(d->inst, d->c, d->a, d->b);
		break;
	case DEFER_END:
		pt_model_end(g, p, tree_of(p), d->a);
		break;
	}
	return 0;
}

__noinline int model_drain(void)
{
	struct pt_global *g = global_get();

	if (!model_lock(g))
		return 0;
	bpf_loop(DRAIN_MAX, drain_one, NULL, 0);
	model_unlock(g);
	return 0;
}

#endif

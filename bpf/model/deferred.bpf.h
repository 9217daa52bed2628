/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The updates queued while the model lock's holder was not running
 * (bpf/model/model.bpf.h says why), applied in the order they were queued:
 * by the allocator probes' program, which calls model_drain_pending()
 * first, where its stack is still empty (an update's chain of calls, under
 * the program's, would pass the 512 bytes of stack a program and its
 * subprograms share), and by pt_drain_now, which peaktrace runs when
 * updates stay queued (src/run/drain.c).  Not by the tracepoints' programs:
 * with the heap's code to apply the queue in them, pt_rss_stat, pt_fork,
 * pt_exec and pt_learn_mms each took about 2 500 instructions more to
 * verify (3 200 to 5 700 for pt_rss_stat), at every start; they queue
 * behind.
 */
#ifndef PT_BPF_DEFERRED_H
#define PT_BPF_DEFERRED_H

#include "model/model.bpf.h"
#include "heap/heap.bpf.h"
#include "rss/rss.bpf.h"

/* Updates applied by one program at most: all the queue holds (about 0.3
 * us each), so that one pass of the ledger's pt_drain empties it. */
#define DRAIN_MAX DEFERRED_MAX

/* The update being applied: off the stack, under which the removal of a
 * block runs its chain of calls. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct deferred);
} deferred_one SEC(".maps");

/* An update its image cannot take: the image is gone, or ended before it
 * (its end went ahead of the queue, which was full: counted then too). */
static __always_inline int drained_too_late(struct pt_proc *p, __u32 op)
{
	if (p && (p->alive || op == DEFER_RSS || op == DEFER_END))
		return 0;
	lost_inc(PT_LOST_LOCK_TIMEOUTS);
	return 1;
}

static long drain_one(__u64 i, void *ctx)
{
	struct pt_global *g = global_get();
	__u32 zero = 0;
	struct deferred *d = bpf_map_lookup_elem(&deferred_one, &zero);
	__u64 *t = bpf_map_lookup_elem(&model_time, &zero);
	struct pt_stack_rec *rec;
	struct pt_proc *p;

	if (!g || !d || !t || bpf_map_pop_elem(&deferred_ops, d))
		return 1;
	__sync_fetch_and_add(&g->deferred, -1);
	p = proc_get(d->inst);
	if (drained_too_late(p, d->op))
		return 0;
	*t = d->t;	/* its peaks stamped when it was made */
	switch (d->op) {
	case DEFER_ALLOC:
		alloc_queued(d->inst, d->a, d->b, d->c);
		break;
	case DEFER_FREE:
		if (heap_free_held(d->inst, d->a))
			free_unknown(d->b);
		break;
	case DEFER_APPLY:
		rec = heap_rec(p, d->inst, d->c);
		if (rec)
			model_apply_held(g, p, rec, d->a, d->b);
		else
			lost_inc(PT_LOST_LOCK_TIMEOUTS);
		break;
	case DEFER_RSS:
		rss_apply(d->inst, d->c, d->a, d->b);
		break;
	case DEFER_END:
		model_end_held(g, p, d->a);
		break;
	}
	*t = 0;
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

/* Run by peaktrace (BPF_PROG_TEST_RUN) while updates stay queued: after
 * the programs that queued them, none that applies them may come (the
 * last process ends, the lock's holder let go with no allocator call
 * after). */
SEC("syscall")
int pt_drain_now(void *ctx)
{
	model_drain();
	return 0;
}

#endif

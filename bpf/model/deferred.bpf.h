/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The updates queued while the model lock's holder was not running
 * (bpf/model/model.bpf.h says why), applied in the order they were queued,
 * each program from its top frame, where its stack is still empty (an
 * update's chain of calls, under the program's, would pass the 512 bytes
 * of stack a program and its subprograms share): the allocator probes'
 * program all of them; the RSS program those up to the first heap block's
 * (it has no code for the block tables), then it asks peaktrace, which
 * runs pt_drain_now (src/run/drain.c).  The other tracepoints' programs
 * queue behind: with the heap's code in them, pt_fork, pt_exec and
 * pt_learn_mms each took about 2 500 instructions more to verify, at every
 * start.
 */
#ifndef PT_BPF_DEFERRED_H
#define PT_BPF_DEFERRED_H

#include "model/model.bpf.h"
#include "heap/heap.bpf.h"
#include "rss/rss.bpf.h"

/* Updates applied by one program at most (about 0.3 us each: 10 ms), a
 * quarter of what the queue holds: the ledger's eight passes of pt_drain
 * empty it. */
#define DRAIN_MAX (DEFERRED_MAX / 4)

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

/* A queued update that is not a heap block's (those change the block
 * tables: apply_heap), lock held. */
static __always_inline void apply_other(struct pt_global *g, struct pt_proc *p,
					const struct deferred *d)
{
	struct pt_stack_rec *rec;

	switch (d->op) {
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
}

static __always_inline int heap_op(__u32 op)
{
	return op == DEFER_ALLOC || op == DEFER_FREE;
}

/*
 * Applies the update at the head of the queue, lock held: 0, or 1 if
 * there is none, or (heap: 0) it is a heap block's, left queued.  With heap
 * 0 the caller has no code for those (bpf/rss/rss.bpf.h: verifying the
 * block tables' code in pt_rss_stat took 9 700 instructions more at every
 * start), and asks peaktrace to apply the queue (model_drain_rest).
 */
static __always_inline long drain_head(int heap)
{
	struct pt_global *g = global_get();
	__u32 zero = 0;
	struct deferred *d = bpf_map_lookup_elem(&deferred_one, &zero);
	__u64 *t = bpf_map_lookup_elem(&model_time, &zero);
	struct pt_proc *p;

	if (!g || !d || !t || bpf_map_peek_elem(&deferred_ops, d) || (!heap && heap_op(d->op)) ||
	    bpf_map_pop_elem(&deferred_ops, d))
		return 1;
	__sync_fetch_and_add(&g->deferred, -1);
	p = proc_get(d->inst);
	if (drained_too_late(p, d->op))
		return 0;
	*t = d->t;	/* its peaks stamped when it was made */
	if (heap && d->op == DEFER_ALLOC)
		alloc_queued(d->inst, d->a, d->b, d->c);
	else if (heap && d->op == DEFER_FREE && heap_free_held(d->inst, d->a))
		free_unknown(d->b);
	else if (p)
		apply_other(g, p, d);
	*t = 0;
	return 0;
}

static long drain_one(__u64 i, void *ctx)
{
	return drain_head(1);
}

static long drain_one_other(__u64 i, void *ctx)
{
	return drain_head(0);
}

/* Applies the queue under the lock, all of it (heap) or up to the first
 * heap block's update. */
static __always_inline void drain_locked(struct pt_global *g, int heap)
{
	if (!model_lock(g))
		return;
	bpf_loop(DRAIN_MAX, heap ? drain_one : drain_one_other, NULL, 0);
	model_unlock(g);
}

__noinline int model_drain(void)
{
	drain_locked(global_get(), 1);
	return 0;
}

/* The same without the heap's updates, for the RSS program: it stops at
 * the first, and then, once until peaktrace has applied the queue, wakes
 * it (src/run/drain.c) rather than leave every later update queued
 * behind it until an allocator probe comes. */
__noinline int model_drain_rest(void)
{
	struct pt_global *g = global_get();
	struct pt_event *e;

	if (!g)
		return 0;
	drain_locked(g, 0);
	if (*(volatile __u64 *)&g->deferred &&
	    __sync_val_compare_and_swap(&g->drain_asked, 0, 1) == 0) {
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (e) {
			e->type = PT_EV_DRAIN;
			bpf_ringbuf_submit(e, 0);
		} else {
			g->drain_asked = 0;	/* its next turn applies them anyway */
		}
	}
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

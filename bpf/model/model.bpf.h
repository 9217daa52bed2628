/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The peak model on the BPF side: live bytes per (image, stack) in
 * stack_recs, the lock that serialises updates, and the two entry points
 * every concern calls: model_apply (bytes in or out at a stack) and
 * model_end (an image ended).  The update rules themselves are in
 * peak_model.h, shared with the unit test that checks them.
 */
#ifndef PT_BPF_MODEL_H
#define PT_BPF_MODEL_H

#include "core.bpf.h"
#include "tree/procs.bpf.h"
#define PT_MODEL_CLOCK() bpf_ktime_get_ns()
#include "model/peak_model.h"

/* Tries for the model lock before updating without it (counted): a holder
 * preempted for a scheduler tick must not make a waiter give up.  With
 * 100 000, 8 parallel fork+exec loops on 2 CPUs gave up 5 times a run,
 * with 1 Mi still once in a while. */
#define LOCK_SPINS (1 << 23)	/* bpf_loop's most */

/* Live bytes and counts per (image, stack); allocated per entry. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct pt_stack_key);
	__type(value, struct pt_stack_rec);
} stack_recs SEC(".maps");

static long lock_try(__u64 i, int *got)
{
	struct pt_global *g = global_get();

	if (g && __sync_val_compare_and_swap(&g->lock, 0, 1) == 0) {
		*got = 1;
		return 1;
	}
	return 0;
}

static __noinline int model_lock_wait(void)
{
	int got = 0;

	bpf_loop(LOCK_SPINS, lock_try, &got, 0);
	if (!got)
		lost_inc(PT_LOST_LOCK_TIMEOUTS);
	return got;
}

/*
 * Returns 1 with the lock held, 0 if the spin gave up (the holder was
 * preempted for a long time); the caller then updates without it and the
 * loss is counted, so a report never claims an exactness it did not have.
 * The free lock is taken in line; only a wait is a call.
 */
static __always_inline int model_lock(struct pt_global *g)
{
	if (!g)
		return 0;
	if (__sync_val_compare_and_swap(&g->lock, 0, 1) == 0)
		return 1;
	return model_lock_wait();
}

static __always_inline void model_unlock(struct pt_global *g, int held)
{
	if (held)
		__sync_lock_test_and_set(&g->lock, 0);
}

/* Record s (a stack_recs value, or p's unsampled record) of image p gains
 * bytes and count; the caller holds the model lock (or gave up on it,
 * counted). */
static __always_inline void model_apply_held(struct pt_global *g, struct pt_proc *p,
					     struct pt_stack_rec *s, __s64 bytes, __s64 count)
{
	if (p && s)
		pt_model_apply(g, p, s, bytes, count, 0);
}

/* The same for image inst, taking the lock.  A global function (see
 * bpf/peaktrace.bpf.c): s arrives as memory of its size, so a caller that
 * holds the record saves a lookup. */
__noinline int model_apply_rec(__u32 inst, struct pt_stack_rec *s, __s64 bytes, __s64 count)
{
	struct pt_global *g = global_get();
	struct pt_proc *p = proc_get(inst);
	int held;

	if (!g || !p || !s)
		return 0;
	held = model_lock(g);
	model_apply_held(g, p, s, bytes, count);
	model_unlock(g, held);
	return 0;
}

/* The same, the record found by its stack id. */
static __always_inline int model_apply(__u32 inst, __u64 stack_id, __s64 bytes, __s64 count)
{
	struct pt_stack_key key = { .instance = inst, .stack_id = stack_id };
	struct pt_stack_rec *s = bpf_map_lookup_elem(&stack_recs, &key);

	return s ? model_apply_rec(inst, s, bytes, count) : 0;
}

static __noinline void model_end(__u32 inst, __u64 now)
{
	struct pt_global *g = global_get();
	struct pt_proc *p = proc_get(inst);
	int held;

	if (!g || !p)
		return;
	/* peaktrace-preload.so's ledger in this image held the lock when the
	 * image ended (exit and exec end its other threads anywhere): let go
	 * here, its update half made counted as unlocked */
	if (__sync_val_compare_and_swap(&g->lock, PT_LEDGER_LOCK(inst), 0) == PT_LEDGER_LOCK(inst))
		lost_inc(PT_LOST_LOCK_TIMEOUTS);
	held = model_lock(g);
	pt_model_end(g, p, tree_of(p), now);
	model_unlock(g, held);
}

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The peak model on the BPF side: live bytes per (image, stack) in
 * stack_recs, the lock that serialises updates and the queue of those that
 * could not wait for it, and the two entry points every concern calls:
 * model_apply (bytes in or out at a stack) and model_end (an image ended).
 * The update rules themselves are in peak_model.h, shared with the unit
 * test that checks them.
 */
#ifndef PT_BPF_MODEL_H
#define PT_BPF_MODEL_H

#include "core.bpf.h"
#include "tree/procs.bpf.h"

/* The time of the update being applied, when it is a queued one (set by
 * bpf/model/deferred.bpf.h while it applies it), else 0: a peak it makes
 * is stamped with the time it was made, not the time it was applied. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} model_time SEC(".maps");

static __always_inline __u64 model_clock(void)
{
	__u32 zero = 0;
	__u64 *t = bpf_map_lookup_elem(&model_time, &zero);

	return t && *t ? *t : bpf_ktime_get_ns();
}

#define PT_MODEL_CLOCK() model_clock()
#include "model/peak_model.h"

/* Live bytes and counts per (image, stack); allocated per entry. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct pt_stack_key);
	__type(value, struct pt_stack_rec);
} stack_recs SEC(".maps");

/*
 * The lock is a word taken with cmpxchg (see struct pt_global), by the BPF
 * programs, by peaktrace (sweeping ended images' blocks) and by
 * peaktrace-preload.so's ledger inside the traced processes.  A BPF holder
 * runs to its unlock (a few microseconds at most: the programs are not
 * preempted), but one in userspace can be preempted while it holds the
 * word, and on this kernel (preemption off in the kernel) a program that
 * spins for it on the CPU where the holder waits keeps it from running:
 * spinning 8 Mi times (about 0.1 s) still gave up 5 to 50 times in a fork
 * storm under the preload library, dropping the updates.  So a program waits a
 * short while, long enough for any running holder, and then queues its
 * update (deferred_ops) instead; the queue is applied in order by the next
 * allocator probe, the RSS program or peaktrace (bpf/model/deferred.bpf.h
 * says which), and while
 * anything is queued every update queues behind it, so the model sees
 * each thread's updates in the order they were made.  A ledger that finds
 * the queue not empty has it applied before its own update
 * (src/preload/ledger.c).
 */
#define LOCK_SPINS_SHORT (1 << 10)	/* about 40 us here */
/* Queued updates at most: 40 bytes each, 5 MiB.  The first time peaktrace
 * applies them (src/run/drain.c), it loads its program, 45-55 ms during
 * which a process faulting pages in on each CPU queues about 15 000. */
#define DEFERRED_MAX (1 << 17)

enum defer_op {
	DEFER_ALLOC = 1,	/* a: address, b: size, c: stack id */
	DEFER_FREE,		/* a: address, b: 1 if called by the C library */
	DEFER_APPLY,		/* a: bytes, b: count, c: stack id */
	DEFER_RSS,		/* a: exact pages, b: count, c: member */
	DEFER_END,		/* a: the time it ended */
};

/* An update that could not wait for the lock, made at time t. */
struct deferred {
	__u32 op, inst;
	__u64 a, b, c, t;
};

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, DEFERRED_MAX);
	__type(value, struct deferred);
} deferred_ops SEC(".maps");

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

	bpf_loop(LOCK_SPINS_SHORT, lock_try, &got, 0);
	return got;
}

/* 1 with the lock held; 0 if its holder kept it past the short wait.  The
 * free lock is taken in line; only a wait is a call. */
static __always_inline int model_lock(struct pt_global *g)
{
	if (!g)
		return 0;
	if (__sync_val_compare_and_swap(&g->lock, 0, 1) == 0)
		return 1;
	return model_lock_wait();
}

static __always_inline void model_unlock(struct pt_global *g)
{
	__sync_lock_test_and_set(&g->lock, 0);
}

/* 1 with the lock held and nothing queued: apply the update now.  0: queue
 * it (model_defer). */
static __always_inline int model_take(struct pt_global *g)
{
	if (!model_lock(g))
		return 0;
	if (!*(volatile __u64 *)&g->deferred)
		return 1;
	model_unlock(g);
	return 0;
}

/* Queues update op of image inst (a, b, c: enum defer_op) behind the
 * others: 0, or -1 if the queue is full (the update then goes without the
 * lock: counted).  By value: the record stays in this leaf's frame, out
 * of its callers', under which the heap's chains of calls run. */
static __noinline int model_defer(__u32 op, __u32 inst, __u64 a, __u64 b, __u64 c)
{
	struct deferred d = { .op = op, .inst = inst, .a = a, .b = b, .c = c,
			      .t = bpf_ktime_get_ns() };
	struct pt_global *g = global_get();

	if (!g) {
		lost_inc(PT_LOST_LOCK_TIMEOUTS);
		return -1;
	}
	/* counted before it is pushed (and the drain pops before it counts
	 * down): never fewer than are queued, so an update that sees none
	 * can go ahead of none */
	__sync_fetch_and_add(&g->deferred, 1);
	if (bpf_map_push_elem(&deferred_ops, &d, 0)) {
		__sync_fetch_and_add(&g->deferred, -1);
		lost_inc(PT_LOST_LOCK_TIMEOUTS);
		return -1;
	}
	lost_inc(PT_LOST_DEFERRED);
	return 0;
}

/* Apply the queued updates; the second, those up to the first heap
 * block's (bpf/model/deferred.bpf.h). */
__noinline int model_drain(void);
__noinline int model_drain_rest(void);

/* Called first by the allocator probes' program (heap 1) and the RSS
 * program (0: it has no code for heap blocks' updates): the queue is
 * applied before anything else, where the program's stack is still empty. */
static __always_inline void model_drain_pending(int heap)
{
	struct pt_global *g = global_get();

	if (g && *(volatile __u64 *)&g->deferred) {
		if (heap)
			model_drain();
		else
			model_drain_rest();
	}
}

/* Record s (a stack_recs value, or p's unsampled record) of image p gains
 * bytes and count; the caller holds the model lock (or its update could
 * not be queued: counted). */
static __always_inline void model_apply_held(struct pt_global *g, struct pt_proc *p,
					     struct pt_stack_rec *s, __s64 bytes, __s64 count)
{
	if (p && s)
		pt_model_apply(g, p, s, bytes, count, 0);
}

/* The same for record s, stack sid, of image inst, taking the lock or
 * queueing the update.  A global function (see bpf/peaktrace.bpf.c): s
 * arrives as memory of its size, so a caller that holds the record saves
 * a lookup. */
__noinline int model_apply_rec(__u32 inst, __u64 sid, struct pt_stack_rec *s, __s64 bytes,
			       __s64 count)
{
	struct pt_global *g = global_get();
	struct pt_proc *p = proc_get(inst);
	int held;

	if (!g || !p || !s)
		return 0;
	held = model_take(g);
	/* queued, or (the queue full: counted) applied without the lock */
	if (held || model_defer(DEFER_APPLY, inst, bytes, count, sid))
		model_apply_held(g, p, s, bytes, count);
	if (held)
		model_unlock(g);
	return 0;
}

/* The same, the record found by its stack id. */
static __always_inline int model_apply(__u32 inst, __u64 stack_id, __s64 bytes, __s64 count)
{
	struct pt_stack_key key = { .instance = inst, .stack_id = stack_id };
	struct pt_stack_rec *s = bpf_map_lookup_elem(&stack_recs, &key);

	return s ? model_apply_rec(inst, stack_id, s, bytes, count) : 0;
}

/* Image p ends at now, lock held (or the update could not be queued). */
static __always_inline void model_end_held(struct pt_global *g, struct pt_proc *p, __u64 now)
{
	pt_model_end(g, p, tree_of(p), now);
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
	held = model_take(g);
	if (held || model_defer(DEFER_END, inst, now, 0, 0))
		model_end_held(g, p, now);
	if (held)
		model_unlock(g);
}

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Heap blocks: one record per live block (address, size, stack) in tables
 * that grow, and the bytes each block adds to or removes from the model.
 */
#ifndef PT_BPF_HEAP_H
#define PT_BPF_HEAP_H

#include "core.bpf.h"
#include "model/model.bpf.h"
#include "stacks/stacks.bpf.h"
#include "probes/libc_calls.bpf.h"

/*
 * Live blocks.  A program may hold tens of millions of them, but one table
 * sized for that would take GiBs from every run.  Instead: tables that
 * grow.  Table 0 is made at load; when the newest table is half full the
 * loader adds one twice its size (src/collect/tables.c), sets its mask and
 * bumps alloc_tables.  New blocks go into the newest table; lookups try the
 * newest first (most blocks die young).
 *
 * Each table is an array of struct pt_block slots searched by open
 * addressing (bpf/heap/blocks.h, which says why not a hash map), under the
 * model lock: a block's insert or removal and its bytes in the model are
 * one step.  32 bytes per slot, 2 to 4 slots per live block.  Mappable:
 * userspace sweeps ended images' blocks out in place, under the same lock.
 */
struct alloc_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE | BPF_F_INNER_MAP);
	__uint(max_entries, 1 << 17);
	__type(key, __u32);
	__type(value, struct pt_block);
} alloc_table0 SEC(".maps");

/* Tables 1 and on (table 0 is reached directly, see block_slot). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, PT_ALLOC_TABLES);
	__type(key, __u32);
	__array(values, struct alloc_table);
} allocs SEC(".maps");

/* Live blocks at most (--max-allocs): past it, allocations are counted as
 * lost (the tables may have room; the user set the limit). */
const volatile __u64 max_allocs = 1 << 26;

/* Tables in use, each one's slots - 1, live blocks per table and in all
 * (kept under the model lock; read by the loader). */
__u32 alloc_tables = 1;
__u64 blocks_live;
__u32 alloc_mask[PT_ALLOC_TABLES] = { [0] = (1 << 17) - 1 };
__u64 alloc_live[PT_ALLOC_TABLES];

/*
 * Slot i of table t (a pt_block_walk's table), NULL if out of reach.
 * Table 0 directly, not through allocs: an update of a map of maps waits
 * for an RCU grace period (so that no program still uses what it
 * replaced), which was 14 ms of every start when slot 0 was set at load.
 */
static __always_inline struct pt_block *block_slot(__u64 t, __u32 i)
{
	__u32 k = t;
	void *table;

	if (t == 0)
		return bpf_map_lookup_elem(&alloc_table0, &i);
	table = bpf_map_lookup_elem(&allocs, &k);
	return table ? bpf_map_lookup_elem(table, &i) : NULL;
}

#define PT_BLOCK_SLOT(w, i) block_slot((w)->table, (i))
#define PT_BLOCK_LOOP(n, cb, w) bpf_loop((n), (cb), (w), 0)
#include "heap/blocks.h"

static __always_inline void alloc_walk_init(struct pt_block_walk *w, __u32 t, __u32 inst,
					    __u64 addr)
{
	pt_block_walk_init(w, t, t < PT_ALLOC_TABLES ? alloc_mask[t] : 0, inst, addr);
}

/*
 * The table operations, lock held.  Global functions (see
 * bpf/peaktrace.bpf.c), and the loops over tables are bpf_loop calls: each
 * loop body is verified once, not once per table per caller (unrolled,
 * they took the verifier from 25 to 150 thousand instructions per program,
 * 0.3 s more at every start).
 */

/* A walk through the tables, newest first (most blocks die young). */
struct tables_walk {
	__u64 addr, size, stack_id;
	__u32 instance;
	__u32 n;		/* tables in use when the walk began */
	__s64 result;
};

/* The slot of inst's block at addr in table t, or -1. */
static __always_inline __s64 find_in(__u32 t, __u32 inst, __u64 addr)
{
	struct pt_block_walk w;

	if (t >= PT_ALLOC_TABLES)
		return -1;
	alloc_walk_init(&w, t, inst, addr);
	return pt_block_find(&w);
}

__noinline __s64 block_find_in(__u32 t, __u32 inst, __u64 addr)
{
	return find_in(t, inst, addr);
}

static long find_in_older(__u32 i, void *ctx)
{
	struct tables_walk *tw = ctx;
	__u32 t = tw->n - 2 - i;
	__s64 at;

	if (i + 1 >= tw->n)
		return 1;
	at = block_find_in(t, tw->instance, tw->addr);
	if (at < 0)
		return 0;
	tw->result = ((__s64)t << 32) | (__u32)at;
	return 1;
}

/* Where inst's block at addr is, as table << 32 | slot; -1 if nowhere.
 * The newest table first, in line: it holds most blocks. */
static __always_inline __s64 find_block(__u32 inst, __u64 addr)
{
	struct tables_walk tw = { .addr = addr, .instance = inst, .n = alloc_tables, .result = -1 };
	__s64 at = find_in(tw.n - 1, inst, addr);

	if (at >= 0)
		return ((__s64)(tw.n - 1) << 32) | (__u32)at;
	if (tw.n > 1)
		bpf_loop(PT_ALLOC_TABLES, find_in_older, &tw, 0);
	return tw.result;
}

__noinline __s64 block_find(__u32 inst, __u64 addr)
{
	return find_block(inst, addr);
}

/* Takes inst's block at addr out of the tables, its record copied to *out:
 * 0, or -1 if no table has it.  Finding and removing in one call: a free
 * made four. */
__noinline int block_take(__u32 inst, __u64 addr, struct pt_block *out)
{
	__s64 where = find_block(inst, addr);
	__u32 t = where >> 32, at = (__u32)where;
	struct pt_block_walk w;
	struct pt_block *b;

	if (!out || where < 0 || t >= PT_ALLOC_TABLES)
		return -1;
	b = block_slot(t, at);
	if (!b)
		return -1;
	*out = *b;
	alloc_walk_init(&w, t, 0, 0);
	pt_block_remove(&w, at);
	alloc_live[t]--;
	blocks_live--;
	return 0;
}

/* Puts a block in table t: 0, -1 if a block is already at addr, -2 if
 * the table has no room for it. */
__noinline int block_insert(__u32 t, __u32 inst, __u64 addr, __u64 size, __u64 stack_id)
{
	struct pt_block b = { .addr = addr, .instance = inst, .size = size, .stack_id = stack_id };
	struct pt_block_walk w;
	__s64 at;

	if (t >= PT_ALLOC_TABLES)
		return -2;
	alloc_walk_init(&w, t, inst, addr);
	at = pt_block_insert(&w, &b);
	if (at < 0)
		return at;
	alloc_live[t]++;
	blocks_live++;
	return 0;
}

/* Record stack_id of image p (inst): its own unsampled record, else one
 * of stack_recs. */
static __always_inline struct pt_stack_rec *heap_rec(struct pt_proc *p, __u32 inst,
						     __u64 stack_id)
{
	struct pt_stack_key key = { .instance = inst, .stack_id = stack_id };

	if (stack_id == PT_STACK_UNSAMPLED)
		return p ? &p->unsampled : NULL;
	return bpf_map_lookup_elem(&stack_recs, &key);
}

/* The block a removal took out: off the stack of the frames that remove
 * (an allocation's, a queued one's), under which the removal's walk of
 * the tables runs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pt_block);
} block_out SEC(".maps");

/* Removes inst's block at addr and accounts its bytes out; -1 if no table
 * has it. */
static __always_inline int release_held(struct pt_global *g, __u32 inst, __u64 addr)
{
	__u32 zero = 0;
	struct pt_block *b = bpf_map_lookup_elem(&block_out, &zero);
	struct pt_proc *p;

	if (!b || block_take(inst, addr, b))
		return -1;
	p = proc_get(inst);
	if (p)
		p->blocks--;
	model_apply_held(g, p, heap_rec(p, inst, b->stack_id), -(__s64)b->size, -1);
	return 0;
}

/*
 * Every change of the tables holds the model lock: a shift half done by a
 * holder that was preempted must not meet another thread's insert or
 * removal (a block could be left in two slots, or in none).  An event that
 * could neither take the lock nor be queued (bpf/model/model.bpf.h: the
 * queue full, counted) is dropped, and the report says it is incomplete.
 */

/*
 * A free by image inst, lock held: 0 if its block was counted (now out),
 * or a forked child freeing what its parent allocated before the fork
 * (expected, noted); -1 for any other free of a block it never allocated:
 * the C library freeing its own blocks (expected) or a block allocated
 * where no probe saw it (before -p attached, or lost), which the caller
 * tells apart (free_unknown).
 */
__noinline int heap_free_held(__u32 inst, __u64 addr)
{
	struct pt_global *g = global_get();
	struct pt_proc *p, *parent;
	__u32 pinst;

	if (!g || !release_held(g, inst, addr))
		return 0;
	p = proc_get(inst);
	pinst = p ? p->parent_instance : 0;
	parent = pinst ? proc_get(pinst) : NULL;
	/* a fork's parent image, not the image this one exec'd from */
	if (parent && p && parent->tgid != p->tgid && block_find(pinst, addr) >= 0) {
		lost_inc(PT_LOST_INHERITED_FREES);
		return 0;
	}
	return -1;
}

static __always_inline void free_unknown(int by_libc)
{
	lost_inc(by_libc ? PT_LOST_ALLOCATOR_FREES : PT_LOST_UNKNOWN_FREES);
}

/* The free of the block at addr by image inst.  Whether the C library
 * called it (the return address at (%rsp) in it) is looked up only for a
 * block not found, or for a queued free, which has no registers later. */
__noinline int heap_release(struct pt_regs *regs, int ra_at_rsp, __u32 inst, __u64 addr)
{
	struct pt_global *g = global_get();
	int r;

	if (!g)
		return 0;
	if (model_take(g)) {
		r = heap_free_held(inst, addr);
		model_unlock(g);
		if (r)
			free_unknown(ra_at_rsp && caller_in_libc(regs, inst));
		return 0;
	}
	model_defer(DEFER_FREE, inst, addr, ra_at_rsp && caller_in_libc(regs, inst), 0);
	return 0;
}

static __always_inline void heap_free(struct pt_regs *regs, int ra_at_rsp, __u32 inst,
				      __u64 addr)
{
	if (addr)
		heap_release(regs, ra_at_rsp, inst, addr);
}

/*
 * The stack a new block of size bytes is charged to.  Unwinding is most
 * of the cost of a traced allocation, and most allocations are small: the
 * C++ workload of scripts/bench makes 2 M blocks of 32-64 bytes.  So a
 * block smaller than sample_bytes has its stack captured with probability
 * size / sample_bytes (a Bernoulli draw: the chance is exact, so each
 * sampled block stands for sample_bytes bytes whatever its size), and is
 * otherwise charged to the image's PT_STACK_UNSAMPLED record without a
 * walk.  Every block still counts its exact bytes in the model, so every
 * total and peak stays exact; only how a process's small-block bytes split
 * between stacks is estimated, at report time (src/model/sampling.c).
 * Under the preload library the ledger (src/preload/ledger.c) may have made the
 * draw already: a block it drew arrives picked; one it passed by never
 * arrives.
 *
 */
static __always_inline __u64 heap_stack_pick(struct pt_regs *ctx, __u32 inst, __u64 size)
{
	struct unwind_scratch *sc;

	if (!sample_bytes || size >= sample_bytes)
		return stack_id_current(ctx, inst);
	sc = ledger ? unwind_scratch_get() : NULL;
	if ((sc && sc->picked) ||
	    (((__u64)bpf_get_prandom_u32() * sample_bytes) >> 32) < size)
		return stack_id_current(ctx, inst) | PT_STACK_SMALL;
	return PT_STACK_UNSAMPLED;
}

/*
 * A record still at a new block's address was freed where no probe saw it
 * (a free inside an allocator call, as from a signal handler): it is
 * released first.  The newest table's insert finds it; an older table may
 * hold it too, but looking there costs every allocation a walk per table,
 * so only blocks of STALE_CHECK_MIN bytes or more look: a stale small
 * record, which takes a free no probe could see, stays counted.
 */
#define STALE_CHECK_MIN (64 << 10)

/* Puts the walk's block in the newest table, first releasing a stale
 * record of the same address (freed where no probe saw it): 0, or -2 if
 * it has no room for it.  By a call, not in line: the insert's 80 bytes
 * of walk and block would sit in heap_alloc's frame, under the stack
 * unwinder's deepest chain of calls (512 bytes in all). */
static __always_inline int put_in_newest(struct pt_global *g, struct tables_walk *tw)
{
	__u32 t = tw->n - 1;
	int r = block_insert(t, tw->instance, tw->addr, tw->size, tw->stack_id);

	if (r == -1) {
		release_held(g, tw->instance, tw->addr);
		r = block_insert(t, tw->instance, tw->addr, tw->size, tw->stack_id);
	}
	return r;
}

/* An older table, newest first: stops at the first with room, or at a
 * stale record of the address (-1), which the caller releases.  Not
 * released here: from inside this callback, the release's own walk of the
 * tables would nest four calls deeper than the 512 bytes of stack a
 * program and its subprograms share (kernels without private stacks). */
static long put_in_older(__u32 i, void *ctx)
{
	struct tables_walk *tw = ctx;

	if (i + 1 >= tw->n)
		return 1;
	tw->result = block_insert(tw->n - 2 - i, tw->instance, tw->addr, tw->size, tw->stack_id);
	return tw->result != -2;
}

/* Puts block b in the newest table, or if the loader has not added one in
 * time, the newest that has room.  Lock held.  Returns 0, -1 if full. */
static __always_inline int block_put(struct pt_global *g, __u32 inst, __u64 addr, __u64 size,
				     __u64 sid)
{
	struct tables_walk tw = { .addr = addr, .size = size, .stack_id = sid,
				  .instance = inst, .n = alloc_tables, .result = -1 };

	if (blocks_live >= max_allocs)
		return -1;
	if (!put_in_newest(g, &tw))
		return 0;
	if (tw.n > 1) {
		bpf_loop(PT_ALLOC_TABLES, put_in_older, &tw, 0);
		if (tw.result == -1) {	/* stale in an older table: released, then again */
			release_held(g, tw.instance, tw.addr);
			bpf_loop(PT_ALLOC_TABLES, put_in_older, &tw, 0);
		}
	}
	return tw.result ? -1 : 0;
}

/* Block addr of size bytes of image inst counted in record rec (stack
 * sid); the lock held.  Global: checked once for an allocation and for a
 * queued one. */
__noinline int alloc_put(__u32 inst, __u64 addr, __u64 size, __u64 sid, struct pt_stack_rec *rec)
{
	struct pt_global *g = global_get();
	struct pt_proc *p = proc_get(inst);

	if (!g || !p || !rec)
		return 0;
	if (alloc_tables > 1 && size >= STALE_CHECK_MIN)
		release_held(g, inst, addr);
	if (block_put(g, inst, addr, size, sid)) {
		lost_inc(PT_LOST_ALLOCS_FULL);
	} else {
		p->blocks++;
		model_apply_held(g, p, rec, size, 1);
	}
	return 0;
}

/* The same for a queued allocation (bpf/model/deferred.bpf.h): its record
 * found again. */
static __always_inline void alloc_queued(__u32 inst, __u64 addr, __u64 size, __u64 sid)
{
	struct pt_proc *p = proc_get(inst);
	struct pt_stack_rec *rec = p ? heap_rec(p, inst, sid) : NULL;

	if (rec)
		alloc_put(inst, addr, size, sid, rec);
	else
		lost_inc(PT_LOST_STACK_ERRORS);
}

/* Block addr of size bytes, made by image inst, charged to stack sid. */
__noinline int heap_alloc_as(__u32 inst, __u64 addr, __u64 size, __u64 sid)
{
	struct pt_proc *p = proc_get(inst);
	struct pt_global *g = global_get();
	struct pt_stack_rec *rec;

	if (!g || !p)
		return 0;
	rec = sid == PT_STACK_UNSAMPLED ? &p->unsampled : stack_rec_of(inst, sid);
	if (!rec)
		return 0;
	if (!model_take(g)) {
		model_defer(DEFER_ALLOC, inst, addr, size, sid);
		return 0;
	}
	alloc_put(inst, addr, size, sid, rec);
	model_unlock(g);
	return 0;
}

/* The stack first, outside the lock: unwinding is the long part.  The
 * accounting is a call of its own: the unwinder's chain of calls then
 * starts from a small frame (a program and the subprograms it calls share
 * 512 bytes of stack on kernels without private BPF stacks, in at most 8
 * frames: this one is the unwinder's second). */
__noinline int heap_alloc(struct pt_regs *ctx, __u32 inst, __u64 addr, __u64 size)
{
	if (addr <= PT_BLOCK_TOMB || !proc_get(inst))
		return 0;
	return heap_alloc_as(inst, addr, size, heap_stack_pick(ctx, inst, size));
}

#endif

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
 * Live blocks.  A program may hold tens of millions of them, but one map
 * sized for that would take hundreds of MiB from every run.  Instead:
 * tables that grow.  Table 0 is made at load; when the newest table is half
 * full the loader adds one twice its size (src/collect/tables.c) and bumps
 * alloc_tables.  New blocks go into the newest table; lookups try the
 * newest first.
 *
 * Preallocated: an insert takes an element from a per-CPU free list
 * instead of allocating one.  The C++ workload of scripts/bench at 1 M
 * nodes ran in 12.9 s instead of 16.3 s (medians of 5 interleaved runs).
 * The cost: about 96 bytes per entry of capacity (16 without preallocation),
 * taken when a table is made (table 0: 64 Ki entries, 6 MiB).  A table is
 * added when the newest is half full, so right after one is added the
 * capacity is up to 4 times the live blocks: a program holding 16 M blocks
 * has about 6 GiB of tables.
 */
struct alloc_table {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, 0);
	__uint(max_entries, 1 << 20);
	__type(key, struct pt_alloc_key);
	__type(value, struct pt_alloc);
} alloc_table0 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, PT_ALLOC_TABLES);
	__type(key, __u32);
	__array(values, struct alloc_table);
} allocs SEC(".maps") = {
	.values = { [0] = &alloc_table0 },
};

/* Tables in use, and live records per table (read by the loader). */
__u32 alloc_tables = 1;
__u64 alloc_live[PT_ALLOC_TABLES];

static __always_inline void *alloc_table(__u32 t)
{
	return bpf_map_lookup_elem(&allocs, &t);
}

static __always_inline void alloc_live_add(__u32 t, __s64 n)
{
	if (t < PT_ALLOC_TABLES)
		__sync_fetch_and_add(&alloc_live[t], n);
}

/*
 * Removes the record of the block at key and accounts its bytes out.
 * Returns 0, or -1 if no table has it.
 */
__noinline int heap_release(__u32 inst, __u64 addr)
{
	struct pt_alloc_key k = { .instance = inst, .addr = addr }, *key = &k;
	__u32 n = alloc_tables, i, t;
	struct pt_alloc *a, old;
	void *table;

	for (i = 0; i < PT_ALLOC_TABLES; i++) {
		if (i >= n)
			break;
		t = n - 1 - i;	/* the newest first: most blocks die young */
		table = alloc_table(t);
		if (!table)
			continue;
		a = bpf_map_lookup_elem(table, key);
		if (!a)
			continue;
		old = *a;
		/* Only the thread whose delete succeeds accounts it (double free). */
		if (bpf_map_delete_elem(table, key))
			return 0;
		alloc_live_add(t, -1);
		model_apply(key->instance, old.stack_id,
			    -(__s64)old.size, -1);
		return 0;
	}
	return -1;
}

static __noinline int alloc_known(__u32 inst, __u64 addr)
{
	struct pt_alloc_key key = { .instance = inst, .addr = addr };
	__u32 n = alloc_tables, i;
	void *table;

	for (i = 0; i < PT_ALLOC_TABLES; i++) {
		if (i >= n)
			break;
		table = alloc_table(i);
		if (table && bpf_map_lookup_elem(table, &key))
			return 1;
	}
	return 0;
}

/*
 * A free of a block this image never allocated: a forked child freeing
 * what its parent allocated before the fork (expected), the C library
 * freeing its own blocks (expected), or a block allocated where no probe
 * saw it (before -p attached, or lost): only the last is a loss.
 */
__noinline int count_unknown_free(struct pt_regs *regs, int ra_at_rsp, __u32 inst, __u64 addr)
{
	struct pt_proc *p = bpf_map_lookup_elem(&procs, &inst), *parent;
	__u32 pinst = p ? p->parent_instance : 0;

	parent = pinst ? bpf_map_lookup_elem(&procs, &pinst) : NULL;
	/* a fork's parent image, not the image this one exec'd from */
	if (parent && p && parent->tgid != p->tgid && alloc_known(pinst, addr)) {
		lost_inc(PT_LOST_INHERITED_FREES);
		return 0;
	}
	if (ra_at_rsp && caller_in_libc(regs, inst)) {
		lost_inc(PT_LOST_ALLOCATOR_FREES);
		return 0;
	}
	lost_inc(PT_LOST_UNKNOWN_FREES);
	return 0;
}

static __always_inline void heap_free(struct pt_regs *regs, int ra_at_rsp, __u32 inst,
				      __u64 addr)
{
	if (addr && heap_release(inst, addr))
		count_unknown_free(regs, ra_at_rsp, inst, addr);
}

#define STALE_CHECK_MIN (64 << 10)

/*
 * The record a new block of size bytes is charged to.  Unwinding is most
 * of the cost of a traced allocation, and most allocations are small: the
 * C++ workload of scripts/bench makes 2 M blocks of 32-64 bytes.  So a
 * block smaller than sample_bytes has its stack captured with probability
 * size / sample_bytes (a Bernoulli draw: the chance is exact, so each
 * sampled block stands for sample_bytes bytes whatever its size), and is
 * otherwise charged to the image's PT_STACK_UNSAMPLED record without a
 * walk.  Every block still counts its exact bytes in the model, so every
 * total and peak stays exact; only how a process's small-block bytes split
 * between stacks is estimated, at report time (src/model/sampling.c).
 */
static __always_inline struct pt_stack_rec *heap_stack_rec(struct pt_regs *ctx, __u32 inst,
							    __u64 size, __u64 *sid)
{
	int made;

	if (!sample_bytes || size >= sample_bytes)
		return stack_rec_current(ctx, inst, 0, sid);
	if ((((__u64)bpf_get_prandom_u32() * sample_bytes) >> 32) < size)
		return stack_rec_current(ctx, inst, PT_STACK_SMALL, sid);
	*sid = PT_STACK_UNSAMPLED;
	return stack_rec_of(inst, PT_STACK_UNSAMPLED, &made);
}

__noinline int heap_alloc(struct pt_regs *ctx, __u32 inst, __u64 addr, __u64 size)
{
	struct pt_alloc_key key = { .instance = inst, .addr = addr };
	__u32 n = alloc_tables, newest = n - 1;
	struct pt_stack_rec *rec;
	struct pt_alloc a = {};
	void *table;

	if (!addr || newest >= PT_ALLOC_TABLES)
		return 0;
	rec = heap_stack_rec(ctx, inst, size, &a.stack_id);
	if (!rec)
		return 0;
	a.size = size;
	table = alloc_table(newest);
	if (!table)
		return 0;
	/*
	 * A record still at this address: freed where no probe saw it (a free
	 * inside an allocator call, as from a signal handler).  Release it
	 * first.  The newest table's insert finds it; an older table may hold
	 * it too, but looking there costs every allocation a cache miss per
	 * table once tables hold millions of blocks (the C++ workload of
	 * scripts/bench: 0.8 us of 3 per traced malloc in bucket walks), so
	 * only blocks of STALE_CHECK_MIN bytes or more look: a stale small
	 * record, which takes a free no probe could see, stays counted.
	 */
	if (n > 1 && size >= STALE_CHECK_MIN)
		heap_release(inst, addr);
	if (bpf_map_update_elem(table, &key, &a, BPF_NOEXIST)) {
		if (!bpf_map_lookup_elem(table, &key)) {
			lost_inc(PT_LOST_ALLOCS_FULL);
			return 0;
		}
		heap_release(inst, addr);
		if (bpf_map_update_elem(table, &key, &a, BPF_NOEXIST)) {
			lost_inc(PT_LOST_ALLOCS_FULL);
			return 0;
		}
	}
	alloc_live_add(newest, 1);
	model_apply_rec(inst, rec, size, 1);
	return 0;
}

#endif

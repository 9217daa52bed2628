/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The live-block tables' algorithm: open addressing with linear probing in
 * a power-of-two array of struct pt_block slots, shared by the BPF programs
 * (bpf/heap/heap.bpf.h: every allocation and free) and userspace
 * (src/collect/tables.c: sweeping ended images out), and checked against a
 * plain reference by tests/unit/test_blocks.c.  The caller serialises
 * (the model lock).
 *
 * Why not a BPF hash map: on the malloc/free storm of scripts/bench, the
 * hash map's insert, lookup and delete (bucket locks, free-list pops and
 * pushes, jhash, element cache misses) were 12% of the traced program's
 * time, about 550 ns of each pair, more than all the programs' own code.
 * A probe here is an array slot read.
 *
 * Invariants:
 *  - a block lies at most PT_BLOCK_PROBES - 1 slots past its home slot, so a
 *    lookup reads at most PT_BLOCK_PROBES slots (insert refuses a block
 *    that cannot be placed that near: the table is full for it);
 *  - removal shifts the blocks after the hole back (which only brings a
 *    block nearer its home) up to the next empty slot; if that takes more
 *    than PT_BLOCK_SHIFT slots, the hole is left as a tombstone, which
 *    lookups pass over and inserts reuse.
 *
 * The includer defines PT_BLOCK_SLOT(walk, index), a pointer to the slot
 * (NULL if out of reach), and PT_BLOCK_LOOP(n, callback, walk), which calls
 * callback(i, walk) for i = 0.. until it returns 1 (bpf_loop's contract):
 * the BPF side reaches slots through its maps and loops with bpf_loop
 * (verified once, however many steps), userspace through memory.
 */
#ifndef PT_BLOCKS_H
#define PT_BLOCKS_H

#include "peaktrace.h"

#ifndef PT_INLINE
#define PT_INLINE static inline __attribute__((always_inline))
#endif

/* PT_BLOCK_PROBES, PT_BLOCK_EMPTY and PT_BLOCK_TOMB: bpf/peaktrace.h */
#ifndef PT_BLOCK_SHIFT	/* the unit test makes it small, to make tombstones */
#define PT_BLOCK_SHIFT 256
#endif

/* One lookup, insert or removal in one table. */
struct pt_block_walk {
	__u64 table;		/* which table: the includer's handle */
	__u32 mask;		/* slots - 1 */
	__u32 instance;		/* the key: image and address */
	__u64 addr;
	__u32 home;
	__u32 hole;		/* removal: the slot to fill */
	__s64 found;		/* the key's slot, or -1 */
	__s64 free;		/* insert: first free slot, or -1 */
	__u32 done;		/* removal: the shift reached an empty slot */
	__u32 pad;
};

/* The slot a key is looked for first: Fibonacci hashing of the address and
 * of the instance apart (a product's high half mixes every bit of its
 * input), so that forked images' blocks at the same addresses spread too. */
PT_INLINE __u32 pt_block_home(__u32 instance, __u64 addr, __u32 mask)
{
	__u64 h = addr * 0x9e3779b97f4a7c15ULL ^ (__u64)instance * 0xc2b2ae3d27d4eb4fULL;

	return (__u32)(h >> 32) & mask;
}

PT_INLINE void pt_block_walk_init(struct pt_block_walk *w, __u64 table, __u32 mask,
				  __u32 instance, __u64 addr)
{
	w->table = table;
	w->mask = mask;
	w->instance = instance;
	w->addr = addr;
	w->home = pt_block_home(instance, addr, mask);
	w->hole = 0;
	w->found = -1;
	w->free = -1;
	w->done = 0;
	w->pad = 0;
}

/* Step i of a lookup or an insert, at slot w->home + i (the walk moves
 * home on, see pt_block_probe): stops at the key or at an empty slot,
 * noting the first free (empty or tombstone) slot on the way. */
PT_INLINE long pt_block_probe_at(struct pt_block_walk *w, __u32 i)
{
	__u32 at = (w->home + i) & w->mask;
	struct pt_block *b = PT_BLOCK_SLOT(w, at);

	if (!b)
		return 1;
	if (b->addr == PT_BLOCK_EMPTY || b->addr == PT_BLOCK_TOMB) {
		if (w->free < 0)
			w->free = at;
		return b->addr == PT_BLOCK_EMPTY;
	}
	if (b->addr == w->addr && b->instance == w->instance) {
		w->found = at;
		return 1;
	}
	return 0;
}

static long pt_block_probe_step(__u32 i, void *ctx)
{
	return pt_block_probe_at(ctx, i);
}

/*
 * A lookup's or an insert's walk.  The home slot is looked at in line:
 * tables are at most half full, so most walks end there (the key, or an
 * empty slot), and a loop's step is a call.  The loop goes on from the
 * next slot.
 */
PT_INLINE void pt_block_probe(struct pt_block_walk *w)
{
	if (pt_block_probe_at(w, 0))
		return;
	w->home = (w->home + 1) & w->mask;
	PT_BLOCK_LOOP(PT_BLOCK_PROBES - 1, pt_block_probe_step, w);
}

/* The slot of the key, or -1. */
PT_INLINE __s64 pt_block_find(struct pt_block_walk *w)
{
	pt_block_probe(w);
	return w->found;
}

/*
 * Puts block b (its key already in w) in the first free slot near its
 * home.  Returns its slot; -1 if the key is already there (w->found says
 * where; nothing written), -2 if no slot within reach is free.
 */
PT_INLINE __s64 pt_block_insert(struct pt_block_walk *w, const struct pt_block *b)
{
	struct pt_block *s;

	pt_block_probe(w);
	if (w->found >= 0)
		return -1;
	if (w->free < 0)
		return -2;
	s = PT_BLOCK_SLOT(w, (__u32)w->free);
	if (!s)
		return -2;
	*s = *b;
	return w->free;
}

/* Step i of a removal, at slot w->home + i + 1 (home starts at the removed
 * slot and moves on, see pt_block_remove): the slot either ends the shift
 * (empty), is passed (tombstone, or a block whose home lies after the
 * hole: moving it would put it before its home), or fills the hole. */
PT_INLINE long pt_block_shift_at(struct pt_block_walk *w, __u32 i)
{
	__u32 at = (w->home + i + 1) & w->mask, from_home;
	struct pt_block *b = PT_BLOCK_SLOT(w, at), *h;

	if (!b)
		return 1;
	if (b->addr == PT_BLOCK_EMPTY) {
		h = PT_BLOCK_SLOT(w, w->hole);
		if (h)
			h->addr = PT_BLOCK_EMPTY;
		w->done = 1;
		return 1;
	}
	if (b->addr == PT_BLOCK_TOMB)
		return 0;
	from_home = (at - pt_block_home(b->instance, b->addr, w->mask)) & w->mask;
	if (from_home >= ((at - w->hole) & w->mask)) {
		h = PT_BLOCK_SLOT(w, w->hole);
		if (!h)
			return 1;
		*h = *b;
		w->hole = at;
	}
	return 0;
}

static long pt_block_shift_step(__u32 i, void *ctx)
{
	return pt_block_shift_at(ctx, i);
}

/* Empties slot `at`, keeping every other block reachable.  The slot after
 * it is looked at in line, as pt_block_probe() does: most often empty. */
PT_INLINE void pt_block_remove(struct pt_block_walk *w, __u32 at)
{
	struct pt_block *h;

	w->home = at;	/* the shift scans from here */
	w->hole = at;
	w->done = 0;
	if (!pt_block_shift_at(w, 0)) {
		w->home = (w->home + 1) & w->mask;
		PT_BLOCK_LOOP(PT_BLOCK_SHIFT - 1, pt_block_shift_step, w);
	}
	if (w->done)
		return;
	/* cut short: lookups must go on past the hole */
	h = PT_BLOCK_SLOT(w, w->hole);
	if (h)
		h->addr = PT_BLOCK_TOMB;
}

#endif

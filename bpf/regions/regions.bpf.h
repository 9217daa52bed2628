/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Anonymous mmap regions: counted like heap blocks, at the stack of the
 * mmap call, and cut apart by munmap, mremap and MAP_FIXED mappings that
 * cover part of them.
 */
#ifndef PT_BPF_REGIONS_H
#define PT_BPF_REGIONS_H

#include "core.bpf.h"
#include "model/model.bpf.h"
#include "stacks/stacks.bpf.h"
#include "regions/cut.h"

/* Counted regions by (instance, start address). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct pt_alloc_key);
	__type(value, struct pt_region);
} regions SEC(".maps");

/* One munmap's overlapping regions, collected by a map walk, then cut;
 * per CPU (too large for the BPF stack). */
struct overlap {
	struct pt_alloc_key key;
	struct pt_region region;
};

struct region_scratch {
	__u32 n_overlaps;
	__u32 overlaps_more;
	struct overlap overlaps[PT_MAX_OVERLAPS];
};

PT_PERCPU_SCRATCH(region_scratch, struct region_scratch)

struct overlap_scan {
	__u32 instance;
	__u32 pad;
	__u64 lo, hi;
};

static long overlap_collect(struct bpf_map *map, struct pt_alloc_key *key,
			    struct pt_region *r, struct overlap_scan *scan)
{
	struct region_scratch *sc;
	__u32 i;

	if (key->instance != scan->instance)
		return 0;
	if (key->addr >= scan->hi || key->addr + r->len <= scan->lo)
		return 0;
	sc = region_scratch_get();
	if (!sc)
		return 1;
	i = sc->n_overlaps;
	if (i >= PT_MAX_OVERLAPS) {
		sc->overlaps_more = 1;
		return 1;
	}
	sc->overlaps[i].key = *key;
	sc->overlaps[i].region = *r;
	sc->n_overlaps = i + 1;
	return 0;
}

/* Cut [lo, hi) out of one counted region; returns the bytes removed. */
static __noinline __u64 region_cut(__u32 inst, struct overlap *o, __u64 lo, __u64 hi)
{
	struct pt_alloc_key k = { .instance = inst };
	struct pt_region piece = { .stack_id = o->region.stack_id };
	struct pt_proc *p;
	struct pt_cut c;
	__s64 pieces = 0;

	if (bpf_map_delete_elem(&regions, &o->key))
		return 0;
	pt_region_cut(o->key.addr, o->region.len, lo, hi, &c);
	if (c.left_len) {
		k.addr = o->key.addr;
		piece.len = c.left_len;
		if (!bpf_map_update_elem(&regions, &k, &piece, BPF_ANY))
			pieces++;
	}
	if (c.right_len) {
		k.addr = c.right_start;
		piece.len = c.right_len;
		if (!bpf_map_update_elem(&regions, &k, &piece, BPF_ANY))
			pieces++;
	}
	p = proc_get(inst);
	if (p)
		__sync_fetch_and_add(&p->regions, pieces - 1);
	model_apply(inst, o->region.stack_id, -(__s64)c.removed, pieces - 1);
	return c.removed;
}

struct cut_ctx {
	__u32 inst, pad;
	__u64 lo, hi, removed;
};

/* One overlapping region cut: a loop callback, so that the verifier checks
 * it once, not once per possible overlap (unrolled, the 16 of them took
 * 20 ms of each uprobe program's verification at every start). */
static long cut_step(__u64 i, struct cut_ctx *cut)
{
	struct region_scratch *sc = region_scratch_get();
	struct overlap o;

	if (!sc || i >= PT_MAX_OVERLAPS)
		return 1;
	o = sc->overlaps[i];
	cut->removed += region_cut(cut->inst, &o, cut->lo, cut->hi);
	return 0;
}

/* Remove [lo, hi) from the counted regions of inst; returns bytes removed. */
__noinline __u64 region_remove(__u32 inst, __u64 lo, __u64 hi)
{
	struct pt_alloc_key key = { .instance = inst, .addr = lo };
	struct overlap_scan scan = { .instance = inst, .lo = lo, .hi = hi };
	struct pt_proc *p = proc_get(inst);
	struct pt_region *r;
	struct region_scratch *sc;
	struct cut_ctx cut;
	struct overlap o;
	__u32 n;

	if (!p || !p->regions || hi <= lo)
		return 0;
	/* Fast path: exactly one whole region. */
	r = bpf_map_lookup_elem(&regions, &key);
	if (r && r->len == hi - lo) {
		o.key = key;
		o.region = *r;
		return region_cut(inst, &o, lo, hi);
	}
	sc = region_scratch_get();
	if (!sc)
		return 0;
	sc->n_overlaps = 0;
	sc->overlaps_more = 0;
	bpf_for_each_map_elem(&regions, overlap_collect, &scan, 0);
	sc = region_scratch_get();
	if (!sc)
		return 0;
	if (sc->overlaps_more)
		lost_inc(PT_LOST_OVERLAPS);
	n = sc->n_overlaps;
	cut.inst = inst;
	cut.lo = lo;
	cut.hi = hi;
	cut.removed = 0;
	bpf_loop(n < PT_MAX_OVERLAPS ? n : PT_MAX_OVERLAPS, cut_step, &cut, 0);
	return cut.removed;
}

__noinline int region_add(struct pt_regs *ctx, __u32 inst, __u64 addr, __u64 len)
{
	struct pt_alloc_key key = { .instance = inst, .addr = addr };
	struct pt_region r = { .len = page_round(len) };
	struct pt_stack_rec *rec;
	struct pt_proc *p;

	rec = stack_rec_current(ctx, inst, 0, &r.stack_id);
	if (!rec)
		return 0;
	if (bpf_map_update_elem(&regions, &key, &r, BPF_NOEXIST)) {
		lost_inc(PT_LOST_REGIONS_FULL);
		return 0;
	}
	p = proc_get(inst);
	if (p)
		__sync_fetch_and_add(&p->regions, 1);
	model_apply_rec(inst, r.stack_id, rec, r.len, 1);
	return 0;
}

/*
 * An anonymous mapping the program made counts; one it cannot touch
 * (PROT_NONE) is reserved address space, not memory: the Go runtime
 * reserves its arenas so, then maps them with MAP_FIXED as it uses them.
 */
static __always_inline void on_mmap(void *ctx, __u32 inst, __u64 ret, __u64 len,
				    __u64 prot, __u64 flags)
{
	if (is_err(ret))
		return;
	/* MAP_FIXED replaced whatever was mapped there, counted or not. */
	if (flags & MAP_FIXED)
		region_remove(inst, ret, ret + page_round(len));
	if ((flags & MAP_ANONYMOUS) && prot != PROT_NONE)
		region_add(ctx, inst, ret, len);
}

static __always_inline void on_munmap(__u32 inst, __u64 addr, __u64 len)
{
	region_remove(inst, addr, addr + page_round(len));
}

static __always_inline void on_mremap(void *ctx, __u32 inst, __u64 ret, __u64 old,
				      __u64 old_size, __u64 new_len, __u64 flags)
{
	__u64 old_len = page_round(old_size);

	if (is_err(ret) || !old_len)
		return;
	/* Like realloc: the old range goes, the new one is counted at the
	 * mremap call's stack, but only if the old range was counted heap. */
	if (!region_remove(inst, old, old + old_len))
		return;
	if (flags & MREMAP_FIXED)
		region_remove(inst, ret, ret + page_round(new_len));
	region_add(ctx, inst, ret, new_len);
}

#endif

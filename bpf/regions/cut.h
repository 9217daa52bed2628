/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Cutting a range out of a counted mmap region: what is left on each side
 * and how many bytes go.  Plain C, shared by the BPF programs
 * (regions/regions.bpf.h) and the unit test that checks it against a page
 * bitmap (tests/unit/test_regions.c).
 */
#ifndef PT_REGION_CUT_H
#define PT_REGION_CUT_H

#include "peaktrace.h"

#ifndef PT_INLINE
#define PT_INLINE static inline __attribute__((always_inline))
#endif

struct pt_cut {
	__u64 left_len;		/* [start, start + left_len) stays, if not 0 */
	__u64 right_start;	/* [right_start, end) stays, if right_len */
	__u64 right_len;
	__u64 removed;		/* bytes of the region inside [lo, hi) */
};

/* The region [start, start + len) minus [lo, hi); the two overlap. */
PT_INLINE void pt_region_cut(__u64 start, __u64 len, __u64 lo, __u64 hi, struct pt_cut *c)
{
	__u64 end = start + len;
	__u64 cut_lo = start > lo ? start : lo, cut_hi = end < hi ? end : hi;

	c->left_len = start < lo ? lo - start : 0;
	c->right_start = hi;
	c->right_len = end > hi ? end - hi : 0;
	c->removed = cut_hi > cut_lo ? cut_hi - cut_lo : 0;
}

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The peak model's update rules, shared by the BPF programs (which run them
 * on every event) and the unit tests (which check them against a brute-force
 * history).  Plain C over the ABI structs: no helpers, no locks; the caller
 * serialises.
 *
 * Lazy snapshot: at each new tree peak the epoch moves on.  Before any
 * record changes, if its snapshot is from an older epoch, the value it had
 * at the latest peak (its current value, since it has not changed since) is
 * saved.  At report time a record's value at the peak is its snapshot if
 * that is from the last epoch, else its live value.  The same with each
 * process's own peak epoch gives the stacks at that process's peak.
 */
#ifndef PT_MODEL_UPDATE_H
#define PT_MODEL_UPDATE_H

#include "peaktrace.h"

#ifndef PT_INLINE
#define PT_INLINE static inline __attribute__((always_inline))
#endif

PT_INLINE void pt_model_snapshot(struct pt_global *g, struct pt_proc *p,
				 struct pt_stack_rec *s)
{
	if (s->snap_epoch != g->peak_epoch) {
		s->snap_bytes = s->live_bytes;
		s->snap_count = s->live_count;
		s->snap_epoch = g->peak_epoch;
	}
	if (s->psnap_epoch != p->peak_epoch) {
		s->psnap_bytes = s->live_bytes;
		s->psnap_count = s->live_count;
		s->psnap_epoch = p->peak_epoch;
	}
	if (p->tree_snap_epoch != g->peak_epoch) {
		p->tree_snap_bytes = p->live_bytes;
		p->tree_snap_epoch = g->peak_epoch;
	}
}

/*
 * The time of a new peak when the caller passes now = 0: the BPF side reads
 * the clock only when a peak moves (most events do not; on the malloc/free
 * storm of scripts/bench a clock read was about 40 ns of each event), and
 * once per event at most.
 */
#ifndef PT_MODEL_CLOCK
#ifdef __bpf__
#error "define PT_MODEL_CLOCK() before including peak_model.h (bpf/model/model.bpf.h)"
#endif
#define PT_MODEL_CLOCK() 0
#endif

PT_INLINE __u64 pt_model_now(__u64 *now)
{
	if (!*now)
		*now = PT_MODEL_CLOCK();
	return *now;
}

/* A change of `bytes` live bytes and `count` live blocks on stack record s
 * of process image p, at time now (0: read PT_MODEL_CLOCK() if needed). */
PT_INLINE void pt_model_apply(struct pt_global *g, struct pt_proc *p,
			      struct pt_stack_rec *s, __s64 bytes, __s64 count,
			      __u64 now)
{
	if (!p->alive) /* the image ended while one of its threads still ran */
		return;
	pt_model_snapshot(g, p, s);
	s->live_bytes += bytes;
	s->live_count += count;
	p->live_bytes += bytes;
	g->live_bytes += bytes;
	if (bytes < 0) {
		p->frees++;
		return;
	}
	if (bytes == 0)
		return;
	p->allocs++;
	if (p->live_bytes > p->peak_bytes) {
		p->peak_bytes = p->live_bytes;
		p->peak_time_ns = pt_model_now(&now);
		p->peak_epoch++;
		s->psnap_bytes = s->live_bytes;
		s->psnap_count = s->live_count;
		s->psnap_epoch = p->peak_epoch;
	}
	if (g->live_bytes > g->peak_bytes) {
		g->peak_bytes = g->live_bytes;
		g->peak_time_ns = pt_model_now(&now);
		g->peak_epoch++;
		g->rss_at_heap_peak = g->rss_live;
		s->snap_bytes = s->live_bytes;
		s->snap_count = s->live_count;
		s->snap_epoch = g->peak_epoch;
		p->tree_snap_bytes = p->live_bytes;
		p->tree_snap_epoch = g->peak_epoch;
	}
}

/*
 * RSS counter `member` of p now reads `exact` pages (count plus per-CPU
 * deltas), `count` pages as the kernel's own readers see it.  Each change
 * of a counter fires rss_stat, so the others keep their last values.  The
 * tree's RSS is the sum over live images.
 */
/* The approximate total of p (file + anon + shmem counts). */
PT_INLINE __u64 pt_model_approx(const struct pt_proc *p)
{
	return p->rss_count[PT_RSS_FILE] + p->rss_count[PT_RSS_ANON] + p->rss_count[PT_RSS_SHMEM];
}

/* p's tree t (may be NULL) gains rss and approx pages (negative: loses);
 * *now as pt_model_now reads it. */
PT_INLINE void pt_model_tree(struct pt_tree *t, __s64 rss, __s64 approx, __u64 *now)
{
	__u64 drift;

	if (!t)
		return;
	t->rss_live += rss;
	t->approx_live += approx;
	if ((__s64)t->rss_live > (__s64)t->rss_peak) {
		t->rss_peak = t->rss_live;
		t->rss_peak_time_ns = pt_model_now(now);
	}
	if ((__s64)t->approx_live > (__s64)t->approx_peak)
		t->approx_peak = t->approx_live;
	drift = t->rss_live > t->approx_live ? t->rss_live - t->approx_live :
					       t->approx_live - t->rss_live;
	if (drift > t->max_drift && (__s64)t->rss_live >= 0 && (__s64)t->approx_live >= 0)
		t->max_drift = drift;
}

PT_INLINE void pt_model_rss(struct pt_global *g, struct pt_proc *p, struct pt_tree *t, int member,
			    __s64 exact, __s64 count, __u64 *now)
{
	__u64 v = exact > 0 ? exact : 0, c = count > 0 ? count : 0, total, approx, drift;
	unsigned int m = member & (PT_RSS_COUNT - 1);
	__u64 old_approx = pt_model_approx(p);

	if (!p->alive || p->launcher)
		return;
	if (m == PT_RSS_SHMEM)
		g->rss_shmem_live += v - p->rss[m];
	p->rss[m] = v;
	p->rss_count[m] = c;
	if (v > p->rss_member_peak[m])
		p->rss_member_peak[m] = v;
	p->rss_events++;
	if (m == PT_RSS_SWAP)
		return; /* swap entries are not resident */
	total = p->rss[PT_RSS_FILE] + p->rss[PT_RSS_ANON] + p->rss[PT_RSS_SHMEM];
	approx = pt_model_approx(p);
	pt_model_tree(t, (__s64)(total - p->rss_total), (__s64)(approx - old_approx), now);
	g->rss_live += total - p->rss_total;
	p->rss_total = total;
	if (total > p->rss_peak) {
		p->rss_peak = total;
		p->rss_peak_time_ns = pt_model_now(now);
	}
	if (approx > p->rss_approx_peak)
		p->rss_approx_peak = approx;
	drift = total > approx ? total - approx : approx - total;
	if (drift > p->rss_max_drift)
		p->rss_max_drift = drift;
	if (g->rss_live > g->rss_peak) {
		g->rss_peak = g->rss_live;
		g->rss_peak_time_ns = pt_model_now(now);
		g->rss_shmem_at_peak = g->rss_shmem_live;
		g->heap_at_rss_peak = g->live_bytes;
	}
}

/* Process image p ends (exit or exec, or it left the --cgroup): its bytes
 * leave the tree now, and its pages its tree t (may be NULL). */
PT_INLINE void pt_model_end(struct pt_global *g, struct pt_proc *p, struct pt_tree *t, __u64 now)
{
	if (!p->alive)
		return;
	if (!p->launcher)
		pt_model_tree(t, -(__s64)p->rss_total, -(__s64)pt_model_approx(p), &now);
	if (p->tree_snap_epoch != g->peak_epoch) {
		p->tree_snap_bytes = p->live_bytes;
		p->tree_snap_epoch = g->peak_epoch;
	}
	g->live_bytes -= p->live_bytes;
	g->rss_live -= p->rss_total;
	g->rss_shmem_live -= p->rss[PT_RSS_SHMEM];
	p->end_epoch = g->peak_epoch;
	p->end_ns = now;
	p->alive = 0;
}

/* --- reading the model at report time ------------------------------------ */

/* Bytes of p at the tree's peak: nothing if it ended before that peak. */
PT_INLINE __u64 pt_model_proc_at_tree_peak(const struct pt_global *g, const struct pt_proc *p)
{
	if (p->tree_snap_epoch == g->peak_epoch)
		return p->tree_snap_bytes;
	if (!p->alive && p->end_epoch != g->peak_epoch)
		return 0;
	return p->live_bytes;
}

PT_INLINE void pt_model_stack_at_tree_peak(const struct pt_global *g, const struct pt_proc *p,
					   const struct pt_stack_rec *s, __u64 *bytes, __u64 *count)
{
	if (!p->alive && p->end_epoch != g->peak_epoch) {
		*bytes = *count = 0;
	} else if (s->snap_epoch == g->peak_epoch) {
		*bytes = s->snap_bytes;
		*count = s->snap_count;
	} else {
		*bytes = s->live_bytes;
		*count = s->live_count;
	}
}

PT_INLINE void pt_model_stack_at_proc_peak(const struct pt_proc *p, const struct pt_stack_rec *s,
					   __u64 *bytes, __u64 *count)
{
	if (s->psnap_epoch == p->peak_epoch) {
		*bytes = s->psnap_bytes;
		*count = s->psnap_count;
	} else {
		*bytes = s->live_bytes;
		*count = s->live_count;
	}
}

#endif

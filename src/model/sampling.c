// SPDX-License-Identifier: GPL-2.0
/* Sampled small blocks back into per-stack figures (see sampling.h). */
#include <stdlib.h>
#include <string.h>
#include "model/peak_model.h"
#include "model/sampling.h"

/* The three moments a record is read at. */
enum moment { AT_TREE_PEAK, AT_PROC_PEAK, AT_END, MOMENTS };

static void rec_get(const struct collected *c, const struct pt_proc *p, const struct pt_stack_rec *s,
		    enum moment m, uint64_t *bytes, uint64_t *count)
{
	__u64 b, n;

	if (m == AT_TREE_PEAK)
		pt_model_stack_at_tree_peak(&c->global, p, s, &b, &n);
	else if (m == AT_PROC_PEAK)
		pt_model_stack_at_proc_peak(p, s, &b, &n);
	else
		b = s->live_bytes, n = s->live_count;
	*bytes = b;
	*count = n;
}

/* Makes s read bytes and count at moment m (pt_model_stack_at_*() then
 * return them: its snapshot is of the latest epoch). */
static void rec_set(const struct collected *c, const struct pt_proc *p, struct pt_stack_rec *s,
		    enum moment m, uint64_t bytes, uint64_t count)
{
	if (m == AT_TREE_PEAK) {
		s->snap_bytes = bytes;
		s->snap_count = count;
		s->snap_epoch = c->global.peak_epoch;
	} else if (m == AT_PROC_PEAK) {
		s->psnap_bytes = bytes;
		s->psnap_count = count;
		s->psnap_epoch = p->peak_epoch;
	} else {
		s->live_bytes = bytes;
		s->live_count = count;
	}
}

static uint64_t base_id(uint64_t id)
{
	return id == PT_STACK_UNSAMPLED ? id : id & ~PT_STACK_SMALL;
}

static int tagged(uint64_t id)
{
	return id != PT_STACK_UNSAMPLED && (id & PT_STACK_SMALL);
}

/* By instance, then stack with its tagged record right after its plain one. */
static int cmp_stack(const void *a, const void *b)
{
	const struct collected_stack *x = a, *y = b;

	if (x->key.instance != y->key.instance)
		return x->key.instance < y->key.instance ? -1 : 1;
	if (base_id(x->key.stack_id) != base_id(y->key.stack_id))
		return base_id(x->key.stack_id) < base_id(y->key.stack_id) ? -1 : 1;
	return tagged(x->key.stack_id) - tagged(y->key.stack_id);
}

/* floor(total * num / den) without overflow. */
static uint64_t scale(uint64_t total, uint64_t num, uint64_t den)
{
	return (uint64_t)((unsigned __int128)total * num / den);
}

/*
 * One process's records v[0..n) (sorted) at moment m: the small-block
 * total split between the tagged records by their sampled blocks.  Each
 * part is the difference of two running floors, so the parts sum to the
 * total exactly.  The estimated block count of a part is its bytes over the
 * mean size of its sampled blocks (exact when a stack makes one size).
 */
static void fold_moment(struct collected *c, const struct pt_proc *p, struct collected_stack *v,
			size_t n, enum moment m)
{
	uint64_t total = 0, blocks = 0, sampled = 0, done = 0, b, k, part;
	struct collected_stack *unsampled = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i].key.stack_id != PT_STACK_UNSAMPLED && !tagged(v[i].key.stack_id))
			continue;
		rec_get(c, p, &v[i].rec, m, &b, &k);
		total += b;
		blocks += k;
		if (v[i].key.stack_id == PT_STACK_UNSAMPLED)
			unsampled = &v[i];
		else
			sampled += k;
	}
	if (m == AT_TREE_PEAK) {
		c->sampling.small_bytes += total;
		c->sampling.sampled_blocks += sampled;
		if (!sampled)
			c->sampling.unattributed_bytes += total;
	}
	if (!sampled)
		return;	/* nothing to split by: the unsampled record keeps it */
	if (unsampled)
		rec_set(c, p, &unsampled->rec, m, 0, 0);
	for (i = 0; i < n; i++) {
		struct collected_stack *plain = i ? &v[i - 1] : NULL;
		uint64_t pb = 0, pk = 0, kb;

		if (!tagged(v[i].key.stack_id))
			continue;
		rec_get(c, p, &v[i].rec, m, &b, &k);
		part = scale(total, done + k, sampled) - scale(total, done, sampled);
		done += k;
		kb = b ? scale(part, k, b) : 0;
		kb += part && !kb;
		if (!plain || plain->key.stack_id != base_id(v[i].key.stack_id))
			continue;	/* cannot happen: fold() gave each a plain record */
		rec_get(c, p, &plain->rec, m, &pb, &pk);
		rec_set(c, p, &plain->rec, m, pb + part, pk + kb);
		if (m == AT_TREE_PEAK)
			plain->est_tree_bytes = part;
		else if (m == AT_PROC_PEAK)
			plain->est_proc_bytes = part;
	}
}

/*
 * One process's records: each moment folded.  Every record's value at the
 * two peaks is pinned first (its snapshot made current): folding the end
 * moment rewrites live values, which a record with an older snapshot
 * would otherwise show at the peaks.
 */
static void fold_process(struct collected *c, const struct pt_proc *p, struct collected_stack *v,
			 size_t n)
{
	uint64_t b, k;
	enum moment m;
	size_t i;

	for (i = 0; i < n; i++)
		for (m = AT_TREE_PEAK; m <= AT_PROC_PEAK; m++) {
			rec_get(c, p, &v[i].rec, m, &b, &k);
			rec_set(c, p, &v[i].rec, m, b, k);
		}
	for (m = 0; m < MOMENTS; m++)
		fold_moment(c, p, v, n, m);
}

/* Whether s holds bytes at some moment. */
static int holds(const struct collected *c, const struct pt_proc *p, const struct pt_stack_rec *s)
{
	uint64_t b, k;
	enum moment m;

	for (m = 0; m < MOMENTS; m++) {
		rec_get(c, p, s, m, &b, &k);
		if (b)
			return 1;
	}
	return 0;
}

/* Gives each tagged record of v[0..*n) a plain record of its stack right
 * before it (a copy of the tagged key untagged, all zero, if the stack held
 * no large block).  v has room for twice *n. */
static void add_plain(struct collected_stack *v, size_t *n)
{
	size_t i, m = *n;

	for (i = 0; i < *n; i++)
		if (tagged(v[i].key.stack_id) &&
		    (!i || v[i - 1].key.instance != v[i].key.instance ||
		     v[i - 1].key.stack_id != base_id(v[i].key.stack_id))) {
			memset(&v[m], 0, sizeof(v[m]));
			v[m].key = v[i].key;
			v[m].key.stack_id = base_id(v[i].key.stack_id);
			m++;
		}
	*n = m;
}

int sampling__fold(struct collected *c)
{
	struct collected_stack *v;
	size_t i, lo, n = c->nstacks, kept;

	if (!c->sample_bytes || !n)
		return 0;
	v = realloc(c->stacks, 2 * n * sizeof(*v));
	if (!v)
		return -1;
	c->stacks = v;
	qsort(v, n, sizeof(*v), cmp_stack);
	add_plain(v, &n);
	qsort(v, n, sizeof(*v), cmp_stack);
	for (lo = 0; lo < n; lo = i) {
		const struct collected_proc *cp = collect__proc(c, v[lo].key.instance);

		for (i = lo; i < n && v[i].key.instance == v[lo].key.instance; i++)
			;
		if (cp)	/* else nothing reads these records */
			fold_process(c, &cp->p, v + lo, i - lo);
		/* an unsampled record (the process's last: the highest id) all
		 * split up goes with the tagged ones */
		if (cp && v[i - 1].key.stack_id == PT_STACK_UNSAMPLED &&
		    !holds(c, &cp->p, &v[i - 1].rec))
			v[i - 1].key.stack_id = PT_STACK_SMALL;
	}
	/* the tagged records are folded: only plain ones stay */
	for (i = 0, kept = 0; i < n; i++)
		if (!tagged(v[i].key.stack_id))
			v[kept++] = v[i];
	c->nstacks = kept;
	return 0;
}

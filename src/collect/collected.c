// SPDX-License-Identifier: GPL-2.0
/* Lookups in collected data: pure, shared by the model and the symbolizer. */
#include <stdlib.h>
#include <string.h>
#include "collect/collect.h"

static int cmp_vma(const void *a, const void *b)
{
	const struct collected_vma *x = a, *y = b;

	if (x->key.instance != y->key.instance)
		return x->key.instance < y->key.instance ? -1 : 1;
	return x->key.start < y->key.start ? -1 : x->key.start > y->key.start;
}

void collect__sort_vmas(struct collected *c)
{
	qsort(c->vmas, c->nvmas, sizeof(*c->vmas), cmp_vma);
}

/* Appends v[0..n) (esz bytes each) to the array *arr of *len: grown once,
 * to the exact size.  Returns 0, or -1 if memory ran out. */
static int append(void *arr, size_t *len, const void *v, size_t n, size_t esz)
{
	void *all = realloc(*(void **)arr, (*len + n) * esz);

	if (!all)
		return -1;
	memcpy((char *)all + *len * esz, v, n * esz);
	*(void **)arr = all;
	*len += n;
	return 0;
}

/* A record the model never touched says nothing (any block it had got a
 * process peak epoch, see pt_model_apply). */
static int rec_touched(const struct pt_stack_rec *r)
{
	return r->live_count || r->snap_epoch || r->psnap_epoch;
}

int collect__add_vmas(struct collected *c, const struct collected_vma *v, size_t n)
{
	if (!n)
		return 0;
	if (append(&c->vmas, &c->nvmas, v, n, sizeof(*v)))
		return -1;
	collect__sort_vmas(c);
	return 0;
}

int collect__add_procs(struct collected *c, const struct collected_proc *v, size_t n)
{
	if (!n)
		return 0;
	if (append(&c->procs, &c->nprocs, v, n, sizeof(*v)))
		return -1;
	if (c->procs_sorted)
		collect__sort_procs(c);
	return 0;
}

int collect__add_unsampled(struct collected *c)
{
	size_t i, n = 0;
	struct collected_stack *all, *st;

	for (i = 0; i < c->nprocs; i++)
		n += rec_touched(&c->procs[i].p.unsampled);
	if (!n)
		return 0;
	all = realloc(c->stacks, (c->nstacks + n) * sizeof(*all));
	if (!all)
		return -1;
	c->stacks = all;
	for (i = 0; i < c->nprocs; i++) {
		if (!rec_touched(&c->procs[i].p.unsampled))
			continue;
		st = &c->stacks[c->nstacks++];
		memset(st, 0, sizeof(*st));
		st->key.instance = c->procs[i].instance;
		st->key.stack_id = PT_STACK_UNSAMPLED;
		st->rec = c->procs[i].p.unsampled;
	}
	return 0;
}

void collect__free(struct collected *c)
{
	free(c->procs);
	free(c->stacks);
	free(c->trees);
	free(c->vmas);
	memset(c, 0, sizeof(*c));
}

static int cmp_proc(const void *a, const void *b)
{
	const struct collected_proc *x = a, *y = b;

	return x->instance < y->instance ? -1 : x->instance > y->instance;
}

void collect__sort_procs(struct collected *c)
{
	qsort(c->procs, c->nprocs, sizeof(*c->procs), cmp_proc);
	c->procs_sorted = 1;
}

const struct collected_proc *collect__proc(const struct collected *c, uint32_t instance)
{
	struct collected_proc key = { .instance = instance };
	size_t i;

	if (c->procs_sorted)
		return bsearch(&key, c->procs, c->nprocs, sizeof(*c->procs), cmp_proc);
	for (i = 0; i < c->nprocs; i++)
		if (c->procs[i].instance == instance)
			return &c->procs[i];
	return NULL;
}

const struct collected_vma *collect__vma(const struct collected *c, uint32_t instance, uint64_t ip)
{
	size_t lo = 0, hi = c->nvmas;

	/* The last mapping of instance starting at or below ip. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct collected_vma *v = &c->vmas[mid];

		if (v->key.instance < instance ||
		    (v->key.instance == instance && v->key.start <= ip))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	if (c->vmas[lo - 1].key.instance != instance || ip >= c->vmas[lo - 1].v.end)
		return NULL;
	return &c->vmas[lo - 1];
}

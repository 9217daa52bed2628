// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collect/collect.h"
#include "collect/procrecs.h"
#include "collect/timeline.h"
#include "peaktrace.skel.h"
#include "util/vec.h"

void timeline__init(struct report_timeline *tl, uint64_t interval_ns, uint64_t t0_ns)
{
	memset(tl, 0, sizeof(*tl));
	tl->t0_ns = t0_ns;
	tl->next_ns = t0_ns;
	if (!interval_ns)
		return;
	/* the tree's series never grow past TIMELINE_POINTS: made whole */
	tl->t_ns = calloc(TIMELINE_POINTS, sizeof(*tl->t_ns));
	tl->heap = calloc(TIMELINE_POINTS, sizeof(*tl->heap));
	tl->rss = calloc(TIMELINE_POINTS, sizeof(*tl->rss));
	if (tl->t_ns && tl->heap && tl->rss) {
		tl->cap = TIMELINE_POINTS;
		tl->interval_ns = interval_ns;
	}
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Merges pairs of samples: sample k becomes the maximum of 2k and 2k+1. */
static void halve(struct report_timeline *tl)
{
	size_t k, i;

	for (k = 0; 2 * k < tl->n; k++) {
		size_t a = 2 * k, b = a + 1 < tl->n ? a + 1 : a;

		tl->t_ns[k] = tl->t_ns[a];
		tl->heap[k] = max_u64(tl->heap[a], tl->heap[b]);
		tl->rss[k] = max_u64(tl->rss[a], tl->rss[b]);
	}
	tl->n = k;
	for (i = 0; i < tl->nprocs; i++) {
		struct report_series *s = &tl->procs[i];
		size_t first = s->first / 2, last, g;

		if (!s->n)
			continue;
		last = (s->first + s->n - 1) / 2;

		for (g = first; g <= last; g++) {
			uint64_t h = 0, r = 0;
			size_t j;

			/* the old samples 2g and 2g+1 that this series has */
			for (j = 2 * g; j <= 2 * g + 1; j++) {
				if (j < s->first || j >= s->first + s->n)
					continue;
				h = max_u64(h, s->heap[j - s->first]);
				r = max_u64(r, s->rss[j - s->first]);
			}
			s->heap[g - first] = h;
			s->rss[g - first] = r;
		}
		s->first = first;
		s->n = last - first + 1;
	}
	tl->interval_ns *= 2;
}

/* The image's series, made at its first sample (its index kept in the
 * process table, so a sample does not search the series). */
static struct report_series *series_of(struct report_timeline *tl, struct proc_info *pi)
{
	struct report_series *s;

	if (pi->series)
		return &tl->procs[pi->series - 1];
	if (vec_grow((void **)&tl->procs, &tl->capprocs, tl->nprocs + 1, sizeof(*tl->procs), 16))
		return NULL;
	s = &tl->procs[tl->nprocs++];
	pi->series = (uint32_t)tl->nprocs;
	memset(s, 0, sizeof(*s));
	s->pid = pi->tgid;
	s->instance = pi->instance;
	s->first = tl->n - 1;
	return s;
}

static void series_add(struct report_series *s, size_t at, uint64_t heap, uint64_t rss)
{
	size_t cap = s->cap, i = at - s->first;

	/* from 4 points: most processes of a churning run live for one or two
	 * (-a over 20 000 short ones: 1 KiB each at 64) */
	if (i >= s->cap && (vec_grow((void **)&s->heap, &cap, i + 1, sizeof(*s->heap), 4) ||
			    vec_grow((void **)&s->rss, &s->cap, i + 1, sizeof(*s->rss), 4)))
		return;
	/* a gap (not seen at some samples): zeros */
	while (s->n < i) {
		s->heap[s->n] = s->rss[s->n] = 0;
		s->n++;
	}
	s->heap[i] = heap;
	s->rss[i] = rss;
	s->n = i + 1;
}

void timeline__tick(struct report_timeline *tl, uint64_t now, struct peaktrace_bpf *skel,
		    const struct procrecs *records, struct proctable *procs, uint64_t page)
{
	struct pt_global g;
	size_t i;

	if (!tl->interval_ns || now < tl->next_ns)
		return;
	tl->next_ns = now + tl->interval_ns;
	if (collect__read_global(&g, skel))
		return;
	if (tl->n == tl->cap)
		halve(tl);
	tl->t_ns[tl->n] = now - tl->t0_ns;
	tl->heap[tl->n] = g.live_bytes;
	tl->rss[tl->n] = g.rss_live * page;
	tl->n++;
	for (i = 0; !tl->no_procs && i < procs->n; i++) {
		struct proc_info *pi = &procs->v[i];
		const struct pt_proc *p;
		struct report_series *s;

		if (pi->ended || pi->untraced || !(p = procrecs__get(records, pi->instance)) ||
		    !p->alive)
			continue;
		s = series_of(tl, pi);
		if (s)
			series_add(s, tl->n - 1, p->live_bytes, p->rss_total * page);
	}
}

// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collect/procrecs.h"
#include "collect/sweep.h"
#include "collect/tables.h"
#include "peaktrace.skel.h"
#include "util/vec.h"

void sweep__push(struct sweep *sw, uint32_t instance)
{
	/* out of memory: its records stay, only map room is lost */
	if (!vec_grow((void **)&sw->dead, &sw->capdead, sw->ndead + 1, sizeof(*sw->dead), 64))
		sw->dead[sw->ndead++] = instance;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The process records of the ended images, kept here instead of in the
 * kernel; their slots are freed. */
static void procs_keep(struct sweep *sw, struct procrecs *procs)
{
	for (size_t i = 0; i < sw->ndead; i++) {
		const struct pt_proc *rec = procrecs__get(procs, sw->dead[i]);
		struct collected_proc *p;

		if (!rec)
			continue;
		/* out of memory: that process is missing from the report */
		if (!vec_grow((void **)&sw->procv, &sw->capprocv, sw->nprocv + 1, sizeof(*p),
			      1024)) {
			p = &sw->procv[sw->nprocv++];
			p->instance = sw->dead[i];
			p->p = *rec;
		}
		procrecs__free(procs, sw->dead[i]);
	}
}

/* A code mapping of an ended image, kept here instead of in the kernel. */
static void vma_keep(struct sweep *sw, const void *key, const void *val)
{
	struct collected_vma *v;

	/* out of memory: that image's frames lose their names, nothing else */
	if (vec_grow((void **)&sw->vmas, &sw->capvmas, sw->nvmas + 1, sizeof(*sw->vmas), 1024))
		return;
	v = &sw->vmas[sw->nvmas++];
	memcpy(&v->key, key, sizeof(v->key));
	memcpy(&v->v, val, sizeof(v->v));
}

/*
 * Deletes the records of the dead instances from a map whose keys begin
 * with the instance; keep, if set, gets each record first.  Batched: one
 * syscall per few thousand records.  Returns how many were deleted.
 */
static uint64_t sweep_map(struct sweep *sw, int fd, size_t ksz, size_t vsz,
			  void (*keep)(struct sweep *, const void *, const void *))
{
	uint64_t deleted = 0;
	enum { CHUNK = 4096 };
	char *keys = calloc(CHUNK, ksz), *vals = calloc(CHUNK, vsz), *del = calloc(CHUNK, ksz);
	__u32 batch = 0, ndel;
	void *in = NULL;
	int done = 0;

	while (keys && vals && del && !done) {
		__u32 n = CHUNK, i;
		int err = bpf_map_lookup_batch(fd, in, &batch, keys, vals, &n, NULL);

		if (err && errno != ENOENT)
			break;
		done = err != 0;
		in = &batch;
		for (i = 0, ndel = 0; i < n; i++) {
			if (!bsearch(keys + i * ksz, sw->dead, sw->ndead, sizeof(*sw->dead), cmp_u32))
				continue;
			if (keep)
				keep(sw, keys + i * ksz, vals + i * vsz);
			memcpy(del + ndel++ * ksz, keys + i * ksz, ksz);
		}
		for (i = 0; i < ndel; i++)
			deleted += !bpf_map_delete_elem(fd, del + i * ksz);
	}
	free(keys);
	free(vals);
	free(del);
	return deleted;
}

/*
 * The allocation tables' sweep reads every slot (GiBs for a program of
 * millions of blocks), so only the ended images that have blocks left in
 * them go to it (and those whose record is gone).  Returns 0, -1 (out of
 * memory: sweep them all) or -2 (the model lock was not had: later).
 */
static int sweep_blocks(struct sweep *sw, struct peaktrace_bpf *skel, struct alloc_tables *t,
			const struct procrecs *procs)
{
	uint32_t *left = malloc(sw->ndead * sizeof(*left));
	const struct pt_proc *p;
	size_t i, n = 0;
	int r;

	if (!left)
		return -1;
	for (i = 0; i < sw->ndead; i++)
		if (!(p = procrecs__get(procs, sw->dead[i])) || p->blocks)
			left[n++] = sw->dead[i];
	r = alloc_tables__sweep(t, skel, left, n) ? -2 : 0;
	free(left);
	return r;
}

void sweep__run(struct sweep *sw, struct peaktrace_bpf *skel, struct alloc_tables *t,
		struct procrecs *procs)
{
	size_t i;
	int r;

	/* an update queued before an image's end may still concern its
	 * blocks and records: they go at a later sweep */
	if (!sw->ndead || !alloc_tables__settled(t))
		return;
	qsort(sw->dead, sw->ndead, sizeof(*sw->dead), cmp_u32);
	r = sweep_blocks(sw, skel, t, procs);
	if (r == -1)
		r = alloc_tables__sweep(t, skel, sw->dead, sw->ndead) ? -2 : 0;
	/* the model lock held by a stopped process: the dead images stay
	 * (their records too, whose blocks are still in the tables) until a
	 * later sweep has it */
	if (r == -2)
		return;
	sweep_map(sw, bpf_map__fd(skel->maps.py_images), sizeof(__u32), sizeof(struct pt_py_layout),
		  NULL);
	sweep_map(sw, bpf_map__fd(skel->maps.regions), sizeof(struct pt_alloc_key),
		  sizeof(struct pt_region), NULL);
	sweep_map(sw, bpf_map__fd(skel->maps.vmas), sizeof(struct pt_vma_key), sizeof(struct pt_vma),
		  vma_keep);
	if (sw->procs)
		procs_keep(sw, procs);
	for (i = 0; i < sw->ndead; i++)
		bpf_map_delete_elem(bpf_map__fd(skel->maps.proc_vmas), &sw->dead[i]);
	sw->ndead = 0;
}

void sweep__free(struct sweep *sw)
{
	free(sw->dead);
	free(sw->vmas);
	free(sw->procv);
	memset(sw, 0, sizeof(*sw));
}

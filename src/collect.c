// SPDX-License-Identifier: GPL-2.0
/* Copying the BPF maps out after a run. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collect.h"
#include "peaktrace.skel.h"

/*
 * Walks a hash map with get_next_key from NULL, so key 0 is not skipped
 * (memleak's mistake).  Entries appear while we walk if processes still
 * run; we take what is there.
 */
static int read_hash(int fd, size_t ksz, size_t esz, size_t voff, void **out, size_t *n)
{
	char key[64], next[64];
	size_t cap = 0, count = 0;
	char *buf = NULL;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, ksz);
		prev = key;
		if (count == cap) {
			size_t nc = cap ? cap * 2 : 1024;
			char *nb = realloc(buf, nc * esz);

			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap = nc;
		}
		memset(buf + count * esz, 0, esz);
		if (bpf_map_lookup_elem(fd, key, buf + count * esz + voff))
			continue; /* deleted meanwhile */
		memcpy(buf + count * esz, key, ksz);
		count++;
	}
	*out = buf;
	*n = count;
	return 0;
}

/* Reads a hash map into an array of struct T { key; value; }. */
#define READ_HASH(fd, T, kfield, vfield, out, n)                                     \
	read_hash(fd, sizeof(((T *)0)->kfield), sizeof(T), offsetof(T, vfield), out, n)

static int cmp_vma(const void *a, const void *b)
{
	const struct collected_vma *x = a, *y = b;

	if (x->key.instance != y->key.instance)
		return x->key.instance < y->key.instance ? -1 : 1;
	return x->key.start < y->key.start ? -1 : x->key.start > y->key.start;
}

int collect__add_vmas(struct collected *c, const struct collected_vma *v, size_t n)
{
	struct collected_vma *all;

	if (!n)
		return 0;
	all = realloc(c->vmas, (c->nvmas + n) * sizeof(*all));
	if (!all)
		return -1;
	memcpy(all + c->nvmas, v, n * sizeof(*v));
	c->vmas = all;
	c->nvmas += n;
	qsort(c->vmas, c->nvmas, sizeof(*c->vmas), cmp_vma);
	return 0;
}

int collect__read_global(struct pt_global *g, struct peaktrace_bpf *skel)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.global), &zero, g);
}

int collect__read(struct collected *c, struct peaktrace_bpf *skel, char *err, size_t errlen)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *percpu;
	__u32 i;
	int k;
	void *p;

	memset(c, 0, sizeof(*c));
	if (collect__read_global(&c->global, skel)) {
		snprintf(err, errlen, "cannot read the global model map: %s", strerror(errno));
		return -1;
	}
	if (READ_HASH(bpf_map__fd(skel->maps.procs), struct collected_proc, instance, p,
		      &p, &c->nprocs))
		goto oom;
	c->procs = p;
	if (READ_HASH(bpf_map__fd(skel->maps.stack_recs), struct collected_stack, key, rec,
		      &p, &c->nstacks))
		goto oom;
	c->stacks = p;
	if (READ_HASH(bpf_map__fd(skel->maps.vmas), struct collected_vma, key, v,
		      &p, &c->nvmas))
		goto oom;
	c->vmas = p;
	if (c->nvmas)
		qsort(c->vmas, c->nvmas, sizeof(*c->vmas), cmp_vma);
	percpu = calloc(ncpu > 0 ? ncpu : 1, sizeof(*percpu));
	if (!percpu)
		goto oom;
	for (i = 0; i < PT_LOST_COUNT; i++) {
		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.lost), &i, percpu))
			continue;
		for (k = 0; k < ncpu; k++)
			c->lost[i] += percpu[k];
	}
	free(percpu);
	return 0;
oom:
	snprintf(err, errlen, "out of memory reading the BPF maps");
	collect__free(c);
	return -1;
}

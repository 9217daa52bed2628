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
#include "collect/collect.h"
#include "collect/procrecs.h"
#include "peaktrace.skel.h"
#include "util/vec.h"

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
		if (vec_grow((void **)&buf, &cap, count + 1, esz, 1024)) {
			free(buf);
			return -ENOMEM;
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

int collect__read_global(struct pt_global *g, struct peaktrace_bpf *skel)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.global), &zero, g);
}

/* The published records of the process map. */
static int read_procs(const struct procrecs *procs, struct collected *c)
{
	struct collected_proc *v = NULL;
	size_t cap = 0, n = 0;
	struct pt_proc rec;

	for (uint64_t i = 0; procs->v && i <= procs->mask; i++) {
		uint32_t inst = procrecs__at(procs, i, &rec);

		if (!inst)
			continue;
		if (vec_grow((void **)&v, &cap, n + 1, sizeof(*v), 1024)) {
			free(v);
			return -ENOMEM;
		}
		v[n].instance = inst;
		v[n++].p = rec;
	}
	c->procs = v;
	c->nprocs = n;
	return 0;
}

int collect__read(struct collected *c, struct peaktrace_bpf *skel, const struct procrecs *procs,
		  char *err, size_t errlen)
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
	if (read_procs(procs, c))
		goto oom;
	collect__sort_procs(c);
	if (READ_HASH(bpf_map__fd(skel->maps.stack_recs), struct collected_stack, key, rec,
		      &p, &c->nstacks))
		goto oom;
	c->stacks = p;
	c->sample_bytes = skel->rodata->sample_bytes;
	if (skel->rodata->track_trees) {
		if (READ_HASH(bpf_map__fd(skel->maps.trees), struct collected_tree, root, t, &p,
			      &c->ntrees))
			goto oom;
		c->trees = p;
	}
	if (READ_HASH(bpf_map__fd(skel->maps.vmas), struct collected_vma, key, v,
		      &p, &c->nvmas))
		goto oom;
	c->vmas = p;
	if (c->nvmas)
		collect__sort_vmas(c);
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
	/* what peaktrace-preload.so's ledger counted (src/preload/ledger.c) */
	c->lost[PT_LOST_INHERITED_FREES] += c->global.ledger_inherited_frees;
	c->lost[PT_LOST_LOCK_TIMEOUTS] += c->global.ledger_lock_timeouts;
	c->lost[PT_LOST_LEDGER] += c->global.ledger_allocs;
	/* updates still queued for the model lock (bpf/model/model.bpf.h):
	 * applied by no program, so the figures lack them */
	c->lost[PT_LOST_LOCK_TIMEOUTS] += c->global.deferred;
	return 0;
oom:
	snprintf(err, errlen, "out of memory reading the BPF maps");
	collect__free(c);
	return -1;
}

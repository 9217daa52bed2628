/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A copy of the BPF maps' contents at the end of a run: the input of the
 * report.  Filled from the maps by collect.c, or by hand in unit tests
 * (collected.c needs neither root nor BPF).
 */
#ifndef PT_COLLECT_H
#define PT_COLLECT_H

#include <stddef.h>
#include <stdint.h>
#include "peaktrace.h"

struct collected_proc {
	uint32_t instance;
	struct pt_proc p;
};

struct collected_stack {
	struct pt_stack_key key;
	struct pt_stack_rec rec;
	/* of rec's bytes at the tree's peak and at its process's peak, those
	 * estimated from sampled small blocks (src/model/sampling.c) */
	uint64_t est_tree_bytes, est_proc_bytes;
};

struct collected_tree {
	uint32_t root;		/* instance */
	struct pt_tree t;
};

struct collected_vma {
	struct pt_vma_key key;
	struct pt_vma v;
};

struct collected {
	struct pt_global global;
	struct collected_proc *procs;	/* by instance once collect__sort_procs ran */
	size_t nprocs;
	int procs_sorted;
	struct collected_stack *stacks;
	size_t nstacks;
	struct collected_tree *trees;	/* --all, --cgroup */
	size_t ntrees;
	struct collected_vma *vmas; /* sorted by (instance, start) */
	size_t nvmas;
	uint64_t lost[PT_LOST_COUNT];
	/* Stack sampling of small blocks (0: every stack captured), and what
	 * src/model/sampling.c found at the tree's peak. */
	uint64_t sample_bytes;
	struct {
		uint64_t small_bytes;	/* in blocks smaller than sample_bytes */
		uint64_t sampled_blocks;/* of those, blocks with a stack */
		uint64_t unattributed_bytes; /* in processes with no sample */
	} sampling;
};

struct peaktrace_bpf;
struct procrecs;

/* Reads every map (the process records through procs).  Returns 0, or -1
 * with a message in err. */
int collect__read(struct collected *c, struct peaktrace_bpf *skel, const struct procrecs *procs,
		  char *err, size_t errlen);
/* Sorts the code mappings by (instance, start), as collect__vma wants. */
void collect__sort_vmas(struct collected *c);
/* Adds code mappings kept outside the maps (of images swept during the run). */
int collect__add_vmas(struct collected *c, const struct collected_vma *v, size_t n);
/* Sorts the process records by instance: collect__proc then searches
 * them by halves (a scoped run's hundred thousand records were scanned
 * once per stack). */
void collect__sort_procs(struct collected *c);
/* Adds process records kept outside the maps (swept during the run). */
int collect__add_procs(struct collected *c, const struct collected_proc *v, size_t n);
/* Adds each process's unsampled-blocks record (kept in its process record,
 * see pt_proc) as its PT_STACK_UNSAMPLED stack; after collect__add_procs. */
int collect__add_unsampled(struct collected *c);
/* Only the global counters and lost counters: cheap, for the status line. */
int collect__read_global(struct pt_global *g, struct peaktrace_bpf *skel);
void collect__free(struct collected *c);

const struct collected_proc *collect__proc(const struct collected *c, uint32_t instance);
/* The recorded executable mapping of instance holding ip, or NULL. */
const struct collected_vma *collect__vma(const struct collected *c, uint32_t instance, uint64_t ip);

#endif

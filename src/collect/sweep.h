/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sweeping the records of ended process images out of the BPF maps while
 * the run goes on: their bytes already left the tree, and a worker pool
 * that keeps starting processes would otherwise fill the maps with the
 * dead.  Their code mappings are kept here, for symbols at the report,
 * and with --all and --cgroup (runs of hours over thousands of processes)
 * their process records too: the report needs them, the map would fill.
 */
#ifndef PT_SWEEP_H
#define PT_SWEEP_H

#include <stddef.h>
#include <stdint.h>
#include "collect/collect.h"

struct peaktrace_bpf;
struct alloc_tables;
struct procrecs;

struct sweep {
	uint32_t *dead;		/* ended instances not swept yet */
	size_t ndead, capdead;
	struct collected_vma *vmas; /* code mappings of swept images */
	size_t nvmas, capvmas;
	int procs;		/* sweep the process records too (--all, --cgroup) */
	struct collected_proc *procv; /* swept process records, for the report */
	size_t nprocv, capprocv;
};

/* Instance ended: its records go at the next sweep. */
void sweep__push(struct sweep *sw, uint32_t instance);
/* Deletes the records of the instances pushed since the last sweep. */
void sweep__run(struct sweep *sw, struct peaktrace_bpf *skel, struct alloc_tables *t,
		struct procrecs *procs);
void sweep__free(struct sweep *sw);

#endif

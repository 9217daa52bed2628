/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The allocation tables that grow (see "allocs" in bpf/heap/heap.bpf.h): the
 * first is sized before load, the next ones are made here as they fill, and
 * ended images' blocks are swept out of them here, in place.
 */
#ifndef PT_TABLES_H
#define PT_TABLES_H

#include <stddef.h>
#include <stdint.h>
#include "peaktrace.h"

struct peaktrace_bpf;

struct alloc_tables {
	int fd[PT_ALLOC_TABLES];
	uint32_t cap[PT_ALLOC_TABLES];	/* slots, a power of two */
	struct pt_block *slots[PT_ALLOC_TABLES]; /* mapped */
	uint64_t cap_total, max;	/* slots made, at most */
	struct pt_global *global;	/* mapped: the model lock */
};

/* Before load: the first table's size, for up to max (--max-allocs) live
 * blocks in all. */
void alloc_tables__size(struct alloc_tables *t, struct peaktrace_bpf *skel, uint64_t max);
/* After load: maps the first table and the lock.  -1 with a message in err. */
int alloc_tables__loaded(struct alloc_tables *t, struct peaktrace_bpf *skel, char *err,
			 size_t errlen);
/*
 * Adds a table twice the size of the newest once that one is half full, up
 * to max in all.  Returns the slots added (0 if none was needed), or -1
 * with a message in err (then no more are tried).
 */
long alloc_tables__grow(struct alloc_tables *t, struct peaktrace_bpf *skel, char *err,
			size_t errlen);
/* 1 if no model update waits in the BPF side's queue (bpf/model/model.bpf.h),
 * checked under the model lock: every update of an image whose end was
 * reported is then applied, and its blocks and records may go; 0 if some
 * wait (or the lock was held for over a second). */
int alloc_tables__settled(struct alloc_tables *t);
/* Removes the blocks of the n instances in dead (sorted) from every table,
 * under the model lock, a few thousand slots at a time.  Returns 0, or -1
 * if the lock was held for over a second (a traced process stopped holding
 * it): part swept, to be done again later. */
int alloc_tables__sweep(struct alloc_tables *t, struct peaktrace_bpf *skel,
			const uint32_t *dead, size_t n);
void alloc_tables__close(struct alloc_tables *t);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The allocation tables that grow (see "allocs" in bpf/heap/heap.bpf.h): the
 * first is sized before load, the next ones are made here as they fill.
 */
#ifndef PT_TABLES_H
#define PT_TABLES_H

#include <stddef.h>
#include <stdint.h>
#include "peaktrace.h"

struct peaktrace_bpf;

struct alloc_tables {
	int fd[PT_ALLOC_TABLES];
	uint32_t cap[PT_ALLOC_TABLES];
	uint64_t cap_total, max;
};

/* Before load: the first table's size, from max (--max-allocs) in all. */
void alloc_tables__size(struct alloc_tables *t, struct peaktrace_bpf *skel, uint64_t max);
/* After load. */
void alloc_tables__loaded(struct alloc_tables *t, struct peaktrace_bpf *skel);
/*
 * Adds a table twice the size of the newest once that one is half full, up
 * to max in all.  Returns the entries added (0 if none was needed), or -1
 * with a message in err (then no more are tried).
 */
long alloc_tables__grow(struct alloc_tables *t, struct peaktrace_bpf *skel, char *err,
			size_t errlen);
/* n records of table i were deleted from userspace (sweep.c). */
void alloc_tables__swept(struct alloc_tables *t, struct peaktrace_bpf *skel, size_t i, uint64_t n);
void alloc_tables__close(struct alloc_tables *t);

#endif

// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collect/tables.h"
#include "peaktrace.skel.h"

/* Entries of the first allocation table (then doubled): preallocated, so
 * small; with PT_ALLOC_TABLES of them, 64 Ki * (2^12 - 1) entries at most. */
#define ALLOC_TABLE0 (1u << 16)

void alloc_tables__size(struct alloc_tables *t, struct peaktrace_bpf *skel, uint64_t max)
{
	memset(t, 0, sizeof(*t));
	t->max = max;
	t->cap[0] = max < ALLOC_TABLE0 ? max : ALLOC_TABLE0;
	t->cap_total = t->cap[0];
	bpf_map__set_max_entries(skel->maps.alloc_table0, t->cap[0]);
}

void alloc_tables__loaded(struct alloc_tables *t, struct peaktrace_bpf *skel)
{
	t->fd[0] = bpf_map__fd(skel->maps.alloc_table0);
}

/*
 * Checked at every turn of the event loop (at most 50 ms apart): filling
 * the other half takes a traced program far longer (a traced malloc costs
 * over a microsecond).
 */
long alloc_tables__grow(struct alloc_tables *t, struct peaktrace_bpf *skel, char *err,
			size_t errlen)
{
	/* preallocated, as the first (see "allocs" in bpf/heap/heap.bpf.h):
	 * an inner map must have its template's flags */
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = 0);
	uint32_t n = skel->data->alloc_tables, cap, key = n;
	uint64_t room = t->max - t->cap_total;
	int fd;

	if (n >= PT_ALLOC_TABLES || !room || skel->bss->alloc_live[n - 1] < t->cap[n - 1] / 2)
		return 0;
	cap = 2 * (uint64_t)t->cap[n - 1] < room ? 2 * t->cap[n - 1] : (uint32_t)room;
	if (cap < 1024)
		cap = 1024;
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "alloc_table", sizeof(struct pt_alloc_key),
			    sizeof(struct pt_alloc), cap, &opts);
	if (fd < 0 || bpf_map_update_elem(bpf_map__fd(skel->maps.allocs), &key, &fd, BPF_ANY)) {
		snprintf(err, errlen, "cannot add an allocation table of %u entries (%s): allocations "
			 "past the current tables are counted as lost", cap, strerror(errno));
		if (fd >= 0)
			close(fd);
		t->cap_total = t->max; /* do not try again */
		return -1;
	}
	t->fd[n] = fd;
	t->cap[n] = cap;
	t->cap_total += cap;
	__atomic_store_n(&skel->data->alloc_tables, n + 1, __ATOMIC_SEQ_CST);
	return cap;
}

void alloc_tables__swept(struct alloc_tables *t, struct peaktrace_bpf *skel, size_t i, uint64_t n)
{
	(void)t;
	/* the tables' fill, which decides when to add one */
	__atomic_fetch_sub(&skel->bss->alloc_live[i], n, __ATOMIC_SEQ_CST);
}

void alloc_tables__close(struct alloc_tables *t)
{
	for (size_t i = 1; i < PT_ALLOC_TABLES; i++)
		if (t->fd[i] > 0)
			close(t->fd[i]);
}

// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collect/blocks.h"
#include "collect/tables.h"
#include "peaktrace.skel.h"
#include "util/mapmem.h"

/* Slots of the first table (then doubled): 4 MiB. */
#define ALLOC_TABLE0 (1u << 17)
#define ALLOC_TABLE_MIN 1024u
/* Slots swept per hold of the model lock (a few microseconds: BPF events
 * wait meanwhile). */
#define SWEEP_CHUNK 1024u

/* Tables hold up to half their slots before the next is added. */
static uint64_t slots_max(const struct alloc_tables *t)
{
	return 2 * t->max;
}

void alloc_tables__size(struct alloc_tables *t, struct peaktrace_bpf *skel, uint64_t max)
{
	uint32_t cap = ALLOC_TABLE0;

	memset(t, 0, sizeof(*t));
	t->max = max;
	skel->rodata->max_allocs = max;
	while (cap > ALLOC_TABLE_MIN && cap > slots_max(t))
		cap /= 2;
	if (!max)	/* --rss-only: no heap */
		cap = 1;
	t->cap[0] = cap;
	t->cap_total = cap;
	bpf_map__set_max_entries(skel->maps.alloc_table0, cap);
	skel->data->alloc_mask[0] = cap - 1;
}

int alloc_tables__loaded(struct alloc_tables *t, struct peaktrace_bpf *skel, char *err,
			 size_t errlen)
{
	t->fd[0] = bpf_map__fd(skel->maps.alloc_table0);
	t->slots[0] = mapmem__map(t->fd[0], t->cap[0], sizeof(struct pt_block));
	t->global = mapmem__map(bpf_map__fd(skel->maps.global), 1, sizeof(struct pt_global));
	if (!t->slots[0] || !t->global) {
		snprintf(err, errlen, "cannot map the allocation table or the model lock (%s)",
			 strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Checked at every turn of the event loop (at most 50 ms apart): filling
 * the other half takes a traced program far longer (a traced malloc costs
 * over a microsecond); if it does fill, BPF puts blocks in older tables
 * with room before it counts any as lost.
 */
long alloc_tables__grow(struct alloc_tables *t, struct peaktrace_bpf *skel, char *err,
			size_t errlen)
{
	uint32_t n = skel->data->alloc_tables, cap, key = n;
	uint64_t room = slots_max(t) > t->cap_total ? slots_max(t) - t->cap_total : 0;
	struct pt_block *slots = NULL;
	int fd;

	if (n >= PT_ALLOC_TABLES || __atomic_load_n(&skel->bss->alloc_live[n - 1], __ATOMIC_RELAXED) <
	    t->cap[n - 1] / 2)
		return 0;
	cap = 2 * t->cap[n - 1];
	while (cap > ALLOC_TABLE_MIN && cap > room)
		cap /= 2;
	if (cap > room)
		return 0;
	/* the mask before the table: BPF may use the table once it is in */
	skel->data->alloc_mask[n] = cap - 1;
	slots = mapmem__add_inner(bpf_map__fd(skel->maps.allocs), key, "alloc_table",
				  sizeof(struct pt_block), cap, &fd);
	if (!slots) {
		snprintf(err, errlen, "cannot add an allocation table of %u slots (%s): allocations "
			 "past the current tables are counted as lost", cap, strerror(errno));
		t->cap_total = slots_max(t); /* do not try again */
		return -1;
	}
	t->fd[n] = fd;
	t->cap[n] = cap;
	t->slots[n] = slots;
	t->cap_total += cap;
	__atomic_store_n(&skel->data->alloc_tables, n + 1, __ATOMIC_SEQ_CST);
	return cap;
}

/* The model lock, as BPF takes it (model_lock in bpf/model/model.bpf.h):
 * 1, or 0 if its holder kept it for about a second (a traced process
 * stopped holding it: the sweep waits for a later turn). */
static int lock_take(struct pt_global *g)
{
	unsigned int spins = 0;
	__u32 zero = 0;

	while (!__atomic_compare_exchange_n(&g->lock, &zero, 1, 0, __ATOMIC_ACQUIRE,
					    __ATOMIC_RELAXED)) {
		zero = 0;
		if (++spins % 1024 == 0)
			sched_yield();
		if (spins >= 1u << 20)
			return 0;
	}
	return 1;
}

static void lock_give(struct pt_global *g)
{
	__atomic_store_n(&g->lock, 0, __ATOMIC_RELEASE);
}

int alloc_tables__settled(struct alloc_tables *t)
{
	int settled;

	if (!t->global)
		return 1;
	if (!lock_take(t->global))
		return 0;
	settled = !__atomic_load_n(&t->global->deferred, __ATOMIC_RELAXED);
	lock_give(t->global);
	return settled;
}

int alloc_tables__sweep(struct alloc_tables *t, struct peaktrace_bpf *skel,
			const uint32_t *dead, size_t n)
{
	uint32_t tables = __atomic_load_n(&skel->data->alloc_tables, __ATOMIC_SEQ_CST);

	if (!n || !t->global)
		return 0;
	for (uint32_t k = 0; k < tables && k < PT_ALLOC_TABLES; k++) {
		struct pt_block *slots = t->slots[k];

		if (!slots)
			continue;
		for (uint32_t lo = 0; lo < t->cap[k]; lo += SWEEP_CHUNK) {
			uint32_t hi = lo + SWEEP_CHUNK < t->cap[k] ? lo + SWEEP_CHUNK : t->cap[k];
			/* Between two holds, a removal in BPF may shift a block back
			 * into the chunk before, but never past its home, which is
			 * at most PT_BLOCK_PROBES - 1 slots back: those are looked
			 * at again. */
			uint32_t from = lo >= PT_BLOCK_PROBES ? lo - (PT_BLOCK_PROBES - 1) : 0;
			uint64_t out;

			/* a holder stopped with the lock: the rest later */
			if (!lock_take(t->global))
				return -1;
			out = blocks__sweep(slots, t->cap[k], from, hi, dead, n);
			/* the fill (BPF keeps it under the lock too) */
			skel->bss->alloc_live[k] -= out;
			skel->bss->blocks_live -= out;
			lock_give(t->global);
		}
	}
	return 0;
}

void alloc_tables__close(struct alloc_tables *t)
{
	for (size_t i = 0; i < PT_ALLOC_TABLES; i++) {
		mapmem__unmap(t->slots[i], t->cap[i], sizeof(struct pt_block));
		if (i > 0 && t->fd[i] > 0)
			close(t->fd[i]);
	}
	mapmem__unmap(t->global, 1, sizeof(struct pt_global));
	memset(t, 0, sizeof(*t));
}

// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include "collect/blocks.h"
#include "collect/blocks_mem.h"

int64_t blocks__find(struct pt_block *slots, uint32_t cap, uint32_t inst, uint64_t addr)
{
	struct pt_block_walk w;

	pt_block_walk_init(&w, (uintptr_t)slots, cap - 1, inst, addr);
	return pt_block_find(&w);
}

int blocks__insert(struct pt_block *slots, uint32_t cap, const struct pt_block *b)
{
	struct pt_block_walk w;
	int64_t at;

	pt_block_walk_init(&w, (uintptr_t)slots, cap - 1, b->instance, b->addr);
	at = pt_block_insert(&w, b);
	return at < 0 ? (int)at : 0;
}

void blocks__remove(struct pt_block *slots, uint32_t cap, uint32_t at)
{
	struct pt_block_walk w;

	pt_block_walk_init(&w, (uintptr_t)slots, cap - 1, 0, 0);
	pt_block_remove(&w, at);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t blocks__sweep(struct pt_block *slots, uint32_t cap, uint32_t lo, uint32_t hi,
		       const uint32_t *dead, size_t n)
{
	uint64_t out = 0;

	for (uint32_t i = lo; i < hi && i < cap; i++) {
		/* a block shifted into slot i is looked at in turn */
		while (slots[i].addr > PT_BLOCK_TOMB &&
		       bsearch(&slots[i].instance, dead, n, sizeof(*dead), cmp_u32)) {
			blocks__remove(slots, cap, i);
			out++;
		}
	}
	return out;
}

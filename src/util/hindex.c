// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include "util/hindex.h"

long hindex__find(const struct hindex *h, uint64_t hash, int (*eq)(const void *ctx, uint32_t idx),
		  const void *ctx)
{
	size_t i;

	if (!h->cap)
		return -1;
	for (i = hash & (h->cap - 1); h->slot[i].idx1; i = (i + 1) & (h->cap - 1))
		if (h->slot[i].hash == hash && eq(ctx, h->slot[i].idx1 - 1))
			return h->slot[i].idx1 - 1;
	return -1;
}

static void put(struct hindex_slot *slots, size_t cap, uint64_t hash, uint32_t idx1)
{
	size_t i;

	for (i = hash & (cap - 1); slots[i].idx1; i = (i + 1) & (cap - 1))
		;
	slots[i].hash = hash;
	slots[i].idx1 = idx1;
}

int hindex__add(struct hindex *h, uint64_t hash, uint32_t idx)
{
	if (2 * (h->n + 1) > h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 256, i;
		struct hindex_slot *s = calloc(cap, sizeof(*s));

		if (!s)
			return -1;
		for (i = 0; i < h->cap; i++)
			if (h->slot[i].idx1)
				put(s, cap, h->slot[i].hash, h->slot[i].idx1);
		free(h->slot);
		h->slot = s;
		h->cap = cap;
	}
	put(h->slot, h->cap, hash, idx + 1);
	h->n++;
	return 0;
}

void hindex__free(struct hindex *h)
{
	free(h->slot);
	h->slot = NULL;
	h->cap = h->n = 0;
}

uint64_t hindex__hash(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;

	while (len--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A hash index over an array the caller owns: hash -> element index, open
 * addressing, grown at half full.  The caller compares candidates (eq), so
 * any key works: strings, frames, (instance, address) pairs.
 */
#ifndef PT_HINDEX_H
#define PT_HINDEX_H

#include <stddef.h>
#include <stdint.h>

struct hindex {
	struct hindex_slot {
		uint64_t hash;
		uint32_t idx1;	/* element index + 1; 0: empty */
	} *slot;
	size_t cap, n;
};

/* The index of the element with this hash that eq(ctx, idx) accepts, or -1. */
long hindex__find(const struct hindex *h, uint64_t hash, int (*eq)(const void *ctx, uint32_t idx),
		  const void *ctx);
/* Adds element idx under hash.  Returns 0, or -1 if memory ran out. */
int hindex__add(struct hindex *h, uint64_t hash, uint32_t idx);
void hindex__free(struct hindex *h);

/* FNV-1a over bytes, continuing from h (start with HINDEX_SEED). */
#define HINDEX_SEED 0xcbf29ce484222325ULL
uint64_t hindex__hash(uint64_t h, const void *p, size_t len);

#endif

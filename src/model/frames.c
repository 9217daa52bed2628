// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>
#include "model/frames.h"
#include "util/hindex.h"
#include "util/vec.h"

#define CHUNK 1024	/* frames per chunk: interned frames never move */

struct chain {
	uint32_t instance;
	uint64_t ip;
	size_t first, n;	/* in links */
};

struct frame_table {
	struct report_frame **chunks;
	size_t nframes, capchunks, madechunks;
	struct hindex frame_idx;
	char **strings;
	size_t nstrings, capstrings;
	struct hindex string_idx;
	struct chain *chains;
	size_t nchains, capchains;
	struct hindex chain_idx;
	const struct report_frame **links;
	size_t nlinks, caplinks;
};

struct frame_table *frames__new(void)
{
	return calloc(1, sizeof(struct frame_table));
}

void frames__free(struct frame_table *ft)
{
	size_t i;

	if (!ft)
		return;
	for (i = 0; i < ft->madechunks; i++)
		free(ft->chunks[i]);
	free(ft->chunks);
	for (i = 0; i < ft->nstrings; i++)
		free(ft->strings[i]);
	free(ft->strings);
	free(ft->chains);
	free(ft->links);
	hindex__free(&ft->frame_idx);
	hindex__free(&ft->string_idx);
	hindex__free(&ft->chain_idx);
	free(ft);
}

size_t frames__count(const struct frame_table *ft)
{
	return ft->nframes;
}

size_t frames__index(const struct frame_table *ft, const struct report_frame *f)
{
	size_t c;

	for (c = 0; c * CHUNK < ft->nframes; c++)
		if (f >= ft->chunks[c] && f < ft->chunks[c] + CHUNK)
			return c * CHUNK + (size_t)(f - ft->chunks[c]);
	return ft->nframes;
}

const struct report_frame *frames__at(const struct frame_table *ft, size_t i)
{
	return &ft->chunks[i / CHUNK][i % CHUNK];
}

struct string_key {
	const struct frame_table *ft;
	const char *s;
};

static int string_eq(const void *ctx, uint32_t idx)
{
	const struct string_key *k = ctx;

	return !strcmp(k->ft->strings[idx], k->s);
}

/* The table's copy of s (NULL stays NULL); *failed set if memory ran out. */
static char *intern_string(struct frame_table *ft, const char *s, int *failed)
{
	struct string_key k = { ft, s };
	uint64_t h;
	long i;

	if (!s)
		return NULL;
	h = hindex__hash(HINDEX_SEED, s, strlen(s));
	i = hindex__find(&ft->string_idx, h, string_eq, &k);
	if (i >= 0)
		return ft->strings[i];
	if (vec_grow((void **)&ft->strings, &ft->capstrings, ft->nstrings + 1,
		     sizeof(*ft->strings), 256) ||
	    !(ft->strings[ft->nstrings] = strdup(s))) {
		*failed = 1;
		return NULL;
	}
	if (hindex__add(&ft->string_idx, h, ft->nstrings)) {
		free(ft->strings[ft->nstrings]);
		*failed = 1;
		return NULL;
	}
	return ft->strings[ft->nstrings++];
}

struct frame_key {
	const struct frame_table *ft;
	const struct report_frame *f;	/* strings already interned */
};

static int frame_eq(const void *ctx, uint32_t idx)
{
	const struct frame_key *k = ctx;
	const struct report_frame *a = frames__at(k->ft, idx), *b = k->f;

	/* interned strings: equal exactly when the pointers are */
	return a->address == b->address && a->module_offset == b->module_offset &&
	       a->line == b->line && a->function == b->function && a->module == b->module &&
	       a->file == b->file && a->build_id == b->build_id && a->inlined == b->inlined &&
	       a->inlined_into == b->inlined_into && a->kind == b->kind;
}

static uint64_t frame_hash(const struct report_frame *f)
{
	uint64_t h = HINDEX_SEED;
	const void *p[4] = { f->function, f->module, f->file, f->build_id };
	int flags[4] = { f->line, f->inlined, f->inlined_into, (int)f->kind };

	h = hindex__hash(h, &f->address, sizeof(f->address));
	h = hindex__hash(h, &f->module_offset, sizeof(f->module_offset));
	h = hindex__hash(h, p, sizeof(p));
	return hindex__hash(h, flags, sizeof(flags));
}

const struct report_frame *frames__intern(struct frame_table *ft, const struct report_frame *f)
{
	struct report_frame c = *f, *slot;
	struct frame_key k = { ft, &c };
	int failed = 0;
	uint64_t h;
	long i;

	c.function = intern_string(ft, f->function, &failed);
	c.module = intern_string(ft, f->module, &failed);
	c.file = intern_string(ft, f->file, &failed);
	c.build_id = intern_string(ft, f->build_id, &failed);
	if (failed)
		return NULL;
	h = frame_hash(&c);
	i = hindex__find(&ft->frame_idx, h, frame_eq, &k);
	if (i >= 0)
		return frames__at(ft, i);
	/* a chunk made by an earlier call that then failed is reused */
	if (ft->nframes % CHUNK == 0 && ft->nframes / CHUNK >= ft->madechunks) {
		if (vec_grow((void **)&ft->chunks, &ft->capchunks, ft->nframes / CHUNK + 1,
			     sizeof(*ft->chunks), 16))
			return NULL;
		ft->chunks[ft->nframes / CHUNK] = calloc(CHUNK, sizeof(struct report_frame));
		if (!ft->chunks[ft->nframes / CHUNK])
			return NULL;
		ft->madechunks++;
	}
	if (hindex__add(&ft->frame_idx, h, ft->nframes))
		return NULL;
	slot = &ft->chunks[ft->nframes / CHUNK][ft->nframes % CHUNK];
	*slot = c;
	ft->nframes++;
	return slot;
}

struct chain_key {
	const struct frame_table *ft;
	uint32_t instance;
	uint64_t ip;
};

static int chain_eq(const void *ctx, uint32_t idx)
{
	const struct chain_key *k = ctx;

	return k->ft->chains[idx].instance == k->instance && k->ft->chains[idx].ip == k->ip;
}

static uint64_t chain_hash(uint32_t instance, uint64_t ip)
{
	return hindex__hash(hindex__hash(HINDEX_SEED, &instance, sizeof(instance)), &ip, sizeof(ip));
}

long frames__chain(const struct frame_table *ft, uint32_t instance, uint64_t ip,
		   const struct report_frame *const **out)
{
	struct chain_key k = { ft, instance, ip };
	long i = hindex__find(&ft->chain_idx, chain_hash(instance, ip), chain_eq, &k);

	if (i < 0)
		return -1;
	*out = ft->links + ft->chains[i].first;
	return (long)ft->chains[i].n;
}

int frames__set_chain(struct frame_table *ft, uint32_t instance, uint64_t ip,
		      const struct report_frame *const *v, size_t n)
{
	struct chain *c;

	if (vec_grow((void **)&ft->links, &ft->caplinks, ft->nlinks + n, sizeof(*ft->links), 1024) ||
	    vec_grow((void **)&ft->chains, &ft->capchains, ft->nchains + 1, sizeof(*ft->chains),
		     256) ||
	    hindex__add(&ft->chain_idx, chain_hash(instance, ip), ft->nchains))
		return -1;
	c = &ft->chains[ft->nchains++];
	c->instance = instance;
	c->ip = ip;
	c->first = ft->nlinks;
	c->n = n;
	memcpy(ft->links + ft->nlinks, v, n * sizeof(*v));
	ft->nlinks += n;
	return 0;
}

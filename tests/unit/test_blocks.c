// SPDX-License-Identifier: GPL-2.0
/*
 * The live-block tables (bpf/heap/blocks.h) against a plain list: random
 * inserts, removals and lookups at high load in a small table, checking
 * after every step that each live block is found with its own size, that
 * no other key is, that every block lies within reach of its home slot,
 * and that the slots in use are the live blocks.  Twice: as userspace
 * builds it (src/collect/blocks.c, the sweep's code) and with removal's
 * shift cut short after 3 slots, so that tombstones are made and reused.
 * Then the sweep of ended images.
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "collect/blocks.h"

/* The second build of the algorithm, with a short shift. */
#define PT_BLOCK_SHIFT 3
#include "collect/blocks_mem.h"

#define CAP 256u
#define MAXLIVE 200

struct impl {
	const char *name;
	int64_t (*find)(struct pt_block *, uint32_t, uint32_t, uint64_t);
	int (*insert)(struct pt_block *, uint32_t, const struct pt_block *);
	void (*remove)(struct pt_block *, uint32_t, uint32_t);
};

static int64_t short_find(struct pt_block *s, uint32_t cap, uint32_t inst, uint64_t addr)
{
	struct pt_block_walk w;

	pt_block_walk_init(&w, (uintptr_t)s, cap - 1, inst, addr);
	return pt_block_find(&w);
}

static int short_insert(struct pt_block *s, uint32_t cap, const struct pt_block *b)
{
	struct pt_block_walk w;
	int64_t at;

	pt_block_walk_init(&w, (uintptr_t)s, cap - 1, b->instance, b->addr);
	at = pt_block_insert(&w, b);
	return at < 0 ? (int)at : 0;
}

static void short_remove(struct pt_block *s, uint32_t cap, uint32_t at)
{
	struct pt_block_walk w;

	pt_block_walk_init(&w, (uintptr_t)s, cap - 1, 0, 0);
	pt_block_remove(&w, at);
}

static const struct impl impls[] = {
	{ "userspace build", blocks__find, blocks__insert, blocks__remove },
	{ "shift cut at 3", short_find, short_insert, short_remove },
};

/* Keys crowd: 3 images, addresses from a few hundred 16-byte steps. */
static struct pt_block random_block(void)
{
	struct pt_block b = { 0 };

	b.instance = 1 + rnd() % 3;
	b.addr = 0x10000 + 16 * (rnd() % 600);
	b.size = 1 + rnd() % 5000;
	b.stack_id = rnd();
	return b;
}

struct ref {
	struct pt_block b[MAXLIVE];
	int n;
};

static int ref_find(const struct ref *r, uint32_t inst, uint64_t addr)
{
	for (int i = 0; i < r->n; i++)
		if (r->b[i].instance == inst && r->b[i].addr == addr)
			return i;
	return -1;
}

/* Everything the table must say about the reference; 1 if it does. */
static int consistent(const struct impl *im, struct pt_block *slots, const struct ref *r)
{
	int used = 0, ok = 1;

	for (int i = 0; i < r->n; i++) {
		int64_t at = im->find(slots, CAP, r->b[i].instance, r->b[i].addr);

		if (at < 0 || slots[at].size != r->b[i].size ||
		    slots[at].stack_id != r->b[i].stack_id)
			ok = 0;
	}
	for (uint32_t i = 0; i < CAP; i++) {
		uint32_t home, dist;

		if (slots[i].addr <= PT_BLOCK_TOMB)
			continue;
		used++;
		if (ref_find(r, slots[i].instance, slots[i].addr) < 0)
			ok = 0;
		home = pt_block_home(slots[i].instance, slots[i].addr, CAP - 1);
		dist = (i - home) & (CAP - 1);
		if (dist >= PT_BLOCK_PROBES)
			ok = 0;
	}
	for (int k = 0; k < 20; k++) {
		struct pt_block b = random_block();

		if (ref_find(r, b.instance, b.addr) < 0 &&
		    im->find(slots, CAP, b.instance, b.addr) >= 0)
			ok = 0;
	}
	return ok && used == r->n;
}

static void random_ops(const struct impl *im, unsigned seed, int *tombs_seen, int *full_seen)
{
	static struct pt_block slots[CAP];
	struct ref r = { .n = 0 };
	int bad = 0;

	memset(slots, 0, sizeof(slots));
	rnd_state = 0x9e3779b97f4a7c15ULL + seed;
	for (int step = 0; step < 3000 && !bad; step++) {
		/* fill to about 3/4, then churn around there */
		int grow = r.n < 40 || (r.n < 190 && rnd() % 100 < 55);

		if (grow) {
			struct pt_block b = random_block();
			int had = ref_find(&r, b.instance, b.addr) >= 0;
			int ret = im->insert(slots, CAP, &b);

			if (had) {
				bad |= !CHECK(ret == -1);
			} else if (ret == -2) {
				(*full_seen)++;
			} else {
				bad |= !CHECK(ret == 0);
				r.b[r.n++] = b;
			}
		} else if (r.n) {
			int i = rnd() % r.n;
			int64_t at = im->find(slots, CAP, r.b[i].instance, r.b[i].addr);

			bad |= !CHECK(at >= 0);
			if (at >= 0)
				im->remove(slots, CAP, (uint32_t)at);
			r.b[i] = r.b[--r.n];
		}
		for (uint32_t i = 0; i < CAP; i++)
			*tombs_seen += slots[i].addr == PT_BLOCK_TOMB;
		if (!consistent(im, slots, &r)) {
			fprintf(stderr, "%s, seed %u: table and list differ after step %d\n",
				im->name, seed, step);
			bad = 1;
			CHECK(0);
		}
	}
	if (!bad)
		CHECK(1);
}

/* The sweep removes exactly the blocks of the ended images. */
static void sweep(unsigned seed)
{
	static struct pt_block slots[CAP];
	struct ref r = { .n = 0 }, kept = { .n = 0 };
	const uint32_t dead[] = { 1, 3 };
	uint64_t out;

	memset(slots, 0, sizeof(slots));
	rnd_state = 0x2545f4914f6cdd1dULL + seed;
	while (r.n < 180) {
		struct pt_block b = random_block();

		if (ref_find(&r, b.instance, b.addr) < 0 && !blocks__insert(slots, CAP, &b))
			r.b[r.n++] = b;
	}
	for (int i = 0; i < r.n; i++)
		if (r.b[i].instance == 2)
			kept.b[kept.n++] = r.b[i];
	/* in two ranges, as the loader sweeps a few thousand slots per lock */
	out = blocks__sweep(slots, CAP, 0, CAP / 2, dead, 2);
	out += blocks__sweep(slots, CAP, CAP / 2, CAP, dead, 2);
	CHECK_U64(out, r.n - kept.n);
	CHECK(consistent(&impls[0], slots, &kept));
}

/* Forked images have their blocks at the same addresses: 100 images' block
 * at one address, and 4 addresses each, fit a table of 1024 slots. */
static void forked_images(void)
{
	static struct pt_block slots[4 * CAP];
	int refused = 0, found = 0;

	memset(slots, 0, sizeof(slots));
	for (uint32_t inst = 1; inst <= 100; inst++)
		for (uint64_t k = 0; k < 4; k++) {
			struct pt_block b = { .addr = 0x55550000 + 32 * k, .instance = inst,
					      .size = inst };

			refused += blocks__insert(slots, 4 * CAP, &b) != 0;
		}
	for (uint32_t inst = 1; inst <= 100; inst++)
		for (uint64_t k = 0; k < 4; k++) {
			int64_t at = blocks__find(slots, 4 * CAP, inst, 0x55550000 + 32 * k);

			found += at >= 0 && slots[at].size == inst;
		}
	CHECK_U64(refused, 0);
	CHECK_U64(found, 400);
}

int main(void)
{
	forked_images();
	for (size_t k = 0; k < sizeof(impls) / sizeof(impls[0]); k++) {
		int tombs = 0, full = 0;

		for (unsigned seed = 0; seed < 40; seed++)
			random_ops(&impls[k], seed, &tombs, &full);
		/* the short shift must have made tombstones, the default none */
		if (k == 1)
			CHECK(tombs > 0);
		else
			CHECK_U64(tombs, 0);
		printf("%s: %d tombstone-slot sightings, %d inserts refused as full\n",
		       impls[k].name, tombs, full);
	}
	for (unsigned seed = 0; seed < 40; seed++)
		sweep(seed);
	return check_report("test_blocks");
}

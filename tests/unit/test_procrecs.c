// SPDX-License-Identifier: GPL-2.0
/* The process records' slots (src/collect/procrecs.c, the loader's side of
 * struct pt_proc's protocol): a slot taken once, a record seen only once
 * published and only under its own instance, a slot freed only for its
 * own published image, the count of slots taken, and racing claimers that
 * never share a slot. */
#include <pthread.h>
#include <stdlib.h>
#include "check.h"
#include "collect/procrecs.h"

#define SLOTS 16u
#define RACERS 4
#define NUMBERS 256u

static uint32_t racing_used;
static struct procrecs racing = { .used = &racing_used };
static unsigned won[RACERS];
static int owner[NUMBERS + 1];	/* which racer claimed each number */

/* Claims every number it can and writes its id into the record; the
 * slots' owners are checked after. */
static void *racer(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;

	for (uint32_t inst = 1; inst <= NUMBERS; inst++)
		if (!procrecs__claim(&racing, inst)) {
			struct pt_proc p = { .tgid = 1000 + id };

			owner[inst] = (int)id;
			procrecs__publish(&racing, inst, &p);
			won[id]++;
		}
	return NULL;
}

int main(void)
{
	uint32_t used = 0;
	struct procrecs m = { .v = calloc(SLOTS, sizeof(struct pt_proc)), .mask = SLOTS - 1,
			     .used = &used };
	struct pt_proc rec = { .tgid = 42, .alive = 1, .live_bytes = 7 }, copy;
	uint32_t top = 0xffffffffu;	/* the loader's first: bit 31, counting down */
	unsigned seen, total;
	pthread_t th[RACERS];

	CHECK(m.v != NULL);
	CHECK_U64(procrecs__slots(1), 16);
	CHECK_U64(procrecs__slots(16), 16);
	CHECK_U64(procrecs__slots(17), 32);
	CHECK_U64(procrecs__slots(16384), 16384);
	CHECK_U64(procrecs__slots(16385), 32768);
	CHECK_U64(procrecs__slots(0xffffffffu), 1u << 31);

	/* taken once: another number of the same slot cannot have it */
	CHECK(procrecs__claim(&m, 3) == 0);
	CHECK(procrecs__claim(&m, 3 + SLOTS) == -1);
	CHECK(procrecs__claim(&m, 3) == -1);
	CHECK(procrecs__claim(&m, 0) == -1);
	CHECK_U64(used, 1);
	/* claimed is not published */
	CHECK(procrecs__get(&m, 3) == NULL);
	CHECK_U64(procrecs__at(&m, 3, &copy), 0);
	procrecs__publish(&m, 3, &rec);
	CHECK(procrecs__get(&m, 3) != NULL);
	CHECK_U64(procrecs__get(&m, 3)->tgid, 42);
	CHECK_U64(procrecs__get(&m, 3)->live_bytes, 7);
	CHECK_U64(procrecs__get(&m, 3)->instance, 3);
	CHECK_U64(procrecs__get(&m, 3)->claimed, 1);
	/* only under its own instance */
	CHECK(procrecs__get(&m, 3 + SLOTS) == NULL);
	CHECK(procrecs__get(&m, 0) == NULL);

	/* the loader's numbers take the top slots */
	CHECK(procrecs__claim(&m, top) == 0);
	procrecs__publish(&m, top, &rec);
	CHECK(procrecs__get(&m, top) == &m.v[SLOTS - 1]);

	/* a walk over every slot sees the published ones, copied whole */
	seen = 0;
	for (uint32_t i = 0; i < SLOTS; i++) {
		uint32_t inst = procrecs__at(&m, i, &copy);

		if (!inst)
			continue;
		seen++;
		CHECK(inst == 3 || inst == top);
		CHECK_U64(copy.instance, inst);
		CHECK_U64(copy.tgid, 42);
	}
	CHECK_U64(seen, 2);

	CHECK_U64(used, 2);

	/* freed only for its own image */
	procrecs__free(&m, 3 + SLOTS);
	CHECK(procrecs__get(&m, 3) != NULL);
	CHECK_U64(used, 2);
	procrecs__free(&m, 3);
	CHECK(procrecs__get(&m, 3) == NULL);
	CHECK_U64(used, 1);
	CHECK(procrecs__claim(&m, 3 + SLOTS) == 0);
	/* a claim not yet published (another maker's, being written) stays */
	procrecs__free(&m, 3 + SLOTS);
	CHECK(procrecs__claim(&m, 3 + 2 * SLOTS) == -1);
	CHECK_U64(used, 2);
	procrecs__publish(&m, 3 + SLOTS, &rec);
	procrecs__free(&m, 3 + SLOTS);
	CHECK(procrecs__claim(&m, 3 + 2 * SLOTS) == 0);
	CHECK_U64(used, 2);

	/* racing claimers: each slot has one owner, whose record it holds */
	racing.v = calloc(SLOTS, sizeof(struct pt_proc));
	racing.mask = SLOTS - 1;
	CHECK(racing.v != NULL);
	for (unsigned i = 0; i < RACERS; i++)
		CHECK(pthread_create(&th[i], NULL, racer, (void *)(uintptr_t)i) == 0);
	for (unsigned i = 0; i < RACERS; i++)
		pthread_join(th[i], NULL);
	total = 0;
	for (unsigned i = 0; i < RACERS; i++)
		total += won[i];
	CHECK_U64(total, SLOTS);
	CHECK_U64(racing_used, SLOTS);
	for (uint32_t i = 0; i < SLOTS; i++) {
		uint32_t inst = procrecs__at(&racing, i, &copy);

		CHECK((inst & racing.mask) == i);
		if (!CHECK(inst >= 1 && inst <= NUMBERS))
			continue;
		/* the record is its claimer's, written by no one else */
		CHECK_U64(copy.tgid, 1000 + owner[inst]);
	}

	free(m.v);
	free(racing.v);
	return check_report("test_procrecs");
}

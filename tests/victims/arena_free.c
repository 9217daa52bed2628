// SPDX-License-Identifier: GPL-2.0
/*
 * glibc's own arenas and thread stacks are not the program's heap.
 *
 *   main: 32 MiB (hold_main) and 8 blocks of 64 B (small_block)
 *   8 threads: each frees one of the small blocks as its very first call
 *   into the allocator, which makes glibc create an arena for it inside
 *   free() (free -> tcache_init -> arena_get2 -> alloc_new_heap: a 64 MiB
 *   reservation), on a default 8 MiB thread stack (mapped by
 *   pthread_create); all of them wait at a barrier, then a 2 KiB malloc.
 *
 * The program asked for 32 MiB + 8 * 64 B, then 8 * 2 KiB: the tree peak
 * is 32 MiB + 8 * 2 KiB (the small blocks are gone by then), plus what
 * glibc allocates for each new thread (its TLS block, by malloc).
 */
#include <pthread.h>
#include "victim.h"

#define THREADS 8

static pthread_barrier_t all_freed, all_hold;
static void *small[THREADS];

NOINLINE void *hold_main(void)
{
	void *p = keep(malloc(32 * MiB));

	memset(p, 1, 4096);
	NO_TAIL();
	return p;
}

NOINLINE void *small_block(void)
{
	void *p = keep(malloc(64));

	NO_TAIL();
	return p;
}

NOINLINE void *thread_alloc(void)
{
	void *p = keep(malloc(2 * KiB));

	NO_TAIL();
	return p;
}

static void *worker(void *arg)
{
	void *mine;

	free(small[(size_t)arg]);	/* this thread's first allocator call */
	pthread_barrier_wait(&all_freed);
	mine = thread_alloc();
	pthread_barrier_wait(&all_hold);
	free(mine);
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	void *big = hold_main();
	size_t i;

	for (i = 0; i < THREADS; i++)
		small[i] = small_block();
	pthread_barrier_init(&all_freed, NULL, THREADS);
	pthread_barrier_init(&all_hold, NULL, THREADS);
	for (i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i))
			return 96;
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	free(big);
	return 0;
}

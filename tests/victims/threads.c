// SPDX-License-Identifier: GPL-2.0
/*
 * Eight threads allocating at once, all holding their memory at a barrier.
 *
 *   thread i (0..7): 4 blocks of (i + 1) MiB (worker_alloc)   4 * 36 = 144 MiB
 *   thread stacks: 8 * 256 KiB from malloc (make_stack)       2 MiB
 *
 * Stacks come from malloc so that no mmap of an unknown size (glibc's
 * default thread stacks) enters the figures.  Tree peak: 146 MiB, reached
 * when the last thread's last block is allocated, before any free.
 */
#include <pthread.h>
#include "victim.h"

#define THREADS 8
#define STACK (256 * KiB)

static pthread_barrier_t all_hold;

NOINLINE void *worker_alloc(size_t size)
{
	void *p = keep(malloc(size));

	NO_TAIL();
	return p;
}

static void *worker(void *arg)
{
	size_t i = (size_t)arg, k;
	void *blocks[4];

	for (k = 0; k < 4; k++) {
		blocks[k] = worker_alloc((i + 1) * MiB);
		memset(blocks[k], 1, 4096);
	}
	pthread_barrier_wait(&all_hold);
	for (k = 0; k < 4; k++)
		free(blocks[k]);
	return NULL;
}

NOINLINE void *make_stack(void)
{
	void *p = keep(malloc(STACK));

	NO_TAIL();
	return p;
}

int main(void)
{
	pthread_t t[THREADS];
	void *stacks[THREADS];
	pthread_attr_t attr;
	size_t i;

	pthread_barrier_init(&all_hold, NULL, THREADS);
	for (i = 0; i < THREADS; i++) {
		stacks[i] = make_stack();
		pthread_attr_init(&attr);
		pthread_attr_setstack(&attr, stacks[i], STACK);
		if (pthread_create(&t[i], &attr, worker, (void *)i))
			return 96;
		pthread_attr_destroy(&attr);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < THREADS; i++)
		free(stacks[i]);
	return 0;
}

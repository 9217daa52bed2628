// SPDX-License-Identifier: GPL-2.0
/*
 * Allocations while another thread holds the mmap lock for writing over
 * and over (a page mapped and unmapped without pause): a probe that finds
 * a caller's mapping then fails often.  main makes 100000 blocks of 100 B
 * and frees each at once: its counts are the same in every run.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "victim.h"

static volatile int done;

static void *churn_maps(void *arg)
{
	(void)arg;
	while (!done) {
		/* raw: glibc's mmap is probed, and its count would vary */
		long m = syscall(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m > 0)
			syscall(SYS_munmap, m, 4096);
	}
	return NULL;
}

NOINLINE static void small_blocks(void)
{
	for (int i = 0; i < 100000; i++)
		free(keep(malloc(100)));
	NO_TAIL();
}

int main(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, churn_maps, NULL))
		return 5;
	small_blocks();
	done = 1;
	pthread_join(t, NULL);
	return 0;
}

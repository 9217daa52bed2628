// SPDX-License-Identifier: GPL-2.0
/*
 * Make the RSS counters drift: two threads, one pinned to each of the
 * first two CPUs, touch 8 MiB each in turns, so both CPUs hold deltas that
 * the counters' count has not folded in.  At the peak, main prints the
 * exact anonymous RSS from smaps_rollup:  anon_kb_peak <KiB>
 */
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include "victim.h"
#include "rss.h"

#define PER_THREAD (8 * MiB)

static pthread_barrier_t step;

static void *toucher(void *arg)
{
	long cpu = (long)arg;
	cpu_set_t set;
	char *p = mmap(NULL, PER_THREAD, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set); /* one CPU only: fine, less drift */
	if (p == MAP_FAILED)
		exit(84);
	/* 20 pages at a time, then wait for the other thread: deltas below
	 * the batch stay on each CPU */
	for (size_t off = 0; off < PER_THREAD; off += 20 * 4096) {
		for (size_t k = off; k < off + 20 * 4096 && k < PER_THREAD; k += 4096)
			p[k] = 1;
		pthread_barrier_wait(&step);
	}
	return p;
}

int main(void)
{
	pthread_t t[2];
	void *p[2];

	pthread_barrier_init(&step, NULL, 2);
	for (long i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, toucher, (void *)i))
			return 83;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], &p[i]);
	printf("anon_kb_peak %ld\n", smaps_kb("Anonymous"));
	fflush(stdout);
	return 0;
}

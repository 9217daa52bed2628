// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark workload: a malloc/free storm.  N pairs, sizes 16..4096, 1000
 * blocks live.  Prints the loop's own ns per malloc+free pair on stdout, so
 * a tracer's start-up and report are not in the figure.
 *   storm N [DEPTH]  the storm run DEPTH calls deep (default 0: 4 frames
 *                    from main's caller down to malloc)
 *   storm faults R  R rounds of: map 16 MiB, touch every page, unmap, and
 *                   1000 malloc/free pairs; prints ns per page touched
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define LIVE 1000

static void *volatile sink;

/* STORM_CLOCK=cpu: the process's CPU time, not wall time.  Traps and BPF
 * programs run in the storm's own task and count; time that the shared
 * VM's host takes away from it does not. */
static uint64_t now(void)
{
	const char *c = getenv("STORM_CLOCK");
	struct timespec ts;

	clock_gettime(c && !strcmp(c, "cpu") ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int faults(uint64_t rounds)
{
	const size_t len = 16 << 20;
	uint64_t r, t0 = now();

	for (r = 0; r < rounds; r++) {
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return 1;
		for (size_t off = 0; off < len; off += 4096)
			p[off] = 1;
		munmap(p, len);
		for (int i = 0; i < 1000; i++) {
			sink = malloc(64 + i);
			free(sink);
		}
	}
	printf("%.1f\n", (double)(now() - t0) / (double)(rounds * (len / 4096)));
	return 0;
}

static int storm(uint64_t n);

/* depth more frames between main and the storm (not a tail call) */
static __attribute__((noinline)) int deeper(uint64_t n, unsigned depth)
{
	int r = depth ? deeper(n, depth - 1) : storm(n);

	__asm__ volatile("" ::: "memory");
	return r;
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "faults"))
		return faults(strtoull(argv[2], NULL, 10));
	return deeper(argc > 1 ? strtoull(argv[1], NULL, 10) : 5000000,
		      argc > 2 ? (unsigned)atoi(argv[2]) : 0);
}

static __attribute__((noinline)) int storm(uint64_t n)
{
	static void *slot[LIVE];
	uint64_t i, t0, t1;
	uint32_t x = 2463534242u;

	for (i = 0; i < LIVE; i++)
		slot[i] = malloc(16);
	t0 = now();
	for (i = 0; i < n; i++) {
		uint32_t k;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		k = x % LIVE;
		free(slot[k]);
		slot[k] = malloc(16 + (x >> 8) % 4081);
		sink = slot[k];
	}
	t1 = now();
	for (i = 0; i < LIVE; i++)
		free(slot[i]);
	printf("%.1f\n", (double)(t1 - t0) / (double)n);
	return 0;
}

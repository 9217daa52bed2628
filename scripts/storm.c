// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark workload: a malloc/free storm.  N pairs, sizes 16..4096, 1000
 * blocks live.  Prints the loop's own ns per malloc+free pair on stdout, so
 * a tracer's start-up and report are not in the figure.
 *   storm N [wait]   wait: sleep until stdin closes first (bystander runs)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define LIVE 1000

static void *volatile sink;

static uint64_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static void *slot[LIVE];
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 5000000, i, t0, t1;
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

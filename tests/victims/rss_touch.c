// SPDX-License-Identifier: GPL-2.0
/*
 * Seed 001 made exact: after making allocator holes, touch exactly 1 MiB of
 * fresh anonymous memory, 16 times.  At the peak, read the kernel's exact
 * anonymous RSS from smaps_rollup and print it:
 *   anon_kb_before <KiB> anon_kb_peak <KiB>
 * peaktrace's exact anon peak must match the second figure to the page
 * (but for the pages the reading and printing touch).
 */
#include <sys/mman.h>
#include "victim.h"
#include "rss.h"

#define ROUNDS 16

NOINLINE void make_holes(void)
{
	void *p[8];

	for (int i = 0; i < 8; i++)
		p[i] = keep(malloc(256 * KiB));
	for (int i = 0; i < 8; i += 2)
		free(p[i]);
	NO_TAIL();
}

NOINLINE char *touch_mib(void)
{
	char *p = mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		exit(85);
	for (size_t off = 0; off < MiB; off += 4096)
		p[off] = 1;
	NO_TAIL();
	return p;
}

int main(void)
{
	char *held[ROUNDS];
	long before, peak;

	make_holes();
	before = smaps_kb("Anonymous");
	for (int i = 0; i < ROUNDS; i++)
		held[i] = touch_mib();
	peak = smaps_kb("Anonymous");
	printf("anon_kb_before %ld anon_kb_peak %ld\n", before, peak);
	fflush(stdout);
	for (int i = 0; i < ROUNDS; i++)
		munmap(held[i], MiB);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Small blocks whose stacks are sampled: fill_a holds 32 MiB and fill_b
 * 8 MiB in 1 KiB blocks, and one 20 MiB block (above any sampling rate)
 * joins them at the peak: 60 MiB.  Then everything is freed.
 */
#include <unistd.h>
#include "victim.h"

#define A_BLOCKS 32768
#define B_BLOCKS 8192

static void *a[A_BLOCKS], *b[B_BLOCKS];

NOINLINE static void fill_a(void)
{
	for (int i = 0; i < A_BLOCKS; i++)
		a[i] = keep(malloc(KiB));
	NO_TAIL();
}

NOINLINE static void fill_b(void)
{
	for (int i = 0; i < B_BLOCKS; i++)
		b[i] = keep(malloc(KiB));
	NO_TAIL();
}

NOINLINE static void *big(void)
{
	void *p = keep(malloc(20 * MiB));

	NO_TAIL();
	return p;
}

int main(void)
{
	void *p;

	fill_a();
	fill_b();
	p = big();
	usleep(1000);
	free(p);
	for (int i = 0; i < A_BLOCKS; i++)
		free(a[i]);
	for (int i = 0; i < B_BLOCKS; i++)
		free(b[i]);
	return 0;
}

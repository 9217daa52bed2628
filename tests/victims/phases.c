// SPDX-License-Identifier: GPL-2.0
/*
 * Phases with distinct call sites; peaks known by construction.
 *
 *   phase_a: 30 MiB in 30 blocks, kept                        live 30
 *   phase_b: 50 MiB in 5 blocks, freed at once               peak 80 (A 30 + B 50)
 *   phase_c: 40 MiB in 4 blocks, kept                        live 70
 *   free A                                                   live 40
 *   phase_d: 20 MiB, kept (end state: C 40 + D 20)           live 60
 *
 * Tree peak 80 MiB: A 30 MiB (30 blocks) + B 50 MiB (5 blocks).
 * Attribution at the peak (A 30, B 50, C 0) differs from each site's own
 * maximum (C reached 40) and from the end state (C 40, D 20).
 */
#include "victim.h"

static void *a[30], *b[5], *c[4], *d;

NOINLINE void phase_a(void)
{
	for (int i = 0; i < 30; i++)
		a[i] = keep(malloc(1 * MiB));
	NO_TAIL();
}

NOINLINE void phase_b(void)
{
	for (int i = 0; i < 5; i++)
		b[i] = keep(malloc(10 * MiB));
	for (int i = 0; i < 5; i++)
		free(b[i]);
	NO_TAIL();
}

NOINLINE void phase_c(void)
{
	for (int i = 0; i < 4; i++)
		c[i] = keep(malloc(10 * MiB));
	NO_TAIL();
}

NOINLINE void phase_d(void)
{
	d = keep(malloc(20 * MiB));
	NO_TAIL();
}

int main(void)
{
	phase_a();
	phase_b();
	phase_c();
	for (int i = 0; i < 30; i++)
		free(a[i]);
	phase_d();
	return 7; /* peaktrace must exit with this */
}

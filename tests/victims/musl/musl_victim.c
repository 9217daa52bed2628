// SPDX-License-Identifier: GPL-2.0
/*
 * Linked against musl instead of glibc: a program a traced shell execs
 * into must have its C library probed from its first allocation.
 *   musl_alloc: 6 MiB, held, then freed.
 * Then 1 KiB from aligned_alloc and from posix_memalign, freed: exits 99
 * (keep) or 5 if either fails (musl turns them off when malloc is replaced
 * and aligned_alloc is not, as a preload library may do).
 * Last, prints "preload library mapped" or "... not mapped": whether
 * peaktrace-preload.so is in its /proc/self/maps.
 */
#include "../victim.h"

NOINLINE void *musl_alloc(void)
{
	void *p = keep(malloc(6 * MiB));

	NO_TAIL();
	return p;
}

static int print_preload_mapped(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	int mapped = 0;

	if (!f)
		return 6;
	while (fgets(line, sizeof(line), f))
		mapped |= strstr(line, "/peaktrace-preload.so") != NULL;
	fclose(f);
	printf("preload library %s\n", mapped ? "mapped" : "not mapped");
	return 0;
}

int main(void)
{
	void *q = NULL;

	free(musl_alloc());
	free(keep(aligned_alloc(64, 1024)));
	if (posix_memalign(&q, 64, 1024))
		return 5;
	free(q);
	return print_preload_mapped();
}

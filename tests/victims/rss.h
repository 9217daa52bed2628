/* SPDX-License-Identifier: GPL-2.0 */
/* Reading the kernel's exact RSS figures of the calling process. */
#ifndef PT_VICTIM_RSS_H
#define PT_VICTIM_RSS_H

#include <stdio.h>

/* A field of /proc/self/smaps_rollup ("Anonymous", "Rss"), in KiB: the
 * kernel walks the page tables for it, so it is exact. */
static long smaps_kb(const char *field)
{
	char line[256], name[64];
	long kb = -1, v;
	FILE *f = fopen("/proc/self/smaps_rollup", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63[^:]: %ld kB", name, &v) == 2 && !strcmp(name, field))
			kb = v;
	fclose(f);
	return kb;
}

#endif

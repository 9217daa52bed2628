// SPDX-License-Identifier: GPL-2.0
/*
 * A heap of known shape over time, for the timeline: up 40 MiB, down, up
 * 65 MiB, down, each level held 300 ms (many samples at the default 20 ms).
 * The blocks are touched, so RSS follows the same shape.
 */
#include <time.h>
#include "victim.h"

static void hold(void)
{
	struct timespec ts = { 0, 300 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

NOINLINE static void level(size_t bytes)
{
	char *p = keep(malloc(bytes));

	memset(p, 1, bytes);
	hold();
	free(p);
	hold();
	NO_TAIL();
}

int main(void)
{
	hold();
	level(40 * MiB);
	level(65 * MiB);
	return 0;
}

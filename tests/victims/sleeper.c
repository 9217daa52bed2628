// SPDX-License-Identifier: GPL-2.0
/*
 * Holds 12 MiB (hold), says "ready" on stdout, then sleeps: for SIGINT
 * in the middle of a run.  Dies of the signal it gets.
 */
#include <unistd.h>
#include "victim.h"

NOINLINE void *hold(void)
{
	void *p = keep(malloc(12 * MiB));

	NO_TAIL();
	return p;
}

int main(void)
{
	hold();
	printf("ready\n");
	fflush(stdout);
	sleep(60);
	return 0;
}

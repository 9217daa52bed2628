// SPDX-License-Identifier: GPL-2.0
/*
 * A worker pool's churn: 60 children one after the other, 50 ms apart,
 * each leaving 20 blocks of 1 KiB allocated at exit (leak_and_exit).
 * 1200 records in all: more than a 1024-entry allocation map holds unless
 * the records of ended processes are swept.  Meanwhile the parent takes 5
 * blocks of 1 KiB after each child (hold), among the children's records,
 * and frees all 300 one by one at the end: the sweeps must leave them
 * findable.  Tree peak: the parent's 295 KiB and the last child's 20 KiB.
 */
#include <sys/wait.h>
#include <unistd.h>
#include "victim.h"

NOINLINE void leak_and_exit(void)
{
	for (int i = 0; i < 20; i++)
		keep(malloc(1 * KiB));
	_exit(0);
}

NOINLINE void hold(void **blocks, int n)
{
	for (int i = 0; i < n; i++)
		blocks[i] = keep(malloc(1 * KiB));
}

int main(void)
{
	static void *held[300];

	for (int c = 0; c < 60; c++) {
		pid_t pid = fork();

		if (pid == 0)
			leak_and_exit();
		if (pid < 0 || waitpid(pid, NULL, 0) != pid)
			return 86;
		hold(held + 5 * c, 5);
		usleep(50000);
	}
	for (int i = 0; i < 300; i++)
		free(held[i]);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * A worker pool's churn: 60 children one after the other, 50 ms apart,
 * each leaving 20 blocks of 1 KiB allocated at exit (leak_and_exit).
 * 1200 records in all: more than a 1024-entry allocation map holds unless
 * the records of ended processes are swept.  Tree peak: one child, 20 KiB.
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

int main(void)
{
	for (int c = 0; c < 60; c++) {
		pid_t pid = fork();

		if (pid == 0)
			leak_and_exit();
		if (pid < 0 || waitpid(pid, NULL, 0) != pid)
			return 86;
		usleep(50000);
	}
	return 0;
}

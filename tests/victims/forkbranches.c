// SPDX-License-Identifier: GPL-2.0
/*
 * A multi-branch fork tree: the root starts 4 branches at once, each forks
 * 50 leaves one after another, each leaf holds 1 MiB (leaf_alloc) for a
 * moment and exits.  Every leaf must carry its probes: 200 leaves, each
 * with a 1 MiB peak.  (Without the swap guard in src/probes.c, perf's fast
 * context switch let an exiting leaf take its branch's probes away.)
 */
#include <sys/wait.h>
#include <unistd.h>
#include "victim.h"

#define BRANCHES 4
#define LEAVES 50

NOINLINE void leaf_alloc(void)
{
	char *p = keep(malloc(MiB));

	memset(p, 1, 4096);
	usleep(1000);
	free(p);
	NO_TAIL();
}

static int branch(void)
{
	for (int l = 0; l < LEAVES; l++) {
		pid_t pid = fork();

		if (pid == 0) {
			leaf_alloc();
			_exit(0);
		}
		if (pid < 0 || waitpid(pid, NULL, 0) != pid)
			return 86;
	}
	return 0;
}

int main(void)
{
	int st, bad = 0;

	for (int b = 0; b < BRANCHES; b++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(branch());
		if (pid < 0)
			return 86;
	}
	while (wait(&st) > 0)
		bad |= !WIFEXITED(st) || WEXITSTATUS(st);
	return bad ? 87 : 0;
}

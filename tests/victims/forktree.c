// SPDX-License-Identifier: GPL-2.0
/*
 * A fork + exec tree whose peak is not the sum of per-process peaks.
 *
 *   parent: hold 10 MiB (parent_hold)
 *   child 1: fork, exec "forktree child": 30 MiB (child_alloc), exit
 *            -> tree 40 MiB = parent 10 + child 30   <- the tree peak
 *   parent: free the 10 MiB, then 25 MiB (parent_later)    tree 25
 *   child 2: fork without exec: 5 MiB (fork_child_alloc)    tree 30
 *
 * Per-process peaks 25 + 30 + 5 = 60 MiB; the tree peak is 40 MiB.
 */
#include <sys/wait.h>
#include <unistd.h>
#include "victim.h"

NOINLINE void *parent_hold(void)
{
	void *p = keep(malloc(10 * MiB));

	NO_TAIL();
	return p;
}

NOINLINE void *parent_later(void)
{
	void *p = keep(malloc(25 * MiB));

	NO_TAIL();
	return p;
}

NOINLINE void child_alloc(void)
{
	void *p = keep(malloc(30 * MiB));

	free(p);
	NO_TAIL();
}

NOINLINE void fork_child_alloc(void)
{
	keep(malloc(5 * MiB));
	NO_TAIL();
}

static void wait_child(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "forktree: child failed\n");
		exit(98);
	}
}

int main(int argc, char **argv)
{
	void *held;
	pid_t pid;

	if (argc > 1 && !strcmp(argv[1], "child")) {
		child_alloc();
		return 0;
	}
	held = parent_hold();
	pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", "forktree", "child", (char *)NULL);
		_exit(97);
	}
	wait_child(pid);
	free(held);
	held = parent_later();
	pid = fork();
	if (pid == 0) {
		fork_child_alloc();
		_exit(0);
	}
	wait_child(pid);
	free(held);
	return 0;
}

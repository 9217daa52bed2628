// SPDX-License-Identifier: GPL-2.0
/*
 * A forked child frees a block its parent allocated before the fork
 * (parent_block, 4 MiB): expected, not a loss.  The child's own heap
 * starts at zero, so the free subtracts nothing; the parent's block stays
 * live in the parent.
 */
#include <sys/wait.h>
#include <unistd.h>
#include "victim.h"

NOINLINE void *parent_block(void)
{
	void *p = keep(malloc(4 * MiB));

	NO_TAIL();
	return p;
}

int main(void)
{
	void *p = parent_block();
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		free(p);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return 86;
	free(p);
	return 0;
}

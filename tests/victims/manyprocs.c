// SPDX-License-Identifier: GPL-2.0
/*
 * Many short-lived processes, one after another: N children (argv[1]) each
 * allocate 1 KiB (churn_alloc) and exit; the last one allocates 64 KiB in
 * last_alloc.  Past a few thousand processes, the code mappings of the
 * ended ones must leave the kernel's maps (kept by peaktrace) for the
 * last one's frames to be named.
 */
#include <sys/wait.h>
#include <unistd.h>
#include "victim.h"

NOINLINE void churn_alloc(void)
{
	keep(malloc(KiB));
	NO_TAIL();
}

NOINLINE void last_alloc(void)
{
	keep(malloc(64 * KiB));
	NO_TAIL();
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100;

	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			if (i == n - 1)
				last_alloc();
			else
				churn_alloc();
			_exit(0);
		}
		if (pid < 0 || waitpid(pid, NULL, 0) != pid)
			return 86;
	}
	return 0;
}

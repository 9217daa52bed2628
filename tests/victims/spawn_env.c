// SPDX-License-Identifier: GPL-2.0
/*
 * Runs programs one after the other, each with an environment of one
 * variable or none, after a pause, and calls no allocator itself (its heap
 * is empty: a free it makes of a block it made before its probes came
 * cannot blur the figures of what it runs).
 *   spawn_env MS ENV|- PROG ARGS... [";" ENV|- PROG ARGS...]...
 * Exits 3.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	struct timespec pause = { atoi(argv[1]) / 1000, (atoi(argv[1]) % 1000) * 1000000L };
	int i = 2, status;

	nanosleep(&pause, NULL);
	while (i + 1 < argc) {
		char *envp[2] = { strcmp(argv[i], "-") ? argv[i] : NULL, NULL };
		int start = ++i;
		pid_t pid;

		while (i < argc && strcmp(argv[i], ";"))
			i++;
		if (i < argc)
			argv[i++] = NULL;
		pid = fork();
		if (pid == 0) {
			execve(argv[start], &argv[start], envp);
			_exit(127);
		}
		if (pid > 0)
			waitpid(pid, &status, 0);
	}
	return 3;
}

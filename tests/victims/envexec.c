// SPDX-License-Identifier: GPL-2.0
/*
 * Execs a program with an environment made of FIRST, then N padding
 * variables, then LAST (both may be the same variable: the loader takes
 * the last):  envexec N FIRST LAST PROG ARGS...
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 4 ? atol(argv[1]) : -1, i;
	char **envp = n >= 0 ? calloc((size_t)n + 3, sizeof(char *)) : NULL;

	if (!envp)
		return 2;
	envp[0] = argv[2];
	for (i = 0; i < n; i++) {
		envp[i + 1] = malloc(24);
		if (!envp[i + 1])
			return 2;
		snprintf(envp[i + 1], 24, "P%ld=x", i);
	}
	envp[n + 1] = argv[3];
	execve(argv[4], argv + 4, envp);
	return 127;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Allocates on command, for scope tests: prints "ready", then reads
 * commands from stdin: "a" mallocs and touches N MiB (argv[1]) in
 * scope_alloc and prints "held"; "f" frees it and prints "freed"; end of
 * input exits.
 */
#include <unistd.h>
#include "victim.h"

NOINLINE static void *scope_alloc(size_t n)
{
	void *p = keep(malloc(n));

	memset(p, 1, n);
	NO_TAIL();
	return p;
}

int main(int argc, char **argv)
{
	size_t n = (argc > 1 ? strtoul(argv[1], NULL, 10) : 1) * MiB;
	void *p = NULL;
	int c;

	setvbuf(stdout, NULL, _IONBF, 0);
	printf("ready\n");
	while ((c = getchar()) != EOF) {
		if (c == 'a' && !p) {
			p = scope_alloc(n);
			printf("held\n");
		} else if (c == 'f' && p) {
			free(p);
			p = NULL;
			printf("freed\n");
		}
	}
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * A program linked with an allocator of its own (libownalloc.so): under
 * `peaktrace --preload` its malloc must stay that allocator's.  Prints
 * whether the allocator's constructor's block and its own are the pool's,
 * and how many calls the allocator took.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int ownalloc_calls;
extern void *ownalloc_early;
int ownalloc_owns(unsigned long addr);

int main(void)
{
	char *a = malloc(1 << 20), *b = calloc(10, 1000);
	int a_owned = ownalloc_owns((unsigned long)a);
	char *c = realloc(a, 2 << 20);

	printf("early %d a %d b %d c %d calls %d\n", ownalloc_owns((unsigned long)ownalloc_early), a_owned,
	       ownalloc_owns((unsigned long)b), ownalloc_owns((unsigned long)c), ownalloc_calls);
	fflush(stdout);
	free(b);
	free(c);
	return 0;
}

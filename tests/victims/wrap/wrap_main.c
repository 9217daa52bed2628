// SPDX-License-Identifier: GPL-2.0
/*
 * A program whose malloc is a wrapper ending in glibc's (wrap.c): holds
 * 4 MiB and 100 blocks of 10 000 bytes at once (its peak: 5 194 304
 * bytes), frees them all, then says whether the wrapper took the frees
 * at least.
 */
#include <stdio.h>
#include <stdlib.h>

extern int wrap_calls;

__attribute__((noinline)) static void *wrap_big(void)
{
	return malloc(4 << 20);
}

__attribute__((noinline)) static void *wrap_small(void)
{
	return calloc(1, 10000);
}

int main(void)
{
	void *big = wrap_big(), *small[100];
	int i;

	for (i = 0; i < 100; i++)
		small[i] = wrap_small();
	for (i = 0; i < 100; i++)
		free(small[i]);
	free(big);
	printf("wrapped %d\n", wrap_calls >= 101);
	return 0;
}

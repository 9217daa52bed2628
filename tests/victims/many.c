// SPDX-License-Identifier: GPL-2.0
/* 3000 live blocks of 100 bytes, to fill a small allocation map. */
#include "victim.h"

int main(void)
{
	static void *p[3000];
	int i;

	for (i = 0; i < 3000; i++)
		p[i] = keep(malloc(100));
	for (i = 0; i < 3000; i++)
		free(p[i]);
	return 0;
}

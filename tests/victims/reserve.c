// SPDX-License-Identifier: GPL-2.0
/*
 * Address space reserved, then used a piece at a time, as the Go runtime
 * does with its heap arenas: 1 GiB mapped PROT_NONE (reserve), then 4 MiB
 * of it mapped read-write with MAP_FIXED (use_piece).  The reservation is
 * not memory: the tree peak is 4 MiB.
 */
#include <sys/mman.h>
#include "victim.h"

NOINLINE char *reserve(void)
{
	char *p = mmap(NULL, 1024 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);

	if (p == MAP_FAILED)
		exit(85);
	NO_TAIL();
	return p;
}

NOINLINE char *use_piece(char *at)
{
	char *p = mmap(at, 4 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		       -1, 0);

	if (p != at)
		exit(86);
	memset(p, 1, 4096);
	NO_TAIL();
	return p;
}

int main(void)
{
	char *base = reserve();

	use_piece(base + 64 * MiB);
	munmap(base, 1024 * MiB);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Anonymous mappings outside the allocator: partial munmap, mremap growing
 * (moving) and shrinking, a file mapping that is not heap, MAP_FIXED.
 *
 *   map_region    A = 16 MiB anon                          live 16
 *                 munmap the middle 4 MiB of A              live 12 (A: 4 + 8)
 *   map_small     B = 4 MiB anon                            live 16
 *   grow_region   B = mremap(B, 4 -> 12 MiB, MAYMOVE)      live 24  <- peak
 *                 (A 12 MiB in 2 pieces, B 12 MiB)
 *   shrink        mremap(B, 12 -> 2 MiB)                    live 14
 *   map_file      8 MiB of a file, not heap                 live 14
 *   fixed_over    MAP_FIXED 1 MiB anon over A's tail start  live 14 (A tail 7 + 1)
 *                 munmap A's head (4 MiB)                   live 10
 * End: 10 MiB live (A tail 7, fixed 1, B 2).
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "victim.h"

#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static char *check(void *p)
{
	if (p == MAP_FAILED) {
		perror("mmaps");
		exit(94);
	}
	return p;
}

NOINLINE char *map_region(size_t len)
{
	char *p = check(mmap(NULL, len, PROT_READ | PROT_WRITE, ANON, -1, 0));

	NO_TAIL();
	return p;
}

NOINLINE char *map_small(size_t len)
{
	char *p = check(mmap(NULL, len, PROT_READ | PROT_WRITE, ANON, -1, 0));

	NO_TAIL();
	return p;
}

NOINLINE char *grow_region(char *p, size_t from, size_t to)
{
	char *q = check(mremap(p, from, to, MREMAP_MAYMOVE));

	NO_TAIL();
	return q;
}

NOINLINE char *shrink(char *p, size_t from, size_t to)
{
	char *q = check(mremap(p, from, to, 0));

	NO_TAIL();
	return q;
}

NOINLINE char *map_file(const char *path, size_t len)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	char *p;

	if (fd < 0 || ftruncate(fd, len))
		exit(93);
	p = check(mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
	close(fd);
	unlink(path);
	NO_TAIL();
	return p;
}

NOINLINE char *fixed_over(char *at, size_t len)
{
	char *p = check(mmap(at, len, PROT_READ | PROT_WRITE, ANON | MAP_FIXED, -1, 0));

	NO_TAIL();
	return p;
}

int main(int argc, char **argv)
{
	char *a, *b, *f;

	a = map_region(16 * MiB);
	if (munmap(a + 4 * MiB, 4 * MiB))
		return 92;
	b = map_small(4 * MiB);
	b = grow_region(b, 4 * MiB, 12 * MiB);
	b = shrink(b, 12 * MiB, 2 * MiB);
	f = map_file(argc > 1 ? argv[1] : "/tmp/peaktrace-mmaps.tmp", 8 * MiB);
	fixed_over(a + 8 * MiB, 1 * MiB);
	if (munmap(a, 4 * MiB))
		return 91;
	victim_sink = f;
	return 0;
}

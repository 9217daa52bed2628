// SPDX-License-Identifier: GPL-2.0
#include <sys/mman.h>
#include <unistd.h>
#include "util/mapmem.h"

/* What the kernel maps for n elements: whole pages. */
static size_t mapped_len(size_t n, size_t value_size)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), len = n * mapmem__stride(value_size);

	return (len + pg - 1) / pg * pg;
}

void *mapmem__map(int fd, size_t n, size_t value_size)
{
	void *p = mmap(NULL, mapped_len(n, value_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

void mapmem__unmap(void *p, size_t n, size_t value_size)
{
	if (p)
		munmap(p, mapped_len(n, value_size));
}

// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
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

void *mapmem__add_inner(int outer_fd, uint32_t key, const char *name, size_t value_size,
			uint32_t n, int *fd_out)
{
	/* an inner map must have its template's flags (the templates in bpf/
	 * are BPF_F_MMAPABLE | BPF_F_INNER_MAP) */
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE | BPF_F_INNER_MAP);
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name, sizeof(uint32_t), (uint32_t)value_size, n,
				&opts), e;
	void *p = fd >= 0 ? mapmem__map(fd, n, value_size) : NULL;

	if (p && !bpf_map_update_elem(outer_fd, &key, &fd, BPF_ANY)) {
		*fd_out = fd;
		return p;
	}
	e = errno;
	mapmem__unmap(p, n, value_size);
	if (fd >= 0)
		close(fd);
	errno = e;
	return NULL;
}

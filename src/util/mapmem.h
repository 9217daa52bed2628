/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The values of a BPF array map made with BPF_F_MMAPABLE, mapped into
 * peaktrace: element i at i * mapmem__stride(value_size), as the kernel
 * lays them out (each value rounded up to 8 bytes).
 */
#ifndef PT_MAPMEM_H
#define PT_MAPMEM_H

#include <stddef.h>
#include <stdint.h>

static inline size_t mapmem__stride(size_t value_size)
{
	return (value_size + 7) / 8 * 8;
}

/* The n elements of the array map fd, read-write and shared; NULL if it
 * cannot be mapped. */
void *mapmem__map(int fd, size_t n, size_t value_size);
/* Unmaps what mapmem__map returned for the same n and value_size. */
void mapmem__unmap(void *p, size_t n, size_t value_size);
/* A new mappable array of n elements put at key in the map of maps
 * outer_fd: its elements mapped, its fd in *fd_out; NULL (errno set) and
 * nothing left made if any step fails. */
void *mapmem__add_inner(int outer_fd, uint32_t key, const char *name, size_t value_size,
			uint32_t n, int *fd_out);

#endif

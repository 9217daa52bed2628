/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Calls the C library makes for itself.  glibc's malloc maps its arenas and
 * heaps (from free too: a thread whose first allocator call is free()
 * creates its arena there), pthread_create maps thread stacks, and a
 * thread's exit frees its tcache, which malloc made internally.  None of
 * that is heap the program asked for: an mmap, munmap, mremap or unknown
 * free called from inside a probed C library is the library's own.
 */
#ifndef PT_BPF_LIBC_CALLS_H
#define PT_BPF_LIBC_CALLS_H

#include "core.bpf.h"
#include "unwind/mappings.bpf.h"

/* The C libraries probed (src/probes/probes.c), by file. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct pt_cfi_module_key);
	__type(value, __u32);
} libc_files SEC(".maps");

/*
 * Whether the function probed at regs was called from inside a C library
 * we probe.  Only for probes where the return address is still at (%rsp)
 * (PT_COOKIE_RA_AT_RSP).
 */
__noinline int caller_in_libc(struct pt_regs *regs, __u32 inst)
{
	struct mapping_scratch *ms = mapping_scratch_get();
	struct pt_cfi_module_key key = {};
	__u64 ra = 0;

	if (!ms || bpf_probe_read_user(&ra, sizeof(ra), (void *)regs->sp) || !ra)
		return 0;
	ms->instance = inst;
	unwind_find_vma(ra - 1);
	if (!ms->vma.valid)
		return 0;
	key.dev = ms->vma.dev;
	key.ino = ms->vma.ino;
	return bpf_map_lookup_elem(&libc_files, &key) != NULL;
}

#endif

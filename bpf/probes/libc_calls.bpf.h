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

/* The C libraries probed (src/probes/probes.c) and the preload library,
 * by file: PT_FILE_LIBC or PT_FILE_PRELOAD. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct pt_cfi_module_key);
	__type(value, __u32);
} libc_files SEC(".maps");

/*
 * What the file of the code that called the function probed at regs is to
 * us: PT_FILE_LIBC (a C library we probe), PT_FILE_PRELOAD (the preload
 * library), 0 otherwise.  Only for probes where the return address is
 * still at (%rsp) (PT_COOKIE_RA_AT_RSP).
 */
__noinline int caller_file(struct pt_regs *regs, __u32 inst)
{
	struct mapping_scratch *ms = mapping_scratch_get();
	struct pt_cfi_module_key key = {};
	__u64 ra = 0;
	__u32 *what;

	if (!ms || bpf_probe_read_user(&ra, sizeof(ra), (void *)regs->sp) || !ra)
		return 0;
	ms->instance = inst;
	unwind_find_vma(ra - 1);
	if (!ms->vma.valid)
		return 0;
	key.dev = ms->vma.dev;
	key.ino = ms->vma.ino;
	what = bpf_map_lookup_elem(&libc_files, &key);
	return what ? *what : 0;
}

static __always_inline int caller_in_libc(struct pt_regs *regs, __u32 inst)
{
	return caller_file(regs, inst) == PT_FILE_LIBC;
}

#endif

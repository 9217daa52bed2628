/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every concern of the BPF side uses: the loader's settings, the tree's
 * global record, the loss counters and the event ring buffer.
 */
#ifndef PT_BPF_CORE_H
#define PT_BPF_CORE_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "peaktrace.h"

/* Set by the loader: probes fire but count nothing (benchmark baseline). */
const volatile __u32 bare_probes = 0;
/* Possible CPUs, for summing the per-CPU RSS counters. */
const volatile __u32 nr_cpus = 1;
/* Deepest user stack unwound (--stack-depth), at most PT_MAX_STACK_DEPTH. */
const volatile __u32 max_depth = PT_MAX_STACK_DEPTH;
/* Blocks smaller than this many bytes have their stack captured with
 * probability size / sample_bytes (--sample-bytes; 0: every stack,
 * --exact-stacks).  See heap_alloc(). */
const volatile __u64 sample_bytes = 0;
/* the preload library's ledger counts small blocks in the process (src/preload/ledger.c):
 * the sites say which small blocks it drew */
const volatile __u32 ledger = 0;
/* --all, --cgroup: keep each process tree's RSS peak (map trees). */
const volatile __u32 track_trees = 0;
/* --cgroup: the cgroup v2 id of the scope and its level in the hierarchy
 * (0: no cgroup scope).  --all: scope_all. */
const volatile __u64 scope_cgroup_id = 0;
const volatile __u32 scope_cgroup_level = 0;
const volatile __u32 scope_all = 0;
const volatile __u32 scope_all_heap = 0;	/* -a --heap */
/* 0 before Linux 6.2 (no per-CPU RSS counters): the RSS code is dead, and
 * libbpf's poisoned CO-RE relocations in it are never reached. */
const volatile __u32 rss_enabled = 1;

/* A stack's hash (its id): FNV-1a over its frames, one step per frame,
 * native and Python alike; a stack starts from STACK_HASH_SEED. */
#define STACK_HASH_SEED 0xcbf29ce484222325ULL
static __always_inline __u64 stack_hash_step(__u64 h, __u64 frame)
{
	return (h ^ frame) * 0x100000001b3ULL;
}

#define PROT_NONE 0x0
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MREMAP_FIXED 2
#define MAX_ERRNO 4095
#define PAGE_SIZE 4096ULL

/* The tree's figures and the model lock.  Map sizes are set by the loader
 * before load (bpf_map__set_max_entries, src/run/loader.c).  Mappable:
 * userspace takes the lock to sweep the allocation tables
 * (src/collect/tables.c). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pt_global);
} global SEC(".maps");

/* Loss and note counters (PT_COUNTER_LIST), per CPU; userspace sums them. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PT_LOST_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* Process events and mappings seen for the first time, for userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

static __always_inline void lost_inc(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&lost, &which);

	if (c)
		*c += 1;
}

static __always_inline struct pt_global *global_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&global, &zero);
}

/*
 * A per-CPU scratch value of type T, for state too large for the 512-byte
 * BPF stack or shared by global functions (whose arguments can only be
 * numbers): defines the map NAME_map and NAME_get() returning this CPU's.
 */
#define PT_PERCPU_SCRATCH(name, T)                                             \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                       \
		__uint(max_entries, 1);                                        \
		__type(key, __u32);                                            \
		__type(value, T);                                              \
	} name##_map SEC(".maps");                                             \
	static __always_inline T *name##_get(void)                             \
	{                                                                      \
		__u32 zero = 0;                                                \
		return bpf_map_lookup_elem(&name##_map, &zero);                \
	}

static __always_inline int is_err(__u64 ret)
{
	return ret >= (__u64)-MAX_ERRNO;
}

static __always_inline __u64 page_round(__u64 len)
{
	return (len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}

#endif

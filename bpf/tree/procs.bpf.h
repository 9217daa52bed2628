/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The traced processes: which tgids are in the tree (tgids), and a record
 * per process image (procs).  An image ends at exit or exec; exec starts a
 * new one, so an old image's records never mix with a new one's.
 */
#ifndef PT_BPF_TREE_PROCS_H
#define PT_BPF_TREE_PROCS_H

#include "core.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);	/* tgid */
	__type(value, struct pt_tgid);
} tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);	/* instance */
	__type(value, struct pt_proc);
} procs SEC(".maps");

/* Process trees within the scope (--all, --cgroup; track_trees set), by
 * root instance. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct pt_tree);
} trees SEC(".maps");

static __always_inline struct pt_tree *tree_of(const struct pt_proc *p)
{
	__u32 root = p->tree_root;

	return track_trees && root ? bpf_map_lookup_elem(&trees, &root) : NULL;
}

/* The image whose heap the calling thread's allocator calls count in. */
static __always_inline __u32 current_instance(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct pt_tgid *t = bpf_map_lookup_elem(&tgids, &tgid);

	return t ? t->heap_instance : 0;
}

static __always_inline __u32 instance_new(void)
{
	struct pt_global *g = global_get();

	if (!g)
		return 0;
	/* Instances made here use the low 31 bits; the loader's have bit 31. */
	return (__sync_fetch_and_add(&g->next_instance, 1) + 1) & 0x7fffffff;
}

static __always_inline struct pt_event *event_reserve(__u32 type, struct task_struct *task)
{
	struct pt_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		lost_inc(PT_LOST_EVENTS);
		return NULL;
	}
	e->type = type;
	e->tgid = task->tgid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->time_ns = bpf_ktime_get_ns();
	e->argv_len = 0;
	e->exe_dev = e->exe_ino = 0;
	e->filename[0] = 0;
	e->exit_code = 0;
	e->prev_instance = 0;
	e->pad = 0;
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), task->comm);
	return e;
}

/* heap_instance: 0, or the parent's for a CLONE_VM child (see pt_tgid). */
static __always_inline __u32 proc_start(__u32 tgid, __u32 ppid, __u32 parent_instance,
					__u32 heap_instance)
{
	struct pt_tgid t;
	struct pt_proc p = {
		.tgid = tgid, .ppid = ppid, .parent_instance = parent_instance,
		.alive = 1, .start_ns = bpf_ktime_get_ns(),
	};
	__u32 inst = instance_new();
	struct pt_proc *pp = parent_instance ? bpf_map_lookup_elem(&procs, &parent_instance) : NULL;
	struct pt_tree zero = {};

	/* its parent's tree; a tree of its own if the parent is init (pid 1)
	 * or untraced; an exec stays in the tree its image was in */
	p.tree_root = pp && pp->tree_root && (pp->tgid != 1 || pp->tgid == tgid) ? pp->tree_root : inst;
	if (!inst || bpf_map_update_elem(&procs, &inst, &p, BPF_NOEXIST)) {
		lost_inc(PT_LOST_PROCS_FULL);
		return 0;
	}
	if (track_trees && p.tree_root == inst &&
	    bpf_map_update_elem(&trees, &p.tree_root, &zero, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&trees, &p.tree_root))
		lost_inc(PT_LOST_TREES_FULL);
	t.instance = inst;
	t.heap_instance = heap_instance ?: inst;
	if (bpf_map_update_elem(&tgids, &tgid, &t, BPF_ANY)) {
		lost_inc(PT_LOST_PROCS_FULL);
		bpf_map_delete_elem(&procs, &inst);
		return 0;
	}
	return inst;
}

#endif

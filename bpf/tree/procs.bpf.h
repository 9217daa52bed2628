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

/*
 * Image records, slot inst & procs_mask (see struct pt_proc).  An array,
 * not a hash keyed by instance: on the malloc/free storm of scripts/bench
 * the hash's two lookups per pair (jhash, bucket walk, memcmp) cost about
 * 7% of the traced program's time; an array lookup is inlined.  Mappable:
 * the loader takes slots for the processes it registers, and reads them.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 16384);
	__type(key, __u32);	/* slot */
	__type(value, struct pt_proc);
} procs SEC(".maps");

/* Slots - 1 (a power of two - 1), set by the loader with the map's size. */
const volatile __u32 procs_mask = 16383;

/* The record of image inst, NULL if it has none (never made, or swept). */
static __always_inline struct pt_proc *proc_get(__u32 inst)
{
	__u32 slot = inst & procs_mask;
	struct pt_proc *p = inst ? bpf_map_lookup_elem(&procs, &slot) : NULL;

	return p && p->instance == inst ? p : NULL;
}

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

struct slot_try {
	__u32 instance;
};

/* One try for a new instance: the next number, if its slot is free. */
static long slot_try(__u32 i, void *ctx)
{
	struct slot_try *c = ctx;
	struct pt_global *g = global_get();
	struct pt_proc *p;
	__u32 inst, slot;

	if (!g)
		return 1;
	/* Instances made here use the low 31 bits; the loader's have bit 31
	 * (and count down from the top slots, see src/run/register.c). */
	inst = (__sync_fetch_and_add(&g->next_instance, 1) + 1) & 0x7fffffff;
	slot = inst & procs_mask;
	p = inst ? bpf_map_lookup_elem(&procs, &slot) : NULL;
	if (!p || __sync_val_compare_and_swap(&p->claimed, 0, 1) != 0)
		return 0;
	__sync_fetch_and_add(&g->procs_used, 1);
	c->instance = inst;
	return 1;
}

/*
 * A new instance with its slot taken (claimed, not yet published), or 0 if
 * the map is full.  Numbers whose slot is taken (an image that outlived
 * procs_mask + 1 younger ones, or one the loader made) are passed over.
 * A full map is known from the count, not from a try at every slot: that
 * would cost each later fork procs_mask + 1 tries and burn as many numbers.
 */
static __noinline __u32 instance_new(void)
{
	struct pt_global *g = global_get();
	struct slot_try c = {};

	if (!g || g->procs_used > procs_mask)
		return 0;
	bpf_loop(procs_mask + 1, slot_try, &c, 0);
	return c.instance;
}

/* Frees the slot of inst, whose record proc_start() just published. */
static __always_inline void slot_free(__u32 inst)
{
	struct pt_proc *p = proc_get(inst);
	struct pt_global *g = global_get();

	if (p && g) {
		__sync_lock_test_and_set(&p->instance, 0);
		__sync_lock_test_and_set(&p->claimed, 0);
		__sync_fetch_and_add(&g->procs_used, -1);
	}
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
	__u32 inst = instance_new(), slot = inst & procs_mask, root;
	struct pt_proc *pp = proc_get(parent_instance), *rec;
	struct pt_tree zero = {};
	struct pt_tgid t;

	/* its parent's tree; a tree of its own if the parent is init (pid 1)
	 * or untraced; an exec stays in the tree its image was in */
	root = pp && pp->tree_root && (pp->tgid != 1 || pp->tgid == tgid) ? pp->tree_root : inst;
	rec = inst ? bpf_map_lookup_elem(&procs, &slot) : NULL;
	if (!rec) {
		lost_inc(PT_LOST_PROCS_FULL);
		return 0;
	}
	/* Written whole in place, then published (struct pt_proc): not built
	 * on the stack and copied, its 400 bytes would take most of the 512
	 * a program and the subprograms it calls share (no private stacks on
	 * every kernel).  The claim stays as instance_new() left it. */
	__sync_lock_test_and_set(&rec->instance, 0);
	__builtin_memset(&rec->tgid, 0, sizeof(*rec) - offsetof(struct pt_proc, tgid));
	rec->tgid = tgid;
	rec->ppid = ppid;
	rec->parent_instance = parent_instance;
	rec->alive = 1;
	rec->start_ns = bpf_ktime_get_ns();
	rec->tree_root = root;
	__sync_lock_test_and_set(&rec->instance, inst);
	if (track_trees && root == inst &&
	    bpf_map_update_elem(&trees, &root, &zero, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&trees, &root))
		lost_inc(PT_LOST_TREES_FULL);
	t.instance = inst;
	t.heap_instance = heap_instance ?: inst;
	if (bpf_map_update_elem(&tgids, &tgid, &t, BPF_ANY)) {
		lost_inc(PT_LOST_PROCS_FULL);
		slot_free(inst);
		return 0;
	}
	return inst;
}

#endif

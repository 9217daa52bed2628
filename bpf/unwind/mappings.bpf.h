/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which code mapping holds a user address, and its unwind table if the
 * loader built one (src/stacks/cfi.c).  Used by the native unwinder at each
 * frame and by the C-library ownership rule (probes/libc_calls.bpf.h).  Every
 * code mapping a stack goes through is recorded once per image in vmas,
 * with what identifies its file, so that stacks can be symbolized after
 * the process is gone; userspace is told while the process lives.
 */
#ifndef PT_BPF_UNWIND_MAPPINGS_H
#define PT_BPF_UNWIND_MAPPINGS_H

#include "core.bpf.h"

/* Code mappings of live images; the loader moves those of ended images
 * out (src/collect/sweep.c). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct pt_vma_key);
	__type(value, struct pt_vma);
} vmas SEC(".maps");

/* The unwind tables' index by file; their rows are in unwind/native.bpf.h. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct pt_cfi_module_key);
	__type(value, struct pt_cfi_module);
} cfi_modules SEC(".maps");

/* Bumped by the loader after it adds unwind tables: mappings and rules
 * cached as "no table" before that are looked up again. */
__u64 cfi_generation;

/* A code mapping, and its unwind table if it has one. */
struct unwind_vma {
	__u64 start, end;
	__u64 file_off;		/* file offset of start */
	__s64 delta;		/* the table's vaddr - file offset */
	__u64 dev, ino;		/* its file; 0 if anonymous */
	__u32 first, nrows;
	__u32 has_table;
	__u32 valid;
	__u32 exec;
	__u32 gen;		/* cfi_generation when has_table was decided */
};

#define VMA_CACHE 16

/*
 * The code mappings a process's stacks went through, shared by its threads:
 * bpf_find_vma() must take the mmap lock without waiting and fails while
 * another thread maps or unmaps, so a thread that starts among busy
 * siblings finds the modules its process already resolved here.
 */
struct proc_vma_cache {
	__u32 next;
	__u32 pad;
	struct unwind_vma vma[VMA_CACHE];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, __u32);	/* instance */
	__type(value, struct proc_vma_cache);
} proc_vmas SEC(".maps");

/* An all-zero proc_vma_cache to create entries from (too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct proc_vma_cache);
} proc_vma_zero SEC(".maps");

/* What a try at the kernel's mapping of an address (bpf_find_vma) found:
 * the mapping, and its file's name. */
struct vma_found {
	struct unwind_vma u;
	char name[PT_FILE_NAME_LEN];
};

/* The lookup's input and result, per CPU: unwind_find_vma is a global
 * function, whose arguments can only be numbers.  Its work space too: on
 * the stack, the try and the record it makes took 250 of the 512 bytes
 * that the uprobe program and its deepest chain of subprograms share
 * (kernels without private BPF stacks count them all). */
struct mapping_scratch {
	__u32 instance;		/* the image whose mappings are looked at */
	__u32 pad;
	struct unwind_vma vma;	/* the last mapping found; valid 0 if none */
	struct vma_found t;	/* the kernel's answer being read */
	struct pt_vma rec;	/* the mapping's record for vmas */
};

PT_PERCPU_SCRATCH(mapping_scratch, struct mapping_scratch)

/* The context of a try's callbacks: it has to be on the stack. */
struct vma_try {
	__u64 addr;
	struct mapping_scratch *ms;
};

/* Records a code mapping of inst (once) and tells userspace about it. */
static __always_inline void vma_remember(struct mapping_scratch *ms, __u32 inst)
{
	const struct unwind_vma *u = &ms->t.u;
	struct pt_vma_key key = { .instance = inst, .start = u->start };
	struct pt_vma *v = &ms->rec;
	struct pt_event *e;

	if (bpf_map_lookup_elem(&vmas, &key))
		return;
	v->end = u->end;
	v->file_offset = u->file_off;
	v->dev = u->dev;
	v->ino = u->ino;
	__builtin_memcpy(v->name, ms->t.name, sizeof(v->name));
	if (bpf_map_update_elem(&vmas, &key, v, BPF_NOEXIST)) {
		if (!bpf_map_lookup_elem(&vmas, &key))
			lost_inc(PT_LOST_VMAS_FULL);
		return;
	}
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		lost_inc(PT_LOST_EVENTS);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = PT_EV_VMA;
	e->tgid = bpf_get_current_pid_tgid() >> 32;
	e->instance = inst;
	e->exe_dev = v->dev;	/* the mapping's file: maybe known already */
	e->exe_ino = v->ino;
	bpf_ringbuf_submit(e, 0);
}

/* The unwind table of u's file, if the loader has built one. */
static __always_inline void unwind_vma_table(struct unwind_vma *u)
{
	struct pt_cfi_module_key key = { .dev = u->dev, .ino = u->ino };
	struct pt_cfi_module *m = bpf_map_lookup_elem(&cfi_modules, &key);

	if (m) {
		u->first = m->first;
		u->nrows = m->nrows;
		u->delta = m->vaddr_minus_offset;
		u->has_table = 1;
	}
}


/* Under the mmap lock: reads only.  The map updates and the event come
 * after, outside the callback, which the verifier checks once per state
 * of its caller. */
static long unwind_vma_found(struct task_struct *task, struct vm_area_struct *vma,
			     struct vma_try *c)
{
	struct vma_found *t = &c->ms->t;
	struct unwind_vma *u = &t->u;
	struct file *f;

	u->start = BPF_CORE_READ(vma, vm_start);
	u->end = BPF_CORE_READ(vma, vm_end);
	u->file_off = BPF_CORE_READ(vma, vm_pgoff) * PAGE_SIZE;
	u->valid = 1;
	u->exec = !!(BPF_CORE_READ(vma, vm_flags) & 0x4 /* VM_EXEC */);
	f = BPF_CORE_READ(vma, vm_file);
	if (!f)
		return 0;
	u->ino = BPF_CORE_READ(f, f_inode, i_ino);
	u->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	if (u->exec)
		bpf_probe_read_kernel_str(t->name, sizeof(t->name),
					  BPF_CORE_READ(f, f_path.dentry, d_name.name));
	return 0;
}

struct vma_scan {
	struct proc_vma_cache *pc;
	__u64 addr;
	int found;		/* the slot holding addr, or -1 */
};

/* One slot of the process's mapping cache: a loop callback, checked once by
 * the verifier (unrolled, the 16 slots took 15 ms of each uprobe program's
 * verification at every start). */
static long vma_cache_step(__u64 k, struct vma_scan *vs)
{
	struct unwind_vma *c;

	if (k >= VMA_CACHE)
		return 1;
	c = &vs->pc->vma[k];
	if (c->valid && vs->addr >= c->start && vs->addr < c->end) {
		vs->found = (int)k;
		return 1;
	}
	return 0;
}

/* One try: a loop callback, so that the verifier checks bpf_find_vma()'s
 * callback once, not once per try (the four tries, unrolled, were half of
 * the uprobe program's verification). */
static long vma_try_step(__u64 k, struct vma_try *c)
{
	bpf_find_vma(bpf_get_current_task_btf(), c->addr, unwind_vma_found, c, 0);
	return c->ms->t.u.valid ? 1 : 0;
}

/* The mapping of image ms->instance holding addr, into ms->vma: from the
 * process's cache, else from the kernel.  Not found (the mmap lock was
 * busy): valid = 0, and the caller falls back (frame pointers). */
__noinline int unwind_find_vma(__u64 addr)
{
	struct mapping_scratch *ms = mapping_scratch_get();
	struct proc_vma_cache *pc, *zero;
	struct vma_found *t;
	struct vma_try c;
	__u32 inst, z = 0;
	int k;

	if (!ms)
		return 0;
	inst = ms->instance;
	t = &ms->t;

	pc = bpf_map_lookup_elem(&proc_vmas, &inst);
	zero = pc ? NULL : bpf_map_lookup_elem(&proc_vma_zero, &z);
	if (zero) {
		bpf_map_update_elem(&proc_vmas, &inst, zero, BPF_NOEXIST);
		pc = bpf_map_lookup_elem(&proc_vmas, &inst);
	}
	if (pc) {
		struct vma_scan vs = { .pc = pc, .addr = addr, .found = -1 };

		bpf_loop(VMA_CACHE, vma_cache_step, &vs, 0);
		if (vs.found >= 0) {
			struct unwind_vma *c = &pc->vma[vs.found & (VMA_CACHE - 1)];

			/* cached before its file's table was loaded (the exec'd
			 * program of a shell, a dlopen): look again */
			if (!c->has_table && c->ino && c->gen != (__u32)cfi_generation) {
				c->gen = (__u32)cfi_generation;
				unwind_vma_table(c);
			}
			ms->vma = *c;
			return 0;
		}
	}
	/* the lock is only tried: give a sibling's mmap a few chances to end */
	/* name too: it goes into vmas */
	__builtin_memset(t, 0, sizeof(*t));
	c.addr = addr;
	c.ms = ms;
	bpf_loop(4, vma_try_step, &c, 0);
	if (t->u.valid) {
		/* before the table lookup: a table added meanwhile makes it stale */
		t->u.gen = (__u32)cfi_generation;
		/* every frame's mapping passes here once per image (then it is cached) */
		if (t->u.exec)
			vma_remember(ms, inst);
		if (t->u.ino)
			unwind_vma_table(&t->u);
	}
	ms->vma = t->u;
	if (pc && t->u.valid) {
		k = __sync_fetch_and_add(&pc->next, 1) & (VMA_CACHE - 1);
		pc->vma[k] = t->u;
	}
	return 0;
}

#endif

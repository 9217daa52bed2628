/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The process tree, followed by tp_btf programs: a fork whose parent is
 * traced makes the child traced, exec starts a new process image
 * (instance), exit ends one.  An image that ends leaves the tree total at
 * once.
 */
#ifndef PT_BPF_TREE_PROGRAMS_H
#define PT_BPF_TREE_PROGRAMS_H

#include "core.bpf.h"
#include "tree/procs.bpf.h"
#include "model/model.bpf.h"
#include "rss/rss.bpf.h"
#include "unwind/native.bpf.h"
#include "probes/programs.bpf.h"

/* Whether cg is the --cgroup scope or below it. */
static __always_inline int cgroup_in_scope(struct cgroup *cg)
{
	struct cgroup *anc = NULL;
	__u32 level = scope_cgroup_level;

	if (!scope_cgroup_id || !cg || BPF_CORE_READ(cg, level) < (int)level || level > 255)
		return 0;
	bpf_probe_read_kernel(&anc, sizeof(anc), &cg->ancestors[level]);
	return anc && BPF_CORE_READ(anc, kn, id) == scope_cgroup_id;
}

/* Tells userspace tgid entered the scope: it attaches its probes and
 * registers it (as for -p). */
static __always_inline void scope_enter(struct task_struct *task)
{
	struct pt_event *e = event_reserve(PT_EV_ENTER, task);

	if (e)
		bpf_ringbuf_submit(e, 0);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(pt_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	__u64 mm = (__u64)BPF_CORE_READ(child, mm);
	int shares_mm = mm == (__u64)BPF_CORE_READ(parent, mm);
	struct pt_tgid *pt;
	__u32 inst, parent_inst;
	struct pt_event *e;

	if ((__u32)child->pid != ctgid) /* a new thread, not a new process */
		return 0;
	pt = bpf_map_lookup_elem(&tgids, &ptgid);
	if (!pt) {
		/* --all: a parent outside it (a kernel thread's helper);
		 * --cgroup: made straight into it (clone3's CLONE_INTO_CGROUP) */
		if (scope_cgroup_id && cgroup_in_scope(BPF_CORE_READ(child, cgroups, dfl_cgrp)))
			scope_enter(child);
		if (!scope_all)
			return 0;
		if (scope_all_heap)
			scope_enter(child);	/* its probes, from userspace */
	}
	parent_inst = pt ? pt->instance : 0;
	inst = proc_start(ctgid, ptgid, parent_inst, pt && shares_mm ? pt->heap_instance : 0);
	if (!inst)
		return 0;
	/* A CLONE_VM child (vfork, posix_spawn, system) shares its parent's
	 * mm until it execs: the mm stays the parent's, counted once. */
	if (mm && !shares_mm) {
		struct pt_proc *cp = proc_get(inst), *pp = proc_get(parent_inst);

		/* the copy of its parent's ledger, resident in it too (its
		 * ledger says so again when it finds its record) */
		if (cp && pp) {
			cp->ledger_pages = pp->ledger_pages;
			cp->ledger_file_pages = pp->ledger_file_pages;
		}
		mm_record(mm, inst, BPF_ANY);
		/* fork counted the copied page tables before we knew the mm */
		rss_update(mm, inst, -1);
	}
	py_inherit(parent_inst, inst);
	e = event_reserve(PT_EV_FORK, child);
	if (!e)
		return 0;
	e->ppid = ptgid;
	e->instance = inst;
	e->prev_instance = parent_inst;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(pt_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = task->tgid, *pinst, old, inst;
	__u64 mm, arg_start, arg_end, len;
	struct pt_event *e;

	/* the new image: the thread's cached unwind rules and image are the
	 * old one's (forgotten even for a process no longer in tgids) */
	bpf_task_storage_delete(&unwind_threads, task);
	bpf_task_storage_delete(&alloc_calls, task);
	pinst = bpf_map_lookup_elem(&tgids, &tgid);
	if (!pinst)
		return 0;
	old = *pinst;
	model_end(old, bpf_ktime_get_ns());
	inst = proc_start(tgid, BPF_CORE_READ(task, real_parent, tgid), old, 0);
	if (!inst) {
		bpf_map_delete_elem(&tgids, &tgid);
		return 0;
	}
	mm = (__u64)BPF_CORE_READ(task, mm);
	if (mm) {
		mm_record(mm, inst, BPF_ANY);
		rss_update(mm, inst, -1);
	}
	e = event_reserve(PT_EV_EXEC, task);
	if (!e)
		return 0;
	e->instance = inst;
	e->prev_instance = old;
	arg_start = BPF_CORE_READ(task, mm, arg_start);
	arg_end = BPF_CORE_READ(task, mm, arg_end);
	len = arg_end - arg_start;
	if (len > PT_ARGV_LEN)
		len = PT_ARGV_LEN;
	if (len && !bpf_probe_read_user(e->argv, len, (void *)arg_start))
		e->argv_len = len;
	e->exe_ino = BPF_CORE_READ(bprm, file, f_inode, i_ino);
	e->exe_dev = BPF_CORE_READ(bprm, file, f_inode, i_sb, s_dev);
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/*
 * perf's fast context switch swaps the whole event contexts of two tasks
 * whose contexts are clones (a parent and the child that inherited its
 * events).  The uprobe filter finds a task's probes by each event's target
 * task, which does not move with the context; so when the task holding
 * another's events exits, it frees them, the filter sees that other task
 * lose its last event, and the kernel removes the breakpoints from its
 * address space while it runs.  src/probes/probes.c asks for PERF_SAMPLE_READ on
 * inherited events, which keeps their contexts from being swapped (Linux
 * 6.12 and later); this check at every thread exit makes any case it does
 * not cover show up in the report instead of as silent zeros.
 */
static __always_inline void check_probe_owner(struct task_struct *task)
{
	struct perf_event_context *ctx = BPF_CORE_READ(task, perf_event_ctxp);
	struct task_struct *target;
	struct list_head *first;
	struct perf_event *ev;
	__u32 tgid, *pinst, inst;
	struct pt_proc *p;

	if (!ctx)
		return;
	first = BPF_CORE_READ(ctx, event_list.next);
	if (!first || (__u64)first == (__u64)ctx + bpf_core_field_offset(struct perf_event_context,
									    event_list))
		return;
	ev = (void *)first - bpf_core_field_offset(struct perf_event, event_entry);
	target = BPF_CORE_READ(ev, hw.target);
	if (!target || target == task)
		return;
	tgid = BPF_CORE_READ(target, tgid);
	if (tgid == (__u32)task->tgid)
		return;	/* a sibling thread: same address space, same probes */
	pinst = bpf_map_lookup_elem(&tgids, &tgid);
	if (!pinst)
		return;
	inst = *pinst;
	p = proc_get(inst);
	if (p && !__sync_lock_test_and_set(&p->probes_removed, 1))
		lost_inc(PT_LOST_PROBES_REMOVED);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(pt_exit, struct task_struct *task, bool group_dead)
{
	__u32 tgid = task->tgid, *pinst, inst;
	struct pt_event *e;

	if (!group_dead) {
		if (bpf_map_lookup_elem(&tgids, &tgid))
			check_probe_owner(task);
		return 0;
	}
	pinst = bpf_map_lookup_elem(&tgids, &tgid);
	if (!pinst)
		return 0;
	inst = *pinst;
	check_probe_owner(task);
	record_hiwater(BPF_CORE_READ(task, mm), inst);
	model_end(inst, bpf_ktime_get_ns());
	bpf_map_delete_elem(&tgids, &tgid);
	e = event_reserve(PT_EV_EXIT, task);
	if (!e)
		return 0;
	e->instance = inst;
	e->exit_code = BPF_CORE_READ(task, signal, group_exit_code) ?: task->exit_code;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/*
 * --cgroup: a process moved in from outside is registered by userspace;
 * one moved out stops counting now (its bytes and pages leave the scope).
 * Whole processes: the thread-group leader's move stands for them.
 */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(pt_cgroup_attach, struct cgroup *dst, const char *path, struct task_struct *task,
	     bool threadgroup)
{
	__u32 tgid = task->tgid, inst;
	struct pt_tgid *t;
	struct pt_event *e;
	__u64 mm;

	if (!scope_cgroup_id || (__u32)task->pid != tgid)
		return 0;
	/* a move in a cgroup v1 hierarchy (hybrid set-ups) is not ours */
	if (BPF_CORE_READ(dst, root) != BPF_CORE_READ(task, cgroups, dfl_cgrp, root))
		return 0;
	t = bpf_map_lookup_elem(&tgids, &tgid);
	if (cgroup_in_scope(dst)) {
		if (!t)
			scope_enter(task);
		return 0;
	}
	if (!t)
		return 0;
	inst = t->instance;
	model_end(inst, bpf_ktime_get_ns());
	bpf_map_delete_elem(&tgids, &tgid);
	/* its pages are no one's now; should it come back, it is a new image */
	mm = (__u64)BPF_CORE_READ(task, mm);
	if (mm)
		bpf_map_delete_elem(&mms, &mm);
	e = event_reserve(PT_EV_LEAVE, task);
	if (!e)
		return 0;
	e->instance = inst;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Exact RSS: the kernel's per-CPU RSS counters summed at every change
 * (raw tracepoint rss_stat), beside the approximate count /proc shows, and the
 * kernel's own high-water mark at exit.
 */
#ifndef PT_BPF_RSS_H
#define PT_BPF_RSS_H

#include "core.bpf.h"
#include "model/model.bpf.h"

/* mm_struct address -> instance, so RSS changes made from outside the
 * process (reclaim, exit) are still attributed. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u32);
} mms SEC(".maps");

/* One per-CPU slot whose per-CPU addresses give each CPU's offset. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} percpu_probe SEC(".maps");

struct cpu_offsets {
	__u64 ready;
	__u64 tmp;
	__u64 off[PT_MAX_CPUS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_offsets);
} cpu_offsets SEC(".maps");

/*
 * Since Linux 6.2 each RSS counter is a percpu_counter: `count` plus an s32
 * delta per CPU at counters + __per_cpu_offset[cpu].  The kernel's readers
 * (/proc, VmHWM, the OOM killer, rss_stat's size) use count alone; the
 * exact value adds the deltas.  This BTF has no __percpu tags and kallsyms
 * no data symbols, so the per-CPU offsets are found from a per-CPU map of
 * our own: bpf_map_lookup_percpu_elem() returns a CPU's real address, the
 * map's struct bpf_array holds the per-CPU base in pptrs[0], and their
 * difference is that CPU's offset.  The verifier forbids arithmetic on map
 * pointers, so both go through a map slot, which turns them into numbers.
 */
static __noinline int cpu_offsets_init(struct cpu_offsets *co)
{
	__u32 zero = 0, cpu;
	__u64 base = 0, maddr;

	co->tmp = (__u64)&percpu_probe;
	maddr = *(volatile __u64 *)&co->tmp;
	if (bpf_probe_read_kernel(&base, sizeof(base),
				  (void *)(maddr + bpf_core_field_offset(struct bpf_array, pptrs))))
		return -1;
	for (cpu = 0; cpu < PT_MAX_CPUS && cpu < nr_cpus; cpu++) {
		void *p = bpf_map_lookup_percpu_elem(&percpu_probe, &zero, cpu);

		if (!p)
			continue;
		co->tmp = (__u64)p;
		co->off[cpu] = *(volatile __u64 *)&co->tmp - base;
	}
	co->ready = 1;
	return 0;
}

/*
 * Reads one RSS counter of the mm at address mm: its count, and count plus
 * every CPU's delta.  The address is a number, not the trusted pointer the
 * tracepoints give: at each pass over a load of a pointer field through a
 * trusted pointer (task->mm) the verifier
 * searches the whole kernel BTF for "mm_struct__safe_trusted" and three
 * names like it, about 2 ms of start-up per load here; and a number lets
 * rss_update() be a global function, checked once per program instead of
 * at each caller.  The count and the per-CPU pointer come in one read.
 */
static __always_inline int rss_read(__u64 mm, int member, struct cpu_offsets *co,
				    __s64 *exact, __s64 *count)
{
	__u64 pc = mm + bpf_core_field_offset(struct mm_struct, rss_stat) +
		   (__u64)(member & (PT_RSS_COUNT - 1)) * bpf_core_type_size(struct percpu_counter);
	__u32 at_count = bpf_core_field_offset(struct percpu_counter, count);
	__u32 at_counters = bpf_core_field_offset(struct percpu_counter, counters);
	__u64 fields[8], counters;
	__s64 sum;
	__s32 v;
	__u32 cpu;

	/* Both in one read where the per-CPU pointer follows the count
	 * closely (8 and 32 on 6.2 and later); the offsets are constants once
	 * relocated, and the verifier keeps one side. */
	if (at_counters > at_count && at_counters + 8 - at_count <= sizeof(fields)) {
		if (bpf_probe_read_kernel(fields, at_counters + 8 - at_count, (void *)(pc + at_count)))
			return -1;
		sum = fields[0];
		counters = fields[((at_counters - at_count) / 8) & 7];
	} else if (bpf_probe_read_kernel(&sum, sizeof(sum), (void *)(pc + at_count)) ||
		   bpf_probe_read_kernel(&counters, sizeof(counters), (void *)(pc + at_counters))) {
		return -1;
	}
	if (!counters)
		return -1;
	*count = sum;
	for (cpu = 0; cpu < PT_MAX_CPUS && cpu < nr_cpus; cpu++) {
		v = 0;
		bpf_probe_read_kernel(&v, sizeof(v), (void *)(counters + co->off[cpu]));
		sum += v;
	}
	*exact = sum;
	return 0;
}

/* RSS counter member of image inst now reads exact pages (count as the
 * kernel's readers see it); the lock held, or the update could not be
 * queued.  Global: checked once, for its callers here and the queue's. */
__noinline int rss_apply(__u32 inst, int member, __s64 exact, __s64 count)
{
	struct pt_global *g = global_get();
	struct pt_proc *p = proc_get(inst);
	__u64 now = 0;	/* read if a peak moves */

	if (g && p)
		pt_model_rss(g, p, tree_of(p), member, exact, count, &now);
	return 0;
}

/* Counter `member` of the mm at address mm changed (all of them if
 * member < 0).  Global: checked once, not at each of its four callers. */
__noinline int rss_update(__u64 mm, __u32 inst, int member)
{
	__u32 zero = 0;
	struct cpu_offsets *co = bpf_map_lookup_elem(&cpu_offsets, &zero);
	struct pt_proc *p = proc_get(inst);
	struct pt_global *g = global_get();
	__s64 exact[PT_RSS_COUNT] = {}, count[PT_RSS_COUNT] = {};
	int m, held;

	if (!rss_enabled || !co || !p || !g || !mm)
		return 0;
	if (!co->ready && cpu_offsets_init(co))
		return 0;
	if (!p->rss_events) /* first sight: the other counters are unknown yet */
		member = -1;
	/* counters that cannot be read (an mm going away) are left as they
	 * were: the values are absolute, the next change sets them right */
	for (m = 0; m < PT_RSS_COUNT; m++)
		if ((member < 0 || m == member) && rss_read(mm, m, co, &exact[m], &count[m]))
			return 0;
	/* not the ledger's own pages (the preload library) */
	exact[PT_RSS_ANON] -= p->ledger_pages;
	count[PT_RSS_ANON] -= p->ledger_pages;
	exact[PT_RSS_FILE] -= p->ledger_file_pages;
	count[PT_RSS_FILE] -= p->ledger_file_pages;
	held = model_take(g);
	for (m = 0; m < PT_RSS_COUNT; m++) {
		if (member >= 0 && m != member)
			continue;
		/* queued, or (the queue full: counted) applied without the lock */
		if (held || model_defer(DEFER_RSS, inst, exact[m], count[m], m))
			rss_apply(inst, m, exact[m], count[m]);
	}
	if (held)
		model_unlock(g);
	return 0;
}

/* Returns 0 if the mm at key is now inst's. */
static __always_inline int mm_record(__u64 key, __u32 inst, __u64 flags)
{
	struct pt_proc *p = proc_get(inst);

	if (bpf_map_update_elem(&mms, &key, &inst, flags))
		return -1;
	if (p)
		p->mm_known = 1;
	return 0;
}

/*
 * The instance whose address space mm is: fork and exec record it, and
 * pt_learn_mms for the processes the loader registers (-p).  A bystander's
 * page fault pays this one lookup.
 */
static __always_inline __u32 mm_instance(__u64 key)
{
	__u32 *inst = bpf_map_lookup_elem(&mms, &key);

	return inst ? *inst : 0;
}

/* Run by the loader over all tasks after it registered processes: records
 * their mms and reads their RSS counters as they stand. */
SEC("iter/task")
int pt_learn_mms(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct pt_tgid *t;
	__u64 mm;
	__u32 tgid;

	if (!task || task->pid != task->tgid)
		return 0;
	mm = (__u64)BPF_CORE_READ(task, mm);
	tgid = task->tgid;
	t = bpf_map_lookup_elem(&tgids, &tgid);
	if (!mm || !t)
		return 0;
	/* an mm shared with a CLONE_VM child is counted once, for whichever
	 * the iterator met first (the parent: it comes first in pid order) */
	tgid = t->instance;
	if (!mm_record(mm, tgid, BPF_NOEXIST))
		rss_update(mm, tgid, -1);
	return 0;
}

/* A raw tracepoint, not tp_btf: its arguments come as plain numbers, which
 * the global rss_update() takes (a trusted pointer it would refuse). */
SEC("raw_tp/rss_stat")
int pt_rss_stat(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 mm = ctx->args[0];
	__u32 inst = mm_instance(mm);

	if (inst) {
		model_drain_pending(0);
		rss_update(mm, inst, (int)ctx->args[1]);
	}
	return 0;
}

/* VmHWM as /proc shows it: the kernel's high-water mark or the current
 * (approximate) RSS, whichever is larger. */
static __always_inline void record_hiwater(struct mm_struct *mm, __u32 inst)
{
	struct pt_proc *p = proc_get(inst);
	__u64 hw, rss;

	if (!rss_enabled || !p || !mm)
		return;
	hw = BPF_CORE_READ(mm, hiwater_rss);
	rss = BPF_CORE_READ(mm, rss_stat[PT_RSS_FILE].count) +
	      BPF_CORE_READ(mm, rss_stat[PT_RSS_ANON].count) +
	      BPF_CORE_READ(mm, rss_stat[PT_RSS_SHMEM].count);
	if (rss > hw && rss < (1ULL << 48))
		hw = rss;
	if (hw > p->rss_hiwater)
		p->rss_hiwater = hw;
}

SEC("tp_btf/exit_mmap")
int BPF_PROG(pt_exit_mmap, struct mm_struct *mm)
{
	__u64 key = (__u64)mm;
	__u32 *inst = bpf_map_lookup_elem(&mms, &key);

	if (!inst)
		return 0;
	record_hiwater(mm, *inst);
	bpf_map_delete_elem(&mms, &key);
	return 0;
}

#endif

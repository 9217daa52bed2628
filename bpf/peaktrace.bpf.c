// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel side of peaktrace.
 *
 * - tp_btf programs follow the process tree: a fork whose parent is traced
 *   makes the child traced, exec starts a new process image (instance),
 *   exit ends one.  An image that ends leaves the tree total at once.
 * - Uprobe programs (attached by the loader through tracefs probe events,
 *   see src/probes.c) account the malloc family and anonymous mmaps into
 *   live bytes per (instance, user stack).
 * - The peak model is the lazy snapshot of DESIGN.md: at each new peak the
 *   epoch moves on; the first change of a record after that saves the value
 *   it had at the peak.  No map is ever copied.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "peaktrace.h"
#include "peak_model.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader: probes fire but count nothing (benchmark baseline). */
const volatile __u32 bare_probes = 0;
/* Possible CPUs, for summing the per-CPU RSS counters. */
const volatile __u32 nr_cpus = 1;
/* Deepest user stack unwound (--stack-depth), at most PT_MAX_STACK_DEPTH. */
const volatile __u32 max_depth = PT_MAX_STACK_DEPTH;
/* 0 before Linux 6.2 (no per-CPU RSS counters): the RSS code is dead, and
 * libbpf's poisoned CO-RE relocations in it are never reached. */
const volatile __u32 rss_enabled = 1;

#define PROT_NONE 0x0
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MREMAP_FIXED 2
#define MAX_ERRNO 4095
#define PAGE_SIZE 4096ULL
/* Tries for the model lock before updating without it (counted): a holder
 * preempted for a scheduler tick must not make a waiter give up.  With
 * 100 000, 8 parallel fork+exec loops on 2 CPUs gave up 5 times a run,
 * with 1 Mi still once in a while. */
#define LOCK_SPINS (1 << 23)	/* bpf_loop's most */

/* Sizes are set by the loader before load (bpf_map__set_max_entries). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pt_global);
} global SEC(".maps");

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

/*
 * Live blocks.  A program may hold tens of millions of them, but a hash
 * map's bucket array is allocated whole at creation, so one map sized for
 * that would take hundreds of MiB from every run.  Instead: tables that
 * grow.  Table 0 is made at load; when the newest table is half full the
 * loader adds one twice its size (src/session.c) and bumps alloc_tables.
 * New blocks go into the newest table; lookups try the newest first.
 */
struct alloc_table {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 20);
	__type(key, struct pt_alloc_key);
	__type(value, struct pt_alloc);
} alloc_table0 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, PT_ALLOC_TABLES);
	__type(key, __u32);
	__array(values, struct alloc_table);
} allocs SEC(".maps") = {
	.values = { [0] = &alloc_table0 },
};

/* Tables in use, and live records per table (read by the loader). */
__u32 alloc_tables = 1;
__u64 alloc_live[PT_ALLOC_TABLES];
/* Bumped by the loader after it adds unwind tables: mappings and rules
 * cached as "no table" before that are looked up again. */
__u64 cfi_generation;

/* The C libraries probed (src/probes.c): mmaps and frees made from inside
 * them are the library's own (arenas, heaps, thread stacks, tcaches). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct pt_cfi_module_key);
	__type(value, __u32);
} libc_files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct pt_alloc_key);
	__type(value, struct pt_region);
} regions SEC(".maps");

/* Both allocated per entry: room for many stacks costs only when used. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 32768);
	__type(key, __u64);
	__type(value, struct pt_stack);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct pt_stack_key);
	__type(value, struct pt_stack_rec);
} stack_recs SEC(".maps");

/* Code mappings of live images; the loader moves those of ended images
 * out (src/session.c, sweep_dead). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct pt_vma_key);
	__type(value, struct pt_vma);
} vmas SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PT_LOST_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

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

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Unwind tables (src/cfi.c); sizes set by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << 20);	/* 12 MiB, zeroed at every start: libc has 28 k rows */
	__type(key, __u32);
	__type(value, struct pt_cfi_row);
} cfi_rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct pt_cfi_module_key);
	__type(value, struct pt_cfi_module);
} cfi_modules SEC(".maps");

/* The mapping the unwinder is in, and its unwind table if it has one. */
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
#define ROW_CACHE 32

/* The unwind rule found for a return address, remembered per thread. */
struct row_cache {
	__u64 addr;
	struct pt_cfi_row row;
	__u32 gen;		/* cfi_generation when found (matters for "no rule") */
};

/*
 * Per-thread state: allocator nesting depth and the outer call's arguments,
 * and the unwind rules of the return addresses its stacks went through.
 */
struct thread_state {
	__u32 depth;
	__u32 func;
	__u64 arg[5];
	struct row_cache rows[ROW_CACHE];
};

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

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_state);
} threads SEC(".maps");

struct overlap {
	struct pt_alloc_key key;
	struct pt_region region;
};

/* Per-CPU scratch space, too large for the 512-byte BPF stack. */
struct scratch {
	struct pt_stack stack;
	__u64 hash, prev_hash;
	__u32 truncated, instance;
	__u32 partial, pad2;
	__u64 ip, sp, bp;	/* the unwinder's registers */
	__u64 copy_base, copied;
	struct unwind_vma vma;
	__u32 search_lo, search_hi, search_pc, pad;
	__u8 copy[PT_STACK_COPY + 16];	/* the user stack above %rsp */
	__u32 n_overlaps;
	__u32 overlaps_more;
	struct overlap overlaps[PT_MAX_OVERLAPS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

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

static __always_inline struct scratch *scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch_map, &zero);
}

static __always_inline __u32 current_instance(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct pt_tgid *t = bpf_map_lookup_elem(&tgids, &tgid);

	return t ? t->heap_instance : 0;
}

/* --- the model lock ------------------------------------------------------ */

static long lock_try(__u64 i, int *got)
{
	struct pt_global *g = global_get();

	if (g && __sync_val_compare_and_swap(&g->lock, 0, 1) == 0) {
		*got = 1;
		return 1;
	}
	return 0;
}

/*
 * Returns 1 with the lock held, 0 if the spin gave up (the holder was
 * preempted for a long time); the caller then updates without it and the
 * loss is counted, so a report never claims an exactness it did not have.
 */
static __noinline int model_lock(struct pt_global *g)
{
	int got = 0;

	if (!g)
		return 0;
	if (__sync_val_compare_and_swap(&g->lock, 0, 1) == 0)
		return 1;
	bpf_loop(LOCK_SPINS, lock_try, &got, 0);
	if (!got)
		lost_inc(PT_LOST_LOCK_TIMEOUTS);
	return got;
}

static __always_inline void model_unlock(struct pt_global *g, int held)
{
	if (held)
		__sync_lock_test_and_set(&g->lock, 0);
}

/* --- the peak model ------------------------------------------------------ */

/* A global function (see "calls the C library makes" below): the stack
 * record is looked up here, by its key, not passed in. */
__noinline int model_apply(__u32 inst, __u64 stack_id, __s64 bytes, __s64 count)
{
	struct pt_stack_key key = { .instance = inst, .stack_id = stack_id };
	struct pt_stack_rec *s = bpf_map_lookup_elem(&stack_recs, &key);
	struct pt_global *g = global_get();
	struct pt_proc *p = bpf_map_lookup_elem(&procs, &inst);
	__u64 now = bpf_ktime_get_ns();
	int held;

	if (!g || !p || !s)
		return 0;
	held = model_lock(g);
	pt_model_apply(g, p, s, bytes, count, now);
	model_unlock(g, held);
	return 0;
}

static __noinline void model_end(__u32 inst, __u64 now)
{
	struct pt_global *g = global_get();
	struct pt_proc *p = bpf_map_lookup_elem(&procs, &inst);
	int held;

	if (!g || !p)
		return;
	held = model_lock(g);
	pt_model_end(g, p, now);
	model_unlock(g, held);
}

/* --- stacks and the mappings their frames live in ------------------------ */

/*
 * A code mapping the unwinder found for this image: recorded (once) with
 * what identifies its file, so stacks can be symbolized after the process
 * is gone, and userspace is told while the process lives.
 */
static __always_inline void vma_remember(__u32 inst, struct vm_area_struct *vma,
					 struct file *f, __u64 start, __u64 end, __u64 file_off)
{
	struct pt_vma_key key = { .instance = inst, .start = start };
	struct pt_vma v = { .end = end, .file_offset = file_off };
	struct pt_event *e;

	if (bpf_map_lookup_elem(&vmas, &key))
		return;
	if (f) {
		v.ino = BPF_CORE_READ(f, f_inode, i_ino);
		v.dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
		bpf_probe_read_kernel_str(v.name, sizeof(v.name),
					  BPF_CORE_READ(f, f_path.dentry, d_name.name));
	}
	if (bpf_map_update_elem(&vmas, &key, &v, BPF_NOEXIST)) {
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
	e->exe_dev = v.dev;	/* the mapping's file: maybe known already */
	e->exe_ino = v.ino;
	bpf_ringbuf_submit(e, 0);
}

/*
 * The user stack by frame pointers.  bpf_get_stackid() costs 1.3 us per
 * call on the development VM (the kernel's callchain code reads each frame
 * with a separate user access and hashes the whole trace); here one copy of
 * the stack top above %rsp serves the frames that lie in it, which for
 * most call chains is all of them, and only frames beyond it are read one
 * by one.  Measured: 1.85 -> 0.6 us per traced malloc return.
 */
/*
 * The user stack, unwound in BPF: by the module's unwind table where
 * src/cfi.c built one (code without frame pointers: libc, libstdc++,
 * python), else by frame pointers.  One copy of the stack top above %rsp
 * serves the reads that fall in it; bpf_get_stackid() would cost 1.3 us
 * per call here and follows frame pointers only.
 */
static __always_inline int stack_read(struct scratch *sc, __u64 addr, __u64 *out)
{
	__u64 off = addr - sc->copy_base;

	if (addr >= sc->copy_base && off + 8 <= sc->copied && off < PT_STACK_COPY - 8) {
		__builtin_memcpy(out, &sc->copy[off & (PT_STACK_COPY - 1)], 8);
		return 0;
	}
	return bpf_probe_read_user(out, 8, (void *)addr);
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

static long unwind_vma_found(struct task_struct *task, struct vm_area_struct *vma,
			     struct unwind_vma *u)
{
	struct scratch *sc = scratch_get();
	struct file *f;

	u->start = BPF_CORE_READ(vma, vm_start);
	u->end = BPF_CORE_READ(vma, vm_end);
	u->file_off = BPF_CORE_READ(vma, vm_pgoff) * PAGE_SIZE;
	u->valid = 1;
	u->exec = !!(BPF_CORE_READ(vma, vm_flags) & 0x4 /* VM_EXEC */);
	u->has_table = 0;
	/* before the table lookup: a table added meanwhile makes it stale */
	u->gen = (__u32)cfi_generation;
	f = BPF_CORE_READ(vma, vm_file);
	/* every frame's mapping passes here once per image (then it is cached) */
	if (sc && u->exec)
		vma_remember(sc->instance, vma, f, u->start, u->end, u->file_off);
	if (!f)
		return 0;
	u->ino = BPF_CORE_READ(f, f_inode, i_ino);
	u->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	unwind_vma_table(u);
	return 0;
}

/* One halving of the binary search over rows; state in the map value so
 * that the verifier checks one iteration, not every path through 24. */
static long cfi_search_step(__u64 i, void *unused)
{
	struct scratch *sc = scratch_get();
	struct pt_cfi_row *row;
	__u32 mid, idx;

	if (!sc || sc->search_lo >= sc->search_hi)
		return 1;
	mid = (sc->search_lo + sc->search_hi) / 2;
	idx = sc->vma.first + mid;
	row = bpf_map_lookup_elem(&cfi_rows, &idx);
	if (!row)
		return 1;
	if (row->pc <= sc->search_pc)
		sc->search_lo = mid + 1;
	else
		sc->search_hi = mid;
	return 0;
}

/* The last row of the current mapping's table starting at or below pc. */
static __always_inline struct pt_cfi_row *cfi_search(struct scratch *sc, __u32 pc)
{
	__u32 idx;

	sc->search_lo = 0;
	sc->search_hi = sc->vma.nrows;
	sc->search_pc = pc;
	bpf_loop(32, cfi_search_step, NULL, 0);
	if (!sc->search_lo)
		return NULL;
	idx = sc->vma.first + sc->search_lo - 1;
	return bpf_map_lookup_elem(&cfi_rows, &idx);
}

/* The mapping holding addr into sc->vma: from the thread's cache, else
 * from the kernel.  Not found (the mmap lock was busy): valid = 0, and the
 * frame is unwound by frame pointer. */
__noinline int unwind_find_vma(__u64 addr)
{
	struct scratch *sc = scratch_get();
	struct proc_vma_cache *pc, *zero;
	struct unwind_vma u = {};
	__u32 inst, z = 0;
	int k;

	if (!sc)
		return 0;
	inst = sc->instance;

	pc = bpf_map_lookup_elem(&proc_vmas, &inst);
	zero = pc ? NULL : bpf_map_lookup_elem(&proc_vma_zero, &z);
	if (zero) {
		bpf_map_update_elem(&proc_vmas, &inst, zero, BPF_NOEXIST);
		pc = bpf_map_lookup_elem(&proc_vmas, &inst);
	}
	if (pc) {
		for (k = 0; k < VMA_CACHE; k++) {
			struct unwind_vma *c = &pc->vma[k];

			if (c->valid && addr >= c->start && addr < c->end) {
				/* cached before its file's table was loaded (the
				 * exec'd program of a shell, a dlopen): look again */
				if (!c->has_table && c->ino && c->gen != (__u32)cfi_generation) {
					c->gen = (__u32)cfi_generation;
					unwind_vma_table(c);
				}
				sc->vma = *c;
				return 0;
			}
		}
	}
	/* the lock is only tried: give a sibling's mmap a few chances to end */
	for (k = 0; k < 4 && !u.valid; k++)
		bpf_find_vma(bpf_get_current_task_btf(), addr, unwind_vma_found, &u, 0);
	sc->vma = u;
	if (pc && u.valid) {
		k = __sync_fetch_and_add(&pc->next, 1) & (VMA_CACHE - 1);
		pc->vma[k] = u;
	}
	return 0;
}

/* Counters and registers live in the map value, not on the stack: the
 * verifier would otherwise follow their exact values through every
 * iteration. */
static long unwind_step(__u64 i, void *unused)
{
	struct scratch *sc = scratch_get();
	struct pt_cfi_row *row = NULL, cached;
	__u64 ip, sp, bp, lookup, ra = 0, cfa, frame0;
	struct thread_state *t;
	__u32 nr, slot;

	if (!sc)
		return 1;
	nr = sc->stack.nr;
	if (nr > PT_MAX_STACK_DEPTH)
		return 1;
	ip = sc->ip;
	sp = sc->sp;
	bp = sc->bp;
	/* every frame here is a return address: look up the call before it */
	lookup = ip - 1;
	/* hot allocation sites repeat their frames: a per-thread cache of the
	 * rule by address skips the mapping lookup and the table search */
	t = bpf_task_storage_get(&threads, bpf_get_current_task_btf(), 0, 0);
	slot = (lookup ^ (lookup >> 7)) & (ROW_CACHE - 1);
	if (t && t->rows[slot].addr == lookup &&
	    (t->rows[slot].row.cfa_reg != PT_CFA_UNKNOWN ||
	     t->rows[slot].gen == (__u32)cfi_generation)) {
		cached = t->rows[slot].row;
		row = &cached;
	} else {
		if (!sc->vma.valid || lookup < sc->vma.start || lookup >= sc->vma.end)
			unwind_find_vma(lookup);
		if (sc->vma.valid && !sc->vma.exec) {
			/* the last "return address" was not code: drop it, stop */
			if (nr > 1) {
				sc->stack.nr = nr - 1;
				sc->hash = sc->prev_hash;
			}
			sc->partial = 1;
			return 1;
		}
		if (sc->vma.has_table)
			row = cfi_search(sc, (__u32)(lookup - sc->vma.start + sc->vma.file_off +
						      sc->vma.delta));
		if (t && sc->vma.valid) {
			t->rows[slot].addr = lookup;
			t->rows[slot].gen = sc->vma.gen;
			if (row)
				t->rows[slot].row = *row;
			else
				t->rows[slot].row.cfa_reg = PT_CFA_UNKNOWN;
		}
	}
	/* the last frame's mapping is known (and recorded): now stop if full */
	if (nr >= PT_MAX_STACK_DEPTH || nr >= max_depth) {
		sc->truncated = 1;
		return 1;
	}
	if (row && row->cfa_reg == PT_CFA_END)
		return 1;
	if (row && row->cfa_reg != PT_CFA_UNKNOWN) {
		cfa = (row->cfa_reg == PT_CFA_RSP ? sp : bp) + (__s64)row->cfa_off;
		if (stack_read(sc, cfa - 8, &ra) ||
		    (row->rbp_saved && stack_read(sc, cfa + (__s64)row->rbp_off, &bp))) {
			sc->partial = 1;
			return 1;
		}
		sp = cfa;
	} else {
		/* a zero %rbp ends a frame-pointer chain (_start, clone) */
		if (!bp)
			return 1;
		if ((bp & 7) || bp < sp || stack_read(sc, bp, &frame0) ||
		    stack_read(sc, bp + 8, &ra)) {
			sc->partial = 1;
			return 1;
		}
		sp = bp + 16;
		bp = frame0;
	}
	if (!ra)
		return 1;
	sc->stack.ips[nr] = ra;
	sc->stack.nr = nr + 1;
	sc->prev_hash = sc->hash;
	sc->hash = (sc->hash ^ ra) * 0x100000001b3ULL;
	sc->ip = ra;
	sc->sp = sp;
	sc->bp = bp;
	return 0;
}

/* Fills the scratch stack; returns its hash (never PT_STACK_NONE). */
static __noinline __u64 capture_stack(struct pt_regs *regs, struct scratch *sc, __u32 inst)
{
	__u64 sp = regs->sp, room = PAGE_SIZE - (sp & (PAGE_SIZE - 1));

	/* Above %rsp up to the end of its page is always mapped; more may not be. */
	sc->copy_base = sp;
	sc->copied = PT_STACK_COPY;
	if (bpf_probe_read_user(sc->copy, PT_STACK_COPY, (void *)sp)) {
		sc->copied = room < PT_STACK_COPY ? room : PT_STACK_COPY;
		if (bpf_probe_read_user(sc->copy, sc->copied & (PT_STACK_COPY - 1), (void *)sp))
			sc->copied = 0;
	}
	sc->ip = regs->ip;
	sc->sp = sp;
	sc->bp = regs->bp;
	sc->vma.valid = 0;
	sc->truncated = 0;
	sc->partial = 0;
	sc->instance = inst;
	sc->stack.ips[0] = regs->ip;
	sc->stack.nr = 1;
	sc->hash = (0xcbf29ce484222325ULL ^ regs->ip) * 0x100000001b3ULL;
	bpf_loop(PT_MAX_STACK_DEPTH, unwind_step, NULL, 0);
	sc->stack.flags = (sc->truncated ? PT_STACK_TRUNCATED : 0) |
			  (sc->partial ? PT_STACK_PARTIAL : 0);
	return sc->hash ?: 1;
}

/*
 * The calling user stack, unwound and interned: its id, PT_STACK_NONE if it
 * could not be kept.  Global (see below): checked once by the verifier.
 */
__noinline __u64 stack_id_current(struct pt_regs *ctx, __u32 inst)
{
	struct scratch *sc = scratch_get();
	__u64 sid;

	if (!sc)
		return PT_STACK_NONE;
	sid = capture_stack(ctx, sc, inst);
	if (!bpf_map_lookup_elem(&stacks, &sid) &&
	    bpf_map_update_elem(&stacks, &sid, &sc->stack, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&stacks, &sid)) {
		lost_inc(PT_LOST_STACK_ERRORS);
		return PT_STACK_NONE;
	}
	return sid;
}

/* The record of the calling user stack in this image, created if new. */
/* Makes sure the record of the calling user stack in this image exists
 * (model_apply finds it by its key).  Returns 0, or -1 if the map is full. */
static __noinline int stack_rec_current(void *ctx, __u32 inst, __u64 *sid_out)
{
	struct pt_stack_key key = { .instance = inst };
	struct pt_stack_rec zero = {};
	struct scratch *sc;
	__u64 sid = stack_id_current(ctx, inst);

	key.stack_id = sid;
	*sid_out = sid;
	if (bpf_map_lookup_elem(&stack_recs, &key))
		return 0;
	if (bpf_map_update_elem(&stack_recs, &key, &zero, BPF_NOEXIST)) {
		if (bpf_map_lookup_elem(&stack_recs, &key))
			return 0;	/* made meanwhile by another thread */
		lost_inc(PT_LOST_STACKS_FULL);
		return -1;
	}
	/* a new record: its stack's flags, still in the scratch space */
	sc = scratch_get();
	if (sc && sid != PT_STACK_NONE && sc->truncated)
		lost_inc(PT_LOST_TRUNCATED);
	if (sc && sid != PT_STACK_NONE && sc->partial)
		lost_inc(PT_LOST_PARTIAL);
	return 0;
}

/* --- calls the C library makes for itself ----------------------------------- */

/*
 * The functions below that are not static are global BPF functions: the
 * verifier checks each once, instead of once per call site with the
 * caller's state, which made loading take over 0.8 s of every start-up.
 * Their arguments are the context and plain numbers.
 */

/*
 * Whether the function probed at regs was called from inside a C library
 * we probe: glibc's malloc maps its arenas and heaps (from free too: a
 * thread whose first allocator call is free() creates its arena there),
 * pthread_create maps thread stacks, and a thread's exit frees its tcache,
 * which malloc made internally.  None of that is heap the program asked
 * for.  Only for probes where the return address is still at (%rsp).
 */
__noinline int caller_in_libc(struct pt_regs *regs, __u32 inst)
{
	struct scratch *sc = scratch_get();
	struct pt_cfi_module_key key = {};
	__u64 ra = 0;

	if (!sc || bpf_probe_read_user(&ra, sizeof(ra), (void *)regs->sp) || !ra)
		return 0;
	sc->instance = inst;
	unwind_find_vma(ra - 1);
	if (!sc->vma.valid)
		return 0;
	key.dev = sc->vma.dev;
	key.ino = sc->vma.ino;
	return bpf_map_lookup_elem(&libc_files, &key) != NULL;
}

/* --- heap blocks ---------------------------------------------------------- */

static __always_inline void *alloc_table(__u32 t)
{
	return bpf_map_lookup_elem(&allocs, &t);
}

static __always_inline void alloc_live_add(__u32 t, __s64 n)
{
	if (t < PT_ALLOC_TABLES)
		__sync_fetch_and_add(&alloc_live[t], n);
}

/*
 * Removes the record of the block at key and accounts its bytes out.
 * Returns 0, or -1 if no table has it.
 */
__noinline int heap_release(__u32 inst, __u64 addr)
{
	struct pt_alloc_key k = { .instance = inst, .addr = addr }, *key = &k;
	__u32 n = alloc_tables, i, t;
	struct pt_alloc *a, old;
	void *table;

	for (i = 0; i < PT_ALLOC_TABLES; i++) {
		if (i >= n)
			break;
		t = n - 1 - i;	/* the newest first: most blocks die young */
		table = alloc_table(t);
		if (!table)
			continue;
		a = bpf_map_lookup_elem(table, key);
		if (!a)
			continue;
		old = *a;
		/* Only the thread whose delete succeeds accounts it (double free). */
		if (bpf_map_delete_elem(table, key))
			return 0;
		alloc_live_add(t, -1);
		model_apply(key->instance, old.stack_id,
			    -(__s64)old.size, -1);
		return 0;
	}
	return -1;
}

static __noinline int alloc_known(__u32 inst, __u64 addr)
{
	struct pt_alloc_key key = { .instance = inst, .addr = addr };
	__u32 n = alloc_tables, i;
	void *table;

	for (i = 0; i < PT_ALLOC_TABLES; i++) {
		if (i >= n)
			break;
		table = alloc_table(i);
		if (table && bpf_map_lookup_elem(table, &key))
			return 1;
	}
	return 0;
}

/*
 * A free of a block this image never allocated: a forked child freeing
 * what its parent allocated before the fork (expected), the C library
 * freeing its own blocks (expected), or a block allocated where no probe
 * saw it (before -p attached, or lost): only the last is a loss.
 */
__noinline int count_unknown_free(struct pt_regs *regs, int ra_at_rsp, __u32 inst, __u64 addr)
{
	struct pt_proc *p = bpf_map_lookup_elem(&procs, &inst), *parent;
	__u32 pinst = p ? p->parent_instance : 0;

	parent = pinst ? bpf_map_lookup_elem(&procs, &pinst) : NULL;
	/* a fork's parent image, not the image this one exec'd from */
	if (parent && p && parent->tgid != p->tgid && alloc_known(pinst, addr)) {
		lost_inc(PT_LOST_INHERITED_FREES);
		return 0;
	}
	if (ra_at_rsp && caller_in_libc(regs, inst)) {
		lost_inc(PT_LOST_ALLOCATOR_FREES);
		return 0;
	}
	lost_inc(PT_LOST_UNKNOWN_FREES);
	return 0;
}

static __always_inline void heap_free(struct pt_regs *regs, int ra_at_rsp, __u32 inst,
				      __u64 addr)
{
	if (addr && heap_release(inst, addr))
		count_unknown_free(regs, ra_at_rsp, inst, addr);
}

__noinline int heap_alloc(struct pt_regs *ctx, __u32 inst, __u64 addr, __u64 size)
{
	struct pt_alloc_key key = { .instance = inst, .addr = addr };
	__u32 n = alloc_tables, newest = n - 1;
	struct pt_alloc a = {};
	void *table;

	if (!addr || newest >= PT_ALLOC_TABLES)
		return 0;
	if (stack_rec_current(ctx, inst, &a.stack_id))
		return 0;
	a.size = size;
	table = alloc_table(newest);
	if (!table)
		return 0;
	/* A record still at this address: freed where no probe saw it (inside
	 * the allocator).  Release it first.  With one table the insert finds
	 * it; with more, an older table may hold it. */
	if (n > 1)
		heap_release(inst, addr);
	if (bpf_map_update_elem(table, &key, &a, BPF_NOEXIST)) {
		if (!bpf_map_lookup_elem(table, &key)) {
			lost_inc(PT_LOST_ALLOCS_FULL);
			return 0;
		}
		heap_release(inst, addr);
		if (bpf_map_update_elem(table, &key, &a, BPF_NOEXIST)) {
			lost_inc(PT_LOST_ALLOCS_FULL);
			return 0;
		}
	}
	alloc_live_add(newest, 1);
	model_apply(inst, a.stack_id, size, 1);
	return 0;
}

/* --- anonymous mmap regions ------------------------------------------------ */

struct overlap_scan {
	__u32 instance;
	__u32 pad;
	__u64 lo, hi;
};

static long overlap_collect(struct bpf_map *map, struct pt_alloc_key *key,
			    struct pt_region *r, struct overlap_scan *scan)
{
	struct scratch *sc;
	__u32 i;

	if (key->instance != scan->instance)
		return 0;
	if (key->addr >= scan->hi || key->addr + r->len <= scan->lo)
		return 0;
	sc = scratch_get();
	if (!sc)
		return 1;
	i = sc->n_overlaps;
	if (i >= PT_MAX_OVERLAPS) {
		sc->overlaps_more = 1;
		return 1;
	}
	sc->overlaps[i].key = *key;
	sc->overlaps[i].region = *r;
	sc->n_overlaps = i + 1;
	return 0;
}

static __always_inline __u64 page_round(__u64 len)
{
	return (len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}

/* Cut [lo, hi) out of one counted region; returns the bytes removed. */
static __noinline __u64 region_cut(__u32 inst, struct overlap *o, __u64 lo, __u64 hi)
{
	__u64 start = o->key.addr, end = o->key.addr + o->region.len;
	__u64 cut_lo = start > lo ? start : lo, cut_hi = end < hi ? end : hi;
	struct pt_alloc_key k = { .instance = inst };
	struct pt_region piece = { .stack_id = o->region.stack_id };
	struct pt_proc *p;
	__s64 pieces = 0;

	if (bpf_map_delete_elem(&regions, &o->key))
		return 0;
	if (start < lo) {
		k.addr = start;
		piece.len = lo - start;
		if (!bpf_map_update_elem(&regions, &k, &piece, BPF_ANY))
			pieces++;
	}
	if (end > hi) {
		k.addr = hi;
		piece.len = end - hi;
		if (!bpf_map_update_elem(&regions, &k, &piece, BPF_ANY))
			pieces++;
	}
	p = bpf_map_lookup_elem(&procs, &inst);
	if (p)
		__sync_fetch_and_add(&p->regions, pieces - 1);
	model_apply(inst, o->region.stack_id,
		    -(__s64)(cut_hi - cut_lo), pieces - 1);
	return cut_hi - cut_lo;
}

/* Remove [lo, hi) from the counted regions of inst; returns bytes removed. */
__noinline __u64 region_remove(__u32 inst, __u64 lo, __u64 hi)
{
	struct pt_alloc_key key = { .instance = inst, .addr = lo };
	struct overlap_scan scan = { .instance = inst, .lo = lo, .hi = hi };
	struct pt_proc *p = bpf_map_lookup_elem(&procs, &inst);
	struct pt_region *r;
	struct scratch *sc;
	struct overlap o;
	__u64 removed = 0;
	__u32 i, n;

	if (!p || !p->regions || hi <= lo)
		return 0;
	/* Fast path: exactly one whole region. */
	r = bpf_map_lookup_elem(&regions, &key);
	if (r && r->len == hi - lo) {
		o.key = key;
		o.region = *r;
		return region_cut(inst, &o, lo, hi);
	}
	sc = scratch_get();
	if (!sc)
		return 0;
	sc->n_overlaps = 0;
	sc->overlaps_more = 0;
	bpf_for_each_map_elem(&regions, overlap_collect, &scan, 0);
	sc = scratch_get();
	if (!sc)
		return 0;
	if (sc->overlaps_more)
		lost_inc(PT_LOST_OVERLAPS);
	n = sc->n_overlaps;
	for (i = 0; i < PT_MAX_OVERLAPS; i++) {
		if (i >= n)
			break;
		sc = scratch_get();
		if (!sc)
			break;
		o = sc->overlaps[i];
		removed += region_cut(inst, &o, lo, hi);
	}
	return removed;
}

__noinline int region_add(struct pt_regs *ctx, __u32 inst, __u64 addr, __u64 len)
{
	struct pt_alloc_key key = { .instance = inst, .addr = addr };
	struct pt_region r = { .len = page_round(len) };
	struct pt_proc *p;

	if (stack_rec_current(ctx, inst, &r.stack_id))
		return 0;
	if (bpf_map_update_elem(&regions, &key, &r, BPF_NOEXIST)) {
		lost_inc(PT_LOST_REGIONS_FULL);
		return 0;
	}
	p = bpf_map_lookup_elem(&procs, &inst);
	if (p)
		__sync_fetch_and_add(&p->regions, 1);
	model_apply(inst, r.stack_id, r.len, 1);
	return 0;
}

static __always_inline int is_err(__u64 ret)
{
	return ret >= (__u64)-MAX_ERRNO;
}

/*
 * An anonymous mapping the program made counts; one it cannot touch
 * (PROT_NONE) is reserved address space, not memory: the Go runtime
 * reserves its arenas so, then maps them with MAP_FIXED as it uses them.
 */
static __always_inline void on_mmap(void *ctx, __u32 inst, __u64 ret, __u64 len,
				    __u64 prot, __u64 flags)
{
	if (is_err(ret))
		return;
	/* MAP_FIXED replaced whatever was mapped there, counted or not. */
	if (flags & MAP_FIXED)
		region_remove(inst, ret, ret + page_round(len));
	if ((flags & MAP_ANONYMOUS) && prot != PROT_NONE)
		region_add(ctx, inst, ret, len);
}

static __always_inline void on_munmap(__u32 inst, __u64 addr, __u64 len)
{
	region_remove(inst, addr, addr + page_round(len));
}

static __always_inline void on_mremap(void *ctx, __u32 inst, __u64 ret,
				      struct thread_state *t)
{
	__u64 old = t->arg[0], old_len = page_round(t->arg[1]);
	__u64 new_len = t->arg[2], flags = t->arg[3];

	if (is_err(ret) || !old_len)
		return;
	/* Like realloc: the old range goes, the new one is counted at the
	 * mremap call's stack, but only if the old range was counted heap. */
	if (!region_remove(inst, old, old + old_len))
		return;
	if (flags & MREMAP_FIXED)
		region_remove(inst, ret, ret + page_round(new_len));
	region_add(ctx, inst, ret, new_len);
}

/* --- uprobe programs --------------------------------------------------------- */

static __always_inline struct thread_state *thread_get(int create)
{
	return bpf_task_storage_get(&threads, bpf_get_current_task_btf(), 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

static __always_inline int inside_allocator(void)
{
	struct thread_state *t = thread_get(0);

	return t && t->depth;
}

/*
 * Probe at a function's entry (or where src/placement.c proved the
 * arguments are still in place).  Calls made by the allocator itself
 * (malloc's own mmap, realloc calling malloc) are nested and ignored.
 */
SEC("kprobe")
int pt_entry(struct pt_regs *ctx)
{
	__u32 inst = current_instance();
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 fn = PT_COOKIE_FUNC(cookie);
	int ra_at_rsp = !!(cookie & PT_COOKIE_RA_AT_RSP);
	struct thread_state *t;

	if (bare_probes || !inst)
		return 0;
	if (cookie & PT_COOKIE_AFTER_SYSCALL) {
		/* One probe right after the syscall: arguments and result at once. */
		if (inside_allocator() || (ra_at_rsp && caller_in_libc(ctx, inst)))
			return 0;
		if (fn == PT_FN_MMAP) {
			__u64 r10 = ctx->r10, rcx = ctx->cx;

			/* Both loads stay plain: the verifier rejects a load
			 * through a ctx pointer moved by a computed offset. */
			asm volatile("" : "+r"(r10), "+r"(rcx));
			on_mmap(ctx, inst, PT_REGS_RC(ctx), PT_REGS_PARM2(ctx), PT_REGS_PARM3(ctx),
				(cookie & PT_COOKIE_ARG4_IN_R10) ? r10 : rcx);
		} else if (fn == PT_FN_MUNMAP && PT_REGS_RC(ctx) == 0)
			on_munmap(inst, PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx));
		return 0;
	}
	if (fn == PT_FN_FREE) {
		if (!inside_allocator())
			heap_free(ctx, ra_at_rsp, inst, PT_REGS_PARM1(ctx));
		return 0;
	}
	if (fn == PT_FN_MUNMAP) {
		/* Entry fallback: counted as done; munmap fails only on bad input. */
		if (!inside_allocator() && !(ra_at_rsp && caller_in_libc(ctx, inst)))
			on_munmap(inst, PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx));
		return 0;
	}
	t = thread_get(1);
	if (!t)
		return 0;
	if (t->depth++)
		return 0;
	/* the C library's own mappings: the return probe passes them by */
	if ((fn == PT_FN_MMAP || fn == PT_FN_MREMAP) && ra_at_rsp && caller_in_libc(ctx, inst))
		fn = PT_FN_COUNT;
	t->func = fn;
	t->arg[0] = PT_REGS_PARM1(ctx);
	t->arg[1] = PT_REGS_PARM2(ctx);
	t->arg[2] = PT_REGS_PARM3(ctx);
	t->arg[3] = PT_REGS_PARM4(ctx);
	t->arg[4] = PT_REGS_PARM5(ctx);
	return 0;
}

/* a * b, or 0 if it overflows (the call then fails: nothing to count).
 * Written without 128-bit arithmetic, which the BPF backend lacks. */
static __always_inline __u64 mul_or_zero(__u64 a, __u64 b)
{
	__u64 big, small, hi, lo;

	if (!((a | b) >> 32))
		return a * b;
	if ((a >> 32) && (b >> 32))
		return 0;
	big = (a >> 32) ? a : b;
	small = (a >> 32) ? b : a;
	hi = (big >> 32) * small;
	if (hi >> 32)
		return 0;
	lo = (big & 0xffffffffULL) * small;
	if ((hi << 32) + lo < lo)
		return 0;
	return (hi << 32) + lo;
}

SEC("kprobe")
int pt_return(struct pt_regs *ctx)
{
	__u32 inst = current_instance();
	__u32 fn = PT_COOKIE_FUNC(bpf_get_attach_cookie(ctx));
	__u64 ret = PT_REGS_RC(ctx), ptr;
	struct thread_state *t;

	if (bare_probes || !inst)
		return 0;
	t = thread_get(0);
	if (!t || !t->depth)
		return 0;
	if (--t->depth)
		return 0;
	if (t->func != fn)
		return 0;
	switch (fn) {
	case PT_FN_MALLOC:
	case PT_FN_VALLOC:
	case PT_FN_PVALLOC:
		heap_alloc(ctx, inst, ret, t->arg[0]);
		break;
	case PT_FN_CALLOC:
		heap_alloc(ctx, inst, ret, mul_or_zero(t->arg[0], t->arg[1]));
		break;
	case PT_FN_MEMALIGN:
		heap_alloc(ctx, inst, ret, t->arg[1]);
		break;
	case PT_FN_REALLOC:
	case PT_FN_REALLOCARRAY: {
		__u64 size = fn == PT_FN_REALLOC ? t->arg[1] :
			     mul_or_zero(t->arg[1], t->arg[2]);

		/* realloc(p, 0) frees and returns NULL; a failed realloc
		 * (NULL for a non-zero size) leaves the old block alone. */
		if (!ret && size)
			break;
		heap_free(ctx, 0, inst, t->arg[0]);
		heap_alloc(ctx, inst, ret, size);
		break;
	}
	case PT_FN_POSIX_MEMALIGN:
		if (ret == 0 && !bpf_probe_read_user(&ptr, sizeof(ptr), (void *)t->arg[0]))
			heap_alloc(ctx, inst, ptr, t->arg[2]);
		break;
	case PT_FN_MMAP:
		on_mmap(ctx, inst, ret, t->arg[1], t->arg[2], t->arg[3]);
		break;
	case PT_FN_MREMAP:
		on_mremap(ctx, inst, ret, t);
		break;
	}
	return 0;
}

/* --- exact RSS ---------------------------------------------------------- */

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

/* Reads one RSS counter: its count, and count plus every CPU's delta.
 * mm is a trusted BTF pointer here: count and the per-CPU pointer are
 * plain loads; only the per-CPU slots need a helper. */
static __always_inline void rss_read(struct mm_struct *mm, int member, struct cpu_offsets *co,
				     __s64 *exact, __s64 *count)
{
	struct percpu_counter *pc = &mm->rss_stat[member & (PT_RSS_COUNT - 1)];
	__u64 counters = (__u64)pc->counters;
	__s64 sum = pc->count;
	__s32 v;
	__u32 cpu;

	*count = sum;
	for (cpu = 0; cpu < PT_MAX_CPUS && cpu < nr_cpus; cpu++) {
		v = 0;
		bpf_probe_read_kernel(&v, sizeof(v), (void *)(counters + co->off[cpu]));
		sum += v;
	}
	*exact = sum;
}

/* Counter `member` of mm changed (all of them if member < 0). */
static __noinline void rss_update(struct mm_struct *mm, __u32 inst, int member)
{
	__u32 zero = 0;
	struct cpu_offsets *co = bpf_map_lookup_elem(&cpu_offsets, &zero);
	struct pt_proc *p = bpf_map_lookup_elem(&procs, &inst);
	struct pt_global *g = global_get();
	__s64 exact[PT_RSS_COUNT] = {}, count[PT_RSS_COUNT] = {};
	__u64 now = bpf_ktime_get_ns();
	int m, held;

	if (!rss_enabled || !co || !p || !g)
		return;
	if (!co->ready && cpu_offsets_init(co))
		return;
	if (!p->rss_events) /* first sight: the other counters are unknown yet */
		member = -1;
	for (m = 0; m < PT_RSS_COUNT; m++)
		if (member < 0 || m == member)
			rss_read(mm, m, co, &exact[m], &count[m]);
	held = model_lock(g);
	for (m = 0; m < PT_RSS_COUNT; m++)
		if (member < 0 || m == member)
			pt_model_rss(g, p, m, exact[m], count[m], now);
	model_unlock(g, held);
}

/* Returns 0 if mm is now inst's. */
static __always_inline int mm_record(struct mm_struct *mm, __u32 inst, __u64 flags)
{
	struct pt_proc *p = bpf_map_lookup_elem(&procs, &inst);
	__u64 key = (__u64)mm;

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
static __always_inline __u32 mm_instance(struct mm_struct *mm)
{
	__u64 key = (__u64)mm;
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
	struct mm_struct *mm;
	__u32 tgid;

	if (!task || task->pid != task->tgid)
		return 0;
	mm = task->mm;
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

SEC("tp_btf/rss_stat")
int BPF_PROG(pt_rss_stat, struct mm_struct *mm, int member)
{
	__u32 inst = mm_instance(mm);

	if (inst)
		rss_update(mm, inst, member);
	return 0;
}

/* VmHWM as /proc shows it: the kernel's high-water mark or the current
 * (approximate) RSS, whichever is larger. */
static __always_inline void record_hiwater(struct mm_struct *mm, __u32 inst)
{
	struct pt_proc *p = bpf_map_lookup_elem(&procs, &inst);
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

/* --- the process tree ---------------------------------------------------- */

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

	if (!inst || bpf_map_update_elem(&procs, &inst, &p, BPF_NOEXIST)) {
		lost_inc(PT_LOST_PROCS_FULL);
		return 0;
	}
	t.instance = inst;
	t.heap_instance = heap_instance ?: inst;
	if (bpf_map_update_elem(&tgids, &tgid, &t, BPF_ANY)) {
		lost_inc(PT_LOST_PROCS_FULL);
		bpf_map_delete_elem(&procs, &inst);
		return 0;
	}
	return inst;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(pt_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	int shares_mm = child->mm == parent->mm;
	struct pt_tgid *pt;
	__u32 inst, parent_inst;
	struct pt_event *e;

	if ((__u32)child->pid != ctgid) /* a new thread, not a new process */
		return 0;
	pt = bpf_map_lookup_elem(&tgids, &ptgid);
	if (!pt)
		return 0;
	parent_inst = pt->instance;
	inst = proc_start(ctgid, ptgid, parent_inst, shares_mm ? pt->heap_instance : 0);
	if (!inst)
		return 0;
	/* A CLONE_VM child (vfork, posix_spawn, system) shares its parent's
	 * mm until it execs: the mm stays the parent's, counted once. */
	if (child->mm && !shares_mm) {
		mm_record(child->mm, inst, BPF_ANY);
		/* fork counted the copied page tables before we knew the mm */
		rss_update(child->mm, inst, -1);
	}
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
	__u64 arg_start, arg_end, len;
	struct pt_event *e;

	pinst = bpf_map_lookup_elem(&tgids, &tgid);
	if (!pinst)
		return 0;
	old = *pinst;
	/* the new image: the thread's cached mappings are the old one's */
	bpf_task_storage_delete(&threads, task);
	model_end(old, bpf_ktime_get_ns());
	inst = proc_start(tgid, BPF_CORE_READ(task, real_parent, tgid), old, 0);
	if (!inst) {
		bpf_map_delete_elem(&tgids, &tgid);
		return 0;
	}
	if (task->mm) {
		mm_record(task->mm, inst, BPF_ANY);
		rss_update(task->mm, inst, -1);
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
 * address space while it runs.  src/probes.c asks for PERF_SAMPLE_READ on
 * inherited events, which keeps their contexts from being swapped (Linux
 * 6.12 and later); this check at every thread exit makes any case it does
 * not cover show up in the report instead of as silent zeros.
 */
static __always_inline void check_probe_owner(struct task_struct *task)
{
	struct perf_event_context *ctx = task->perf_event_ctxp;
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
	p = bpf_map_lookup_elem(&procs, &inst);
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
	record_hiwater(task->mm, inst);
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

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The native unwinder: the user stack of the calling thread, by the
 * module's unwind table where src/stacks/cfi.c built one (code without
 * frame pointers: libc, libstdc++, python), else by frame pointers.  One
 * copy of the stack top above %rsp serves the reads that fall in it;
 * bpf_get_stackid() would cost 1.3 us per call here and follows frame
 * pointers only.
 *
 * A second stack source (the Python interpreter's frames, PT_FRAME_PYTHON)
 * is a file of its own beside this one, called by stacks/stacks.bpf.h after
 * this walk, with its own scratch.
 */
#ifndef PT_BPF_UNWIND_NATIVE_H
#define PT_BPF_UNWIND_NATIVE_H

#include "core.bpf.h"
#include "unwind/mappings.bpf.h"

/*
 * Unwind table rows of every module (src/stacks/cfi.c), numbered across
 * tables of 2^cfi_table_shift rows each: row r is slot r & (rows - 1) of
 * table r >> cfi_table_shift, so a module's rows may run on into the
 * next table.  Table 0 is made at load (16 MiB, zeroed at every start:
 * libc has 28 k rows); the loader adds the others as programs map code
 * (src/stacks/unwind.c): a torch job maps 313 modules with 5.9 M rows,
 * which no table made at every start could hold.  Mappable: the loader
 * writes rows into them as memory (a batch update took 0.3 s of system
 * time for pandas' 640 k rows).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1 << 20);	/* the loader sets 2^cfi_table_shift */
	__type(key, __u32);
	__type(value, struct pt_cfi_row);
} cfi_rows SEC(".maps");

/* The others' type (their template: the loader makes it one row, not
 * 16 MiB to zero and drop).  BPF_F_INNER_MAP lets their size differ from
 * the template's; it also makes their lookups helper calls, which is why
 * table 0 is a map of its own, without it: its lookups are inlined. */
struct cfi_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE | BPF_F_INNER_MAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pt_cfi_row);
};

/* Tables 1 and on (table 0, cfi_rows, is reached directly: one lookup
 * less on the common path, and no slot of a map of maps to set at every
 * start, which waits for an RCU grace period). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, PT_CFI_TABLES);
	__type(key, __u32);
	__array(values, struct cfi_table);
} cfi_tables SEC(".maps");

const volatile __u32 cfi_table_shift = 20;

/* Row r, NULL if its table is not there (yet). */
static __always_inline struct pt_cfi_row *cfi_row(__u32 r)
{
	__u32 t = r >> cfi_table_shift, slot = r & ((1U << cfi_table_shift) - 1);
	void *table;

	if (!t)
		return bpf_map_lookup_elem(&cfi_rows, &slot);
	table = bpf_map_lookup_elem(&cfi_tables, &t);
	return table ? bpf_map_lookup_elem(table, &slot) : NULL;
}

/* Rules remembered per thread (6 KiB of task storage): a Python stack goes
 * through dozens of return addresses, and 32 slots, direct-mapped, kept
 * missing on them: an allocation 20 Python calls deep took 7.4 us instead of
 * 8.4 at 256 (medians of 3, scripts/bench's Python line). */
#define ROW_CACHE 256

/* The unwind rule found for a return address, remembered per thread. */
struct row_cache {
	__u64 addr;
	struct pt_cfi_row row;
	__u32 gen;		/* cfi_generation when found (matters for "no rule") */
};

/* Frames as array slots: a power of two, so that a masked index is in
 * bounds whatever the verifier knows of it. */
#define FRAME_SLOTS (PT_MAX_STACK_DEPTH + 1)
#define FRAME(i) ((i) & (FRAME_SLOTS - 1))

/* Frame i of a walk, and how its step to the caller went.  Where the step
 * read follows from the caller's %rsp (the CFA): the return address just
 * below it, the saved %rbp at bp_off from it. */
struct unwind_frame {
	__u64 ip, sp, bp;	/* frame i's registers */
	__s32 bp_off;		/* the caller's %rbp was read at CFA + bp_off */
	__u32 flags;		/* FRAME_* */
};

#define FRAME_SURE 1		/* the step's rule is no guess: the mapping was found */
#define FRAME_USES_BP 2		/* the step needed frame i's %rbp (CFA, frame pointers) */
#define FRAME_READS_BP 4	/* the caller's %rbp was read (bp_off), not carried over */
#define FRAME_ENDS 8		/* the last frame: its rule ends the stack (_start, clone) */

/*
 * The thread's last walk, frame by frame.  A walk is a function of the
 * registers at each frame, the rules of its return addresses, and the
 * stack words it read.  A new walk that reaches a frame of the last one
 * with the same %rsp and return address replays the last walk's steps from
 * there: it reads the same stack words again, and goes on while each holds
 * what it held (and %rbp is the same where a step needs it).  The first
 * step that differs is walked as usual, and so is the last frame's, which
 * decides how the walk ends, unless its rule said "the end" (_start).  The
 * rules come from the same tables unless cfi_generation moved (gen).
 *
 * Why: most allocations come from code that allocated moments ago, and a
 * replayed step is a check of one or two words, mostly in the stack copy
 * already made, where a walked step is a loop call and a rule lookup.
 * BPF time per allocator event on the storm with --exact-stacks (medians of
 * 5 interleaved runs): 41 frames 636 ns against 795, 4 frames 581 against
 * 581.  It costs 8 KiB of task storage per thread and about 7 k verified
 * instructions.
 */
struct unwind_memo {
	__u32 nr;		/* frames; 0 if none */
	__u32 gen;		/* cfi_generation of the walk */
	/* twice the frames, so that the verifier sees a copy of up to all of
	 * them at any frame fit */
	struct unwind_frame fr[2 * FRAME_SLOTS];
};

/* Per thread: the rules of the return addresses its stacks went through,
 * and its last walk (deleted at exec, whose new image has other code). */
struct unwind_thread {
	struct row_cache rows[ROW_CACHE];
	struct unwind_memo memo;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct unwind_thread);
} unwind_threads SEC(".maps");

/* The walk's state, per CPU: too large for the 512-byte BPF stack, and
 * kept in a map value so that the verifier checks one step, not every
 * path through 127. */
struct unwind_scratch {
	struct pt_stack stack;
	__u64 hash, prev_hash;
	__u32 truncated, partial;
	__u32 py_cut, pad;
	__u64 ip, sp, bp;	/* the unwinder's registers */
	__u64 copy_base, copied;
	__u32 search_lo, search_hi, search_pc, search_first;
	__u32 memo_on;		/* the thread's last walk may still be joined */
	__u32 memo_at;		/* its first frame not below the walk's %rsp */
	__u32 joined;		/* a frame of the last walk was reached */
	__u32 memo_c;		/* the last walk's frame the replay is at */
	__u32 bp_live;		/* %rbp is the one that frame's step was taken with */
	__u32 join_at;		/* this walk's frame that joined */
	__u32 join_c;		/* the last walk's frame it joined */
	__u32 replay_done;	/* the replay reached the end of the stack */
	__u32 from_caller;	/* set by the caller: the walk starts at the return
				 * address at %rsp (a preload site), not at %rip */
	__u32 picked;		/* set by the caller: the preload library's ledger
				 * drew this small block's stack for capture */
	struct unwind_frame fr[2 * FRAME_SLOTS];	/* this walk's (as the memo's) */
	__u8 copy[PT_STACK_COPY + 16] __attribute__((aligned(8)));	/* the user stack above %rsp */
};

PT_PERCPU_SCRATCH(unwind_scratch, struct unwind_scratch)

/*
 * The stack is read through a window: PT_STACK_COPY bytes copied at once
 * (to the end of the page if what lies above is not mapped), moved up to
 * the next read that falls outside it.  A user read costs about 0.1 us
 * here whatever its size up to a few KiB, and frames lie close together:
 * one copy serves several frames, where reading each return address and
 * saved %rbp alone cost two reads a frame beyond the first KiB.
 */
static __always_inline void stack_window(struct unwind_scratch *sc, __u64 addr)
{
	__u64 room = PAGE_SIZE - (addr & (PAGE_SIZE - 1));

	sc->copy_base = addr;
	sc->copied = PT_STACK_COPY;
	if (bpf_probe_read_user(sc->copy, PT_STACK_COPY, (void *)addr)) {
		/* what lies above may not be mapped: to the end of the page; if
		 * the whole copy was in the page, the page itself is not there
		 * (a failed read leaves zeros, which must not count as read) */
		sc->copied = room < PT_STACK_COPY ? room : 0;
		if (sc->copied &&
		    bpf_probe_read_user(sc->copy, sc->copied & (PT_STACK_COPY - 1), (void *)addr))
			sc->copied = 0;
	}
}

static __always_inline int stack_in_window(struct unwind_scratch *sc, __u64 addr, __u64 *out)
{
	__u64 off = addr - sc->copy_base;

	if (addr >= sc->copy_base && off + 8 <= sc->copied && off < PT_STACK_COPY - 8) {
		/* one 8-byte load, aligned or not (x86 does either; a memcpy
		 * here compiled to eight byte loads and their shifts) */
		*out = *(__u64 *)((unsigned long)sc->copy + (off & (PT_STACK_COPY - 1)));
		return 1;
	}
	return 0;
}

static __always_inline int stack_read(struct unwind_scratch *sc, __u64 addr, __u64 *out)
{
	if (stack_in_window(sc, addr, out))
		return 0;
	stack_window(sc, addr & ~7ULL);
	if (stack_in_window(sc, addr, out))
		return 0;
	return bpf_probe_read_user(out, 8, (void *)addr);
}

/* One halving of the binary search over rows; state in the map value so
 * that the verifier checks one iteration, not every path through 24. */
static long cfi_search_step(__u64 i, void *unused)
{
	struct unwind_scratch *sc = unwind_scratch_get();
	struct pt_cfi_row *row;
	__u32 mid, idx;

	if (!sc || sc->search_lo >= sc->search_hi)
		return 1;
	mid = (sc->search_lo + sc->search_hi) / 2;
	idx = sc->search_first + mid;
	row = cfi_row(idx);
	if (!row)
		return 1;
	if (row->pc <= sc->search_pc)
		sc->search_lo = mid + 1;
	else
		sc->search_hi = mid;
	return 0;
}

/* The last row of v's table starting at or below pc. */
static __always_inline struct pt_cfi_row *cfi_search(struct unwind_scratch *sc,
						     const struct unwind_vma *v, __u32 pc)
{
	__u32 idx;

	sc->search_lo = 0;
	sc->search_hi = v->nrows;
	sc->search_first = v->first;
	sc->search_pc = pc;
	bpf_loop(32, cfi_search_step, NULL, 0);
	if (!sc->search_lo)
		return NULL;
	idx = sc->search_first + sc->search_lo - 1;
	return cfi_row(idx);
}

/* Counters and registers live in the map value, not on the stack: the
 * verifier would otherwise follow their exact values through every
 * iteration. */
struct unwind_ctx {
	struct unwind_thread *t;	/* the thread's rule cache, or NULL */
};

/* Does the walk, at a frame with registers ip and sp, reach a frame of the
 * thread's last walk?  Both walks go up the stack: a cursor follows the
 * last walk's frames as %rsp rises, a few a step. */
static __always_inline int memo_join(struct unwind_scratch *sc, struct unwind_thread *t,
				     __u64 ip, __u64 sp)
{
	__u32 c = sc->memo_at, n = t->memo.nr, j;

	for (j = 0; j < 4; j++) {
		if (c >= n)
			return 0;
		if (t->memo.fr[FRAME(c)].sp >= sp)
			break;
		c++;
	}
	sc->memo_at = c;
	if (c >= n || t->memo.fr[FRAME(c)].sp != sp || t->memo.fr[FRAME(c)].ip != ip)
		return 0;
	sc->joined = 1;
	sc->join_at = FRAME(sc->stack.nr - 1);
	sc->join_c = c;
	sc->memo_c = c;
	sc->bp_live = sc->bp == t->memo.fr[FRAME(c)].bp;
	sc->memo_on = 0;
	return 1;
}

/* Steps replayed per loop call: the call costs about what a step saves. */
#define REPLAY_BATCH 8

/*
 * From the frame joined, the last walk's steps again, while each reads
 * what it read then: the stack grows by the last walk's frames.  Stops
 * before the last walk's last frame, at a step that reads otherwise, needs
 * a %rbp that differs, or was a guess, and before the depth limit: the
 * usual walk takes over there, so the stack ends as a fresh walk would
 * end it.  Returns 1 to stop.  The state (memo_c: the last walk's frame,
 * bp_live: %rbp is the one its step was taken with) stays in registers
 * through a batch and in the map value between batches, so the verifier
 * checks one batch, not every path through 127 frames.
 */

static long memo_replay_steps(__u64 k, struct unwind_ctx *ctx)
{
	struct unwind_scratch *sc = unwind_scratch_get();
	struct unwind_thread *t = ctx->t;
	struct unwind_frame *m, *next;
	__u32 c, nr, live, j;
	__u64 bp, nbp, hash, prev, v;
	long stop = 1;

	if (!sc || !t)
		return 1;
	c = sc->memo_c;
	nr = sc->stack.nr;
	live = sc->bp_live;
	bp = sc->bp;
	hash = sc->hash;
	prev = sc->prev_hash;
	for (j = 0; j < REPLAY_BATCH; j++) {
		/* opaque to the compiler: a pointer it stepped through the
		 * frames would leave the verifier no bound to check */
		asm volatile("" : "+r"(c), "+r"(nr));
		if (nr - 1 >= PT_MAX_STACK_DEPTH - 1 || nr >= max_depth)
			goto out;
		m = &t->memo.fr[FRAME(c)];
		if (c + 1 >= t->memo.nr) {
			/* the last frame, whose rule said "the end": so it
			 * says again, with nothing to read */
			sc->replay_done = (m->flags & (FRAME_SURE | FRAME_ENDS)) ==
					  (FRAME_SURE | FRAME_ENDS);
			goto out;
		}
		next = &t->memo.fr[FRAME(c + 1)];
		if (!(m->flags & FRAME_SURE) || ((m->flags & FRAME_USES_BP) && !live))
			goto out;
		if (stack_read(sc, next->sp - 8, &v) || v != next->ip)
			goto out;
		nbp = bp;
		if ((m->flags & FRAME_READS_BP) && stack_read(sc, next->sp + m->bp_off, &nbp))
			goto out;
		bp = nbp;
		live = bp == next->bp;
		sc->stack.ips[nr] = next->ip;
		prev = hash;
		hash = stack_hash_step(hash, next->ip);
		nr++;
		c++;
	}
	stop = 0;
out:
	sc->memo_c = c;
	sc->stack.nr = nr;
	sc->bp_live = live;
	sc->bp = bp;
	sc->hash = hash;
	sc->prev_hash = prev;
	sc->ip = t->memo.fr[FRAME(c)].ip;
	sc->sp = t->memo.fr[FRAME(c)].sp;
	return stop;
}

/* n frames from src to dst (both of 2 * FRAME_SLOTS) */
#define FRAMES_COPY(dst, src, n) \
	bpf_probe_read_kernel(dst, FRAME(n) * sizeof(struct unwind_frame), src)

/*
 * This walk, for the thread's next one.  The steps replayed are the last
 * walk's, not written down again one by one: where this walk reached the
 * last one at the same frame number, they stay where they are and only
 * the frames walked are copied; else they are copied beside them.  (A
 * %rbp the replay found different is not in them, and needs not be: a
 * later replay compares %rbp with the value each step was taken with.)
 * Copies cost about 40 ns a KiB.
 */
static __always_inline void memo_keep(struct unwind_scratch *sc, struct unwind_thread *t, __u32 gen)
{
	__u32 n = sc->stack.nr, j = FRAME(sc->join_at), c = FRAME(sc->join_c);
	/* the frames replayed (and the last, if the replay ended the stack) */
	__u32 r = FRAME(sc->memo_c - sc->join_c + sc->replay_done);
	struct unwind_frame *mf = t->memo.fr;

	t->memo.nr = 0;
	if (n - 1 >= PT_MAX_STACK_DEPTH)
		return;
	if (sc->joined && r && j == c) {
		if (j && FRAMES_COPY(mf, sc->fr, j))
			return;
		/* past the replay: nothing if it went to the end */
		if (!sc->replay_done &&
		    FRAMES_COPY(&mf[FRAME(j + r)], &sc->fr[FRAME(j + r)], n - j - r))
			return;
	} else {
		if (sc->joined && r && FRAMES_COPY(&sc->fr[j], &mf[c], r))
			return;
		if (FRAMES_COPY(mf, sc->fr, n))
			return;
	}
	t->memo.nr = n;
	t->memo.gen = gen;
}

static long unwind_step(__u64 i, struct unwind_ctx *ctx)
{
	struct unwind_scratch *sc = unwind_scratch_get();
	struct mapping_scratch *ms = mapping_scratch_get();
	struct unwind_thread *t = ctx->t;
	struct pt_cfi_row *row = NULL, cached;
	__u64 ip, sp, bp, lookup, ra = 0, cfa, frame0;
	struct unwind_frame *f;
	__u32 nr, slot;

	if (!sc || !ms)
		return 1;
	nr = sc->stack.nr;
	if (nr - 1 >= PT_MAX_STACK_DEPTH)
		return 1;
	ip = sc->ip;
	sp = sc->sp;
	bp = sc->bp;
	/* frame nr - 1 */
	f = &sc->fr[FRAME(nr - 1)];
	f->ip = ip;
	f->sp = sp;
	f->bp = bp;
	f->flags = 0;
	if (t && sc->memo_on && memo_join(sc, t, ip, sp))
		return 1;
	/* every frame here is a return address: look up the call before it */
	lookup = ip - 1;
	/* hot allocation sites repeat their frames: a per-thread cache of the
	 * rule by address skips the mapping lookup and the table search */
	slot = (lookup ^ (lookup >> 7)) & (ROW_CACHE - 1);
	if (t && t->rows[slot].addr == lookup &&
	    (t->rows[slot].row.cfa_reg != PT_CFA_UNKNOWN ||
	     t->rows[slot].gen == (__u32)cfi_generation)) {
		cached = t->rows[slot].row;
		row = &cached;
		f->flags = FRAME_SURE;
	} else {
		if (!ms->vma.valid || lookup < ms->vma.start || lookup >= ms->vma.end)
			unwind_find_vma(lookup);
		if (ms->vma.valid && !ms->vma.exec) {
			/* the last "return address" was not code: drop it, stop */
			if (nr > 1) {
				sc->stack.nr = nr - 1;
				sc->hash = sc->prev_hash;
			}
			sc->partial = 1;
			return 1;
		}
		if (ms->vma.has_table)
			row = cfi_search(sc, &ms->vma,
					 (__u32)(lookup - ms->vma.start + ms->vma.file_off +
						 ms->vma.delta));
		f->flags = ms->vma.valid ? FRAME_SURE : 0;
		if (t && ms->vma.valid) {
			t->rows[slot].addr = lookup;
			t->rows[slot].gen = ms->vma.gen;
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
	if (row && row->cfa_reg == PT_CFA_END) {
		f->flags |= FRAME_ENDS;
		return 1;
	}
	if (row && row->cfa_reg != PT_CFA_UNKNOWN) {
		cfa = (row->cfa_reg == PT_CFA_RSP ? sp : bp) + (__s64)row->cfa_off;
		f->flags |= (row->cfa_reg != PT_CFA_RSP ? FRAME_USES_BP : 0) |
			    (row->rbp_saved ? FRAME_READS_BP : 0);
		f->bp_off = row->rbp_off;
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
		f->flags |= FRAME_USES_BP | FRAME_READS_BP;
		f->bp_off = -16;	/* the caller's %rsp is %rbp + 16 */
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
	sc->hash = stack_hash_step(sc->hash, ra);
	sc->ip = ra;
	sc->sp = sp;
	sc->bp = bp;
	return 0;
}

/* Unwinds the calling thread's user stack (image inst) into sc->stack;
 * returns its hash (never PT_STACK_NONE). */
static __noinline __u64 unwind_native(struct pt_regs *regs, struct unwind_scratch *sc, __u32 inst)
{
	struct mapping_scratch *ms = mapping_scratch_get();
	struct unwind_ctx ctx;
	__u64 sp = regs->sp, ip;
	__u32 gen;

	if (!ms)
		return 1;
	/* Above %rsp up to the end of its page is always mapped; more may not be. */
	stack_window(sc, sp);
	ip = regs->ip;
	if (sc->from_caller) {
		/* at a preload site: the frame it is in is the wrapper's, whose
		 * %rsp points at the return address; the stack is the caller's,
		 * as at a return probe */
		sc->from_caller = 0;
		if (stack_read(sc, sp, &ip))
			ip = regs->ip;	/* unreadable: from the site, its frame shown */
		else
			sp += 8;
	}
	sc->ip = ip;
	sc->sp = sp;
	sc->bp = regs->bp;
	ms->vma.valid = 0;
	ms->instance = inst;
	/* the thread's rule cache, looked up once for all the steps */
	ctx.t = bpf_task_storage_get(&unwind_threads, bpf_get_current_task_btf(), 0,
				     BPF_LOCAL_STORAGE_GET_F_CREATE);
	sc->truncated = 0;
	sc->partial = 0;
	sc->stack.ips[0] = ip;
	sc->stack.nr = 1;
	sc->hash = stack_hash_step(STACK_HASH_SEED, ip);
	gen = (__u32)cfi_generation;
	sc->memo_on = ctx.t && ctx.t->memo.nr && ctx.t->memo.gen == gen;
	sc->memo_at = 0;
	sc->joined = 0;
	bpf_loop(PT_MAX_STACK_DEPTH, unwind_step, &ctx, 0);
	if (ctx.t && sc->joined) {
		sc->replay_done = 0;
		bpf_loop(PT_MAX_STACK_DEPTH / REPLAY_BATCH + 1, memo_replay_steps, &ctx, 0);
		if (!sc->replay_done)
			bpf_loop(PT_MAX_STACK_DEPTH, unwind_step, &ctx, 0);
	}
	if (ctx.t)
		memo_keep(sc, ctx.t, gen);
	sc->stack.flags = (sc->truncated ? PT_STACK_TRUNCATED : 0) |
			  (sc->partial ? PT_STACK_PARTIAL : 0);
	return sc->hash ?: 1;
}

#endif

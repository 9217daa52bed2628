/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The uprobe program on the C library's allocator entry points (attached
 * by the loader through tracefs probe events, see src/probes/probes.c): at
 * the entry (or where src/probes/placement.c proved the arguments are still
 * in place) and at the return; the heap and region concerns do the
 * accounting.
 */
#ifndef PT_BPF_PROBE_PROGRAMS_H
#define PT_BPF_PROBE_PROGRAMS_H

#include "core.bpf.h"
#include "tree/procs.bpf.h"
#include "heap/heap.bpf.h"
#include "regions/regions.bpf.h"
#include "probes/libc_calls.bpf.h"

/*
 * Per thread: the allocator call in progress, its nesting depth and the
 * outer call's arguments, which the return probe needs.  Calls made by the
 * allocator itself (malloc's own mmap, realloc calling malloc) are nested
 * and ignored.
 */
struct alloc_call {
	__u32 depth;
	__u32 func;
	__u64 arg[5];
	__u32 instance;		/* the image its calls count in; 0: not traced yet */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct alloc_call);
} alloc_calls SEC(".maps");

static __always_inline struct alloc_call *call_get(int create)
{
	return bpf_task_storage_get(&alloc_calls, bpf_get_current_task_btf(), 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

/*
 * The calling thread's state, made at its first allocator call, and the
 * image its calls count in, looked up in tgids once per thread and image
 * (exec deletes the state, see tree/programs.bpf.h), not at every event.
 */
static __always_inline struct alloc_call *call_state(void)
{
	struct alloc_call *t = call_get(1);

	if (t && !t->instance)
		t->instance = current_instance();
	return t;
}

/*
 * Probe at a function's entry (or where src/probes/placement.c proved the
 * arguments are still in place).  Calls made by the allocator itself
 * (malloc's own mmap, realloc calling malloc) are nested and ignored.
 */
static __always_inline int on_entry(struct pt_regs *ctx, __u64 cookie)
{
	__u32 fn = PT_COOKIE_FUNC(cookie);
	int ra_at_rsp = !!(cookie & PT_COOKIE_RA_AT_RSP);
	struct alloc_call *t;
	__u32 inst;

	t = call_state();
	if (!t) {
		/* out of memory for task storage: say so if the call counted */
		if (current_instance())
			lost_inc(PT_LOST_THREAD_STATE);
		return 0;
	}
	if (!t->instance)
		return 0;
	inst = t->instance;
	if (cookie & PT_COOKIE_AFTER_SYSCALL) {
		/* One probe right after the syscall: arguments and result at once. */
		if (t->depth || (ra_at_rsp && caller_in_libc(ctx, inst)))
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
	/* With the preload library: the C library's malloc, calloc, realloc or free called by
	 * the preload library, whose site counts the call (both are probed
	 * only in a process that runs with the library but inherited the C
	 * library's probes from one that ran without; only those probes carry
	 * PT_COOKIE_COVERED and pay this look) */
	if ((cookie & PT_COOKIE_COVERED) && ra_at_rsp && !t->depth &&
	    caller_file(ctx, inst) == PT_FILE_PRELOAD) {
		/* still a call in progress: what glibc's realloc calls inside
		 * (free, malloc) is its own, and the return probe passes it by */
		if (fn != PT_FN_FREE) {
			t->depth++;
			t->func = PT_FN_COUNT;
		}
		return 0;
	}
	if (fn == PT_FN_FREE) {
		if (!t->depth)
			heap_free(ctx, ra_at_rsp, inst, PT_REGS_PARM1(ctx));
		return 0;
	}
	if (fn == PT_FN_MUNMAP) {
		/* Entry fallback: counted as done; munmap fails only on bad input. */
		if (!t->depth && !(ra_at_rsp && caller_in_libc(ctx, inst)))
			on_munmap(inst, PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx));
		return 0;
	}
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

/* The call fn of image inst returned ret, its arguments a (as at its
 * entry): the heap and region accounting. */
static __always_inline void account_call(struct pt_regs *ctx, __u32 fn, __u32 inst, __u64 ret,
					 const __u64 *a)
{
	__u64 ptr;

	switch (fn) {
	case PT_FN_MALLOC:
	case PT_FN_VALLOC:
	case PT_FN_PVALLOC:
		heap_alloc(ctx, inst, ret, a[0]);
		break;
	case PT_FN_CALLOC:
		heap_alloc(ctx, inst, ret, mul_or_zero(a[0], a[1]));
		break;
	case PT_FN_MEMALIGN:
		heap_alloc(ctx, inst, ret, a[1]);
		break;
	case PT_FN_REALLOC:
	case PT_FN_REALLOCARRAY: {
		__u64 size = fn == PT_FN_REALLOC ? a[1] : mul_or_zero(a[1], a[2]);

		/* realloc(p, 0) frees and returns NULL; a failed realloc
		 * (NULL for a non-zero size) leaves the old block alone. */
		if (!ret && size)
			break;
		heap_free(ctx, 0, inst, a[0]);
		heap_alloc(ctx, inst, ret, size);
		break;
	}
	case PT_FN_POSIX_MEMALIGN:
		if (ret == 0 && !bpf_probe_read_user(&ptr, sizeof(ptr), (void *)a[0]))
			heap_alloc(ctx, inst, ptr, a[2]);
		break;
	case PT_FN_MMAP:
		on_mmap(ctx, inst, ret, a[1], a[2], a[3]);
		break;
	case PT_FN_MREMAP:
		on_mremap(ctx, inst, ret, a[0], a[1], a[2], a[3]);
		break;
	}
}

/* Probe at a function's return. */
static __always_inline int on_return(struct pt_regs *ctx, __u64 cookie)
{
	__u32 fn = PT_COOKIE_FUNC(cookie);
	struct alloc_call *t;

	/* no state, or depth 0: no entry was counted (untraced, nested) */
	t = call_get(0);
	if (!t || !t->depth)
		return 0;
	if (--t->depth)
		return 0;
	if (t->func != fn)
		return 0;
	account_call(ctx, fn, t->instance, PT_REGS_RC(ctx), t->arg);
	return 0;
}

/* peaktrace-preload.so asks for glibc's own probes in its process
 * (src/preload/uncover.c): peaktrace is told, and sets the word at ack
 * (0: it waited in vain and went on).  Also from a process of the tree
 * peaktrace keeps no record of (instance 0), which it lets go. */
static __noinline int on_uncover(__u64 ack)
{
	struct pt_event *e = event_reserve(PT_EV_UNCOVER, bpf_get_current_task_btf());

	if (!e)
		return 0;	/* asked again */
	e->instance = current_instance();
	e->ack = ack;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/*
 * A site of peaktrace-preload.so (PT_COOKIE_DONE): after the call, the
 * arguments and the result at once, so no entry state to keep, the stack
 * unwound from the wrapper's caller; free's before the call.  %rdx says
 * whether the library's ledger drew the new block's stack.  A call made
 * inside a probed allocator call (depth) is that call's own, as at an
 * entry probe.
 */
static __always_inline int on_done(struct pt_regs *ctx, __u64 cookie)
{
	struct unwind_scratch *sc = unwind_scratch_get();
	__u64 a[5] = { PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx) };
	struct alloc_call *t;

	if (PT_COOKIE_FUNC(cookie) == PT_FN_UNCOVER)
		return on_uncover(PT_REGS_PARM1(ctx));
	t = call_state();
	if (!t) {
		if (current_instance())
			lost_inc(PT_LOST_THREAD_STATE);
		return 0;
	}
	if (!t->instance || t->depth)
		return 0;
	/* free's site is before the call, the return address at (%rsp) */
	if (PT_COOKIE_FUNC(cookie) == PT_FN_FREE) {
		heap_free(ctx, 1, t->instance, PT_REGS_PARM1(ctx));
		return 0;
	}
	if (sc) {
		sc->from_caller = 1;
		sc->picked = PT_REGS_PARM3(ctx) == 1;	/* %rdx: see src/preload/sites.S */
	}
	account_call(ctx, PT_COOKIE_FUNC(cookie), t->instance, PT_REGS_RC(ctx), a);
	if (sc) {
		sc->from_caller = 0;
		sc->picked = 0;
	}
	return 0;
}

/*
 * One program for every allocator probe, entry, return and the preload library's
 * sites (the cookie says which): they share nearly all their code (the
 * heap, regions and the unwinder), and as two programs the verifier went
 * through it twice, 70 of the 190 ms of loading at every start.
 */
SEC("kprobe")
int pt_probe(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);

	if (bare_probes)
		return 0;
	model_drain_pending(1);
	if (cookie & PT_COOKIE_RETURN)
		return on_return(ctx, cookie);
	if (cookie & PT_COOKIE_DONE)
		return on_done(ctx, cookie);
	return on_entry(ctx, cookie);
}

#endif

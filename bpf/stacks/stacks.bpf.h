/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stack capture and interning: the calling thread's user stack, unwound
 * (unwind/native.bpf.h) and kept once per distinct stack in stacks, keyed by
 * its hash; and the model record of that stack in the image (stack_recs,
 * model/model.h), made when a stack first holds memory there.
 *
 * Stack sources: the native walk, then the Python frames of a CPython
 * image (unwind/python.bpf.h), added to the same record and mixed into the
 * same hash.
 */
#ifndef PT_BPF_STACKS_H
#define PT_BPF_STACKS_H

#include "core.bpf.h"
#include "model/model.bpf.h"
#include "unwind/native.bpf.h"
#include "unwind/python.bpf.h"

/* Distinct stacks, allocated per entry: room costs only when used. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 32768);
	__type(key, __u64);
	__type(value, struct pt_stack);
} stacks SEC(".maps");

/*
 * The calling user stack, unwound and interned: its id, PT_STACK_NONE if it
 * could not be kept.  Global (see bpf/peaktrace.bpf.c): checked once by the
 * verifier.
 */
__noinline __u64 stack_id_current(struct pt_regs *ctx, __u32 inst)
{
	struct unwind_scratch *sc = unwind_scratch_get();
	__u64 sid;

	if (!sc)
		return PT_STACK_NONE;
	unwind_native(ctx, sc, inst);
	sc->py_cut = 0;
	sid = unwind_python(sc, inst) & ~PT_STACK_SMALL;
	if (sid == PT_STACK_NONE || sid == (PT_STACK_UNSAMPLED & ~PT_STACK_SMALL))
		sid = 1;
	if (bpf_map_lookup_elem(&stacks, &sid))
		return sid;
	if (bpf_map_update_elem(&stacks, &sid, &sc->stack, BPF_NOEXIST)) {
		if (bpf_map_lookup_elem(&stacks, &sid))
			return sid;	/* kept meanwhile by another thread */
		lost_inc(PT_LOST_STACK_ERRORS);
		return PT_STACK_NONE;
	}
	/* a new stack: its flags counted once, whatever records it gets */
	if (sc->truncated)
		lost_inc(PT_LOST_TRUNCATED);
	if (sc->partial)
		lost_inc(PT_LOST_PARTIAL);
	if (sc->py_cut)
		lost_inc(PT_LOST_PY_CUT);
	return sid;
}

/* A new stack record, in .rodata: on the stack its 64 bytes are taken
 * from the 512 the allocator probe's deepest chain of calls shares. */
static const struct pt_stack_rec stack_rec_zero = {};

/* The record of stack sid in image inst, made if new; NULL if the map is
 * full.  Inlined: a subprogram cannot return a pointer into a map. */
static __always_inline struct pt_stack_rec *stack_rec_of(__u32 inst, __u64 sid)
{
	struct pt_stack_key key = { .instance = inst, .stack_id = sid };
	struct pt_stack_rec *rec;

	rec = bpf_map_lookup_elem(&stack_recs, &key);
	if (rec)
		return rec;
	if (bpf_map_update_elem(&stack_recs, &key, &stack_rec_zero, BPF_NOEXIST)) {
		rec = bpf_map_lookup_elem(&stack_recs, &key);
		if (!rec)	/* else made meanwhile by another thread */
			lost_inc(PT_LOST_STACKS_FULL);
		return rec;
	}
	return bpf_map_lookup_elem(&stack_recs, &key);
}

/* The record of the calling user stack in this image, its id or'ed with
 * tag (0 or PT_STACK_SMALL), made if new; its id in *sid_out. */
static __always_inline struct pt_stack_rec *stack_rec_current(void *ctx, __u32 inst, __u64 tag,
							       __u64 *sid_out)
{
	__u64 sid = stack_id_current(ctx, inst);

	*sid_out = sid | tag;
	return stack_rec_of(inst, sid | tag);
}

#endif

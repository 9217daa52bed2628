/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The second stack source: the Python frames the calling thread is running,
 * for images src/python/detect.c found to be CPython (py_images).
 *
 * The thread's own PyThreadState comes from the interpreter's autoTSSkey
 * slot in glibc's thread-specific data: it is right whether the thread
 * holds the GIL or not (numpy and ctypes allocate with it released), where
 * _PyRuntime's current thread state is the GIL holder's.  Its frame chain
 * is walked innermost first; each frame is one read of the frame and one
 * of its code object's header (the fingerprint that tells a code object
 * from a later one at the same address).  A code object's names and line
 * table are copied once per (image, code, fingerprint), the first time a
 * stack shows it, so processes that end before the report are named.
 */
#ifndef PT_BPF_UNWIND_PYTHON_H
#define PT_BPF_UNWIND_PYTHON_H

#include "core.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct pt_py_layout);
} py_images SEC(".maps");

/* Set by userspace when it gives BPF its first Python image: until then a
 * captured stack skips the py_images lookup (most runs trace no Python). */
__u32 py_any;

struct py_code_key {
	__u32 instance;
	__u32 pad;
	__u64 code;
	__u64 fingerprint;
};

/* Code objects copied already.  LRU: one forgotten is copied again. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct py_code_key);
	__type(value, __u8);
} py_seen SEC(".maps");

/* Code objects for userspace: bursts at import time, so a ring of its own. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} py_codes SEC(".maps");

/* Bytes read of a frame and of a code object's header: every field we
 * use (the loader checks the layout's offsets are below them); the
 * buffers are twice that, so a masked offset always fits. */
#define PY_FRAME_READ PT_PY_FRAME_READ
#define PY_CODE_READ PT_PY_CODE_READ
#define PY_STR_READ 48
#define PY_FRAME_BUF 128
#define PY_CODE_BUF 256

/*
 * What a frame costs.  A user read is about 0.1 us here whatever its size
 * up to a few KiB; reading each frame and its code object's header made a
 * 20-deep stack 40 reads (5.5 us).  So:
 * - frames are read through a window: CPython keeps them contiguous in
 *   the thread's data stack, callers below callees, so one read of up to
 *   PY_WIN bytes ending at a frame holds the next several.  It stops at
 *   the frame's page: below may be unmapped (a chunk's start), and a read
 *   that fails costs its time and another read (2 KiB windows crossing
 *   pages made the walk slower than a read per frame);
 * - each CPU remembers the code objects it read lately (direct-mapped by
 *   address), with the frame's globals when it read it: a frame whose code
 *   address and globals match reuses the fingerprint and is not re-read.
 *   A code object freed and replaced at the same address by one run with
 *   the same globals (exec'd code in one module) keeps the older one's
 *   name until the slot is reused: the price of the cache.
 */
#define PY_WIN 2048
#define PY_CODE_SLOTS 512
struct py_code_slot {
	__u64 code, globals, fingerprint;
	__u32 instance, pad;
};

struct py_scratch {
	__u8 win[PY_WIN + PY_FRAME_BUF + 8];
	__u64 win_base;
	__u32 win_len, pad;
	__u8 code[PY_CODE_BUF + 8];
	__u8 str[64 + 8];
	struct py_code_slot codes[PY_CODE_SLOTS];
};

PT_PERCPU_SCRATCH(py_scratch, struct py_scratch)

/* A field of a copied header at an offset the loader chose (masked for
 * the verifier; the loader checks every offset fits). */
#define PY_U64(buf, size, off) (*(__u64 *)((buf) + ((off) & ((size) - 1))))

/* Copies a str object's characters: raw, kind bytes each. */
static __always_inline void py_str(struct py_scratch *ps, const struct pt_py_layout *L, __u64 obj,
				   char *out, __u32 max, __u16 *len, __u8 *kind)
{
	__u32 state, n, data;
	__u64 length;

	*len = 0;
	*kind = 1;
	if (!obj || bpf_probe_read_user(ps->str, PY_STR_READ, (void *)obj))
		return;
	state = *(__u32 *)(ps->str + (L->str_state & 63));
	length = *(__u64 *)(ps->str + 16);
	*kind = (state >> 2) & 7;
	if (!(state & (1 << 5)) || !*kind || *kind == 3 || *kind > 4)
		return;	/* not compact, or not a kind we know: unnamed */
	data = (state & (1 << 6)) ? L->str_ascii_data : L->str_compact_data;
	n = length * *kind < max ? length * *kind : max;
	if (n > max)
		n = max;
	if (n && !bpf_probe_read_user(out, n, (void *)(obj + data)))
		*len = n;
}

/* Sends a code object's names and line table to userspace (py_codes). */
static __noinline int py_code_copy(__u32 inst, __u64 code, __u64 fp, const struct pt_py_layout *L)
{
	struct py_scratch *ps = py_scratch_get();
	struct pt_py_code *ev;
	__u64 lt;
	__u32 n;

	if (!ps || !L)
		return -1;
	ev = bpf_ringbuf_reserve(&py_codes, sizeof(*ev), 0);
	if (!ev) {
		lost_inc(PT_LOST_PY_CODES_LOST);
		return -1;
	}
	ev->instance = inst;
	ev->code = code;
	ev->fingerprint = fp;
	ev->firstlineno = *(__u32 *)(ps->code + (L->code_firstlineno & (PY_CODE_BUF - 1)));
	py_str(ps, L, PY_U64(ps->code, PY_CODE_BUF, L->code_qualname), ev->qualname,
	       PT_PY_NAME_LEN, &ev->qualname_len, &ev->qualname_kind);
	py_str(ps, L, PY_U64(ps->code, PY_CODE_BUF, L->code_filename), ev->filename,
	       PT_PY_FILE_LEN, &ev->filename_len, &ev->filename_kind);
	ev->linetable_len = 0;
	lt = PY_U64(ps->code, PY_CODE_BUF, L->code_linetable);
	if (lt && !bpf_probe_read_user(ps->str, PY_STR_READ, (void *)lt)) {
		n = *(__u64 *)(ps->str + (L->bytes_size & 63));
		if (n > PT_PY_LINETABLE_LEN)
			n = PT_PY_LINETABLE_LEN;	/* lines past it: unknown */
		if (n && !bpf_probe_read_user(ev->linetable, n, (void *)(lt + L->bytes_data)))
			ev->linetable_len = n;
	}
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

struct py_walk {
	struct unwind_scratch *sc;
	struct py_scratch *ps;
	const struct pt_py_layout *L;
	__u64 frame;
	__u32 inst;
};

/* The PT_PY_FRAME_READ bytes of the frame at addr, from the window (read
 * anew, ending at this frame, if it does not hold them); NULL if
 * unreadable.  The result is within ps->win[0 .. PY_WIN). */
static __always_inline __u8 *py_frame_bytes(struct py_scratch *ps, __u64 addr)
{
	__u64 base, len;

	if (addr >= ps->win_base && addr + PY_FRAME_READ <= ps->win_base + ps->win_len)
		return ps->win + ((addr - ps->win_base) & (PY_WIN - 1));
	/* down to the start of the frame's page at most: the page below may
	 * not be there (a chunk's start), and a read that fails costs twice */
	base = addr + PY_FRAME_READ > PY_WIN ? addr + PY_FRAME_READ - PY_WIN : 0;
	if (base < (addr & ~(PAGE_SIZE - 1)))
		base = addr & ~(PAGE_SIZE - 1);
	len = addr + PY_FRAME_READ - base;
	if (len <= PY_WIN && !bpf_probe_read_user(ps->win, len & (2 * PY_WIN - 1), (void *)base)) {
		ps->win_base = base;
		ps->win_len = len;
		return ps->win + ((addr - base) & (PY_WIN - 1));
	}
	/* the window would start in memory that is not there: the frame alone */
	ps->win_len = 0;
	if (bpf_probe_read_user(ps->win, PY_FRAME_READ, (void *)addr))
		return NULL;
	ps->win_base = addr;
	ps->win_len = PY_FRAME_READ;
	return ps->win;
}

#define PY_FRAME_U64(p, off) (*(__u64 *)((p) + ((off) & (PY_FRAME_BUF - 1))))

/* The fingerprint of code (run with globals): cached, or from its header,
 * copying the code object to userspace the first time.  0 if unreadable. */
static __always_inline __u64 py_code_fingerprint(struct py_walk *w, __u64 code, __u64 globals)
{
	const struct pt_py_layout *L = w->L;
	struct py_scratch *ps = w->ps;
	struct py_code_slot *slot = &ps->codes[(code >> 4) & (PY_CODE_SLOTS - 1)];
	struct py_code_key key = { .instance = w->inst, .code = code };
	__u8 one = 1;
	__u64 fp;

	if (slot->code == code && slot->globals == globals && slot->instance == w->inst)
		return slot->fingerprint;
	if (bpf_probe_read_user(ps->code, PY_CODE_READ, (void *)code))
		return 0;
	fp = PY_U64(ps->code, PY_CODE_BUF, L->code_qualname) * 31 +
	     PY_U64(ps->code, PY_CODE_BUF, L->code_filename) * 17 +
	     PY_U64(ps->code, PY_CODE_BUF, L->code_linetable) +
	     *(__u32 *)(ps->code + (L->code_firstlineno & (PY_CODE_BUF - 1))) + 1;
	key.fingerprint = fp;
	if (!bpf_map_lookup_elem(&py_seen, &key)) {
		if (py_code_copy(w->inst, code, fp, L))
			return fp;	/* not copied: tried again next time */
		bpf_map_update_elem(&py_seen, &key, &one, BPF_ANY);
	}
	slot->code = code;
	slot->globals = globals;
	slot->fingerprint = fp;
	slot->instance = w->inst;
	return fp;
}

static long py_frame_step(__u64 i, struct py_walk *w)
{
	const struct pt_py_layout *L = w->L;
	__u32 n = w->sc->stack.npy;
	struct pt_py_frame *f;
	__u64 code, instr, fp;
	__u8 *p;

	p = w->frame ? py_frame_bytes(w->ps, w->frame) : NULL;
	if (!p) {
		w->frame = 0;	/* the end, or a frame we cannot read */
		return 1;
	}
	if (n >= PT_PY_MAX_FRAMES)
		return 1;	/* the innermost are kept; w->frame says more remain */
	code = PY_FRAME_U64(p, L->frame_code);
	instr = PY_FRAME_U64(p, L->frame_instr);
	w->frame = PY_FRAME_U64(p, L->frame_previous);
	if (L->shim_owner && p[L->frame_owner & (PY_FRAME_BUF - 1)] == L->shim_owner) {
		/* the eval loop's own frame: the one it ran first is an entry */
		if (n)
			w->sc->stack.py[(n - 1) & (PT_PY_MAX_FRAMES - 1)].flags |= PT_PY_ENTRY;
		return 0;
	}
	fp = code ? py_code_fingerprint(w, code, PY_FRAME_U64(p, L->frame_globals)) : 0;
	if (!fp) {
		w->frame = 0;
		return 1;
	}
	f = &w->sc->stack.py[n & (PT_PY_MAX_FRAMES - 1)];
	f->code = code;
	f->fingerprint = fp;
	f->instr_off = instr > code && instr - code < (1ULL << 31) ? instr - code : 0;
	f->flags = !L->shim_owner && p[L->frame_entry & (PY_FRAME_BUF - 1)] ? PT_PY_ENTRY : 0;
	w->sc->stack.npy = n + 1;
	w->sc->hash = stack_hash_step(w->sc->hash, code ^ fp ^ ((__u64)f->instr_off << 32));
	return 0;
}

/* A forked child runs the same interpreter at the same addresses. */
static __always_inline void py_inherit(__u32 parent_inst, __u32 inst)
{
	struct pt_py_layout *L = bpf_map_lookup_elem(&py_images, &parent_inst);

	if (L)
		bpf_map_update_elem(&py_images, &inst, L, BPF_ANY);
}

/* Appends the calling thread's Python frames to sc->stack (npy), mixed
 * into sc->hash; returns the hash.  Nothing for images not Python or
 * threads with no Python state (BLAS pools, plain C threads). */
static __noinline __u64 unwind_python(struct unwind_scratch *sc, __u32 inst)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct py_walk w = { .sc = sc, .inst = inst };
	__u64 tstate = 0, slot;
	__u32 key = 0;

	sc->stack.npy = 0;
	if (!py_any)
		return sc->hash;
	w.L = bpf_map_lookup_elem(&py_images, &inst);
	w.ps = py_scratch_get();
	if (!w.L || !w.ps)
		return sc->hash;
	if (bpf_probe_read_user(&key, sizeof(key), (void *)w.L->tss_key_addr) || key >= 32)
		return sc->hash;	/* no key yet, or glibc's second level */
	slot = task->thread.fsbase + w.L->tsd_base + (__u64)key * w.L->tsd_stride + w.L->tsd_data;
	if (bpf_probe_read_user(&tstate, sizeof(tstate), (void *)slot) || !tstate)
		return sc->hash;
	if (w.L->tstate_cframe) {
		if (bpf_probe_read_user(&w.frame, sizeof(w.frame),
					(void *)(tstate + w.L->tstate_cframe)) || !w.frame)
			return sc->hash;
		if (bpf_probe_read_user(&w.frame, sizeof(w.frame),
					(void *)(w.frame + w.L->cframe_frame)))
			return sc->hash;
	} else if (bpf_probe_read_user(&w.frame, sizeof(w.frame),
				       (void *)(tstate + w.L->cframe_frame))) {
		return sc->hash;
	}
	w.ps->win_len = 0;	/* another thread's, or another process's */
	/* shim frames (3.12+) take steps too: at most one per Python frame */
	bpf_loop(2 * PT_PY_MAX_FRAMES + 1, py_frame_step, &w, 0);
	if (w.frame)
		sc->py_cut = 1;
	return sc->hash;
}

#endif

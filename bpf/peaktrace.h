/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ABI shared by the BPF programs (bpf/) and the loader (src/): map keys
 * and values, ring-buffer events and probe cookies.  Fixed-width types
 * only, explicit padding, no bool, long or bitfields, so that both
 * compilers lay every struct out the same way.
 */
#ifndef PEAKTRACE_ABI_H
#define PEAKTRACE_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PT_COMM_LEN 16
#define PT_ARGV_LEN 256
#define PT_FILE_NAME_LEN 64
#define PT_PATH_LEN 256
/* Deepest user stack kept; the stack map's value size follows it. */
#define PT_MAX_STACK_DEPTH 127
/* Stack id used when the user stack could not be captured. */
#define PT_STACK_NONE 0
/*
 * Stack sampling of small blocks (bpf/heap/heap.bpf.h): a block smaller
 * than the sampling rate is charged to its stack's record tagged
 * PT_STACK_SMALL (stack id | tag) when sampled, else to the image's
 * PT_STACK_UNSAMPLED record.  Stack hashes never have the tag bit.
 */
#define PT_STACK_SMALL (1ULL << 63)
#define PT_STACK_UNSAMPLED (~0ULL)
/* Bytes of user stack copied at once above %rsp for the frame walk. */
#define PT_STACK_COPY 1024
/* Allocation tables at most (see "allocs" in bpf/heap/heap.bpf.h). */
#define PT_ALLOC_TABLES 12
/* Overlapping mmap regions handled by one munmap/mremap/MAP_FIXED. */
#define PT_MAX_OVERLAPS 16

/* Allocator entry points; the value is carried in the probe cookie. */
enum pt_func {
	PT_FN_MALLOC = 0,
	PT_FN_CALLOC,
	PT_FN_REALLOC,
	PT_FN_REALLOCARRAY,
	PT_FN_FREE,
	PT_FN_POSIX_MEMALIGN,
	PT_FN_MEMALIGN, /* also aligned_alloc: same arguments */
	PT_FN_VALLOC,
	PT_FN_PVALLOC,
	PT_FN_MMAP,
	PT_FN_MUNMAP,
	PT_FN_MREMAP,
	PT_FN_COUNT,
	/* not a call: peaktrace-preload.so asks for glibc's own probes
	 * (src/preload/uncover.c), %rdi the word peaktrace sets when done */
	PT_FN_UNCOVER = 0x40,
};

/*
 * Cookie layout: low byte the function, then flags saying where the probe
 * sits (see src/probes/placement.c for why probes are not always at the entry).
 */
#define PT_COOKIE_FUNC(c) ((__u32)((c) & 0xff))
/* Probe sits right after the syscall of a syscall wrapper: the arguments
 * are still in their registers and the result is in %rax. */
#define PT_COOKIE_AFTER_SYSCALL 0x100
/* The wrapper moved the 4th argument from %rcx to %r10 (syscall ABI). */
#define PT_COOKIE_ARG4_IN_R10 0x200
/* Nothing before the probe moved %rsp: the return address is at (%rsp). */
#define PT_COOKIE_RA_AT_RSP 0x400
/* A return probe (the same program serves both). */
#define PT_COOKIE_RETURN 0x800
/* A site of peaktrace-preload.so (src/preload/sites.S): after the call,
 * arguments and result in registers at once (free's: before the call), the
 * return address at (%rsp); the stack is unwound from the caller. */
#define PT_COOKIE_DONE 0x1000
/* With the preload library, a C library's malloc, calloc, realloc or free probed in a
 * process that may also run the preload library (src/probes/probes.c,
 * SET_COVERED): a call from that library is its sites' to count. */
#define PT_COOKIE_COVERED 0x2000

/* libc_files values: what a file is to the allocator probes. */
#define PT_FILE_LIBC 1		/* a C library probed */
#define PT_FILE_PRELOAD 2	/* peaktrace-preload.so (src/preload/sites.S) */

/* The kernel's RSS counters (enum in include/linux/mm_types_task.h). */
enum pt_rss_member {
	PT_RSS_FILE = 0,	/* MM_FILEPAGES */
	PT_RSS_ANON = 1,	/* MM_ANONPAGES */
	PT_RSS_SWAP = 2,	/* MM_SWAPENTS: swap entries, not resident */
	PT_RSS_SHMEM = 3,	/* MM_SHMEMPAGES */
	PT_RSS_COUNT = 4,
};
#define PT_MAX_CPUS 512

/*
 * Per-CPU counters (map "lost"), summed by userspace.  One list, so that the
 * BPF enum, the report's fields, their JSON names and their text lines
 * cannot drift apart: X(NAME, json_name, kind, text), text taking the count.
 * kind LOSS: something was not counted, and the report says INCOMPLETE.
 * kind NOTE: every byte was counted; worth knowing all the same.
 */
#define PT_COUNTER_LIST(X)                                                                    \
	X(EVENTS, "events", LOSS, "%llu process events dropped (ring buffer full)")           \
	X(UNKNOWN_FREES, "unknown_frees", LOSS,                                               \
	  "%llu frees of memory allocated before tracing or not seen")                       \
	X(ALLOCS_FULL, "allocs_map_full", LOSS,                                               \
	  "%llu allocations not counted: allocation maps full (--max-allocs)")                \
	X(STACKS_FULL, "stacks_map_full", LOSS,                                               \
	  "%llu allocations not counted: stack map full (--max-stacks)")                      \
	X(REGIONS_FULL, "regions_map_full", LOSS, "%llu mmap regions not counted: region map full") \
	X(PROCS_FULL, "procs_map_full", LOSS,                                                 \
	  "%llu processes not traced: process map full (--max-procs)")                        \
	X(STACK_ERRORS, "stack_errors", LOSS, "%llu allocations whose stack could not be captured") \
	X(OVERLAPS, "region_overlaps_dropped", LOSS,                                          \
	  "%llu unmaps that overlapped more regions than handled")                            \
	X(LOCK_TIMEOUTS, "unlocked_updates", LOSS,                                            \
	  "%llu updates that found the model lock held and its queue of deferred updates "   \
	  "full, or could not be applied in their turn (heap blocks not counted, others "     \
	  "applied without it or out of turn)")                                               \
	X(THREAD_STATE, "thread_state_errors", LOSS,                                          \
	  "%llu allocator calls not counted: their thread's state could not be made")        \
	X(PROBES_REMOVED, "probes_removed", LOSS,                                             \
	  "%llu processes whose probes the kernel removed while they ran")                    \
	X(TRUNCATED, "truncated_stacks", NOTE,                                                \
	  "%llu stacks cut at the depth limit (--stack-depth): innermost frames kept")        \
	X(PARTIAL, "partial_stacks", NOTE,                                                    \
	  "%llu stacks whose unwinding stopped before the outermost frame")                   \
	X(VMAS_FULL, "unnamed_mappings", NOTE,                                                \
	  "%llu code mappings not recorded (map full): their frames are shown unnamed")       \
	X(INHERITED_FREES, "inherited_frees", NOTE,                                           \
	  "%llu frees in forked children of blocks their parent allocated before the fork")   \
	X(ALLOCATOR_FREES, "allocator_frees", NOTE,                                           \
	  "%llu frees by the C library of its own blocks (thread caches at thread exit)")      \
	X(PY_CUT, "python_frames_cut", NOTE,                                                  \
	  "%llu stacks deeper than 64 Python frames: the innermost kept, the rest cut")       \
	X(PY_CODES_LOST, "python_codes_lost", LOSS,                                           \
	  "%llu Python code objects not copied (ring buffer full): their frames are unnamed")  \
	X(TREES_FULL, "trees_map_full", LOSS,                                                 \
	  "%llu process trees not kept (tree map full, --max-procs): their RSS peaks missing") \
	X(LEDGER, "in_process_blocks", NOTE,                                                  \
	  "%llu small blocks counted in their process by peaktrace-preload.so, "  \
	  "their stacks sampled as at the probes")                                            \
	X(DEFERRED, "deferred_updates", NOTE,                                                 \
	  "%llu updates that found the model lock held by a holder not running, queued to "  \
	  "be applied in order after it let go (any that were not: in unlocked_updates)")

enum pt_lost {
#define PT_COUNTER_ENUM(name, json, kind, text) PT_LOST_##name,
	PT_COUNTER_LIST(PT_COUNTER_ENUM)
#undef PT_COUNTER_ENUM
	PT_LOST_COUNT,
};

/*
 * Kinds of frame in a reported stack, X(NAME, json_name).  The native
 * unwinder (bpf/unwind/native.bpf.h) gives NATIVE frames, symbolization adds
 * the functions INLINED at an address, and PYTHON is the slot for a second
 * stack source: the interpreter's own frames.
 */
#define PT_FRAME_KIND_LIST(X) X(NATIVE, "native") X(INLINED, "inlined") X(PYTHON, "python")

enum pt_frame_kind {
#define PT_FRAME_KIND_ENUM(name, json) PT_FRAME_##name,
	PT_FRAME_KIND_LIST(PT_FRAME_KIND_ENUM)
#undef PT_FRAME_KIND_ENUM
	PT_FRAME_KIND_COUNT,
};

/* Ring-buffer events: the process tree, rare and small. */
enum pt_event_type {
	PT_EV_FORK = 1,
	PT_EV_EXEC = 2,
	PT_EV_EXIT = 3,
	PT_EV_VMA = 4,	/* a stack of tgid points into a mapping not seen before */
	PT_EV_ENTER = 5,	/* tgid entered the scope (--cgroup, --all): register it */
	PT_EV_LEAVE = 6,	/* tgid (instance) left the --cgroup: it stops counting */
	PT_EV_DRAIN = 7,	/* queued model updates wait for peaktrace (src/run/drain.c) */
	PT_EV_UNCOVER = 8,	/* tgid wants glibc's own probes (PT_FN_UNCOVER), then ack set */
};

struct pt_event {
	__u32 type;
	__u32 tgid;
	__u32 ppid;
	__u32 instance;
	__u32 prev_instance;	/* exec: the image replaced; fork: the parent's */
	__s32 exit_code;	/* exit: the kernel's exit_code (status << 8 | signal) */
	__u64 time_ns;
	char comm[PT_COMM_LEN];
	__u32 argv_len;		/* exec: bytes of argv copied, NUL separated */
	__u32 pad;
	char argv[PT_ARGV_LEN];
	/* exec: the executable, so it can be found after a quick exit */
	__u64 exe_dev;		/* kernel dev_t */
	__u64 exe_ino;
	char filename[PT_PATH_LEN]; /* as given to execve */
	__u64 ack;		/* uncover: the address of the word peaktrace sets */
};

/*
 * Live bytes per (process image, stack), with the lazy snapshots that give
 * the value at the tree's peak and at the process's own peak: the first
 * change after a new peak saves the value the record had at that peak.
 */
struct pt_stack_rec {
	__u64 live_bytes;
	__u64 live_count;
	__u64 snap_bytes;	/* at tree peak snap_epoch */
	__u64 snap_count;
	__u64 snap_epoch;
	__u64 psnap_bytes;	/* at process peak psnap_epoch */
	__u64 psnap_count;
	__u64 psnap_epoch;
};

/*
 * One traced process image.  An instance ends at exit or exec; exec starts
 * a new one for the same tgid, so an old image's records never mix with a
 * new one's, and a recycled pid gets a new instance too.
 *
 * Map procs is an array: image inst lives in slot inst & procs_mask (a
 * lookup on every allocator event costs an array index, not a hash).  Its
 * maker, BPF or the loader, picks an instance whose slot is free: it takes
 * the slot by turning `claimed` from 0 to 1 (compare-and-swap) and counts
 * it in pt_global.procs_used, writes the record, and publishes it by
 * setting `instance` last.  A record counts, for BPF and for userspace, only
 * while `instance` is the one looked for.  A published record is freed by
 * whoever owns it then: its maker, if the image could not be entered in
 * tgids, or userspace once it swept an ended image (--all, --cgroup):
 * `instance` to 0 first, `claimed` to 0 last, then the count.
 */
struct pt_proc {
	__u32 instance;		/* the image in this slot; 0: none (yet) */
	__u32 claimed;		/* the slot is taken (being written, or in use) */
	__u32 tgid;
	__u32 ppid;
	__u32 parent_instance;
	__u32 alive;
	__u64 live_bytes;
	__u64 peak_bytes;
	__u64 peak_time_ns;
	__u64 peak_epoch;	/* bumped at each new peak of this process */
	__u64 tree_snap_bytes;	/* live_bytes at tree peak tree_snap_epoch */
	__u64 tree_snap_epoch;
	__u64 end_epoch;	/* tree peak epoch when the image ended */
	__u64 start_ns;
	__u64 end_ns;
	__u64 allocs;
	__u64 frees;
	__u64 regions;		/* live mmap regions, so munmap can skip the scan */
	/*
	 * RSS in pages, exact: each counter's count plus its per-CPU deltas.
	 * rss_total is file + anon + shmem, what the kernel calls RSS.
	 */
	__u64 rss[PT_RSS_COUNT];
	__u64 rss_count[PT_RSS_COUNT];	/* the counters' approximate counts */
	__u64 rss_total;
	__u64 rss_peak;		/* exact total's maximum */
	__u64 rss_peak_time_ns;
	__u64 rss_member_peak[PT_RSS_COUNT]; /* each counter's own maximum */
	__u64 rss_approx_peak;	/* maximum of the counts alone (what /proc shows) */
	__u64 rss_max_drift;	/* largest |exact - approximate| of the total */
	__u64 rss_events;
	__u64 rss_hiwater;	/* the kernel's VmHWM at exit: max(hiwater_rss, rss) */
	__u64 rss_start;	/* exact total when tracing began (-p: smaps_rollup) */
	__u32 launcher;		/* peaktrace's gated fork: its RSS is not the tree's */
	__u32 mm_known;		/* BPF has recorded its mm (map mms) */
	__u32 probes_removed;	/* the kernel took its probes away while it ran */
	__u32 tree_root;	/* the instance whose tree it is in (see pt_tree) */
	/* its blocks under --sample-bytes whose stacks were not sampled: the
	 * record of stack PT_STACK_UNSAMPLED, kept here to save the heap's
	 * hot path a map lookup per event */
	struct pt_stack_rec unsampled;
	__u64 blocks;		/* its records in the allocation tables */
	/* the preload library's ledger's own memory in this image, in pages, resident
	 * from its mapping on (src/preload/ledger.c): not the program's, so
	 * the RSS model takes it out of the anonymous pages; and the pages
	 * of the BPF maps it maps, out of the file pages */
	__u64 ledger_pages;
	__u64 ledger_file_pages;
};

/*
 * A process tree within the traced scope (--all, --cgroup): a process
 * whose parent is init or untraced roots one; its descendants are in it.
 * Keyed by the root's first instance.  RSS in pages, as pt_proc's.
 */
struct pt_tree {
	__u64 rss_live, rss_peak, rss_peak_time_ns;
	__u64 approx_live, approx_peak;	/* the counters' counts alone */
	__u64 max_drift;		/* largest |exact - approximate| of the sum */
};

/*
 * Map tgids: a traced process's current image, and the image whose heap its
 * allocator calls count in: its own, except for a CLONE_VM child (vfork,
 * posix_spawn, system) until it execs: it runs in its parent's address
 * space, and what it allocates or frees there is the parent's heap.
 */
struct pt_tgid {
	__u32 instance;
	__u32 heap_instance;
};

/* A user stack, innermost frame first; keyed by a 64-bit hash of its ips. */
#define PT_STACK_TRUNCATED 1	/* cut at the depth limit */
#define PT_STACK_PARTIAL 2	/* unwinding stopped before the outermost frame */
/*
 * A Python frame (bpf/unwind/python.bpf.h): the code object running, where
 * in it (bytes from the code object's start to the instruction running;
 * userspace turns it into a line), and whether the frame was entered from
 * C (the eval loop's frame that runs it ends there).
 */
#define PT_PY_MAX_FRAMES 64
/* Bytes BPF reads of a frame and of a code object's header: every offset
 * of a layout lies below them (src/python/layouts.c checks). */
#define PT_PY_FRAME_READ 72
#define PT_PY_CODE_READ 160
#define PT_PY_ENTRY 1
struct pt_py_frame {
	__u64 code;
	__u64 fingerprint;	/* of the code object's header: addresses are reused */
	__u32 instr_off;
	__u32 flags;		/* PT_PY_* */
};

struct pt_stack {
	__u32 nr;
	__u32 flags;		/* PT_STACK_* */
	__u64 ips[PT_MAX_STACK_DEPTH];
	__u32 npy;		/* Python frames, innermost first */
	__u32 pad;
	struct pt_py_frame py[PT_PY_MAX_FRAMES];
};

/*
 * How to find the Python frames of an image (src/python/detect.c fills it,
 * keyed by instance): where the interpreter's autoTSSkey is, glibc's
 * thread-specific data, and the CPython structure offsets of its version.
 */
struct pt_py_layout {
	__u64 tss_key_addr;	/* &_PyRuntime.autoTSSkey._key (the pthread key) */
	__u32 tsd_base;		/* struct pthread: first-level specific data */
	__u32 tsd_stride;	/* bytes per key */
	__u32 tsd_data;		/* the value within an entry */
	__u32 tstate_cframe;	/* 3.11/3.12: tstate->cframe; 3.13: 0 */
	__u32 cframe_frame;	/* cframe->current_frame (3.13: tstate's) */
	__u32 frame_code, frame_previous, frame_instr, frame_entry, frame_owner;
	__u32 frame_globals;	/* checks a cached code object (python.bpf.h) */
	__u32 pad;
	__u32 code_filename, code_qualname, code_linetable, code_firstlineno;
	__u32 str_state, str_ascii_data, str_compact_data;
	__u32 bytes_size, bytes_data;
	__u32 version;		/* 0x030b etc. */
	/* 3.12 and later: no entry flag; the eval loop pushes a shim frame
	 * owned by the C stack (owner == shim_owner, 3) below each entry
	 * frame.  0: frame_entry is the flag (3.11). */
	__u32 shim_owner;
};

/*
 * A code object, copied the first time a stack shows it (its own ring
 * buffer, py_codes): processes that exit before the report are named.
 * Strings are the raw bytes of CPython's compact str (kind 1, 2 or 4
 * bytes per character).
 */
#define PT_PY_NAME_LEN 128
#define PT_PY_FILE_LEN 256
#define PT_PY_LINETABLE_LEN 4096
struct pt_py_code {
	__u32 instance;
	__u32 firstlineno;
	__u64 code;
	__u64 fingerprint;
	__u16 qualname_len, filename_len, linetable_len;
	__u8 qualname_kind, filename_kind;
	char qualname[PT_PY_NAME_LEN];
	char filename[PT_PY_FILE_LEN];
	__u8 linetable[PT_PY_LINETABLE_LEN];
};

struct pt_stack_key {
	__u32 instance;
	__u32 pad;
	__u64 stack_id;		/* hash of the ips; PT_STACK_NONE if not captured */
};

struct pt_alloc_key {
	__u32 instance;
	__u32 pad;
	__u64 addr;
};

/* A live heap block: one slot of an allocation table (open addressing,
 * bpf/heap/blocks.h), at most PT_BLOCK_PROBES - 1 slots past its home. */
#define PT_BLOCK_PROBES 64
#define PT_BLOCK_EMPTY 0ULL	/* addr of a slot never used, or emptied */
#define PT_BLOCK_TOMB 1ULL	/* addr of a slot freed where a shift stopped */
struct pt_block {
	__u64 addr;
	__u32 instance;
	__u32 pad;
	__u64 size;
	__u64 stack_id;
};

/* Anonymous mmap regions counted as heap, keyed like allocations. */
struct pt_region {
	__u64 len;		/* page-rounded */
	__u64 stack_id;
};

/*
 * Unwind tables, built by the loader from .eh_frame (src/stacks/cfi.c): one row
 * per address range with the same rule, sorted by pc, all modules' rows
 * numbered in one sequence over several tables; cfi_modules gives each
 * file's slice.  x86-64 rules only: the CFA
 * is %rsp or %rbp plus an offset, the return address is at CFA - 8, %rbp
 * is either unchanged or saved at CFA + rbp_off.
 */
enum pt_cfa_reg {
	PT_CFA_RSP = 0,
	PT_CFA_RBP = 1,
	PT_CFA_UNKNOWN = 2,	/* no CFI here, or a rule BPF cannot follow */
	PT_CFA_END = 3,		/* the return address is undefined: the outermost frame */
};

/* Unwind row tables at most: PT_CFI_TABLES of 2^cfi_table_shift rows
 * (--max-unwind-rows). */
#define PT_CFI_TABLES 16

struct pt_cfi_row {
	__u32 pc;		/* link-time address, low 32 bits of a module's */
	__s32 cfa_off;
	__s16 rbp_off;		/* where %rbp is saved, if rbp_saved */
	__u8 cfa_reg;
	__u8 rbp_saved;
};

struct pt_cfi_module_key {
	__u64 dev;		/* kernel dev_t */
	__u64 ino;
};

struct pt_cfi_module {
	__u32 first;		/* its first row (bpf/unwind/native.bpf.h: cfi_row) */
	__u32 nrows;
	__s64 vaddr_minus_offset; /* of its executable segment: file offset -> pc */
};

/* Executable mappings seen in captured stacks, for symbolization after exit. */
struct pt_vma_key {
	__u32 instance;
	__u32 pad;
	__u64 start;
};

struct pt_vma {
	__u64 end;
	__u64 file_offset;	/* offset in the file of start */
	__u64 dev;		/* kernel dev_t: major << 20 | minor */
	__u64 ino;
	char name[PT_FILE_NAME_LEN]; /* the file's base name */
};

/* The tree-wide model; one slot, updated under its lock. */
struct pt_global {
	__u64 live_bytes;
	__u64 peak_bytes;
	__u64 peak_time_ns;
	__u64 peak_epoch;
	__u32 next_instance;
	__u32 procs_used;	/* slots of map procs taken (struct pt_proc) */
	/* RSS of the tree, pages: the sum of the exact totals of live images. */
	__u64 rss_live;
	__u64 rss_peak;
	__u64 rss_peak_time_ns;
	__u64 rss_shmem_live;
	__u64 rss_shmem_at_peak;
	__u64 rss_at_heap_peak;		/* tree RSS when the heap peaked */
	__u64 heap_at_rss_peak;		/* tree heap bytes when RSS peaked */
	/*
	 * Uprobe programs are of the kprobe type, which the verifier does not
	 * let use bpf_spin_lock ("tracing progs cannot use bpf_spin_lock
	 * yet"), so the model is serialised by this word with cmpxchg.
	 */
	__u32 lock;
	/* 1 from the RSS program's request to peaktrace to apply the queue
	 * (PT_EV_DRAIN) until peaktrace has (bpf/model/deferred.bpf.h) */
	__u32 drain_asked;
	/*
	 * peaktrace-preload.so's ledger (src/preload/ledger.c): small blocks
	 * whose stacks the sampling passed by, counted by the process itself
	 * under the model lock, in its image's PT_STACK_UNSAMPLED record.
	 */
	__u64 ledger_allocs;		/* blocks it counted */
	__u64 ledger_inherited_frees;	/* frees of blocks a fork's parent counted */
	__u64 ledger_lock_timeouts;	/* updates it made without the lock (counted) */
	/*
	 * Updates queued because the lock's holder was not running (a ledger
	 * or peaktrace preempted while holding it: bpf/model/model.bpf.h),
	 * not applied yet.  While there are any, every update queues behind
	 * them, and a ledger has them applied before its own.
	 */
	__u64 deferred;
};

/*
 * PEAKTRACE_LEDGER, which peaktrace gives the command: the two
 * maps the ledger maps (their fds, inherited, and ids, checked) and the
 * figures it needs.
 */
#define PT_LEDGER_ENV "PEAKTRACE_LEDGER"
/* The model lock's word while a ledger holds it: its image's tag (the BPF
 * programs and peaktrace hold it as 1), let go by model_end if the image
 * ends holding it.  Ledgers run in images the BPF programs numbered
 * (bit 31 clear). */
#define PT_LEDGER_LOCK(inst) ((__u32)(inst) | 0x80000000u)
#define PT_LEDGER_FORMAT "%d:%u:%d:%u:%u:%u"	/* global fd:id, procs fd:id, slots, sample bytes */

#endif /* PEAKTRACE_ABI_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * peaktrace-preload.so's ledger: the small blocks whose stacks the
 * sampling passes by, counted by the process itself instead of at a probe.
 *
 * A probe hit costs about 1 us here; glibc's malloc about 20 ns.  A program
 * making millions of small blocks (C++ containers, libtorch) paid 20-30x
 * its run time for traps whose only work was to add a size to the model
 * and, at the free, to find it again: their stacks are not captured (a
 * block under --sample-bytes is drawn with chance size / sample_bytes).
 * Here the draw is made in the process; a drawn block, a large one, and
 * every call the ledger cannot count still go to the site, as before.
 *
 * The model is the BPF programs' own: peaktrace gives the command the
 * fds of maps `global` and `procs` (PEAKTRACE_LEDGER, checked against the
 * maps' ids), the ledger maps them shared and applies the same update
 * (bpf/model/peak_model.h) to its image's PT_STACK_UNSAMPLED record under
 * the same lock word, so tree and process peaks stay exact, ordered with
 * the probes' updates as the probes' are among themselves.
 *
 * What it keeps of its own: each counted block's size, by address, in
 * memory private to the process (a fork's child inherits a copy, whose
 * blocks are its parent's: the child's free of one is an inherited free,
 * as the probes count it).
 *
 * Built -nostdlib: the C library's functions it uses (getenv,
 * clock_gettime, __register_atfork) are weak, and the ledger stays off
 * without them (another C library: forward.c).
 */
#include <stddef.h>
#include <time.h>
#include "peaktrace.h"
#include "preload/sys.h"

#define HIDDEN __attribute__((visibility("hidden")))

extern char *getenv(const char *name) __attribute__((weak));
extern int clock_gettime(clockid_t clk, struct timespec *ts) __attribute__((weak));
extern int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void),
			     void *dso) __attribute__((weak));
extern void *__libc_malloc(size_t n) __attribute__((weak));

static __u64 ledger_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);	/* bpf_ktime_get_ns's clock */
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

#define PT_MODEL_CLOCK() ledger_clock()
#include "model/peak_model.h"

#define PAGE 4096UL

static void *map_flags(size_t len, int fd, long flags, __u64 offset)
{
	long r = sys6(SYS_mmap, 0, (long)len, 3 /* PROT_READ | PROT_WRITE */, flags, fd,
		      (long)offset);

	return r < 0 && r > -4096 ? NULL : (void *)r;
}

/* fd's memory from offset, shared; or (fd -1) anonymous memory, private. */
static void *map_mem(size_t len, int fd, __u64 offset)
{
	return map_flags(len, fd, fd >= 0 ? 1 /* MAP_SHARED */ : 0x22 /* MAP_PRIVATE | MAP_ANONYMOUS */,
			 offset);
}

/* --- the ledger's state --------------------------------------------------- */

/*
 * The sizes of the blocks counted here, by address: glibc's blocks are
 * 16-byte aligned, so each 16-byte granule of the address space has one
 * 16-bit slot, size + 1 (0: none), in a chunk per 64 KiB, found through
 * two levels of pointers.  Neighbouring blocks have neighbouring slots: a
 * hash table spread them (one cache and TLB miss per call, 0.3 us of the
 * 0.4 us a call cost on the C++ workload of scripts/bench); this costs
 * 1/8 of the address span small blocks occupy.
 *
 * A fork's child owns none of the blocks it inherits: at a fork its
 * generation moves on, and a chunk of an older generation, when next
 * touched, moves its slots to inh (its image's parent's blocks: freed,
 * they are inherited frees) and starts empty.
 */
#define CHUNK_SHIFT 16
#define GRANULES (1u << (CHUNK_SHIFT - 4))
/* The top level by address >> 28 (47-bit user space), in .bss: touched
 * where used (a page of it per 128 GiB); each middle table, 32 KiB for
 * 256 MiB, is resident whole (map_own), as the arena's 128 KiB pieces are:
 * a process with the ledger has 160 KiB of it at least (1.5 MiB with
 * 4 GiB middle tables and 1 MiB pieces, which a worker pool pays per
 * worker). */
#define MID_SHIFT 28
#define TOPS (1u << (47 - MID_SHIFT))
#define MIDS (1u << (MID_SHIFT - CHUNK_SHIFT))
#define SLOT_MAX 0xfffeu	/* largest size a slot holds */
#define ARENA_PIECE (128UL << 10)	/* chunks (8 KiB each) come from these */

struct chunk {
	__u32 gen;		/* the generation its own slots are of */
	__u32 pad;
	__u16 *inh;		/* slots of an older generation (NULL: none) */
	__u16 own[GRANULES];
};

static struct {
	struct pt_global *g;
	int procs_fd;		/* map procs (checked), -1 if none */
	__u64 rec_size;		/* its records' stride */
	char *rec_map;		/* pages of it: this image's record's, or the look's */
	__u64 rec_off;		/* their offset in the map */
	size_t rec_len;
	__u64 file_pages;	/* pages of the BPF maps mapped (global, rec_map) */
	__u32 mask;		/* slots of map procs - 1 */
	__u32 inst;		/* this image's instance: 0, the ledger is off */
	struct pt_proc *p;	/* its record */
	__u64 sample_bytes;
	__u64 lock;		/* the slots': its holder's thread pointer, or 0 */
	volatile __u32 *forked;	/* 0 in a fork's child (MADV_WIPEONFORK) */
	__u32 gen;		/* forks since the image began */
	__u64 rng;		/* xorshift64, under the lock */
	__u64 own_pages;	/* mapped by map_own() */
	char *arena, *arena_end;	/* where chunks come from */
	struct chunk **top[TOPS];
} L;

/* Read by sites.S: 1 while the ledger counts this process's small blocks. */
HIDDEN int pt_ledger_on;
/* Set once glibc's own probes count this process's calls (uncover.c):
 * every block then goes to the BPF side, none counted here (a free the
 * program makes past the library would leave a counted block's slot
 * set).  Inherited by a fork's child, as the probes are. */
static int ledger_barred;

HIDDEN void pt_ledger_off(void)
{
	__atomic_store_n(&ledger_barred, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&pt_ledger_on, 0, __ATOMIC_RELEASE);
}

/* --- locks ------------------------------------------------------------------ */

/* The calling thread's pointer (%fs:0, the TCB's self pointer on x86-64
 * whatever the C library): who holds the slots' lock. */
static __u64 self(void)
{
	__u64 tp;

	asm("mov %%fs:0, %0" : "=r"(tp));
	return tp;
}

/*
 * The slots' lock, this process's own; the model is updated only while it
 * is held.  Its word is its holder's thread pointer, so a signal handler
 * that allocates while its thread holds it sees that (busy) and sends its
 * call to the site instead of waiting for itself.  (A thread-local flag
 * would be simpler, but this library's TLS made glibc's own blocks of
 * every thread larger: it changed the program.)
 */
static int busy(void)
{
	return __atomic_load_n(&L.lock, __ATOMIC_RELAXED) == self();
}

static void slots_lock(void)
{
	__u64 me = self(), free_ = 0;
	unsigned n = 0;

	while (!__atomic_compare_exchange_n(&L.lock, &free_, me, 0, __ATOMIC_ACQUIRE,
					    __ATOMIC_RELAXED)) {
		free_ = 0;
		if (++n % 64 == 0)
			sys6(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
		else
			__builtin_ia32_pause();
	}
}

static void slots_unlock(void)
{
	__atomic_store_n(&L.lock, 0, __ATOMIC_RELEASE);
}

/*
 * The model lock, shared with the BPF programs (bpf/model/model.bpf.h) and
 * every traced process's ledger, taken with this image's tag: a process
 * that dies holding it (exit or exec end its other threads anywhere) has
 * it let go when its image ends (model_end), the update it was making
 * counted as unlocked.  A holder stopped (SIGSTOP, a debugger) stalls
 * every update: after about a second of yields one goes on without it,
 * counted, as the BPF side does after its spins.
 */
static int model_lock(struct pt_global *g)
{
	__u32 tag = PT_LEDGER_LOCK(L.inst);
	unsigned n;

	for (n = 0; n < (1u << 20); n++) {
		if (__sync_val_compare_and_swap(&g->lock, 0, tag) == 0)
			return 1;
		if (n < 256)
			__builtin_ia32_pause();
		else
			sys6(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
	}
	__atomic_fetch_add(&g->ledger_lock_timeouts, 1, __ATOMIC_RELAXED);
	return 0;
}

static void model_unlock(struct pt_global *g, int held)
{
	if (held)
		__atomic_store_n(&g->lock, 0, __ATOMIC_RELEASE);
}

/*
 * Touches the stack the update below will use (the clock read at a new
 * peak is its deepest call): a page fault while the model lock is held
 * would make the RSS program, in the fault, wait for that lock and give up.
 */
static __attribute__((noinline)) void stack_ahead(void)
{
	char room[1024];

	/* the compiler must neither drop the store nor the array */
	asm volatile("movb $0, %0" : "=m"(room[0]) : : "memory");
}

/* src/preload/sites.S: passes a probed site, whose program applies the
 * model's queued updates first. */
HIDDEN void pt_drain(void);

/* Tries for the queued updates to be applied before the ledger's own (a
 * pass of the site's program applies a quarter of what the queue holds;
 * another holder may take the lock meanwhile): past them, or in a process
 * whose sites are not probed, it goes ahead of them, counted as an
 * unlocked update. */
#define DRAIN_TRIES 8

/* bytes and count in or out of this image's unsampled record; the slots'
 * lock held.  Updates the BPF programs queued while the model lock's
 * holder was not running (bpf/model/model.bpf.h) come first: they were
 * made before this one. */
static void model(__s64 bytes, __s64 count)
{
	struct pt_proc *p = L.p;
	int held, tries = 0;

	stack_ahead();
	for (;;) {
		held = model_lock(L.g);
		if (!held || !__atomic_load_n(&L.g->deferred, __ATOMIC_RELAXED))
			break;
		if (tries++ == DRAIN_TRIES) {
			__atomic_fetch_add(&L.g->ledger_lock_timeouts, 1, __ATOMIC_RELAXED);
			break;
		}
		model_unlock(L.g, held);
		pt_drain();
	}

	/* the slot is this image's as long as it lives */
	if (__atomic_load_n(&p->instance, __ATOMIC_ACQUIRE) == L.inst) {
		pt_model_apply(L.g, p, &p->unsampled, bytes, count, 0);
		if (count > 0)
			L.g->ledger_allocs++;
	}
	model_unlock(L.g, held);
}

/* --- the slots of counted blocks ------------------------------------------ */

/* The ledger's own memory, in its image's record: its anonymous pages,
 * and the pages of the BPF maps it maps (the kernel counts them as the
 * process's file pages from the mapping on; they are counted here once
 * its record is found, after they are mapped: the model's page, and up to
 * 64 KiB of the records while it looks for its own, then that one's one
 * or two pages). */
static void own_pages_publish(void)
{
	if (L.p) {
		__atomic_store_n(&L.p->ledger_pages, L.own_pages, __ATOMIC_RELAXED);
		__atomic_store_n(&L.p->ledger_file_pages, L.file_pages, __ATOMIC_RELAXED);
	}
}

/*
 * len bytes of zeroed memory of the ledger's own, resident from the start
 * (MAP_POPULATE) and counted in its record before they are mapped: the
 * RSS model takes them out of the process's anonymous pages, so that the
 * ledger does not change the RSS figures (the C++ workload of
 * scripts/bench: its RSS peak 11% higher before).  Counted early, an RSS
 * change meanwhile is short by at most this mapping, never over.
 */
static void *map_own(size_t len)
{
	void *m;

	L.own_pages += len / PAGE;
	own_pages_publish();
	m = map_flags(len, -1, 0x8022 /* MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE */, 0);
	if (!m) {
		L.own_pages -= len / PAGE;
		own_pages_publish();
	}
	return m;
}

/* n bytes (a multiple of 8) of zeroed memory that lasts; NULL without. */
static void *arena(size_t n)
{
	void *r;

	if (L.arena_end - L.arena < (long)n) {
		L.arena = map_own(ARENA_PIECE);
		if (!L.arena) {
			L.arena_end = NULL;
			return NULL;
		}
		L.arena_end = L.arena + ARENA_PIECE;
	}
	r = L.arena;
	L.arena += n;
	return r;
}

/* Moves c's slots to inh: they are of an older generation (a fork's
 * parent's); 0, or -1 without memory. */
static int chunk_renew(struct chunk *c)
{
	__u32 i;

	if (!c->inh && !(c->inh = arena(GRANULES * sizeof(__u16))))
		return -1;
	for (i = 0; i < GRANULES; i++)
		if (c->own[i]) {
			c->inh[i] = c->own[i];
			c->own[i] = 0;
		}
	c->gen = L.gen;
	return 0;
}

/* The chunk of addr, made if make; NULL if there is none (or no memory).
 * Lock held. */
static struct chunk *chunk_of(__u64 addr, int make)
{
	__u64 hi = addr >> MID_SHIFT;
	struct chunk **m, *c;

	if (hi >= TOPS)
		return NULL;
	m = L.top[hi];
	if (!m) {
		if (!make || !(m = map_own(MIDS * sizeof(*m))))
			return NULL;
		L.top[hi] = m;
	}
	c = m[(addr >> CHUNK_SHIFT) & (MIDS - 1)];
	if (!c) {
		if (!make || !(c = arena(sizeof(*c))))
			return NULL;
		c->gen = L.gen;
		m[(addr >> CHUNK_SHIFT) & (MIDS - 1)] = c;
	}
	if (c->gen != L.gen && chunk_renew(c))
		return NULL;
	return c;
}

static __u32 granule(__u64 addr)
{
	return (addr >> 4) & (GRANULES - 1);
}

/* --- finding this image's record -------------------------------------------- */

/* Records hold pids as the initial pid namespace numbers them; in another
 * one getpid() could name some other traced process: no ledger there. */
static int in_initial_pid_ns(void)
{
	static const char want[] = "pid:[4026531836]";	/* PROC_PID_INIT_INO */
	char buf[32];
	long n = sys6(SYS_readlink, (long)"/proc/self/ns/pid", (long)buf, sizeof(buf), 0, 0, 0);

	if (n != (long)sizeof(want) - 1)
		return 0;
	for (long i = 0; i < n; i++)
		if (buf[i] != want[i])
			return 0;
	return 1;
}

/* Maps len bytes of map procs from offset off (page-aligned) in place of
 * the pages mapped before: 0, or -1 (the old ones kept). */
static int procs_window(__u64 off, size_t len)
{
	char *m = map_mem(len, L.procs_fd, off);

	if (!m)
		return -1;
	if (L.rec_map)
		sys6(SYS_munmap, (long)L.rec_map, (long)L.rec_len, 0, 0, 0, 0);
	L.file_pages = L.file_pages - L.rec_len / PAGE + len / PAGE;
	L.rec_map = m;
	L.rec_off = off;
	L.rec_len = len;
	return 0;
}

/* Record slot of map procs, mapped: in the pages mapped already, else in
 * a window of up to 64 KiB ending with it (the look goes down the slots),
 * or (alone) in its own pages only.  NULL if it cannot be mapped.  Never
 * the whole map: 7 MB by default, it would count in the process's RSS
 * from its mapping on. */
static struct pt_proc *record_at(__u32 slot, int alone)
{
	__u64 at = (__u64)slot * L.rec_size, end = at + sizeof(struct pt_proc);
	__u64 hi = (end + PAGE - 1) & ~(PAGE - 1), lo = at & ~(PAGE - 1);

	if (!alone && L.rec_map && at >= L.rec_off && end <= L.rec_off + L.rec_len)
		return (struct pt_proc *)(L.rec_map + (at - L.rec_off));
	if (!alone)
		lo = hi > (64 << 10) ? hi - (64 << 10) : 0;
	if (procs_window(lo, hi - lo))
		return NULL;
	return (struct pt_proc *)(L.rec_map + (at - lo));
}

/* This process's live image among the records: the BPF programs made it
 * at its fork or exec, before it ran, most likely among the last ones
 * numbered, so the look goes back from the next number, through windows
 * of the map; then the record's own pages stay mapped. */
static void find_self(void)
{
	__u32 me = (__u32)sys6(SYS_getpid, 0, 0, 0, 0, 0, 0), i, from, slot, inst;
	struct pt_proc *p;

	__atomic_store_n(&pt_ledger_on, 0, __ATOMIC_RELEASE);
	L.inst = 0;
	L.p = NULL;
	if (!in_initial_pid_ns())
		return;
	from = __atomic_load_n(&L.g->next_instance, __ATOMIC_RELAXED);
	for (i = 0; i <= L.mask; i++) {
		slot = (from - i) & L.mask;
		p = record_at(slot, 0);
		if (!p)
			return;
		inst = __atomic_load_n(&p->instance, __ATOMIC_ACQUIRE);
		if (!inst || p->tgid != me || !p->alive || p->launcher)
			continue;
		p = record_at(slot, 1);
		if (!p || __atomic_load_n(&p->instance, __ATOMIC_ACQUIRE) != inst)
			return;
		L.inst = inst;
		L.p = p;
		own_pages_publish();
		if (L.forked)
			*L.forked = 1;
		if (!__atomic_load_n(&ledger_barred, __ATOMIC_ACQUIRE))
			__atomic_store_n(&pt_ledger_on, 1, __ATOMIC_RELEASE);
		return;
	}
}

/* A fork's child: its slots are a copy of its parent's (their blocks its
 * parent's), its record another, its draws its own; the slots' lock, if
 * a thread that is not in the child held it, free. */
static void forked_child(void)
{
	L.gen++;
	L.lock = 0;
	L.rng ^= ledger_clock() << 1;
	if (L.procs_fd >= 0)
		find_self();
}

/* The fork handlers keep the slots whole across a fork; a child made
 * without them (_Fork, a raw clone) is found by its wiped page at its
 * next call. */
static void before_fork(void)
{
	slots_lock();
}

static void after_fork_parent(void)
{
	slots_unlock();
}

/* In a fork's child that no handler told: 1 (the ledger is its own now,
 * or off). */
static int fork_unseen(void)
{
	if (!L.forked || *L.forked)
		return 0;
	forked_child();
	return 1;
}

/* --- set-up --------------------------------------------------------------------- */

static const char *number(const char *s, __u64 *v)
{
	*v = 0;
	if (*s < '0' || *s > '9')
		return NULL;
	while (*s >= '0' && *s <= '9')
		*v = *v * 10 + (__u64)(*s++ - '0');
	return s;
}

/* The number after key in text, or ~0. */
static __u64 field(const char *text, const char *key)
{
	__u64 v;

	for (const char *s = text; *s; s++) {
		int k = 0;

		while (key[k] && s[k] == key[k])
			k++;
		if (!key[k])
			return number(s + k, &v) ? v : ~0ULL;
	}
	return ~0ULL;
}

/* fd is map id's, whose values are vsize bytes: /proc/self/fdinfo/FD says
 * "map_id:\tID" and "value_size:\tN".  A number the program reused for a
 * file of its own must never be mapped and written; nor a map of another
 * build of peaktrace, whose records are laid out otherwise. */
static int is_map(__u64 fd, __u64 id, __u64 vsize)
{
	char path[40] = "/proc/self/fdinfo/", digits[24], buf[1024];
	int n = 0, at = 18, f;
	long got;

	do
		digits[n++] = (char)('0' + fd % 10);
	while ((fd /= 10) && n < 20);
	while (n)
		path[at++] = digits[--n];
	path[at] = 0;
	f = (int)sys6(SYS_open, (long)path, 0 /* O_RDONLY */, 0, 0, 0, 0);
	if (f < 0)
		return 0;
	got = sys6(SYS_read, f, (long)buf, sizeof(buf) - 1, 0, 0, 0);
	sys6(SYS_close, f, 0, 0, 0, 0, 0);
	if (got <= 0)
		return 0;
	buf[got] = 0;
	return field(buf, "map_id:\t") == id && field(buf, "value_size:\t") == vsize;
}

static size_t mapped_len(size_t n, size_t size)
{
	return (n * ((size + 7) & ~7UL) + PAGE - 1) & ~(PAGE - 1);
}

/* Something only this library's own functions have the address of. */
static char anchor;

/* A new fd of map id, or -1: BPF_MAP_GET_FD_BY_ID, which needs
 * CAP_SYS_ADMIN (a command run as root has it). */
static int map_fd_by_id(__u64 id)
{
	struct { __u32 map_id, next_id, open_flags; } attr = { .map_id = (__u32)id };
	long fd = sys6(SYS_bpf, 14 /* BPF_MAP_GET_FD_BY_ID */, (long)&attr, sizeof(attr), 0, 0, 0);

	return fd < 0 ? -1 : (int)fd;
}

/*
 * A close-on-exec fd of map id (values of vsize bytes): a copy of fd
 * checked to be it (the check and the use see the same file even if
 * another thread reuses the number meanwhile), or, if fd is not it (a
 * program closed what it did not open before exec'ing: Python's
 * subprocess does by default), a new fd of the map found by its id.  -1
 * if neither works.
 */
static int fd_checked(__u64 fd, __u64 id, __u64 vsize)
{
	int copy = (int)sys6(SYS_fcntl, (long)fd, 1030 /* F_DUPFD_CLOEXEC */, 3, 0, 0, 0);

	if (copy >= 0 && !is_map((__u64)copy, id, vsize)) {
		sys6(SYS_close, copy, 0, 0, 0, 0, 0);
		copy = -1;
	}
	if (copy < 0 && (copy = map_fd_by_id(id)) >= 0 && !is_map((__u64)copy, id, vsize)) {
		sys6(SYS_close, copy, 0, 0, 0, 0, 0);
		copy = -1;
	}
	return copy;
}

/* Maps len bytes of it. */
static void *map_checked(__u64 fd, __u64 id, __u64 vsize, size_t len)
{
	int copy = fd_checked(fd, id, vsize);
	void *m = copy >= 0 ? map_mem(len, copy, 0) : NULL;

	if (copy >= 0)
		sys6(SYS_close, copy, 0, 0, 0, 0, 0);
	return m;
}

__attribute__((constructor)) static void ledger_init(void)
{
	const char *s = getenv ? getenv(PT_LEDGER_ENV) : NULL;
	__u64 v[6];
	int i;

	L.procs_fd = -1;
	if (!s || !clock_gettime || !__register_atfork || !__libc_malloc)
		return;
	for (i = 0; i < 6; i++) {
		s = number(s, &v[i]);
		if (!s || *s != (i < 5 ? ':' : 0))
			return;
		s++;
	}
	/* slots: a power of two, as the loader sizes map procs */
	if (!v[4] || (v[4] & (v[4] - 1)) || v[4] > (1u << 24) || !v[5])
		return;
	L.g = map_checked(v[0], v[1], sizeof(struct pt_global),
			  mapped_len(1, sizeof(struct pt_global)));
	L.file_pages = mapped_len(1, sizeof(struct pt_global)) / PAGE;
	/* kept open (close-on-exec): a fork's child finds its record too */
	L.procs_fd = L.g ? fd_checked(v[2], v[3], sizeof(struct pt_proc)) : -1;
	L.rec_size = (sizeof(struct pt_proc) + 7) & ~7UL;
	L.forked = map_mem(PAGE, -1, 0);
	L.mask = (__u32)(v[4] - 1);
	L.sample_bytes = v[5];
	L.rng = ledger_clock() | 1;
	if (!L.g || L.procs_fd < 0 || !L.forked ||
	    sys6(SYS_madvise, (long)L.forked, PAGE, 18 /* MADV_WIPEONFORK */, 0, 0, 0) ||
	    __register_atfork(before_fork, after_fork_parent, forked_child, &anchor)) {
		if (L.procs_fd >= 0)	/* off: nothing of it left open */
			sys6(SYS_close, L.procs_fd, 0, 0, 0, 0, 0);
		L.procs_fd = -1;
		return;
	}
	find_self();
}

/* --- what sites.S calls -------------------------------------------------------- */

/* The draw the BPF side makes (heap_stack_rec): stack captured with
 * chance size / sample_bytes.  Lock held. */
static int drawn(__u64 size)
{
	L.rng ^= L.rng << 13;
	L.rng ^= L.rng >> 7;
	L.rng ^= L.rng << 17;
	return (((L.rng >> 32) * L.sample_bytes) >> 32) < size;
}

/* Clears the slot (own or inherited) at ptr in c, returning it in *own
 * or *inh; the model told of an own one.  Lock held. */
static void slot_clear(struct chunk *c, __u64 ptr, __u16 *own, __u16 *inh)
{
	__u32 k = granule(ptr);

	*own = c->own[k];
	*inh = c->inh ? c->inh[k] : 0;
	c->own[k] = 0;
	if (c->inh)
		c->inh[k] = 0;
	if (*own)
		model(-(__s64)(*own - 1), -1);
}

/*
 * A new block ptr of size bytes: 1 if counted here, 0 if its site is to
 * count it (*picked: its stack drawn here, to be captured).  Either way a
 * slot still set at ptr (a block freed where the ledger did not see it) is
 * cleared first: left, it would take the new block's free for its own.
 */
static int count_new(__u64 ptr, __u64 size, __u64 *picked)
{
	int small = size < L.sample_bytes && size <= SLOT_MAX && !(ptr & 15);
	struct chunk *c;
	__u16 own, inh;

	*picked = 0;
	slots_lock();
	c = chunk_of(ptr, small);
	if (c)
		slot_clear(c, ptr, &own, &inh);
	/* the draw only for a block that can be counted here: one drawn
	 * again at its site would have two chances */
	if (c && small && !(*picked = drawn(size))) {
		c->own[granule(ptr)] = (__u16)(size + 1);
		model((__s64)size, 1);
		slots_unlock();
		return 1;
	}
	slots_unlock();
	return 0;
}

/* Clears the slot at ptr, if its chunk exists (slot_clear), taking the
 * lock. */
static void slots_take(__u64 ptr, __u16 *own, __u16 *inh)
{
	struct chunk *c;

	*own = *inh = 0;
	slots_lock();
	c = chunk_of(ptr, 0);
	if (c)
		slot_clear(c, ptr, own, inh);
	slots_unlock();
}

/* The block at ptr leaves: 1 if it was counted here (or by a fork's
 * parent), 0 if its site is to count it. */
static int count_gone(__u64 ptr)
{
	__u16 own, inh;

	if (ptr & 15)
		return 0;
	slots_take(ptr, &own, &inh);
	if (inh && !own)
		__atomic_fetch_add(&L.g->ledger_inherited_frees, 1, __ATOMIC_RELAXED);
	return own || inh;
}

/*
 * realloc's old block, before glibc's realloc may hand its memory to
 * another thread: its slot is taken out now (a thread given the same
 * address must not find it) and the token returned (0: none; else the
 * slot, never 0, with TOKEN_INHERITED if it was a fork's parent's), which
 * pt_ledger_after gets back in %rdx.
 */
#define TOKEN_SLOT 0xffffULL
#define TOKEN_INHERITED (1ULL << 62)

HIDDEN __u64 pt_ledger_before_realloc(__u64 old)
{
	struct chunk *c;
	__u64 tok = 0;

	fork_unseen();
	if (!L.inst || busy() || !old || (old & 15))
		return 0;
	slots_lock();
	c = chunk_of(old, 0);
	if (c && c->own[granule(old)]) {
		tok = c->own[granule(old)];
		c->own[granule(old)] = 0;
	} else if (c && c->inh && c->inh[granule(old)]) {
		tok = TOKEN_INHERITED | c->inh[granule(old)];
		c->inh[granule(old)] = 0;
	}
	slots_unlock();
	return tok;
}

/* realloc failed: the old block's slot back as it was. */
static void token_undo(__u64 old, __u64 tok)
{
	struct chunk *c;

	slots_lock();
	c = chunk_of(old, 0);
	if (c && (tok & TOKEN_INHERITED) && c->inh)
		c->inh[granule(old)] = (__u16)(tok & TOKEN_SLOT);
	else if (c)
		c->own[granule(old)] = (__u16)(tok & TOKEN_SLOT);
	slots_unlock();
}

/*
 * After malloc (fn 0), calloc (1) or realloc (2) returned; r holds %rax,
 * %rdi, %rsi and %rdx as the site is to see them (for realloc, %rdx in:
 * pt_ledger_before_realloc's token).  Returns 0 if the call is counted
 * here, else 1: sites.S goes on to the function's site with r as updated
 * (%rdx 1 if the block's stack was drawn here, to be captured; %rdi 0 for
 * realloc's old block counted here).
 */
enum { R_AX, R_DI, R_SI, R_DX };

static long after(long fn, __u64 *r, __u64 tok);

HIDDEN long pt_ledger_after(long fn, __u64 *r)
{
	__u64 tok = fn == 2 ? r[R_DX] : 0;

	r[R_DX] = 0;
	if (fork_unseen() && tok)
		tok = 0;	/* a parent's slot, in a copy that is not ours */
	return !L.inst || busy() ? 1 : after(fn, r, tok);
}

static long after(long fn, __u64 *r, __u64 tok)
{
	__u64 size = r[R_DI];

	if (fn == 1 && __builtin_mul_overflow(r[R_DI], r[R_SI], &size))
		return 1;	/* calloc: NULL, as the site sees */
	if (fn == 2) {
		size = r[R_SI];
		/* failed: the old block stays as it was */
		if (!r[R_AX] && size) {
			if (tok)
				token_undo(r[R_DI], tok);
			return 0;
		}
		/* the old block is the probes' (or unknown): the site takes
		 * the call whole, with its own draw for the new block (a block
		 * counted here would join the model before the old one left);
		 * a stale slot at the new one's address cleared first */
		if (r[R_DI] && !tok) {
			__u16 own, inh;

			if (r[R_AX])
				slots_take(r[R_AX], &own, &inh);
			return 1;
		}
		if (tok & TOKEN_INHERITED) {
			__atomic_fetch_add(&L.g->ledger_inherited_frees, 1, __ATOMIC_RELAXED);
		} else if (tok) {
			slots_lock();
			model(-(__s64)((tok & TOKEN_SLOT) - 1), -1);
			slots_unlock();
		}
		r[R_DI] = 0;
	}
	if (!r[R_AX])	/* realloc(p, 0): nothing new */
		return 0;
	return !count_new(r[R_AX], size, &r[R_DX]);
}

/* Before free(ptr), ptr not NULL: 1 if counted here, 0 for the site. */
HIDDEN long pt_ledger_free(__u64 ptr)
{
	fork_unseen();
	return L.inst && !busy() ? count_gone(ptr) : 0;
}

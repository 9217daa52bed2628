// SPDX-License-Identifier: GPL-2.0
/* The tracing run: BPF lifecycle, process registration, the event loop. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <signal.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <sys/socket.h>
#include "collect.h"
#include "execgate.h"
#include "launch.h"
#include "model.h"
#include "peaktrace.skel.h"
#include "probes.h"
#include "proctable.h"
#include "session.h"
#include "symbolize.h"
#include "unwind.h"
#include "utf8.h"

#define USER_INSTANCE_BIT 0x80000000u
#define LIBC_WAIT_NS (2ULL * 1000 * 1000 * 1000)
#define STATUS_PERIOD_NS (1000ULL * 1000 * 1000)
#define EMPTY_CHECK_NS (10ULL * 1000 * 1000)
/* How long a finished run's teardown keeps the uprobes registered for the
 * next run (see probes__free). */
#define PROBE_LINGER_S 10
/* Entries of the first allocation table (then doubled, see alloc_tables_grow). */
#define ALLOC_TABLE0 (1u << 18)

struct session {
	const struct options *o;
	struct peaktrace_bpf *skel;
	struct ring_buffer *rb;
	struct probes *probes;
	struct symbolizer *sym;
	struct unwind *unwind;	/* NULL with --rss-only */
	struct proctable procs;
	struct report report;
	struct collected collected;
	uint32_t next_user_instance;
	/* the allocation tables (see "allocs" in bpf/): fds and sizes */
	int alloc_fd[PT_ALLOC_TABLES];
	uint32_t alloc_cap[PT_ALLOC_TABLES];
	uint64_t alloc_cap_total;
	uint32_t *dead;		/* ended instances whose records are not yet swept */
	struct collected_vma *saved_vmas; /* code mappings of swept images */
	size_t nsaved_vmas, capsaved_vmas;
	size_t ndead, capdead;
	uint64_t t0_ns, t_end_ns;
	int rss;		/* the kernel's RSS counters can be read exactly */
	int status_shown;
	int gate;		/* our end of the exec gate's socket, or -1 */
	size_t pending_from;	/* procs before it wait for no C library */
	int maybe_empty;	/* something ended since the tree was last looked at */
	unsigned probe_linger_s;	/* see probes__free */
	const char *stopped_by;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int verbose_libbpf;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !verbose_libbpf)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* A warning goes to stderr now (unless -q) and into the report. */
static void __attribute__((format(printf, 2, 3))) warn(struct session *s, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!s->o->quiet) { /* may hold a traced program's name: escaped */
		fputs("peaktrace: warning: ", stderr);
		utf8__write_safe(stderr, buf);
		fputc('\n', stderr);
	}
	report__warn(&s->report, "%s", buf);
}

/* -v: how long start-up took, stage by stage. */
static void phase(const struct options *o, const char *what, uint64_t t_start)
{
	if (o->verbose)
		fprintf(stderr, "peaktrace: %s at %.3f s\n", what, (now_ns() - t_start) / 1e9);
}

static void unwind_warning(void *ctx, const char *msg)
{
	warn(ctx, "%s", msg);
}

static int check_environment(char *err, size_t errlen)
{
	if (geteuid() != 0) {
		snprintf(err, errlen,
			 "must run as root: loading BPF programs and defining uprobes needs "
			 "CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN (try: sudo peaktrace ...)");
		return -1;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(err, errlen,
			 "this kernel exposes no BTF (/sys/kernel/btf/vmlinux: %s): peaktrace's "
			 "CO-RE programs need a kernel built with CONFIG_DEBUG_INFO_BTF=y",
			 strerror(errno));
		return -1;
	}
	return 0;
}

static int read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, len, f);
	fclose(f);
	return (int)n;
}

/*
 * One perf event per probe per traced thread: 20 000 descriptors ran out at
 * 100 processes of 8 threads.  Root may raise the hard limit as far as
 * fs.nr_open; short of that, as far as the hard limit goes.
 */
static void raise_fd_limit(void)
{
	unsigned long nr_open = 0;
	struct rlimit rl;
	char buf[32];

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (read_file("/proc/sys/fs/nr_open", buf, sizeof(buf) - 1) > 0)
		nr_open = strtoul(buf, NULL, 10);
	if (nr_open > rl.rlim_max) {
		struct rlimit want = { nr_open, nr_open };

		if (!setrlimit(RLIMIT_NOFILE, &want))
			return;
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static int on_event(void *ctx, void *data, size_t len);

/* A look at pid's mappings: files to symbolize with, modules to unwind. */
static void scan_process(struct session *s, pid_t pid)
{
	symbolizer__scan_process(s->sym, pid);
	if (s->unwind)
		unwind__add_process(s->unwind, pid);
}

/*
 * Exact RSS reads mm->rss_stat as percpu_counters, which they are since
 * Linux 6.2 (commit f1a7941243c1, "mm: convert mm's rss stats into
 * percpu_counter"); before, struct mm_rss_stat held atomics fed by
 * per-thread caches that BPF cannot sum.  There the RSS programs are left
 * out and the heap is traced alone.
 */
static int kernel_has_percpu_rss(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	/* by version: parsing the kernel's BTF for it took 0.15 s of start-up,
	 * and libbpf parses it again for the CO-RE relocations */
	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return 0;
	return major > 6 || (major == 6 && minor >= 2);
}

/* All sets, as the mask a process carrying every one of them has. */
static uint64_t all_sets(const struct session *s)
{
	size_t n = s->probes ? probes__set_count(s->probes) : 0;

	return n >= 64 ? ~0ULL : (1ULL << n) - 1;
}

/*
 * The C libraries probed from the start: peaktrace's own (the one most
 * commands use) and the other ones installed in the usual places (musl),
 * so that exec'ing into a program linked against one of them loses
 * nothing.  A library found later (a container's) is added when seen.
 */
static int define_libraries(struct session *s, char *err, size_t errlen)
{
	static const char *others[] = {
		"/lib/ld-musl-x86_64.so.1", "/usr/lib/x86_64-linux-musl/libc.so",
		"/usr/lib/musl/lib/libc.so", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6",
	};
	char e2[512];
	size_t i;

	if (probes__libc_set(s->probes, getpid(), err, errlen) < 0) {
		if (!err[0])
			snprintf(err, errlen, "cannot find peaktrace's own C library in /proc/self/maps");
		return -1;
	}
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		if (access(others[i], R_OK))
			continue;
		if (probes__add_library(s->probes, others[i], e2, sizeof(e2)) < 0 && s->o->verbose)
			fprintf(stderr, "peaktrace: not probing %s: %s\n", others[i], e2);
	}
	return 0;
}

struct session *session__open(const struct options *o, char *err, size_t errlen)
{
	struct session *s;
	int e;

	uint64_t t_start = now_ns();

	if (check_environment(err, errlen))
		return NULL;
	raise_fd_limit();
	verbose_libbpf = o->verbose;
	libbpf_set_print(libbpf_print);
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->o = o;
	s->gate = -1;
	proctable__init(&s->procs);
	s->sym = symbolizer__new();
	s->skel = peaktrace_bpf__open();
	if (!s->sym || !s->skel) {
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	/* Map sizes are policy: set before load.  The first allocation table
	 * is small; more are added as it fills (alloc_tables_grow). */
	s->alloc_cap[0] = o->max_allocs < ALLOC_TABLE0 ? o->max_allocs : ALLOC_TABLE0;
	s->alloc_cap_total = s->alloc_cap[0];
	bpf_map__set_max_entries(s->skel->maps.alloc_table0, s->alloc_cap[0]);
	bpf_map__set_max_entries(s->skel->maps.stack_recs, o->max_stacks);
	bpf_map__set_max_entries(s->skel->maps.stacks, o->max_stacks / 2);
	bpf_map__set_max_entries(s->skel->maps.procs, o->max_procs);
	bpf_map__set_max_entries(s->skel->maps.tgids, o->max_procs);
	bpf_map__set_max_entries(s->skel->maps.proc_vmas, o->max_procs);
	s->skel->rodata->bare_probes = o->bare_probes;
	s->skel->rodata->max_depth = o->stack_depth;
	s->skel->rodata->nr_cpus = libbpf_num_possible_cpus();
	if (libbpf_num_possible_cpus() > PT_MAX_CPUS) {
		snprintf(err, errlen, "more than %d possible CPUs: exact RSS cannot sum them all",
			 PT_MAX_CPUS);
		goto fail;
	}
	s->rss = kernel_has_percpu_rss();
	if (!s->rss) {
		if (o->rss_only) {
			snprintf(err, errlen, "exact RSS needs Linux 6.2 or later (per-CPU RSS "
				 "counters); this kernel keeps per-thread caches");
			goto fail;
		}
		bpf_program__set_autoload(s->skel->progs.pt_rss_stat, false);
		bpf_program__set_autoload(s->skel->progs.pt_exit_mmap, false);
		s->skel->rodata->rss_enabled = 0;
	}
	if (o->rss_only) {
		/* no uprobes: their programs' verification is most of the start-up */
		bpf_program__set_autoload(s->skel->progs.pt_entry, false);
		bpf_program__set_autoload(s->skel->progs.pt_return, false);
	}
	phase(o, "opened", t_start);
	e = peaktrace_bpf__load(s->skel);
	if (e) {
		snprintf(err, errlen,
			 "cannot load the BPF programs (%s); the kernel needs BPF, BTF, "
			 "task storage, bpf_loop and bpf_find_vma (Linux 5.17 or later)%s",
			 strerror(-e), o->verbose ? "" : "; run with -v for the verifier's log");
		goto fail;
	}
	s->alloc_fd[0] = bpf_map__fd(s->skel->maps.alloc_table0);
	phase(o, "BPF loaded", t_start);
	e = peaktrace_bpf__attach(s->skel);
	if (e) {
		snprintf(err, errlen, "cannot attach the process-tree tracepoints (%s): "
			 "the kernel needs tp_btf support", strerror(-e));
		goto fail;
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_event, s, NULL);
	if (!s->rb) {
		snprintf(err, errlen, "cannot open the event ring buffer: %s", strerror(errno));
		goto fail;
	}
	if (!o->rss_only) {
		int pair[2] = { -1, -1 };

		/* the exec gate waits for unwind tables only when there are any */
		if (!o->frame_pointers &&
		    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0)
			s->gate = pair[0];
		s->probes = probes__new(s->skel->progs.pt_entry, s->skel->progs.pt_return,
					bpf_map__fd(s->skel->maps.libc_files),
					bpf_map__fd(s->skel->maps.tgids),
					bpf_map__fd(s->skel->maps.procs), pair[1], err, errlen);
		if (pair[1] >= 0)
			close(pair[1]);
		if (!s->probes || define_libraries(s, err, errlen))
			goto fail;
		phase(o, "probes defined", t_start);
	}
	if (!o->rss_only && !o->frame_pointers) {
		s->unwind = unwind__new(bpf_map__fd(s->skel->maps.cfi_rows),
					bpf_map__fd(s->skel->maps.cfi_modules),
					(volatile uint64_t *)&s->skel->bss->cfi_generation,
					bpf_map__max_entries(s->skel->maps.cfi_rows), o->verbose,
					unwind_warning, s);
		if (!s->unwind) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	/* Most commands map the files peaktrace maps: known for symbols from
	 * the start; unwind tables only for the C library and the loader (the
	 * command's own libraries are read before it runs; building tables for
	 * all of peaktrace's, libstdc++ and libdw among them, cost 0.1 s). */
	symbolizer__scan_process(s->sym, getpid());
	if (s->unwind)
		unwind__add_runtime(s->unwind, getpid());
	if (!s->rss)
		warn(s, "exact RSS needs Linux 6.2 or later: RSS figures are left out, the heap is traced");
	phase(o, "unwind tables of the C library", t_start);
	s->t0_ns = now_ns();
	return s;
fail:
	session__free(s);
	return NULL;
}

void session__free(struct session *s)
{
	if (!s)
		return;
	probes__free(s->probes, s->probe_linger_s);
	unwind__free(s->unwind);
	ring_buffer__free(s->rb);
	for (size_t i = 1; i < PT_ALLOC_TABLES; i++)
		if (s->alloc_fd[i] > 0)
			close(s->alloc_fd[i]);
	peaktrace_bpf__destroy(s->skel);
	symbolizer__free(s->sym);
	proctable__free(&s->procs);
	collect__free(&s->collected);
	report__free(&s->report);
	free(s->dead);
	free(s->saved_vmas);
	free(s);
}

/* --- registering processes --------------------------------------------------- */


static void proc_identity(pid_t pid, struct proc_info *pi, char *argvbuf, size_t argvlen)
{
	char path[64];
	int n;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	n = read_file(path, pi->comm, sizeof(pi->comm) - 1);
	if (n > 0) {
		pi->comm[n] = 0;
		pi->comm[strcspn(pi->comm, "\n")] = 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	n = read_file(path, argvbuf, argvlen);
	if (n > 0) {
		pi->argv = argvbuf;
		pi->argv_len = n;
	}
}

/* Puts tgid into the BPF process set.  Returns 0, 1 if BPF already had it
 * (a fork the tracepoint saw), -1 if the map is full. */
/* The exact RSS of a running process from smaps_rollup, in pages: the
 * starting point until its first RSS change is seen. */
static uint64_t smaps_rss_pages(pid_t pid)
{
	char path[64], line[256];
	unsigned long long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Rss: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024 / sysconf(_SC_PAGESIZE);
}

/*
 * Has BPF record the mm of every registered process and read its RSS
 * counters, with a task iterator: from then on their RSS changes are
 * attributed even when made from outside them.
 */
static int learn_mms(struct session *s, char *err, size_t errlen)
{
	struct bpf_link *link;
	char buf[64];
	int fd;

	if (!s->rss)
		return 0;
	link = bpf_program__attach_iter(s->skel->progs.pt_learn_mms, NULL);
	if (!link) {
		snprintf(err, errlen, "cannot run the task iterator: %s", strerror(errno));
		return -1;
	}
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		snprintf(err, errlen, "cannot run the task iterator: %s", strerror(errno));
		bpf_link__destroy(link);
		return -1;
	}
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	bpf_link__destroy(link);
	return 0;
}

static int register_bpf(struct session *s, pid_t tgid, pid_t ppid, int launcher,
			uint32_t *instance)
{
	struct pt_proc p = { .tgid = tgid, .ppid = ppid, .alive = 1, .launcher = launcher };
	__u32 key = tgid, inst = USER_INSTANCE_BIT | ++s->next_user_instance;
	struct pt_tgid t = { .instance = inst, .heap_instance = inst };

	if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.tgids), &key, &t) == 0) {
		*instance = t.instance;
		return 1;
	}
	p.start_ns = now_ns();
	if (!launcher) {
		p.rss_start = smaps_rss_pages(tgid);
		p.rss_peak = p.rss_start;
		p.rss_peak_time_ns = p.start_ns;
	}
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.procs), &inst, &p, BPF_NOEXIST))
		return -1;
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.tgids), &key, &t, BPF_NOEXIST)) {
		bpf_map_delete_elem(bpf_map__fd(s->skel->maps.procs), &inst);
		/* Registered by the fork tracepoint in between. */
		if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.tgids), &key, &t))
			return -1;
		*instance = t.instance;
		return 1;
	}
	*instance = inst;
	return 0;
}

void session__prepare_program(struct session *s, const char *path, char **argv)
{
	char args[PT_ARGV_LEN * 4];
	size_t n = 0;

	if (!s->unwind)
		return;
	unwind__add_program(s->unwind, path);
	for (; *argv && n < sizeof(args); argv++)
		n += snprintf(args + n, sizeof(args) - n, "%s", *argv) + 1;
	unwind__anticipate(s->unwind, args, n < sizeof(args) ? n : sizeof(args), NULL);
}

int session__add_gated(struct session *s, pid_t pid, char *err, size_t errlen)
{
	struct proc_info pi;
	int r;

	if (s->probes && probes__attach_gated(s->probes, pid, err, errlen))
		return -1;
	memset(&pi, 0, sizeof(pi));
	r = register_bpf(s, pid, getpid(), 1, &pi.instance);
	if (r) {
		snprintf(err, errlen, "cannot register the command in the BPF process map");
		return -1;
	}
	pi.tgid = pid;
	pi.ppid = getpid();
	pi.launcher = 1;
	pi.libc_state = LIBC_PROBED;
	pi.sets_mask = all_sets(s);
	pi.start_ns = now_ns();
	snprintf(pi.comm, sizeof(pi.comm), "peaktrace");
	if (!proctable__add(&s->procs, &pi)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (s->o->verbose && s->probes)
		probes__describe(s->probes, stderr);
	return 0;
}

/* From /proc/PID/stat: the state letter and flags; returns the ppid or -1. */
static pid_t stat_state(pid_t pid, char *state, unsigned long *flags)
{
	char path[64], buf[1024], *p;
	int ppid = -1, n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	n = read_file(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* comm may hold spaces and parentheses: parse after the last ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %d %*d %*d %*d %*d %lu", state, &ppid, flags) != 3)
		return -1;
	return ppid;
}

/* kind: what its executable is (enum launch_exe_kind). */
static void set_no_libc_note(struct session *s, struct proc_info *pi, int kind)
{
	pi->libc_state = LIBC_NONE;
	snprintf(pi->note, sizeof(pi->note), "%s",
		 kind == LAUNCH_EXE_STATIC ? "statically linked: no C library to probe, heap not traced" :
		 kind == LAUNCH_EXE_FOREIGN ? "not an x86-64 program (32-bit?): peaktrace probes "
					      "x86-64 code only, heap not traced" :
		 "no C library found in its mappings: heap not traced");
	warn(s, "pid %u (%s): %s", pi->tgid, pi->comm, pi->note);
}

/* SIGINT/SIGTERM are held during set-up (src/main.c): a long attach to a
 * large tree stops walking it when one is waiting. */
static int stop_pending(void)
{
	sigset_t pending;

	return !sigpending(&pending) &&
	       (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM));
}

/* This process, or a helper of a peaktrace run (its anchor, a teardown). */
static int is_peaktrace(pid_t pid)
{
	char path[64], comm[32] = "";

	if (pid == getpid())
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (read_file(path, comm, sizeof(comm) - 1) <= 0)
		return 0;
	return !strncmp(comm, "peaktrace-anchr\n", 16) || !strncmp(comm, "peaktrace-detach", 16);
}

/* A descendant that could not be traced: in the report as such (a loss),
 * and said now. */
static void untraced(struct session *s, pid_t pid, pid_t ppid, const char *why)
{
	char argvbuf[PT_ARGV_LEN * 4];
	struct proc_info pi, *np;

	memset(&pi, 0, sizeof(pi));
	pi.tgid = pid;
	pi.ppid = ppid;
	pi.start_ns = now_ns();
	pi.instance = USER_INSTANCE_BIT | ++s->next_user_instance;
	pi.ended = 1;	/* nothing of it will be seen */
	pi.end_ns = pi.start_ns;
	pi.untraced = 1;
	pi.libc_state = LIBC_NONE;
	proc_identity(pid, &pi, argvbuf, sizeof(argvbuf));
	snprintf(pi.note, sizeof(pi.note), "could not be traced: %s", why);
	np = proctable__add(&s->procs, &pi);
	warn(s, "pid %d (%s): %s", (int)pid, pi.comm, np ? np->note : why);
}

/* Registers pid (running) and everything under it, depth first. */
static int add_tree(struct session *s, pid_t pid, int depth, char *err, size_t errlen)
{
	char path[96], argvbuf[PT_ARGV_LEN * 4];
	struct proc_info pi, *np;
	unsigned long flags = 0;
	char state = 0;
	struct dirent *de;
	pid_t ppid;
	int set, r;
	DIR *d;
	FILE *f;

	ppid = stat_state(pid, &state, &flags);
	if (ppid < 0 || state == 'Z' || state == 'X') {
		if (!depth)
			snprintf(err, errlen, "pid %d has exited%s", (int)pid,
				 ppid < 0 ? " before tracing could start" : " (a zombie: nothing to trace)");
		return depth ? 0 : PT_EXIT_NO_TARGET;
	}
	if (flags & 0x00200000 /* PF_KTHREAD */) {
		if (!depth)
			snprintf(err, errlen, "pid %d is a kernel thread: it has no user heap to trace",
				 (int)pid);
		return depth ? 0 : PT_EXIT_NO_TARGET;
	}
	if (is_peaktrace(pid))
		return 0; /* peaktrace itself, or a helper, under the pid given */
	memset(&pi, 0, sizeof(pi));
	/* Events first, so that children forked from now on inherit them;
	 * then registration, so that the fork tracepoint follows them. */
	set = s->probes ? probes__libc_set(s->probes, pid, err, errlen) : -PROBES_NO_LIBC;
	/* Its own C library's set only: 22 events per thread, not 44 with
	 * musl's too (a tree of 800 threads needs 17 600 descriptors); one
	 * that later execs into another C library gets that set when the
	 * loader has mapped it (check_pending_libc). */
	if (set >= 0) {
		r = probes__attach_set(s->probes, set, pid, err, errlen);
		if (r == PROBES_ERROR)
			set = PROBES_ERROR;
		else
			pi.sets_mask |= 1ULL << set;
	}
	if (set == PROBES_ERROR) {
		/* the pid asked for: an error; a descendant: reported, and the
		 * rest of the tree traced all the same */
		if (!depth)
			return PT_EXIT_FAILED;
		untraced(s, pid, ppid, err);
		err[0] = 0;
		goto children;
	}
	if (set >= 0)
		pi.libc_state = LIBC_PROBED;
	r = register_bpf(s, pid, ppid, 0, &pi.instance);
	if (r < 0) {
		snprintf(err, errlen, "the BPF process map is full (--max-procs)");
		return PT_EXIT_FAILED;
	}
	if (r == 0) {
		pi.tgid = pid;
		pi.ppid = ppid;
		pi.start_ns = now_ns();
		proc_identity(pid, &pi, argvbuf, sizeof(argvbuf));
		if (set == -PROBES_GONE)
			return depth ? 0 : PT_EXIT_NO_TARGET;
		np = proctable__add(&s->procs, &pi);
		if (np && set == -PROBES_NO_LIBC && s->probes) {
			snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
			set_no_libc_note(s, np, launch__exe_kind(path));
		}
	}
	scan_process(s, pid);

children:
	/* Children of every thread. */
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		char cpath[128];
		int child;

		if (de->d_name[0] == '.')
			continue;
		snprintf(cpath, sizeof(cpath), "/proc/%d/task/%d/children", (int)pid, atoi(de->d_name));
		f = fopen(cpath, "re");
		if (!f)
			continue;
		while (!stop_pending() && fscanf(f, "%d", &child) == 1)
			add_tree(s, child, depth + 1, err, errlen);
		fclose(f);
	}
	if (d)
		closedir(d);
	return 0;
}

int session__add_running(struct session *s, pid_t pid, char *err, size_t errlen)
{
	int r;

	if (kill(pid, 0) && errno == ESRCH) {
		snprintf(err, errlen, "no process with pid %d", (int)pid);
		return PT_EXIT_NO_TARGET;
	}
	if (pid == getpid()) {
		snprintf(err, errlen, "pid %d is peaktrace itself", (int)pid);
		return PT_EXIT_NO_TARGET;
	}
	r = add_tree(s, pid, 0, err, errlen);
	if (!r && learn_mms(s, err, errlen))
		r = PT_EXIT_FAILED;
	if (r == PT_EXIT_NO_TARGET && !err[0])
		snprintf(err, errlen, "pid %d exited before tracing could start", (int)pid);
	if (!r && s->o->verbose && s->probes)
		probes__describe(s->probes, stderr);
	return r;
}


/* --- following the tree ------------------------------------------------------ */

static void dead_push(struct session *s, uint32_t instance)
{
	if (s->ndead == s->capdead) {
		size_t cap = s->capdead ? s->capdead * 2 : 64;
		uint32_t *n = realloc(s->dead, cap * sizeof(*n));

		if (!n)
			return; /* its records stay: only map room is lost */
		s->dead = n;
		s->capdead = cap;
	}
	s->dead[s->ndead++] = instance;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Deletes the records of ended images from a map whose keys begin with the
 * instance: their bytes already left the tree, and a worker pool that
 * keeps starting processes would otherwise fill the maps with the dead.
 * keep, if given, gets each record first (the code mappings, needed for
 * symbols at the report).  Batched: one syscall per few thousand records.
 */
static uint64_t sweep_map(int fd, size_t ksz, size_t vsz, const uint32_t *dead, size_t ndead,
			  void (*keep)(struct session *s, const void *key, const void *val),
			  struct session *s)
{
	uint64_t deleted = 0;
	enum { CHUNK = 4096 };
	char *keys = calloc(CHUNK, ksz), *vals = calloc(CHUNK, vsz), *del = calloc(CHUNK, ksz);
	__u32 batch = 0, ndel;
	void *in = NULL;
	int done = 0;

	while (keys && vals && del && !done) {
		__u32 n = CHUNK, i;
		int err = bpf_map_lookup_batch(fd, in, &batch, keys, vals, &n, NULL);

		if (err && errno != ENOENT)
			break;
		done = err != 0;
		in = &batch;
		for (i = 0, ndel = 0; i < n; i++) {
			if (!bsearch(keys + i * ksz, dead, ndead, sizeof(*dead), cmp_u32))
				continue;
			if (keep)
				keep(s, keys + i * ksz, vals + i * vsz);
			memcpy(del + ndel++ * ksz, keys + i * ksz, ksz);
		}
		for (i = 0; i < ndel; i++)
			deleted += !bpf_map_delete_elem(fd, del + i * ksz);
	}
	free(keys);
	free(vals);
	free(del);
	return deleted;
}

/* A code mapping of an ended image, kept here instead of in the kernel. */
static void vma_keep(struct session *s, const void *key, const void *val)
{
	struct collected_vma *v;

	if (s->nsaved_vmas == s->capsaved_vmas) {
		size_t cap = s->capsaved_vmas ? s->capsaved_vmas * 2 : 1024;

		v = realloc(s->saved_vmas, cap * sizeof(*v));
		if (!v)
			return; /* that image's frames lose their names, nothing else */
		s->saved_vmas = v;
		s->capsaved_vmas = cap;
	}
	v = &s->saved_vmas[s->nsaved_vmas++];
	memcpy(&v->key, key, sizeof(v->key));
	memcpy(&v->v, val, sizeof(v->v));
}

static void sweep_dead(struct session *s)
{
	if (!s->ndead)
		return;
	qsort(s->dead, s->ndead, sizeof(*s->dead), cmp_u32);
	for (size_t i = 0; i < s->skel->data->alloc_tables && i < PT_ALLOC_TABLES; i++) {
		uint64_t n = sweep_map(s->alloc_fd[i], sizeof(struct pt_alloc_key),
				       sizeof(struct pt_alloc), s->dead, s->ndead, NULL, s);

		/* the tables' fill, which decides when to add one */
		__atomic_fetch_sub(&s->skel->bss->alloc_live[i], n, __ATOMIC_SEQ_CST);
	}
	sweep_map(bpf_map__fd(s->skel->maps.regions), sizeof(struct pt_alloc_key),
		  sizeof(struct pt_region), s->dead, s->ndead, NULL, s);
	sweep_map(bpf_map__fd(s->skel->maps.vmas), sizeof(struct pt_vma_key), sizeof(struct pt_vma),
		  s->dead, s->ndead, vma_keep, s);
	for (size_t i = 0; i < s->ndead; i++)
		bpf_map_delete_elem(bpf_map__fd(s->skel->maps.proc_vmas), &s->dead[i]);
	s->ndead = 0;
}

/*
 * A process registered from userspace can die before BPF knew it (between
 * reading /proc and filling the map): no exit event will come.  Drop it.
 */
static void drop_vanished(struct session *s)
{
	size_t i;

	for (i = 0; i < s->procs.n; i++) {
		struct proc_info *pi = &s->procs.v[i];
		unsigned long flags;
		struct pt_tgid t;
		__u32 key = pi->tgid;
		char state = 0;

		if (pi->ended || !(pi->instance & USER_INSTANCE_BIT))
			continue;
		if (stat_state(pi->tgid, &state, &flags) >= 0 && state != 'Z' && state != 'X')
			continue;
		if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.tgids), &key, &t) == 0 &&
		    t.instance == pi->instance)
			bpf_map_delete_elem(bpf_map__fd(s->skel->maps.tgids), &key);
		pi->ended = 1;
		pi->end_ns = now_ns();
		s->maybe_empty = 1;
	}
}

/* Unwind tables for what pid exec'd, before its loader maps the libraries
 * (it runs meanwhile: its first frames there may be unwound by frame
 * pointers only). */
static void add_program_of(struct session *s, pid_t pid, const char *filename)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (access(path, R_OK) == 0)
		unwind__add_program(s->unwind, path);
	else if (filename[0])
		unwind__add_program(s->unwind, filename);
}

/* What pid exec'd (enum launch_exe_kind): through /proc while it lives,
 * else through the path it was exec'd by. */
static int exe_kind(pid_t pid, const char *filename)
{
	char path[64];
	int k;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	k = launch__exe_kind(path);
	return k != LAUNCH_EXE_UNKNOWN ? k : launch__exe_kind(filename);
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct session *s = ctx;
	struct proc_info *p;

	if (len < sizeof(struct pt_event))
		return 0;
	switch (((const struct pt_event *)data)->type) {
	case PT_EV_EXIT:
		s->maybe_empty = 1;
		dead_push(s, ((const struct pt_event *)data)->instance);
		proctable__apply(&s->procs, data);
		return 0;
	case PT_EV_VMA: {
		const struct pt_event *e = data;

		/* a fork child's mappings are its parent's files: known already
		 * (a worker pool of 12 000 children was rescanned 30 000 times) */
		if (!e->exe_ino || !symbolizer__knows(s->sym, e->exe_dev, e->exe_ino) ||
		    (s->unwind && !unwind__knows(s->unwind, e->exe_dev, e->exe_ino)))
			scan_process(s, e->tgid);
		return 0;
	}
	case PT_EV_EXEC:
		dead_push(s, ((const struct pt_event *)data)->prev_instance);
		p = proctable__apply(&s->procs, data);
		/* The executable now, while it surely lives; its libraries when
		 * the loader has mapped them (check_pending_libc). */
		if (p) {
			const struct pt_event *e = data;
			char name[PT_PATH_LEN + 1];

			snprintf(name, sizeof(name), "%.*s", PT_PATH_LEN, e->filename);
			symbolizer__add_exe(s->sym, p->tgid, e->exe_dev, e->exe_ino, name);
			if (s->unwind) {
				char cwd[64];

				add_program_of(s, p->tgid, name);
				/* without the exec gate, what this one will exec gets
				 * its tables early, if its command line names it */
				snprintf(cwd, sizeof(cwd), "/proc/%u/cwd", p->tgid);
				if (s->gate < 0)
					unwind__anticipate(s->unwind, e->argv, e->argv_len, cwd);
			}
			/* Decided now: a static program may be gone at the next look. */
			if (s->probes) {
				int kind = exe_kind(p->tgid, name);

				if (kind == LAUNCH_EXE_STATIC || kind == LAUNCH_EXE_FOREIGN)
					set_no_libc_note(s, p, kind);
			}
		}
		return 0;
	default:
		proctable__apply(&s->procs, data);
		return 0;
	}
}

/*
 * A traced process is exec'ing a file, held by the exec gate (execgate.h):
 * its unwind table and its libraries' are read now, before it runs, then
 * the gate lets it go on.
 */
static void gate_serve(struct session *s)
{
	struct execgate_request req;
	char path[64];
	ssize_t n;

	while ((n = recv(s->gate, &req, sizeof(req), MSG_DONTWAIT)) == sizeof(req)) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)probes__anchor(s->probes),
			 (int)req.fd);
		if (s->unwind)
			unwind__add_program(s->unwind, path);
		if (send(s->gate, "g", 1, MSG_DONTWAIT | MSG_NOSIGNAL) != 1)
			break;
	}
	if (n == 0) { /* the anchor has no fanotify: no gate */
		close(s->gate);
		s->gate = -1;
	}
}

/*
 * After exec the C library is mapped by the dynamic loader a moment later.
 * When it shows up: the same library's probes are already inherited; another
 * library gets its own set.  A static executable never maps one.
 */
static void check_pending_libc(struct session *s, uint64_t now)
{
	char err[512];
	size_t i;

	if (!s->probes)
		return;
	/* exec'd images are appended, and leave the pending state for good:
	 * the ones before the first pending entry need no look again */
	while (s->pending_from < s->procs.n &&
	       (s->procs.v[s->pending_from].libc_state != LIBC_PENDING ||
		s->procs.v[s->pending_from].ended))
		s->pending_from++;
	for (i = s->pending_from; i < s->procs.n; i++) {
		struct proc_info *pi = &s->procs.v[i];
		int set, st;

		if (pi->libc_state != LIBC_PENDING || pi->ended)
			continue;
		st = exe_kind(pi->tgid, "");
		if (st == LAUNCH_EXE_STATIC || st == LAUNCH_EXE_FOREIGN) {
			set_no_libc_note(s, pi, st);
			continue;
		}
		err[0] = 0;
		set = probes__libc_set(s->probes, pi->tgid, err, sizeof(err));
		if (set == -PROBES_GONE)
			continue;
		if (set == PROBES_ERROR) {
			pi->libc_state = LIBC_NONE;
			snprintf(pi->note, sizeof(pi->note), "probes failed: %.140s", err);
			warn(s, "pid %u (%s): %s", pi->tgid, pi->comm, pi->note);
			continue;
		}
		if (set < 0) {
			if (now - pi->pending_since_ns > LIBC_WAIT_NS)
				set_no_libc_note(s, pi, LAUNCH_EXE_DYNAMIC);
			continue;
		}
		if (!(pi->sets_mask & (1ULL << set))) {
			if (probes__attach_set(s->probes, set, pi->tgid, err, sizeof(err)) ==
			    PROBES_ERROR) {
				pi->libc_state = LIBC_NONE;
				snprintf(pi->note, sizeof(pi->note), "probes failed: %.140s", err);
				warn(s, "pid %u (%s): %s", pi->tgid, pi->comm, pi->note);
				continue;
			}
			pi->sets_mask |= 1ULL << set;
		}
		pi->libc_state = LIBC_PROBED;
		scan_process(s, pi->tgid);
	}
}

/*
 * Adds an allocation table twice the size of the newest once that one is
 * half full, up to --max-allocs in all.  Checked at every turn of the event
 * loop (at most 50 ms apart): filling the other half takes a traced
 * program far longer (a traced malloc costs over a microsecond).  Hash
 * maps made without preallocation take memory per live record, plus their
 * bucket array (16 bytes per entry of capacity).
 */
static void alloc_tables_grow(struct session *s)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	uint32_t n = s->skel->data->alloc_tables, cap, key = n;
	uint64_t room = s->o->max_allocs - s->alloc_cap_total;
	int fd;

	if (n >= PT_ALLOC_TABLES || !room ||
	    s->skel->bss->alloc_live[n - 1] < s->alloc_cap[n - 1] / 2)
		return;
	cap = 2 * (uint64_t)s->alloc_cap[n - 1] < room ? 2 * s->alloc_cap[n - 1] : (uint32_t)room;
	if (cap < 1024)
		cap = 1024;
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "alloc_table", sizeof(struct pt_alloc_key),
			    sizeof(struct pt_alloc), cap, &opts);
	if (fd < 0 || bpf_map_update_elem(bpf_map__fd(s->skel->maps.allocs), &key, &fd, BPF_ANY)) {
		warn(s, "cannot add an allocation table of %u entries (%s): allocations past "
		     "the current tables are counted as lost", cap, strerror(errno));
		if (fd >= 0)
			close(fd);
		s->alloc_cap_total = s->o->max_allocs; /* do not try again */
		return;
	}
	s->alloc_fd[n] = fd;
	s->alloc_cap[n] = cap;
	s->alloc_cap_total += cap;
	__atomic_store_n(&s->skel->data->alloc_tables, n + 1, __ATOMIC_SEQ_CST);
	if (s->o->verbose)
		fprintf(stderr, "peaktrace: allocation table %u added: %u entries\n", n, cap);
}

static int tree_empty(struct session *s)
{
	__u32 key;

	return bpf_map_get_next_key(bpf_map__fd(s->skel->maps.tgids), NULL, &key) != 0;
}

/*
 * The status line goes on stderr when it is a terminal, but not over the
 * command's own output: with -- CMD the command writes to the same
 * terminal, so only when asked (--status); with -p, by default.
 */
static int status_allowed(const struct session *s)
{
	return isatty(STDERR_FILENO) && (!s->o->argv || s->o->status);
}

static void status_line(struct session *s)
{
	struct pt_global g;
	char b1[32], b2[32], b3[32], b4[32];

	if (s->o->quiet || !status_allowed(s) || collect__read_global(&g, s->skel))
		return;
	fprintf(stderr, "\rpeaktrace: %zu process%s traced, heap %s (peak %s), RSS %s (peak %s)\033[K",
		proctable__alive(&s->procs), proctable__alive(&s->procs) == 1 ? "" : "es",
		report__bytes(g.live_bytes, b1, sizeof(b1)), report__bytes(g.peak_bytes, b2, sizeof(b2)),
		report__bytes(g.rss_live * sysconf(_SC_PAGESIZE), b3, sizeof(b3)),
		report__bytes(g.rss_peak * sysconf(_SC_PAGESIZE), b4, sizeof(b4)));
	s->status_shown = 1;
}

void session__run(struct session *s, volatile int *stop, pid_t launch_pid,
		  int *launch_status, int *launch_reaped)
{
	uint64_t deadline = s->o->duration > 0 ? s->t0_ns + (uint64_t)(s->o->duration * 1e9) : 0;
	uint64_t next_status = s->t0_ns + STATUS_PERIOD_NS, next_empty_check = 0, now;

	s->stopped_by = "exit";
	s->maybe_empty = 1;
	if (s->probes && !probes__swap_guarded())
		warn(s, "this kernel (before 6.12) refused PERF_SAMPLE_READ on inherited events: a "
		     "child may lose its probes (counted in probes_removed)");
	for (;;) {
		struct pollfd fds[2] = { { .fd = ring_buffer__epoll_fd(s->rb), .events = POLLIN },
					 { .fd = s->gate, .events = POLLIN } };
		int n;

		poll(fds, s->gate >= 0 ? 2 : 1, 50);
		if (s->gate >= 0 && (fds[1].revents & (POLLIN | POLLHUP)))
			gate_serve(s);
		n = ring_buffer__consume(s->rb);
		if (n < 0 && n != -EINTR) {
			warn(s, "reading process events failed: %s", strerror(-n));
			break;
		}
		now = now_ns();
		if (launch_pid && !*launch_reaped &&
		    waitpid(launch_pid, launch_status, WNOHANG) == launch_pid)
			*launch_reaped = 1;
		if (*stop) {
			s->stopped_by = "signal";
			break;
		}
		if (deadline && now >= deadline) {
			s->stopped_by = "duration";
			break;
		}
		check_pending_libc(s, now);
		alloc_tables_grow(s);
		/* the tree can only empty after an exit (seen, or dropped), and
		 * finding out walks the process map's buckets: at every exit of
		 * a churning tree that cost a fifth of a core, so at most every
		 * 10 ms */
		if (s->maybe_empty && now >= next_empty_check) {
			s->maybe_empty = 0;
			next_empty_check = now + EMPTY_CHECK_NS;
			if (tree_empty(s)) {
				ring_buffer__consume(s->rb);
				break;
			}
		}
		if (now >= next_status) {
			s->maybe_empty = 1; /* also when an exit event was lost */
			drop_vanished(s);
			sweep_dead(s);
			status_line(s);
			next_status = now + STATUS_PERIOD_NS;
		}
	}
	s->t_end_ns = now_ns();
	/* execs from now on go on without waiting for tables */
	if (s->gate >= 0)
		close(s->gate);
	s->gate = -1;
	if (s->status_shown)
		fprintf(stderr, "\r\033[K");
}

/* --- the report -------------------------------------------------------------- */

/*
 * How far the approximate RSS may lag the exact one: each CPU keeps up to
 * percpu_counter_batch - 1 pages per counter before folding them into the
 * count, the batch is max(32, 2 * online CPUs) (lib/percpu_counter.c,
 * compute_batch_value), and RSS is three counters (file, anon, shmem).
 */
static uint64_t drift_bound_pages(void)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	long batch = online * 2 > 32 ? online * 2 : 32;

	return 3 * (uint64_t)(batch - 1) * (uint64_t)(online > 0 ? online : 1);
}

struct frames_ctx {
	struct session *s;
	int stacks_fd;
};

static int frames_of(void *ctx, uint32_t instance, uint64_t stack_id, struct report_stack *out)
{
	struct frames_ctx *fc = ctx;
	struct pt_stack st;
	__u64 key = stack_id;
	size_t i;

	if (bpf_map_lookup_elem(fc->stacks_fd, &key, &st) || st.nr > PT_MAX_STACK_DEPTH)
		return -1;
	out->truncated = !!(st.flags & PT_STACK_TRUNCATED);
	out->partial = !!(st.flags & PT_STACK_PARTIAL);
	/* room for a few inlined frames per address */
	out->frames = calloc(st.nr * 4 + 1, sizeof(*out->frames));
	if (!out->frames)
		return -1;
	/* Stacks are taken in return probes: every frame is a return address. */
	for (i = 0; i < st.nr; i++)
		out->nframes += symbolizer__frames(fc->s->sym, &fc->s->collected, instance, st.ips[i],
						   1, &out->frames[out->nframes],
						   st.nr * 4 + 1 - out->nframes - (st.nr - 1 - i));
	return 0;
}

int session__report(struct session *s, FILE *json, char *err, size_t errlen)
{
	struct frames_ctx fc = { .s = s, .stacks_fd = bpf_map__fd(s->skel->maps.stacks) };
	struct report *r = &s->report;
	size_t i;

	/* Last look at live processes' files, then stop the probes: the maps
	 * no longer change while they are read. */
	for (i = 0; i < s->procs.n; i++)
		if (!s->procs.v[i].ended)
			symbolizer__scan_process(s->sym, s->procs.v[i].tgid);
	if (s->probes)
		probes__stop_targets(s->probes);
	ring_buffer__consume(s->rb);
	if (collect__read(&s->collected, s->skel, err, errlen))
		return -1;
	if (collect__add_vmas(&s->collected, s->saved_vmas, s->nsaved_vmas)) {
		snprintf(err, errlen, "out of memory building the report");
		return -1;
	}
	r->rss_only = s->o->rss_only;
	r->show_drift = s->o->drift;
	r->rss.drift_bound_bytes = drift_bound_pages() * sysconf(_SC_PAGESIZE);
	if (model__build(r, &s->collected, &s->procs, s->o->top, s->t0_ns, sysconf(_SC_PAGESIZE),
			 frames_of, &fc)) {
		snprintf(err, errlen, "out of memory building the report");
		return -1;
	}
	r->duration_ns = (s->t_end_ns ? s->t_end_ns : now_ns()) - s->t0_ns;
	r->stopped_by = s->stopped_by;
	if (!s->o->quiet)
		report__write_text(r, stderr, s->o->top);
	if (json && report__write_json(r, json)) {
		snprintf(err, errlen, "writing the JSON report to %s failed: %s", s->o->json_path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

void session__finish(struct session *s)
{
	pid_t pid, parent;
	int fd;

	if (!s)
		return;
	fflush(NULL);
	/*
	 * Unregistering the probes takes ~0.1 s each (RCU grace periods, under
	 * a kernel mutex, so they cannot overlap): over 2 s in all.  The report
	 * is out and the traced tasks no longer carry events, so a detached
	 * child does the rest while the caller gets its exit status now.
	 */
	parent = getpid();
	pid = fork();
	if (pid == 0) {
		/*
		 * The parent's copies of the perf event descriptors must go first:
		 * whoever drops the last reference does the slow teardown, and
		 * the tracefs events can be removed only after it.  pidfd polls
		 * readable once the parent has exited, its files closed.
		 */
		int pfd = syscall(SYS_pidfd_open, parent, 0);

		if (pfd >= 0) {
			struct pollfd p = { .fd = pfd, .events = POLLIN };

			poll(&p, 1, 10000);
			close(pfd);
		}
		setsid();
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		prctl(PR_SET_NAME, "peaktrace-detach");
		s->probe_linger_s = PROBE_LINGER_S;
		session__free(s);
		_exit(0);
	}
	if (pid < 0)
		session__free(s);
	/* The parent exits without closing: its copies of the descriptors
	 * are not the last ones, the child's are. */
}

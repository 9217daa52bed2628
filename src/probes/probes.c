// SPDX-License-Identifier: GPL-2.0
/*
 * Attaching the allocator probes so that only traced processes pay.
 *
 * A uprobe attached for all processes writes its breakpoint into every
 * process mapping the library, and each of them traps on every call even
 * when the BPF program ignores it.  A perf event bound to one task installs
 * the breakpoint only in that task's address space.  To follow children
 * without a gap, the events are opened with attr.inherit: the kernel copies
 * them into every thread and child in copy_process(), before the child
 * runs, and the child's address space already holds the breakpoints
 * (dup_mmap copies them).  No stop, no signal, nothing the target can see.
 *
 * Two kernel details shape the code:
 * - Only tracepoint-type perf events can be inherited here: the uprobe PMU
 *   re-reads the probe's path from the opener's memory for each child.  So
 *   the probes are tracefs uprobe events (src/probes/tracefs.c).
 * - The BPF program of such an event lives on the tracepoint, shared by all
 *   its perf events, and an inherited copy that carries the program removes
 *   it from the tracepoint when the child exits (measured: every count
 *   stopped after the first child exited).  So the program is attached to
 *   one non-inherited "anchor" event on a helper process that never calls
 *   the library, and the inherited events on traced tasks carry none.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "files/elfsym.h"
#include "run/execgate.h"
#include "peaktrace.h"
#include "probes/placement.h"
#include "probes/probes.h"
#include "files/procmaps.h"
#include "probes/tracefs.h"
#include "probes/turns.h"
#include "util/ldpreload.h"
#include "util/readfile.h"
#include "util/vec.h"

#define CODE_BYTES 64
#define MAX_PROBES (2 * PT_FN_COUNT)

struct probe_fn {
	const char *name;
	enum pt_func fn;
	uint32_t args;		/* argument registers the BPF side reads */
	int needs_return;
	int after_syscall;	/* try the one-probe syscall-wrapper placement */
	int null_noop;		/* a NULL first argument does nothing: probe past that test */
	int covered;		/* the preload library's sites count it where it is loaded */
};

static const struct probe_fn probe_fns[] = {
	{ "malloc", PT_FN_MALLOC, ARG1, 1, 0, 0, 1 },
	{ "calloc", PT_FN_CALLOC, ARG1 | ARG2, 1, 0, 0, 1 },
	{ "realloc", PT_FN_REALLOC, ARG1 | ARG2, 1, 0, 0, 1 },
	{ "reallocarray", PT_FN_REALLOCARRAY, ARG1 | ARG2 | ARG3, 1, 0, 0, 1 },
	{ "free", PT_FN_FREE, ARG1, 0, 0, 1, 1 },
	{ "posix_memalign", PT_FN_POSIX_MEMALIGN, ARG1 | ARG3, 1, 0, 0, 0 },
	{ "aligned_alloc", PT_FN_MEMALIGN, ARG1 | ARG2, 1, 0, 0, 0 },
	{ "memalign", PT_FN_MEMALIGN, ARG1 | ARG2, 1, 0, 0, 0 },
	{ "valloc", PT_FN_VALLOC, ARG1, 1, 0, 0, 0 },
	{ "pvalloc", PT_FN_PVALLOC, ARG1, 1, 0, 0, 0 },
	/* mmap keeps a return probe: its stack must be taken in the caller,
	 * and an entry-side stack of a frameless wrapper misses the caller. */
	{ "mmap", PT_FN_MMAP, ARG2 | ARG3 | ARG4, 1, 0, 0, 0 },
	{ "munmap", PT_FN_MUNMAP, ARG1 | ARG2, 0, 1, 0, 0 },
	{ "mremap", PT_FN_MREMAP, ARG1 | ARG2 | ARG3 | ARG4, 1, 0, 0, 0 },
};

/* The sites of peaktrace-preload.so (src/preload/sites.S): arguments and
 * result at once, no return probe. */
static const struct probe_fn preload_fns[] = {
	{ "pt_site_malloc", PT_FN_MALLOC, ARG1, 0, 0, 0, 1 },
	{ "pt_site_calloc", PT_FN_CALLOC, ARG1 | ARG2, 0, 0, 0, 1 },
	{ "pt_site_realloc", PT_FN_REALLOC, ARG1 | ARG2, 0, 0, 0, 1 },
	{ "pt_site_free", PT_FN_FREE, ARG1, 0, 0, 0, 1 },
	/* the ledger's call to have the model's queue applied: a free of NULL */
	{ "pt_site_drain", PT_FN_FREE, ARG1, 0, 0, 0, 1 },
	/* not a call: the library asks for glibc's own probes */
	{ "pt_site_uncover", PT_FN_UNCOVER, ARG1, 0, 0, 0, 1 },
};

/*
 * What a set probes.  With --no-preload, a C library's set is all of
 * probe_fns.  With it, glibc's (a library exporting __libc_malloc, which
 * the preload library calls) is split: the functions the preload sites
 * do not cover, on every traced process, and the covered ones, only on
 * processes whose malloc is not the preload library's (it is not first in
 * their LD_PRELOAD: their environment lost it, a library of the user's
 * comes first, a set-user-ID program); and the preload library has its own.
 */
enum set_kind { SET_ALL, SET_UNCOVERED, SET_COVERED, SET_PRELOAD };

struct probe {
	const char *fn_name;
	uint64_t offset;	/* file offset of the probed instruction */
	uint64_t cookie;
	int is_return;
	int tp_id;
	int anchor_fd;
	struct bpf_link *link;
	struct placement where;
};

struct probe_set {
	uint64_t dev, ino;
	enum set_kind kind;
	char path[4200];	/* as peaktrace can open it */
	struct probe probes[MAX_PROBES];
	int n;
	/* tids that already carry this set's events */
	pid_t *tids;
	size_t ntids, captids;
};

struct probes {
	struct bpf_program *prog;	/* every probe's, entry and return */
	int linked;		/* prog is loaded: probes are attached to it when defined */
	int libc_files_fd;
	struct tracefs *tfs;
	pid_t anchor;
	struct probe_set **sets;
	size_t nsets;
	/* With the preload library: its library (path empty without), whose set is defined */
	uint64_t preload_dev, preload_ino;
	char preload_path[4096];
	int *fds;
	size_t nfds, capfds;
};

/*
 * Inherited events ask for PERF_SAMPLE_READ (with PERF_SAMPLE_TID, which
 * the kernel requires beside it): a context holding such events is never
 * swapped with a clone's at a context switch.  Without that, a parent and
 * the child that inherited its events could trade contexts; when one of
 * them exits it frees the events targeting the other, and the uprobe
 * filter then removes the other's breakpoints while it runs.  Measured: 4
 * branch processes forking 50 leaves each, 146 of 200 leaves counted
 * nothing; with this, none.  Kernels before 6.12 refuse the combination
 * (EINVAL): the events are then opened without it, and the exit check in
 * bpf/ counts any process that loses its probes.
 */
static int swap_guard = 1;

static int perf_tp_open(int tp_id, pid_t pid, int inherit)
{
	struct perf_event_attr a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_TRACEPOINT;
	a.size = sizeof(a);
	a.config = tp_id;
	a.sample_period = 1;
	a.inherit = inherit;
	if (inherit && swap_guard)
		a.sample_type = PERF_SAMPLE_READ | PERF_SAMPLE_TID;
	fd = syscall(SYS_perf_event_open, &a, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0 && errno == EINVAL && inherit && swap_guard) {
		swap_guard = 0;
		return perf_tp_open(tp_id, pid, inherit);
	}
	return fd;
}

pid_t probes__anchor(const struct probes *pr)
{
	return pr ? pr->anchor : -1;
}

int probes__swap_guarded(void)
{
	return swap_guard;
}

/* A helper process that holds the perf events the BPF programs are
 * attached to, and serves the exec gate (src/run/execgate.h); it dies with
 * peaktrace. */
static pid_t anchor_start(int tgids_fd, const struct procrecs *procs, int gate_sock,
			  const char *preload)
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		prctl(PR_SET_NAME, "peaktrace-anchr");
		execgate__serve(tgids_fd, procs, gate_sock, preload);
	}
	return pid;
}

struct probes *probes__new(struct bpf_program *prog, int libc_files_fd, int tgids_fd,
			   const struct procrecs *procs, int gate_sock, const char *preload,
			   char *err, size_t errlen)
{
	struct probes *pr = calloc(1, sizeof(*pr));

	if (!pr) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pr->prog = prog;
	pr->libc_files_fd = libc_files_fd;
	pr->tfs = tracefs__open(err, errlen);
	if (!pr->tfs) {
		free(pr);
		return NULL;
	}
	pr->anchor = anchor_start(tgids_fd, procs, gate_sock, preload);
	if (pr->anchor < 0) {
		snprintf(err, errlen, "cannot start the anchor process: %s", strerror(errno));
		probes__free(pr, 0);
		return NULL;
	}
	return pr;
}

static void *close_one(void *arg)
{
	close(*(int *)arg);
	return NULL;
}

/*
 * The traced tasks' events: closing one takes the kernel's event mutex
 * and rewrites that task's breakpoints, a wait each; from threads at once,
 * the waits overlap.  (They are never a uprobe's last events: the anchor
 * events hold them until sets_free.)
 */
static void fds_release(int *fds, size_t n)
{
	pthread_t *t = calloc(n ? n : 1, sizeof(*t));
	char *started = calloc(n ? n : 1, 1);
	size_t i;

	for (i = 0; i < n; i++) {
		if (t && started && !pthread_create(&t[i], NULL, close_one, &fds[i]))
			started[i] = 1;
		else
			close(fds[i]);
	}
	for (i = 0; i < n; i++)
		if (started && started[i])
			pthread_join(t[i], NULL);
	free(t);
	free(started);
}

/* The BPF programs leave the probes first (fast: the anchor events still
 * hold the uprobes); the anchor events, whose closing may unregister the
 * uprobes (slow), after linger_s seconds, one per turn (probes/turns.h). */
static void sets_free(struct probe_set **sets, size_t nsets, unsigned linger_s)
{
	size_t i;
	int j, turn, turns = linger_s > 0;

	for (i = 0; i < nsets; i++)
		for (j = 0; j < sets[i]->n; j++) {
			bpf_link__destroy(sets[i]->probes[j].link);
			sets[i]->probes[j].link = NULL;
		}
	if (linger_s)
		sleep(linger_s);
	for (i = 0; i < nsets; i++) {
		for (j = 0; j < sets[i]->n; j++) {
			struct probe *p = &sets[i]->probes[j];

			if (p->anchor_fd < 0)
				continue;
			turn = turns ? turn_begin() : -1;
			/* none to be had (a run stopped holding it): on
			 * without, not 2 s per probe */
			turns = turn >= 0;
			close(p->anchor_fd);
			turn_end(turn);
			/* a starting run waiting for a turn gets it now */
			if (turn >= 0)
				usleep(TURN_GAP_US);
		}
		free(sets[i]->tids);
		free(sets[i]);
	}
}

static void set_free(struct probe_set *s)
{
	sets_free(&s, 1, 0);
}

void probes__stop_targets(struct probes *pr)
{
	fds_release(pr->fds, pr->nfds);
	pr->nfds = 0;
}

void probes__free(struct probes *pr, unsigned linger_s)
{
	if (!pr)
		return;
	probes__stop_targets(pr);
	if (pr->anchor > 0) {
		kill(pr->anchor, SIGKILL);
		waitpid(pr->anchor, NULL, 0);
	}
	/*
	 * Closing the last perf event on a definition unregisters its uprobe,
	 * which waits for RCU under the kernel's global event mutex: 0.1 s per
	 * probe here, 4 s for all.  Keeping the events open a while lets a run
	 * that starts meanwhile (a script running peaktrace once per case)
	 * find the uprobes registered and attach at once; its own teardown
	 * then does the same, and only the last one pays, one probe per turn
	 * (probes/turns.h), so that a run starting then waits for one probe,
	 * not all.
	 */
	sets_free(pr->sets, pr->nsets, linger_s);
	free(pr->sets);
	free(pr->fds);
	if (linger_s) {
		int turn = turn_begin();

		tracefs__remove_unused(pr->tfs);
		turn_end(turn);
	}
	tracefs__free(pr->tfs);
	free(pr);
}

/* The uprobe's name in tracefs: what it probes, so that runs share it
 * (src/probes/tracefs.c). */
static void probe_name(const struct probe_set *s, const struct probe *p, char *name, size_t len)
{
	snprintf(name, len, "%s_%c_%llx_%llx_%llx", p->fn_name, p->is_return ? 'r' : 'e',
		 (unsigned long long)s->dev, (unsigned long long)s->ino,
		 (unsigned long long)p->offset);
}

/* Attaches the program to probe p of set s (its event open); on failure
 * its event is closed. */
static int probe_link(struct probes *pr, const struct probe_set *s, struct probe *p, char *err,
		      size_t errlen)
{
	LIBBPF_OPTS(bpf_perf_event_opts, opts);
	char name[64];
	int link_fd;

	probe_name(s, p, name, sizeof(name));

	opts.bpf_cookie = p->cookie;
	/* The link owns (and closes at its destruction) a descriptor of its
	 * own: the anchor's stays open until the teardown's linger is over,
	 * so that destroying the link does not unregister the uprobe. */
	link_fd = fcntl(p->anchor_fd, F_DUPFD_CLOEXEC, 0);
	p->link = link_fd < 0 ? NULL :
		  bpf_program__attach_perf_event_opts(pr->prog, link_fd, &opts);
	if (!p->link) {
		snprintf(err, errlen, "cannot attach BPF program to uprobe %s: %s", name,
			 strerror(errno));
		if (link_fd >= 0)
			close(link_fd);
		close(p->anchor_fd);
		p->anchor_fd = -1;
		return -1;
	}
	return 0;
}

/* A failure is the run's, whichever set it is in: the same program on
 * the same kind of event would fail on every set (a library whose events
 * cannot be defined is still left out when it is defined, lib_add). */
int probes__link(struct probes *pr, char *err, size_t errlen)
{
	size_t i;
	int j;

	pr->linked = 1;
	for (i = 0; i < pr->nsets; i++)
		for (j = 0; j < pr->sets[i]->n; j++)
			if (!pr->sets[i]->probes[j].link &&
			    probe_link(pr, pr->sets[i], &pr->sets[i]->probes[j], err, errlen))
				return -1;
	return 0;
}

static int probe_define(struct probes *pr, struct probe_set *s, const struct probe_fn *f,
			uint64_t offset, const struct placement *where, int is_return,
			char *err, size_t errlen)
{
	struct probe *p = &s->probes[s->n];
	char name[64];
	int tries;

	if (s->n >= MAX_PROBES) {
		snprintf(err, errlen, "too many probes for %s", s->path);
		return -1;
	}
	memset(p, 0, sizeof(*p));
	p->anchor_fd = -1;
	p->fn_name = f->name;
	p->offset = offset;
	p->is_return = is_return;
	p->where = *where;
	p->cookie = f->fn | (is_return ? PT_COOKIE_RETURN : where->cookie_flags) |
		    (s->kind == SET_COVERED ? PT_COOKIE_COVERED : 0);
	probe_name(s, p, name, sizeof(name));
	/* a definition found unused may be removed by another run's teardown
	 * before this run's event holds it: then it is made again */
	for (tries = 0; tries < 3; tries++) {
		p->tp_id = tracefs__add_uprobe(pr->tfs, is_return, s->path, offset, name, err, errlen);
		if (p->tp_id < 0)
			return -1;
		p->anchor_fd = perf_tp_open(p->tp_id, pr->anchor, 0);
		if (p->anchor_fd >= 0 || (errno != EINVAL && errno != ENOENT))
			break;
	}
	if (p->anchor_fd < 0) {
		snprintf(err, errlen, "perf_event_open on uprobe %s failed: %s", name, strerror(errno));
		return -1;
	}
	if (pr->linked && probe_link(pr, s, p, err, errlen))
		return -1;
	s->n++;
	return 0;
}

/* A preload site: the symbol's own address, no decoding (sites.S says
 * what each holds). */
static void preload_site(const struct probe_fn *f, struct placement *where)
{
	memset(where, 0, sizeof(*where));
	where->cookie_flags = PT_COOKIE_DONE;
	where->why = f->fn == PT_FN_FREE ? "peaktrace-preload.so: before the call, past the NULL test" :
					   "peaktrace-preload.so: after the call, arguments and result at once";
}

static struct probe_set *set_create(struct probes *pr, const char *path, uint64_t dev,
				    uint64_t ino, enum set_kind kind, char *err, size_t errlen)
{
	struct probe_set *s = calloc(1, sizeof(*s));
	const struct probe_fn *fns = kind == SET_PRELOAD ? preload_fns : probe_fns;
	size_t nfns = kind == SET_PRELOAD ? sizeof(preload_fns) / sizeof(preload_fns[0]) :
					    sizeof(probe_fns) / sizeof(probe_fns[0]);
	uint64_t starts[PT_FN_COUNT + 4];
	int j, nstarts = 0, turn;
	struct elfsym *e;
	size_t i;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->dev = dev;
	s->ino = ino;
	s->kind = kind;
	snprintf(s->path, sizeof(s->path), "%s", path);
	e = elfsym__open(path, err, errlen);
	if (!e) {
		free(s);
		return NULL;
	}
	turn = turn_begin();
	for (i = 0; i < nfns; i++) {
		const struct probe_fn *f = &fns[i];
		uint8_t code[CODE_BYTES];
		struct placement where;
		uint64_t off;
		int len, dup = 0;

		if ((kind == SET_UNCOVERED && f->covered) || (kind == SET_COVERED && !f->covered))
			continue;
		len = elfsym__function(e, f->name, &off, code, sizeof(code));
		if (len <= 0)
			continue; /* this libc lacks it (reallocarray before 2.26) */
		for (j = 0; j < nstarts; j++)
			dup |= starts[j] == off;
		if (dup)
			continue; /* an alias (aligned_alloc = memalign) */
		starts[nstarts++] = off;
		if (kind == SET_PRELOAD)
			preload_site(f, &where);
		else if ((!f->after_syscall ||
			  placement__after_syscall(code, len, f->args, &where)) &&
			 (!f->null_noop || placement__past_null_test(code, len, f->args, &where)))
			placement__entry(code, len, f->args, f->needs_return, &where);
		/* The return event first: an entry seen without its return
		 * would leave the thread's nesting depth stuck above zero. */
		if (f->needs_return &&
		    probe_define(pr, s, f, off + where.offset, &where, 1, err, errlen))
			goto fail;
		if (probe_define(pr, s, f, off + where.offset, &where, 0, err, errlen))
			goto fail;
	}
	elfsym__free(e);
	turn_end(turn);
	if (kind == SET_UNCOVERED)
		return s;
	for (j = 0; j < s->n; j++)
		if (!strcmp(s->probes[j].fn_name, fns[0].name))
			return s;
	snprintf(err, errlen, "%s exports no %s: %s", path, fns[0].name,
		 kind == SET_PRELOAD ? "not peaktrace's preload library (rebuild: make)" :
				       "not a C library peaktrace can probe");
	set_free(s);
	return NULL;
fail:
	elfsym__free(e);
	set_free(s);	/* within the turn: it may unregister uprobes */
	turn_end(turn);
	return NULL;
}

struct libc_find {
	struct procmap m;
	int found;
};

/*
 * The C library counts as mapped once its code is: the dynamic loader maps
 * a library's first (read-only) segment, then its code a moment later.
 * What is done once the C library is there (the Python scan, which needs
 * glibc's code mapping to know its thread-specific data layout, and the
 * maps read for symbols and unwinding) would otherwise see a C library
 * without code, and no later event says to look again: that made a Python
 * child's frames missing in about one run in ten of test_python.py.
 */
static int find_libc(const struct procmap *m, void *arg)
{
	struct libc_find *lf = arg;

	if (m->path[0] != '/' || !strchr(m->perms, 'x') || !procmap__is_libc(m->path))
		return 0;
	lf->m = *m;
	lf->found = 1;
	return 1;
}

static int set_index(struct probes *pr, struct probe_set *s);

/* The index of file (dev, ino)'s set of that kind, or -1. */
static int set_find(const struct probes *pr, uint64_t dev, uint64_t ino, enum set_kind kind)
{
	size_t i;

	for (i = 0; i < pr->nsets; i++)
		if (pr->sets[i]->dev == dev && pr->sets[i]->ino == ino && pr->sets[i]->kind == kind)
			return (int)i;
	return -1;
}

static struct probe_set *set_add(struct probes *pr, const char *path, uint64_t dev,
				 uint64_t ino, enum set_kind kind, char *err, size_t errlen)
{
	struct pt_cfi_module_key key = { .dev = dev, .ino = ino };
	__u32 what = kind == SET_PRELOAD ? PT_FILE_PRELOAD : PT_FILE_LIBC;
	int found = set_find(pr, dev, ino, kind);
	struct probe_set *s, **ns;

	if (found >= 0)
		return pr->sets[found];
	if (pr->nsets >= 64) {
		snprintf(err, errlen, "more than 64 probe sets (distinct C libraries, glibc's "
			 "counted three times with the preload library) in the traced tree");
		return NULL;
	}
	s = set_create(pr, path, dev, ino, kind, err, errlen);
	if (!s)
		return NULL;
	ns = realloc(pr->sets, (pr->nsets + 1) * sizeof(*ns));
	if (!ns) {
		set_free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pr->sets = ns;
	pr->sets[pr->nsets++] = s;
	/* BPF tells the library's own calls from the program's by this file,
	 * and the preload library's calls into the C library by its */
	bpf_map_update_elem(pr->libc_files_fd, &key, &what, BPF_ANY);
	return s;
}

/* A C library's set (with the preload library, glibc's uncovered part, its covered
 * part defined too, ready for a process without the preload library). */
static struct probe_set *lib_add(struct probes *pr, const char *path, uint64_t dev,
				 uint64_t ino, char *err, size_t errlen)
{
	int found = set_find(pr, dev, ino, SET_ALL);

	if (found < 0)
		found = set_find(pr, dev, ino, SET_UNCOVERED);
	if (found >= 0)
		return pr->sets[found];
	if (!pr->preload_path[0] || elfsym__defines(path, "__libc_malloc") <= 0)
		return set_add(pr, path, dev, ino, SET_ALL, err, errlen);
	if (!set_add(pr, path, dev, ino, SET_COVERED, err, errlen))
		return NULL;
	return set_add(pr, path, dev, ino, SET_UNCOVERED, err, errlen);
}

static struct probe_set *set_for(struct probes *pr, pid_t pid, const struct procmap *m,
				 char *err, size_t errlen)
{
	char path[4200];

	/* The plain path if it is the same file from here (it outlives the
	 * process), else the mapping itself (a container's libc): never a
	 * name resolved in the process's root, where it may plant a symlink. */
	if (procmap__same_file(m->path, m->dev, m->ino))
		snprintf(path, sizeof(path), "%s", m->path);
	else
		snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid,
			 (unsigned long long)m->start, (unsigned long long)m->end);
	return lib_add(pr, path, m->dev, m->ino, err, errlen);
}

int probes__add_library(struct probes *pr, const char *path, char *err, size_t errlen)
{
	struct probe_set *s;
	struct stat st;

	if (stat(path, &st)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return PROBES_ERROR;
	}
	s = lib_add(pr, path, procmap__kernel_dev(st.st_dev), st.st_ino, err, errlen);
	return s ? set_index(pr, s) : PROBES_ERROR;
}

static int fds_push(struct probes *pr, int fd)
{
	if (vec_grow((void **)&pr->fds, &pr->capfds, pr->nfds + 1, sizeof(*pr->fds), 256))
		return -1;
	pr->fds[pr->nfds++] = fd;
	return 0;
}

static int set_has_tid(struct probe_set *s, pid_t tid)
{
	size_t i;

	for (i = 0; i < s->ntids; i++)
		if (s->tids[i] == tid)
			return 1;
	return 0;
}

/* Returns 0, 1 if the thread is gone, -1 on error. */
static int attach_thread(struct probes *pr, struct probe_set *s, pid_t tid,
			 char *err, size_t errlen)
{
	int i, fd;

	if (set_has_tid(s, tid))
		return 0;
	for (i = 0; i < s->n; i++) {
		fd = perf_tp_open(s->probes[i].tp_id, tid, 1);
		if (fd < 0) {
			if (errno == ESRCH)
				return 1;
			snprintf(err, errlen, "perf_event_open on thread %d failed: %s%s", (int)tid,
				 strerror(errno),
				 errno == EMFILE ? " (raise the open file limit: ulimit -n)" : "");
			return -1;
		}
		if (fds_push(pr, fd)) {
			close(fd);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (vec_grow((void **)&s->tids, &s->captids, s->ntids + 1, sizeof(*s->tids), 64)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->tids[s->ntids++] = tid;
	return 0;
}

/* Attaches every thread, rescanning until no new thread appears (threads
 * started by a thread not yet attached did not inherit the events). */
static enum probes_result attach_threads(struct probes *pr, struct probe_set *s, pid_t pid,
					 char *err, size_t errlen)
{
	size_t fds_before = pr->nfds, tids_before = s->ntids;
	char dir[64];
	int added, rounds = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	do {
		struct dirent *de;
		DIR *d = opendir(dir);

		if (!d)
			return PROBES_GONE;
		added = 0;
		while ((de = readdir(d))) {
			pid_t tid = atoi(de->d_name);
			int r;

			if (tid <= 0 || set_has_tid(s, tid))
				continue;
			r = attach_thread(pr, s, tid, err, errlen);
			if (r < 0) {
				/* all of this process's events or none: half a set
				 * (an entry probe without its return) would count
				 * wrong, so it is reported as not traced instead */
				closedir(d);
				fds_release(pr->fds + fds_before, pr->nfds - fds_before);
				pr->nfds = fds_before;
				s->ntids = tids_before;
				return PROBES_ERROR;
			}
			added += r == 0;
		}
		closedir(d);
	} while (added && ++rounds < 100);
	return PROBES_ATTACHED;
}

static int set_index(struct probes *pr, struct probe_set *s)
{
	size_t i;

	for (i = 0; i < pr->nsets; i++)
		if (pr->sets[i] == s)
			return (int)i;
	return PROBES_ERROR;
}

int probes__libc_set(struct probes *pr, pid_t pid, char *err, size_t errlen)
{
	struct libc_find lf = { .found = 0 };
	struct probe_set *s;

	if (procmap__each(pid, find_libc, &lf) < 0) {
		if (errno == ENOENT || errno == ESRCH)
			return -PROBES_GONE;
		snprintf(err, errlen, "cannot read /proc/%d/maps: %s", (int)pid, strerror(errno));
		return PROBES_ERROR;
	}
	if (!lf.found)
		return -PROBES_NO_LIBC;
	s = set_for(pr, pid, &lf.m, err, errlen);
	return s ? set_index(pr, s) : PROBES_ERROR;
}

enum probes_result probes__attach_set(struct probes *pr, int set, pid_t pid,
				      char *err, size_t errlen)
{
	if (set < 0 || (size_t)set >= pr->nsets)
		return PROBES_ERROR;
	return attach_threads(pr, pr->sets[set], pid, err, errlen);
}

int probes__preload(struct probes *pr, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st)) {
		snprintf(err, errlen, "%s: %s (build it: make)", path, strerror(errno));
		return PROBES_ERROR;
	}
	pr->preload_dev = procmap__kernel_dev(st.st_dev);
	pr->preload_ino = st.st_ino;
	if (!set_add(pr, path, pr->preload_dev, pr->preload_ino, SET_PRELOAD, err, errlen))
		return PROBES_ERROR;
	snprintf(pr->preload_path, sizeof(pr->preload_path), "%s", path);
	return 0;
}

const char *probes__preload_path(const struct probes *pr)
{
	return pr->preload_path[0] ? pr->preload_path : NULL;
}

static int is_preload(const struct procmap *m, void *arg)
{
	const struct probes *pr = arg;

	return m->dev == pr->preload_dev && m->ino == pr->preload_ino;
}

struct preload_word {
	const struct probes *pr;
	uint64_t addr;
};

static int is_preload_data(const struct procmap *m, void *arg)
{
	const struct preload_word *w = arg;

	return is_preload(m, (void *)w->pr) && m->perms[1] == 'w' && w->addr >= m->start &&
	       w->addr + sizeof(int) <= m->end;
}

int probes__preload_word(struct probes *pr, pid_t pid, uint64_t addr)
{
	struct preload_word w = { pr, addr };

	return pr->preload_path[0] && procmap__each(pid, is_preload_data, &w) > 0;
}

/* Whether pid is gone or a zombie (its memory gone with it). */
static int ended(pid_t pid)
{
	char buf[512];
	const char *p = read_proc_stat(pid, buf, sizeof(buf));

	return !p || p[0] != ' ' || p[1] == 'Z' || p[1] == 'X';
}

/* Whether the first library in pid's LD_PRELOAD (as its loader read it at
 * exec: the initial environment, the last of the variable's entries) is
 * the preload library: its malloc is then the process's.  Unreadable,
 * longer than 256 KiB, or with LD_AUDIT set: no.  -1 if it could not be
 * told (the process ending meanwhile). */
static int preload_first(const struct probes *pr, pid_t pid)
{
	enum { MAX = 256 << 10 };
	char path[64], *buf = malloc(MAX + 1);
	const char *last = NULL;
	int n, i, first, audited = 0;
	size_t at;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	n = buf ? read_file(path, buf, MAX) : -1;
	if (n > 0)
		buf[n] = 0;	/* a cut last entry ends here */
	for (i = 0; n > 0 && i < n; i += strlen(buf + i) + 1) {
		if ((at = ldpreload__entry(buf + i, strlen(buf + i))))
			last = buf + i + at;
		audited |= ldpreload__audited(buf + i, strlen(buf + i));
	}
	/* the last entry is the loader's: an environment read in part (a
	 * later one may follow) is not told */
	first = last && n < MAX && !audited ? ldpreload__first_is(pid, last, pr->preload_path) : 0;
	free(buf);
	/* nothing read: a process that has ended (a zombie's environment
	 * reads empty) is not told, rather than taken for one without */
	if (n <= 0 && ended(pid))
		return -1;
	return first;
}

/* Whether set is a C library's part the preload library's sites do not
 * cover (a set of that kind exists only with the preload library). */
static int uncovered_part(const struct probes *pr, int set)
{
	return set >= 0 && (size_t)set < pr->nsets && pr->sets[set]->kind == SET_UNCOVERED;
}

int probes__covered_set(struct probes *pr, pid_t pid, int set, char *err, size_t errlen)
{
	int r;

	if (!uncovered_part(pr, set))
		return -PROBES_NOT_NEEDED;
	r = procmap__each(pid, is_preload, pr);
	if (r < 0) {
		if (errno == ENOENT || errno == ESRCH)
			return -PROBES_GONE;
		snprintf(err, errlen, "cannot read /proc/%d/maps: %s", (int)pid, strerror(errno));
		return PROBES_ERROR;
	}
	if (r > 0 && (r = preload_first(pr, pid)) > 0)
		return -PROBES_NOT_NEEDED;
	/* not told: it has ended (its status or root gone) */
	if (r < 0)
		return -PROBES_GONE;
	return probes__covered_of(pr, set, err, errlen);
}

int probes__covered_of(struct probes *pr, int set, char *err, size_t errlen)
{
	struct probe_set *s;
	int r;

	if (!uncovered_part(pr, set))
		return -PROBES_NOT_NEEDED;
	s = pr->sets[set];
	r = set_find(pr, s->dev, s->ino, SET_COVERED);
	if (r >= 0)
		return r;
	snprintf(err, errlen, "%s: its malloc, calloc, realloc and free were not probed", s->path);
	return PROBES_ERROR;
}

/* The sets that are (covered 1) or are not glibc's covered functions. */
static uint64_t sets_covered(const struct probes *pr, int covered)
{
	uint64_t mask = 0;
	size_t i;

	for (i = 0; i < pr->nsets && i < 64; i++)
		if ((pr->sets[i]->kind == SET_COVERED) == covered)
			mask |= 1ULL << i;
	return mask;
}

uint64_t probes__covered_sets(const struct probes *pr)
{
	return sets_covered(pr, 1);
}

uint64_t probes__gated_sets(const struct probes *pr)
{
	return sets_covered(pr, 0);
}

int probes__attach_gated(struct probes *pr, pid_t pid, char *err, size_t errlen)
{
	size_t i;
	int r;

	if (!pr->nsets) {
		snprintf(err, errlen, "no C library to probe was found");
		return PROBES_ERROR;
	}
	for (i = 0; i < pr->nsets; i++) {
		/* with the preload library: glibc's covered functions only for processes
		 * found running without the preload library */
		if (pr->sets[i]->kind == SET_COVERED)
			continue;
		r = attach_thread(pr, pr->sets[i], pid, err, errlen);
		if (r)
			return r < 0 ? PROBES_ERROR : -PROBES_GONE;
	}
	return 0;
}

void probes__describe(const struct probes *pr, FILE *out)
{
	size_t i;
	int j;

	for (i = 0; i < pr->nsets; i++)
		for (j = 0; j < pr->sets[i]->n; j++) {
			const struct probe *p = &pr->sets[i]->probes[j];

			fprintf(out, "peaktrace: probe %-15s %-6s %s:0x%llx +%u (%s)\n", p->fn_name,
				p->is_return ? "return" : "entry", pr->sets[i]->path,
				(unsigned long long)p->offset, p->where.offset, p->where.why);
		}
}


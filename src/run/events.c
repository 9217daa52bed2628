// SPDX-License-Identifier: GPL-2.0
/*
 * Process events from BPF, the exec gate's requests, and C libraries that
 * processes map after exec.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "peaktrace.skel.h"
#include "probes/probes.h"
#include "run/execenv.h"
#include "run/execgate.h"
#include "run/launch.h"
#include "run/run.h"
#include "run/session.h"
#include "stacks/symbolize.h"
#include "stacks/unwind.h"

/* How long an exec'd program may take to map its C library. */
#define LIBC_WAIT_NS (2ULL * 1000 * 1000 * 1000)

/* Threads of pid still running: a leader that called pthread_exit is a
 * zombie while its other threads go on (and allocate). */
static int live_threads(pid_t pid)
{
	char path[64], line[128];
	int n = 0, threads = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1) {
			threads = n;
			break;
		}
	fclose(f);
	/* the zombie leader is counted among them */
	return threads - 1;
}

/* pi's -v line, if one is due (scope_enter): once its C library is probed
 * or given up, or it ended while awaited (traced all the same: RSS, and
 * its heap had there been a library). */
static void announce_due(struct session *s, struct proc_info *pi)
{
	if (pi && pi->announce) {
		pi->announce = 0;
		scope_announce(s, pi->tgid);
	}
}

/*
 * A process registered from userspace can die before BPF knew it (between
 * reading /proc and filling the map): no exit event will come.  Drop it.
 */
void drop_vanished(struct session *s)
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
		if (stat_state(pi->tgid, &state, &flags) >= 0 && state != 'X' &&
		    (state != 'Z' || live_threads(pi->tgid) > 0))
			continue;
		if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.tgids), &key, &t) == 0 &&
		    t.instance == pi->instance)
			bpf_map_delete_elem(bpf_map__fd(s->skel->maps.tgids), &key);
		pi->ended = 1;
		pi->end_ns = now_ns();
		s->maybe_empty = 1;
		announce_due(s, pi);
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

static void cover_on_request(struct session *s, const struct pt_event *e);

int on_py_code(void *ctx, void *data, size_t len)
{
	struct session *s = ctx;

	/* out of memory: that code object's frames stay unnamed */
	if (len >= sizeof(struct pt_py_code))
		py_codes__add(&s->py.codes, data);
	return 0;
}

int on_event(void *ctx, void *data, size_t len)
{
	struct session *s = ctx;
	struct proc_info *p;

	if (len < sizeof(struct pt_event))
		return 0;
	switch (((const struct pt_event *)data)->type) {
	case PT_EV_DRAIN:
		session__drain(s);
		return 0;
	case PT_EV_UNCOVER:
		cover_on_request(s, data);
		return 0;
	case PT_EV_EXIT:
	case PT_EV_LEAVE:	/* moved out of the --cgroup: ended for us */
		s->maybe_empty = 1;
		sweep__push(&s->sweep, ((const struct pt_event *)data)->instance);
		announce_due(s, proctable__apply(&s->procs, data));
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
		sweep__push(&s->sweep, ((const struct pt_event *)data)->prev_instance);
		p = proctable__apply(&s->procs, data);
		/* The executable now, while it surely lives; its libraries when
		 * the loader has mapped them (check_pending_libc). */
		if (p) {
			const struct pt_event *e = data;
			char name[PT_PATH_LEN + 1];

			snprintf(name, sizeof(name), "%.*s", PT_PATH_LEN, e->filename);
			/* --rss-only, -a: no stacks to name */
			if (s->probes)
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
	case PT_EV_ENTER:
		scope_enter(s, (pid_t)((const struct pt_event *)data)->tgid);
		return 0;
	case PT_EV_FORK:
		python__inherit(&s->py, ((const struct pt_event *)data)->prev_instance,
				((const struct pt_event *)data)->instance);
		proctable__apply(&s->procs, data);
		return 0;
	default:
		proctable__apply(&s->procs, data);
		return 0;
	}
}

/* Why a process gets glibc's own malloc, calloc, realloc and free probes
 * (-v): it runs without the preload library first, or its library asked. */
#define COVER_NOT_FIRST "its malloc is not peaktrace-preload.so's"
#define COVER_ASKED "its malloc passes peaktrace-preload.so's sites by: a malloc of its own, " \
	"or one the library forwards to"

static int attach_missing(struct session *s, struct proc_info *pi, int set, const char *why,
			  char *err, size_t errlen);
static int probes_failed(struct session *s, struct proc_info *pi, const char *err);

/* With the preload library: pid is exec'ing a program that will run without the preload
 * library first in its LD_PRELOAD.  Its threads get the C library's own
 * malloc, calloc, realloc and free probes now, before that program runs
 * (after its exec, blocks made before peaktrace found its C library went
 * uncounted); the exec keeps them, and the image it starts their record. */
static void cover_before_exec(struct session *s, pid_t pid)
{
	uint64_t sets = probes__covered_sets(s->probes);
	struct proc_info *pi;
	char err[512];
	struct pt_tgid t;
	uint32_t key = pid;
	int set;

	/* the fork that made pid may still be in the ring buffer */
	ring_buffer__consume(s->rb);
	if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.tgids), &key, &t))
		return;
	pi = proctable__find(&s->procs, t.instance);
	for (set = 0; pi && set < 64; set++)
		if ((sets >> set) & 1)
			attach_missing(s, pi, set, COVER_NOT_FIRST, err, sizeof(err));
}

/* proc_info.uncover */
enum { UNCOVER_ANSWERED = 1, UNCOVER_LATE = 2 };

/*
 * A process's preload library found that its calls may reach glibc's
 * malloc past the library's sites (src/preload/uncover.c: a wrapper of
 * the program's ends in it) and waits: glibc's own malloc, calloc,
 * realloc and free probes for it, as for a process without the library,
 * then the word it named set (process_vm_writev).  Once per image (it
 * asks again while it waits); only for the image that asked, still
 * running (not a later one with its pid), and only a word of the
 * library's own data in it.  One peaktrace does not trace (its record
 * could not be made: the process table full) is let go, unprobed.
 */
static void cover_on_request(struct session *s, const struct pt_event *e)
{
	struct proc_info *pi = e->instance ? proctable__find(&s->procs, e->instance) : NULL;
	int one = 1, set, cov = -1;
	struct iovec local = { &one, sizeof(one) }, remote = { (void *)(uintptr_t)e->ack, sizeof(one) };
	uint32_t key = e->tgid;
	char err[512] = "";
	struct pt_tgid t;

	if (!s->probes || (pi && pi->uncover))
		return;
	if (!e->ack) {	/* it waited 2 s and went on */
		if (pi)
			pi->uncover = UNCOVER_LATE;
		warn(s, "pid %u (%s) went on after waiting 2 s for glibc's own malloc probes, which "
		     "its malloc needs (it passes peaktrace-preload.so's sites by): its calls until "
		     "they came are not counted", e->tgid, pi ? pi->comm : e->comm);
		return;
	}
	if (e->instance && (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.tgids), &key, &t) ||
			    t.instance != e->instance))
		return;	/* that image is gone */
	if (!probes__preload_word(s->probes, (pid_t)e->tgid, e->ack))
		return;
	if (pi) {
		pi->uncover = UNCOVER_ANSWERED;
		set = probes__libc_set(s->probes, pi->tgid, err, sizeof(err));
		if (set >= 0)
			cov = probes__covered_of(s->probes, set, err, sizeof(err));
		if (set == -PROBES_GONE || cov == -PROBES_GONE)
			return;
		if (set == PROBES_ERROR || cov == PROBES_ERROR)
			probes_failed(s, pi, err);
		else if (cov >= 0)
			attach_missing(s, pi, cov, COVER_ASKED, err, sizeof(err));
	}
	/* it waits on it: let go, probed or not */
	if (process_vm_writev((pid_t)e->tgid, &local, 1, &remote, 1, 0) != sizeof(one) &&
	    errno != ESRCH)
		warn(s, "pid %u (%s): cannot let it go on at once (process_vm_writev: %s): it waits "
		     "2 s for glibc's own malloc probes", e->tgid, pi ? pi->comm : e->comm,
		     strerror(errno));
}

/* pid exec's the file at path with the preload library first in its
 * LD_PRELOAD; a program that needs AddressSanitizer's runtime first stops
 * at start then, with ASan's message, unless its ASAN_OPTIONS turn that
 * check off, as peaktrace sets them for the command (launch__preload):
 * said why, where they do not (its environment lost them, or set the
 * check back on). */
static void say_first_runtime(struct session *s, pid_t pid, const char *path)
{
	char rt[256], file[4096], opts[4096];
	ssize_t n;

	if (!launch__first_runtime(path, rt, sizeof(rt)))
		return;
	if (execenv__value(pid, "ASAN_OPTIONS", opts, sizeof(opts)) == 1 &&
	    launch__asan_order_unchecked(opts))
		return;
	n = readlink(path, file, sizeof(file) - 1);
	file[n > 0 ? n : 0] = 0;
	warn(s, "pid %d runs %s, which needs %s first in LD_PRELOAD: after "
	     "peaktrace-preload.so there it stops at start (AddressSanitizer's own message), "
	     "its ASAN_OPTIONS not holding verify_asan_link_order=0; trace it with --no-preload",
	     (int)pid, file, rt);
}

/*
 * A traced process is exec'ing a file, held by the exec gate (execgate.h):
 * its unwind table and its libraries' are read now, before it runs, and
 * the C library's own probes attached if it runs without the preload
 * library; then the gate lets it go on.
 */
void gate_serve(struct session *s)
{
	struct execgate_request req;
	char path[64];
	ssize_t n;

	while ((n = recv(s->gate, &req, sizeof(req), MSG_DONTWAIT)) == sizeof(req)) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)probes__anchor(s->probes),
			 (int)req.fd);
		if (s->unwind)
			unwind__add_program(s->unwind, path);
		if (req.flags & EXECGATE_UNCOVERED)
			cover_before_exec(s, req.pid);
		else if (session__preload(s))
			say_first_runtime(s, req.pid, path);
		if (send(s->gate, "g", 1, MSG_DONTWAIT | MSG_NOSIGNAL) != 1)
			break;
	}
	if (n == 0) { /* the anchor has no fanotify: no gate */
		close(s->gate);
		s->gate = -1;
	}
}

/* The probes of pid could not be opened: its heap is not traced.  Returns 1. */
static int probes_failed(struct session *s, struct proc_info *pi, const char *err)
{
	pi->libc_state = LIBC_NONE;
	snprintf(pi->note, sizeof(pi->note), "probes failed: %.140s", err);
	warn(s, "pid %u (%s): %s", pi->tgid, pi->comm, pi->note);
	return 1;
}

/* Opens set's events on pi's threads unless it carries them (inherited):
 * 0, or 1 if they failed (said).  why: what -v says for glibc's covered
 * functions. */
static int attach_missing(struct session *s, struct proc_info *pi, int set, const char *why,
			  char *err, size_t errlen)
{
	if (pi->sets_mask & (1ULL << set))
		return 0;
	if (probes__attach_set(s->probes, set, pi->tgid, err, errlen) == PROBES_ERROR)
		return probes_failed(s, pi, err);
	pi->sets_mask |= 1ULL << set;
	if (s->o->verbose && (probes__covered_sets(s->probes) >> set & 1))
		fprintf(stderr, "peaktrace: pid %u (%s): glibc's own malloc, calloc, realloc and free "
			"probed (%s)\n", pi->tgid, pi->comm, why);
	return 0;
}

/* pi's C library, if the loader has mapped it: its probes, or a note
 * that it has none; it stays pending otherwise. */
static void resolve_pending(struct session *s, struct proc_info *pi, uint64_t now)
{
	char err[512];
	int set, st, cov;

	st = exe_kind(pi->tgid, "");
	if (st == LAUNCH_EXE_STATIC || st == LAUNCH_EXE_FOREIGN) {
		set_no_libc_note(s, pi, st);
		return;
	}
	err[0] = 0;
	set = probes__libc_set(s->probes, pi->tgid, err, sizeof(err));
	if (set == -PROBES_GONE)
		return;
	if (set == PROBES_ERROR) {
		probes_failed(s, pi, err);
		return;
	}
	if (set < 0) {
		if (now - pi->pending_since_ns > LIBC_WAIT_NS)
			set_no_libc_note(s, pi, LAUNCH_EXE_DYNAMIC);
		return;
	}
	if (attach_missing(s, pi, set, COVER_NOT_FIRST, err, sizeof(err)))
		return;
	/* With the preload library: a process whose malloc is not the preload library's
	 * needs the C library's own malloc, calloc, realloc and free probes */
	cov = probes__covered_set(s->probes, pi->tgid, set, err, sizeof(err));
	if (cov == -PROBES_GONE)
		return;
	if (cov >= 0 && !(pi->sets_mask & (1ULL << cov)))
		warn(s, "pid %u (%s) runs without peaktrace-preload.so first in its "
		     "LD_PRELOAD (its environment lost it, another library comes before it, "
		     "or a set-user-ID program): its C library's malloc, calloc, realloc and "
		     "free are probed from now; blocks it made before are not counted",
		     pi->tgid, pi->comm);
	if ((cov == PROBES_ERROR && probes_failed(s, pi, err)) ||
	    (cov >= 0 && attach_missing(s, pi, cov, COVER_NOT_FIRST, err, sizeof(err))))
		return;
	pi->libc_state = LIBC_PROBED;
	scan_process(s, pi->tgid);
}

/*
 * After exec the C library is mapped by the dynamic loader a moment later.
 * When it shows up: the same library's probes are already inherited; another
 * library gets its own set.  A static executable never maps one.
 */
void check_pending_libc(struct session *s, uint64_t now)
{
	size_t i;

	if (!s->probes)
		return;
	/* pending images are appended (exec'd ones, and ones registered from
	 * /proc just after an exec), and leave the pending state for good:
	 * the ones before the first pending entry need no look again */
	while (s->pending_from < s->procs.n &&
	       (s->procs.v[s->pending_from].libc_state != LIBC_PENDING ||
		s->procs.v[s->pending_from].ended))
		s->pending_from++;
	for (i = s->pending_from; i < s->procs.n; i++) {
		struct proc_info *pi = &s->procs.v[i];

		if (pi->libc_state != LIBC_PENDING || pi->ended)
			continue;
		resolve_pending(s, pi, now);
		if (pi->libc_state != LIBC_PENDING)
			announce_due(s, pi);
	}
}

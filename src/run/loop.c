// SPDX-License-Identifier: GPL-2.0
/*
 * The event loop: follows the tree until it ends, the duration passes or a
 * signal stops the run.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "peaktrace.skel.h"
#include "probes/probes.h"
#include "run/run.h"
#include "run/session.h"
#include "collect/timeline.h"

#define STATUS_PERIOD_NS (1000ULL * 1000 * 1000)
#define EMPTY_CHECK_NS (10ULL * 1000 * 1000)

/* A bigger allocation table when the newest is half full (collect/tables.c). */
static void tables_grow(struct session *s)
{
	char err[256];
	long added = alloc_tables__grow(&s->tables, s->skel, err, sizeof(err));

	if (added < 0)
		warn(s, "%s", err);
	else if (added && s->o->verbose)
		fprintf(stderr, "peaktrace: allocation table %u added: %ld entries\n",
			s->skel->data->alloc_tables - 1, added);
}

static int tree_empty(struct session *s)
{
	__u32 key;

	return bpf_map_get_next_key(bpf_map__fd(s->skel->maps.tgids), NULL, &key) != 0;
}

void session__run(struct session *s, volatile int *stop, pid_t launch_pid,
		  int *launch_status, int *launch_reaped)
{
	uint64_t deadline = s->o->duration > 0 ? s->t0_ns + (uint64_t)(s->o->duration * 1e9) : 0;
	uint64_t next_status = s->t0_ns + STATUS_PERIOD_NS, next_empty_check = 0, now;
	/* woken at least as often as the timeline samples */
	int poll_ms = s->o->interval_ms && s->o->interval_ms < 50 ? (int)s->o->interval_ms : 50;

	timeline__init(&s->report.timeline, s->o->interval_ms * 1000000ULL, s->t0_ns);
	s->report.timeline.no_procs = s->o->all;
	s->stopped_by = "exit";
	s->maybe_empty = 1;
	if (s->probes && !probes__swap_guarded())
		warn(s, "this kernel (before 6.12) refused PERF_SAMPLE_READ on inherited events: a "
		     "child may lose its probes (counted in probes_removed)");
	for (;;) {
		struct pollfd fds[2] = { { .fd = ring_buffer__epoll_fd(s->rb), .events = POLLIN },
					 { .fd = s->gate, .events = POLLIN } };
		int n;

		poll(fds, s->gate >= 0 ? 2 : 1, poll_ms);
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
		timeline__tick(&s->report.timeline, now, s->skel, &s->records, &s->procs,
			       sysconf(_SC_PAGESIZE));
		check_pending_libc(s, now);
		tables_grow(s);
		/* the tree can only empty after an exit (seen, or dropped), and
		 * finding out walks the process map's buckets: at every exit of
		 * a churning tree that cost a fifth of a core, so at most every
		 * 10 ms */
		if (s->maybe_empty && now >= next_empty_check) {
			s->maybe_empty = 0;
			next_empty_check = now + EMPTY_CHECK_NS;
			if (tree_empty(s)) {
				ring_buffer__consume(s->rb);
				if (!s->scoped)
					break;
				/* a scope lasts until stopped: a cgroup may fill again */
				if (s->o->cgroup && !s->empty_said) {
					warn(s, "cgroup %s is empty now: waiting for processes to "
					     "enter it (until SIGINT or --duration)", s->cgroup.path);
					s->empty_said = 1;
				}
			}
		}
		/* a churning scope can end a quarter of the process map's room
		 * within a status period: swept sooner then */
		if (s->sweep.procs && s->sweep.ndead >= s->o->max_procs / 4)
			sweep__run(&s->sweep, s->skel, &s->tables, &s->records);
		session__drain(s);
		if (now >= next_status) {
			s->maybe_empty = 1; /* also when an exit event was lost */
			drop_vanished(s);
			sweep__run(&s->sweep, s->skel, &s->tables, &s->records);
			status_line(s);
			next_status = now + STATUS_PERIOD_NS;
		}
	}
	s->t_end_ns = now_ns();
	/* the last point: the tree as tracing stops */
	s->report.timeline.next_ns = 0;
	timeline__tick(&s->report.timeline, s->t_end_ns, s->skel, &s->records, &s->procs,
		       sysconf(_SC_PAGESIZE));
	/* execs from now on go on without waiting for tables */
	if (s->gate >= 0)
		close(s->gate);
	s->gate = -1;
	if (s->status_shown)
		fprintf(stderr, "\r\033[K");
}

// SPDX-License-Identifier: GPL-2.0
/* Freeing a run; the slow part, unregistering the probes, in a detached child. */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <bpf/libbpf.h>
#include "peaktrace.skel.h"
#include "probes/probes.h"
#include "run/run.h"
#include "run/session.h"
#include "stacks/symbolize.h"
#include "stacks/unwind.h"

/* How long a finished run's teardown keeps the uprobes registered for the
 * next run (see probes__free). */
#define PROBE_LINGER_S 10

void session__free(struct session *s)
{
	if (!s)
		return;
	bpfload__free(&s->load);	/* first: joins its loader thread */
	probes__free(s->probes, s->probe_linger_s);
	unwind__free(s->unwind);
	ring_buffer__free(s->rb);
	alloc_tables__close(&s->tables);
	procrecs__close(&s->records);
	peaktrace_bpf__destroy(s->skel);
	symbolizer__free(s->sym);
	proctable__free(&s->procs);
	collect__free(&s->collected);
	report__free(&s->report);
	sweep__free(&s->sweep);
	python__free(&s->py);
	free(s);
}

/*
 * Closes the descriptors peaktrace was given (every one of its own is
 * close-on-exec; those it passes the command are closed by now): a caller
 * waiting for the end of a pipe it gave (a benchmark harness, a shell's
 * command substitution) must not wait for the teardown.
 */
static void close_inherited(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name), flags;

		if (fd <= STDERR_FILENO || fd == dirfd(d))
			continue;
		flags = fcntl(fd, F_GETFD);
		if (flags >= 0 && !(flags & FD_CLOEXEC))
			close(fd);
	}
	closedir(d);
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
		int pfd;

		/* nothing of the caller's held meanwhile: a pipe it reads to
		 * its end would wait for the teardown */
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		close_inherited();
		pfd = syscall(SYS_pidfd_open, parent, 0);
		if (pfd >= 0) {
			struct pollfd p = { .fd = pfd, .events = POLLIN };

			poll(&p, 1, 10000);
			close(pfd);
		}
		setsid();
		prctl(PR_SET_NAME, "peaktrace-detach");
		/* the process-tree and RSS programs leave now: lingering, they
		 * would run for nothing at every fork, exec and page fault on
		 * the machine (the allocator probes' programs leave first thing
		 * in probes__free) */
		bpfload__detach(&s->load);
		s->probe_linger_s = PROBE_LINGER_S;
		session__free(s);
		_exit(0);
	}
	if (pid < 0)
		session__free(s);
	/* The parent exits without closing: its copies of the descriptors
	 * are not the last ones, the child's are. */
}

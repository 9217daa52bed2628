// SPDX-License-Identifier: GPL-2.0
/* The -p PID target: a running tree, probed and registered from /proc, top down. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "peaktrace.skel.h"
#include "probes/probes.h"
#include "run/launch.h"
#include "run/run.h"
#include "run/session.h"
#include "util/readfile.h"

/*
 * Has BPF record the mm of every registered process and read its RSS
 * counters, with a task iterator: from then on their RSS changes are
 * attributed even when made from outside them.  pid: that process's tasks
 * only (one that entered a --cgroup), all of them if 0, or if the kernel
 * (before 6.1) cannot iterate one process.
 */
int learn_mms(struct session *s, pid_t pid, char *err, size_t errlen)
{
	union bpf_iter_link_info info = { .task = { .pid = (__u32)pid } };
	LIBBPF_OPTS(bpf_iter_attach_opts, one, .link_info = &info, .link_info_len = sizeof(info));
	struct bpf_link *link = NULL;
	char buf[64];
	int fd;

	if (!s->rss)
		return 0;
	if (pid > 0)
		link = bpf_program__attach_iter(s->load.progs->progs.pt_learn_mms, &one);
	if (!link)
		link = bpf_program__attach_iter(s->load.progs->progs.pt_learn_mms, NULL);
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

/* Registers pid (running) and, if children, everything under it, depth first. */
int add_tree(struct session *s, pid_t pid, int depth, int children, char *err, size_t errlen)
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
			int kind;

			snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
			kind = launch__exe_kind(path);
			/* A dynamic program with no C library yet has just exec'd
			 * (a process entering a --cgroup and exec'ing at once):
			 * its loader maps the library a moment later, and it is
			 * probed then (check_pending_libc), as after an exec seen
			 * in BPF.  Seen in 1 of 100-150 such entries. */
			if (kind == LAUNCH_EXE_DYNAMIC) {
				np->libc_state = LIBC_PENDING;
				np->pending_since_ns = np->start_ns;
			} else {
				set_no_libc_note(s, np, kind);
			}
		}
	}
	scan_process(s, pid);

children:
	if (!children)
		return 0;
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
			add_tree(s, child, depth + 1, 1, err, errlen);
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
	r = add_tree(s, pid, 0, 1, err, errlen);
	if (!r && learn_mms(s, 0, err, errlen))
		r = PT_EXIT_FAILED;
	if (r == PT_EXIT_NO_TARGET && !err[0])
		snprintf(err, errlen, "pid %d exited before tracing could start", (int)pid);
	if (!r && s->o->verbose && s->probes)
		probes__describe(s->probes, stderr);
	return r;
}

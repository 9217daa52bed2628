// SPDX-License-Identifier: GPL-2.0
/*
 * Scopes beyond one tree.  --cgroup: every process listed in the cgroup's
 * cgroup.procs or a descendant cgroup's, registered as for -p but without
 * their process children (those in the cgroup are listed; those elsewhere
 * are not in scope); BPF reports the ones that enter later (PT_EV_ENTER)
 * and ends the ones that leave.  --all: init's tree (every user process)
 * and, in BPF, every process a kernel thread starts.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "peaktrace.skel.h"
#include "run/run.h"
#include "run/session.h"
#include "util/readfile.h"
#include "util/vec.h"

struct member {
	pid_t pid;
	unsigned long long start;	/* clock ticks after boot (/proc/PID/stat) */
};

struct members {
	struct member *v;
	size_t n, cap;
};

static unsigned long long start_time(pid_t pid)
{
	char buf[1024];
	const char *p = read_proc_stat(pid, buf, sizeof(buf));
	unsigned long long t = 0;

	/* after ")": state, then fields 4..21; starttime is field 22 */
	if (p && sscanf(p, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			"%*d %*d %*d %llu", &t) == 1)
		return t;
	return 0;
}

/* The processes of dir and of the cgroups below it. */
static void list_cgroup(struct members *m, const char *dir, int depth)
{
	char path[4200];
	struct dirent *de;
	FILE *f;
	DIR *d;
	int pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	while (f && fscanf(f, "%d", &pid) == 1) {
		if (vec_grow((void **)&m->v, &m->cap, m->n + 1, sizeof(*m->v), 64))
			break;
		m->v[m->n].pid = pid;
		m->v[m->n++].start = start_time(pid);
	}
	if (f)
		fclose(f);
	if (depth > 64 || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		list_cgroup(m, path, depth + 1);
	}
	closedir(d);
}

static int by_start(const void *a, const void *b)
{
	const struct member *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

int session__add_cgroup(struct session *s, char *err, size_t errlen)
{
	struct members m = { 0 };
	size_t i, n;

	list_cgroup(&m, s->cgroup.path, 0);
	/* parents before children, whatever the cgroups and their order: a
	 * child joins its parent's tree only if the parent is known */
	qsort(m.v, m.n, sizeof(*m.v), by_start);
	for (i = 0; i < m.n; i++) {
		add_tree(s, m.v[i].pid, 1, 0, err, errlen);	/* one gone meanwhile: skipped */
		err[0] = 0;
	}
	n = m.n;
	free(m.v);
	if (learn_mms(s, 0, err, errlen))
		return PT_EXIT_FAILED;
	if (!n) {
		warn(s, "cgroup %s is empty: waiting for processes to enter it (until SIGINT or "
		     "--duration)", s->cgroup.path);
		s->empty_said = 1;
	}
	if (s->o->verbose)
		fprintf(stderr, "peaktrace: cgroup %s (id %llu): %zu processes\n", s->cgroup.path,
			(unsigned long long)s->cgroup.id, n);
	return 0;
}

int session__add_all(struct session *s, char *err, size_t errlen)
{
	int r;

	if (s->probes)
		warn(s, "-a --heap: every malloc and free on this machine traps into the kernel "
		     "while peaktrace runs (2-6 us each)");
	/* init as a descendant (depth 1): one it cannot probe (its maps
	 * unreadable, as in some sandboxes) is reported, the rest traced */
	r = add_tree(s, 1, 1, 1, err, errlen);
	err[0] = 0;

	if (!r && learn_mms(s, 0, err, errlen))
		r = PT_EXIT_FAILED;
	/* for scripts: processes started from now on are followed */
	if (!r && s->o->verbose)
		fprintf(stderr, "peaktrace: tracing every process (%zu now)\n", s->procs.n);
	return r;
}

/* -v, for scripts: pid is traced from now on. */
void scope_announce(const struct session *s, pid_t tgid)
{
	if (s->o->verbose)
		fprintf(stderr, "peaktrace: pid %d %s\n", (int)tgid,
			s->o->cgroup ? "entered the cgroup" : "started by a kernel thread: probed");
}

/* PT_EV_ENTER: a process entered the --cgroup (moved in, or made in it);
 * with -a --heap, one a kernel thread started (BPF registered it): its
 * probes. */
void scope_enter(struct session *s, pid_t tgid)
{
	char err[256] = "";
	struct proc_info *pi;
	struct pt_tgid t;
	__u32 key = tgid;

	if (!s->o->cgroup && !(s->o->all && s->probes))
		return;
	s->empty_said = 0;
	/* one a kernel thread started (-a --heap): BPF recorded its mm at fork */
	if (add_tree(s, tgid, 1, 0, err, sizeof(err)) ||
	    (s->o->cgroup && learn_mms(s, tgid, err, sizeof(err)))) {
		warn(s, "pid %d entered the scope but could not be traced: %s", (int)tgid, err);
		return;
	}
	/* caught just after an exec, its C library not mapped yet: said once
	 * it is probed (check_pending_libc) */
	if (s->probes && !bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.tgids), &key, &t) &&
	    (pi = proctable__find(&s->procs, t.instance)) && pi->libc_state == LIBC_PENDING &&
	    !pi->ended) {
		pi->announce = 1;
		return;
	}
	scope_announce(s, tgid);
}

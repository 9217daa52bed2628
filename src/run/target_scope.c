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
#include <string.h>
#include "run/run.h"
#include "run/session.h"

/* Registers the processes of dir and of the cgroups below it.  Returns how
 * many were listed. */
static size_t add_cgroup_dir(struct session *s, const char *dir, int depth, char *err, size_t errlen)
{
	char path[4200];
	struct dirent *de;
	size_t n = 0;
	FILE *f;
	DIR *d;
	int pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	while (f && fscanf(f, "%d", &pid) == 1) {
		n++;
		add_tree(s, pid, 1, 0, err, errlen);	/* one that ended meanwhile: skipped */
		err[0] = 0;
	}
	if (f)
		fclose(f);
	if (depth > 64 || !(d = opendir(dir)))
		return n;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n += add_cgroup_dir(s, path, depth + 1, err, errlen);
	}
	closedir(d);
	return n;
}

int session__add_cgroup(struct session *s, char *err, size_t errlen)
{
	size_t n = add_cgroup_dir(s, s->cgroup.path, 0, err, errlen);

	if (learn_mms(s, err, errlen))
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

	if (!r && learn_mms(s, err, errlen))
		r = PT_EXIT_FAILED;
	/* for scripts: processes started from now on are followed */
	if (!r && s->o->verbose)
		fprintf(stderr, "peaktrace: tracing every process (%zu now)\n", s->procs.n);
	return r;
}

/* PT_EV_ENTER: a process entered the --cgroup (moved in, or made in it);
 * with -a --heap, one a kernel thread started (BPF registered it): its
 * probes. */
void scope_enter(struct session *s, pid_t tgid)
{
	char err[256] = "";

	if (!s->o->cgroup && !(s->o->all && s->probes))
		return;
	if (add_tree(s, tgid, 1, 0, err, sizeof(err)) || learn_mms(s, err, sizeof(err)))
		warn(s, "pid %d entered the scope but could not be traced: %s", (int)tgid, err);
	else if (s->o->verbose)	/* for scripts: it is traced from now on */
		fprintf(stderr, "peaktrace: pid %d %s\n", (int)tgid,
			s->o->cgroup ? "entered the cgroup" : "started by a kernel thread: probed");
	s->empty_said = 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The -- CMD target: the command is held at its launch gate while it is
 * probed, registered as the root of the tree, and its program's unwind
 * tables read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "probes/probes.h"
#include "run/run.h"
#include "run/session.h"
#include "stacks/unwind.h"
#include "util/ldpreload.h"

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

	const char *preload = session__preload(s), *list = ldpreload__getenv();
	/* the preload library after a library of the user's (launch__preload): the
	 * command's malloc may be that library's, or glibc's, probed from
	 * its first instruction like any process without the preload
	 * library */
	uint64_t covered = preload && !(list && !ldpreload__environ_audited() &&
					ldpreload__first_is(pid, list, preload) > 0) ?
				   probes__covered_sets(s->probes) : 0;
	int set;

	if (s->probes && probes__attach_gated(s->probes, pid, err, errlen))
		return -1;
	for (set = 0; set < 64; set++)
		if (((covered >> set) & 1) &&
		    probes__attach_set(s->probes, set, pid, err, errlen) == PROBES_ERROR)
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
	pi.sets_mask = all_sets(s) | covered;
	pi.start_ns = now_ns();
	snprintf(pi.comm, sizeof(pi.comm), "peaktrace");
	if (!proctable__add(&s->procs, &pi)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (s->o->verbose && covered)
		fprintf(stderr, "peaktrace: pid %d (the command): glibc's own malloc, calloc, realloc "
			"and free probed (its malloc is not peaktrace-preload.so's)\n", (int)pid);
	if (s->o->verbose && s->probes)
		probes__describe(s->probes, stderr);
	return 0;
}

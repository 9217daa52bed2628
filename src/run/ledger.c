// SPDX-License-Identifier: GPL-2.0
/*
 * With the preload library: what peaktrace-preload.so's ledger needs (src/preload/ledger.c)
 * handed to the command: maps `global` and `procs` as two inherited fds,
 * named with their ids and the figures it needs in PEAKTRACE_LEDGER.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "peaktrace.skel.h"
#include "run/run.h"
#include "run/session.h"

static int map_id(int fd, __u32 *id)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -1;
	*id = info.id;
	return 0;
}

int session__share_ledger(struct session *s, int fds[2], char *err, size_t errlen)
{
	int g = bpf_map__fd(s->skel->maps.global), p = bpf_map__fd(s->skel->maps.procs);
	char v[96];
	__u32 gid, pid;

	fds[0] = fds[1] = -1;
	if (!s->skel->rodata->ledger)
		return unsetenv(PT_LEDGER_ENV);
	/* inherited by the command: no FD_CLOEXEC on these copies */
	if (map_id(g, &gid) || map_id(p, &pid) || (fds[0] = fcntl(g, F_DUPFD, 3)) < 0 ||
	    (fds[1] = fcntl(p, F_DUPFD, 3)) < 0) {
		snprintf(err, errlen,
			 "peaktrace-preload.so: cannot hand the model's maps to the command: %s",
			 strerror(errno));
		session__unshare_ledger(fds);
		return -1;
	}
	snprintf(v, sizeof(v), PT_LEDGER_FORMAT, fds[0], gid, fds[1], pid,
		 (unsigned)(s->records.mask + 1), (unsigned)s->skel->rodata->sample_bytes);
	if (setenv(PT_LEDGER_ENV, v, 1)) {
		snprintf(err, errlen, "peaktrace-preload.so: cannot set %s: %s", PT_LEDGER_ENV,
			 strerror(errno));
		session__unshare_ledger(fds);
		return -1;
	}
	return 0;
}

void session__unshare_ledger(int fds[2])
{
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

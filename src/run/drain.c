// SPDX-License-Identifier: GPL-2.0
/*
 * The model updates the BPF programs queued while the model lock's holder
 * was not running (bpf/model/model.bpf.h): the allocator probes apply them
 * at their next hit, the RSS program those before the first heap block's,
 * and this applies what is left when none comes (the last process ended,
 * a holder let go with no allocator call after), at every turn of the
 * event loop, when the RSS program asks (PT_EV_DRAIN: a heap block's
 * update at the head of the queue holds the rest back) and before the
 * maps are read for the report.
 */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "peaktrace.skel.h"
#include "run/bpfload.h"
#include "run/run.h"

/* Runs of pt_drain_now at most per call: each applies a quarter of what the
 * queue holds, unless the lock's holder keeps it (the next turn tries
 * again). */
#define DRAIN_RUNS 4

int session__drain(struct session *s)
{
	int gfd = bpf_map__fd(s->skel->maps.global), i, fd;
	struct pt_global g;
	char err[512] = "";
	__u32 zero = 0;

	if (s->drain_failed)
		return -1;
	/* the RSS program may ask again (PT_EV_DRAIN) from now on */
	if (s->tables.global)
		__atomic_store_n(&s->tables.global->drain_asked, 0, __ATOMIC_RELEASE);
	for (i = 0; i < DRAIN_RUNS; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, run);

		if (bpf_map_lookup_elem(gfd, &zero, &g) || !g.deferred)
			return 0;
		fd = bpfload__drain(&s->load, err, sizeof(err));
		if (fd < 0 || bpf_prog_test_run_opts(fd, &run)) {
			/* not tried again: what stays queued is counted at the end */
			warn(s, "model updates queued while the lock's holder was not running "
			     "cannot be applied by peaktrace (%s): any left at the end are counted "
			     "as unlocked updates", fd < 0 ? err : strerror(errno));
			s->drain_failed = 1;
			return -1;
		}
	}
	return -1;
}

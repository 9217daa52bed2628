// SPDX-License-Identifier: GPL-2.0
/*
 * The model updates the BPF programs queued while the model lock's holder
 * was not running (bpf/model/model.bpf.h): the allocator probes apply them
 * at their next hit, and this applies what is left when none comes (the
 * last process ended, a holder let go with no allocator call after), at
 * every turn of the event loop and before the maps are read for the
 * report.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "peaktrace.skel.h"
#include "run/bpfload.h"
#include "run/run.h"

/* Runs of pt_drain_now at most per call: each applies up to 1024. */
#define DRAIN_RUNS 64

int session__drain(struct session *s)
{
	int gfd = bpf_map__fd(s->skel->maps.global), i, fd;
	struct pt_global g;
	char err[512];
	__u32 zero = 0;

	for (i = 0; i < DRAIN_RUNS; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, run);

		if (bpf_map_lookup_elem(gfd, &zero, &g) || !g.deferred)
			return 0;
		fd = bpfload__drain(&s->load, err, sizeof(err));
		if (fd < 0) {
			if (!s->drain_said)
				warn(s, "queued model updates cannot be applied: %s", err);
			s->drain_said = 1;
			return -1;
		}
		if (bpf_prog_test_run_opts(fd, &run))
			return -1;
	}
	return -1;
}

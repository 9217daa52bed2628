/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The timeline: the tree's live heap and exact RSS, and each process
 * image's, sampled at a fixed interval from what BPF keeps (no
 * per-allocation record).  Bounded: past TIMELINE_POINTS samples, pairs of
 * points merge into one (their maximum: a peak is never smoothed away) and
 * the interval doubles, so a day-long -p run keeps the same few KiB.  The
 * timeline is the report's (report__free frees it).
 */
#ifndef PT_TIMELINE_H
#define PT_TIMELINE_H

#include <stdint.h>
#include "collect/proctable.h"
#include "report/report.h"

#define TIMELINE_POINTS 2048

struct peaktrace_bpf;
struct procrecs;

void timeline__init(struct report_timeline *tl, uint64_t interval_ns, uint64_t t0_ns);
/* Takes a sample if one is due at now (CLOCK_MONOTONIC ns). */
void timeline__tick(struct report_timeline *tl, uint64_t now, struct peaktrace_bpf *skel,
		    const struct procrecs *records, struct proctable *procs, uint64_t page);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * From collected map contents and the process table to a report: the
 * values at the tree's peak and at each process's own peak, the stacks
 * ranked.  Pure: symbolization comes in through a callback.
 */
#ifndef PT_MODEL_H
#define PT_MODEL_H

#include "collect.h"
#include "proctable.h"
#include "report.h"

/* Fills out->frames (and nframes) for a stack; returns 0 or -1. */
typedef int (*model_frames_fn)(void *ctx, uint32_t instance, uint64_t stack_id,
			       struct report_stack *out);

/* t0_ns: the start of tracing on the BPF clock (CLOCK_MONOTONIC);
 * page: the page size, for the RSS counters kept in pages. */
int model__build(struct report *r, const struct collected *c, const struct proctable *t,
		 unsigned top, uint64_t t0_ns, uint64_t page, model_frames_fn frames, void *ctx);

#endif

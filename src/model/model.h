/* SPDX-License-Identifier: GPL-2.0 */
/*
 * From collected map contents and the process table to the full profile a
 * report holds: the figures at the tree's peak and at each process's own
 * peak, and every stack holding memory at those moments (views), each
 * distinct stack a trace symbolized at most once.  Pure: the raw stacks and
 * their symbols come in through callbacks, so tests need no root.
 */
#ifndef PT_MODEL_H
#define PT_MODEL_H

#include "collect/collect.h"
#include "collect/proctable.h"
#include "report/report.h"

struct model_sources {
	/* The raw stack stack_id: up to max addresses into ips, innermost
	 * first, and its PT_STACK_* flags.  Returns how many, or -1. */
	int (*stack)(void *ctx, uint64_t stack_id, uint64_t *ips, size_t max, uint32_t *flags);
	/* Address ip of instance as frames, innermost first (the functions
	 * inlined there, then the one it is in): strings malloc'ed, taken
	 * over by the model.  Returns how many (1..max). */
	size_t (*symbolize)(void *ctx, uint32_t instance, uint64_t ip, struct report_frame *out,
			    size_t max);
	/* Optional (NULL: native frames only): the stack's frames with its
	 * Python frames merged in (src/python/merge.h), given its native
	 * frames native[0..nn); *out malloc'ed, frames interned in ft.
	 * Returns how many, or -1 if memory ran out. */
	long (*python)(void *ctx, uint32_t instance, uint64_t stack_id,
		       const struct report_frame **native, size_t nn, struct frame_table *ft,
		       const struct report_frame ***out);
	void *ctx;
};

/* t0_ns: the start of tracing on the BPF clock (CLOCK_MONOTONIC);
 * page: the page size, for the RSS counters kept in pages.  Returns 0, or
 * -1 if memory ran out. */
int model__build(struct report *r, const struct collected *c, const struct proctable *t,
		 uint64_t t0_ns, uint64_t page);

/* Symbolizes the traces of the first `top` stacks of every view (all of
 * them with MODEL_ALL_STACKS).  Returns 0, or -1 if memory ran out. */
#define MODEL_ALL_STACKS ((unsigned)-1)
int model__symbolize(struct report *r, const struct model_sources *src, unsigned top);

#endif

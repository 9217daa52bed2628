/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The report's frame table: every frame once.  Equal frames (same address,
 * function, file, line, module, kind) are one interned frame, their strings
 * one copy each; and each (image, address) is symbolized once, its frames
 * (the inlined ones, then the function) remembered as a chain.  Writers
 * that list functions or locations (pprof, flame graphs) walk the table.
 */
#ifndef PT_FRAMES_H
#define PT_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include "report/report.h"

struct frame_table;

struct frame_table *frames__new(void);
void frames__free(struct frame_table *ft);

/* The table's frame equal to f (strings copied on first sight), or NULL if
 * memory ran out. */
const struct report_frame *frames__intern(struct frame_table *ft, const struct report_frame *f);

/* The chain of frames address ip of instance resolved to, if it was
 * resolved already: its length, *out pointing at it (valid until the next
 * frames__set_chain); else -1. */
long frames__chain(const struct frame_table *ft, uint32_t instance, uint64_t ip,
		   const struct report_frame *const **out);
/* Remembers the chain of (instance, ip).  Returns 0, or -1 out of memory. */
int frames__set_chain(struct frame_table *ft, uint32_t instance, uint64_t ip,
		      const struct report_frame *const *v, size_t n);

size_t frames__count(const struct frame_table *ft);
/* The index of f, a frame of the table (frames__at(ft, i) == f). */
size_t frames__index(const struct frame_table *ft, const struct report_frame *f);
const struct report_frame *frames__at(const struct frame_table *ft, size_t i);

#endif

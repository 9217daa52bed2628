/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for victim programs: allocations the compiler cannot remove, and
 * call sites that stay distinct frames (noinline, not tail calls).
 */
#ifndef PT_VICTIM_H
#define PT_VICTIM_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MiB (1024UL * 1024UL)
#define KiB 1024UL
#define NOINLINE __attribute__((noinline))

/* A store the optimizer must keep, so malloc/free pairs stay. */
static void *volatile victim_sink;

static inline void *keep(void *p)
{
	if (!p) {
		fprintf(stderr, "victim: allocation failed\n");
		exit(99);
	}
	victim_sink = p;
	return p;
}

/* Stops a call from being a tail call: the caller's frame stays. */
#define NO_TAIL() __asm__ volatile("" ::: "memory")

#endif

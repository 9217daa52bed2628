/* SPDX-License-Identifier: GPL-2.0 */
/*
 * For victims that act as peaktrace-preload.so's ledger would on the
 * model's lock: maps the model and finds this process's record, as the
 * ledger does (PEAKTRACE_LEDGER, which peaktrace --preload gives).
 */
#ifndef PT_VICTIM_LEDGER_MAPS_H
#define PT_VICTIM_LEDGER_MAPS_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "../../bpf/peaktrace.h"

static void *ledger_map(int fd, size_t len)
{
	void *p = mmap(NULL, (len + 4095) & ~4095UL, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* 0 with the model in *g and this image's record in *me; the victim's exit
 * status otherwise: 2 without a ledger, 3 if the maps cannot be mapped, 5
 * if no record is this process's. */
static int ledger_maps(struct pt_global **g, struct pt_proc **me)
{
	const char *env = getenv(PT_LEDGER_ENV);
	unsigned gid, pid, slots, sample, i;
	struct pt_proc *procs;
	int gfd, pfd;

	if (!env || sscanf(env, PT_LEDGER_FORMAT, &gfd, &gid, &pfd, &pid, &slots, &sample) != 6)
		return 2;
	*g = ledger_map(gfd, sizeof(**g));
	procs = ledger_map(pfd, (size_t)slots * sizeof(*procs));
	if (!*g || !procs)
		return 3;
	for (i = 0; i < slots; i++)
		if (procs[i].instance && procs[i].tgid == (__u32)getpid() && procs[i].alive &&
		    !procs[i].launcher) {
			*me = &procs[i];
			return 0;
		}
	return 5;
}

#endif

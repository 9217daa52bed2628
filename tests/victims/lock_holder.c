// SPDX-License-Identifier: GPL-2.0
/*
 * Dies holding the model lock, as a ledger thread ended by exit or exec in
 * the middle of an update would: maps the model as peaktrace-preload.so's
 * ledger does (PEAKTRACE_LEDGER), takes the lock with its image's tag and
 * exits.  The BPF side must let go of it when the image ends (model_end),
 * counted as one unlocked update, and everything after must be counted as
 * before.  Exits 2 without a ledger to hold.
 */
#include <sys/mman.h>
#include <unistd.h>
#include "../../bpf/peaktrace.h"
#include "victim.h"

static void *map(int fd, size_t len)
{
	void *p = mmap(NULL, (len + 4095) & ~4095UL, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

int main(void)
{
	const char *env = getenv(PT_LEDGER_ENV);
	int gfd, pfd;
	unsigned gid, pid, slots, sample;
	struct pt_global *g;
	struct pt_proc *procs;

	if (!env || sscanf(env, PT_LEDGER_FORMAT, &gfd, &gid, &pfd, &pid, &slots, &sample) != 6)
		return 2;
	g = map(gfd, sizeof(*g));
	procs = map(pfd, (size_t)slots * sizeof(*procs));
	if (!g || !procs)
		return 3;
	for (unsigned i = 0; i < slots; i++) {
		struct pt_proc *p = &procs[i];

		if (p->instance && p->tgid == (__u32)getpid() && p->alive && !p->launcher) {
			if (!__sync_bool_compare_and_swap(&g->lock, 0, PT_LEDGER_LOCK(p->instance)))
				return 4;
			_exit(0);	/* holding it */
		}
	}
	return 5;
}

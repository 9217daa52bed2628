// SPDX-License-Identifier: GPL-2.0
/*
 * Dies holding the model lock, as a ledger thread ended by exit or exec in
 * the middle of an update would: maps the model as peaktrace-preload.so's
 * ledger does (PEAKTRACE_LEDGER), takes the lock with its image's tag and
 * exits.  The BPF side must let go of it when the image ends (model_end),
 * counted as one unlocked update, and everything after must be counted as
 * before.  Exits 2 without a ledger to hold.
 */
#include "ledger_maps.h"
#include "victim.h"

int main(void)
{
	struct pt_global *g;
	struct pt_proc *me;
	int r = ledger_maps(&g, &me);

	if (r)
		return r;
	if (!__sync_bool_compare_and_swap(&g->lock, 0, PT_LEDGER_LOCK(me->instance)))
		return 4;
	_exit(0);	/* holding it */
}

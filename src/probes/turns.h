/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Turns between runs on the kernel's event mutex.  Closing the last perf
 * event of a uprobe unregisters it, about 0.1 s under the kernel's global
 * event mutex, and every perf_event_open on a tracepoint takes that mutex
 * too.  A finished run's teardown closes its probes' events one at a time,
 * each in a turn; a starting run takes one turn for each set of probes
 * it defines: it waits for the close in progress (and for other runs'
 * turns, if several start at once), not for all of them, and once its own
 * events hold the uprobes, the teardown's closes no longer unregister them
 * (measured: a run started during another's teardown spent 2.6-3.7 s
 * defining its probes; with turns, under 0.2 s).
 */
#ifndef PT_PROBES_TURNS_H
#define PT_PROBES_TURNS_H

/* Waits for and takes a turn; returns what turn_end() needs (-1: no turn
 * could be taken, or none within 2 s: the caller goes on without).  The
 * turn is the open file's lock: a child forked meanwhile would hold it. */
int turn_begin(void);
void turn_end(int turn);

/* turn_begin() on another lock file (the unit test's). */
int turn_begin_at(const char *path);

/* What a teardown leaves between two of its turns: several of
 * turn_begin()'s polls, so that a starting run gets the next one. */
#define TURN_GAP_US 20000

#endif

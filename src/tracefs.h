/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tracefs uprobe events.  peaktrace defines its probes there (rather than
 * through the perf "uprobe" PMU) because only a tracepoint-type perf event
 * can be inherited by the children of a traced task: see src/probes.c.
 */
#ifndef PT_TRACEFS_H
#define PT_TRACEFS_H

#include <stddef.h>
#include <stdint.h>

struct tracefs;

/* Finds tracefs, mounting it if needed; NULL with a message in err. */
struct tracefs *tracefs__open(char *err, size_t errlen);
/* Removes this run's events, then those left behind by runs that died
 * without their teardown. */
void tracefs__free(struct tracefs *t);

/*
 * Defines a uprobe ("p") or uretprobe ("r") event at path:offset and
 * returns its tracepoint id for perf_event_open, or -1 with a message.
 */
int tracefs__add_uprobe(struct tracefs *t, int is_return, const char *path,
			uint64_t offset, const char *name, char *err, size_t errlen);

#endif

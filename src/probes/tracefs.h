/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tracefs uprobe events.  peaktrace defines its probes there (rather than
 * through the perf "uprobe" PMU) because only a tracepoint-type perf event
 * can be inherited by the children of a traced task: see src/probes/probes.c.
 */
#ifndef PT_TRACEFS_H
#define PT_TRACEFS_H

#include <stddef.h>
#include <stdint.h>

struct tracefs;

/* Finds tracefs, mounting it if needed; NULL with a message in err. */
struct tracefs *tracefs__open(char *err, size_t errlen);
void tracefs__free(struct tracefs *t);

/*
 * The uprobe ("p") or uretprobe ("r") event named name at path:offset,
 * defined now or by an earlier run: its tracepoint id for perf_event_open,
 * or -1 with a message.
 */
int tracefs__add_uprobe(struct tracefs *t, int is_return, const char *path,
			uint64_t offset, const char *name, char *err, size_t errlen);

/* Removes the definitions no run uses any more (and old per-run groups of
 * runs that are gone).  Slow only for the kernel's event mutex. */
void tracefs__remove_unused(struct tracefs *t);

#endif

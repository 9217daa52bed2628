/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Uprobes on the C library of traced processes, attached per process and
 * inherited by every thread and child it starts.
 */
#ifndef PT_PROBES_H
#define PT_PROBES_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct bpf_program;
struct probes;

struct probes *probes__new(struct bpf_program *entry, struct bpf_program *ret,
			   char *err, size_t errlen);
/* Closes every event, then removes the tracefs definitions. */
void probes__free(struct probes *pr);

enum probes_result {
	PROBES_ATTACHED = 0,
	PROBES_NO_LIBC = 1,	/* no C library mapped (yet): static binary? */
	PROBES_GONE = 2,	/* the process no longer exists */
	PROBES_ERROR = -1,
};

/*
 * Probes the C library pid maps (defining the probes on first sight of
 * that file) on every thread of pid, inherited by what they start.
 * Threads that already carry this library's events are skipped.
 */
enum probes_result probes__attach_process(struct probes *pr, pid_t pid,
					  char *err, size_t errlen);

/*
 * The same for a process that has not run yet (held at the gate of
 * `peaktrace -- CMD`): it maps peaktrace's own C library, which is the one
 * the command will map unless it is linked against another.
 */
enum probes_result probes__attach_gated(struct probes *pr, pid_t pid,
					char *err, size_t errlen);

/* One line per probe: function, library, offset, why there. */
void probes__describe(const struct probes *pr, FILE *out);
size_t probes__event_count(const struct probes *pr);

#endif

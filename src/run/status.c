// SPDX-License-Identifier: GPL-2.0
/* The status line on stderr. */
#include <stdio.h>
#include <unistd.h>
#include "collect/collect.h"
#include "run/run.h"

/*
 * The status line goes on stderr when it is a terminal, but not over the
 * command's own output: with -- CMD the command writes to the same
 * terminal, so only when asked (--status); with -p, by default.
 */
static int status_allowed(const struct session *s)
{
	return isatty(STDERR_FILENO) && (!s->o->argv || s->o->status);
}

void status_line(struct session *s)
{
	struct pt_global g;
	char b1[32], b2[32], b3[32], b4[32];

	if (s->o->quiet || !status_allowed(s) || collect__read_global(&g, s->skel))
		return;
	fprintf(stderr, "\rpeaktrace: %zu process%s traced, heap %s (peak %s), RSS %s (peak %s)\033[K",
		proctable__alive(&s->procs), proctable__alive(&s->procs) == 1 ? "" : "es",
		report__bytes(g.live_bytes, b1, sizeof(b1)), report__bytes(g.peak_bytes, b2, sizeof(b2)),
		report__bytes(g.rss_live * sysconf(_SC_PAGESIZE), b3, sizeof(b3)),
		report__bytes(g.rss_peak * sysconf(_SC_PAGESIZE), b4, sizeof(b4)));
	s->status_shown = 1;
}

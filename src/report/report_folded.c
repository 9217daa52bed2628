// SPDX-License-Identifier: GPL-2.0
/*
 * Folded stacks: one line per stack held at the tree's peak,
 * "comm pid;outermost;...;innermost bytes", for flamegraph.pl, inferno and
 * speedscope.  Every stack, whatever --top says.  A frame is its function,
 * else its module and offset.  Readers split frames at ';' and the count
 * at the last space, so spaces may stay (C++ names have them); a ';' or a
 * control character in a name (a line break, an escape sequence meant for
 * a terminal) becomes '_'.
 */
#include <inttypes.h>
#include <string.h>
#include "report/report.h"
#include "report/writers.h"

static void name(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc(*s == ';' || (unsigned char)*s < 0x20 || *s == 0x7f ? '_' : *s, out);
}

int report__write_folded(const struct report *r, FILE *out, const struct writer_options *o)
{
	char buf[512];
	size_t i, k;

	(void)o;
	for (i = 0; i < r->stacks.n; i++) {
		const struct report_stack *st = &r->stacks.v[i];
		const struct report_trace *tr = st->trace;
		const struct report_proc *p = report__proc(r, tr->instance);

		name(out, p && p->comm[0] ? p->comm : "?");
		fprintf(out, " %u", tr->pid);
		if (!tr->nframes)
			fputs(";[no stack]", out);
		for (k = tr->nframes; k-- > 0;) {
			fputc(';', out);
			name(out, report__frame_name(tr->frames[k], buf, sizeof(buf)));
		}
		fprintf(out, " %" PRIu64 "\n", st->bytes);
	}
	return ferror(out) ? -1 : 0;
}

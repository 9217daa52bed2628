// SPDX-License-Identifier: GPL-2.0
/* What every part of a run uses: the clock, warnings, start-up phases. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include "run/run.h"
#include "util/utf8.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void warn(struct session *s, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!s->o->quiet) { /* may hold a traced program's name: escaped */
		fputs("peaktrace: warning: ", stderr);
		utf8__write_safe(stderr, buf);
		fputc('\n', stderr);
	}
	report__warn(&s->report, "%s", buf);
}

void phase(const struct options *o, const char *what, uint64_t t_start)
{
	if (o->verbose)
		fprintf(stderr, "peaktrace: %s at %.3f s\n", what, (now_ns() - t_start) / 1e9);
}

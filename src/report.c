// SPDX-License-Identifier: GPL-2.0
/* Report lifetime and small shared helpers of the writers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include "report.h"

#define LOSS 1
#define NOTE 0
#define PT_COUNTER_ROW(name, json, kind, text) [PT_LOST_##name] = { json, text, kind },
const struct report_counter report_counters[PT_LOST_COUNT] = {
	PT_COUNTER_LIST(PT_COUNTER_ROW)
};

uint64_t report__map_full(const struct report_lost *l)
{
	return l->count[PT_LOST_ALLOCS_FULL] + l->count[PT_LOST_STACKS_FULL] +
	       l->count[PT_LOST_REGIONS_FULL] + l->count[PT_LOST_PROCS_FULL];
}

static void stacks_free(struct report_stack *v, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < v[i].nframes; k++) {
			free(v[i].frames[k].function);
			free(v[i].frames[k].module);
			free(v[i].frames[k].file);
		}
		free(v[i].frames);
	}
	free(v);
}

void report__free(struct report *r)
{
	size_t i, k;

	stacks_free(r->stacks, r->nstacks);
	for (i = 0; i < r->nprocs; i++) {
		for (k = 0; k < r->procs[i].argc; k++)
			free(r->procs[i].argv[k]);
		free(r->procs[i].argv);
		stacks_free(r->procs[i].stacks, r->procs[i].nstacks);
	}
	free(r->procs);
	for (i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
}

int report__warn(struct report *r, const char *fmt, ...)
{
	char **nw = realloc(r->warnings, (r->nwarnings + 1) * sizeof(*nw));
	va_list ap;
	int ret;

	if (!nw)
		return -1;
	r->warnings = nw;
	va_start(ap, fmt);
	ret = vasprintf(&r->warnings[r->nwarnings], fmt, ap);
	va_end(ap);
	if (ret < 0)
		return -1;
	r->nwarnings++;
	return 0;
}

int report__has_losses(const struct report *r)
{
	size_t i;

	for (i = 0; i < PT_LOST_COUNT; i++)
		if (report_counters[i].loss && r->lost.count[i])
			return 1;
	for (i = 0; i < r->nprocs; i++)
		if (r->procs[i].probes_removed || r->procs[i].untraced)
			return 1;
	return 0;
}

const char *report__bytes(uint64_t bytes, char *buf, size_t len)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

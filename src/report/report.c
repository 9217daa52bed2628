// SPDX-License-Identifier: GPL-2.0
/* Report lifetime, views, and small helpers the writers share. */
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/frames.h"
#include "report/report.h"

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

size_t report_view__shown(const struct report_view *v, unsigned top)
{
	return v->n < top ? v->n : top;
}

uint64_t report_view__omitted(const struct report_view *v, unsigned top)
{
	uint64_t bytes = 0;
	size_t i;

	for (i = report_view__shown(v, top); i < v->n; i++)
		bytes += v->v[i].bytes;
	return bytes;
}

const char *report__module_name(const struct report_frame *f)
{
	const char *s = f->module ? strrchr(f->module, '/') : NULL;

	return s ? s + 1 : f->module ? f->module : "?";
}

const char *report__frame_name(const struct report_frame *f, char *buf, size_t len)
{
	if (f->function)
		return f->function;
	snprintf(buf, len, "%s+0x%" PRIx64, report__module_name(f), f->module_offset);
	return buf;
}

const struct report_proc *report__proc(const struct report *r, uint32_t instance)
{
	size_t i;

	for (i = 0; i < r->nprocs; i++)
		if (r->procs[i].instance == instance)
			return &r->procs[i];
	return NULL;
}

void report__free(struct report *r)
{
	size_t i, k;

	free(r->stacks.v);
	for (i = 0; i < r->nprocs; i++) {
		for (k = 0; k < r->procs[i].argc; k++)
			free(r->procs[i].argv[k]);
		free(r->procs[i].argv);
		free(r->procs[i].stacks.v);
	}
	free(r->procs);
	free(r->trees);
	for (i = 0; i < r->ntraces; i++)
		free(r->traces[i].frames);
	free(r->traces);
	frames__free(r->frames);
	for (i = 0; i < r->timeline.nprocs; i++) {
		free(r->timeline.procs[i].heap);
		free(r->timeline.procs[i].rss);
	}
	free(r->timeline.procs);
	free(r->timeline.t_ns);
	free(r->timeline.heap);
	free(r->timeline.rss);
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

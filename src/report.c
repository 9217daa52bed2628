// SPDX-License-Identifier: GPL-2.0
/* Report lifetime and small shared helpers of the writers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include "report.h"

#define LOST(field, json, text) { json, text, offsetof(struct report_lost, field) }
const struct report_lost_field report_lost_fields[] = {
	LOST(events, "events", "%llu process events dropped (ring buffer full)"),
	LOST(unknown_frees, "unknown_frees", "%llu frees of memory allocated before tracing or not seen"),
	LOST(map_full, "map_full", NULL),
	LOST(allocs_full, "allocs_map_full",
	     "%llu allocations not counted: allocation map full (--max-allocs)"),
	LOST(stacks_full, "stacks_map_full",
	     "%llu allocations not counted: stack map full (--max-stacks)"),
	LOST(regions_full, "regions_map_full", "%llu mmap regions not counted: region map full"),
	LOST(procs_full, "procs_map_full",
	     "%llu processes not traced: process map full (--max-procs)"),
	LOST(stack_errors, "stack_errors", "%llu allocations whose stack could not be captured"),
	LOST(overlaps, "region_overlaps_dropped",
	     "%llu unmaps that overlapped more regions than handled"),
	LOST(lock_timeouts, "unlocked_updates",
	     "%llu updates applied without the model lock (may be inexact)"),
	LOST(truncated, "truncated_stacks", "%llu stacks cut at the depth limit (--stack-depth)"),
};
const size_t report_lost_nfields = sizeof(report_lost_fields) / sizeof(report_lost_fields[0]);

uint64_t report__lost_value(const struct report_lost *l, const struct report_lost_field *f)
{
	return *(const uint64_t *)((const char *)l + f->offset);
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

	for (i = 0; i < report_lost_nfields; i++)
		if (report__lost_value(&r->lost, &report_lost_fields[i]))
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

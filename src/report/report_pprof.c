// SPDX-License-Identifier: GPL-2.0
/*
 * pprof: profile.proto, gzip-compressed, as go tool pprof, Pyroscope and
 * Parca read it.  One sample per stack held at the tree's peak, with two
 * values (inuse_space in bytes, inuse_objects as a count) and the process
 * as labels (pid, comm).  A location is one address of one image's mapping
 * with the functions inlined there as extra lines (innermost first, as
 * pprof wants); its address is the offset in its module.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "report/pb.h"
#include "report/report.h"
#include "report/writers.h"
#include "util/hindex.h"
#include "util/vec.h"

/* profile.proto field numbers */
enum { P_SAMPLE_TYPE = 1, P_SAMPLE, P_MAPPING, P_LOCATION, P_FUNCTION, P_STRING,
       P_DURATION = 10, P_DEFAULT_TYPE = 14 };

struct keyed {
	const void *a, *b;	/* interned pointers: equal keys are equal pointers */
};

struct table {
	struct keyed *v;
	size_t n, cap;
	struct hindex idx;
};

struct pprof {
	struct table strings, functions, mappings, locations;
	char **owned;		/* names made here (unnamed frames) */
	size_t nowned, capowned;
	struct pb fn, map, loc, sample, sub, line;
	struct pb out;
};

static int keyed_eq(const void *ctx, uint32_t idx)
{
	const struct table *t = ((const void *const *)ctx)[0];
	const struct keyed *k = ((const void *const *)ctx)[1];

	return t->v[idx].a == k->a && t->v[idx].b == k->b;
}

static int string_eq(const void *ctx, uint32_t idx)
{
	const struct table *t = ((const void *const *)ctx)[0];
	const struct keyed *k = ((const void *const *)ctx)[1];

	return !strcmp(t->v[idx].a, k->a);
}

/* The 1-based id of key in t (0-based for strings), *added if new; 0 and
 * *added -1 if memory ran out. */
static uint64_t find_or_add(struct table *t, struct keyed k, int by_string, int *added)
{
	const void *ctx[2] = { t, &k };
	uint64_t h = by_string ? hindex__hash(HINDEX_SEED, k.a, strlen(k.a)) :
				 hindex__hash(HINDEX_SEED, &k, sizeof(k));
	long i = hindex__find(&t->idx, h, by_string ? string_eq : keyed_eq, ctx);

	*added = 0;
	if (i >= 0)
		return (uint64_t)i + !by_string;
	if (vec_grow((void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v), 64) ||
	    hindex__add(&t->idx, h, t->n)) {
		*added = -1;	/* the caller marks the profile out of memory */
		return 0;
	}
	t->v[t->n] = k;
	*added = 1;
	return (uint64_t)t->n++ + !by_string;
}

static uint64_t str(struct pprof *pp, const char *s)
{
	int added;
	uint64_t i = find_or_add(&pp->strings, (struct keyed){ s ? s : "", NULL }, 1, &added);

	if (added > 0)
		pb_string(&pp->out, P_STRING, s ? s : "");
	pp->out.oom |= added < 0;
	return i;
}

/* A frame's function name: its own, else module+offset (made and kept). */
static const char *fn_name(struct pprof *pp, const struct report_frame *f)
{
	char buf[512], *s;

	if (f->function)
		return f->function;
	s = strdup(report__frame_name(f, buf, sizeof(buf)));
	if (!s)
		return "?";
	if (vec_grow((void **)&pp->owned, &pp->capowned, pp->nowned + 1, sizeof(char *), 64)) {
		free(s);
		return "?";
	}
	pp->owned[pp->nowned++] = s;
	return s;
}

static uint64_t mapping(struct pprof *pp, const struct report_frame *f)
{
	int added;
	uint64_t id = find_or_add(&pp->mappings, (struct keyed){ f->module, NULL }, 0, &added);

	pp->out.oom |= added < 0;
	if (added > 0) {
		pb_reset(&pp->sub);
		pb_uint(&pp->sub, 1, id);
		pb_int(&pp->sub, 5, (int64_t)str(pp, f->module ? f->module : "[unknown]"));
		pb_int(&pp->sub, 6, (int64_t)str(pp, f->build_id));
		pb_uint(&pp->sub, 7, 1);	/* has_functions */
		pb_uint(&pp->sub, 8, 1);	/* has_filenames */
		pb_uint(&pp->sub, 9, 1);	/* has_line_numbers */
		pb_uint(&pp->sub, 10, 1);	/* has_inline_frames */
		pb_msg(&pp->map, P_MAPPING, &pp->sub);
	}
	return id;
}

static uint64_t function(struct pprof *pp, const struct report_frame *f)
{
	const char *name = f->function;
	int added;
	uint64_t id;

	/* unnamed frames: one function per module offset */
	id = find_or_add(&pp->functions,
			 (struct keyed){ name ? (const void *)name : (const void *)f,
					 name ? (const void *)f->file : NULL }, 0, &added);
	pp->out.oom |= added < 0;
	if (added > 0) {
		uint64_t n = str(pp, fn_name(pp, f));

		pb_reset(&pp->sub);
		pb_uint(&pp->sub, 1, id);
		pb_int(&pp->sub, 2, (int64_t)n);
		pb_int(&pp->sub, 3, (int64_t)n);
		pb_int(&pp->sub, 4, (int64_t)str(pp, f->file));
		pb_msg(&pp->fn, P_FUNCTION, &pp->sub);
	}
	return id;
}

/* The location of the chain of frames v[0..n) (one address: the functions
 * inlined there, then the one it is in). */
static uint64_t location(struct pprof *pp, const struct report_frame *const *v, size_t n)
{
	int added;
	uint64_t id = find_or_add(&pp->locations, (struct keyed){ v[0], NULL }, 0, &added);
	size_t k;

	pp->out.oom |= added < 0;
	if (added > 0) {
		struct pb loc = { 0 };

		pb_uint(&loc, 1, id);
		pb_uint(&loc, 2, mapping(pp, v[n - 1]));
		pb_uint(&loc, 3, v[n - 1]->module_offset);
		for (k = 0; k < n; k++) {
			pb_reset(&pp->line);
			pb_uint(&pp->line, 1, function(pp, v[k]));
			pb_int(&pp->line, 2, v[k]->line);
			pb_msg(&loc, 4, &pp->line);
		}
		pb_msg(&pp->loc, P_LOCATION, &loc);
		pb_free(&loc);
	}
	return id;
}

static void value_type(struct pprof *pp, unsigned field, const char *type, const char *unit)
{
	pb_reset(&pp->sub);
	pb_int(&pp->sub, 1, (int64_t)str(pp, type));
	pb_int(&pp->sub, 2, (int64_t)str(pp, unit));
	pb_msg(&pp->out, field, &pp->sub);
}

static void sample(struct pprof *pp, const struct report *r, const struct report_stack *st)
{
	const struct report_trace *tr = st->trace;
	const struct report_proc *p = report__proc(r, tr->instance);
	uint64_t locs[4 * PT_MAX_STACK_DEPTH + 1], values[2] = { st->bytes, st->allocations };
	struct pb label = { 0 };
	size_t k = 0, first, nlocs = 0;

	while (k < tr->nframes && nlocs < sizeof(locs) / sizeof(locs[0])) {
		first = k;
		while (k + 1 < tr->nframes && tr->frames[k]->inlined)
			k++;
		locs[nlocs++] = location(pp, tr->frames + first, ++k - first);
	}
	pb_reset(&pp->sample);
	pb_packed(&pp->sample, 1, locs, nlocs);
	pb_packed(&pp->sample, 2, values, 2);
	pb_int(&label, 1, (int64_t)str(pp, "pid"));
	pb_int(&label, 3, tr->pid);
	pb_msg(&pp->sample, 3, &label);
	pb_reset(&label);
	pb_int(&label, 1, (int64_t)str(pp, "comm"));
	pb_int(&label, 2, (int64_t)str(pp, p && p->comm[0] ? p->comm : "?"));
	pb_msg(&pp->sample, 3, &label);
	pb_free(&label);
	pb_msg(&pp->out, P_SAMPLE, &pp->sample);
}

static int gzip_out(const struct pb *m, FILE *out)
{
	unsigned char buf[1 << 16];
	z_stream z;
	int ret;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z.next_in = m->b;
	z.avail_in = (uInt)m->n;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		ret = deflate(&z, Z_FINISH);
		fwrite(buf, 1, sizeof(buf) - z.avail_out, out);
	} while (ret == Z_OK);
	deflateEnd(&z);
	return ret == Z_STREAM_END && !ferror(out) ? 0 : -1;
}

static void table_free(struct table *t)
{
	free(t->v);
	hindex__free(&t->idx);
}

int report__write_pprof(const struct report *r, FILE *out, const struct writer_options *o)
{
	struct pprof pp;
	size_t i;
	int ret;

	(void)o;
	memset(&pp, 0, sizeof(pp));
	str(&pp, "");	/* string 0 is the empty string */
	value_type(&pp, P_SAMPLE_TYPE, "inuse_space", "bytes");
	value_type(&pp, P_SAMPLE_TYPE, "inuse_objects", "count");
	for (i = 0; i < r->stacks.n; i++)
		sample(&pp, r, &r->stacks.v[i]);
	/* the tables after the samples that filled them (field order is free) */
	for (i = 0; i < 3; i++) {
		const struct pb *part = i == 0 ? &pp.map : i == 1 ? &pp.loc : &pp.fn;

		if (pp.out.oom || vec_grow((void **)&pp.out.b, &pp.out.cap, pp.out.n + part->n, 1, 256)) {
			pp.out.oom = 1;
			break;
		}
		if (part->n)
			memcpy(pp.out.b + pp.out.n, part->b, part->n);
		pp.out.n += part->n;
		pp.out.oom |= part->oom;
	}
	pb_int(&pp.out, P_DURATION, (int64_t)r->duration_ns);
	pb_int(&pp.out, P_DEFAULT_TYPE, (int64_t)str(&pp, "inuse_space"));
	ret = pp.out.oom ? -1 : gzip_out(&pp.out, out);
	for (i = 0; i < pp.nowned; i++)
		free(pp.owned[i]);
	free(pp.owned);
	table_free(&pp.strings);
	table_free(&pp.functions);
	table_free(&pp.mappings);
	table_free(&pp.locations);
	pb_free(&pp.fn);
	pb_free(&pp.map);
	pb_free(&pp.loc);
	pb_free(&pp.sample);
	pb_free(&pp.sub);
	pb_free(&pp.line);
	pb_free(&pp.out);
	return ret;
}

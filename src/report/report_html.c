// SPDX-License-Identifier: GPL-2.0
/*
 * A self-contained HTML page: the summary, the timeline and a flame graph of
 * the stacks at the tree's peak (and at each process's own peak), rendered
 * by the script in html/page.js from the data embedded here as JSON.
 * Nothing is fetched: style and script are inline (make turns html/page.css
 * and html/page.js into C strings, build/html_assets.h).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "model/frames.h"
#include "report/json.h"
#include "report/report.h"
#include "report/writers.h"
#include "html_assets.h"

/* What a frame is, for its colour and its legend. */
static const char *frame_class(const struct report_frame *f)
{
	const char *m = report__module_name(f);

	if (f->kind == PT_FRAME_PYTHON)
		return "python";
	if (!f->module)
		return "unknown";
	if (!strncmp(m, "libc.so", 7) || !strncmp(m, "libc-", 5) || !strncmp(m, "ld-musl", 7) ||
	    !strncmp(m, "ld-linux", 8))
		return "libc";
	if (strstr(m, ".so"))
		return "library";
	return "program";
}

/* A view's stacks: [bytes, allocations, process, [frames innermost first]]
 * with frames as indices into the frame list written after the views. */
static void view(struct json *j, const struct report *r, const char *label,
		 const struct report_view *v, uint64_t total)
{
	size_t i, k;

	json__begin_object(j);
	json__string_field(j, "label", label);
	json__u64_field(j, "total", total);
	json__key(j, "stacks");
	json__begin_array(j);
	for (i = 0; i < v->n; i++) {
		const struct report_trace *tr = v->v[i].trace;
		const struct report_proc *p = report__proc(r, tr->instance);
		char proc[64];

		snprintf(proc, sizeof(proc), "%s %u", p && p->comm[0] ? p->comm : "?", tr->pid);
		json__begin_array(j);
		json__u64(j, v->v[i].bytes);
		json__u64(j, v->v[i].allocations);
		json__string(j, proc);
		json__begin_array(j);
		for (k = 0; k < tr->nframes; k++)
			json__u64(j, frames__index(r->frames, tr->frames[k]));
		json__end_array(j);
		json__end_array(j);
	}
	json__end_array(j);
	json__end_object(j);
}

static void data(struct json *j, const struct report *r)
{
	const struct report_timeline *tl = &r->timeline;
	size_t i, n = frames__count(r->frames);
	char label[128], name[512];

	json__begin_object(j);
	json__bool_field(j, "complete", !report__has_losses(r));
	json__key(j, "losses");
	json__begin_object(j);
	for (i = 0; i < PT_LOST_COUNT; i++)
		if (report_counters[i].loss && r->lost.count[i])
			json__u64_field(j, report_counters[i].json, r->lost.count[i]);
	json__end_object(j);
	json__u64_field(j, "peak_bytes", r->peak_bytes);
	json__u64_field(j, "peak_time_ns", r->peak_time_ns);
	json__u64_field(j, "rss_peak_bytes", r->rss.peak_bytes);
	json__u64_field(j, "rss_peak_time_ns", r->rss.peak_time_ns);
	json__u64_field(j, "duration_ns", r->duration_ns);
	json__key(j, "processes");
	json__begin_array(j);
	for (i = 0; i < r->nprocs; i++) {
		const struct report_proc *p = &r->procs[i];

		json__begin_object(j);
		json__u64_field(j, "pid", p->pid);
		json__string_field(j, "comm", p->comm);
		json__u64_field(j, "peak_bytes", p->peak_bytes);
		json__u64_field(j, "start_ns", p->start_ns);
		json__u64_or_null_field(j, "end_ns", !p->alive, p->end_ns);
		json__end_object(j);
	}
	json__end_array(j);
	json__key(j, "timeline");
	json__begin_object(j);
	json__u64_array(j, "t_ns", tl->t_ns, tl->n);
	json__u64_array(j, "heap", tl->heap, tl->n);
	json__u64_array(j, "rss", tl->rss, tl->n);
	json__key(j, "processes");
	json__begin_array(j);
	for (i = 0; i < tl->nprocs; i++) {
		json__begin_object(j);
		json__u64_field(j, "pid", tl->procs[i].pid);
		json__u64_field(j, "first", tl->procs[i].first);
		json__u64_array(j, "heap", tl->procs[i].heap, tl->procs[i].n);
		json__end_object(j);
	}
	json__end_array(j);
	json__end_object(j);
	json__key(j, "views");
	json__begin_array(j);
	view(j, r, "the tree's peak", &r->stacks, r->peak_bytes);
	for (i = 0; i < r->nprocs; i++) {
		const struct report_proc *p = &r->procs[i];

		if (!p->stacks.n)
			continue;
		snprintf(label, sizeof(label), "own peak of pid %u (%s)", p->pid, p->comm);
		view(j, r, label, &p->stacks, p->peak_bytes);
	}
	json__end_array(j);
	json__key(j, "frames");
	json__begin_array(j);
	for (i = 0; i < n; i++) {
		const struct report_frame *f = frames__at(r->frames, i);

		json__begin_array(j);
		json__string(j, report__frame_name(f, name, sizeof(name)));
		json__string(j, frame_class(f));
		json__string(j, f->file);
		json__u64(j, (uint64_t)(f->line > 0 ? f->line : 0));
		json__string(j, f->module);
		json__end_array(j);
	}
	json__end_array(j);
	json__end_object(j);
}

int report__write_html(const struct report *r, FILE *out, const struct writer_options *o)
{
	char *buf = NULL, *p, *q;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	struct json j;

	(void)o;
	if (!mem)
		return -1;
	json__init(&j, mem, 0);
	data(&j, r);
	if (fclose(mem)) {
		free(buf);
		return -1;
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<title>peaktrace report</title>\n<style>\n", out);
	fputs(html_page_css, out);
	fputs("</style></head><body>\n<script id=\"data\" type=\"application/json\">", out);
	/* "</" inside a string would end the script element: JSON's "<\/" */
	for (p = buf; (q = memmem(p, (size_t)(buf + len - p), "</", 2)); p = q + 1) {
		fwrite(p, 1, (size_t)(q - p), out);
		fputs("<\\", out);
	}
	fwrite(p, 1, (size_t)(buf + len - p), out);
	fputs("</script>\n<script>\n", out);
	fputs(html_page_js, out);
	fputs("</script>\n</body></html>\n", out);
	free(buf);
	return ferror(out) ? -1 : 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The lazy-snapshot peak model (bpf/model/peak_model.h) against brute force:
 * random event sequences over several processes and stacks, with the full
 * history kept; the values read back at the tree peak and at each
 * process's peak must equal the history's values at the first moment each
 * peak was reached.  Then model__build's ranking and top-N on top of it.
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "collect/collect.h"
#include "model/frames.h"
#include "model/model.h"
#include "model/peak_model.h"

#define NPROC 4
#define NSTACK 6
#define STEPS 400

struct truth {
	int64_t live[NPROC][NSTACK];
	int64_t count[NPROC][NSTACK];
	int alive[NPROC];
	uint64_t tree_peak, proc_peak[NPROC];
	int64_t at_tree[NPROC][NSTACK], at_tree_count[NPROC][NSTACK], proc_at_tree[NPROC];
	int64_t at_proc[NPROC][NSTACK], at_proc_count[NPROC][NSTACK];
};

static int64_t tree_total(const struct truth *t)
{
	int64_t sum = 0;

	for (int p = 0; p < NPROC; p++)
		for (int s = 0; s < NSTACK && t->alive[p]; s++)
			sum += t->live[p][s];
	return sum;
}

static void run_sequence(unsigned seed)
{
	struct pt_global g = { 0 };
	struct pt_proc procs[NPROC] = { 0 };
	struct pt_stack_rec recs[NPROC][NSTACK];
	struct truth t;

	memset(recs, 0, sizeof(recs));
	memset(&t, 0, sizeof(t));
	rnd_state = 88172645463325252ULL + seed;
	for (int p = 0; p < NPROC; p++) {
		procs[p].alive = 1;
		t.alive[p] = 1;
	}
	for (int step = 0; step < STEPS; step++) {
		int p = rnd() % NPROC, s = rnd() % NSTACK;
		int64_t bytes;

		if (!t.alive[p])
			continue;
		if (rnd() % 50 == 0 && step > STEPS / 4) {
			pt_model_end(&g, &procs[p], NULL, step);
			t.alive[p] = 0;
			continue;
		}
		if (t.count[p][s] > 0 && rnd() % 3 == 0) {
			bytes = -(t.live[p][s] / t.count[p][s]); /* free one average block */
			if (t.count[p][s] == 1)
				bytes = -t.live[p][s];
			pt_model_apply(&g, &procs[p], &recs[p][s], bytes, -1, step);
			t.live[p][s] += bytes;
			t.count[p][s]--;
		} else {
			bytes = 1 + rnd() % 1000;
			pt_model_apply(&g, &procs[p], &recs[p][s], bytes, 1, step);
			t.live[p][s] += bytes;
			t.count[p][s]++;
		}
		/* the truth: record values at the first moment of each new peak */
		if ((uint64_t)tree_total(&t) > t.tree_peak) {
			t.tree_peak = tree_total(&t);
			for (int q = 0; q < NPROC; q++) {
				t.proc_at_tree[q] = 0;
				for (int k = 0; k < NSTACK; k++) {
					t.at_tree[q][k] = t.alive[q] ? t.live[q][k] : 0;
					t.at_tree_count[q][k] = t.alive[q] ? t.count[q][k] : 0;
					t.proc_at_tree[q] += t.at_tree[q][k];
				}
			}
		}
		int64_t own = 0;

		for (int k = 0; k < NSTACK; k++)
			own += t.live[p][k];
		if ((uint64_t)own > t.proc_peak[p]) {
			t.proc_peak[p] = own;
			for (int k = 0; k < NSTACK; k++) {
				t.at_proc[p][k] = t.live[p][k];
				t.at_proc_count[p][k] = t.count[p][k];
			}
		}
	}

	CHECK_U64(g.peak_bytes, t.tree_peak);
	CHECK_U64(g.live_bytes, tree_total(&t));
	for (int p = 0; p < NPROC; p++) {
		CHECK_U64(procs[p].peak_bytes, t.proc_peak[p]);
		CHECK_U64(pt_model_proc_at_tree_peak(&g, &procs[p]), t.proc_at_tree[p]);
		for (int s = 0; s < NSTACK; s++) {
			__u64 b, c;

			pt_model_stack_at_tree_peak(&g, &procs[p], &recs[p][s], &b, &c);
			CHECK_U64(b, t.at_tree[p][s]);
			CHECK_U64(c, t.at_tree_count[p][s]);
			pt_model_stack_at_proc_peak(&procs[p], &recs[p][s], &b, &c);
			CHECK_U64(b, t.at_proc[p][s]);
			CHECK_U64(c, t.at_proc_count[p][s]);
		}
	}
}

/* A process that ended before the tree peak contributes nothing to it;
 * one that ended at the peak epoch keeps what it had. */
static void ended_processes(void)
{
	struct pt_global g = { 0 };
	struct pt_proc a = { .alive = 1 }, b = { .alive = 1 };
	struct pt_stack_rec sa = { 0 }, sb = { 0 };
	__u64 bytes, count;

	pt_model_apply(&g, &a, &sa, 100, 1, 1);	/* tree 100 */
	pt_model_end(&g, &a, NULL, 2);		/* a leaves: tree 0 */
	pt_model_apply(&g, &b, &sb, 150, 1, 3);	/* tree 150: new peak without a */
	CHECK_U64(g.peak_bytes, 150);
	CHECK_U64(pt_model_proc_at_tree_peak(&g, &a), 0);
	pt_model_stack_at_tree_peak(&g, &a, &sa, &bytes, &count);
	CHECK_U64(bytes, 0);
	CHECK_U64(a.live_bytes, 100); /* still held when it ended */
	pt_model_apply(&g, &a, &sa, 50, 1, 4); /* late event of an ended image: ignored */
	CHECK_U64(g.live_bytes, 150);
	pt_model_end(&g, &b, NULL, 5);
	CHECK_U64(pt_model_proc_at_tree_peak(&g, &b), 150);
	pt_model_stack_at_tree_peak(&g, &b, &sb, &bytes, &count);
	CHECK_U64(bytes, 150);
	CHECK_U64(count, 1);
}

/* A tree's RSS (--all, --cgroup): the sum of its live members' exact
 * pages, its peak and when, the approximate sum's peak and the drift; a
 * member that ends takes its pages out. */
static void tree_rss(void)
{
	struct pt_global g = { 0 };
	struct pt_proc a = { .alive = 1 }, b = { .alive = 1 };
	struct pt_tree t = { 0 };

	pt_model_rss(&g, &a, &t, PT_RSS_ANON, 100, 90, &(__u64){1});
	pt_model_rss(&g, &b, &t, PT_RSS_ANON, 50, 60, &(__u64){2});
	CHECK_U64(t.rss_live, 150);
	CHECK_U64(t.rss_peak, 150);
	CHECK_U64(t.rss_peak_time_ns, 2);
	CHECK_U64(t.approx_live, 150);
	CHECK_U64(t.max_drift, 10);	/* after a alone: 100 exact, 90 counted */
	pt_model_rss(&g, &a, &t, PT_RSS_FILE, 30, 0, &(__u64){3});
	CHECK_U64(t.rss_peak, 180);
	CHECK_U64(t.max_drift, 30);
	pt_model_end(&g, &a, &t, 4);
	CHECK_U64(t.rss_live, 50);
	CHECK_U64(t.approx_live, 60);
	CHECK_U64(t.rss_peak, 180);
	CHECK_U64(t.rss_peak_time_ns, 3);
	pt_model_rss(&g, &a, &t, PT_RSS_ANON, 500, 500, &(__u64){5});	/* ended: ignored */
	CHECK_U64(t.rss_live, 50);
	CHECK_U64(g.rss_peak, 180);
}

static int stack_calls, symbolize_calls;

/* Every stack is the same two addresses. */
static int fake_stack(void *ctx, uint64_t stack_id, uint64_t *ips, size_t max, uint32_t *flags)
{
	(void)ctx;
	(void)max;
	*flags = stack_id == 9 ? PT_STACK_TRUNCATED : 0;
	ips[0] = 0x10;
	ips[1] = 0x20;
	stack_calls++;
	return 2;
}

/* 0x10 is f inlined into g; 0x20 is h. */
static size_t fake_symbolize(void *ctx, uint32_t instance, uint64_t ip, struct report_frame *out,
			     size_t max)
{
	(void)ctx;
	(void)instance;
	(void)max;
	symbolize_calls++;
	out[0].address = ip;
	out[0].module = strdup("m");
	if (ip != 0x10) {
		out[0].function = strdup("h");
		return 1;
	}
	out[0].function = strdup("f");
	out[0].inlined = 1;
	out[1].address = ip;
	out[1].module = strdup("m");
	out[1].function = strdup("g");
	out[1].inlined_into = 1;
	return 2;
}

/* model__build: every stack in the views, ranked; the gated launcher left
 * out, processes in start order.  model__symbolize: each distinct stack
 * read once, each (image, address) symbolized once, equal frames one. */
static void build_report(void)
{
	struct collected_proc procs[3] = {
		{ .instance = 1, .p = { .tgid = 10, .alive = 1, .start_ns = 1005, .peak_bytes = 600,
					 .peak_epoch = 3, .live_bytes = 600, .tree_snap_bytes = 600,
					 .tree_snap_epoch = 3 } },
		{ .instance = 0x80000001, .p = { .tgid = 10, .start_ns = 1000 } }, /* launcher */
		{ .instance = 2, .p = { .tgid = 11, .alive = 1, .start_ns = 1002, .peak_bytes = 5,
					 .peak_epoch = 1, .live_bytes = 5 } },
	};
	struct collected_stack stacks[4] = {
		{ .key = { 1, 0, 7 }, .rec = { .live_bytes = 100, .live_count = 1 } },
		{ .key = { 1, 0, 8 }, .rec = { .live_bytes = 300, .live_count = 3 } },
		{ .key = { 1, 0, 9 }, .rec = { .live_bytes = 200, .live_count = 2 } },
		{ .key = { 2, 0, 7 }, .rec = { .live_bytes = 5, .live_count = 1 } },
	};
	struct collected c = { .global = { .peak_bytes = 605, .peak_epoch = 3, .live_bytes = 605,
					   .peak_time_ns = 2000 },
			       .procs = procs, .nprocs = 3, .stacks = stacks, .nstacks = 4 };
	struct proc_info launcher = { .instance = 0x80000001, .launcher = 1 };
	struct proctable t;
	struct report r;

	proctable__init(&t);
	proctable__add(&t, &launcher);
	memset(&r, 0, sizeof(r));
	struct model_sources src = { fake_stack, fake_symbolize, NULL, NULL };

	CHECK(model__build(&r, &c, &t, 1000, 4096) == 0);
	CHECK_U64(r.peak_bytes, 605);
	CHECK_U64(r.peak_time_ns, 1000);
	CHECK_U64(r.stacks.n, 4);
	CHECK_U64(report_view__shown(&r.stacks, 2), 2);
	CHECK_U64(r.stacks.v[0].bytes, 300);
	CHECK_U64(r.stacks.v[0].allocations, 3);
	CHECK_U64(r.stacks.v[0].trace->stack_id, 8);
	CHECK_U64(r.stacks.v[1].bytes, 200);
	CHECK_U64(report_view__omitted(&r.stacks, 2), 105);
	CHECK_U64(r.nprocs, 2);
	CHECK_U64(r.procs[0].instance, 2); /* started first */
	CHECK_U64(r.procs[1].bytes_at_tree_peak, 600);
	CHECK_U64(r.procs[1].stacks.n, 3);
	/* the tree's view and pid 10's share their traces */
	CHECK(r.procs[1].stacks.v[0].trace == r.stacks.v[0].trace);
	CHECK(model__symbolize(&r, &src, 2) == 0);
	/* top 2: (1,8) (1,9) for the tree and pid 10, (2,7) for pid 11 */
	CHECK(stack_calls == 3);
	CHECK(symbolize_calls == 4); /* 2 addresses in each of 2 images */
	CHECK(r.stacks.v[1].trace->truncated && !r.stacks.v[0].trace->truncated);
	CHECK_U64(r.stacks.v[0].trace->nframes, 3);
	CHECK_STR(r.stacks.v[0].trace->frames[0]->function, "f");
	CHECK(r.stacks.v[0].trace->frames[0]->kind == PT_FRAME_INLINED);
	CHECK(r.stacks.v[0].trace->frames[1]->kind == PT_FRAME_NATIVE);
	CHECK_STR(r.stacks.v[0].trace->frames[2]->function, "h");
	/* the same frames in both images (same addresses): interned once */
	CHECK(r.procs[0].stacks.v[0].trace->frames[2] == r.stacks.v[0].trace->frames[2]);
	CHECK_U64(frames__count(r.frames), 3);
	CHECK(!r.stacks.v[2].trace->symbolized); /* (1,7): in no top 2 */
	CHECK(model__symbolize(&r, &src, MODEL_ALL_STACKS) == 0);
	CHECK(stack_calls == 4 && symbolize_calls == 4);
	CHECK(r.stacks.v[2].trace->symbolized);
	report__free(&r);
	proctable__free(&t);
}

int main(void)
{
	for (unsigned seed = 0; seed < 200; seed++)
		run_sequence(seed);
	ended_processes();
	tree_rss();
	build_report();
	return check_report("test_model");
}

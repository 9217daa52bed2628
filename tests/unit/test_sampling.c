// SPDX-License-Identifier: GPL-2.0
/*
 * Sampled small blocks folded back into stacks (src/model/sampling.c): the
 * exact small-block total of each process split between its sampled stacks
 * by sampled blocks, parts summing to the total exactly, added to the
 * stack's exact large-block record; a process with no sample keeps its
 * small bytes as one "no stack sampled" stack; then shown by model__build.
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "collect/collect.h"
#include "model/model.h"
#include "model/peak_model.h"
#include "model/sampling.h"

#define S PT_STACK_SMALL
#define U PT_STACK_UNSAMPLED

static const struct collected_stack *find(const struct collected *c, uint32_t inst, uint64_t id)
{
	for (size_t i = 0; i < c->nstacks; i++)
		if (c->stacks[i].key.instance == inst && c->stacks[i].key.stack_id == id)
			return &c->stacks[i];
	return NULL;
}

static int no_stack(void *ctx, uint64_t id, uint64_t *ips, size_t max, uint32_t *flags)
{
	(void)ctx, (void)id, (void)ips, (void)max, (void)flags;
	return -1;
}

static size_t no_symbols(void *ctx, uint32_t inst, uint64_t ip, struct report_frame *out, size_t max)
{
	(void)ctx, (void)inst, (void)ip, (void)out, (void)max;
	return 0;
}

int main(void)
{
	/* Read at their live values: every snapshot is of an older epoch. */
	struct collected_proc procs[2] = {
		{ .instance = 1, .p = { .tgid = 10, .alive = 1, .peak_epoch = 1, .live_bytes = 2000,
					 .peak_bytes = 2000 } },
		{ .instance = 2, .p = { .tgid = 11, .alive = 1, .peak_epoch = 1, .live_bytes = 500,
					 .peak_bytes = 500 } },
	};
	struct collected_stack *st = calloc(8, sizeof(*st));
	const struct collected_stack *a, *b, *d;
	struct collected c = { .global = { .peak_epoch = 1, .peak_bytes = 2500, .live_bytes = 2500 },
			       .procs = procs, .nprocs = 2, .stacks = st, .nstacks = 7,
			       .sample_bytes = 100 };
	struct model_sources src = { no_stack, no_symbols, NULL, NULL };
	struct proctable t;
	struct report r;

	/* process 1: stack 7 holds one large block and 3 sampled small ones,
	 * stack 8 only sampled small ones, stack 9 one sampled; 3000 - 1000
	 * large = 1000 small bytes in all (300 + 50 + 10 sampled, 640 not) */
	st[0] = (struct collected_stack){ .key = { 1, 0, 7 }, .rec = { .live_bytes = 1000, .live_count = 1 } };
	st[1] = (struct collected_stack){ .key = { 1, 0, U }, .rec = { .live_bytes = 640, .live_count = 30 } };
	st[2] = (struct collected_stack){ .key = { 1, 0, 7 | S }, .rec = { .live_bytes = 300, .live_count = 3 } };
	st[3] = (struct collected_stack){ .key = { 1, 0, 8 | S }, .rec = { .live_bytes = 50, .live_count = 1 } };
	st[4] = (struct collected_stack){ .key = { 1, 0, 9 | S }, .rec = { .live_bytes = 10, .live_count = 1 } };
	/* process 2: small blocks, none sampled; and a stack of no process */
	st[5] = (struct collected_stack){ .key = { 2, 0, U }, .rec = { .live_bytes = 500, .live_count = 5 } };
	st[6] = (struct collected_stack){ .key = { 3, 0, 4 | S }, .rec = { .live_bytes = 5, .live_count = 1 } };

	CHECK(sampling__fold(&c) == 0);
	CHECK_U64(c.nstacks, 5);	/* 1:7 1:8 1:9 2:U 3:4 */
	a = find(&c, 1, 7), b = find(&c, 1, 8), d = find(&c, 1, 9);
	CHECK(a && b && d && !find(&c, 1, U) && !find(&c, 1, 7 | S));
	/* 1000 small bytes by 5 samples: 600, 200, 200 (running floors) */
	CHECK_U64(a->rec.live_bytes, 1600);
	CHECK_U64(a->est_tree_bytes, 600);
	CHECK_U64(a->est_proc_bytes, 600);
	CHECK_U64(a->rec.live_count, 1 + 6);	/* 600 / mean sampled size 100 */
	CHECK_U64(b->rec.live_bytes, 200);
	CHECK_U64(b->rec.live_count, 4);	/* 200 / 50 */
	CHECK_U64(d->rec.live_bytes, 200);
	CHECK_U64(a->rec.snap_bytes + b->rec.snap_bytes + d->rec.snap_bytes, 2000);
	CHECK_U64(c.sampling.small_bytes, 1500);
	CHECK_U64(c.sampling.sampled_blocks, 5);
	CHECK_U64(c.sampling.unattributed_bytes, 500);
	CHECK(find(&c, 2, U) && find(&c, 2, U)->rec.live_bytes == 500);

	/* shown: estimates marked, the unsampled bytes as a stack of their own */
	proctable__init(&t);
	memset(&r, 0, sizeof(r));
	CHECK(model__build(&r, &c, &t, 0, 4096) == 0);
	CHECK(model__symbolize(&r, &src, MODEL_ALL_STACKS) == 0);
	CHECK_U64(r.sampling.sample_bytes, 100);
	CHECK_U64(r.stacks.n, 4);
	CHECK_U64(r.stacks.v[0].bytes, 1600);
	CHECK_U64(r.stacks.v[0].estimated_bytes, 600);
	CHECK_U64(r.stacks.v[1].bytes, 500);
	CHECK_U64(r.stacks.v[1].trace->nframes, 1);
	CHECK_STR(r.stacks.v[1].trace->frames[0]->function, "[small blocks: no stack sampled]");
	report__free(&r);
	proctable__free(&t);

	/* A process with small blocks, none sampled, at the tree peak (U holds
	 * them, snapshotted then); later a sampled block on stack 6.  The end
	 * moment's split must not show at the peak: stack 6 held nothing then. */
	{
		struct collected_proc pr = { .instance = 1, .p = { .tgid = 10, .alive = 1,
								 .peak_epoch = 2 } };
		struct collected_stack *v = calloc(4, sizeof(*v));
		struct collected c2 = { .global = { .peak_epoch = 2 }, .procs = &pr, .nprocs = 1,
					.stacks = v, .nstacks = 2, .sample_bytes = 16384 };
		const struct collected_stack *six;
		__u64 b, k;

		v[0] = (struct collected_stack){ .key = { 1, 0, U },
			.rec = { .live_bytes = 6400, .live_count = 100, .snap_bytes = 12800,
				 .snap_count = 200, .snap_epoch = 2, .psnap_bytes = 12800,
				 .psnap_count = 200, .psnap_epoch = 2 } };
		v[1] = (struct collected_stack){ .key = { 1, 0, 6 | S },
			.rec = { .live_bytes = 64, .live_count = 1, .snap_epoch = 2, .psnap_epoch = 2 } };
		CHECK(sampling__fold(&c2) == 0);
		six = find(&c2, 1, 6);
		CHECK(six && find(&c2, 1, U));
		pt_model_stack_at_tree_peak(&c2.global, &pr.p, &six->rec, &b, &k);
		CHECK_U64(b, 0);
		pt_model_stack_at_proc_peak(&pr.p, &six->rec, &b, &k);
		CHECK_U64(b, 0);
		CHECK_U64(six->rec.live_bytes, 6464);	/* at the end: everything split */
		pt_model_stack_at_tree_peak(&c2.global, &pr.p, &find(&c2, 1, U)->rec, &b, &k);
		CHECK_U64(b, 12800);
		CHECK_U64(c2.sampling.unattributed_bytes, 12800);
		free(c2.stacks);
	}

	/* no sampling: nothing changes */
	c.sample_bytes = 0;
	c.nstacks = 1;
	CHECK(sampling__fold(&c) == 0 && c.nstacks == 1);
	free(c.stacks);
	return check_report("test_sampling");
}

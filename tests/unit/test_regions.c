// SPDX-License-Identifier: GPL-2.0
/*
 * Region cutting (bpf/regions/cut.h) against a page bitmap: random maps and
 * unmaps over a small address space, each unmap cutting every region it
 * overlaps as region_remove does; after every step the regions must cover
 * exactly the mapped pages, and each unmap must report exactly the mapped
 * bytes it removed.
 */
#include <stdlib.h>
#include "check.h"
#include "regions/cut.h"

#define PAGES 64
#define PAGE 4096ULL
#define MAXR 256

struct region {
	__u64 start, len;
};

static struct region reg[MAXR];
static int nreg;
static unsigned char mapped[PAGES];

static __u64 cut_all(__u64 lo, __u64 hi)
{
	struct region keep[MAXR];
	__u64 removed = 0;
	int i, n = 0;

	for (i = 0; i < nreg; i++) {
		struct pt_cut c;

		if (reg[i].start >= hi || reg[i].start + reg[i].len <= lo) {
			keep[n++] = reg[i];
			continue;
		}
		pt_region_cut(reg[i].start, reg[i].len, lo, hi, &c);
		removed += c.removed;
		if (c.left_len)
			keep[n++] = (struct region){ reg[i].start, c.left_len };
		if (c.right_len)
			keep[n++] = (struct region){ c.right_start, c.right_len };
	}
	for (i = 0; i < n; i++)
		reg[i] = keep[i];
	nreg = n;
	return removed;
}

static int covers_exactly(void)
{
	unsigned char seen[PAGES] = { 0 };
	int i;
	__u64 p;

	for (i = 0; i < nreg; i++) {
		if (!reg[i].len || reg[i].start % PAGE || reg[i].len % PAGE)
			return 0;
		for (p = reg[i].start / PAGE; p < (reg[i].start + reg[i].len) / PAGE; p++)
			if (p >= PAGES || seen[p]++)
				return 0; /* outside, or two regions on one page */
	}
	for (i = 0; i < PAGES; i++)
		if (seen[i] != mapped[i])
			return 0;
	return 1;
}

int main(void)
{
	int step, ok = 1, exact = 1;

	srand(7);
	for (step = 0; step < 20000 && nreg < MAXR - 2; step++) {
		__u64 a = rand() % PAGES, n = 1 + rand() % 8, p, expect = 0;

		if (a + n > PAGES)
			n = PAGES - a;
		if (rand() % 2) {
			/* MAP_FIXED: replaces what was there, then counts */
			cut_all(a * PAGE, (a + n) * PAGE);
			reg[nreg++] = (struct region){ a * PAGE, n * PAGE };
			for (p = a; p < a + n; p++)
				mapped[p] = 1;
		} else {
			for (p = a; p < a + n; p++) {
				expect += mapped[p] * PAGE;
				mapped[p] = 0;
			}
			exact &= cut_all(a * PAGE, (a + n) * PAGE) == expect;
		}
		ok &= covers_exactly();
	}
	CHECK(ok);
	CHECK(exact);
	CHECK(step == 20000);
	/* the edges: a cut inside, at each end, over all, and a miss */
	{
		struct pt_cut c;

		pt_region_cut(0x10000, 0x5000, 0x11000, 0x12000, &c);
		CHECK(c.left_len == 0x1000 && c.right_start == 0x12000 && c.right_len == 0x3000 &&
		      c.removed == 0x1000);
		pt_region_cut(0x10000, 0x5000, 0xf000, 0x11000, &c);
		CHECK(c.left_len == 0 && c.right_len == 0x4000 && c.removed == 0x1000);
		pt_region_cut(0x10000, 0x5000, 0x14000, 0x20000, &c);
		CHECK(c.left_len == 0x4000 && c.right_len == 0 && c.removed == 0x1000);
		pt_region_cut(0x10000, 0x5000, 0x0, 0x20000, &c);
		CHECK(c.left_len == 0 && c.right_len == 0 && c.removed == 0x5000);
		pt_region_cut(0x10000, 0x5000, 0x15000, 0x16000, &c);
		CHECK(c.removed == 0);
	}
	return check_report("test_regions");
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The stack units below the CLI, on this test's own executable (built with
 * -O2 -g, no frame pointers): the unwind table built from its .eh_frame
 * (stacks/cfi.c), and symbolization of its addresses through a recorded
 * mapping, as BPF records them (stacks/symbolize.c).
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "collect/collect.h"
#include "files/procmaps.h"
#include "stacks/cfi.h"
#include "stacks/symbolize.h"

static __attribute__((noinline)) void *return_here(void)
{
	return __builtin_return_address(0);
}

static __attribute__((noinline)) int leaf(int x)
{
	return x * 3 + 1;
}

/* Link-time address of a function of this PIE: its offset from the load base. */
static uint32_t vaddr_of(void *fn)
{
	Dl_info info;

	if (!dladdr(fn, &info) || !info.dli_fbase)
		return 0;
	return (uint32_t)((char *)fn - (char *)info.dli_fbase);
}

static void cfi_table(void)
{
	struct cfi_table t;
	const struct pt_cfi_row *row;
	char err[256];
	size_t i, sorted = 1;

	CHECK(cfi__build("/proc/self/exe", &t, err, sizeof(err)) == 0);
	CHECK(t.n > 10);
	for (i = 1; i < t.n; i++)
		sorted &= t.rows[i - 1].pc < t.rows[i].pc;
	CHECK(sorted);
	/* at a function's first instruction the return address is at (%rsp) */
	row = cfi__lookup(&t, vaddr_of((void *)leaf));
	CHECK(row != NULL);
	if (row) {
		CHECK(row->cfa_reg == PT_CFA_RSP);
		CHECK(row->cfa_off == 8);
		CHECK(!row->rbp_saved);
	}
	CHECK(cfi__lookup(&t, 0) == NULL);
	cfi__free(&t);
	CHECK(cfi__build("/proc/self/nonexistent", &t, err, sizeof(err)) == -1);
	CHECK(strstr(err, "cannot open") != NULL);
	CHECK(cfi__build("/proc/self/status", &t, err, sizeof(err)) == -1);
}

struct own_map {
	uint64_t start, end, off;
};

static int find_own_code(const struct procmap *m, void *arg)
{
	struct own_map *o = arg;
	uint64_t here = (uint64_t)(uintptr_t)return_here;

	if (here >= m->start && here < m->end) {
		o->start = m->start;
		o->end = m->end;
		o->off = m->offset;
		return 1;
	}
	return 0;
}

static void symbolization(void)
{
	struct symbolizer *s = symbolizer__new();
	struct collected_vma vma;
	struct collected c;
	struct report_frame f[8];
	struct own_map own = { 0 };
	struct stat st;
	void *ra;
	int call_line;
	size_t n, i;

	memset(&c, 0, sizeof(c));
	memset(&vma, 0, sizeof(vma));
	memset(f, 0, sizeof(f));
	ra = return_here(); call_line = __LINE__;
	CHECK(procmap__each(getpid(), find_own_code, &own) >= 0 && own.end);
	CHECK(stat("/proc/self/exe", &st) == 0);
	/* the mapping as BPF records it, for image 1 */
	vma.key.instance = 1;
	vma.key.start = own.start;
	vma.v.end = own.end;
	vma.v.file_offset = own.off;
	vma.v.dev = procmap__kernel_dev(st.st_dev);
	vma.v.ino = st.st_ino;
	snprintf(vma.v.name, sizeof(vma.v.name), "test_stacks");
	CHECK(collect__add_vmas(&c, &vma, 1) == 0);
	symbolizer__add_file(s, vma.v.dev, vma.v.ino, "/proc/self/exe", NULL);

	n = symbolizer__frames(s, &c, 1, (uint64_t)(uintptr_t)ra, 1, f, 8);
	CHECK(n >= 1);
	CHECK_STR(f[n - 1].function, "symbolization");
	CHECK(f[n - 1].file && strstr(f[n - 1].file, "test_stacks.c"));
	CHECK_U64(f[n - 1].line, call_line);
	CHECK_U64(f[n - 1].module_offset, (uint64_t)(uintptr_t)ra - own.start + own.off);
	/* gcc on Debian links a GNU build id (160-bit SHA-1) */
	CHECK(f[n - 1].build_id && strlen(f[n - 1].build_id) == 40);
	for (i = 0; i < n; i++) {
		free(f[i].function);
		free(f[i].module);
		free(f[i].file);
		free(f[i].build_id);
	}
	/* an address no mapping of the image holds: the address alone */
	memset(f, 0, sizeof(f));
	n = symbolizer__frames(s, &c, 2, (uint64_t)(uintptr_t)ra, 1, f, 8);
	CHECK_U64(n, 1);
	CHECK(f[0].function == NULL && f[0].address == (uint64_t)(uintptr_t)ra);
	free(f[0].module);
	collect__free(&c);
	symbolizer__free(s);
	CHECK(leaf(1) == 4);
}

int main(void)
{
	cfi_table();
	symbolization();
	return check_report("test_stacks");
}

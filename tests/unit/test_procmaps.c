// SPDX-License-Identifier: GPL-2.0
/* /proc/PID/maps lines and C library recognition. */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "check.h"
#include "files/procmaps.h"

struct tally {
	size_t n;
	uint64_t last_start;
};

static int count_one(const struct procmap *m, void *arg)
{
	struct tally *t = arg;

	t->n++;
	t->last_start = m->start;
	return 0;
}

/* Read whole, past the first 64 KiB buffer: 1500 mappings that cannot merge
 * (alternating protections) make the text about 100 KiB; every line is an
 * entry, the last one (the top of the address space) included.  The count
 * may differ by the buffer's own mapping, made and unmade meanwhile. */
static void read_whole(void)
{
	char *base = mmap(NULL, 3000 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct tally seen = { 0 }, lines = { 0 };
	struct procmap m;
	size_t i;
	struct procmaps pm;
	char line[4352];
	FILE *f;

	CHECK(base != MAP_FAILED);
	for (i = 0; i < 3000; i += 2)
		mprotect(base + i * 4096, 4096, PROT_READ | PROT_WRITE);
	CHECK(procmaps__read(&pm, getpid()) == 0);
	CHECK(pm.len > (64 << 10));
	CHECK(procmaps__each(&pm, count_one, &seen) == 0);
	f = fopen("/proc/self/maps", "re");
	while (f && fgets(line, sizeof(line), f))
		if (!procmap__parse(line, &m))
			count_one(&m, &lines);
	if (f)
		fclose(f);
	CHECK(seen.n + 2 >= lines.n && lines.n + 2 >= seen.n);
	CHECK(seen.n > 3000);
	CHECK_U64(seen.last_start, lines.last_start);
	procmaps__free(&pm);
	munmap(base, 3000 * 4096);
	CHECK(procmaps__read(&pm, 0x7fffffff) == -1);	/* no such process */
}

int main(void)
{
	struct procmap m;

	read_whole();

	CHECK(procmap__parse("7f1c2a426000-7f1c2a57b000 r-xp 00026000 fe:01 1837       "
			     "           /usr/lib/x86_64-linux-gnu/libc.so.6\n", &m) == 0);
	CHECK_U64(m.start, 0x7f1c2a426000ULL);
	CHECK_U64(m.end, 0x7f1c2a57b000ULL);
	CHECK_U64(m.offset, 0x26000);
	CHECK_U64(m.dev, (0xfeULL << 20) | 1);
	CHECK_U64(m.ino, 1837);
	CHECK_STR(m.perms, "r-xp");
	CHECK_STR(m.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");

	CHECK(procmap__parse("7ffd1e9f1000-7ffd1ea12000 rw-p 00000000 00:00 0 [stack]\n", &m) == 0);
	CHECK_STR(m.path, "[stack]");
	CHECK(procmap__parse("55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0\n", &m) == 0);
	CHECK_STR(m.path, "");
	CHECK(procmap__parse("00400000-00401000 r-xp 00000000 08:01 42 /tmp/with space (deleted)\n",
			     &m) == 0);
	CHECK_STR(m.path, "/tmp/with space (deleted)");
	CHECK(procmap__parse("garbage", &m) == -1);

	CHECK(procmap__is_libc("/lib/x86_64-linux-gnu/libc.so.6"));
	CHECK(procmap__is_libc("/lib/libc-2.17.so"));
	CHECK(procmap__is_libc("/lib/ld-musl-x86_64.so.1"));
	CHECK(!procmap__is_libc("/usr/lib/libcrypto.so.3"));
	CHECK(!procmap__is_libc("/usr/lib/libcap.so.2"));
	CHECK(!procmap__is_libc("/lib/x86_64-linux-gnu/libc_malloc_debug.so.0"));
	return check_report("test_procmaps");
}

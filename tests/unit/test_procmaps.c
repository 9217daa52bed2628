// SPDX-License-Identifier: GPL-2.0
/* /proc/PID/maps lines and C library recognition. */
#include "check.h"
#include "files/procmaps.h"

int main(void)
{
	struct procmap m;

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

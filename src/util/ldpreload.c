// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "util/ldpreload.h"

extern char **environ;

/*
 * What glibc's loader makes of $PLATFORM in a 64-bit process: AT_PLATFORM
 * (x86_64), except on Intel CPUs, where its own name for their features
 * (sysdeps/x86/cpu-features.c, glibc 2.26 on): haswell (AVX2, FMA, BMI1/2,
 * LZCNT, MOVBE, POPCNT) or xeon_phi (AVX512ER, AVX512PF).  The build links
 * each to the library; the entry names $PLATFORM only if all are there.
 */
static const char *const platforms64[] = { "x86_64", "haswell", "xeon_phi" };

enum { ENTRY_UNKNOWN = -1, ENTRY_ABSENT = -2 };

static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * The file an LD_PRELOAD entry names for process pid (0: ours), as an
 * O_PATH descriptor (nothing opened: no device's open, no FIFO's wait),
 * looked up in that process's root without magic links, a regular file
 * outside /proc and /sys; or ENTRY_ABSENT if there is none (its loader
 * passes over it), or ENTRY_UNKNOWN if it cannot be told here: a name the
 * loader searches the library path for, a relative one (the process's
 * working directory), one with $ORIGIN or $PLATFORM in it (its loader's,
 * not ours), a kernel too old for openat2.
 */
static int entry_open(pid_t pid, const char *name, struct stat *st)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char root[64] = "/";
	struct statfs sf;
	int rfd, fd;

	if (name[0] != '/' || strchr(name, '$'))
		return ENTRY_UNKNOWN;
	if (pid)
		snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return ENTRY_UNKNOWN;
	fd = (int)syscall(SYS_openat2, rfd, name, &how, sizeof(how));
	close(rfd);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? ENTRY_ABSENT : ENTRY_UNKNOWN;
	if (fstat(fd, st) || fstatfs(fd, &sf) || !S_ISREG(st->st_mode) ||
	    sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC) {
		close(fd);
		return ENTRY_UNKNOWN;
	}
	return fd;
}

/* The n-th number after key in status (n from 0), or -1. */
static long status_field(const char *status, const char *key, int n)
{
	const char *p = strstr(status, key);
	char *end;
	long v = -1;

	if (!p)
		return -1;
	p += strlen(key);
	for (; n >= 0; n--, p = end) {
		v = strtol(p, &end, 10);
		if (end == p)
			return -1;
	}
	return v;
}

/*
 * Whether process pid (0: ours) may read the file by its mode bits, with
 * the file-system ids and groups /proc/PID/status gives (those its loader
 * opens with).  An ACL that grants more is not read: such an entry is then
 * taken for one that may define malloc.
 */
static int may_read(pid_t pid, const struct stat *st)
{
	char path[64] = "/proc/self/status", status[4096];
	long fsuid, fsgid, g;
	ssize_t n;
	int fd, i;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, status, sizeof(status) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	status[n] = 0;
	/* Uid: and Gid: list real, effective, saved and file-system ids */
	fsuid = status_field(status, "\nUid:", 3);
	fsgid = status_field(status, "\nGid:", 3);
	if (fsuid < 0 || fsgid < 0)
		return 0;
	if (fsuid == 0)
		return 1;
	if ((long)st->st_uid == fsuid)
		return !!(st->st_mode & S_IRUSR);
	for (i = 0, g = fsgid; g >= 0; g = status_field(status, "\nGroups:", i++))
		if ((long)st->st_gid == g)
			return !!(st->st_mode & S_IRGRP);
	return !!(st->st_mode & S_IROTH);
}

int ldpreload__first_is(pid_t pid, const char *value, const char *path,
			int (*defines_malloc)(const char *file))
{
	char ours[4096], name[4096], file[64];
	struct stat lib, st;
	size_t n;

	if (!*path || stat(path, &lib) || ldpreload__entry_for(ours, sizeof(ours), path))
		return 0;
	for (;; value += n) {
		int fd, r;

		value += strspn(value, " :");
		n = strcspn(value, " :");
		if (!n || n >= sizeof(name))
			return 0;
		/* the entry launch__preload writes, or the library's own
		 * name: compared as text, no file looked at */
		if ((n == strlen(ours) && !memcmp(value, ours, n)) ||
		    (n == strlen(path) && !memcmp(value, path, n)))
			return 1;
		memcpy(name, value, n);
		name[n] = 0;
		fd = entry_open(pid, name, &st);
		if (fd == ENTRY_ABSENT)
			continue;	/* its loader says so and goes on */
		if (fd < 0)
			return 0;
		if (st.st_dev == lib.st_dev && st.st_ino == lib.st_ino) {
			r = 1;
		} else if (!may_read(pid, &st)) {
			r = 0;		/* may define malloc: not read by us */
		} else {
			snprintf(file, sizeof(file), "/proc/self/fd/%d", fd);
			r = defines_malloc(file) ? 0 : -1;
		}
		close(fd);
		if (r >= 0)
			return r;
	}
}

int ldpreload__entry_for(char *out, size_t len, const char *path)
{
	const char *slash = strrchr(path, '/');
	char alt[4096];
	size_t i;
	int n;

	if (!slash)
		goto plain;
	for (i = 0; i < sizeof(platforms64) / sizeof(platforms64[0]); i++) {
		n = snprintf(alt, sizeof(alt), "%.*s/" LDPRELOAD_PLATFORM_DIR "/%s%s",
			     (int)(slash - path), path, platforms64[i], slash);
		if (n < 0 || (size_t)n >= sizeof(alt) || !same_file(alt, path))
			goto plain;
	}
	n = snprintf(out, len, "%.*s/" LDPRELOAD_PLATFORM_DIR "/$PLATFORM%s", (int)(slash - path),
		     path, slash);
	return n < 0 || (size_t)n >= len ? -1 : 0;
plain:
	n = snprintf(out, len, "%s", path);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

size_t ldpreload__entry(const char *env, size_t len)
{
	size_t klen = sizeof(LDPRELOAD_KEY) - 1;

	return len >= klen && !memcmp(env, LDPRELOAD_KEY, klen) ? klen : 0;
}

const char *ldpreload__getenv(void)
{
	const char *last = NULL;
	char **e;

	for (e = environ; e && *e; e++)
		if (ldpreload__entry(*e, strlen(*e)))
			last = *e + sizeof(LDPRELOAD_KEY) - 1;
	return last;
}

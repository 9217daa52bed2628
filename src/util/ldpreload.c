// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <pthread.h>
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

static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * The file an LD_PRELOAD entry names for process (or thread) pid, as an
 * O_PATH descriptor (nothing opened: no device's open, no FIFO's wait),
 * looked up in that process's root without magic links: a regular file
 * outside /proc and /sys.  -1 if it cannot be told here, or is missing
 * (its loader would pass over it, but a name missing from here may not be
 * from there: /proc/self/fd/N, /dev/fd/N name peaktrace's files here):
 * the caller then takes it for one that may define malloc.  So are a name
 * the loader searches the library path for, a relative one (the
 * process's working directory), one with $ORIGIN or $PLATFORM in it (its
 * loader's, not ours), and any on a kernel without openat2.  -2 if pid's
 * root is gone: it has ended.
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
		return -1;
	if (pid)
		snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return -2;	/* the process has ended (or is ending) */
	fd = (int)syscall(SYS_openat2, rfd, name, &how, sizeof(how));
	close(rfd);
	if (fd < 0)
		return -1;
	if (fstat(fd, st) || fstatfs(fd, &sf) || !S_ISREG(st->st_mode) ||
	    sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Whether name, looked up for pid, is the file lib describes: 1, 0, or
 * -2 if pid has ended. */
static int entry_is(pid_t pid, const char *name, const struct stat *lib)
{
	struct stat st;
	int fd = entry_open(pid, name, &st);

	if (fd < 0)
		return fd == -2 ? -2 : 0;
	close(fd);
	return st.st_dev == lib->st_dev && st.st_ino == lib->st_ino;
}

struct walk {
	pid_t pid;
	const char *value, *path, *ours;
	int (*defines_malloc)(const char *file);
	int first;
};

/* The entries of w->value, with the thread's file-system credentials
 * those of w->pid's loader: as ldpreload__first_is. */
static int walk(const struct walk *w)
{
	char name[4096], file[64], alt[4096];
	const char *value = w->value, *slash = strrchr(w->path, '/');
	struct stat lib, st;
	size_t n, i;

	if (stat(w->path, &lib) || !slash)
		return 0;
	for (;; value += n) {
		int fd, defines;

		value += strspn(value, " :");
		n = strcspn(value, " :");
		if (!n || n >= sizeof(name))
			return 0;
		memcpy(name, value, n);
		name[n] = 0;
		/* the entry launch__preload writes: the library, whatever
		 * $PLATFORM the loader reads, in the process's root too (the
		 * same text may name other files in another mount namespace) */
		if (!strcmp(name, w->ours)) {
			for (i = 0; i < sizeof(platforms64) / sizeof(platforms64[0]); i++) {
				int is;

				if (snprintf(alt, sizeof(alt), "%.*s/" LDPRELOAD_PLATFORM_DIR "/%s%s",
					     (int)(slash - w->path), w->path, platforms64[i],
					     slash) >= (int)sizeof(alt))
					return 0;
				is = entry_is(w->pid, alt, &lib);
				if (is <= 0)
					return is == -2 ? -1 : 0;
			}
			return 1;
		}
		fd = entry_open(w->pid, name, &st);
		if (fd < 0)
			return fd == -2 ? -1 : 0;
		if (st.st_dev == lib.st_dev && st.st_ino == lib.st_ino) {
			close(fd);
			return 1;
		}
		snprintf(file, sizeof(file), "/proc/self/fd/%d", fd);
		defines = w->defines_malloc(file);
		close(fd);
		if (defines)
			return 0;
	}
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
		if (end == p || (*end != ' ' && *end != '\t' && *end != '\n'))
			return -1;
	}
	return v;
}

/*
 * This thread takes pid's file-system user and group and its groups, as
 * /proc/PID/status gives them: every file the walk opens, the kernel
 * checks as it will for pid's loader (a file-system uid that is not 0
 * leaves no capability to read past a file's mode).  Thread by thread, so
 * by raw system calls (glibc's wrappers set every thread's).  0, or -1.
 */
static int become(pid_t pid)
{
	char path[64], *status = malloc(65536);
	gid_t groups[1024];
	long fsuid, fsgid, g;
	int fd, i, ng = 0;
	ssize_t n = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = status ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd >= 0) {
		n = read(fd, status, 65535);
		close(fd);
	}
	if (n <= 0 || n == 65535) {
		free(status);
		return -1;
	}
	status[n] = 0;
	/* Uid: and Gid: list real, effective, saved and file-system ids */
	fsuid = status_field(status, "\nUid:", 3);
	fsgid = status_field(status, "\nGid:", 3);
	for (i = 0; (g = status_field(status, "\nGroups:", i)) >= 0 && ng < 1024; i++)
		groups[ng++] = (gid_t)g;
	free(status);
	if (fsuid < 0 || fsgid < 0 || ng == 1024 ||
	    syscall(SYS_setgroups, ng, groups) || (syscall(SYS_setfsgid, fsgid),
						    syscall(SYS_setfsgid, -1) != fsgid) ||
	    (syscall(SYS_setfsuid, fsuid), syscall(SYS_setfsuid, -1) != fsuid))
		return -1;
	return 0;
}

static void *walk_as(void *arg)
{
	struct walk *w = arg;

	w->first = w->pid && become(w->pid) ? -1 : walk(w);
	return NULL;
}

int ldpreload__first_is(pid_t pid, const char *value, const char *path,
			int (*defines_malloc)(const char *file))
{
	char ours[4096];
	struct walk w = { pid, value, path, ours, defines_malloc, 0 };
	pthread_t t;

	if (!*path || ldpreload__entry_for(ours, sizeof(ours), path) ||
	    pthread_create(&t, NULL, walk_as, &w))
		return -1;
	pthread_join(t, NULL);
	return w.first;
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

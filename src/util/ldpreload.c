// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
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

/* The library at path (its last slash at slash) as platform's entry:
 * path's directory, LDPRELOAD_PLATFORM_DIR/platform/, its name.  0, or -1
 * if out is too small. */
static int platform_path(char *out, size_t len, const char *path, const char *slash,
			 const char *platform)
{
	int n = snprintf(out, len, "%.*s/" LDPRELOAD_PLATFORM_DIR "/%s%s", (int)(slash - path),
			 path, platform, slash);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * The file an LD_PRELOAD entry names, as an O_PATH descriptor (nothing
 * opened: no device's open, no FIFO's wait), looked up under root (the
 * process's, /proc/PID/root) without magic links: a regular file outside
 * /proc and /sys.  -1 if it cannot be told here: missing (a name missing
 * from here may not be from there: /proc/self/fd/N and /dev/fd/N name
 * peaktrace's files here), a name the loader searches the library path
 * for, a relative one (the process's working directory), one with $ORIGIN
 * or $PLATFORM in it (its loader's, not ours), any on a kernel without
 * openat2.
 */
static int entry_open(int root, const char *name, struct stat *st)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	struct statfs sf;
	int fd;

	if (name[0] != '/' || strchr(name, '$'))
		return -1;
	fd = (int)syscall(SYS_openat2, root, name, &how, sizeof(how));
	if (fd < 0)
		return -1;
	if (fstat(fd, st) || fstatfs(fd, &sf) || !S_ISREG(st->st_mode) ||
	    sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Whether name, looked up under root, is the file lib describes (the
 * library, peaktrace's own file), and one the loader can map: readable
 * with this thread's access (the lookup needed only the directories'),
 * on a file system that allows execution.
 */
static int entry_is(int root, const char *name, const struct stat *lib)
{
	char self[64];
	struct statvfs vfs;
	struct stat st;
	int fd = entry_open(root, name, &st), rd = -1;

	if (fd < 0)
		return 0;
	if (st.st_dev == lib->st_dev && st.st_ino == lib->st_ino) {
		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		rd = open(self, O_RDONLY | O_CLOEXEC);
	}
	close(fd);
	if (rd < 0)
		return 0;
	fd = fstatvfs(rd, &vfs) || (vfs.f_flag & ST_NOEXEC);
	close(rd);
	return !fd;
}

/* What the loader of pid's next image opens files as: exec sets the
 * file-system ids to the effective ones; its groups, and its effective
 * capabilities (root without CAP_DAC_OVERRIDE reads no more than another
 * user). */
struct creds {
	long euid, egid;
	int ngroups;
	gid_t groups[1024];
	uint64_t cap_eff;
};

struct walk {
	pid_t pid;
	const char *value, *path, *ours;
	int first;
	struct creds c;
};

/* Whether w->value's first entry, looked up in w->pid's root, with the
 * thread's file access that of w->pid's loader, is the library: as
 * ldpreload__first_is. */
static int walk(const struct walk *w)
{
	char name[4096], alt[4096], rootpath[64];
	const char *value = w->value, *slash = strrchr(w->path, '/');
	struct stat lib;
	int root, r = 0;
	size_t n, i;

	snprintf(rootpath, sizeof(rootpath), "/proc/%d/root", (int)w->pid);
	root = open(rootpath, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return errno == ENOENT || errno == ESRCH ? -1 : 0;	/* -1: ended */
	value += strspn(value, " :");
	n = strcspn(value, " :");
	if (stat(w->path, &lib) || !slash || !n || n >= sizeof(name))
		goto out;
	memcpy(name, value, n);
	name[n] = 0;
	if (strstr(w->ours, "$PLATFORM") && !strcmp(name, w->ours)) {
		/* the entry launch__preload writes: the library, whatever
		 * $PLATFORM the loader reads, in the process's root too (the
		 * same text may name other files in another mount namespace) */
		for (i = 0; i < sizeof(platforms64) / sizeof(platforms64[0]); i++)
			if (platform_path(alt, sizeof(alt), w->path, slash, platforms64[i]) ||
			    !entry_is(root, alt, &lib))
				goto out;
		r = 1;
	} else {
		r = entry_is(root, name, &lib);
	}
out:
	close(root);
	return r;
}

/* The n-th number after key in status (n from 0), in base (10, or 16),
 * or -1. */
static long long status_field(const char *status, const char *key, int n, int base)
{
	const char *p = strstr(status, key);
	long long v = -1;
	char *end;

	if (!p)
		return -1;
	p += strlen(key);
	for (; n >= 0; n--, p = end) {
		v = strtoll(p, &end, base);
		if (end == p || (*end != ' ' && *end != '\t' && *end != '\n'))
			return -1;
	}
	return v;
}

/* pid's credentials, as struct creds says: 0, -1 if it has ended, -2 if
 * they cannot be read. */
static int creds_of(pid_t pid, struct creds *c)
{
	char path[64], *status = malloc(65536);
	long long g, caps;
	ssize_t n = -1;
	int fd, ended;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = status ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	ended = fd < 0 && (errno == ENOENT || errno == ESRCH);
	if (fd >= 0) {
		n = read(fd, status, 65535);
		close(fd);
	}
	if (n <= 0 || n == 65535) {
		free(status);
		return ended ? -1 : -2;
	}
	status[n] = 0;
	/* Uid: and Gid: list real, effective, saved and file-system ids */
	c->euid = (long)status_field(status, "\nUid:", 1, 10);
	c->egid = (long)status_field(status, "\nGid:", 1, 10);
	caps = status_field(status, "\nCapEff:", 0, 16);
	for (c->ngroups = 0; (g = status_field(status, "\nGroups:", c->ngroups, 10)) >= 0 &&
			     c->ngroups < 1024; c->ngroups++)
		c->groups[c->ngroups] = (gid_t)g;
	free(status);
	c->cap_eff = (uint64_t)caps;
	return c->euid < 0 || c->egid < 0 || caps < 0 || c->ngroups == 1024 ? -2 : 0;
}

/*
 * This thread takes c: its groups and file-system ids, then no effective
 * capability c has not (a file-system uid that is not 0 already leaves
 * none that reads past a file's mode; c's may be another user namespace's,
 * worth less here, never more).  Thread by thread, so by raw system calls
 * (glibc's wrappers set every thread's).  0, or -1.
 */
static int become(const struct creds *c)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_setgroups, c->ngroups, c->groups) ||
	    (syscall(SYS_setfsgid, c->egid), syscall(SYS_setfsgid, -1) != c->egid) ||
	    (syscall(SYS_setfsuid, c->euid), syscall(SYS_setfsuid, -1) != c->euid) ||
	    syscall(SYS_capget, &h, d))
		return -1;
	d[0].effective &= (uint32_t)c->cap_eff;
	d[1].effective &= (uint32_t)(c->cap_eff >> 32);
	return syscall(SYS_capset, &h, d) ? -1 : 0;
}

static void *walk_as(void *arg)
{
	struct walk *w = arg;

	w->first = become(&w->c) ? 0 : walk(w);
	return NULL;
}

int ldpreload__first_is(pid_t pid, const char *value, const char *path)
{
	struct walk *w = calloc(1, sizeof(*w));
	char ours[4096];
	pthread_t t;
	int r;

	if (!w)
		return 0;
	*w = (struct walk){ pid, value, path, ours, 0, { 0 } };
	r = !*path || ldpreload__entry_for(ours, sizeof(ours), path) ? -2 : creds_of(pid, &w->c);
	if (r) {
		free(w);
		return r == -1 ? -1 : 0;
	}
	if (pthread_create(&t, NULL, walk_as, w))
		w->first = 0;
	else
		pthread_join(t, NULL);
	r = w->first;
	free(w);
	return r;
}

int ldpreload__entry_for(char *out, size_t len, const char *path)
{
	const char *slash = strrchr(path, '/');
	char alt[4096];
	size_t i;
	int n;

	if (!slash)
		goto plain;
	for (i = 0; i < sizeof(platforms64) / sizeof(platforms64[0]); i++)
		if (platform_path(alt, sizeof(alt), path, slash, platforms64[i]) ||
		    !same_file(alt, path))
			goto plain;
	return platform_path(out, len, path, slash, "$PLATFORM");
plain:
	n = snprintf(out, len, "%s", path);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

size_t ldpreload__entry(const char *env, size_t len)
{
	size_t klen = sizeof(LDPRELOAD_KEY) - 1;

	return len >= klen && !memcmp(env, LDPRELOAD_KEY, klen) ? klen : 0;
}

int ldpreload__audited(const char *env, size_t len)
{
	static const char key[] = "LD_AUDIT=";

	return len > sizeof(key) - 1 && !memcmp(env, key, sizeof(key) - 1);
}

int ldpreload__environ_audited(void)
{
	char **e;

	for (e = environ; e && *e; e++)
		if (ldpreload__audited(*e, strlen(*e)))
			return 1;
	return 0;
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

// SPDX-License-Identifier: GPL-2.0
/* The environment of an exec in progress (see execenv.h). */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include "run/execenv.h"
#include "util/ldpreload.h"
#include "util/readfile.h"

/* Entries looked at, and the longest LD_PRELOAD value read: the loader's
 * own limits are larger, but a list whose first entry is the library
 * fits, and one that does not is "not first". */
#define MAX_ENTRIES 65536
#define MAX_VALUE 4096

/* The envp argument of the execve or execveat a thread of pid is in (the
 * exec'ing thread need not be the main one: the others are ended later in
 * the exec): its address, or 0.  *running: some thread was running (the
 * exec'ing one may not have reached its wait for the gate yet). */
static uint64_t exec_envp_once(pid_t pid, int *running, pid_t *tid)
{
	char path[64], line[512];
	unsigned long long a[6];
	struct dirent *d;
	uint64_t envp = 0;
	DIR *dir;
	long nr;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	while (dir && !envp && (d = readdir(dir))) {
		int n;

		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/syscall", (int)pid, d->d_name);
		n = read_file(path, line, sizeof(line) - 1);
		if (n <= 0)
			continue;
		line[n] = 0;
		if (!strncmp(line, "running", 7))
			*running = 1;
		/* "nr arg0 ... arg5 sp pc" while in a syscall */
		if (sscanf(line, "%ld %llx %llx %llx %llx %llx %llx", &nr, &a[0], &a[1], &a[2], &a[3],
			   &a[4], &a[5]) != 7)
			continue;
		if (nr == SYS_execve)
			envp = a[2];
		else if (nr == SYS_execveat)
			envp = a[3];
		if (envp)
			*tid = (pid_t)atoi(d->d_name);
	}
	if (dir)
		closedir(dir);
	return envp;
}

/* The fanotify event is read as soon as it is queued, maybe before the
 * exec'ing thread sleeps in the gate's wait: /proc shows it "running"
 * until then.  Looked at again for up to 20 ms. */
static uint64_t exec_envp(pid_t pid, pid_t *tid)
{
	struct timespec pause = { 0, 100000 };
	uint64_t envp = 0;
	int tries, running = 1;

	for (tries = 0; tries < 200 && !envp && running; tries++) {
		if (tries)
			nanosleep(&pause, NULL);
		running = 0;
		envp = exec_envp_once(pid, &running, tid);
	}
	return envp;
}

/* Reads a NUL-terminated string of at most len - 1 bytes at addr. */
static int read_str(int mem, uint64_t addr, char *buf, size_t len)
{
	ssize_t n = pread(mem, buf, len - 1, (off_t)addr);

	if (n <= 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/* Whether the exec of the file by thread tid runs in the kernel's secure
 * mode (AT_SECURE), in which the loader ignores LD_PRELOAD's entries with
 * a slash, ours among them: the thread's real and effective user or group
 * differ already, or the file is set-user-ID to another user or
 * set-group-ID (with group execute) to another group on a file system
 * mounted without nosuid, or carries file capabilities (taken for secure,
 * whatever they grant). */
static int secure_exec(pid_t tid, int fd, const struct stat *st)
{
	char path[64], buf[4096], *l;
	unsigned ruid, euid, rgid, egid;
	struct statvfs fs;
	int n, nosuid;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	n = read_file(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 1;
	buf[n] = 0;
	if (!(l = strstr(buf, "\nUid:")) || sscanf(l + 5, "%u %u", &ruid, &euid) != 2 ||
	    !(l = strstr(buf, "\nGid:")) || sscanf(l + 5, "%u %u", &rgid, &egid) != 2)
		return 1;
	if (ruid != euid || rgid != egid)
		return 1;
	nosuid = !fstatvfs(fd, &fs) && (fs.f_flag & ST_NOSUID);
	if (nosuid)
		return 0;	/* neither set-ID bits nor file capabilities count */
	if (fgetxattr(fd, "security.capability", NULL, 0) > 0)
		return 1;
	return ((st->st_mode & S_ISUID) && st->st_uid != ruid) ||
	       ((st->st_mode & S_ISGID) && (st->st_mode & S_IXGRP) && st->st_gid != rgid);
}

/* The address of the last entry of the environment array at envp (in
 * pid's memory, mem) that starts with key, or 0; *audited: an LD_AUDIT
 * entry seen.  -1 if the array could not be read to its end. */
static int last_entry(int mem, uint64_t envp, const char *key, uint64_t *last, int *audited)
{
	char name[64];
	uint64_t ptrs[64];
	size_t klen = strlen(key);
	int i, k;

	*last = 0;
	for (i = 0; i < MAX_ENTRIES; i += 64) {
		ssize_t n = pread(mem, ptrs, sizeof(ptrs), (off_t)(envp + (uint64_t)i * 8));

		if (n < 8)
			return -1;	/* unreadable: cannot be told */
		for (k = 0; k < n / 8; k++) {
			if (!ptrs[k])
				return 0;
			/* names only, to the key's length */
			if (read_str(mem, ptrs[k], name, klen + 1 > sizeof(name) ? sizeof(name) : klen + 1))
				continue;
			if (!strncmp(name, key, klen))
				*last = ptrs[k];
			*audited |= ldpreload__audited(name, strlen(name));
		}
	}
	return -1;
}

/* pid's memory, and the environment array of the exec it is in: 0, or -1
 * if it cannot be read (no thread of it seen in execve within 20 ms). */
static int exec_env_open(pid_t pid, pid_t *tid, int *mem, uint64_t *envp)
{
	char mempath[64];

	*envp = exec_envp(pid, tid);
	if (!*envp)
		return -1;
	snprintf(mempath, sizeof(mempath), "/proc/%d/mem", (int)pid);
	*mem = open(mempath, O_RDONLY | O_CLOEXEC);
	return *mem < 0 ? -1 : 0;
}

enum execenv_preload execenv__preload_first(pid_t pid, int fd, const char *path)
{
	char value[MAX_VALUE + sizeof(LDPRELOAD_KEY)];
	uint64_t envp, last;
	struct stat st;
	int mem, first, audited = 0, r;
	/* the exec'ing thread: its root and credentials are its loader's
	 * (unshare(CLONE_FS) gives a thread a root of its own) */
	pid_t tid = pid;

	if (fstat(fd, &st) || exec_env_open(pid, &tid, &mem, &envp))
		return EXECENV_UNKNOWN;
	if (secure_exec(tid, fd, &st)) {
		close(mem);
		return EXECENV_NOT_FIRST;
	}
	/* the last LD_PRELOAD is the loader's; its whole value, read once */
	r = last_entry(mem, envp, LDPRELOAD_KEY, &last, &audited);
	first = !r && last && !audited && !read_str(mem, last, value, sizeof(value)) ?
			ldpreload__first_is(tid, value + sizeof(LDPRELOAD_KEY) - 1, path) : 0;
	close(mem);
	if (r || first < 0)
		return EXECENV_UNKNOWN;
	return first ? EXECENV_FIRST : EXECENV_NOT_FIRST;
}

int execenv__value(pid_t pid, const char *name, char *buf, size_t len)
{
	char key[64], value[MAX_VALUE + sizeof(key)];
	uint64_t envp, last;
	pid_t tid = pid;
	int mem, audited = 0, r;

	if ((size_t)snprintf(key, sizeof(key), "%s=", name) >= sizeof(key) ||
	    exec_env_open(pid, &tid, &mem, &envp))
		return -1;
	r = last_entry(mem, envp, key, &last, &audited);
	if (!r && last && read_str(mem, last, value, sizeof(value)))
		r = -1;
	close(mem);
	if (r)
		return -1;
	if (!last)
		return 0;
	if (strlen(value) >= sizeof(value) - 1 || strlen(value + strlen(key)) >= len)
		return -1;	/* longer than read: not told */
	snprintf(buf, len, "%s", value + strlen(key));
	return 1;
}

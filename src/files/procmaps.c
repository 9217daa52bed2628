// SPDX-License-Identifier: GPL-2.0
/* /proc/PID/maps parsing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/sysmacros.h>
#include "files/procmaps.h"

int procmap__parse(const char *line, struct procmap *m)
{
	unsigned int major, minor;
	unsigned long long start, end, off, ino;
	int pos = 0;

	if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &start, &end, m->perms,
		   &off, &major, &minor, &ino, &pos) < 7)
		return -1;
	m->start = start;
	m->end = end;
	m->offset = off;
	m->dev = ((uint64_t)major << 20) | minor;
	m->ino = ino;
	m->path[0] = 0;
	if (pos > 0) {
		size_t n;

		snprintf(m->path, sizeof(m->path), "%s", line + pos);
		n = strlen(m->path);
		while (n && (m->path[n - 1] == '\n' || m->path[n - 1] == ' '))
			m->path[--n] = 0;
	}
	return 0;
}

int procmap__is_libc(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (!strcmp(base, "libc.so.6") || !strcmp(base, "libc.so"))
		return 1;
	if (!strncmp(base, "libc-", 5) && strstr(base, ".so"))
		return 1;
	if (!strncmp(base, "ld-musl-", 8) && strstr(base, ".so"))
		return 1;
	return 0;
}

int procmaps__read(struct procmaps *pm, pid_t pid)
{
	size_t cap = 64 << 10;
	char path[64], *t;
	ssize_t n;
	int fd;

	pm->pid = pid;
	pm->len = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	pm->text = malloc(cap);
	while (pm->text) {
		if (pm->len + 1 >= cap) {
			t = realloc(pm->text, cap * 2);
			if (!t)
				break;
			pm->text = t;
			cap *= 2;
		}
		n = read(fd, pm->text + pm->len, cap - 1 - pm->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			pm->text[pm->len] = 0;
			close(fd);
			return n < 0 ? (procmaps__free(pm), -1) : 0;
		}
		pm->len += (size_t)n;
	}
	close(fd);
	procmaps__free(pm);
	errno = ENOMEM;
	return -1;
}

void procmaps__free(struct procmaps *pm)
{
	free(pm->text);
	pm->text = NULL;
	pm->len = 0;
}

int procmaps__each(const struct procmaps *pm, int (*fn)(const struct procmap *m, void *arg),
		   void *arg)
{
	const char *p = pm->text, *end = pm->text + pm->len, *nl;
	char line[4352];
	struct procmap *m;
	size_t n;
	int ret = 0;

	m = malloc(sizeof(*m));
	if (!m) {
		errno = ENOMEM;
		return -1;
	}
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		n = (size_t)(nl - p);
		if (n >= sizeof(line))	/* a path longer than any we could open */
			continue;
		memcpy(line, p, n);
		line[n] = 0;
		if (procmap__parse(line, m))
			continue;
		ret = fn(m, arg);
		if (ret)
			break;
	}
	free(m);
	return ret;
}

int procmap__each(pid_t pid, int (*fn)(const struct procmap *m, void *arg), void *arg)
{
	struct procmaps pm;
	int ret;

	if (procmaps__read(&pm, pid))
		return -1;
	ret = procmaps__each(&pm, fn, arg);
	procmaps__free(&pm);
	return ret;
}

uint64_t procmap__kernel_dev(dev_t d)
{
	return ((uint64_t)major(d) << 20) | minor(d);
}

int procmap__same_file(const char *path, uint64_t dev, uint64_t ino)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_ino == ino &&
	       procmap__kernel_dev(st.st_dev) == dev;
}

int procmap__open_file(const char *path, uint64_t dev, uint64_t ino)
{
	/* O_NONBLOCK: opening a FIFO a traced program put in a file's place
	 * would otherwise wait for a writer that never comes */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > PROCMAP_MAX_FILE ||
	    (ino && (st.st_ino != ino || procmap__kernel_dev(st.st_dev) != dev))) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

struct code_scan {
	pid_t pid;
	int (*fn)(const char *path, const struct procmap *m, void *arg);
	void *arg;
};

static int code_one(const struct procmap *m, void *arg)
{
	struct code_scan *cs = arg;
	char path[4200];

	if (m->path[0] != '/' || !strchr(m->perms, 'x'))
		return 0;
	/*
	 * The name the process sees, if it is that very file from here (it
	 * outlives the process); else the mapping itself, through map_files:
	 * the file actually mapped, deleted or in another mount namespace.
	 * Never the name resolved in the process's root: the program may have
	 * put a symlink or a FIFO there.
	 */
	if (procmap__same_file(m->path, m->dev, m->ino))
		snprintf(path, sizeof(path), "%s", m->path);
	else
		snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)cs->pid,
			 (unsigned long long)m->start, (unsigned long long)m->end);
	return cs->fn(path, m, cs->arg);
}

int procmaps__each_code_file(const struct procmaps *pm,
			     int (*fn)(const char *path, const struct procmap *m, void *arg),
			     void *arg)
{
	struct code_scan cs = { pm->pid, fn, arg };

	return procmaps__each(pm, code_one, &cs);
}

int procmap__each_code_file(pid_t pid,
			    int (*fn)(const char *path, const struct procmap *m, void *arg),
			    void *arg)
{
	struct code_scan cs = { pid, fn, arg };

	return procmap__each(pid, code_one, &cs);
}

const char *const procmap_lib_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib",
	"/usr/lib", "/usr/local/lib", NULL,
};

// SPDX-License-Identifier: GPL-2.0
/* tracefs uprobe_events management. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tracefs.h"

#define GROUP_PREFIX "peaktrace_"

struct tracefs {
	char root[64];
	char group[32];
	char **names;
	size_t n, cap;
};

static int has_uprobe_events(const char *root)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/uprobe_events", root);
	return access(p, W_OK) == 0;
}

struct tracefs *tracefs__open(char *err, size_t errlen)
{
	static const char *roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	struct tracefs *t;
	size_t i;

	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(t->group, sizeof(t->group), GROUP_PREFIX "%d", (int)getpid());
	for (i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		if (has_uprobe_events(roots[i])) {
			snprintf(t->root, sizeof(t->root), "%s", roots[i]);
			return t;
		}
	}
	if (mount("nodev", roots[0], "tracefs", 0, NULL) == 0 && has_uprobe_events(roots[0])) {
		snprintf(t->root, sizeof(t->root), "%s", roots[0]);
		return t;
	}
	snprintf(err, errlen,
		 "tracefs is not mounted and mounting it on %s failed (%s); "
		 "mount it (mount -t tracefs nodev %s) or check that the kernel has "
		 "CONFIG_UPROBE_EVENTS", roots[0], strerror(errno), roots[0]);
	free(t);
	return NULL;
}

static int write_line(const char *root, const char *line)
{
	char p[128];
	int fd, ret = 0;

	snprintf(p, sizeof(p), "%s/uprobe_events", root);
	fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, line, strlen(line)) < 0)
		ret = -1;
	close(fd);
	return ret;
}

int tracefs__add_uprobe(struct tracefs *t, int is_return, const char *path,
			uint64_t offset, const char *name, char *err, size_t errlen)
{
	char line[4352], p[256];
	FILE *f;
	int id = -1;

	if (strpbrk(path, " \t\n")) {
		snprintf(err, errlen, "cannot probe %s: tracefs takes no blanks in paths", path);
		return -1;
	}
	snprintf(line, sizeof(line), "%c:%s/%s %s:0x%llx\n", is_return ? 'r' : 'p',
		 t->group, name, path, (unsigned long long)offset);
	if (write_line(t->root, line)) {
		snprintf(err, errlen, "cannot define uprobe %s at %s:0x%llx (%s/uprobe_events: %s)",
			 name, path, (unsigned long long)offset, t->root, strerror(errno));
		return -1;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		char **nn = realloc(t->names, cap * sizeof(*nn));

		if (!nn) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		t->names = nn;
		t->cap = cap;
	}
	t->names[t->n++] = strdup(name);
	snprintf(p, sizeof(p), "%s/events/%s/%s/id", t->root, t->group, name);
	f = fopen(p, "re");
	if (!f || fscanf(f, "%d", &id) != 1) {
		snprintf(err, errlen, "cannot read %s: %s", p, strerror(errno));
		id = -1;
	}
	if (f)
		fclose(f);
	return id;
}

static void remove_group(const char *root, const char *group)
{
	char dir[400], line[600];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/events/%s", root, group);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "enable") ||
		    !strcmp(de->d_name, "filter"))
			continue;
		snprintf(line, sizeof(line), "-:%s/%s\n", group, de->d_name);
		write_line(root, line);
	}
	closedir(d);
}

/* Groups of runs whose process is gone and that no teardown is removing:
 * a teardown child (prctl name peaktrace-detach) may still hold one. */
static int teardown_running(void)
{
	char path[64], comm[32];
	struct dirent *de;
	int found = 0;
	DIR *d = opendir("/proc");

	while (d && !found && (de = readdir(d))) {
		int pid = atoi(de->d_name);
		FILE *f;

		if (pid <= 0 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		f = fopen(path, "re");
		if (!f)
			continue;
		found = fgets(comm, sizeof(comm), f) && !strcmp(comm, "peaktrace-detach\n");
		fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

static void remove_stale(struct tracefs *t)
{
	char dir[128];
	struct dirent *de;
	DIR *d;

	if (teardown_running())
		return;	/* it may be one of theirs; the next teardown looks again */
	snprintf(dir, sizeof(dir), "%s/events", t->root);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		int pid;

		if (strncmp(de->d_name, GROUP_PREFIX, strlen(GROUP_PREFIX)))
			continue;
		pid = atoi(de->d_name + strlen(GROUP_PREFIX));
		if (pid > 0 && kill(pid, 0) && errno == ESRCH)
			remove_group(t->root, de->d_name);
	}
	closedir(d);
}

void tracefs__free(struct tracefs *t)
{
	char line[512];
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++) {
		snprintf(line, sizeof(line), "-:%s/%s\n", t->group, t->names[i]);
		write_line(t->root, line);
		free(t->names[i]);
	}
	free(t->names);
	remove_stale(t);
	free(t);
}

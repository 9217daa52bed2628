// SPDX-License-Identifier: GPL-2.0
/*
 * tracefs uprobe_events: the probe definitions, shared by every run.
 *
 * A definition is named after what it probes (function, entry or return,
 * file identity, offset), in one group, so a run finds the ones an earlier
 * or concurrent run made and reuses them.  Why: the kernel unregisters a
 * uprobe when the last perf event on its definition closes, and waits for
 * an RCU grace period then, under the global event mutex (0.1 s per probe
 * here); with a group per run, every run's teardown held that mutex for
 * 4 s and the next run's first definition waited for it.  Shared
 * definitions plus a teardown that keeps its events open a little while
 * (src/probes/probes.c) let consecutive and concurrent runs skip all of that.
 * Definitions nobody uses are removed by the last teardown.
 */
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
#include "probes/tracefs.h"

#define GROUP "peaktrace"
/* Groups of one run each, from versions before the shared group. */
#define OLD_GROUP_PREFIX "peaktrace_"

struct tracefs {
	char root[64];
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

static int read_id(const struct tracefs *t, const char *group, const char *name)
{
	char p[256];
	FILE *f;
	int id = -1;

	snprintf(p, sizeof(p), "%s/events/%s/%s/id", t->root, group, name);
	f = fopen(p, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &id) != 1)
		id = -1;
	fclose(f);
	return id;
}

int tracefs__add_uprobe(struct tracefs *t, int is_return, const char *path,
			uint64_t offset, const char *name, char *err, size_t errlen)
{
	char line[4352];
	int id, tries;

	if (strpbrk(path, " \t\n")) {
		snprintf(err, errlen, "cannot probe %s: tracefs takes no blanks in paths", path);
		return -1;
	}
	snprintf(line, sizeof(line), "%c:%s/%s %s:0x%llx\n", is_return ? 'r' : 'p', GROUP, name,
		 path, (unsigned long long)offset);
	/* an existing definition is reused; two runs defining it at once: one
	 * wins, the other finds it; one removed meanwhile is made again */
	for (tries = 0; tries < 3; tries++) {
		id = read_id(t, GROUP, name);
		if (id >= 0)
			return id;
		if (write_line(t->root, line) && errno != EEXIST && errno != EBUSY) {
			snprintf(err, errlen, "cannot define uprobe %s at %s:0x%llx (%s/uprobe_events: %s)",
				 name, path, (unsigned long long)offset, t->root, strerror(errno));
			return -1;
		}
	}
	snprintf(err, errlen, "cannot read the id of uprobe %s in %s/events/%s", name, t->root, GROUP);
	return -1;
}

/* Removes every definition of group that no perf event uses (the kernel
 * refuses the others: EBUSY). */
static void remove_unused(const char *root, const char *group)
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

void tracefs__remove_unused(struct tracefs *t)
{
	char dir[128];
	struct dirent *de;
	DIR *d;

	remove_unused(t->root, GROUP);
	snprintf(dir, sizeof(dir), "%s/events", t->root);
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		int pid;

		if (strncmp(de->d_name, OLD_GROUP_PREFIX, strlen(OLD_GROUP_PREFIX)))
			continue;
		pid = atoi(de->d_name + strlen(OLD_GROUP_PREFIX));
		if (pid > 0 && kill(pid, 0) && errno == ESRCH)
			remove_unused(t->root, de->d_name);
	}
	if (d)
		closedir(d);
}

void tracefs__free(struct tracefs *t)
{
	free(t);
}

// SPDX-License-Identifier: GPL-2.0
/* Finding the cgroup of --cgroup (see scope.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include "cli/options.h"
#include "run/scope.h"

#define CGROUP2_MAGIC 0x63677270
#define CGROUP1_MAGIC 0x27e0eb

/* The mount point of filesystem type fstype, from /proc/self/mountinfo. */
static int mount_of(const char *fstype, char *out, size_t len)
{
	char line[4096], mnt[2048], type[64];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int found = 0;

	while (f && !found && fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(sep + 3, "%63s", type) != 1 || strcmp(type, fstype))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %2047s", mnt) == 1) {
			snprintf(out, len, "%s", mnt);
			found = 1;
		}
	}
	if (f)
		fclose(f);
	return found ? 0 : -1;
}

/* A directory named name below dir (breadth first, a few levels): where
 * systemd puts a unit's cgroup (system.slice/foo.service, user.slice/...). */
static int find_unit(const char *dir, const char *name, int depth, char *out, size_t len)
{
	char sub[4096];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int found = 0;

	snprintf(sub, sizeof(sub), "%s/%s", dir, name);
	if (!stat(sub, &st) && S_ISDIR(st.st_mode)) {
		snprintf(out, len, "%s", sub);
		return 0;
	}
	if (!depth || !(d = opendir(dir)))
		return -1;
	while (!found && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		found = !find_unit(sub, name, depth - 1, out, len);
	}
	closedir(d);
	return found ? 0 : -1;
}

int scope__resolve_cgroup(const char *arg, struct cgroup_scope *out, char *err, size_t errlen)
{
	char mnt[2048], path[4200], real[4096];
	struct statfs fs;
	struct stat st;
	size_t n;
	const char *p;

	if (mount_of("cgroup2", mnt, sizeof(mnt))) {
		snprintf(err, errlen, mount_of("cgroup", mnt, sizeof(mnt)) ?
			 "no cgroup filesystem is mounted: --cgroup needs cgroup v2 "
			 "(mount -t cgroup2 none /sys/fs/cgroup)" :
			 "only cgroup v1 is mounted here: --cgroup needs the unified hierarchy "
			 "(cgroup v2; boot with systemd.unified_cgroup_hierarchy=1)");
		return PT_EXIT_FAILED;
	}
	if (arg[0] == '/')
		snprintf(path, sizeof(path), "%s", arg);
	else
		snprintf(path, sizeof(path), "%s/%s", mnt, arg);
	if (stat(path, &st) && !strchr(arg, '/') && find_unit(mnt, arg, 3, path, sizeof(path))) {
		snprintf(err, errlen, "no cgroup '%.200s' (looked for %.200s/%.200s and for a systemd "
			 "unit of that name below it)", arg, mnt, arg);
		return PT_EXIT_NO_TARGET;
	}
	if (!realpath(path, real) || stat(real, &st)) {
		snprintf(err, errlen, "no cgroup '%s': %s: %s", arg, path, strerror(errno));
		return PT_EXIT_NO_TARGET;
	}
	if (!S_ISDIR(st.st_mode) || statfs(real, &fs) || fs.f_type != CGROUP2_MAGIC) {
		snprintf(err, errlen, "%s is not a cgroup v2 directory (the cgroup2 mount is %s)", real,
			 mnt);
		return PT_EXIT_NO_TARGET;
	}
	n = strlen(mnt);
	if (strncmp(real, mnt, n) || (real[n] && real[n] != '/')) {
		snprintf(err, errlen, "%s is not below the cgroup2 mount %s", real, mnt);
		return PT_EXIT_NO_TARGET;
	}
	snprintf(out->path, sizeof(out->path), "%s", real);
	out->id = st.st_ino;
	out->level = 0;
	for (p = real + n; *p; p++)
		out->level += *p == '/' && p[1];
	return 0;
}

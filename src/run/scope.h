/* SPDX-License-Identifier: GPL-2.0 */
/* A cgroup v2 as the scope of a run (--cgroup): found and checked. */
#ifndef PT_SCOPE_H
#define PT_SCOPE_H

#include <stddef.h>
#include <stdint.h>

struct cgroup_scope {
	char path[4096];	/* the directory */
	uint64_t id;		/* its cgroup id (the directory's inode number) */
	uint32_t level;		/* 0 for the root of the hierarchy */
};

/* The cgroup arg names: a directory (absolute, or relative to the cgroup2
 * mount) or a systemd unit name found below the mount.  Returns 0, or an
 * exit code (PT_EXIT_NO_TARGET: no such cgroup; PT_EXIT_FAILED: no cgroup
 * v2 here) with a message in err. */
int scope__resolve_cgroup(const char *arg, struct cgroup_scope *out, char *err, size_t errlen);

#endif

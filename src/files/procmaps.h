/* SPDX-License-Identifier: GPL-2.0 */
/* Parsing /proc/PID/maps lines, and recognising a C library among them. */
#ifndef PT_PROCMAPS_H
#define PT_PROCMAPS_H

#include <stdint.h>
#include <sys/types.h>

struct procmap {
	uint64_t start, end, offset;
	uint64_t dev; /* kernel encoding: major << 20 | minor */
	uint64_t ino;
	char perms[5];
	char path[4096];
};

/* Parses one line of a maps file; returns 0 on success. */
int procmap__parse(const char *line, struct procmap *m);

/* Whether a mapped file's base name is a C library peaktrace can probe
 * (glibc's libc.so.6 or libc-2.x.so, musl's ld-musl-*.so.1). */
int procmap__is_libc(const char *path);

/* /proc/PID/maps read once, for several passes over it (a process whose
 * new library several parts of peaktrace look at). */
struct procmaps {
	pid_t pid;
	char *text;
	size_t len;
};

/* 0, or -1 with errno set if the file cannot be read (the process is gone). */
int procmaps__read(struct procmaps *pm, pid_t pid);
void procmaps__free(struct procmaps *pm);

/*
 * Calls fn for every mapping; stops early if fn returns non-zero.  Returns
 * the last fn result (-1 with errno set if out of memory).
 */
int procmaps__each(const struct procmaps *pm, int (*fn)(const struct procmap *m, void *arg),
		   void *arg);
/* The same, for pid's maps read now; -1 with errno set if they cannot be. */
int procmap__each(pid_t pid, int (*fn)(const struct procmap *m, void *arg), void *arg);

/* st_dev in the kernel's encoding (major << 20 | minor), as maps and BPF
 * show it. */
uint64_t procmap__kernel_dev(dev_t d);
/* Whether path names the regular file (dev, ino) from here. */
int procmap__same_file(const char *path, uint64_t dev, uint64_t ino);

/* Files larger than this are not read (a crafted ELF may claim anything). */
#define PROCMAP_MAX_FILE (4LL << 30)

/*
 * Opens a file whose name a traced, possibly hostile, program influences:
 * only a regular file of sane size, without blocking (a FIFO in its place),
 * and, if ino is not 0, only the file (dev, ino).  Returns the descriptor,
 * or -1 with errno set.
 */
int procmap__open_file(const char *path, uint64_t dev, uint64_t ino);

/*
 * Calls fn for every executable file mapping in pm, with a path peaktrace
 * can open it by: the path the process sees if it is the same file from
 * here (it outlives the process), else /proc/PID/map_files/START-END (a
 * deleted file, a container's: valid while the process lives).  Open it
 * with procmap__open_file.  Returns as procmaps__each.
 */
int procmaps__each_code_file(const struct procmaps *pm,
			     int (*fn)(const char *path, const struct procmap *m, void *arg),
			     void *arg);
/* The same, for pid's maps read now. */
int procmap__each_code_file(pid_t pid,
			    int (*fn)(const char *path, const struct procmap *m, void *arg),
			    void *arg);

/* The usual library directories, where a library named without a path is
 * looked for (NULL-terminated). */
extern const char *const procmap_lib_dirs[];

#endif

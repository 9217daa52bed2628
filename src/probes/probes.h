/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Uprobes on the C library of traced processes, attached per process and
 * inherited by every thread and child it starts.
 */
#ifndef PT_PROBES_H
#define PT_PROBES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct bpf_program;
struct probes;

struct procrecs;

/* prog: the program every probe runs (its cookie says entry or return),
 * loaded or not yet: the probes defined before probes__link() get it
 * there, those defined after at once;
 * libc_files_fd: the BPF map of C library files (dev, ino) probed;
 * tgids_fd, procs, gate_sock and preload (the preload library's path, or
 * NULL) for the exec gate the anchor serves (execgate.h). */
struct probes *probes__new(struct bpf_program *prog, int libc_files_fd, int tgids_fd,
			   const struct procrecs *procs, int gate_sock, const char *preload,
			   char *err, size_t errlen);
/* prog is loaded: attaches it to the probes defined so far.  Returns 0, or
 * -1 with a message in err. */
int probes__link(struct probes *pr, char *err, size_t errlen);
/* 0 if this kernel refused PERF_SAMPLE_READ on inherited events (before
 * 6.12): children may then lose their probes (counted, see bpf/). */
int probes__swap_guarded(void);
/* The anchor helper process (it also serves the exec gate). */
pid_t probes__anchor(const struct probes *pr);
/*
 * Closes every event: the traced tasks' and the BPF programs' at once, the
 * anchor events (whose closing may unregister the uprobes, 0.1 s each under
 * a kernel mutex) after linger_s seconds; then, if linger_s, removes the
 * definitions no run uses any more.
 */
void probes__free(struct probes *pr, unsigned linger_s);
/* Closes the events on traced tasks only (fast): they stop paying at once. */
void probes__stop_targets(struct probes *pr);

enum probes_result {
	PROBES_ATTACHED = 0,
	PROBES_NO_LIBC = 2,	/* no C library mapped (yet): static binary? */
	PROBES_GONE = 3,	/* the process no longer exists */
	PROBES_NOT_NEEDED = 4,	/* no further set is needed */
	PROBES_ERROR = -1,
};

/*
 * The probe set of the C library pid maps, defined on first sight of that
 * file.  Returns its index (< 64), or a negative probes_result.
 */
int probes__libc_set(struct probes *pr, pid_t pid, char *err, size_t errlen);

/*
 * Opens the set's events, inherited, on every thread of pid (rescanning
 * until no new thread appears).  Threads it already attached are skipped.
 */
enum probes_result probes__attach_set(struct probes *pr, int set, pid_t pid,
				      char *err, size_t errlen);

/*
 * Defines the probes of the C library at path (a file peaktrace can open)
 * up front, so that a process exec'ing into a program linked against it
 * is traced from its first allocation.  Returns the set index (< 64), or
 * a negative probes_result with a message.
 */
int probes__add_library(struct probes *pr, const char *path, char *err, size_t errlen);

/*
 * With the preload library: defines the sites of peaktrace-preload.so at path.  Before
 * any C library is defined: glibc's sets are then split, its malloc,
 * calloc, realloc and free probed only on processes that run without the
 * preload library.  0 or PROBES_ERROR with a message.
 */
int probes__preload(struct probes *pr, const char *path, char *err, size_t errlen);
/* The preload library's path once probes__preload() defined its set; NULL
 * before or without. */
const char *probes__preload_path(const struct probes *pr);
/*
 * With the preload library, for a process whose C library's set is set: the set of
 * that library's covered functions (its index) unless the process has
 * mapped the preload library and has it first in its LD_PRELOAD (its
 * malloc is then the library's), else -PROBES_NOT_NEEDED; -PROBES_GONE,
 * or PROBES_ERROR with a message.
 */
int probes__covered_set(struct probes *pr, pid_t pid, int set, char *err, size_t errlen);
/* The same, whatever the process's LD_PRELOAD: for one whose library
 * asked (src/preload/uncover.c). */
int probes__covered_of(struct probes *pr, int set, char *err, size_t errlen);
/* Whether addr is a word of the preload library's own writable data in
 * pid (mapped from its file now): what it may ask peaktrace to set. */
int probes__preload_word(struct probes *pr, pid_t pid, uint64_t addr);

/*
 * For a process that has not run yet (held at the gate of `peaktrace --
 * CMD`): opens every defined set's events on it (with the preload library, not
 * glibc's covered functions).  Returns 0 or a negative probes_result.
 */
int probes__attach_gated(struct probes *pr, pid_t pid, char *err, size_t errlen);
/* The sets probes__attach_gated attaches, as a mask of set indexes. */
uint64_t probes__gated_sets(const struct probes *pr);
/* With the preload library, glibc's covered functions' sets (a mask): what a process
 * running without the preload library needs besides. */
uint64_t probes__covered_sets(const struct probes *pr);

/* One line per probe: function, library, offset, why there. */
void probes__describe(const struct probes *pr, FILE *out);

#endif

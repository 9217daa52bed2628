/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One tracing run: the loaded BPF object, the probes, the process table
 * and the loop that follows the tree until it ends or is stopped.
 */
#ifndef PT_SESSION_H
#define PT_SESSION_H

#include <stddef.h>
#include <sys/types.h>
#include "cli/options.h"
#include "report/report.h"
#include "run/scope.h"

struct session;

/* Checks privileges and kernel support, opens, sizes, loads and attaches
 * the BPF programs.  Returns NULL with a message in err. */
struct session *session__open(const struct options *o, const struct cgroup_scope *cg, char *err,
			      size_t errlen);
void session__free(struct session *s);
/* With the preload library: the library CMD runs with in LD_PRELOAD; NULL otherwise. */
const char *session__preload(const struct session *s);
/*
 * The preload library with sampled stacks: the library's ledger counts the small
 * blocks the sampling passes by in the process (src/preload/ledger.c).
 * Sets PEAKTRACE_LEDGER and makes fds[2], copies of two map fds that the
 * command started next inherits; peaktrace closes them once it has
 * (session__unshare_ledger).  Otherwise fds are -1 and the variable is
 * unset.  Returns 0, or -1 with a message.
 */
int session__share_ledger(struct session *s, int fds[2], char *err, size_t errlen);
void session__unshare_ledger(int fds[2]);

/* Loads the unwind tables of the program at path and of the libraries it
 * needs, and of the programs its arguments name (argv: CMD's arguments,
 * NULL-terminated), before it runs (`peaktrace -- CMD`). */
void session__prepare_program(struct session *s, const char *path, char **argv);

/*
 * Probes a process held at launch gate (not running yet), registering it
 * as the root of the tree.  Returns 0, or -1 with a message.
 */
int session__add_gated(struct session *s, pid_t pid, char *err, size_t errlen);

/*
 * Registers a running process, its existing descendants and all their
 * threads.  Returns 0, or an exit code (PT_EXIT_*) with a message.
 */
int session__add_running(struct session *s, pid_t pid, char *err, size_t errlen);
/*
 * --cgroup: registers every process in the cgroup and below (those that
 * enter later are registered as BPF reports them).  --all: every process
 * on the machine.  Return 0, or an exit code (PT_EXIT_*) with a message.
 */
int session__add_cgroup(struct session *s, char *err, size_t errlen);
int session__add_all(struct session *s, char *err, size_t errlen);

/*
 * Follows the tree until it is gone, the duration passes, or *stop is set
 * (by a signal handler).  launch_pid, if not 0, is reaped when it exits.
 */
void session__run(struct session *s, volatile int *stop, pid_t launch_pid,
		  int *launch_status, int *launch_reaped);

/* Detaches the probes, reads the maps, builds the profile and writes the
 * reports: the text one on stderr (unless -q), and each one asked for to
 * out[row] (rows of report_writers, report/writers.h). */
int session__report(struct session *s, FILE *const out[], char *err, size_t errlen);

/*
 * Frees the session: the slow part (probe unregistration) in a detached
 * child, so that the caller can exit right away.  s is not usable after.
 */
void session__finish(struct session *s);

#endif

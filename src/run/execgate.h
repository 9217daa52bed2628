/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The exec gate: a traced process exec'ing a program peaktrace has no
 * unwind table for waits, inside execve, until the table is loaded, so its
 * first allocations unwind whole (a compiler driver's cc1 made most of its
 * peak before its table was read).  Built on fanotify's FAN_OPEN_EXEC_PERM,
 * answered by the anchor helper process (src/probes/probes.c): at once for
 * processes outside the traced tree, after peaktrace's word (or a short
 * timeout) for traced ones.  Nothing the program can see but the delay.
 */
#ifndef PT_EXECGATE_H
#define PT_EXECGATE_H

#include <stdint.h>
#include <sys/types.h>

struct procrecs;

/* A request from the gate to peaktrace: this traced pid is exec'ing the
 * file open in the gate process as descriptor fd; flags: EXECGATE_*. */
struct execgate_request {
	int32_t pid;
	int32_t fd;
	uint32_t flags;
};

/* With the preload library: the program will run without the preload library first in its
 * LD_PRELOAD (its environment lost it, another library comes first, a
 * set-user-ID program): it needs the C library's own malloc, calloc,
 * realloc and free probes before it runs. */
#define EXECGATE_UNCOVERED 1u

/*
 * The gate's loop, in the anchor process: never returns.  tgids_fd and
 * procs: the BPF maps of traced processes (procs mapped before the fork);
 * sock: peaktrace's end receives requests and answers each with one byte;
 * a file it answered about once goes on at once after that, unless the
 * exec is EXECGATE_UNCOVERED (preload: the preload library's path, or
 * NULL with --no-preload).  Without fanotify, it just waits.
 */
void execgate__serve(int tgids_fd, const struct procrecs *procs, int sock, const char *preload)
	__attribute__((noreturn));

#endif

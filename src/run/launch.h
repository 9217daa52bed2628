/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Starting `peaktrace -- CMD`: the child is forked at once and held at a
 * gate until every probe is attached, then execs CMD.
 */
#ifndef PT_LAUNCH_H
#define PT_LAUNCH_H

#include <stddef.h>
#include <sys/types.h>

struct launch {
	pid_t pid;
	int gate_fd;	/* write end: a byte releases the child */
	int status_fd;	/* read end: carries errno if exec failed, EOF if it worked */
	int reaped;
	int wstatus;
};

/* Forks the gated child (its stdout on our stderr if stdout_to_stderr; its
 * open-file limit set back to nofile if given).  Returns 0, or -1 with a
 * message in err. */
struct rlimit;
int launch__start(struct launch *l, char **argv, int stdout_to_stderr,
		  const struct rlimit *nofile, char *err, size_t errlen);

/*
 * Lets the child exec CMD.  Returns 0 once exec succeeded, else the exit
 * code to use (127 not found, 126 not executable) with a message in err.
 */
int launch__release(struct launch *l, char **argv, char *err, size_t errlen);

/* If the held child was killed (someone else's signal): 128 + the signal,
 * with a message; else 0.  wait: block until it is gone. */
int launch__killed(struct launch *l, int wait, char *err, size_t errlen);

/* Ends a child that was never released. */
void launch__abort(struct launch *l);

/* Non-blocking: 1 if the child has exited (and is reaped), else 0. */
int launch__poll(struct launch *l);

/* The shell's convention: exit status, or 128 + the signal that killed it. */
int launch__exit_code(const struct launch *l);

/* The file execvp would run for cmd; 0, or -1 if none. */
int launch__resolve(const char *cmd, char *out, size_t outlen);
/* 1 if the program file at path needs a runtime that stops it unless it
 * comes first in LD_PRELOAD (AddressSanitizer's shared one), its name in
 * rt; else 0. */
int launch__first_runtime(const char *path, char *rt, size_t len);
/* Whether AddressSanitizer options opts (ASAN_OPTIONS's value; NULL: none)
 * turn off its runtime's check that it comes first in LD_PRELOAD. */
int launch__asan_order_unchecked(const char *opts);
/* peaktrace-preload.so's path, beside the peaktrace binary (make builds
 * both), into path: 0, or -1 with a message in err. */
int launch__preload_path(char *path, size_t len, char *err, size_t errlen);
/* Puts the library at path last in the LD_PRELOAD the command cmd
 * inherits, and turns AddressSanitizer's link-order check off in its
 * ASAN_OPTIONS (for the ASan programs it may exec).  0; 1 with a notice in err if cmd links a runtime that must
 * come first there (AddressSanitizer's), LD_PRELOAD then left alone; or -1
 * with a message. */
int launch__preload(const char *path, const char *cmd, char *err, size_t errlen);

enum launch_exe_kind {
	LAUNCH_EXE_UNKNOWN = -1,	/* not read, or not ELF (a script) */
	LAUNCH_EXE_DYNAMIC = 0,
	LAUNCH_EXE_STATIC = 1,		/* no C library to probe */
	LAUNCH_EXE_FOREIGN = 2,		/* not x86-64 code (a 32-bit program) */
};

/* What the executable CMD resolves to is (enum launch_exe_kind). */
int launch__exe_kind(const char *cmd);

#endif

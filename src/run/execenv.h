/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The environment a process passes to the program it is exec'ing, read
 * while the exec gate holds it inside execve (execgate.h): the old image
 * is still its address space, and the syscall's arguments name the
 * environment's array there.
 */
#ifndef PT_EXECENV_H
#define PT_EXECENV_H

#include <sys/types.h>

/* Whether the program pid is exec'ing (the file open as fd) will run with
 * the library at path first in its LD_PRELOAD. */
enum execenv_preload {
	EXECENV_FIRST,		/* yes */
	EXECENV_NOT_FIRST,	/* no: its environment says so, or the exec
				 * is secure (set-user-ID to another user,
				 * real and effective ids apart, file
				 * capabilities: the loader ignores our entry) */
	EXECENV_UNKNOWN,	/* cannot be told: no thread of pid seen in
				 * execve within 20 ms, its memory unreadable,
				 * the process ending */
};

enum execenv_preload execenv__preload_first(pid_t pid, int fd, const char *path);

/* The value of the environment variable name (its last entry) in the
 * environment pid is exec'ing with, into buf (cut at len - 1 bytes): 1;
 * 0 if it has none; -1 if it cannot be told. */
int execenv__value(pid_t pid, const char *name, char *buf, size_t len);

#endif

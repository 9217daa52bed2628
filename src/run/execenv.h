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

/* Whether the program pid is exec'ing (the file open as fd: set-user-ID or
 * set-group-ID makes the loader ignore LD_PRELOAD) gets the library at
 * path first in its LD_PRELOAD: 1, else 0 (also when it cannot be told:
 * no thread of pid in execve, its memory unreadable). */
int execenv__preload_first(pid_t pid, int fd, const char *path);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
#ifndef PT_READFILE_H
#define PT_READFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Reads up to len bytes of a small file (/proc): the count, or -1. */
int read_file(const char *path, char *buf, size_t len);
/* /proc/PID/stat read into buf: its fields after the command name (which
 * may hold spaces and parentheses), from the space before the state; or
 * NULL (the process gone). */
const char *read_proc_stat(pid_t pid, char *buf, size_t len);

#endif

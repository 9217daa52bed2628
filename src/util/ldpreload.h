/* SPDX-License-Identifier: GPL-2.0 */
/*
 * LD_PRELOAD as glibc's dynamic loader reads it: a list split at spaces
 * and colons, the last of the variable's entries in an environment
 * winning.
 */
#ifndef PT_LDPRELOAD_H
#define PT_LDPRELOAD_H

#include <stddef.h>

#define LDPRELOAD_KEY "LD_PRELOAD="

/* Whether the list value (what follows "LD_PRELOAD=") names path first. */
int ldpreload__first_is(const char *value, const char *path);

/* Whether the environment entry env (len bytes, not NUL-terminated) is an
 * LD_PRELOAD entry: its value's offset in env, or 0. */
size_t ldpreload__entry(const char *env, size_t len);

#endif

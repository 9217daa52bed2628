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

/*
 * Whether the library at path is the one whose malloc a process whose
 * LD_PRELOAD list is value (what follows "LD_PRELOAD=") gets: the first
 * entry that is path, with every entry before it passed over by
 * defines_malloc (0: it surely defines no malloc; NULL: none is passed
 * over).  $PLATFORM in an entry is read as the loader of a process like
 * this one would; entries are compared as files.
 */
int ldpreload__first_is(const char *value, const char *path,
			int (*defines_malloc)(const char *entry));

/*
 * The LD_PRELOAD entry for the library at path: path's directory, then
 * LDPRELOAD_PLATFORM_DIR/$PLATFORM/ and its name, where the build made that
 * (x86_64/ the library, i686/ an empty 32-bit one: a 32-bit program then
 * loads that, where the library itself would make its loader print an
 * error); else path.  0, or -1 if out is too small.
 */
#define LDPRELOAD_PLATFORM_DIR "build/platform"
int ldpreload__entry_for(char *out, size_t len, const char *path);

/* Whether the environment entry env (len bytes, not NUL-terminated) is an
 * LD_PRELOAD entry: its value's offset in env, or 0. */
size_t ldpreload__entry(const char *env, size_t len);

#endif

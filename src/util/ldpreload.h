/* SPDX-License-Identifier: GPL-2.0 */
/*
 * LD_PRELOAD as glibc's dynamic loader reads it: a list split at spaces
 * and colons, the last of the variable's entries in an environment
 * winning.
 */
#ifndef PT_LDPRELOAD_H
#define PT_LDPRELOAD_H

#include <stddef.h>
#include <sys/types.h>

#define LDPRELOAD_KEY "LD_PRELOAD="

/*
 * Whether the library at path is the one whose malloc process (or thread)
 * pid gets from an LD_PRELOAD list value (what
 * follows "LD_PRELOAD=") at its next exec: whether it is the list's first
 * entry.  A library of the user's before it, even one that defines no
 * malloc, makes the answer no: what a library gives the loader cannot be
 * told for sure from outside (filters, symbol tables the section headers
 * misdescribe, hidden versions), and reading the program's files as root
 * to try is a risk of its own; no costs speed (glibc's own probes too),
 * a wrong yes loses allocations.
 *
 * The entry is looked up in pid's root (/proc/PID/root, no magic links),
 * on a thread with the file access pid's loader will have (its effective
 * ids and groups, none of peaktrace's capabilities it has not), and never
 * opened; the entry ldpreload__entry_for wrote is the library only if
 * every name its $PLATFORM may take is, there.  Returns 1, 0, or -1 if
 * pid has ended.
 */
int ldpreload__first_is(pid_t pid, const char *value, const char *path);

/*
 * The LD_PRELOAD entry for the library at path: path's directory, then
 * LDPRELOAD_PLATFORM_DIR/$PLATFORM/ and its name, where the build made that
 * for every name glibc's loader gives $PLATFORM (x86_64, and haswell or
 * xeon_phi on Intel CPUs: the library; i686, i586: an empty 32-bit one, so
 * that a 32-bit program's loader loads that without a word where the
 * library itself would make it print an error); else path.  0, or -1 if
 * out is too small.
 */
#ifndef LDPRELOAD_PLATFORM_DIR
#define LDPRELOAD_PLATFORM_DIR "build/platform"
#endif
int ldpreload__entry_for(char *out, size_t len, const char *path);

/* Whether the environment entry env (len bytes, not NUL-terminated) is an
 * LD_PRELOAD entry: its value's offset in env, or 0. */
size_t ldpreload__entry(const char *env, size_t len);

/* Whether the environment entry env (len bytes) is a non-empty LD_AUDIT:
 * an audit library may change what the loader loads and binds (its
 * la_objsearch, la_symbind), so the process is taken for one without the
 * library. */
int ldpreload__audited(const char *env, size_t len);
/* Whether environ has one. */
int ldpreload__environ_audited(void);

/* The value of the last LD_PRELOAD in environ (the loader's), or NULL. */
const char *ldpreload__getenv(void);

#endif

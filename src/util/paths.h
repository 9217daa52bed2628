/* SPDX-License-Identifier: GPL-2.0 */
/* Path names as a report shows them. */
#ifndef PT_PATHS_H
#define PT_PATHS_H

#include <stddef.h>

/*
 * Lexically, in place: "a//b", "a/./b" and "a/x/../b" become "a/b", so a
 * path the build saw as /build/py/build-static/../Objects/x.c reads
 * /build/py/Objects/x.c.  Leading ".." of a relative path stay; "/.." is "/".
 */
void path__normalize(char *p);

/* The last components of path that fit in max characters, after "...",
 * or path itself if it fits (for the text report; JSON keeps it whole). */
const char *path__tail(const char *path, size_t max, char *buf, size_t buflen);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
#ifndef PT_READFILE_H
#define PT_READFILE_H

#include <stddef.h>

/* Reads up to len bytes of a small file (/proc): the count, or -1. */
int read_file(const char *path, char *buf, size_t len);

#endif

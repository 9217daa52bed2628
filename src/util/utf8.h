/* SPDX-License-Identifier: GPL-2.0 */
/* Strings from traced programs (argv, comm, paths) are untrusted bytes. */
#ifndef PT_UTF8_H
#define PT_UTF8_H

#include <stddef.h>
#include <stdio.h>

/* Length of the valid UTF-8 sequence at s (1 to 4 bytes), or 0 if the
 * bytes there are not one (overlong forms and surrogates included). */
size_t utf8__seq_len(const unsigned char *s, size_t n);

/* Writes s for a terminal: control characters (escape sequences), DEL and
 * invalid UTF-8 as \xNN, a backslash as \\; the rest as it is. */
void utf8__write_safe(FILE *out, const char *s);

#endif

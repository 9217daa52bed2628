// SPDX-License-Identifier: GPL-2.0
/* Path names as a report shows them. */
#include <stdio.h>
#include <string.h>
#include "util/paths.h"

void path__normalize(char *p)
{
	int absolute = p[0] == '/';
	char *out = p + absolute, *base = out;
	const char *seg = p;

	for (;;) {
		const char *end;
		size_t len;

		while (*seg == '/')
			seg++;
		if (!*seg)
			break;
		end = strchrnul(seg, '/');
		len = end - seg;
		if (len == 1 && seg[0] == '.') {
			/* nothing */
		} else if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			if (out > base) {
				char *q = out;

				while (q > base && q[-1] != '/')
					q--;
				out = q > base ? q - 1 : base;
			} else if (!absolute) {
				if (out > p)
					*out++ = '/';
				memmove(out, "..", 2);
				out += 2;
				base = out;
			}
		} else {
			if (out > p + absolute)
				*out++ = '/';
			memmove(out, seg, len);
			out += len;
		}
		seg = end;
	}
	if (out == p)
		*out++ = '.';
	*out = 0;
}

const char *path__tail(const char *path, size_t max, char *buf, size_t buflen)
{
	size_t n = strlen(path);
	const char *t;

	if (n <= max)
		return path;
	for (t = path + n - (max > 3 ? max - 3 : 0); *t && *t != '/'; t++)
		;
	if (!*t)	/* one component longer than max: keep it whole */
		t = strrchr(path, '/') ? strrchr(path, '/') : path;
	snprintf(buf, buflen, "...%s", t);
	return buf;
}

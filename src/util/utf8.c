// SPDX-License-Identifier: GPL-2.0
/* Untrusted strings checked as UTF-8 and made safe for a terminal. */
#include "util/utf8.h"

size_t utf8__seq_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (!n)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void utf8__write_safe(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = 0, len, k;

	while (s[n])
		n++;
	while (n) {
		len = utf8__seq_len(s, n);
		if (!len || *s < 0x20 || *s == 0x7f) {
			fprintf(out, "\\x%02x", *s);
			len = 1;
		} else if (*s == '\\') {
			fputs("\\\\", out);
		} else {
			for (k = 0; k < len; k++)
				fputc(s[k], out);
		}
		s += len;
		n -= len;
	}
}

// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include "util/readfile.h"

int read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, len, f);
	fclose(f);
	return (int)n;
}

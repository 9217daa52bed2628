// SPDX-License-Identifier: GPL-2.0
#include <string.h>
#include "util/ldpreload.h"

int ldpreload__first_is(const char *value, const char *path)
{
	size_t plen = strlen(path);

	value += strspn(value, " :");
	return plen && !strncmp(value, path, plen) &&
	       (value[plen] == 0 || value[plen] == ' ' || value[plen] == ':');
}

size_t ldpreload__entry(const char *env, size_t len)
{
	size_t klen = sizeof(LDPRELOAD_KEY) - 1;

	return len >= klen && !memcmp(env, LDPRELOAD_KEY, klen) ? klen : 0;
}

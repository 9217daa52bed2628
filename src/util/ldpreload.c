// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include "util/ldpreload.h"

/* build/platform/x86_64/ holds a link to the library */
static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The list's entry at value (n bytes), $PLATFORM read, into out: 0, or -1
 * if it does not fit. */
static int entry_read(const char *value, size_t n, char *out, size_t len)
{
	const char *platform = (const char *)getauxval(AT_PLATFORM);
	size_t o = 0;

	/* the loader's $PLATFORM (AT_PLATFORM: this 64-bit process's, which
	 * is the one a library of ours can load in) */
	for (size_t i = 0; i < n; i++) {
		size_t k = !strncmp(value + i, "${PLATFORM}", 11) ? 11 :
			   !strncmp(value + i, "$PLATFORM", 9) ? 9 : 0;

		if (k && platform) {
			int w = snprintf(out + o, len - o, "%s", platform);

			if (w < 0 || (size_t)w >= len - o)
				return -1;
			o += (size_t)w;
			i += k - 1;
		} else {
			if (o + 1 >= len)
				return -1;
			out[o++] = value[i];
		}
	}
	out[o] = 0;
	return 0;
}

int ldpreload__first_is(const char *value, const char *path,
			int (*defines_malloc)(const char *entry))
{
	char entry[4096];
	size_t n;

	for (;;) {
		value += strspn(value, " :");
		n = strcspn(value, " :");
		if (!n || !*path || entry_read(value, n, entry, sizeof(entry)))
			return 0;
		if (!strcmp(entry, path) || same_file(entry, path))
			return 1;
		if (!defines_malloc || defines_malloc(entry))
			return 0;
		value += n;
	}
}

int ldpreload__entry_for(char *out, size_t len, const char *path)
{
	const char *platform = (const char *)getauxval(AT_PLATFORM);
	const char *slash = strrchr(path, '/');
	char dir[4096], alt[4096];

	if (!platform || !slash || (size_t)(slash - path) >= sizeof(dir))
		return snprintf(out, len, "%s", path) >= (int)len ? -1 : 0;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (snprintf(alt, sizeof(alt), "%s/" LDPRELOAD_PLATFORM_DIR "/%s%s", dir, platform, slash) <
		    (int)sizeof(alt) &&
	    same_file(alt, path))
		return snprintf(out, len, "%s/" LDPRELOAD_PLATFORM_DIR "/$PLATFORM%s", dir, slash) >=
				       (int)len ? -1 : 0;
	return snprintf(out, len, "%s", path) >= (int)len ? -1 : 0;
}

size_t ldpreload__entry(const char *env, size_t len)
{
	size_t klen = sizeof(LDPRELOAD_KEY) - 1;

	return len >= klen && !memcmp(env, LDPRELOAD_KEY, klen) ? klen : 0;
}

// SPDX-License-Identifier: GPL-2.0
/* Report files: a temporary file made with O_EXCL, renamed into place. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util/outfile.h"

int outfile__open(struct outfile *o, const char *path, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	struct stat st;
	mode_t mask;
	int fd;

	memset(o, 0, sizeof(*o));
	if (!strcmp(path, "-")) {
		o->f = stdout;
		return 0;
	}
	if (!path[0] || (slash && !slash[1])) {
		snprintf(err, errlen, "cannot write a report to '%s': not a file name", path);
		return -1;
	}
	if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "cannot write a report to %s: it is a directory", path);
		return -1;
	}
	/* someone may have planted it (a shared /tmp): never written through,
	 * nor silently replaced */
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "cannot write a report to %s: it is a symbolic link, which "
			 "peaktrace does not write through (remove it, or give the real path)", path);
		return -1;
	}
	o->path = strdup(path);
	if (!o->path || asprintf(&o->tmp, "%.*s.peaktrace-XXXXXX",
				 (int)(slash ? slash - path + 1 : 0), path) < 0) {
		snprintf(err, errlen, "out of memory");
		free(o->path);
		o->path = NULL;
		return -1;
	}
	fd = mkostemp(o->tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write a report to %s: %s", path, strerror(errno));
		free(o->tmp);
		free(o->path);
		memset(o, 0, sizeof(*o));
		return -1;
	}
	/* mkostemp made it 0600: give it what a plain create would */
	mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask);
	o->f = fdopen(fd, "w");
	if (!o->f) {
		snprintf(err, errlen, "cannot write a report to %s: %s", path, strerror(errno));
		close(fd);
		outfile__abort(o);
		return -1;
	}
	return 0;
}

int outfile__commit(struct outfile *o, char *err, size_t errlen)
{
	int failed;

	if (!o->f)
		return 0;
	if (!o->tmp) {
		if (fflush(o->f)) {
			snprintf(err, errlen, "writing the report to stdout failed: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	failed = ferror(o->f) | fflush(o->f) | fsync(fileno(o->f));
	failed |= fclose(o->f);
	o->f = NULL;
	if (failed || rename(o->tmp, o->path)) {
		snprintf(err, errlen, "writing the report to %s failed: %s", o->path, strerror(errno));
		outfile__abort(o);
		return -1;
	}
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
	return 0;
}

void outfile__abort(struct outfile *o)
{
	if (o->f && o->tmp)
		fclose(o->f);
	if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
}

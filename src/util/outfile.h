/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Report files written safely by root: opened (as a temporary file beside
 * the target) before the command runs, so a path that cannot be written is
 * refused at once; renamed over the target at the end, so the file is
 * written whole or not at all.  A symlink at the target's path is refused
 * up front; one planted later is replaced by the rename, never followed.
 */
#ifndef PT_OUTFILE_H
#define PT_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

struct outfile {
	char *path;		/* the target; "-" is stdout */
	char *tmp;		/* the temporary file beside it */
	FILE *f;
};

/* Returns 0, or -1 with a message in err. */
int outfile__open(struct outfile *o, const char *path, char *err, size_t errlen);
/* Flushes and renames into place.  Returns 0, or -1 with a message. */
int outfile__commit(struct outfile *o, char *err, size_t errlen);
/* Removes the temporary file (an error, or no report). */
void outfile__abort(struct outfile *o);

#endif

// SPDX-License-Identifier: GPL-2.0
/* Turns between runs on the kernel's event mutex (see turns.h). */
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "probes/turns.h"

/* In /run: root's own directory, where no one else can plant a link. */
#define TURNS_PATH "/run/peaktrace.turns"

int turn_begin(void)
{
	int fd = open(TURNS_PATH, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || flock(fd, LOCK_EX)) {
		close(fd);
		return -1;
	}
	return fd;
}

void turn_end(int turn)
{
	if (turn >= 0)
		close(turn);	/* releases the lock */
}

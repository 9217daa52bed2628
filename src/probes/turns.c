// SPDX-License-Identifier: GPL-2.0
/* Turns between runs on the kernel's event mutex (see turns.h). */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "probes/turns.h"

/* In /run: root's own directory, where no one else can plant a link. */
#define TURNS_PATH "/run/peaktrace.turns"

/* A turn is asked for every TURN_POLL_US, at most TURN_WAIT_MS: a run
 * stopped (^Z) in its probe set-up must not hold the others for good.  The
 * teardown leaves TURN_GAP_US between its turns, several polls long. */
#define TURN_POLL_US 2000
#define TURN_WAIT_MS 2000

int turn_begin_at(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	struct stat st;
	int i;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	for (i = 0; i < TURN_WAIT_MS * 1000 / TURN_POLL_US; i++) {
		if (!flock(fd, LOCK_EX | LOCK_NB))
			return fd;
		if (errno != EWOULDBLOCK)
			break;
		usleep(TURN_POLL_US);
	}
	close(fd);
	return -1;	/* waited long enough: on without a turn */
}

int turn_begin(void)
{
	return turn_begin_at(TURNS_PATH);
}

void turn_end(int turn)
{
	if (turn >= 0)
		close(turn);	/* releases the lock */
}

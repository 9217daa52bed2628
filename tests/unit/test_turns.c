// SPDX-License-Identifier: GPL-2.0
/* Turns between runs on the kernel's event mutex (src/probes/turns.c):
 * one holder at a time, a bounded wait, a turn that passes on release,
 * and a lock file that cannot be swapped for a link or a directory. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "probes/turns.h"

/* In a child: whether it gets a turn on path (exit 0: it did); the parent
 * lets release_fd's turn go (if >= 0) while the child waits. */
static int child_gets_turn(const char *path, int release_fd)
{
	pid_t pid = fork();
	int st = 0;

	if (pid == 0) {
		int t;

		/* the parent's lock is the open file's: a copy would hold it */
		if (release_fd >= 0)
			close(release_fd);
		t = turn_begin_at(path);

		_exit(t >= 0 ? 0 : 1);
	}
	if (release_fd >= 0) {
		usleep(100 * 1000);	/* the child waits for the turn meanwhile */
		turn_end(release_fd);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(void)
{
	char dir[] = "/tmp/pt-turns-XXXXXX", path[256], link[256], target[256];
	struct stat st;
	int t;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/turns", dir);

	t = turn_begin_at(path);
	CHECK(t >= 0);
	CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);
	/* held: another process waits, then goes on without (bounded) */
	CHECK(!child_gets_turn(path, -1));
	/* released while it waits: it gets the turn */
	CHECK(child_gets_turn(path, t));
	/* free: at once */
	CHECK(child_gets_turn(path, -1));

	/* a link planted at the path is not followed, its target not made */
	snprintf(link, sizeof(link), "%s/link", dir);
	snprintf(target, sizeof(target), "%s/target", dir);
	CHECK(symlink(target, link) == 0);
	CHECK(turn_begin_at(link) == -1);
	CHECK(access(target, F_OK) == -1);
	/* nor a directory */
	CHECK(turn_begin_at(dir) == -1);

	unlink(link);
	unlink(path);
	rmdir(dir);
	return check_report("test_turns");
}

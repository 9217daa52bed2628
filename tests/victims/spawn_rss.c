// SPDX-License-Identifier: GPL-2.0
/*
 * Exact RSS followed through posix_spawn, whose child shares the parent's
 * mm (CLONE_VM | CLONE_VFORK) until it execs.
 *
 *   touch 16 MiB; posix_spawn /bin/true and wait; touch 200 MiB more.
 *
 * Prints the kernel's exact anonymous RSS at the peak:
 *   anon_kb_peak <KiB>
 */
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "victim.h"
#include "rss.h"

extern char **environ;

NOINLINE char *touch(size_t bytes)
{
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		exit(85);
	for (size_t off = 0; off < bytes; off += 4096)
		p[off] = 1;
	NO_TAIL();
	return p;
}

int main(void)
{
	char *argv[] = { "/bin/true", NULL };
	pid_t pid;
	int st;

	touch(16 * MiB);
	if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) || waitpid(pid, &st, 0) != pid)
		return 86;
	touch(200 * MiB);
	printf("anon_kb_peak %ld\n", smaps_kb("Anonymous"));
	fflush(stdout);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * A producer and a consumer sharing 8 MiB of memory (as in seed 002): the
 * producer writes every page of a memfd mapping, forks the consumer, which
 * maps it and reads every page; both hold it when the consumer reports.
 * Each has 8 MiB of shmem in its RSS; the tree's sum counts them twice.
 */
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "victim.h"

#define SHARED (8 * MiB)

int main(void)
{
	int fd = memfd_create("peaktrace-shm", 0), ready[2], done[2];
	volatile char *p;
	char c;
	long sum = 0;
	pid_t pid;

	if (fd < 0 || ftruncate(fd, SHARED) || pipe(ready) || pipe(done))
		return 82;
	p = mmap(NULL, SHARED, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 81;
	for (size_t off = 0; off < SHARED; off += 4096)
		p[off] = 1; /* producer */
	pid = fork();
	if (pid == 0) {
		volatile char *q = mmap(NULL, SHARED, PROT_READ, MAP_SHARED, fd, 0);

		if (q == MAP_FAILED)
			_exit(80);
		for (size_t off = 0; off < SHARED; off += 4096)
			sum += q[off]; /* consumer */
		if (write(ready[1], "r", 1) != 1 || read(done[0], &c, 1) != 1)
			_exit(79);
		_exit(sum == SHARED / 4096 ? 0 : 78);
	}
	/* both hold the pages now */
	if (read(ready[0], &c, 1) != 1 || write(done[1], "d", 1) != 1)
		return 77;
	waitpid(pid, NULL, 0);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * A traced program that tries to stall or steer root's peaktrace through
 * the files it maps (argv[1]: a scratch directory it may fill):
 *   - crafted.so: a small ELF whose executable segment claims ~4 GiB;
 *   - a mapped file deleted, with a FIFO put at "<path> (deleted)";
 *   - a mapped file deleted, with symlinks to /etc/shadow at its path and
 *     at "<path> (deleted)".
 * Prints "ready", waits for SIGUSR1, allocates 2 MiB (hostile_alloc),
 * exits.  peaktrace must attach within seconds, open none of the planted
 * names, and count the 2 MiB.
 */
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "victim.h"

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

/* Copies our own executable's first 16 KiB to path (a valid ELF header). */
static int copy_head(const char *path)
{
	char buf[16384];
	int in = open("/proc/self/exe", O_RDONLY), out;
	ssize_t n;

	if (in < 0)
		return -1;
	n = read(in, buf, sizeof(buf));
	close(in);
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (out < 0 || n <= 0 || write(out, buf, n) != n)
		return -1;
	return close(out);
}

static void *map_exec(const char *path)
{
	int fd = open(path, O_RDONLY);
	void *p = fd < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);

	if (p == MAP_FAILED)
		exit(85);
	close(fd);
	return p;
}

static void craft(const char *path)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd = open(path, O_RDWR);

	if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != sizeof(eh))
		exit(86);
	for (int i = 0; i < eh.e_phnum; i++) {
		off_t at = eh.e_phoff + (off_t)i * eh.e_phentsize;

		if (pread(fd, &ph, sizeof(ph), at) != sizeof(ph))
			exit(86);
		if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
			ph.p_filesz = ph.p_memsz = 0xf0000000ULL;
			if (pwrite(fd, &ph, sizeof(ph), at) != sizeof(ph))
				exit(86);
		}
	}
	close(fd);
}

NOINLINE void *hostile_alloc(void)
{
	void *p = keep(malloc(2 * MiB));

	NO_TAIL();
	return p;
}

int main(int argc, char **argv)
{
	char a[400], b[400], c[400], d[512];
	sigset_t none;

	if (argc < 2)
		return 2;
	signal(SIGUSR1, on_usr1);
	snprintf(a, sizeof(a), "%s/crafted.so", argv[1]);
	if (copy_head(a))
		return 87;
	craft(a);
	map_exec(a);

	snprintf(b, sizeof(b), "%s/fifo.so", argv[1]);
	if (copy_head(b))
		return 87;
	map_exec(b);
	unlink(b);
	snprintf(d, sizeof(d), "%s (deleted)", b);
	if (mkfifo(d, 0600))
		return 88;

	snprintf(c, sizeof(c), "%s/link.so", argv[1]);
	if (copy_head(c))
		return 87;
	map_exec(c);
	unlink(c);
	snprintf(d, sizeof(d), "%s (deleted)", c);
	if (symlink("/etc/shadow", c) || symlink("/etc/shadow", d))
		return 89;

	printf("ready\n");
	fflush(stdout);
	sigemptyset(&none);
	while (!go)
		sigsuspend(&none);
	free(hostile_alloc());
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Small blocks for --preload's ledger (src/preload/ledger.c), every figure
 * known by construction.  The parent holds at its peak:
 *   fill_small  20000 x 1000 B malloc            20 000 000
 *   fill_calloc  5000 x (10 x 100 B) calloc        5 000 000
 *   grow         1000 x 100 -> reallocarray 2 x 100 -> realloc 300  300 000
 *   to_large     realloc 100 -> 4 MiB              4 194 304
 *   to_small     realloc 4 MiB -> 100                    100
 *   big          one 8 MiB malloc                  8 388 608
 *                                        total    37 883 012
 * Then a forked child frees the 20000 blocks of fill_small it inherited
 * (inherited frees) and makes and frees 3000 x 500 B of its own; two
 * threads make and free 50000 blocks each at once; an exec'd copy of this
 * program ("exec") makes 4000 x 250 B and frees them; another ("closed"),
 * exec'd with the ledger's fds closed and one of their numbers reused for
 * a file of its own, does the same (its file must be left alone).  Each
 * says how many BPF maps it has mapped (the ledger's: 2, or 0 without).
 * Everything is freed before the end.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>
#include "victim.h"

#define SMALL 20000
#define CALLOCS 5000
#define GROWS 1000

static void *small[SMALL], *zeroed[CALLOCS], *grown[GROWS];

NOINLINE static void fill_small(void)
{
	for (int i = 0; i < SMALL; i++)
		small[i] = keep(malloc(1000));
	NO_TAIL();
}

NOINLINE static void fill_calloc(void)
{
	for (int i = 0; i < CALLOCS; i++)
		zeroed[i] = keep(calloc(10, 100));
	NO_TAIL();
}

NOINLINE static void grow(void)
{
	for (int i = 0; i < GROWS; i++) {
		grown[i] = keep(malloc(100));
		grown[i] = keep(reallocarray(grown[i], 2, 100));
		grown[i] = keep(realloc(grown[i], 300));
	}
	NO_TAIL();
}

NOINLINE static void *to_large(void)
{
	void *p = keep(malloc(100));

	p = keep(realloc(p, 4 * MiB));
	NO_TAIL();
	return p;
}

NOINLINE static void *to_small(void)
{
	void *p = keep(malloc(4 * MiB));

	p = keep(realloc(p, 100));
	NO_TAIL();
	return p;
}

NOINLINE static void *big(void)
{
	void *p = keep(malloc(8 * MiB));

	NO_TAIL();
	return p;
}

/* n blocks of size bytes, made and freed. */
NOINLINE static void churn(int n, size_t size)
{
	void **v = keep(malloc(n * sizeof(*v)));

	for (int i = 0; i < n; i++)
		v[i] = keep(malloc(size));
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
	NO_TAIL();
}

static void *thread_churn(void *arg)
{
	(void)arg;
	for (int i = 0; i < 50; i++)
		churn(1000, 64);
	return NULL;
}

static int wait_ok(pid_t pid)
{
	int st;

	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !WEXITSTATUS(st);
}

/* The BPF maps mapped here: the ledger's two when it is on.  Read and
 * said without stdio, which would allocate (the figures are asserted). */
static int bpf_map_mappings(void)
{
	static char buf[1 << 16];
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC), n = 0;
	ssize_t len = 0, got;

	while (fd >= 0 && len < (ssize_t)sizeof(buf) - 1 &&
	       (got = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += got;
	if (fd >= 0)
		close(fd);
	buf[len] = 0;
	for (char *s = buf; (s = strstr(s, "anon_inode:bpf-map")); s++)
		n++;
	return n;
}

/* This program again, as "exec" or "closed". */
static int run_self(const char *self, const char *mode, int closed_fd, const char *file)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (closed_fd >= 0) {
			int f = open(file, O_RDWR);

			if (f < 0 || dup2(f, closed_fd) != closed_fd)
				_exit(90);
		}
		execl(self, self, mode, (char *)NULL);
		_exit(91);
	}
	return wait_ok(pid);
}

int main(int argc, char **argv)
{
	const char *env = getenv("PEAKTRACE_LEDGER");
	pthread_t t[2];
	void *l, *s, *b;
	pid_t pid;

	if (argc > 1) {	/* "exec" or "closed" */
		churn(4000, 250);
		char said[64];
		int n = snprintf(said, sizeof(said), "%s: %d BPF map mappings\n", argv[1],
				 bpf_map_mappings());

		return write(1, said, n) == n ? 0 : 92;
	}
	fill_small();
	fill_calloc();
	grow();
	l = to_large();
	s = to_small();
	b = big();
	usleep(1000);
	free(b);
	free(l);
	free(s);
	pid = fork();
	if (pid == 0) {
		for (int i = 0; i < SMALL; i++)
			free(small[i]);
		churn(3000, 500);
		_exit(0);
	}
	if (!wait_ok(pid))
		return 86;
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, thread_churn, NULL))
			return 87;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	if (!run_self(argv[0], "exec", -1, NULL))
		return 88;
	/* the ledger's global map fd, closed and its number reused for a file */
	if (env && argc == 1 && getenv("LEDGER_FILE")) {
		int fd = atoi(env);

		close(fd);
		if (!run_self(argv[0], "closed", fd, getenv("LEDGER_FILE")))
			return 89;
	}
	for (int i = 0; i < SMALL; i++)
		free(small[i]);
	for (int i = 0; i < CALLOCS; i++)
		free(zeroed[i]);
	for (int i = 0; i < GROWS; i++)
		free(grown[i]);
	return 0;
}

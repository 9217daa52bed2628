// SPDX-License-Identifier: GPL-2.0
/*
 * For `peaktrace -p`: memory held before the attach, a child that exists
 * before it, and a child started after it.
 *
 * Before attach: 32 blocks of 1 MiB (pre_attach), and child P forked.
 * Prints "ready <pid of P>" and waits for SIGUSR1 (the test sends it once
 * peaktrace is attached).  Then:
 *   after_attach    16 MiB                               tree 16
 *   P: pre_child    4 MiB, exits                         tree 20
 *   child N: new_child 8 MiB, exits                      tree 24  <- peak
 *   free the 32 pre-attach blocks: 32 unknown frees
 *   free the 16 MiB, exit 0.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "victim.h"

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

NOINLINE void *pre_attach(void)
{
	void *p = keep(malloc(1 * MiB));

	NO_TAIL();
	return p;
}

NOINLINE void *after_attach(void)
{
	char *p = keep(malloc(16 * MiB));

	p[0] = 1; /* one page resident: an RSS change after the attach */
	NO_TAIL();
	return p;
}

NOINLINE void pre_child(void)
{
	keep(malloc(4 * MiB));
	NO_TAIL();
}

NOINLINE void new_child(void)
{
	keep(malloc(8 * MiB));
	NO_TAIL();
}

static void wait_go(void)
{
	sigset_t none;

	sigemptyset(&none);
	while (!go)
		sigsuspend(&none);
}

int main(void)
{
	void *pre[32], *held;
	int gate[2], st, i;
	pid_t p, n;
	char c;

	signal(SIGUSR1, on_usr1);
	for (i = 0; i < 32; i++)
		pre[i] = pre_attach();
	if (pipe(gate))
		return 90;
	p = fork();
	if (p == 0) {
		if (read(gate[0], &c, 1) != 1)
			_exit(89);
		pre_child();
		_exit(0);
	}
	printf("ready %d\n", (int)p);
	fflush(stdout);
	wait_go();
	held = after_attach();
	if (write(gate[1], "g", 1) != 1 || waitpid(p, &st, 0) != p)
		return 88;
	n = fork();
	if (n == 0) {
		new_child();
		_exit(0);
	}
	if (waitpid(n, &st, 0) != n)
		return 87;
	for (i = 0; i < 32; i++)
		free(pre[i]);
	free(held);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * A large running tree for -p: 100 children of 8 threads each.  After
 * "ready", SIGUSR1 makes every child allocate 8 MiB (child_alloc) and hold
 * it until SIGUSR2; then all exit.  Tree peak after the attach: 800 MiB.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "victim.h"

#define CHILDREN 100
#define THREADS 7	/* besides the main thread */

static volatile sig_atomic_t go, done;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		go = 1;
	else
		done = 1;
}

static void *idle(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

NOINLINE void *child_alloc(void)
{
	char *p = keep(malloc(8 * MiB));

	memset(p, 1, 4096);
	NO_TAIL();
	return p;
}

static void child(int ready_fd)
{
	pthread_t t;
	sigset_t none;

	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t, NULL, idle, NULL))
			_exit(96);
	if (write(ready_fd, "r", 1) != 1)
		_exit(97);
	sigemptyset(&none);
	while (!go)
		sigsuspend(&none);
	child_alloc();
	if (write(ready_fd, "a", 1) != 1)
		_exit(97);
	while (!done)
		sigsuspend(&none);
	_exit(0);
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, none;
	int pipefd[2], st, bad = 0;
	char c;

	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, NULL);	/* threads inherit it: main takes them */
	if (pipe(pipefd))
		return 86;
	for (int i = 0; i < CHILDREN; i++)
		if (fork() == 0)
			child(pipefd[1]);
	for (int i = 0; i < CHILDREN; i++)
		if (read(pipefd[0], &c, 1) != 1)
			return 87;
	printf("ready\n");
	fflush(stdout);
	sigemptyset(&none);
	while (!go)
		sigsuspend(&none);
	kill(0, SIGUSR1);
	for (int i = 0; i < CHILDREN; i++)
		if (read(pipefd[0], &c, 1) != 1)
			return 88;
	kill(0, SIGUSR2);
	while (wait(&st) > 0)
		bad |= !WIFEXITED(st) || WEXITSTATUS(st);
	return bad ? 89 : 0;
}

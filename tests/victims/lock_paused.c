// SPDX-License-Identifier: GPL-2.0
/*
 * Holds the model lock while it and a forked child allocate and free, as
 * a ledger thread preempted in mid-update would: maps the model as
 * peaktrace-preload.so's ledger does (PEAKTRACE_LEDGER) and takes the lock
 * with its image's tag.  Meanwhile every update must be queued, not
 * dropped, and applied in order once the lock is let go:
 *
 *   main     a = 1 MiB, b = 2 MiB         the process peak: 3 MiB
 *   thread   frees a                       (queued after a's allocation)
 *   main     c = 512 KiB                   2.5 MiB live
 *   child    3 MiB, freed; exits           the tree peak: 5.5 MiB
 *
 * then lets go, makes a small block the ledger counts (which must come after
 * the queued updates) and frees it, b and c; or, given "exit", ends
 * there, holding the lock.  Only blocks past --sample-bytes, which
 * the ledger leaves to the sites: a block the ledger counted itself would
 * wait for the lock this process holds.  The thread is made before the lock
 * is taken (its stack and TLS are small allocations).  Exits 2 without a
 * ledger to hold.
 */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ledger_maps.h"
#include "victim.h"

static int go[2];
static void *volatile to_free;

static void *freer(void *arg)
{
	char c;

	(void)arg;
	if (read(go[0], &c, 1) != 1)
		_exit(6);
	free(to_free);
	return NULL;
}

static NOINLINE void *held_alloc(size_t n)
{
	void *p = keep(malloc(n));

	memset(p, 1, n);
	NO_TAIL();
	return p;
}

int main(int argc, char **argv)
{
	struct pt_proc *me;
	struct pt_global *g;
	int status, r;
	void *b, *c, *s;
	pthread_t t;
	pid_t child;

	r = ledger_maps(&g, &me);
	if (r)
		return r;
	if (pipe(go) || pthread_create(&t, NULL, freer, NULL))
		return 3;
	while (!__sync_bool_compare_and_swap(&g->lock, 0, PT_LEDGER_LOCK(me->instance)))
		usleep(100);

	to_free = held_alloc(1 * MiB);
	b = held_alloc(2 * MiB);
	if (write(go[1], "x", 1) != 1 || pthread_join(t, NULL))
		return 6;
	c = held_alloc(512 * KiB);
	child = fork();
	if (child == 0) {
		free(held_alloc(3 * MiB));
		_exit(0);
	}
	if (child < 0 || waitpid(child, &status, 0) != child || status)
		return 7;
	/* "exit": ends holding it, with no allocator call after: its end lets
	 * the lock go (model_end), and peaktrace applies the queue */
	if (argc > 1 && !strcmp(argv[1], "exit"))
		_exit(0);

	__atomic_store_n(&g->lock, 0, __ATOMIC_RELEASE);
	/* counted by the ledger (but for a 1 in 160 draw): after the queued
	 * updates, or it would add its 100 bytes to both peaks */
	s = keep(malloc(100));
	free(b);
	free(c);
	free(s);
	return 0;
}

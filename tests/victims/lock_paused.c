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
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../../bpf/peaktrace.h"
#include "victim.h"

static int go[2];
static void *volatile to_free;

static void *map(int fd, size_t len)
{
	void *p = mmap(NULL, (len + 4095) & ~4095UL, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

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
	const char *env = getenv(PT_LEDGER_ENV);
	unsigned gid, pid, slots, sample, i;
	struct pt_proc *procs, *me = NULL;
	struct pt_global *g;
	int gfd, pfd, status;
	void *b, *c, *s;
	pthread_t t;
	pid_t child;

	if (!env || sscanf(env, PT_LEDGER_FORMAT, &gfd, &gid, &pfd, &pid, &slots, &sample) != 6)
		return 2;
	g = map(gfd, sizeof(*g));
	procs = map(pfd, (size_t)slots * sizeof(*procs));
	if (!g || !procs || pipe(go) || pthread_create(&t, NULL, freer, NULL))
		return 3;
	for (i = 0; i < slots && !me; i++)
		if (procs[i].instance && procs[i].tgid == (__u32)getpid() && procs[i].alive &&
		    !procs[i].launcher)
			me = &procs[i];
	if (!me)
		return 5;
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

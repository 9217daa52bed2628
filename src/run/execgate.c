// SPDX-License-Identifier: GPL-2.0
/* The exec gate's side in the anchor process (see execgate.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "collect/procrecs.h"
#include "run/execenv.h"
#include "run/execgate.h"
#include "peaktrace.h"

/* How long a traced exec waits for its table at most: peaktrace stopped
 * or busy must not hold the program for long. */
#define GATE_WAIT_MS 2000

/* Pseudo file systems hold no programs. */
static int pseudo_fs(const char *type)
{
	static const char *skip[] = { "proc", "sysfs", "cgroup", "cgroup2", "devpts", "mqueue",
				      "bpf", "tracefs", "debugfs", "securityfs", "pstore",
				      "configfs", "fusectl", "binfmt_misc", "autofs", "devtmpfs" };
	size_t i;

	for (i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (!strcmp(type, skip[i]))
			return 1;
	return 0;
}

/* Marks every file system mounted here (once each). */
static int mark_all(int fan)
{
	char line[4096], mnt[2048], type[64];
	int marked = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	while (f && fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		/* id parent major:minor root mountpoint ... - type source options */
		if (!sep || sscanf(line, "%*s %*s %*s %*s %2047s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s", type) != 1 || pseudo_fs(type))
			continue;
		if (!fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC_PERM,
				   AT_FDCWD, mnt) || errno == EEXIST)
			marked++;
	}
	if (f)
		fclose(f);
	return marked;
}

static void allow(int fan, int fd)
{
	struct fanotify_response r = { .fd = fd, .response = FAN_ALLOW };

	if (write(fan, &r, sizeof(r)) < 0) {
		/* nothing to do: the kernel allows when the group goes */
	}
	close(fd);
}

struct traced_exec {
	int fan, sock, fd;
	int32_t pid;
	const char *preload;	/* the preload library, or NULL */
};

static pthread_mutex_t one_at_a_time = PTHREAD_MUTEX_INITIALIZER;

/*
 * The files whose request peaktrace has answered: their tables and their
 * libraries' are loaded, so a later traced exec of one goes on at once,
 * without asking (a shell loop exec'ing the same programs paid 1.5 ms per
 * exec for the round trip).  Known by device, inode and change time (an
 * inode reused by another file is another file); a full set asks again.
 */
#define SERVED_SLOTS 4096
#define SERVED_PROBES 16

struct served_file {
	uint64_t dev, ino, ctime_ns;	/* ino 0: empty */
};

static struct served_file served[SERVED_SLOTS];
static pthread_mutex_t served_lock = PTHREAD_MUTEX_INITIALIZER;

static int served_key(int fd, struct served_file *k)
{
	struct stat st;

	if (fstat(fd, &st) || !st.st_ino)
		return -1;
	k->dev = st.st_dev;
	k->ino = st.st_ino;
	k->ctime_ns = (uint64_t)st.st_ctim.tv_sec * 1000000000ULL + st.st_ctim.tv_nsec;
	return 0;
}

/* Whether the file open as fd was served (add: and records it if not). */
static int served_lookup(int fd, int add)
{
	struct served_file k;
	uint64_t h;
	int i, found = 0;

	if (served_key(fd, &k))
		return 0;
	h = (k.ino * 0x9e3779b97f4a7c15ULL) ^ (k.dev * 0xc2b2ae3d27d4eb4fULL);
	pthread_mutex_lock(&served_lock);
	for (i = 0; i < SERVED_PROBES; i++) {
		struct served_file *f = &served[(h + i) % SERVED_SLOTS];

		if (f->ino == k.ino && f->dev == k.dev && f->ctime_ns == k.ctime_ns) {
			found = 1;
			break;
		}
		if (!f->ino) {
			if (add)
				*f = k;
			break;
		}
	}
	pthread_mutex_unlock(&served_lock);
	return found;
}

/*
 * In a thread of its own, so that execs outside the tree are answered at
 * once meanwhile: asks peaktrace to load the table of the file being
 * exec'd (one request at a time), waits for its byte, the timeout, or its
 * end of the socket closing, then lets the exec go on.
 */
static void *ask(void *arg)
{
	struct traced_exec *x = arg;
	struct execgate_request req = { .pid = x->pid, .fd = x->fd };
	struct pollfd p = { .fd = x->sock, .events = POLLIN };
	char c;

	/* With the preload library: whether the program gets the library first, read here
	 * (up to 20 ms if the exec'ing thread is not asleep yet) while other
	 * execs are answered.  One that cannot be told gets glibc's probes
	 * before it runs, as one without the library: left to the check
	 * after its exec, it was counted late, or (an environment past the
	 * entries read here) judged on a part of it.  With the library after
	 * all, its calls are still counted once (the caller's mapping tells;
	 * test_both_probes_under_mmap_lock_contention). */
	if (x->preload &&
	    execenv__preload_first(x->pid, x->fd, x->preload) != EXECENV_FIRST)
		req.flags |= EXECGATE_UNCOVERED;
	/* most execs have the library: a served file's then goes on at once */
	if (!req.flags && served_lookup(x->fd, 0)) {
		allow(x->fan, x->fd);
		free(x);
		return NULL;
	}
	pthread_mutex_lock(&one_at_a_time);
	/* answered: remembered; else (peaktrace gone, or busy past the
	 * timeout) it is allowed anyway and asked about again next time */
	if (write(x->sock, &req, sizeof(req)) == sizeof(req) &&
	    poll(&p, 1, GATE_WAIT_MS) == 1 && read(x->sock, &c, 1) == 1)
		served_lookup(x->fd, 1);
	pthread_mutex_unlock(&one_at_a_time);
	allow(x->fan, x->fd);
	free(x);
	return NULL;
}

/* Whether pid is traced and worth holding: not peaktrace's own gated
 * fork exec'ing the command (its tables are read before it is released,
 * and peaktrace is not serving the gate yet). */
static int held(int tgids_fd, const struct procrecs *procs, uint32_t pid)
{
	const struct pt_proc *p;
	struct pt_tgid t;

	if (bpf_map_lookup_elem(tgids_fd, &pid, &t))
		return 0;
	p = procrecs__get(procs, t.instance);
	return !p || !p->launcher;
}

void execgate__serve(int tgids_fd, const struct procrecs *procs, int sock, const char *preload)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	/* no gate wanted (--frame-pointers: no tables to wait for): no cost */
	int fan = sock < 0 ? -1 :
		  fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE | O_CLOEXEC);

	if (fan < 0 || !mark_all(fan)) {
		/* no gate here: peaktrace sees its end close, and reads the
		 * programs a command line names instead */
		if (sock >= 0)
			close(sock);
		for (;;)
			pause();
	}
	for (;;) {
		const struct fanotify_event_metadata *m = (const void *)buf;
		ssize_t n = read(fan, buf, sizeof(buf));

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			for (;;)
				pause();
		}
		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			if (m->fd < 0)
				continue;
			if ((m->mask & FAN_OPEN_EXEC_PERM) && sock >= 0 &&
			    held(tgids_fd, procs, m->pid) && (preload || !served_lookup(m->fd, 0))) {
				struct traced_exec *x = malloc(sizeof(*x));
				pthread_attr_t a;
				pthread_t th;

				if (x) {
					*x = (struct traced_exec){ fan, sock, m->fd, m->pid, preload };
					pthread_attr_init(&a);
					pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
					if (!pthread_create(&th, &a, ask, x))
						continue;
					free(x);
				}
			}
			allow(fan, m->fd);
		}
	}
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading the BPF object with the verifier's work on two CPUs (see
 * bpfload.c): the maps once, then the programs in two more instances of
 * the object that share them.
 */
#ifndef PT_RUN_BPFLOAD_H
#define PT_RUN_BPFLOAD_H

#include <pthread.h>
#include <stddef.h>

struct peaktrace_bpf;

struct bpfload {
	struct peaktrace_bpf *progs;	/* the tracepoints and iterators */
	struct peaktrace_bpf *probe;	/* pt_probe; NULL when it is not wanted */
	struct peaktrace_bpf *drain;	/* pt_drain_now, once needed */
	struct bpf_object *maps;	/* the maps instance's object, whose maps they share */
	pthread_t thread;		/* verifying pt_probe */
	int running;
	int probe_err;			/* its load's result */
	int btf_fd;			/* the maps instance's BTF until it loads */
};

/* Opens the maps instance (initializes l).  Returns it, or NULL with a
 * message in err. */
struct peaktrace_bpf *bpfload__open(struct bpfload *l, char *err, size_t errlen);

/*
 * maps: the skeleton bpfload__open() gave, sized, its globals set and every program's
 * autoload as wanted.  Creates its maps (it keeps no program: maps, bss
 * and rodata are read through it) and opens the two program instances on
 * them; l->probe->progs.pt_probe can be handed out from here on, to be
 * attached after bpfload__probe().  Returns 0, or -1 with a message in err
 * (a load failure says how to see the verifier's log when verbose is 0).
 */
int bpfload__maps(struct bpfload *l, struct peaktrace_bpf *maps, int verbose, char *err,
		  size_t errlen);
/* Starts pt_probe's verification on a thread and loads the tracepoints
 * and iterators here meanwhile.  Returns 0 or -1 with a message in err. */
int bpfload__progs(struct bpfload *l, int verbose, char *err, size_t errlen);
/* Waits for pt_probe.  Returns 0 or -1 with a message in err. */
int bpfload__probe(struct bpfload *l, int verbose, char *err, size_t errlen);
/* The fd of pt_drain_now, loaded the first time (src/run/drain.c); -1 with
 * a message in err if it cannot be. */
int bpfload__drain(struct bpfload *l, char *err, size_t errlen);
/* Detaches the tracepoints (attached from l->progs). */
void bpfload__detach(struct bpfload *l);
/* Waits for the thread if it runs; destroys the program instances. */
void bpfload__free(struct bpfload *l);

#endif

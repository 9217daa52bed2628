/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What userspace knows of each traced process image (instance): identity,
 * command line, lifetime, and the state of its C library probes.  Filled
 * from the BPF ring buffer's fork/exec/exit events.
 */
#ifndef PT_PROCTABLE_H
#define PT_PROCTABLE_H

#include <stddef.h>
#include <stdint.h>
#include "peaktrace.h"
#include "util/hindex.h"

enum libc_state {
	LIBC_PENDING = 0,	/* exec'd: its libc is not mapped yet */
	LIBC_PROBED,		/* its libc carries our probes */
	LIBC_NONE,		/* statically linked, or no libc we can probe */
};

struct proc_info {
	uint32_t instance, prev_instance, tgid, ppid;
	char comm[PT_COMM_LEN];
	const char *argv;	/* NUL-separated; interned: equal ones shared */
	size_t argv_len;
	uint64_t start_ns, end_ns;
	int ended;
	int exit_code;		/* kernel encoding, valid if has_exit_code */
	int has_exit_code;
	int launcher;		/* peaktrace's gated fork before exec: not reported */
	int libc_state;
	uint64_t sets_mask;	/* probe sets its tasks carry (bit per set) */
	uint64_t pending_since_ns;
	char note[160];		/* why its heap is not traced, if it is not */
	int untraced;		/* it should have been traced and could not be: a loss */
	uint32_t series;	/* its timeline series + 1 (collect/timeline.c), 0: none */
	int left_scope;		/* moved out of the --cgroup: counted until then */
	int announce;		/* -v: its entry into the scope is said once its
				 * C library's state is known (scope_announce) */
	int uncover;		/* its preload library asked for glibc's own
				 * probes: UNCOVER_* (run/events.c) */
};

struct proctable {
	struct proc_info *v;
	size_t n, cap;
	uint32_t *index;	/* by instance: position + 1, 0 empty */
	size_t index_cap;
	/* command lines, each once: a loop starting 100 000 /bin/true (and
	 * as many forked shells) keeps two, not 200 000 */
	struct argv_blob {
		char *s;
		size_t len;
	} *argvs;
	size_t nargvs, capargvs;
	struct hindex argv_index;
};

void proctable__init(struct proctable *t);
void proctable__free(struct proctable *t);
/* Returns the new entry (copied from tmpl, argv duplicated) or NULL. */
struct proc_info *proctable__add(struct proctable *t, const struct proc_info *tmpl);
struct proc_info *proctable__find(struct proctable *t, uint32_t instance);
/* Applies a fork/exec/exit event; returns the entry it created or ended. */
struct proc_info *proctable__apply(struct proctable *t, const struct pt_event *e);
size_t proctable__alive(const struct proctable *t);

#endif

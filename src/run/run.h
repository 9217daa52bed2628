/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside a tracing run (src/run/): the session's state and what its parts
 * share.  Who does what:
 *
 *   loader.c      environment and feature checks, map sizing, load, attach
 *   bpfload.c     the BPF object's maps, then its programs on two threads
 *   target_cmd.c  -- CMD: the held child, registered before it runs
 *   target_pid.c  -p PID: a running tree, probed and registered
 *                 (a cgroup or whole-system scope is a target_*.c beside them)
 *   register.c    one process into the BPF process set and the table
 *   events.c      process events, the exec gate, C libraries mapped late
 *   loop.c        the event loop, until the tree ends or the run is stopped
 *   status.c      the status line
 *   finish.c      the last look, the profile, the writers
 *   teardown.c    freeing, with the slow probe removal in a detached child
 */
#ifndef PT_RUN_H
#define PT_RUN_H

#include <stdint.h>
#include <sys/types.h>
#include "cli/options.h"
#include "collect/collect.h"
#include "collect/procrecs.h"
#include "collect/proctable.h"
#include "collect/sweep.h"
#include "collect/tables.h"
#include "run/bpfload.h"
#include "python/python.h"
#include "run/scope.h"
#include "report/report.h"

#define USER_INSTANCE_BIT 0x80000000u

struct session {
	const struct options *o;
	struct peaktrace_bpf *skel;	/* maps and globals (no program) */
	struct bpfload load;	/* the programs */
	struct ring_buffer *rb;
	struct probes *probes;	/* NULL with --rss-only */
	struct symbolizer *sym;
	struct unwind *unwind;	/* NULL with --rss-only or --frame-pointers */
	struct proctable procs;
	struct report report;
	struct collected collected;
	struct alloc_tables tables;
	struct procrecs records;	/* the image records, mapped */
	struct sweep sweep;
	struct python py;
	/* the stack the report read last: its native and Python frames are
	 * asked for one after the other (src/run/finish.c) */
	struct {
		uint64_t id;
		int valid;
		struct pt_stack st;
	} last_stack;
	struct cgroup_scope cgroup;	/* --cgroup; path empty otherwise */
	int scoped;		/* --cgroup, --all: runs until stopped, not when empty */
	int empty_said;		/* --cgroup: said it is empty */
	int drain_failed;	/* pt_drain_now could not be loaded or run (said) */
	uint32_t next_user_instance;
	uint64_t t0_ns, t_end_ns;
	int rss;		/* the kernel's RSS counters can be read exactly */
	int status_shown;
	int gate;		/* our end of the exec gate's socket, or -1 */
	size_t pending_from;	/* procs before it wait for no C library */
	int maybe_empty;	/* something ended since the tree was last looked at */
	unsigned probe_linger_s;	/* see probes__free */
	const char *stopped_by;
};

uint64_t now_ns(void);
/* A warning goes to stderr now (unless -q) and into the report. */
void warn(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* -v: when a stage ended, counted from t_start (start-up's stages from the
 * launch, the report's from the end of tracing). */
void phase(const struct options *o, const char *what, uint64_t t_start);

/* target_pid.c */
/* Registers pid (probes first) and, if children, its descendants.  depth 0:
 * the target itself (its failure is the run's).  Returns 0 or PT_EXIT_*. */
int add_tree(struct session *s, pid_t pid, int depth, int children, char *err, size_t errlen);
/* Has BPF learn the mms of registered processes (their RSS from now on):
 * of pid's tasks, or of every task if pid is 0. */
int learn_mms(struct session *s, pid_t pid, char *err, size_t errlen);

/* target_scope.c */
/* A process entered the --cgroup (PT_EV_ENTER): registered with its probes. */
void scope_enter(struct session *s, pid_t tgid);
void scope_announce(const struct session *s, pid_t tgid);

/* register.c */
/* A look at pid's mappings: files to symbolize with, modules to unwind. */
void scan_process(struct session *s, pid_t pid);
/* All probe sets, as the mask a process carrying every one of them has. */
uint64_t all_sets(const struct session *s);
/* Puts tgid into the BPF process set.  Returns 0, 1 if BPF already had it
 * (a fork the tracepoint saw), -1 if the map is full. */
int register_bpf(struct session *s, pid_t tgid, pid_t ppid, int launcher, uint32_t *instance);
/* comm and command line from /proc into pi (argv in argvbuf). */
void proc_identity(pid_t pid, struct proc_info *pi, char *argvbuf, size_t argvlen);
/* From /proc/PID/stat: the state letter and flags; returns the ppid or -1. */
pid_t stat_state(pid_t pid, char *state, unsigned long *flags);
/* What pid exec'd (enum launch_exe_kind): through /proc while it lives,
 * else through the path it was exec'd by. */
int exe_kind(pid_t pid, const char *filename);
/* kind: what its executable is (enum launch_exe_kind). */
void set_no_libc_note(struct session *s, struct proc_info *pi, int kind);
/* A descendant that could not be traced: in the report as such (a loss). */
void untraced(struct session *s, pid_t pid, pid_t ppid, const char *why);

/* events.c */
int on_event(void *ctx, void *data, size_t len);
/* A Python code object BPF copied (py_codes ring). */
int on_py_code(void *ctx, void *data, size_t len);
void gate_serve(struct session *s);
void check_pending_libc(struct session *s, uint64_t now);
void drop_vanished(struct session *s);
/* Applies the model updates still queued in BPF (src/run/drain.c): 0, or
 * -1 if some are left (counted in the report as unlocked updates). */
int session__drain(struct session *s);

/* status.c */
void status_line(struct session *s);

#endif

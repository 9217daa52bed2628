// SPDX-License-Identifier: GPL-2.0
/*
 * Registering one process: into the BPF process set, and into the table with
 * what /proc says of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "peaktrace.skel.h"
#include "probes/probes.h"
#include "run/launch.h"
#include "run/run.h"
#include "stacks/symbolize.h"
#include "stacks/unwind.h"
#include "util/readfile.h"

void scan_process(struct session *s, pid_t pid)
{
	struct pt_tgid t;
	__u32 key = (__u32)pid;
	struct procmaps pm;

	/* read once for the three: a program loading a library per import
	 * (pandas: 82) is scanned at each, and its maps grow meanwhile */
	if (procmaps__read(&pm, pid))
		return;	/* gone */
	symbolizer__scan_maps(s->sym, &pm);
	if (s->unwind)
		unwind__add_maps(s->unwind, &pm);
	if (s->probes && !bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.tgids), &key, &t))
		python__scan(&s->py, &pm, t.instance);
	procmaps__free(&pm);
}

uint64_t all_sets(const struct session *s)
{
	return s->probes ? probes__gated_sets(s->probes) : 0;
}

void proc_identity(pid_t pid, struct proc_info *pi, char *argvbuf, size_t argvlen)
{
	char path[64];
	int n;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	n = read_file(path, pi->comm, sizeof(pi->comm) - 1);
	if (n > 0) {
		pi->comm[n] = 0;
		pi->comm[strcspn(pi->comm, "\n")] = 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	n = read_file(path, argvbuf, argvlen);
	if (n > 0) {
		pi->argv = argvbuf;
		pi->argv_len = n;
	}
}

/* The exact RSS of a running process from smaps_rollup, in pages: the
 * starting point until its first RSS change is seen. */
static uint64_t smaps_rss_pages(pid_t pid)
{
	char path[64], line[256];
	unsigned long long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Rss: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024 / sysconf(_SC_PAGESIZE);
}

/*
 * The tree (--all, --cgroup) a process registered from /proc joins: its
 * parent's, unless the parent is init or untraced (then its own, made
 * here); as proc_start() decides for those BPF registers.
 */
static uint32_t tree_root_of(struct session *s, pid_t ppid, uint32_t inst)
{
	int trees = bpf_map__fd(s->skel->maps.trees);
	struct pt_tree zero = { 0 };
	const struct pt_proc *pp;
	struct pt_tgid pt;
	__u32 key = ppid, root = inst;

	if (ppid > 1 && !bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.tgids), &key, &pt) &&
	    (pp = procrecs__get(&s->records, pt.instance)) && pp->tree_root)
		root = pp->tree_root;
	/* made, never written: BPF updates it from now on (its members are
	 * counted from their records at report time) */
	if (root == inst)
		bpf_map_update_elem(trees, &root, &zero, BPF_NOEXIST);
	return root;
}

/*
 * The next instance of the loader's own: bit 31 set, counting down from the
 * top, so that their slots (the low bits, see struct pt_proc) lie at the
 * other end of the process map from BPF's, which count up from 1.
 */
static uint32_t user_instance(struct session *s)
{
	return USER_INSTANCE_BIT | (0x7fffffffu - s->next_user_instance++);
}

/* A new instance of the loader's with its slot claimed; 0 if the map is
 * full. */
static uint32_t user_instance_claimed(struct session *s)
{
	for (uint64_t i = 0; i <= s->records.mask; i++) {
		uint32_t inst = user_instance(s);

		if (!procrecs__claim(&s->records, inst))
			return inst;
	}
	return 0;
}

int register_bpf(struct session *s, pid_t tgid, pid_t ppid, int launcher,
			uint32_t *instance)
{
	struct pt_proc p = { .tgid = tgid, .ppid = ppid, .alive = 1, .launcher = launcher };
	__u32 key = tgid, inst;
	struct pt_tgid t;

	if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.tgids), &key, &t) == 0) {
		*instance = t.instance;
		return 1;
	}
	inst = user_instance_claimed(s);
	if (!inst)
		return -1;
	t = (struct pt_tgid){ .instance = inst, .heap_instance = inst };
	p.start_ns = now_ns();
	if (s->scoped)
		p.tree_root = tree_root_of(s, ppid, inst);
	if (!launcher) {
		p.rss_start = smaps_rss_pages(tgid);
		p.rss_peak = p.rss_start;
		p.rss_peak_time_ns = p.start_ns;
	}
	procrecs__publish(&s->records, inst, &p);
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.tgids), &key, &t, BPF_NOEXIST)) {
		procrecs__free(&s->records, inst);
		/* Registered by the fork tracepoint in between. */
		if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.tgids), &key, &t))
			return -1;
		*instance = t.instance;
		return 1;
	}
	*instance = inst;
	return 0;
}

pid_t stat_state(pid_t pid, char *state, unsigned long *flags)
{
	char buf[1024];
	const char *p = read_proc_stat(pid, buf, sizeof(buf));
	int ppid = -1;

	if (!p || sscanf(p, " %c %d %*d %*d %*d %*d %lu", state, &ppid, flags) != 3)
		return -1;
	return ppid;
}

int exe_kind(pid_t pid, const char *filename)
{
	char path[64];
	int k;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	k = launch__exe_kind(path);
	return k != LAUNCH_EXE_UNKNOWN ? k : launch__exe_kind(filename);
}

void set_no_libc_note(struct session *s, struct proc_info *pi, int kind)
{
	pi->libc_state = LIBC_NONE;
	snprintf(pi->note, sizeof(pi->note), "%s",
		 kind == LAUNCH_EXE_STATIC ? "statically linked: no C library to probe, heap not traced" :
		 kind == LAUNCH_EXE_FOREIGN ? "not an x86-64 program (32-bit?): peaktrace probes "
					      "x86-64 code only, heap not traced" :
		 "no C library found in its mappings: heap not traced");
	warn(s, "pid %u (%s): %s", pi->tgid, pi->comm, pi->note);
}

void untraced(struct session *s, pid_t pid, pid_t ppid, const char *why)
{
	char argvbuf[PT_ARGV_LEN * 4];
	struct proc_info pi, *np;

	memset(&pi, 0, sizeof(pi));
	pi.tgid = pid;
	pi.ppid = ppid;
	pi.start_ns = now_ns();
	pi.instance = user_instance(s);
	pi.ended = 1;	/* nothing of it will be seen */
	pi.end_ns = pi.start_ns;
	pi.untraced = 1;
	pi.libc_state = LIBC_NONE;
	proc_identity(pid, &pi, argvbuf, sizeof(argvbuf));
	snprintf(pi.note, sizeof(pi.note), "could not be traced: %s", why);
	np = proctable__add(&s->procs, &pi);
	warn(s, "pid %d (%s): %s", (int)pid, pi.comm, np ? np->note : why);
}

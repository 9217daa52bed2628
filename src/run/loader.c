// SPDX-License-Identifier: GPL-2.0
/*
 * Opening a run: environment and feature checks, map sizing, BPF load and
 * attach, probes, unwinder.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "peaktrace.skel.h"
#include "probes/probes.h"
#include "run/bpfload.h"
#include "run/launch.h"
#include "run/run.h"
#include "run/session.h"
#include "stacks/symbolize.h"
#include "stacks/unwind.h"
#include "util/readfile.h"

static int verbose_libbpf;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !verbose_libbpf)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void py_warn(void *ctx, const char *msg)
{
	warn(ctx, "%s", msg);
}

static void unwind_warning(void *ctx, const char *msg)
{
	warn(ctx, "%s", msg);
}

static int check_environment(char *err, size_t errlen)
{
	if (geteuid() != 0) {
		snprintf(err, errlen,
			 "must run as root: loading BPF programs and defining uprobes needs "
			 "CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN (try: sudo peaktrace ...)");
		return -1;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(err, errlen,
			 "this kernel exposes no BTF (/sys/kernel/btf/vmlinux: %s): peaktrace's "
			 "CO-RE programs need a kernel built with CONFIG_DEBUG_INFO_BTF=y",
			 strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * One perf event per probe per traced thread: 20 000 descriptors ran out at
 * 100 processes of 8 threads.  Root may raise the hard limit as far as
 * fs.nr_open; short of that, as far as the hard limit goes.
 */
static void raise_fd_limit(void)
{
	unsigned long nr_open = 0;
	struct rlimit rl;
	char buf[32];

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (read_file("/proc/sys/fs/nr_open", buf, sizeof(buf) - 1) > 0)
		nr_open = strtoul(buf, NULL, 10);
	if (nr_open > rl.rlim_max) {
		struct rlimit want = { nr_open, nr_open };

		if (!setrlimit(RLIMIT_NOFILE, &want))
			return;
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/*
 * Exact RSS reads mm->rss_stat as percpu_counters, which they are since
 * Linux 6.2 (commit f1a7941243c1, "mm: convert mm's rss stats into
 * percpu_counter"); before, struct mm_rss_stat held atomics fed by
 * per-thread caches that BPF cannot sum.  There the RSS programs are left
 * out and the heap is traced alone.
 */
static int kernel_has_percpu_rss(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	/* by version: parsing the kernel's BTF for it took 0.15 s of start-up,
	 * and libbpf parses it again for the CO-RE relocations */
	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return 0;
	return major > 6 || (major == 6 && minor >= 2);
}

const char *session__preload(const struct session *s)
{
	return s->probes ? probes__preload_path(s->probes) : NULL;
}

/*
 * The C libraries probed from the start: peaktrace's own (the one most
 * commands use) and the other ones installed in the usual places (musl),
 * so that exec'ing into a program linked against one of them loses
 * nothing.  A library found later (a container's) is added when seen.
 */
static int define_libraries(struct session *s, char *err, size_t errlen)
{
	static const char *others[] = {
		"/lib/ld-musl-x86_64.so.1", "/usr/lib/x86_64-linux-musl/libc.so",
		"/usr/lib/musl/lib/libc.so", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6",
	};
	char e2[512];
	size_t i;

	if (probes__libc_set(s->probes, getpid(), err, errlen) < 0) {
		if (!err[0])
			snprintf(err, errlen, "cannot find peaktrace's own C library in /proc/self/maps");
		return -1;
	}
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		if (access(others[i], R_OK))
			continue;
		if (probes__add_library(s->probes, others[i], e2, sizeof(e2)) < 0 && s->o->verbose)
			fprintf(stderr, "peaktrace: not probing %s: %s\n", others[i], e2);
	}
	return 0;
}

struct session *session__open(const struct options *o, const struct cgroup_scope *cg, char *err,
			      size_t errlen)
{
	uint64_t t_start = now_ns();
	int gate[2] = { -1, -1 };
	char preload[4096];
	struct session *s;
	int e;

	if (check_environment(err, errlen))
		return NULL;
	raise_fd_limit();
	verbose_libbpf = o->verbose;
	libbpf_set_print(libbpf_print);
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->o = o;
	s->gate = -1;
	s->load.btf_fd = -1;	/* until bpfload__open */
	if (cg)
		s->cgroup = *cg;
	s->scoped = o->all || o->cgroup;
	s->sweep.procs = s->scoped;
	proctable__init(&s->procs);
	s->sym = symbolizer__new();
	if (!s->sym) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	s->skel = bpfload__open(&s->load, err, errlen);
	if (!s->skel)
		goto fail;
	/* Map sizes are policy: set before load.  The first allocation table
	 * is small; more are added as it fills (collect/tables.c). */
	alloc_tables__size(&s->tables, s->skel, o->rss_only ? 0 : o->max_allocs);
	bpf_map__set_max_entries(s->skel->maps.stack_recs, o->max_stacks);
	bpf_map__set_max_entries(s->skel->maps.stacks, o->max_stacks / 2);
	bpf_map__set_max_entries(s->skel->maps.cfi_rows, o->max_unwind_rows / PT_CFI_TABLES);
	s->skel->rodata->cfi_table_shift = __builtin_ctz(o->max_unwind_rows / PT_CFI_TABLES);
	bpf_map__set_max_entries(s->skel->maps.procs, procrecs__slots(o->max_procs));
	s->skel->rodata->procs_mask = bpf_map__max_entries(s->skel->maps.procs) - 1;
	bpf_map__set_max_entries(s->skel->maps.tgids, o->max_procs);
	bpf_map__set_max_entries(s->skel->maps.proc_vmas, o->max_procs);
	bpf_map__set_max_entries(s->skel->maps.trees, s->scoped ? o->max_procs : 1);
	s->skel->rodata->track_trees = s->scoped;
	s->skel->rodata->scope_all = o->all;
	s->skel->rodata->scope_all_heap = o->all && !o->rss_only;
	s->skel->rodata->scope_cgroup_id = o->cgroup && cg ? cg->id : 0;
	s->skel->rodata->scope_cgroup_level = o->cgroup && cg ? cg->level : 0;
	s->skel->rodata->bare_probes = o->bare_probes;
	s->skel->rodata->max_depth = o->stack_depth;
	s->skel->rodata->sample_bytes = o->exact_stacks ? 0 : o->sample_bytes;
	/* no ledger without sampling: every block's stack is captured */
	s->skel->rodata->ledger = o->preload && !o->exact_stacks;
	s->skel->rodata->nr_cpus = libbpf_num_possible_cpus();
	if (libbpf_num_possible_cpus() > PT_MAX_CPUS) {
		snprintf(err, errlen, "more than %d possible CPUs: exact RSS cannot sum them all",
			 PT_MAX_CPUS);
		goto fail;
	}
	s->rss = kernel_has_percpu_rss();
	if (!s->rss) {
		if (o->rss_only) {
			snprintf(err, errlen, "exact RSS needs Linux 6.2 or later (per-CPU RSS "
				 "counters); this kernel keeps per-thread caches");
			goto fail;
		}
		bpf_program__set_autoload(s->skel->progs.pt_rss_stat, false);
		bpf_program__set_autoload(s->skel->progs.pt_exit_mmap, false);
		s->skel->rodata->rss_enabled = 0;
	}
	if (o->rss_only) {
		/* no uprobes: their programs' verification is most of the start-up */
		bpf_program__set_autoload(s->skel->progs.pt_probe, false);
		/* nor their maps: the unwind rows alone are 12 MiB to zero */
		bpf_map__set_max_entries(s->skel->maps.cfi_rows, 1);
		bpf_map__set_max_entries(s->skel->maps.stack_recs, 1);
		bpf_map__set_max_entries(s->skel->maps.stacks, 1);
		bpf_map__set_max_entries(s->skel->maps.proc_vmas, 1);
		bpf_map__set_max_entries(s->skel->maps.py_codes, sysconf(_SC_PAGESIZE));
		bpf_map__set_max_entries(s->skel->maps.py_images, 1);
		bpf_map__set_max_entries(s->skel->maps.py_seen, 1);
	}
	phase(o, "opened", t_start);
	if (bpfload__maps(&s->load, s->skel, o->verbose, err, errlen) ||
	    alloc_tables__loaded(&s->tables, s->skel, err, errlen) ||
	    procrecs__open(&s->records, bpf_map__fd(s->skel->maps.procs),
			  bpf_map__max_entries(s->skel->maps.procs),
			  &s->tables.global->procs_used, err, errlen))
		goto fail;
	phase(o, "maps created", t_start);
	if (!o->rss_only) {
		if (!s->load.probe) {
			snprintf(err, errlen, "the allocator probes' program is not to be loaded");
			goto fail;
		}
		/* before the loader's thread starts: this forks the anchor;
		 * probes are defined while pt_probe loads, attached after */
		if (o->preload && launch__preload_path(preload, sizeof(preload), err, errlen))
			goto fail;
		if (!o->frame_pointers &&
		    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, gate) == 0)
			s->gate = gate[0];
		s->probes = probes__new(s->load.probe->progs.pt_probe,
					bpf_map__fd(s->skel->maps.libc_files),
					bpf_map__fd(s->skel->maps.tgids),
					&s->records, gate[1], o->preload ? preload : NULL,
					err, errlen);
		if (gate[1] >= 0)
			close(gate[1]);
		if (!s->probes)
			goto fail;
	}
	if (bpfload__progs(&s->load, o->verbose, err, errlen))
		goto fail;
	phase(o, "process programs loaded", t_start);
	e = peaktrace_bpf__attach(s->load.progs);
	if (e) {
		snprintf(err, errlen, "cannot attach the process-tree tracepoints (%s): "
			 "the kernel needs tp_btf support", strerror(-e));
		goto fail;
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_event, s, NULL);
	if (!s->rb) {
		snprintf(err, errlen, "cannot open the event ring buffer: %s", strerror(errno));
		goto fail;
	}
	if (!o->rss_only) {
		s->py.map_fd = bpf_map__fd(s->skel->maps.py_images);
		s->py.any = &s->skel->bss->py_any;
		s->py.mode = o->python;
		s->py.show_glue = o->verbose;
		s->py.verbose = o->verbose;
		s->py.warn = py_warn;
		s->py.warn_ctx = s;
		if (ring_buffer__add(s->rb, bpf_map__fd(s->skel->maps.py_codes), on_py_code, s)) {
			snprintf(err, errlen, "cannot open the Python code ring buffer: %s",
				 strerror(errno));
			goto fail;
		}
		if ((o->preload && probes__preload(s->probes, preload, err, errlen)) ||
		    define_libraries(s, err, errlen))
			goto fail;
		phase(o, "probes defined", t_start);
	}
	if (!o->rss_only && !o->frame_pointers) {
		s->unwind = unwind__new(bpf_map__fd(s->skel->maps.cfi_rows),
					bpf_map__fd(s->skel->maps.cfi_tables),
					bpf_map__fd(s->skel->maps.cfi_modules),
					(volatile uint64_t *)&s->skel->bss->cfi_generation,
					bpf_map__max_entries(s->skel->maps.cfi_rows), o->verbose,
					unwind_warning, s);
		if (!s->unwind) {
			snprintf(err, errlen, "cannot map the unwind table (%s)", strerror(errno));
			goto fail;
		}
	}
	/* Most commands map the files peaktrace maps: known for symbols from
	 * the start; unwind tables only for the C library and the loader (the
	 * command's own libraries are read before it runs; building tables for
	 * all of peaktrace's, libstdc++ and libdw among them, cost 0.1 s). */
	symbolizer__scan_process(s->sym, getpid());
	if (s->unwind)
		unwind__add_runtime(s->unwind, getpid());
	if (!s->rss)
		warn(s, "exact RSS needs Linux 6.2 or later: RSS figures are left out, the heap is traced");
	phase(o, "unwind tables of the C library", t_start);
	if (bpfload__probe(&s->load, o->verbose, err, errlen) ||
	    (s->probes && probes__link(s->probes, err, errlen)))
		goto fail;
	if (s->probes)
		phase(o, "allocator probe program loaded and attached", t_start);
	s->t0_ns = now_ns();
	return s;
fail:
	session__free(s);
	return NULL;
}

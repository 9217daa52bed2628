// SPDX-License-Identifier: GPL-2.0
/*
 * Loading the BPF object with the verifier's work on two CPUs.
 *
 * libbpf 1.1 loads an object's programs one after the other.  Of a start
 * of 0.17-0.2 s here (strace -T), the verifier took 80-85 ms for pt_probe,
 * the allocator probes' program, about 40 ms for all the others, and
 * creating the maps 36 ms; two loads run at once took as long as one (the
 * kernel does not serialize privileged loads).  So the object is opened
 * three times from the same bytes:
 *
 *   maps   the session's skeleton: creates every map, loads no program;
 *          maps, bss and rodata are read through it
 *   progs  the tracepoints and iterators, on the maps of the first
 *   probe  pt_probe alone, on the same maps, verified on a thread while
 *          the tracepoints load and the probes and unwind tables of the
 *          C library are defined
 *   drain  pt_drain_now alone, loaded only when model updates stay queued
 *          (src/run/drain.c): 9 000 instructions to verify, 15-25 ms of a
 *          start otherwise
 *
 * The program instances parse the kernel's BTF for their CO-RE
 * relocations (15-18 ms each, at once); the maps instance is given a BTF
 * of one type instead (its only relocations, in subprograms it never
 * loads, come out poisoned).  The rodata the first one
 * creates is frozen before the others load, so the verifier still sees its
 * values as constants and prunes on them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "peaktrace.skel.h"
#include "run/bpfload.h"

static int load_failed(int e, int verbose, char *err, size_t errlen)
{
	snprintf(err, errlen,
		 "cannot load the BPF programs (%s); the kernel needs BPF, BTF, "
		 "task storage, bpf_loop and bpf_find_vma (Linux 5.17 or later)%s",
		 strerror(e < 0 ? -e : e), verbose ? "" : "; run with -v for the verifier's log");
	return -1;
}

/* A BTF of one type in a memfd, or -1. */
static int tiny_btf(void)
{
	struct btf *b = btf__new_empty();
	const void *raw = NULL;
	__u32 size = 0;
	int fd = -1;

	if (b && btf__add_int(b, "int", 4, BTF_INT_SIGNED) > 0)
		raw = btf__raw_data(b, &size);
	if (raw)
		fd = memfd_create("peaktrace-btf", MFD_CLOEXEC);
	if (fd >= 0 && write(fd, raw, size) != (ssize_t)size) {
		close(fd);
		fd = -1;
	}
	btf__free(b);
	return fd;
}

struct peaktrace_bpf *bpfload__open(struct bpfload *l, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct peaktrace_bpf *maps;
	char path[64];

	memset(l, 0, sizeof(*l));
	l->btf_fd = tiny_btf();
	if (l->btf_fd >= 0) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", l->btf_fd);
		opts.btf_custom_path = path;	/* copied */
	}
	maps = peaktrace_bpf__open_opts(&opts);
	if (!maps)
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
	return maps;
}

/* Which instance loads a program: pt_probe its own, pt_drain_now its own
 * when first needed (bpfload__drain), every other one the progs. */
enum instance_kind { INST_PROGS, INST_PROBE, INST_DRAIN };

static enum instance_kind kind_of(const char *name)
{
	return !strcmp(name, "pt_probe") ? INST_PROBE :
	       !strcmp(name, "pt_drain_now") ? INST_DRAIN : INST_PROGS;
}

/* Opens another instance of the object, with maps' maps (created), to load
 * those of the wanted programs that are of its kind. */
static struct peaktrace_bpf *instance(struct bpf_object *maps, const char *const *wanted,
				      size_t nwanted, enum instance_kind kind, char *err,
				      size_t errlen)
{
	struct peaktrace_bpf *in = peaktrace_bpf__open();
	struct bpf_program *p;
	struct bpf_map *a = NULL, *b = NULL;
	size_t i;

	if (!in) {
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		return NULL;
	}
	bpf_object__for_each_program(p, in->obj) {
		for (i = 0; i < nwanted; i++)
			if (!strcmp(wanted[i], bpf_program__name(p)))
				break;
		bpf_program__set_autoload(p, i < nwanted && kind_of(bpf_program__name(p)) == kind);
	}
	for (;;) {
		a = bpf_object__next_map(maps, a);
		b = bpf_object__next_map(in->obj, b);
		if (!a || !b)
			break;
		/* same bytes, same maps in the same order; said if not */
		if (strcmp(bpf_map__name(a), bpf_map__name(b))) {
			snprintf(err, errlen, "BPF object instances differ at map %s/%s",
				 bpf_map__name(a), bpf_map__name(b));
			goto fail;
		}
		if (bpf_map__reuse_fd(b, bpf_map__fd(a))) {
			snprintf(err, errlen, "cannot share map %s between BPF object instances: %s",
				 bpf_map__name(a), strerror(errno));
			goto fail;
		}
	}
	if (a || b) {
		snprintf(err, errlen, "BPF object instances have different maps");
		goto fail;
	}
	return in;
fail:
	peaktrace_bpf__destroy(in);
	return NULL;
}

/*
 * The two biggest maps are made on a thread while the maps instance makes
 * the others: their bucket arrays (16 and 8 MiB at the default sizes, each
 * page zeroed and charged to the cgroup) took 21-24 ms of the 35 ms all
 * the maps took.  Plain hash maps: made from their definitions, without
 * BTF (which only names their types to bpftool).
 */
static const char *const side_names[] = { "stack_recs", "stacks" };

struct side_maps {
	struct {
		struct bpf_map *map;
		enum bpf_map_type type;
		__u32 key_size, value_size, max_entries, flags;
		int fd, err;
	} m[sizeof(side_names) / sizeof(side_names[0])];
	pthread_t thread;
	int running;
};

static void *side_create(void *arg)
{
	struct side_maps *sm = arg;
	size_t i;

	for (i = 0; i < sizeof(sm->m) / sizeof(sm->m[0]); i++) {
		LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = sm->m[i].flags);

		sm->m[i].fd = bpf_map_create(sm->m[i].type, side_names[i], sm->m[i].key_size,
					     sm->m[i].value_size, sm->m[i].max_entries, &o);
		sm->m[i].err = sm->m[i].fd < 0 ? errno : 0;
	}
	return NULL;
}

/* Starts making them (here if no thread); the instance will not. */
static void side_start(struct side_maps *sm, struct bpf_object *obj)
{
	size_t i;

	for (i = 0; i < sizeof(sm->m) / sizeof(sm->m[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, side_names[i]);

		sm->m[i].map = m;
		sm->m[i].fd = -1;
		if (!m)
			continue;
		sm->m[i].type = bpf_map__type(m);
		sm->m[i].key_size = bpf_map__key_size(m);
		sm->m[i].value_size = bpf_map__value_size(m);
		sm->m[i].max_entries = bpf_map__max_entries(m);
		sm->m[i].flags = bpf_map__map_flags(m);
		bpf_map__set_autocreate(m, false);
	}
	sm->running = !pthread_create(&sm->thread, NULL, side_create, sm);
	if (!sm->running)
		side_create(sm);
}

/* Waits for them and hands them to the instance.  Returns 0 or -1 with a
 * message in err (all closed on either). */
static int side_finish(struct side_maps *sm, char *err, size_t errlen)
{
	size_t i;
	int ret = 0;

	if (sm->running)
		pthread_join(sm->thread, NULL);
	sm->running = 0;
	for (i = 0; i < sizeof(sm->m) / sizeof(sm->m[0]); i++) {
		if (!sm->m[i].map)
			continue;
		if (!ret && sm->m[i].fd < 0) {
			snprintf(err, errlen, "cannot create BPF map %s (%u entries): %s",
				 side_names[i], sm->m[i].max_entries, strerror(sm->m[i].err));
			ret = -1;
		} else if (!ret && bpf_map__reuse_fd(sm->m[i].map, sm->m[i].fd)) {
			snprintf(err, errlen, "cannot use BPF map %s: %s", side_names[i],
				 strerror(errno));
			ret = -1;
		}
		if (sm->m[i].fd >= 0)
			close(sm->m[i].fd);
	}
	return ret;
}

int bpfload__maps(struct bpfload *l, struct peaktrace_bpf *maps, int verbose, char *err,
		  size_t errlen)
{
	const char *wanted[64];
	struct side_maps side = { 0 };
	struct bpf_program *p;
	size_t n = 0;
	int e, probe = 0;

	bpf_object__for_each_program(p, maps->obj) {
		if (bpf_program__autoload(p)) {
			if (n == sizeof(wanted) / sizeof(wanted[0])) {
				snprintf(err, errlen, "more BPF programs than the loader expects");
				return -1;
			}
			wanted[n++] = bpf_program__name(p);
			probe |= !strcmp(bpf_program__name(p), "pt_probe");
		}
	}
	bpf_object__for_each_program(p, maps->obj)
		bpf_program__set_autoload(p, false);
	side_start(&side, maps->obj);
	e = peaktrace_bpf__load(maps);
	if (l->btf_fd >= 0)
		close(l->btf_fd);
	l->btf_fd = -1;
	if (side_finish(&side, err, errlen))
		return -1;
	if (e) {
		/* no program in it: a map could not be made */
		snprintf(err, errlen, "cannot create the BPF maps (%s)%s", strerror(-e),
			 verbose ? "" : "; run with -v for libbpf's messages");
		return -1;
	}
	l->maps = maps->obj;
	l->progs = instance(maps->obj, wanted, n, INST_PROGS, err, errlen);
	if (!l->progs)
		return -1;
	if (probe) {
		l->probe = instance(maps->obj, wanted, n, INST_PROBE, err, errlen);
		if (!l->probe)
			return -1;
	}
	return 0;
}

static void *load_probe(void *arg)
{
	struct bpfload *l = arg;

	l->probe_err = peaktrace_bpf__load(l->probe);
	return NULL;
}

int bpfload__progs(struct bpfload *l, int verbose, char *err, size_t errlen)
{
	int e;

	if (l->probe) {
		/* without a thread, bpfload__probe() loads it */
		if (!pthread_create(&l->thread, NULL, load_probe, l))
			l->running = 1;
	}
	e = peaktrace_bpf__load(l->progs);
	if (e)
		return load_failed(e, verbose, err, errlen);
	return 0;
}

int bpfload__probe(struct bpfload *l, int verbose, char *err, size_t errlen)
{
	if (!l->probe)
		return 0;
	if (l->running) {
		pthread_join(l->thread, NULL);
		l->running = 0;
	} else {
		load_probe(l);
	}
	if (l->probe_err)
		return load_failed(l->probe_err, verbose, err, errlen);
	return 0;
}

int bpfload__drain(struct bpfload *l, char *err, size_t errlen)
{
	static const char *const wanted[] = { "pt_drain_now" };
	int e;

	if (!l->drain && !l->maps) {
		snprintf(err, errlen, "no BPF maps to apply them to");
		return -1;
	}
	if (!l->drain) {
		l->drain = instance(l->maps, wanted, 1, INST_DRAIN, err, errlen);
		if (!l->drain)
			return -1;
		e = peaktrace_bpf__load(l->drain);
		if (e) {
			peaktrace_bpf__destroy(l->drain);
			l->drain = NULL;
			snprintf(err, errlen, "cannot load pt_drain_now, a syscall program that uses "
				 "a queue map: %s", strerror(-e));
			return -1;
		}
	}
	return bpf_program__fd(l->drain->progs.pt_drain_now);
}

void bpfload__detach(struct bpfload *l)
{
	if (l->progs)
		peaktrace_bpf__detach(l->progs);
}

void bpfload__free(struct bpfload *l)
{
	if (l->running) {
		pthread_join(l->thread, NULL);
		l->running = 0;
	}
	peaktrace_bpf__destroy(l->drain);
	peaktrace_bpf__destroy(l->probe);
	peaktrace_bpf__destroy(l->progs);
	l->drain = l->probe = l->progs = NULL;
	if (l->btf_fd >= 0)
		close(l->btf_fd);
	l->btf_fd = -1;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Finding CPython in a traced image: a module exporting _PyRuntime and
 * Py_Version, a version with a layout (layouts.c), and the two offsets
 * the layout cannot promise checked against the machine code that uses
 * them: the autoTSSkey offset in PyGILState_GetThisThreadState, glibc's
 * thread-specific data in pthread_getspecific.  Anything that does not
 * check out: no Python frames for that image, and a warning saying which
 * check failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "files/elfsym.h"
#include "files/procmaps.h"
#include "python/layouts.h"
#include "python/python.h"
#include "util/vec.h"

/* What a file is, looked at once. */
struct py_file {
	uint64_t dev, ino;
	int python;		/* exports _PyRuntime and Py_Version */
	char why[200];		/* why its frames cannot be read; "" if they can */
	int warned;		/* why was said (once per file) */
	unsigned major, minor;
	uint64_t tss_key_vaddr;	/* link-time address of the pthread key */
	uint32_t code_adaptive;
	struct pt_py_layout layout;
	/* the link-time address at file offset map_offset (for a load bias) */
	int map_known;
	uint64_t map_offset, map_vaddr;
	/* a C library: glibc's thread-specific data layout, decoded once
	 * (0 not yet, 1 read into tsd, -1 not recognised: see why) */
	int tsd_state;
	struct pt_py_layout tsd;
};

/* The autoTSSkey offset as PyGILState_GetThisThreadState uses it: 1 if it
 * matches, 0 if the code says otherwise, -1 if the code is not one we can
 * read (not checked). */
static int check_tss(const uint8_t *c, int n, uint64_t fn_vaddr, uint64_t key_vaddr,
		     uint32_t tss_offset)
{
	for (int i = 0; i + 6 <= n; i++) {
		int32_t v;

		if (c[i] == 0x8b && c[i + 1] == 0x3d) {	/* mov rel32(%rip),%edi */
			memcpy(&v, c + i + 2, 4);
			return fn_vaddr + i + 6 + (int64_t)v == key_vaddr;
		}
		/* lea imm32(%rax),%reg: the Py_tss_t inside _PyRuntime */
		if (i + 7 <= n && c[i] == 0x48 && c[i + 1] == 0x8d && (c[i + 2] & 0xc7) == 0x80) {
			memcpy(&v, c + i + 3, 4);
			return (uint32_t)v == tss_offset;
		}
	}
	return -1;
}

/* glibc's specific-data layout from pthread_getspecific (x86-64 glibc
 * 2.34 and later): key + BASE, shifted by 4, added to the thread pointer,
 * the value 8 bytes in.  Returns 0 with the layout filled, or -1. */
static int decode_tsd(const uint8_t *c, int n, struct pt_py_layout *L)
{
	int add = -1, shl = 0, data = 0;

	for (int i = 0; i + 4 <= n; i++) {
		if (c[i] == 0x48 && c[i + 1] == 0x83 && c[i + 2] == 0xc0 && add < 0)
			add = c[i + 3];
		else if (c[i] == 0x48 && c[i + 1] == 0xc1 && c[i + 2] == 0xe0 && c[i + 3] == 4)
			shl = 1;
		else if (c[i] == 0x48 && c[i + 1] == 0x8b && (c[i + 2] & 0xc7) == 0x40 && add >= 0 &&
			 shl && !data)
			data = c[i + 3];
	}
	if (add < 0 || !shl || data != 8)
		return -1;
	L->tsd_base = (uint32_t)add * 16;
	L->tsd_stride = 16;
	L->tsd_data = 8;
	return 0;
}

static void look_at(struct py_file *f, const char *path)
{
	char err[256];
	struct elfsym *e = elfsym__open(path, err, sizeof(err));
	const struct py_version_layout *lay;
	struct py_version_layout from_debug;
	uint64_t rt, rt_size, pv_vaddr, pv_size, fn_vaddr, fn_size;
	uint32_t version = 0;
	uint8_t code[48];
	int n, ok;

	if (!e)
		return;
	if (elfsym__object(e, "_PyRuntime", &rt, &rt_size, NULL, 0) ||
	    elfsym__object(e, "Py_Version", &pv_vaddr, &pv_size, &version, sizeof(version)) !=
		    sizeof(version)) {
		elfsym__free(e);
		return;
	}
	f->python = 1;
	f->major = version >> 24;
	f->minor = (version >> 16) & 0xff;
	lay = py_layout__find(f->major, f->minor);
	if (!lay) {
		snprintf(f->why, sizeof(f->why), "Python %u.%u has no frame layout in peaktrace "
			 "(it reads %s)", f->major, f->minor, py_layout__supported());
		goto out;
	}
	if (f->major == 3 && f->minor >= 13) {
		/* the interpreter's own description of its structures */
		static uint8_t dbg[8 + 8 * 80];
		char why[160];

		if (elfsym__object(e, "_PyRuntime", &rt, &rt_size, dbg, sizeof(dbg)) !=
			    (int)sizeof(dbg) ||
		    py_layout__from_debug(dbg, sizeof(dbg), version, &from_debug, why, sizeof(why))) {
			snprintf(f->why, sizeof(f->why), "Python %u.%u: %s", f->major, f->minor,
				 why);
			goto out;
		}
		lay = &from_debug;
	}
	f->layout = lay->bpf;
	f->code_adaptive = lay->code_adaptive;
	f->tss_key_vaddr = rt + lay->tss_offset + 4;
	n = elfsym__object(e, "PyGILState_GetThisThreadState", &fn_vaddr, &fn_size, code,
			   sizeof(code));
	ok = n > 0 ? check_tss(code, n, fn_vaddr, f->tss_key_vaddr, lay->tss_offset) : -1;
	if (ok == 0)
		snprintf(f->why, sizeof(f->why), "the autoTSSkey offset of Python %u.%u (%u) does not "
			 "match PyGILState_GetThisThreadState's code: a build peaktrace does not know",
			 f->major, f->minor, lay->tss_offset);
out:
	elfsym__free(e);
}

static struct py_file *file_of(struct python *py, const char *path, const struct procmap *m)
{
	struct py_file *f;

	for (size_t i = 0; i < py->nfiles; i++)
		if (py->files[i].dev == m->dev && py->files[i].ino == m->ino)
			return &py->files[i];
	if (vec_grow((void **)&py->files, &py->capfiles, py->nfiles + 1, sizeof(*f), 16))
		return NULL;
	f = &py->files[py->nfiles++];
	memset(f, 0, sizeof(*f));
	f->dev = m->dev;
	f->ino = m->ino;
	look_at(f, path);
	return f;
}

/* One look at a process's code files: the interpreter's and the C
 * library's entries in py->files (indices: the array grows meanwhile). */
struct scan {
	struct python *py;
	long interp, libc;	/* -1: none */
	char interp_path[4096], libc_path[4096];
	uint64_t bias;
};

/* The load bias of f mapped as m, its file read once per mapping offset. */
static int file_bias(struct py_file *f, const char *path, const struct procmap *m, uint64_t *bias)
{
	if (!f->map_known || f->map_offset != m->offset) {
		struct elfsym *e = elfsym__open(path, NULL, 0);
		int bad = !e || elf_offset_to_vaddr(elfsym__elf(e), m->offset, &f->map_vaddr);

		if (e)
			elfsym__free(e);
		if (bad)
			return -1;
		f->map_known = 1;
		f->map_offset = m->offset;
	}
	*bias = m->start - f->map_vaddr;
	return 0;
}

static int each_file(const char *path, const struct procmap *m, void *arg)
{
	struct scan *sc = arg;
	struct py_file *f;

	if (sc->libc < 0 && procmap__is_libc(m->path) && (f = file_of(sc->py, path, m))) {
		sc->libc = f - sc->py->files;
		snprintf(sc->libc_path, sizeof(sc->libc_path), "%s", path);
	}
	if (sc->interp >= 0)
		return 0;
	f = file_of(sc->py, path, m);
	if (f && f->python && !file_bias(f, path, m, &sc->bias)) {
		sc->interp = f - sc->py->files;
		snprintf(sc->interp_path, sizeof(sc->interp_path), "%s", m->path);
	}
	return 0;
}

/* glibc's thread-specific data layout into L, from libc f (path); -1 with
 * f->why filled if its pthread_getspecific is not one we can read. */
static int libc_tsd(struct py_file *f, const char *path, struct pt_py_layout *L)
{
	if (!f->tsd_state) {
		struct elfsym *e = elfsym__open(path, NULL, 0);
		uint8_t code[64];
		uint64_t off;
		int n = e ? elfsym__function(e, "pthread_getspecific", &off, code, sizeof(code)) : -1;

		f->tsd_state = n > 0 && !decode_tsd(code, n, &f->tsd) ? 1 : -1;
		if (f->tsd_state < 0)
			snprintf(f->why, sizeof(f->why), "glibc's thread-specific data layout not "
				 "recognised in pthread_getspecific of %.100s", path);
		if (e)
			elfsym__free(e);
	}
	if (f->tsd_state < 0)
		return -1;
	L->tsd_base = f->tsd.tsd_base;
	L->tsd_stride = f->tsd.tsd_stride;
	L->tsd_data = f->tsd.tsd_data;
	return 0;
}

/* Says once per file why its processes get no Python frames. */
static void warn_once(struct python *py, struct py_file *f)
{
	char buf[300];

	if (!py->warn || f->warned)
		return;
	snprintf(buf, sizeof(buf), "no Python frames: %s", f->why);
	py->warn(py->warn_ctx, buf);
	f->warned = 1;
}

void python__scan(struct python *py, const struct procmaps *pm, uint32_t instance)
{
	struct scan sc = { .py = py, .interp = -1, .libc = -1 };
	struct py_file *f;
	struct pt_py_layout L;
	struct py_image *img;

	if (py->mode == PY_OFF || !instance || python__image(py, instance))
		return;
	procmaps__each_code_file(pm, each_file, &sc);
	if (sc.interp < 0)
		return;
	f = &py->files[sc.interp];
	if (f->why[0]) {
		warn_once(py, f);
		return;
	}
	/* no glibc (musl): its thread-specific data is another layout */
	if (sc.libc < 0)
		return;
	L = f->layout;
	if (libc_tsd(&py->files[sc.libc], sc.libc_path, &L)) {
		warn_once(py, &py->files[sc.libc]);
		return;
	}
	L.tss_key_addr = sc.bias + f->tss_key_vaddr;
	if (vec_grow((void **)&py->img, &py->capimg, py->nimg + 1, sizeof(*img), 16))
		return;
	if (bpf_map_update_elem(py->map_fd, &instance, &L, BPF_ANY))
		return;	/* map full: native frames only */
	if (py->any)
		*py->any = 1;
	img = &py->img[py->nimg++];
	img->instance = instance;
	img->code_adaptive = f->code_adaptive;
	img->interp = strdup(sc.interp_path);
	if (py->verbose)
		fprintf(stderr, "peaktrace: pid %d: Python %u.%u in %s: Python frames on\n",
			(int)pm->pid, f->major, f->minor, sc.interp_path);
}

void python__inherit(struct python *py, uint32_t parent, uint32_t child)
{
	const struct py_image *p = python__image(py, parent);
	struct py_image *img;
	char *interp;

	if (!p || python__image(py, child))
		return;
	interp = strdup(p->interp);
	if (!interp || vec_grow((void **)&py->img, &py->capimg, py->nimg + 1, sizeof(*img), 16)) {
		free(interp);
		return;
	}
	p = python__image(py, parent);	/* the array may have moved */
	img = &py->img[py->nimg++];
	*img = *p;
	img->instance = child;
	img->interp = interp;
}

const struct py_image *python__image(const struct python *py, uint32_t instance)
{
	for (size_t i = 0; i < py->nimg; i++)
		if (py->img[i].instance == instance)
			return &py->img[i];
	return NULL;
}

void python__free(struct python *py)
{
	for (size_t i = 0; i < py->nimg; i++)
		free(py->img[i].interp);
	free(py->img);
	free(py->files);
	py_codes__free(&py->codes);
	memset(py, 0, sizeof(*py));
}

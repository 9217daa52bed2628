/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Python frames, userspace side: finding CPython in a traced image and
 * telling BPF how to read its frames (detect.c), the code objects BPF
 * copies (codes.c), and the frames they give in reports (merge.c).
 */
#ifndef PT_PYTHON_H
#define PT_PYTHON_H

#include <stdint.h>
#include <sys/types.h>
#include "files/procmaps.h"
#include "python/codes.h"
#include "python/merge.h"

struct py_image {
	uint32_t instance;
	uint32_t code_adaptive;
	char *interp;		/* the module holding the interpreter */
};

struct py_file;

struct python {
	int map_fd;		/* py_images */
	volatile uint32_t *any;	/* BPF's py_any: set at the first Python image */
	enum py_mode mode;
	int show_glue;		/* -v */
	int verbose;
	struct py_image *img;
	size_t nimg, capimg;
	struct py_file *files;	/* files looked at, and what they are */
	size_t nfiles, capfiles;
	struct py_codes codes;
	/* a warning for the report; ctx is the caller's */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
};

/* Looks for CPython in a process's mappings (instance: its image) and, if
 * found and its layout checks out, tells BPF.  Once per image. */
void python__scan(struct python *py, const struct procmaps *pm, uint32_t instance);
/* A forked child: its parent's interpreter (BPF copied the layout). */
void python__inherit(struct python *py, uint32_t parent, uint32_t child);
const struct py_image *python__image(const struct python *py, uint32_t instance);
void python__free(struct python *py);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Turning recorded frames into function, file:line and module, with
 * elfutils.  Works for processes that are gone: a frame is resolved from
 * the mapping BPF recorded when the stack was first seen (file identity and
 * offset), and the file is found through paths collected while processes
 * lived.
 */
#ifndef PT_SYMBOLIZE_H
#define PT_SYMBOLIZE_H

#include <stdint.h>
#include <sys/types.h>
#include "collect/collect.h"
#include "files/procmaps.h"
#include "report/report.h"

struct symbolizer;

struct symbolizer *symbolizer__new(void);
void symbolizer__free(struct symbolizer *s);

/* Remembers where the file (dev, ino) can be opened (shown as shown, if
 * given: path may be a /proc link, then opened and kept now). */
void symbolizer__add_file(struct symbolizer *s, uint64_t dev, uint64_t ino, const char *path,
			  const char *shown);
/* Whether the file (dev, ino) can be opened already. */
int symbolizer__knows(struct symbolizer *s, uint64_t dev, uint64_t ino);
/* Remembers every file pid maps (opened through /proc/PID/root). */
void symbolizer__scan_process(struct symbolizer *s, pid_t pid);
/* The same from pid's maps read already. */
void symbolizer__scan_maps(struct symbolizer *s, const struct procmaps *pm);
/*
 * Remembers the executable (dev, ino) that pid just exec'd: through
 * /proc/PID/exe while it lives, else through the path given to execve.
 */
void symbolizer__add_exe(struct symbolizer *s, pid_t pid, uint64_t dev, uint64_t ino,
			 const char *filename);

/*
 * Resolves one address of instance into frames, innermost first: the
 * functions inlined at it (from DWARF), then the function it is in.
 * ip is a return address unless it is the innermost frame of a stack taken
 * at a probe, so the lookup uses ip - 1 when return_address is set.
 * Returns the frames written (at least 1, at most max); every one has its
 * address, the rest only what could be found.
 */
size_t symbolizer__frames(struct symbolizer *s, const struct collected *c, uint32_t instance,
			  uint64_t ip, int return_address, struct report_frame *out, size_t max);

#endif

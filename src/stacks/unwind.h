/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading unwind tables (src/stacks/cfi.c) into the BPF maps for the modules
 * traced processes run: before a command starts for its executable and the
 * libraries it needs, and as further modules show up in their mappings.
 */
#ifndef PT_UNWIND_H
#define PT_UNWIND_H

#include <stdint.h>
#include <sys/types.h>
#include "files/procmaps.h"

struct unwind;

/* A warning, for the report and stderr (-q silences the latter). */
typedef void (*unwind_warn_fn)(void *ctx, const char *msg);

/* rows_fd: row table 0 (cfi_rows), of table_rows rows (a power of two),
 * tables_fd the map of the others (cfi_tables), made as needed;
 * generation: BPF's cfi_generation, bumped after each module is added.
 * NULL if table 0 cannot be mapped (errno set). */
struct unwind *unwind__new(int rows_fd, int tables_fd, int modules_fd,
			   volatile uint64_t *generation, uint32_t table_rows, int verbose,
			   unwind_warn_fn warn, void *warn_ctx);
void unwind__free(struct unwind *u);

/* The file at path (as peaktrace sees it); idempotent per file. */
void unwind__add_file(struct unwind *u, const char *path);
/* An executable and, recursively, the libraries it names (DT_NEEDED). */
void unwind__add_program(struct unwind *u, const char *path);
/* Every executable file mapping in a process's maps. */
void unwind__add_maps(struct unwind *u, const struct procmaps *pm);
/*
 * Programs a launcher is about to exec, named on its command line (env,
 * sh -c '...', timeout, make's recipes): their tables are read now, before
 * they run, rather than after their exec is seen, which is too late for
 * what they allocate in their first milliseconds.  args: NUL-separated
 * argv; dir: where relative names are resolved (NULL: here).
 */
void unwind__anticipate(struct unwind *u, const char *args, size_t len, const char *dir);
/* Whether the file (dev, ino) was read already (with or without a table). */
int unwind__knows(const struct unwind *u, uint64_t dev, uint64_t ino);
/* Only the C library and the dynamic loader pid maps. */
void unwind__add_runtime(struct unwind *u, pid_t pid);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/* Looking up exported functions of a shared object (libc) by name. */
#ifndef PT_ELFSYM_H
#define PT_ELFSYM_H

#include <libelf.h>
#include <stddef.h>
#include <stdint.h>

struct elfsym;

/* Opens path; on failure returns NULL with errno set or a libelf message in err. */
struct elfsym *elfsym__open(const char *path, char *err, size_t errlen);
void elfsym__free(struct elfsym *e);

/*
 * Finds the default version of the exported function name.  Fills the
 * file offset of its first byte (what a uprobe wants) and up to len bytes
 * of its code.  Returns the number of code bytes read, or -1 if absent.
 */
int elfsym__function(struct elfsym *e, const char *name, uint64_t *file_offset,
		     uint8_t *code, size_t len);

/*
 * Finds the exported object or function name: its link-time address and
 * size, and up to len bytes of it from the file (initialised data, code).
 * Returns the number of bytes read (0 if len is 0), or -1 if absent.
 */
int elfsym__object(struct elfsym *e, const char *name, uint64_t *vaddr, uint64_t *size,
		   void *buf, size_t len);
Elf *elfsym__elf(struct elfsym *e);

/* Whether the ELF file at path defines the function name: 1, 0, or -1 if
 * it cannot be read as an x86-64 ELF file. */
int elfsym__defines(const char *path, const char *name);
/*
 * File offset <-> link-time address, through the PT_LOAD segment that holds
 * it; *left (if not NULL): the segment's file bytes from there on.
 * Returns 0, or -1 if no segment does.
 */
int elf_offset_to_vaddr(Elf *elf, uint64_t off, uint64_t *vaddr);
int elf_vaddr_to_offset(Elf *elf, uint64_t vaddr, uint64_t *off, uint64_t *left);

#endif

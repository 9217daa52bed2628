/* SPDX-License-Identifier: GPL-2.0 */
/* An ELF file of a traced program, opened safely (files/procmaps.h). */
#ifndef PT_ELFFILE_H
#define PT_ELFFILE_H

#include <libelf.h>
#include <stddef.h>
#include <stdint.h>

struct elf_file {
	int fd;
	Elf *elf;
};

/*
 * Opens path (regular, bounded, without blocking; if dev and ino are not
 * 0, only that file) and reads it as ELF.  Returns 0; or -1 with errno set
 * if it cannot be opened (f->fd < 0), or -1 with f->elf NULL if it is not
 * ELF.  Either way elf_file__close(f) is safe.
 */
int elf_file__open(struct elf_file *f, const char *path, uint64_t dev, uint64_t ino);
/* Whether it is x86-64 code (64-bit class, EM_X86_64). */
int elf_file__x86_64(const struct elf_file *f);
/* Whether a DT_NEEDED entry of its dynamic section holds one of names
 * (NULL-terminated list of substrings): 1 with that entry in found, else 0. */
int elf_file__needs(const struct elf_file *f, const char *const *names, char *found,
		    size_t len);
void elf_file__close(struct elf_file *f);

#endif

// SPDX-License-Identifier: GPL-2.0
#include <gelf.h>
#include <unistd.h>
#include "files/elffile.h"
#include "files/procmaps.h"

int elf_file__open(struct elf_file *f, const char *path, uint64_t dev, uint64_t ino)
{
	f->elf = NULL;
	f->fd = procmap__open_file(path, dev, ino);
	if (f->fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	f->elf = elf_begin(f->fd, ELF_C_READ, NULL);
	if (f->elf && elf_kind(f->elf) != ELF_K_ELF) {
		elf_end(f->elf);
		f->elf = NULL;
	}
	return f->elf ? 0 : -1;
}

int elf_file__x86_64(const struct elf_file *f)
{
	GElf_Ehdr eh;

	return f->elf && gelf_getclass(f->elf) == ELFCLASS64 && gelf_getehdr(f->elf, &eh) &&
	       eh.e_machine == EM_X86_64;
}

void elf_file__close(struct elf_file *f)
{
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	f->elf = NULL;
	f->fd = -1;
}

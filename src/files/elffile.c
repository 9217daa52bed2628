// SPDX-License-Identifier: GPL-2.0
#include <gelf.h>
#include <stdio.h>
#include <string.h>
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

int elf_file__needs(const struct elf_file *f, const char *const *names, char *found,
		    size_t len)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Dyn dyn;

	while (f->elf && (scn = elf_nextscn(f->elf, scn))) {
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC || !sh.sh_entsize ||
		    !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize && gelf_getdyn(d, (int)i, &dyn);
		     i++) {
			const char *name;

			if (dyn.d_tag != DT_NEEDED ||
			    !(name = elf_strptr(f->elf, sh.sh_link, dyn.d_un.d_val)))
				continue;
			for (const char *const *n = names; *n; n++)
				if (strstr(name, *n)) {
					snprintf(found, len, "%s", name);
					return 1;
				}
		}
	}
	return 0;
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

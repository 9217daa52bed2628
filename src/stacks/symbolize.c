// SPDX-License-Identifier: GPL-2.0
/* Symbolization with libdwfl, one offline session per module file. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "files/elfsym.h"
#include "peaktrace.h"
#include "files/procmaps.h"
#include "util/paths.h"
#include "stacks/symbolize.h"
#include "stacks/symtab.h"
#include "util/vec.h"

struct module {
	uint64_t dev, ino;
	char *path;		/* as shown in reports */
	int fd;			/* kept open when path is not stable (/proc/...), else -1 */
	int tried;		/* opened (or failed to) already */
	Dwfl *dwfl;
	Dwfl_Module *mod;
	GElf_Addr bias;
	Elf *elf;
	struct symtab *syms;	/* its symbols by address, made at the first lookup */
	int syms_tried;
	char build_id[2 * 64 + 1];	/* hex, "" if none */
};

struct symbolizer {
	struct module *m;
	size_t n, cap;
};

static char *debuginfo_path = NULL;
static const Dwfl_Callbacks offline_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

struct symbolizer *symbolizer__new(void)
{
	return calloc(1, sizeof(struct symbolizer));
}

void symbolizer__free(struct symbolizer *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++) {
		symtab__free(s->m[i].syms);
		if (s->m[i].dwfl)
			dwfl_end(s->m[i].dwfl);
		if (s->m[i].fd >= 0)
			close(s->m[i].fd);
		free(s->m[i].path);
	}
	free(s->m);
	free(s);
}

static struct module *find(struct symbolizer *s, uint64_t dev, uint64_t ino)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->m[i].dev == dev && s->m[i].ino == ino)
			return &s->m[i];
	return NULL;
}

int symbolizer__knows(struct symbolizer *s, uint64_t dev, uint64_t ino)
{
	return find(s, dev, ino) != NULL;
}

void symbolizer__add_file(struct symbolizer *s, uint64_t dev, uint64_t ino, const char *path,
			  const char *shown)
{
	struct module *m;
	int fd = -1;

	if (!ino || find(s, dev, ino))
		return;
	/* a path through /proc lasts only as long as the process: the file is
	 * opened now (checked to be that file) and kept open */
	if (!strncmp(path, "/proc/", 6)) {
		fd = procmap__open_file(path, dev, ino);
		if (fd < 0)
			return;
	}
	if (vec_grow((void **)&s->m, &s->cap, s->n + 1, sizeof(*s->m), 64))
		return;
	m = &s->m[s->n];
	memset(m, 0, sizeof(*m));
	m->dev = dev;
	m->ino = ino;
	m->fd = fd;
	m->path = strdup(shown ? shown : path);
	if (m->path)
		s->n++;
	else if (fd >= 0)
		close(fd);
}

static int scan_one(const char *path, const struct procmap *m, void *arg)
{
	symbolizer__add_file(arg, m->dev, m->ino, path, m->path);
	return 0;
}

void symbolizer__scan_maps(struct symbolizer *s, const struct procmaps *pm)
{
	procmaps__each_code_file(pm, scan_one, s);
}

void symbolizer__scan_process(struct symbolizer *s, pid_t pid)
{
	procmap__each_code_file(pid, scan_one, s);
}

void symbolizer__add_exe(struct symbolizer *s, pid_t pid, uint64_t dev, uint64_t ino,
			 const char *filename)
{
	char link[64], path[4096];
	ssize_t n;

	if (find(s, dev, ino))
		return;
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, path, sizeof(path) - 1);
	if (n > 0) {
		path[n] = 0;
		if (procmap__same_file(path, dev, ino)) {
			symbolizer__add_file(s, dev, ino, path, NULL);
			return;
		}
		/* another mount namespace, or deleted: the exe link itself */
		symbolizer__add_file(s, dev, ino, link, path);
		if (find(s, dev, ino))
			return;
	}
	/* Already gone: the path given to execve, if it still names the file. */
	if (filename[0] == '/' && procmap__same_file(filename, dev, ino))
		symbolizer__add_file(s, dev, ino, filename, NULL);
	else if (realpath(filename, path) && procmap__same_file(path, dev, ino))
		symbolizer__add_file(s, dev, ino, path, NULL);
}

/*
 * Last resort for a mapping no live process showed us: its base name (read
 * by BPF) in the usual library directories and the directories of files we
 * know, accepted only if (dev, ino) match.
 */
static struct module *find_by_name(struct symbolizer *s, uint64_t dev, uint64_t ino,
				   const char *name)
{
	char path[4400];
	size_t i, known = s->n;

	if (!name[0] || strchr(name, '/'))
		return NULL;
	for (i = 0; procmap_lib_dirs[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", procmap_lib_dirs[i], name);
		if (procmap__same_file(path, dev, ino)) {
			symbolizer__add_file(s, dev, ino, path, NULL);
			return find(s, dev, ino);
		}
	}
	for (i = 0; i < known; i++) {
		const char *slash = strrchr(s->m[i].path, '/');

		if (!slash)
			continue;
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - s->m[i].path), s->m[i].path, name);
		if (procmap__same_file(path, dev, ino)) {
			symbolizer__add_file(s, dev, ino, path, NULL);
			return find(s, dev, ino);
		}
	}
	return NULL;
}

static int module_open(struct module *m)
{
	if (m->tried)
		return m->mod ? 0 : -1;
	m->tried = 1;
	m->dwfl = dwfl_begin(&offline_callbacks);
	if (!m->dwfl)
		return -1;
	if (m->fd >= 0) {
		char fdpath[32];

		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", m->fd);
		m->mod = dwfl_report_offline(m->dwfl, m->path, fdpath, -1);
	} else {
		/* checked now: the file may have been replaced since */
		int fd = procmap__open_file(m->path, m->dev, m->ino);

		m->mod = fd < 0 ? NULL : dwfl_report_offline(m->dwfl, m->path, m->path, fd);
	}
	dwfl_report_end(m->dwfl, NULL, NULL);
	if (!m->mod)
		return -1;
	m->elf = dwfl_module_getelf(m->mod, &m->bias);
	{
		const unsigned char *bits;
		GElf_Addr at;
		int n = dwfl_module_build_id(m->mod, &bits, &at), i;

		for (i = 0; i < n && i < 64; i++)
			snprintf(m->build_id + 2 * i, 3, "%02x", bits[i]);
	}
	return m->elf ? 0 : -1;
}

/* The symbol vaddr (a module address) is in: by binary search in the
 * module's sorted symbols (symtab.h says why), libdw's own scan only if
 * they could not be sorted (out of memory). */
static const char *function_at(struct module *m, GElf_Addr vaddr)
{
	GElf_Off off;
	GElf_Sym sym;

	if (!m->syms_tried) {
		m->syms_tried = 1;
		m->syms = symtab__build(m->mod);
	}
	if (m->syms)
		return symtab__lookup(m->syms, vaddr, &off);
	return dwfl_module_addrinfo(m->mod, vaddr, &off, &sym, NULL, NULL, NULL);
}

/* libstdc++'s demangler; peaktrace links libstdc++ for it alone. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

static char *demangle(const char *versioned)
{
	int status = -1;
	char *name = strndup(versioned, strcspn(versioned, "@")), *d; /* no symbol version */

	if (!name || strncmp(name, "_Z", 2))
		return name;
	d = __cxa_demangle(name, NULL, NULL, &status);
	if (d && !status) {
		free(name);
		return d;
	}
	free(d);
	return name;
}

/* A unit's source name made absolute with its compilation directory, as
 * debuggers show it, and normalized. */
static char *absolute_source(Dwarf_Die *cu, const char *name)
{
	Dwarf_Attribute attr;
	const char *dir = name[0] == '/' || !cu ? NULL :
			  dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr));
	char *full;

	if (!dir || asprintf(&full, "%s/%s", dir, name) < 0)
		full = strdup(name);
	if (full)
		path__normalize(full);
	return full;
}

static char *source_path(Dwfl_Line *line, const char *src)
{
	return absolute_source(src[0] == '/' ? NULL : dwfl_linecu(line), src);
}

/* A function's name from its DIE: the demangled linkage name if it has
 * one (C++), else its plain name; abstract origins followed. */
static char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));

	if (!n)
		n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	if (n)
		return demangle(n);
	n = dwarf_diename(die);
	return n ? strdup(n) : NULL;
}

/* The file name of a unit's file table entry idx, made absolute. */
static char *call_file(Dwarf_Die *cu, Dwarf_Word idx)
{
	Dwarf_Files *files;
	size_t nfiles;
	const char *name;

	if (dwarf_getsrcfiles(cu, &files, &nfiles) || idx >= nfiles)
		return NULL;
	name = dwarf_filesrc(files, idx, NULL, NULL);
	return name ? absolute_source(cu, name) : NULL;
}

/*
 * Where every process and thread starts, at the root of every stack: no
 * source line is looked up for these (in the C library; _start in any
 * program).  The C library's is the only debug information a stack needs
 * from it most of the time, and reading it means inflating all of
 * libc6-dbg's compressed DWARF: 60 ms of every report here, for lines
 * nobody reads.
 */
static int start_plumbing(const char *name, const char *module)
{
	static const char *const names[] = {
		"__libc_start_main", "__libc_start_main_impl", "__libc_start_call_main",
		"start_thread", "clone", "clone3", "__clone", "__clone3", "__clone_internal",
	};
	size_t i, len = name ? strcspn(name, "@") : 0;	/* a symbol version after @ */

	if (len == 6 && !strncmp(name, "_start", 6))
		return 1;
	if (!name || !procmap__is_libc(module))
		return 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && !strncmp(name, names[i], len))
			return 1;
	return 0;
}

size_t symbolizer__frames(struct symbolizer *s, const struct collected *c, uint32_t instance,
			  uint64_t ip, int return_address, struct report_frame *out, size_t max)
{
	const struct collected_vma *v = collect__vma(c, instance, ip);
	uint64_t lookup = return_address && ip ? ip - 1 : ip, vaddr;
	struct report_frame *f = out;
	Dwarf_Die *cu, *scopes = NULL;
	struct module *m;
	const char *name;
	Dwfl_Line *line;
	Dwarf_Addr cubias;
	size_t n = 1;
	int nscopes, i;

	memset(f, 0, sizeof(*f));
	f->address = ip;
	if (!v)
		return 1;
	f->module_offset = ip - v->key.start + v->v.file_offset;
	m = find(s, v->v.dev, v->v.ino);
	if (!m) {
		char base[PT_FILE_NAME_LEN + 1];

		snprintf(base, sizeof(base), "%.*s", PT_FILE_NAME_LEN, v->v.name);
		m = find_by_name(s, v->v.dev, v->v.ino, base);
	}
	if (!m) {
		/* Never seen from userspace: keep the name BPF read. */
		if (v->v.name[0])
			f->module = strndup(v->v.name, sizeof(v->v.name));
		return 1;
	}
	f->module = strdup(m->path);
	if (module_open(m))
		return 1;
	if (m->build_id[0])
		f->build_id = strdup(m->build_id);
	if (elf_offset_to_vaddr(m->elf, lookup - v->key.start + v->v.file_offset, &vaddr))
		return 1;
	vaddr += m->bias;
	name = function_at(m, vaddr);
	if (start_plumbing(name, m->path)) {
		f->function = demangle(name);
		return 1;
	}
	line = dwfl_module_getsrc(m->mod, vaddr);
	if (line) {
		int lineno = 0;
		const char *src = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);

		if (src) {
			f->file = source_path(line, src);
			f->line = lineno;
		}
	}
	/*
	 * Inlined calls: each DW_TAG_inlined_subroutine around the address is
	 * a frame of its own, innermost first, with the caller's position
	 * taken from the inlined call's DW_AT_call_file/line.
	 */
	cu = dwfl_module_addrdie(m->mod, vaddr, &cubias);
	nscopes = cu ? dwarf_getscopes(cu, vaddr - cubias, &scopes) : 0;
	if (nscopes > 0) {
		/* dwarf_getscopes follows an inlined instance into its abstract
		 * definition; the containing instances come from its DIE */
		Dwarf_Die *chain = NULL;
		int nchain = dwarf_getscopes_die(&scopes[0], &chain);

		free(scopes);
		scopes = chain;
		nscopes = nchain > 0 ? nchain : 0;
	}
	for (i = 0; i < nscopes && n < max; i++) {
		Dwarf_Attribute attr;
		Dwarf_Word file = 0, lineno = 0;
		struct report_frame *caller;

		if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine)
			continue;
		f->function = die_name(&scopes[i]);
		caller = f + 1;
		memset(caller, 0, sizeof(*caller));
		caller->address = f->address;
		caller->module_offset = f->module_offset;
		caller->module = strdup(m->path);
		caller->build_id = f->build_id ? strdup(f->build_id) : NULL;
		caller->inlined_into = 1;
		if (!dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &attr), &file))
			caller->file = call_file(cu, file);
		if (!dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &attr), &lineno))
			caller->line = (int)lineno;
		f->inlined = 1;
		f = caller;
		n++;
	}
	free(scopes);
	/* the outermost: the function the address is in */
	if (name && !f->function)
		f->function = demangle(name);
	return n;
}

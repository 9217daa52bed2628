// SPDX-License-Identifier: GPL-2.0
/* Unwind tables into the BPF maps cfi_rows (cfi_tables) and cfi_modules. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "stacks/cfi.h"
#include "run/launch.h"
#include "files/procmaps.h"
#include "files/elffile.h"
#include "stacks/unwind.h"
#include "util/mapmem.h"
#include "util/vec.h"

struct unwind {
	int tables_fd, modules_fd, verbose;
	volatile uint64_t *generation;	/* BPF's cfi_generation */
	unwind_warn_fn warn;		/* warnings go into the report */
	void *warn_ctx;
	uint32_t next_row, table_rows;	/* rows per table: a power of two */
	uint32_t ntables;		/* tables that may be used: fewer than
					 * PT_CFI_TABLES once one could not be made */
	int fd[PT_CFI_TABLES];		/* table t's map, -1 until made */
	uint8_t *rows[PT_CFI_TABLES];	/* and its rows, mapped */
	struct pt_cfi_module_key *seen;	/* loaded or failed: not tried again */
	size_t nseen, capseen;
	int full_warned;
};

struct unwind *unwind__new(int rows_fd, int tables_fd, int modules_fd,
			   volatile uint64_t *generation, uint32_t table_rows, int verbose,
			   unwind_warn_fn warn, void *warn_ctx)
{
	struct unwind *u = calloc(1, sizeof(*u));
	int t;

	if (!u)
		return NULL;
	u->tables_fd = tables_fd;
	u->modules_fd = modules_fd;
	u->generation = generation;
	u->warn = warn;
	u->warn_ctx = warn_ctx;
	u->table_rows = table_rows;
	u->ntables = PT_CFI_TABLES;
	u->verbose = verbose;
	for (t = 0; t < PT_CFI_TABLES; t++)
		u->fd[t] = -1;
	u->rows[0] = mapmem__map(rows_fd, table_rows, sizeof(struct pt_cfi_row));
	if (!u->rows[0]) {
		free(u);
		return NULL;
	}
	return u;
}

void unwind__free(struct unwind *u)
{
	int t;

	if (!u)
		return;
	for (t = 0; t < PT_CFI_TABLES; t++) {
		mapmem__unmap(u->rows[t], u->table_rows, sizeof(struct pt_cfi_row));
		if (u->fd[t] >= 0)
			close(u->fd[t]);
	}
	free(u->seen);
	free(u);
}

int unwind__knows(const struct unwind *u, uint64_t dev, uint64_t ino)
{
	size_t i;

	for (i = 0; i < u->nseen; i++)
		if (u->seen[i].dev == dev && u->seen[i].ino == ino)
			return 1;
	return 0;
}

/* Whether k was read already; if not, it is from now on. */
static int seen(struct unwind *u, const struct pt_cfi_module_key *k)
{
	if (unwind__knows(u, k->dev, k->ino))
		return 1;
	if (vec_grow((void **)&u->seen, &u->capseen, u->nseen + 1, sizeof(*u->seen), 64))
		return 1;
	u->seen[u->nseen++] = *k;
	return 0;
}

/* Table t (1 and on), made now if it was not: 0, or -1 (errno set). */
static int table_made(struct unwind *u, uint32_t t)
{
	if (!u->rows[t])
		u->rows[t] = mapmem__add_inner(u->tables_fd, t, "cfi_table", sizeof(struct pt_cfi_row),
					       u->table_rows, &u->fd[t]);
	return u->rows[t] ? 0 : -1;
}

/* Rows are written at next_row and after, in as many tables as they run
 * into; the module's entry, written next by syscall, makes them visible to
 * BPF. */
static int load_rows(struct unwind *u, const struct cfi_table *t)
{
	size_t stride = mapmem__stride(sizeof(*t->rows)), i;
	uint32_t mask = u->table_rows - 1;

	for (i = 0; i < t->n; i++) {
		uint32_t r = u->next_row + (uint32_t)i, table = r / u->table_rows;

		if (table_made(u, table)) {
			u->ntables = table;
			return -1;
		}
		memcpy(u->rows[table] + (size_t)(r & mask) * stride, &t->rows[i], sizeof(t->rows[i]));
	}
	return 0;
}

void unwind__add_file(struct unwind *u, const char *path)
{
	struct pt_cfi_module_key key;
	struct pt_cfi_module m;
	char err[512], fdpath[32];
	struct cfi_table t;
	struct stat st;
	int fd, built;

	/* one open, checked, whose identity keys the table: the name may be
	 * replaced meanwhile by the traced program */
	fd = procmap__open_file(path, 0, 0);
	if (fd < 0)
		return;
	if (fstat(fd, &st)) {
		close(fd);
		return;
	}
	key.dev = procmap__kernel_dev(st.st_dev);
	key.ino = st.st_ino;
	if (seen(u, &key)) {
		close(fd);
		return;
	}
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	built = cfi__build(fdpath, &t, err, sizeof(err));
	close(fd);
	if (built) {
		if (u->verbose)
			fprintf(stderr, "peaktrace: no unwind table for %s: %s\n", path, err);
		return;
	}
	if (u->next_row + t.n > (uint64_t)u->table_rows * u->ntables) {
		if (!u->full_warned) {
			snprintf(err, sizeof(err), "unwind tables full (--max-unwind-rows %u%s) at %s "
				 "(%zu rows): its frames, and those of any other module that does not fit, "
				 "are unwound by frame pointers only", u->table_rows * PT_CFI_TABLES,
				 u->ntables < PT_CFI_TABLES ? ", fewer tables made" : "", path, t.n);
			u->warn(u->warn_ctx, err);
		}
		u->full_warned = 1;
		cfi__free(&t);
		return;
	}
	if (load_rows(u, &t)) {
		/* a table that could not be made is not tried again: modules
		 * that need it take the "full" path, said once */
		snprintf(err, sizeof(err), "adding an unwind table of %u rows for %s failed (%s): "
			 "modules that do not fit in the tables made are unwound by frame "
			 "pointers only", u->table_rows, path, strerror(errno));
		u->warn(u->warn_ctx, err);
		u->full_warned = 1;
		cfi__free(&t);
		return;
	}
	m.first = u->next_row;
	m.nrows = t.n;
	m.vaddr_minus_offset = t.vaddr_minus_offset;
	if (bpf_map_update_elem(u->modules_fd, &key, &m, BPF_ANY) == 0) {
		u->next_row += t.n;
		/* after the table is in: BPF looks again at what it cached as
		 * having none (a program a shell exec'd, mapped before this) */
		__atomic_fetch_add(u->generation, 1, __ATOMIC_SEQ_CST);
	}
	if (u->verbose)
		fprintf(stderr, "peaktrace: unwind table for %s: %zu rows\n", path, t.n);
	cfi__free(&t);
}

/*
 * $ORIGIN: the directory of the program.  Given as /proc/PID/exe (a
 * program just exec'd, maybe in another mount namespace), that is the
 * link's target seen through the process's root, not /proc/PID.
 */
static void program_origin(const char *path, char *origin, size_t len)
{
	char target[PATH_MAX];
	ssize_t n;
	int pid;

	if (sscanf(path, "/proc/%d/exe", &pid) == 1 &&
	    (n = readlink(path, target, sizeof(target) - 1)) > 0 && target[0] == '/') {
		target[n] = 0;
		if (snprintf(origin, len, "/proc/%d/root%s", pid, target) >= (int)len)
			origin[0] = 0;
	} else if (sscanf(path, "/proc/%d/fd/%*d", &pid) == 1 &&
		   (n = readlink(path, target, sizeof(target) - 1)) > 0 && target[0] == '/') {
		/* a file the exec gate holds open: its name from here */
		target[n] = 0;
		snprintf(origin, len, "%s", target);
	} else {
		snprintf(origin, len, "%s", path);
	}
	if (strrchr(origin, '/'))
		*strrchr(origin, '/') = 0;
}

/* DT_NEEDED names, resolved in $ORIGIN-expanded RUNPATH/RPATH and the usual
 * directories: what the dynamic loader will map. */
static void add_needed(struct unwind *u, const char *path, int depth)
{
	char origin[PATH_MAX], runpath[1024] = "", lib[PATH_MAX + 300];
	const char *needed[64];
	size_t nneeded = 0, i, k;
	Elf_Scn *scn = NULL;
	struct elf_file ef;
	GElf_Shdr sh;
	Elf *elf;

	if (depth > 8)
		return;
	unwind__add_file(u, path);
	if (elf_file__open(&ef, path, 0, 0) && ef.fd < 0)
		return;
	elf = ef.elf;
	program_origin(path, origin, sizeof(origin));
	while (elf && (scn = elf_nextscn(elf, scn))) {
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC)
			continue;
		d = elf_getdata(scn, NULL);
		for (i = 0; d && i < sh.sh_size / (sh.sh_entsize ? sh.sh_entsize : 1); i++) {
			GElf_Dyn dyn;
			const char *str;

			if (!gelf_getdyn(d, i, &dyn))
				break;
			str = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val);
			if (!str)
				continue;
			if (dyn.d_tag == DT_NEEDED && nneeded < 64)
				needed[nneeded++] = strdup(str);
			else if (dyn.d_tag == DT_RUNPATH || dyn.d_tag == DT_RPATH)
				snprintf(runpath, sizeof(runpath), "%s", str);
		}
	}
	for (i = 0; i < nneeded; i++) {
		int found = 0;
		char *rp = strdup(runpath), *save = NULL, *dir;

		for (dir = rp ? strtok_r(rp, ":", &save) : NULL; dir && !found;
		     dir = strtok_r(NULL, ":", &save)) {
			if (!strncmp(dir, "$ORIGIN", 7))
				snprintf(lib, sizeof(lib), "%s%s/%s", origin, dir + 7, needed[i]);
			else
				snprintf(lib, sizeof(lib), "%s/%s", dir, needed[i]);
			found = access(lib, R_OK) == 0;
		}
		free(rp);
		for (k = 0; !found && procmap_lib_dirs[k]; k++) {
			snprintf(lib, sizeof(lib), "%s/%s", procmap_lib_dirs[k], needed[i]);
			found = access(lib, R_OK) == 0;
		}
		if (found)
			add_needed(u, lib, depth + 1);
		free((char *)needed[i]);
	}
	elf_file__close(&ef);
}

void unwind__add_program(struct unwind *u, const char *path)
{
	add_needed(u, path, 0);
}

/* A regular file starting with the ELF magic, opened without blocking: a
 * FIFO named by a traced program must not stall us. */
static int is_elf_file(const char *path)
{
	unsigned char magic[4];
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), ok;

	if (fd < 0)
		return 0;
	ok = !fstat(fd, &st) && S_ISREG(st.st_mode) && read(fd, magic, 4) == 4 &&
	     !memcmp(magic, "\177ELF", 4);
	close(fd);
	return ok;
}

/* A command word as execvp would find it (a name with a slash relative to
 * dir), if it is an ELF program. */
static int resolve_command(const char *word, const char *dir, char *out, size_t outlen)
{
	if (strchr(word, '/') && word[0] != '/' && dir)
		snprintf(out, outlen, "%s/%s", dir, word);
	else if (launch__resolve(word, out, outlen))
		return -1;
	return is_elf_file(out) ? 0 : -1;
}

void unwind__anticipate(struct unwind *u, const char *args, size_t len, const char *dir)
{
	char word[256], path[PATH_MAX + 300];
	size_t i = 0, n, words = 0;

	/* words split at blanks and shell punctuation: "sh -c './a; b | c'",
	 * "env X=1 prog", "timeout 5 prog" all name their programs */
	while (i < len && words < 32) {
		while (i < len && (!args[i] || strchr(" \t\n;|&()<>`'\"$", args[i])))
			i++;
		for (n = 0; i < len && args[i] && !strchr(" \t\n;|&()<>`'\"$", args[i]); i++)
			if (n < sizeof(word) - 1)
				word[n++] = args[i];
		word[n] = 0;
		if (!n || n == sizeof(word) - 1 || strchr(word, '='))
			continue;
		words++;
		if (!resolve_command(word, dir, path, sizeof(path)))
			unwind__add_program(u, path);
	}
}

static int scan_one(const char *path, const struct procmap *m, void *arg)
{
	(void)m;
	unwind__add_file(arg, path);
	return 0;
}

void unwind__add_maps(struct unwind *u, const struct procmaps *pm)
{
	procmaps__each_code_file(pm, scan_one, u);
}

static int scan_runtime(const char *path, const struct procmap *m, void *arg)
{
	const char *base = strrchr(m->path, '/');

	if (procmap__is_libc(m->path) || (base && !strncmp(base + 1, "ld-linux", 8)))
		unwind__add_file(arg, path);
	return 0;
}

void unwind__add_runtime(struct unwind *u, pid_t pid)
{
	procmap__each_code_file(pid, scan_runtime, u);
}

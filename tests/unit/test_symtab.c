// SPDX-License-Identifier: GPL-2.0
/*
 * The sorted symbol index against libdw's own lookup, on the real files
 * this test has mapped (itself, the C library, libdw, libelf, libstdc++,
 * zlib, the dynamic loader): at every code address tried, the same name
 * and offset as dwfl_module_addrinfo().  Tried: each symbol's first, last
 * and middle byte and the bytes just outside it (about 1000 symbols of a
 * larger table, at random: libdw's lookup, the slow one, takes seconds
 * over them all), and 1000 random addresses over the module.  Between
 * them they have what the rules decide: aliases at one address (malloc,
 * __libc_malloc), labels without a size (_start, _init), debug files'
 * tables beside the dynamic ones; and symtab_cases.so (symtab_cases.s),
 * made-up symbols where libdw's choice hangs on its table's order, sizes
 * and bindings, at every address.  Files given as arguments are compared
 * too (test_symtab /usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13).
 */
#include <elfutils/libdwfl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "stacks/symtab.h"

static char *debuginfo_path;
static const Dwfl_Callbacks callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

static size_t modules, compared, mismatches, cases_before;

/* The executable sections' addresses: a stack holds no other. */
static GElf_Addr code_lo[64], code_hi[64];
static size_t ncode;

static void code_sections(Dwfl_Module *mod)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	ncode = 0;
	while (elf && (scn = elf_nextscn(elf, scn)) && ncode < 64)
		if (gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_EXECINSTR) && sh.sh_size) {
			code_lo[ncode] = sh.sh_addr + bias;
			code_hi[ncode++] = sh.sh_addr + bias + sh.sh_size;
		}
}

static int in_code(GElf_Addr a)
{
	size_t i;

	for (i = 0; i < ncode; i++)
		if (a >= code_lo[i] && a < code_hi[i])
			return 1;
	return 0;
}

static void compare(Dwfl_Module *mod, const struct symtab *t, GElf_Addr a, const char *file)
{
	GElf_Off want_off = 0, got_off = 0;
	GElf_Sym sym;
	const char *want, *got;

	if (!in_code(a))
		return;
	want = dwfl_module_addrinfo(mod, a, &want_off, &sym, NULL, NULL, NULL);
	got = symtab__lookup(t, a, &got_off);

	compared++;
	if ((!want && !got) || (want && got && !strcmp(want, got) && want_off == got_off))
		return;
	if (mismatches++ < 10)
		fprintf(stderr, "FAIL %s at %#llx: libdw %s+%#llx, symtab %s+%#llx\n", file,
			(unsigned long long)a, want ? want : "(none)", (unsigned long long)want_off,
			got ? got : "(none)", (unsigned long long)got_off);
}

/* every: every code address of the file, not a sample */
static void one_file(const char *path, int every)
{
	Dwfl *dwfl = dwfl_begin(&callbacks);
	Dwfl_Module *mod = dwfl ? dwfl_report_offline(dwfl, path, path, -1) : NULL;
	GElf_Addr lo, hi;
	struct symtab *t;
	int n, i;

	if (!mod) {
		fprintf(stderr, "FAIL cannot open %s with libdw\n", path);
		mismatches++;
		goto out;
	}
	dwfl_report_end(dwfl, NULL, NULL);
	dwfl_module_info(mod, NULL, &lo, &hi, NULL, NULL, NULL, NULL);
	code_sections(mod);
	t = symtab__build(mod);
	n = dwfl_module_getsymtab(mod);
	if (n > 1 && !t) {
		fprintf(stderr, "FAIL no index for %s's %d symbols\n", path, n);
		mismatches++;
	}
	modules++;
	for (i = 0; every && i < (int)ncode; i++) {
		GElf_Addr a;

		for (a = code_lo[i]; a <= code_hi[i]; a++)
			compare(mod, t, a, path);
	}
	for (i = 1; i < n; i += n > 1000 ? 1 + (int)(rnd() % (n / 500)) : 1) {
		GElf_Sym s;
		GElf_Addr v;
		GElf_Word shndx;

		if (!dwfl_module_getsym_info(mod, i, &s, &v, &shndx, NULL, NULL))
			continue;
		compare(mod, t, v, path);
		compare(mod, t, v - 1, path);
		compare(mod, t, v + s.st_size / 2, path);
		if (s.st_size) {
			compare(mod, t, v + s.st_size - 1, path);
			compare(mod, t, v + s.st_size, path);
		}
	}
	for (i = 0; i < 1000 && hi > lo; i++)
		compare(mod, t, lo + rnd() % (hi - lo), path);
	symtab__free(t);
out:
	if (dwfl)
		dwfl_end(dwfl);
}

static int each_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	if (info->dlpi_name && info->dlpi_name[0] == '/')
		one_file(info->dlpi_name, 0);
	return 0;
}

int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		one_file(argv[i], 0);
	dl_iterate_phdr(each_object, NULL);
	{
		char self[4096];
		ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (k > 0) {
			self[k] = 0;
			one_file(self, 0);
			/* the made-up cases, built beside this test: every address */
			snprintf(strrchr(self, '/') + 1, sizeof(self) - (size_t)(strrchr(self, '/') + 1 - self),
				 "symtab_cases.so");
			cases_before = compared;
			one_file(self, 1);
			CHECK(compared - cases_before > 300);
		}
	}
	/* itself, libc, libdw, libelf, libstdc++, zlib, ld.so at least */
	CHECK(modules >= 6);
	CHECK(compared > 50000);
	CHECK_U64(mismatches, 0);
	printf("symtab: %zu addresses compared in %zu files\n", compared, modules);
	return check_report("test_symtab");
}

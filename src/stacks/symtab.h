/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A module's function symbols sorted by address, for the symbolizer's
 * address-to-name lookups.  libdw's dwfl_module_addrinfo() scans every
 * symbol of the module at each call: on a torch job's report (5 k stacks,
 * libtorch_cpu's 100 k+ symbols) that was half of the report's time.  This
 * index gives the same answer (the same rules, see symtab.c) by binary
 * search, built once per module from the symbols libdw reads (.symtab, or
 * .dynsym, and the MiniDebugInfo table).
 */
#ifndef PT_SYMTAB_H
#define PT_SYMTAB_H

#include <elfutils/libdwfl.h>
#include <gelf.h>

struct symtab;

/* The index of mod's symbols; NULL if it has none (or out of memory: then
 * the caller asks libdw). */
struct symtab *symtab__build(Dwfl_Module *mod);
void symtab__free(struct symtab *t);

/* The name of the symbol addr (a module address, as dwfl_module_addrinfo
 * takes) is in, and addr's offset from it; NULL if none.  The name lives
 * as long as mod. */
const char *symtab__lookup(const struct symtab *t, GElf_Addr addr, GElf_Off *offset);

#endif

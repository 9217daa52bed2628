/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A module's function symbols sorted by address, for the symbolizer's
 * address-to-name lookups.  libdw's dwfl_module_addrinfo() scans every
 * symbol of the module at each call: on a torch job's report (5 k stacks,
 * libtorch_cpu's 100 k+ symbols) that was half of the report's time.  This
 * index gives the same answer by binary search and a replay of libdw's
 * choice over the few symbols covering the address (symtab.c), built once
 * per module from the symbols libdw reads (.symtab, or .dynsym, and the
 * MiniDebugInfo table); the rare addresses whose answer hangs on labels
 * without a size are left to libdw.
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

/* dwfl_module_addrinfo's answer for addr (a module address): the name of
 * the symbol, addr's offset from it; NULL if none.  The name lives as long
 * as mod. */
const char *symtab__lookup(const struct symtab *t, GElf_Addr addr, GElf_Off *offset);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/* Whose malloc comes after this library's (next.c). */
#ifndef PT_PRELOAD_NEXT_H
#define PT_PRELOAD_NEXT_H

#define HIDDEN __attribute__((visibility("hidden")))

/* pt_mode: 0 until the first call decides (pt_decide) */
#define PT_MODE_SITES 1		/* glibc's: its calls pass the sites */
#define PT_MODE_FORWARD 2	/* another's: the calls go on to pt_next, no site */

/* pt_next's entries (sites.S reads aligned_alloc's: keep its offset) */
#define PT_NEXT_MALLOC 0
#define PT_NEXT_CALLOC 1
#define PT_NEXT_REALLOC 2
#define PT_NEXT_FREE 3
#define PT_NEXT_ALIGNED_ALLOC 4
#define PT_NEXT_N 5

#ifndef __ASSEMBLER__
extern HIDDEN void *pt_next[PT_NEXT_N];
extern HIDDEN int pt_mode;
/* Decides pt_mode and fills pt_next: the definitions that follow this
 * library's in the loader's search order.  Any thread, any time: the
 * answer is the same. */
HIDDEN void pt_decide(void);
/* The process's calls may reach glibc's malloc past this library's sites:
 * waits until peaktrace has probed glibc's own (uncover.c). */
HIDDEN void pt_ask_glibc_probes(void);
/* No block counted by the ledger in this process from now on (ledger.c):
 * before any is, as pt_decide runs before the first. */
HIDDEN void pt_ledger_off(void);
#endif

#endif

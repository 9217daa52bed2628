// SPDX-License-Identifier: GPL-2.0
/*
 * A process whose calls may reach glibc's malloc past this library's
 * sites (next.c decides): the next malloc after this library's is
 * another library's, which it forwards to past no site (a wrapper that
 * ends in glibc's through dlsym(RTLD_NEXT) or __libc_malloc), or the
 * program's malloc is not this library's at all (the program, or a
 * library searched before this one, defines its own, which may call
 * __libc_malloc).  Such a process needs glibc's own malloc, calloc,
 * realloc and free probes, as one that runs without the library: it asks
 * peaktrace through a probed site and waits, inside its first allocator
 * call, until they are on, so that none of its calls goes uncounted.  A
 * site without a probe (no peaktrace, or one not tracing this process)
 * reads as its nop: nobody to ask, nothing to wait for.
 */
#include "preload/next.h"
#include "preload/sys.h"

#define SYS_nanosleep 35

/* Asked again every ASK_EVERY naps (its event may not have found room in
 * peaktrace's ring buffer); waited for at most NAPS naps of NAP_NS: 2 s,
 * far over the millisecond it takes, but peaktrace may be busy (reading a
 * large program's unwind table). */
#define NAP_NS 200000L
#define NAPS 10000
#define ASK_EVERY 500

/* (not declared hidden here: the symbol must stay exported, for the probe) */
extern const unsigned char pt_site_uncover[];
HIDDEN void pt_uncover(int *done);

/* peaktrace writes it (process_vm_writev) once the probes are on */
static int done;

HIDDEN void pt_ask_glibc_probes(void)
{
	const struct { long sec, nsec; } nap = { 0, NAP_NS };
	int i;

	/* an int3 over the nop: probed (and no longer, once peaktrace is gone) */
	for (i = 0; i < NAPS && *(volatile const unsigned char *)pt_site_uncover == 0xcc &&
		    !__atomic_load_n(&done, __ATOMIC_ACQUIRE); i++) {
		if (i % ASK_EVERY == 0)
			pt_uncover(&done);
		sys3(SYS_nanosleep, (long)&nap, 0, 0);
	}
}

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

#define CLOCK_MONOTONIC 1

/* Naps of NAP_NS while waiting, asking again every ASK_EVERY_NS (its event
 * may not have found room in peaktrace's ring buffer), for WAIT_NS at
 * most: far over the few milliseconds it takes, but peaktrace may be busy
 * (reading a large program's unwind table). */
#define NAP_NS 200000L
#define ASK_EVERY_NS 100000000L
#define WAIT_NS 2000000000L

extern const unsigned char pt_site_uncover[];	/* (exported: the probe's) */
HIDDEN void pt_uncover(int *done);

/* peaktrace writes it (process_vm_writev) once the probes are on, or when
 * it will not put them on (this process is not traced): in .data, where
 * peaktrace checks the word is the library's before it writes */
static int done __attribute__((section(".data")));

static long now_ns(void)
{
	struct { long sec, nsec; } ts = { 0, 0 };

	sys3(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0);
	return ts.sec * 1000000000L + ts.nsec;
}

/* an int3 over the nop: probed (and no longer, once peaktrace is gone) */
static int probed(void)
{
	return *(volatile const unsigned char *)pt_site_uncover == 0xcc;
}

HIDDEN void pt_ask_glibc_probes(void)
{
	const struct { long sec, nsec; } nap = { 0, NAP_NS };
	long start = now_ns(), asked = 0, t;

	for (t = start; !__atomic_load_n(&done, __ATOMIC_ACQUIRE); t = now_ns()) {
		if (!probed())
			return;
		if (t - start >= WAIT_NS) {
			pt_uncover(0);	/* went on without them: said */
			return;
		}
		if (!asked || t - asked >= ASK_EVERY_NS) {
			pt_uncover(&done);
			asked = t;
		}
		sys3(SYS_nanosleep, (long)&nap, 0, 0);
	}
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Built like libchain (-O2 -fomit-frame-pointer): run_chain calls into the
 * library for 7 MiB.  The stack at the peak: chain_d, chain_c, chain_b,
 * chain_a, run_chain, main, then libc's start-up frames.
 */
#include "../victim.h"

void *chain_a(size_t n);

__attribute__((noinline, noclone)) void *run_chain(void)
{
	void *p = chain_a(7 * MiB);

	NO_TAIL();
	return p;
}

int main(void)
{
	void *p = run_chain();

	NO_TAIL();
	free(p);
	return 0;
}

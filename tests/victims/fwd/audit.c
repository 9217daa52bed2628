// SPDX-License-Identifier: GPL-2.0
/*
 * An audit library (LD_AUDIT) that loads, in place of any object whose
 * name holds "peaktrace-preload.so", the one AUDIT_SWAP names: the loader
 * then maps another malloc where LD_PRELOAD names peaktrace's.
 */
#include <link.h>
#include <stdlib.h>
#include <string.h>

unsigned int la_version(unsigned int version)
{
	return version;
}

char *la_objsearch(const char *name, uintptr_t *cookie, unsigned int flag)
{
	const char *swap = getenv("AUDIT_SWAP");

	(void)cookie;
	(void)flag;
	return swap && strstr(name, "peaktrace-preload.so") ? (char *)swap : (char *)name;
}

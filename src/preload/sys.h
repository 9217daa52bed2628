/* SPDX-License-Identifier: GPL-2.0 */
/* System calls for peaktrace-preload.so, which is linked without any C
 * library (-nostdlib): the library may be loaded where glibc's wrappers
 * are not, or before they are ready. */
#ifndef PT_PRELOAD_SYS_H
#define PT_PRELOAD_SYS_H

static inline long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long r10 asm("r10") = d, r8 asm("r8") = e, r9 asm("r9") = f;
	long r;

	asm volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
		     "r"(r9) : "rcx", "r11", "memory");
	return r;
}

static inline long sys3(long nr, long a, long b, long c)
{
	return sys6(nr, a, b, c, 0, 0, 0);
}

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/* System calls for peaktrace-preload.so, which is linked without any C
 * library (-nostdlib): the library may be loaded where glibc's wrappers
 * are not, or before they are ready. */
#ifndef PT_PRELOAD_SYS_H
#define PT_PRELOAD_SYS_H

/* x86-64 system call numbers */
#define SYS_read 0
#define SYS_write 1
#define SYS_open 2
#define SYS_close 3
#define SYS_mmap 9
#define SYS_munmap 11
#define SYS_sched_yield 24
#define SYS_madvise 28
#define SYS_nanosleep 35
#define SYS_getpid 39
#define SYS_kill 62
#define SYS_fcntl 72
#define SYS_readlink 89
#define SYS_clock_gettime 228
#define SYS_exit_group 231
#define SYS_bpf 321

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

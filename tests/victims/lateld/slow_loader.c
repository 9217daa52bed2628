// SPDX-License-Identifier: GPL-2.0
/*
 * A dynamic loader that maps no C library: late_libc's PT_INTERP.  The
 * kernel starts it with late_libc's argv; it waits 0.5 s, during which the
 * process is a dynamic program with no C library mapped yet (as just after
 * any exec, but for long enough to be caught there every time), then:
 *   late_libc            maps glibc's libc.so.6, as a loader would, reads
 *                        stdin to its end and exits 0
 *   late_libc exit       exits 0 (no C library ever)
 *   late_libc PROG ARGS  execs PROG with ARGS
 *
 * Freestanding (-nostdlib -static, raw system calls): started as an
 * interpreter, the auxiliary vector describes late_libc, not this file,
 * and a static C library's start-up code reads its own TLS segment there.
 */
#include <stddef.h>
#include <sys/syscall.h>
#include <time.h>

static long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
	long r;

	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10),
			 "r"(r8), "r"(r9) : "rcx", "r11", "memory");
	return r;
}

static long sys3(long nr, long a, long b, long c)
{
	return sys6(nr, a, b, c, 0, 0, 0);
}

static void fail(const char *msg, long len)
{
	sys3(SYS_write, 2, (long)msg, len);
	sys3(SYS_exit_group, 127, 0, 0);
}

#define FAIL(s) fail("slow_loader: " s "\n", sizeof("slow_loader: " s "\n") - 1)

/* glibc's C library mapped as a loader maps it (its code executable), then
 * stdin read to its end */
static void map_libc_and_wait(void)
{
	char buf[64];
	long fd, r;

	fd = sys3(SYS_open, (long)"/lib/x86_64-linux-gnu/libc.so.6", 0 /* O_RDONLY */, 0);
	if (fd < 0)
		FAIL("cannot open /lib/x86_64-linux-gnu/libc.so.6");
	/* PROT_READ | PROT_EXEC, MAP_PRIVATE: 2 MiB covers glibc's code */
	if ((unsigned long)sys6(SYS_mmap, 0, 2 << 20, 5, 2, fd, 0) > -4096UL)
		FAIL("cannot map the C library");
	while ((r = sys3(SYS_read, 0, (long)buf, sizeof(buf))) > 0 || r == -4 /* EINTR */)
		;
}

/* sp: the initial stack, argc then argv[] then NULL then envp[] */
__attribute__((used)) static void start_c(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1), **envp = argv + argc + 1;
	struct timespec ts = { 0, 500 * 1000 * 1000 };

	while (sys3(SYS_nanosleep, (long)&ts, (long)&ts, 0) == -4 /* EINTR */)
		;
	if (argc < 2) {
		map_libc_and_wait();
	} else if (!(argv[1][0] == 'e' && argv[1][1] == 'x' && argv[1][2] == 'i' &&
		     argv[1][3] == 't' && !argv[1][4])) {
		sys3(SYS_execve, (long)argv[1], (long)(argv + 1), (long)envp);
		FAIL("execve failed");
	}
	sys3(SYS_exit_group, 0, 0, 0);
}

__asm__(".globl _start\n"
	"_start:\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call start_c\n"
	"	hlt\n");

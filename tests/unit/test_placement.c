// SPDX-License-Identifier: GPL-2.0
/*
 * Probe placement on the prologues of Debian 12's glibc 2.36 (bytes copied
 * from /lib/x86_64-linux-gnu/libc.so.6), and on shapes it must refuse.
 */
#include "check.h"
#include "peaktrace.h"
#include "probes/placement.h"

/* push %r12; push %rbp; push %rbx; mov %rdi,%rbx */
static const uint8_t malloc_[] = { 0x41, 0x54, 0x55, 0x53, 0x48, 0x89, 0xfb };
/* test %rdi,%rdi; je rel32; push %rbp */
static const uint8_t free_[] = { 0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf, 0x00, 0x00, 0x00, 0x55 };
/* cmpb $0x0,0x140201(%rip); push %r12; mov %rdx,%r12 */
static const uint8_t posix_memalign_[] = { 0x80, 0x3d, 0x01, 0x02, 0x14, 0x00, 0x00,
					   0x41, 0x54, 0x49, 0x89, 0xd4 };
/* mov %ecx,%r10d; test $0xfff,%r9d; jne; mov $9,%eax; syscall; cmp $-4096,%rax; ja; ret */
static const uint8_t mmap_[] = { 0x41, 0x89, 0xca, 0x41, 0xf7, 0xc1, 0xff, 0x0f, 0x00, 0x00,
				 0x75, 0x14, 0xb8, 0x09, 0x00, 0x00, 0x00, 0x0f, 0x05,
				 0x48, 0x3d, 0x00, 0xf0, 0xff, 0xff, 0x77, 0x25, 0xc3 };
/* mov $0xb,%eax; syscall; cmp $-4095,%rax; jae; ret */
static const uint8_t munmap_[] = { 0xb8, 0x0b, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x3d,
				   0x01, 0xf0, 0xff, 0xff, 0x73, 0x01, 0xc3 };
/* sub $0x58,%rsp; mov %r8,0x40(%rsp) */
static const uint8_t mremap_[] = { 0x48, 0x83, 0xec, 0x58, 0x4c, 0x89, 0x44, 0x24, 0x40 };
/* sub $0x58,%rsp; push %rbx */
static const uint8_t spmove_[] = { 0x48, 0x83, 0xec, 0x58, 0x53 };
/* mov %rsi,%rdi (writes the first argument); push %rbx */
static const uint8_t clobber_[] = { 0x48, 0x89, 0xf7, 0x53 };
/* an instruction the placer does not know (lea) before a push */
static const uint8_t unknown_[] = { 0x48, 0x8d, 0x47, 0xf0, 0x53 };

int main(void)
{
	struct placement p;

	placement__entry(malloc_, sizeof(malloc_), ARG1, 1, &p);
	CHECK_U64(p.offset, 0);
	CHECK(p.emulated);

	placement__entry(free_, sizeof(free_), ARG1, 0, &p);
	CHECK_U64(p.offset, 3); /* the je: %rdi still the pointer */
	CHECK(p.emulated);
	CHECK_U64(p.cookie_flags, PT_COOKIE_RA_AT_RSP); /* its caller can be checked */

	/* free(NULL) does nothing: past the test and the je, at the push */
	CHECK(placement__past_null_test(free_, sizeof(free_), ARG1, &p) == 0);
	CHECK_U64(p.offset, 9);
	CHECK(p.emulated);
	CHECK_U64(p.cookie_flags, PT_COOKIE_RA_AT_RSP);
	/* with endbr64 and a short je; not for a function without the test */
	{
		static const uint8_t cet_[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x85, 0xff, 0x74, 0x10,
						0x53 };
		static const uint8_t clobbers_[] = { 0x48, 0x85, 0xff, 0x74, 0x10, 0x48, 0x89, 0xf7 };

		CHECK(placement__past_null_test(cet_, sizeof(cet_), ARG1, &p) == 0);
		CHECK_U64(p.offset, 9);
		CHECK(placement__past_null_test(malloc_, sizeof(malloc_), ARG1, &p) == -1);
		/* the instruction after the je writes %rdi (and is not emulated) */
		CHECK(placement__past_null_test(clobbers_, sizeof(clobbers_), ARG1, &p) == -1);
		CHECK(placement__past_null_test(free_, 9, ARG1, &p) == -1); /* cut short */
	}

	/* no return probe: past a %rsp change, but then the return address is
	 * no longer at (%rsp), and the cookie must not say it is */
	placement__entry(spmove_, sizeof(spmove_), ARG1, 0, &p);
	CHECK_U64(p.offset, 4);
	CHECK_U64(p.cookie_flags, 0);

	placement__entry(posix_memalign_, sizeof(posix_memalign_), ARG1 | ARG3, 1, &p);
	CHECK_U64(p.offset, 7);
	CHECK(p.emulated);

	/* with a return probe, the jne at +10 (%rsp unchanged, %rcx intact) */
	placement__entry(mmap_, sizeof(mmap_), ARG2 | ARG4, 1, &p);
	CHECK_U64(p.offset, 10);

	CHECK(placement__after_syscall(mmap_, sizeof(mmap_), ARG2 | ARG4, &p) == 0);
	CHECK_U64(p.offset, 25);
	CHECK_U64(p.cookie_flags, PT_COOKIE_AFTER_SYSCALL | PT_COOKIE_RA_AT_RSP | PT_COOKIE_ARG4_IN_R10);

	CHECK(placement__after_syscall(munmap_, sizeof(munmap_), ARG1 | ARG2, &p) == 0);
	CHECK_U64(p.offset, 13);
	CHECK_U64(p.cookie_flags, PT_COOKIE_AFTER_SYSCALL | PT_COOKIE_RA_AT_RSP);

	/* the 4th argument still in %rcx, which syscall clobbers: refused */
	CHECK(placement__after_syscall(munmap_, sizeof(munmap_), ARG1 | ARG4, &p) == -1);
	/* not a syscall wrapper */
	CHECK(placement__after_syscall(malloc_, sizeof(malloc_), ARG1, &p) == -1);

	placement__entry(mremap_, sizeof(mremap_), ARG1, 1, &p);
	CHECK_U64(p.offset, 0); /* %rsp moves first: the entry */
	CHECK(!p.emulated);

	placement__entry(clobber_, sizeof(clobber_), ARG1, 0, &p);
	CHECK_U64(p.offset, 0);
	placement__entry(clobber_, sizeof(clobber_), ARG2, 0, &p);
	CHECK_U64(p.offset, 3); /* only %rdi written, %rsi needed */

	placement__entry(unknown_, sizeof(unknown_), ARG1, 0, &p);
	CHECK_U64(p.offset, 0);
	CHECK(!p.emulated);

	/* truncated input never reads past its end */
	placement__entry(free_, 4, ARG1, 0, &p);
	CHECK_U64(p.offset, 0);
	return check_report("test_placement");
}

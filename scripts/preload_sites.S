/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Benchmark fixture, not part of peaktrace: the trap design scripts/bench
 * measures against the one peaktrace uses.  A library to LD_PRELOAD (glibc
 * only) whose malloc, calloc, realloc and free call glibc's and carry a
 * 5-byte nop (0f 1f 44 00 00) where a probe sees everything it needs:
 *
 *   pt_site_malloc   after the call: %rax the block, %rdi the size
 *   pt_site_calloc   after the call: %rax the block, %rdi, %rsi the counts
 *   pt_site_realloc  after the call: %rax the block, %rdi the old one,
 *                    %rsi the size
 *   pt_site_free     past the NULL test: %rdi the block
 *
 * %rsp points at the return address at every site, as at a function's
 * entry.  Since Linux 6.18 a uprobe on such a nop becomes, after its first
 * hit, a call to a trampoline that enters the kernel by a syscall instead
 * of an int3: one cheaper event per call and no return probe, where
 * peaktrace's probes on glibc take an int3 at malloc's entry, a return
 * probe, and an int3 in free.  The other allocator entry points are not
 * wrapped (not traced through this library).
 */
#define NOP5 .byte 0x0f, 0x1f, 0x44, 0x00, 0x00

	.text

/* A site: a function-typed symbol of 5 bytes, so that a tracer given the
 * symbol (bpftrace uprobe:LIB:pt_site_malloc) finds it. */
.macro site name
	.globl pt_site_\name
	.type pt_site_\name, @function
pt_site_\name:
	NOP5
	.size pt_site_\name, 5
.endm

/* void *malloc(size_t): the size kept on the stack across the call (which
 * also aligns %rsp to 16 for it). */
	.globl malloc
	.type malloc, @function
malloc:
	.cfi_startproc
	push %rdi
	.cfi_adjust_cfa_offset 8
	call __libc_malloc@PLT
	pop %rdi
	.cfi_adjust_cfa_offset -8
	site malloc
	ret
	.cfi_endproc
	.size malloc, . - malloc

/* Two arguments kept: pushed, then 8 bytes more for the alignment. */
.macro two_args name, real
	.globl \name
	.type \name, @function
\name:
	.cfi_startproc
	push %rdi
	.cfi_adjust_cfa_offset 8
	push %rsi
	.cfi_adjust_cfa_offset 8
	sub $8, %rsp
	.cfi_adjust_cfa_offset 8
	call \real@PLT
	add $8, %rsp
	.cfi_adjust_cfa_offset -8
	pop %rsi
	.cfi_adjust_cfa_offset -8
	pop %rdi
	.cfi_adjust_cfa_offset -8
	site \name
	ret
	.cfi_endproc
	.size \name, . - \name
.endm

	two_args calloc, __libc_calloc
	two_args realloc, __libc_realloc

/* void free(void *): free(NULL) passes the site by. */
	.globl free
	.type free, @function
free:
	.cfi_startproc
	test %rdi, %rdi
	je 1f
	site free
1:	jmp __libc_free@PLT
	.cfi_endproc
	.size free, . - free

	.section .note.GNU-stack, "", @progbits

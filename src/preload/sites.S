/* SPDX-License-Identifier: GPL-2.0 */
/*
 * peaktrace-preload.so, which `peaktrace -- CMD` puts (unless --no-preload) in the
 * command's LD_PRELOAD: malloc, calloc, realloc and free that call glibc's
 * and, around the call, pass a one-byte nop where a probe sees everything
 * it needs at once:
 *
 *   pt_site_malloc   after the call: %rax the block, %rdi the size
 *   pt_site_calloc   after the call: %rax the block, %rdi, %rsi the counts
 *   pt_site_realloc  after the call: %rax the block, %rdi the old one,
 *                    %rsi the size
 *   pt_site_free     before the call, past the NULL test: %rdi the block
 *   pt_site_drain    in pt_drain, %rdi 0 (see there)
 *   pt_site_uncover  in pt_uncover, %rdi the word peaktrace sets (uncover.c)
 *
 * At every site %rsp points at the return address, as at the entry: the
 * stack is unwound from the caller, as a return probe's is.  One event per
 * call, where glibc's malloc takes an int3 at its entry and a return probe.
 * At the three allocating sites %rdx is 1 if the ledger drew the block's
 * stack for capture, else 0 (the probe draws, as at glibc's probes).
 *
 * With the ledger on (ledger.c: peaktrace gave the command its maps), a
 * small block the draw passes by is counted in the process and its call
 * passes no site at all, nor does the free of such a block.
 *
 * A one-byte nop, which the kernel emulates, not the 5-byte nop that Linux
 * 6.18 turns into a call to a syscall trampoline after the first hit: the
 * trampoline is not mapped in a child forked after that, which still has
 * the call, and dies on it (SIGSEGV at the trampoline's address; seen with
 * bpftrace alone on this kernel).  The trampoline saved about 0.3 us of
 * the 1 us an int3 costs here; one event instead of two saves the rest.
 *
 * The library names no other library (linked -nostdlib) and refers to
 * glibc's __libc_* entry points weakly: under another C library (musl)
 * they are 0, and the calls go on to that library's functions
 * (forward.c) without passing a site; peaktrace's probes on that library
 * count them as usual.
 */
#include "preload/next.h"

#define SITE_NOP .byte 0x90

	.weak __libc_malloc, __libc_calloc, __libc_realloc, __libc_free
	.text

/* A site: a function-typed symbol over the nop, found by name. */
.macro site name
	.globl pt_site_\name
	.type pt_site_\name, @function
pt_site_\name:
	SITE_NOP
	.size pt_site_\name, 1
.endm

/* Calls fn (an address, or *%rax) with %rdi and %rsi kept across it:
 * pushed, and 8 bytes more so that %rsp is 16-aligned at the call. */
.macro call_keeping_two fn
	push %rdi
	.cfi_adjust_cfa_offset 8
	push %rsi
	.cfi_adjust_cfa_offset 8
	sub $8, %rsp
	.cfi_adjust_cfa_offset 8
	call \fn
	add $8, %rsp
	.cfi_adjust_cfa_offset -8
	pop %rsi
	.cfi_adjust_cfa_offset -8
	pop %rdi
	.cfi_adjust_cfa_offset -8
.endm

/*
 * %rax := glibc's function; or, where the next malloc is not glibc's (another
 * C library, an allocator the program links: next.c), off to the forwarder.
 * The first call decides (it may come before the constructors run), its
 * arguments kept, then starts over at entry.
 */
.macro real fn, entry
	cmpl $PT_MODE_SITES, pt_mode(%rip)
	je 4f
	cmpl $0, pt_mode(%rip)
	jne pt_fwd_\fn
	call_keeping_two pt_decide
	jmp \entry
4:	mov \fn@GOTPCREL(%rip), %rax
.endm

/*
 * After the call to glibc's function fn (0 malloc, 1 calloc, 2 realloc):
 * with the ledger on, pt_ledger_after(fn, regs) counts the block itself
 * (then no site) or sets %rdi and %rdx for the site, given %rax, %rdi,
 * %rsi and %rdx (realloc: pt_ledger_before_realloc's token) in a 40-byte
 * area (%rsp 16-aligned at the call, as at the entry it is 8 past); off,
 * the site with %rdx 0.  Then return.
 */
.macro after fn, name
	cmpl $0, pt_ledger_on(%rip)
	je 7f
	sub $40, %rsp
	.cfi_adjust_cfa_offset 40
	mov %rax, 0(%rsp)
	mov %rdi, 8(%rsp)
	mov %rsi, 16(%rsp)
	mov %rdx, 24(%rsp)
	mov $\fn, %edi
	mov %rsp, %rsi
	call pt_ledger_after
	mov %rax, %rcx
	mov 0(%rsp), %rax
	mov 8(%rsp), %rdi
	mov 16(%rsp), %rsi
	mov 24(%rsp), %rdx
	add $40, %rsp
	.cfi_adjust_cfa_offset -40
	test %rcx, %rcx
	je 9f
	jmp 8f
7:	xor %edx, %edx
8:
	site \name
9:	ret
.endm

/* The argument is kept on the stack across the call (one push: %rsp
 * 16-aligned at the call). */
	.globl malloc
	.type malloc, @function
malloc:
	.cfi_startproc
	endbr64
.Lmalloc:
	real __libc_malloc, .Lmalloc
	push %rdi
	.cfi_adjust_cfa_offset 8
	call *%rax
	pop %rdi
	.cfi_adjust_cfa_offset -8
	after 0, malloc
	.cfi_endproc
	.size malloc, . - malloc


.macro two_args name, fn, id
	.globl \name
	.type \name, @function
\name:
	.cfi_startproc
	endbr64
.L\name:
	real \fn, .L\name
	call_keeping_two *%rax
	after \id, \name
	.cfi_endproc
	.size \name, . - \name
.endm

	two_args calloc, __libc_calloc, 1

/*
 * realloc: with the ledger on, the old block's slot is taken out before
 * glibc's realloc may give its memory to another thread
 * (pt_ledger_before_realloc), and its token handed to the ledger after.
 * Kept across the calls: %rdi, %rsi, glibc's function, the token (and 8
 * bytes so that %rsp is 16-aligned at both calls).
 */
	.globl realloc
	.type realloc, @function
realloc:
	.cfi_startproc
	endbr64
.Lrealloc:
	real __libc_realloc, .Lrealloc
	push %rdi
	.cfi_adjust_cfa_offset 8
	push %rsi
	.cfi_adjust_cfa_offset 8
	push %rax
	.cfi_adjust_cfa_offset 8
	sub $16, %rsp
	.cfi_adjust_cfa_offset 16
	movq $0, (%rsp)
	cmpl $0, pt_ledger_on(%rip)
	je 1f
	call pt_ledger_before_realloc
	mov %rax, (%rsp)
	mov 32(%rsp), %rdi
	mov 24(%rsp), %rsi
1:	mov 16(%rsp), %rax
	call *%rax
	mov (%rsp), %rdx
	add $24, %rsp
	.cfi_adjust_cfa_offset -24
	pop %rsi
	.cfi_adjust_cfa_offset -8
	pop %rdi
	.cfi_adjust_cfa_offset -8
	after 2, realloc
	.cfi_endproc
	.size realloc, . - realloc

/*
 * reallocarray: realloc of n * size bytes, SIZE_MAX if that overflows (so
 * that it fails with ENOMEM, the block left alone, as reallocarray does).
 * Replaced so that glibc's, which calls realloc itself, is not probed in
 * a process with this library (probes.c: covered): one count per call.
 */
	.globl reallocarray
	.type reallocarray, @function
reallocarray:
	.cfi_startproc
	endbr64
	mov %rdx, %rax
	mul %rsi
	jno 1f
	mov $-1, %rax
1:	mov %rax, %rsi
	jmp .Lrealloc
	.cfi_endproc
	.size reallocarray, . - reallocarray

/* free(NULL) passes the site by, and so does a block the ledger counted
 * (pt_ledger_free says so; glibc's function kept across the call).
 * glibc's free is called, not jumped to: its return address in this
 * library tells a probe on it (inherited from a process without this
 * library) that the site counted the call. */
	.globl free
	.type free, @function
free:
	.cfi_startproc
	endbr64
.Lfree:
	real __libc_free, .Lfree
	test %rdi, %rdi
	je 1f
	cmpl $0, pt_ledger_on(%rip)
	je 2f
	push %rax
	.cfi_adjust_cfa_offset 8
	push %rdi
	.cfi_adjust_cfa_offset 8
	sub $8, %rsp
	.cfi_adjust_cfa_offset 8
	call pt_ledger_free
	add $8, %rsp
	.cfi_adjust_cfa_offset -8
	pop %rdi
	.cfi_adjust_cfa_offset -8
	mov %rax, %rcx
	pop %rax
	.cfi_adjust_cfa_offset -8
	test %rcx, %rcx
	jne 1f
2:
	site free
1:	sub $8, %rsp
	.cfi_adjust_cfa_offset 8
	call *%rax
	add $8, %rsp
	.cfi_adjust_cfa_offset -8
	ret
	.cfi_endproc
	.size free, . - free

/*
 * aligned_alloc, which passes no site: musl turns its own aligned_alloc,
 * memalign and posix_memalign off (ENOMEM) when malloc is replaced and
 * aligned_alloc is not, so it is replaced too, by a jump to the next
 * definition (the C library's, whose probes count the call with the
 * program's return address, as without this library).
 */
	.globl aligned_alloc
	.type aligned_alloc, @function
aligned_alloc:
	.cfi_startproc
	endbr64
	mov pt_next+8*PT_NEXT_ALIGNED_ALLOC(%rip), %rax
	test %rax, %rax
	jnz 1f
	call_keeping_two pt_resolve_aligned_alloc	/* stops the program if none */
1:	jmp *%rax
	.cfi_endproc
	.size aligned_alloc, . - aligned_alloc

/*
 * pt_drain, which the ledger calls when updates wait in the model's queue
 * (bpf/model/model.bpf.h: queued while the model lock's holder was not
 * running): every probe's program applies the queue first, so passing this
 * site has them applied before the ledger's own update.  %rdi 0: to the
 * program, a free of nothing.
 */
	.globl pt_drain
	.hidden pt_drain
	.type pt_drain, @function
pt_drain:
	.cfi_startproc
	endbr64
	xor %edi, %edi
	site drain
	ret
	.cfi_endproc
	.size pt_drain, . - pt_drain

/*
 * pt_uncover(int *done): asks peaktrace for glibc's own malloc, calloc,
 * realloc and free probes in this process (uncover.c); peaktrace sets
 * *done once they are on.
 */
	.globl pt_uncover
	.hidden pt_uncover
	.type pt_uncover, @function
pt_uncover:
	.cfi_startproc
	endbr64
	site uncover
	ret
	.cfi_endproc
	.size pt_uncover, . - pt_uncover

/*
 * Marked for Intel CET like glibc's own code: every exported function
 * starts with endbr64 (the program reaches it through its PLT's indirect
 * jump) and calls and returns pair up, so a C library that turns shadow
 * stacks and indirect-branch tracking on keeps them on with this library
 * loaded; an unmarked one would turn them off for the whole process.  The
 * link fails if an object lacks the note (-z cet-report=error).
 */
	.section .note.gnu.property, "a"
	.p2align 3
	.long 4			/* name size */
	.long 16		/* descriptor size */
	.long 5			/* NT_GNU_PROPERTY_TYPE_0 */
	.asciz "GNU"
	.long 0xc0000002	/* GNU_PROPERTY_X86_FEATURE_1_AND */
	.long 4
	.long 3			/* IBT | SHSTK */
	.p2align 3

	.section .note.GNU-stack, "", @progbits

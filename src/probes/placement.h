/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where to put a uprobe in a function so that it is cheap and still sees
 * what it needs.  Pure code over the function's first bytes: no I/O.
 */
#ifndef PT_PLACEMENT_H
#define PT_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

/* x86-64 general registers, in ModRM order. */
enum { X86_AX, X86_CX, X86_DX, X86_BX, X86_SP, X86_BP, X86_SI, X86_DI,
       X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15 };
#define X86_BIT(r) (1u << (r))
/* The System V argument registers, first to fifth. */
#define ARG1 X86_BIT(X86_DI)
#define ARG2 X86_BIT(X86_SI)
#define ARG3 X86_BIT(X86_DX)
#define ARG4 X86_BIT(X86_CX)
#define ARG5 X86_BIT(X86_R8)

struct placement {
	uint32_t offset;	/* bytes from the function's start */
	uint32_t cookie_flags;	/* PT_COOKIE_* for the BPF program */
	int emulated;		/* the kernel emulates the probed instruction */
	const char *why;	/* one line for --verbose and the docs */
};

/*
 * An entry-like probe: the first instruction from the start that the
 * kernel emulates (push, jcc, jmp, call, nop), as long as nothing before it
 * writes a register in arg_mask, changes %rsp (when needs_return: a return
 * probe reads the return address at (%rsp)) or leaves straight-line code.
 * Otherwise the entry itself, which the kernel single-steps.
 */
void placement__entry(const uint8_t *code, size_t len, uint32_t arg_mask,
		      int needs_return, struct placement *out);

/*
 * A function that does nothing for a NULL first argument (free): when it
 * opens with that test (test %rdi,%rdi; je), the instruction after the je,
 * if the kernel emulates it and it changes no argument.  Calls with NULL,
 * which some programs make tens of millions of times, then take no trap
 * at all.  Returns 0 and fills out, or -1 if the code does not open so.
 */
int placement__past_null_test(const uint8_t *code, size_t len, uint32_t arg_mask,
			      struct placement *out);

/*
 * A syscall wrapper (mov $nr,%eax; syscall; cmp $-4095,%rax; jcc): the jcc
 * after the syscall, where the arguments in arg_mask are still in their
 * registers and the result is in %rax: one cheap probe instead of an entry
 * and a return probe.  Returns 0 and fills out, or -1 if the code does not
 * have that shape.
 */
int placement__after_syscall(const uint8_t *code, size_t len, uint32_t arg_mask,
			     struct placement *out);

#endif

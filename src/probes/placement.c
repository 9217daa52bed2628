// SPDX-License-Identifier: GPL-2.0
/*
 * Probe placement by decoding a function's prologue.
 *
 * A uprobe replaces an instruction with int3.  When it fires, the kernel
 * either emulates the original instruction (push, jmp, jcc, call and nops
 * on x86) or single-steps a copy of it out of line.  Single-stepping is
 * slow, and far slower under virtualisation: measured on the development
 * VM, a probe on glibc free's first instruction (test %rdi,%rdi) cost
 * 14.5 us per call, on its je three bytes later 0.76 us.  So we walk the
 * prologue to the first emulated instruction, proving on the way that the
 * registers we read are untouched; anything we do not recognise ends the
 * walk and we fall back to the entry, which is always correct.
 *
 * Only the handful of instruction forms seen in libc allocator prologues
 * are decoded; that is enough to be safe, since unknown means "stop".
 */
#include <string.h>
#include "probes/placement.h"
#include "peaktrace.h"

struct insn {
	unsigned len;
	int emulated;		/* kernel emulates it: cheap probe site */
	int branch;		/* may leave straight-line code */
	int writes_sp;
	int is_syscall;
	int flags_only_rax_cmp;	/* cmp $imm,%rax */
	uint32_t writes;	/* registers written (X86_BIT mask) */
	uint32_t reads;		/* registers read, where it matters */
};

/* Decode one instruction; returns 0 if it is not a form we know. */
static int decode(const uint8_t *p, size_t avail, struct insn *in)
{
	unsigned rex = 0, i = 0;

	memset(in, 0, sizeof(*in));
	if (avail >= 4 && p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa) {
		in->len = 4; /* endbr64: no effect, not emulated */
		return 1;
	}
	if (avail > 0 && p[0] >= 0x40 && p[0] <= 0x4f) {
		rex = p[0];
		i = 1;
	}
	if (i >= avail)
		return 0;
	uint8_t op = p[i];
	unsigned b = rex & 1, r = (rex >> 2) & 1;

	if (op >= 0x50 && op <= 0x57 && (rex & ~1u) == (rex ? 0x40 : 0)) {
		in->len = i + 1; /* push reg */
		in->emulated = 1;
		in->writes_sp = 1;
		return 1;
	}
	if (rex)
		goto with_rex;
	switch (op) {
	case 0x90: /* nop */
		in->len = 1;
		in->emulated = 1;
		return 1;
	case 0xeb: /* jmp rel8 */
	case 0x70 ... 0x7f: /* jcc rel8 */
		if (avail < 2)
			return 0;
		in->len = 2;
		in->emulated = 1;
		in->branch = 1;
		return 1;
	case 0xe9: /* jmp rel32 */
	case 0xe8: /* call rel32 */
		if (avail < 5)
			return 0;
		in->len = 5;
		in->emulated = 1;
		in->branch = 1;
		return 1;
	case 0x0f:
		if (avail >= 6 && p[1] >= 0x80 && p[1] <= 0x8f) {
			in->len = 6; /* jcc rel32 */
			in->emulated = 1;
			in->branch = 1;
			return 1;
		}
		if (avail >= 2 && p[1] == 0x05) {
			in->len = 2; /* syscall: clobbers rax, rcx, r11 */
			in->is_syscall = 1;
			in->writes = X86_BIT(X86_AX) | X86_BIT(X86_CX) | X86_BIT(X86_R11);
			return 1;
		}
		return 0;
	case 0xb8 ... 0xbf: /* mov $imm32, r32 */
		if (avail < 5)
			return 0;
		in->len = 5;
		in->writes = X86_BIT(op - 0xb8);
		return 1;
	case 0x80: /* cmpb $imm8, disp32(%rip) */
		if (avail >= 7 && p[1] == 0x3d) {
			in->len = 7;
			return 1;
		}
		return 0;
	}
	/* The remaining forms are the same with or without a REX prefix. */
with_rex:
	if (i + 1 >= avail)
		return 0;
	uint8_t modrm = p[i + 1];
	unsigned mod = modrm >> 6, reg = ((modrm >> 3) & 7) | (r << 3), rm = (modrm & 7) | (b << 3);

	switch (op) {
	case 0x85: /* test r, r */
		if (mod != 3)
			return 0;
		in->len = i + 2;
		return 1;
	case 0x89: /* mov reg, rm */
		if (mod != 3)
			return 0;
		in->len = i + 2;
		in->writes = X86_BIT(rm);
		in->reads = X86_BIT(reg);
		in->writes_sp = rm == X86_SP;
		return 1;
	case 0x8b: /* mov rm, reg */
		if (mod != 3)
			return 0;
		in->len = i + 2;
		in->writes = X86_BIT(reg);
		in->reads = X86_BIT(rm);
		in->writes_sp = reg == X86_SP;
		return 1;
	case 0xf7: /* test $imm32, r */
		if (mod != 3 || ((modrm >> 3) & 7) != 0 || i + 6 > avail)
			return 0;
		in->len = i + 6;
		return 1;
	case 0x83: /* op $imm8, r */
	case 0x81: /* op $imm32, r */
	case 0x3d: /* cmp $imm32, %rax */
		if (op == 0x3d) {
			if (i + 5 > avail)
				return 0;
			in->len = i + 5;
			in->flags_only_rax_cmp = 1;
			return 1;
		}
		if (mod != 3)
			return 0;
		in->len = i + 2 + (op == 0x83 ? 1 : 4);
		if (in->len > avail)
			return 0;
		if (((modrm >> 3) & 7) == 7) { /* cmp: flags only */
			in->flags_only_rax_cmp = rm == X86_AX;
			return 1;
		}
		in->writes = X86_BIT(rm); /* add, sub, and, or, ... */
		in->writes_sp = rm == X86_SP;
		return 1;
	}
	return 0;
}

void placement__entry(const uint8_t *code, size_t len, uint32_t arg_mask,
		      int needs_return, struct placement *out)
{
	size_t off = 0;
	struct insn in;
	int sp_moved = 0;

	out->offset = 0;
	out->cookie_flags = PT_COOKIE_RA_AT_RSP;
	out->emulated = 0;
	out->why = "entry: no emulated instruction provably safe before the first change of an argument or of %rsp";
	while (off < len && off < 64) {
		if (!decode(code + off, len - off, &in)) {
			out->why = "entry: prologue has an instruction the placer does not decode";
			return;
		}
		if (in.emulated) {
			out->offset = off;
			out->cookie_flags = sp_moved ? 0 : PT_COOKIE_RA_AT_RSP;
			out->emulated = 1;
			out->why = off ? "first emulated instruction; arguments and %rsp unchanged before it"
				       : "entry instruction is emulated";
			return;
		}
		if (in.writes & arg_mask)
			return;
		if (needs_return && in.writes_sp)
			return;
		sp_moved |= in.writes_sp;
		if (in.branch || in.is_syscall)
			return;
		off += in.len;
	}
}

int placement__past_null_test(const uint8_t *code, size_t len, uint32_t arg_mask,
			      struct placement *out)
{
	size_t off = 0;
	struct insn in;

	if (len >= 4 && code[0] == 0xf3 && code[1] == 0x0f && code[2] == 0x1e && code[3] == 0xfa)
		off = 4; /* endbr64 */
	/* test %rdi,%rdi */
	if (len < off + 3 || code[off] != 0x48 || code[off + 1] != 0x85 || code[off + 2] != 0xff)
		return -1;
	off += 3;
	/* je rel8 or je rel32 */
	if (len >= off + 2 && code[off] == 0x74)
		off += 2;
	else if (len >= off + 6 && code[off] == 0x0f && code[off + 1] == 0x84)
		off += 6;
	else
		return -1;
	if (!decode(code + off, len - off, &in) || !in.emulated || (in.writes & arg_mask))
		return -1;
	out->offset = off;
	/* test and je move nothing: the return address is at (%rsp) */
	out->cookie_flags = PT_COOKIE_RA_AT_RSP;
	out->emulated = 1;
	out->why = "past the NULL test: calls with NULL take no trap; arguments and %rsp unchanged";
	return 0;
}

int placement__after_syscall(const uint8_t *code, size_t len, uint32_t arg_mask,
			     struct placement *out)
{
	uint32_t need = arg_mask, flags = 0;
	size_t off = 0;
	struct insn in;
	int seen_syscall = 0;

	while (off < len && off < 64) {
		if (!decode(code + off, len - off, &in))
			return -1;
		if (seen_syscall) {
			if (in.flags_only_rax_cmp && !in.writes) {
				off += in.len;
				continue;
			}
			if (!in.emulated || !in.branch)
				return -1;
			out->offset = off;
			/* nothing before it may move %rsp (checked below) */
			out->cookie_flags = PT_COOKIE_AFTER_SYSCALL | PT_COOKIE_RA_AT_RSP | flags;
			out->emulated = 1;
			out->why = "after the syscall of a syscall wrapper: arguments and result in registers";
			return 0;
		}
		if (in.is_syscall) {
			if (in.writes & need)
				return -1; /* e.g. the 4th argument still in %rcx */
			seen_syscall = 1;
			off += in.len;
			continue;
		}
		/* mov %ecx,%r10d (or %rcx,%r10): the syscall ABI's 4th argument. */
		if (in.writes == X86_BIT(X86_R10) && in.reads == X86_BIT(X86_CX) &&
		    (need & ARG4)) {
			need = (need & ~ARG4) | X86_BIT(X86_R10);
			flags |= PT_COOKIE_ARG4_IN_R10;
			off += in.len;
			continue;
		}
		/* Forward error branches that skip the syscall are fine: the
		 * probe then simply does not fire for a call that failed. */
		if ((in.writes & need) || in.writes_sp)
			return -1;
		if (in.branch && !(code[off] >= 0x70 && code[off] <= 0x7f) &&
		    !(code[off] == 0x0f && code[off + 1] >= 0x80 && code[off + 1] <= 0x8f))
			return -1; /* an unconditional jump or call */
		off += in.len;
	}
	return -1;
}

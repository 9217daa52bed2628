// SPDX-License-Identifier: GPL-2.0
/*
 * Stacks that share frames with the one before, for the unwinder's replay
 * of the thread's last walk (bpf/unwind/native.bpf.h).  49 rounds of:
 *   via_a(1000), via_b(2000)  two callers at the same depth and frame size:
 *                             leaf and mid sit at the same %rsp with the
 *                             same return addresses, and only the return
 *                             address into via_a or via_b tells them apart;
 *   rec(r % 7, 3000 + r % 7)  1 to 7 frames of rec (224-byte frames: the
 *                             stack spans more than one 1 KiB stack copy)
 *                             above leaf, so the stack before is met at
 *                             another frame number;
 *   leaf(500) twice           straight from main: the same stack again.
 * Every block stays live until the end, so at the peak each stack holds
 * exactly what it allocated.  Built twice: with frame pointers (memo_walks,
 * %rbp-based rules) and without (memo_walks_nofp, %rsp-based rules).
 */
#include "victim.h"

#define ROUNDS 49
#define BLOCKS (ROUNDS * 5)

/* noipa: the compiler must not fold via_a and via_b into one function */
#define DISTINCT __attribute__((noipa))

static void *blocks[BLOCKS];
static int nblocks;

DISTINCT void leaf(size_t n)
{
	blocks[nblocks++] = keep(malloc(n));
	NO_TAIL();
}

DISTINCT void mid(size_t n)
{
	leaf(n);
	NO_TAIL();
}

DISTINCT void via_a(size_t n)
{
	mid(n);
	NO_TAIL();
}

DISTINCT void via_b(size_t n)
{
	mid(n);
	NO_TAIL();
}

DISTINCT void rec(int depth, size_t n)
{
	volatile char pad[200];

	pad[0] = (char)depth;
	if (depth)
		rec(depth - 1, n);
	else
		leaf(n);
	pad[1] = pad[0];
	NO_TAIL();
}

int main(void)
{
	int r;

	for (r = 0; r < ROUNDS; r++) {
		via_a(1000);
		via_b(2000);
		rec(r % 7, 3000 + r % 7);
		leaf(500);
		leaf(500);
	}
	while (nblocks)
		free(blocks[--nblocks]);
	return 0;
}

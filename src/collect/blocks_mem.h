/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The allocation tables' algorithm (bpf/heap/blocks.h) built for tables in
 * memory: a walk's table is the address of its first slot.  Included by
 * src/collect/blocks.c and by its unit test (which first shortens the
 * shift, PT_BLOCK_SHIFT).
 */
#ifndef PT_COLLECT_BLOCKS_MEM_H
#define PT_COLLECT_BLOCKS_MEM_H

#include <stdint.h>

#define PT_BLOCK_SLOT(w, i) ((struct pt_block *)(uintptr_t)(w)->table + (i))
#define PT_BLOCK_LOOP(n, cb, w)                                                \
	do {                                                                   \
		for (__u32 i_ = 0; i_ < (n); i_++)                             \
			if ((cb)(i_, (w)))                                     \
				break;                                         \
	} while (0)
#include "heap/blocks.h"

#endif

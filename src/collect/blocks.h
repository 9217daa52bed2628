/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The allocation tables' algorithm (bpf/heap/blocks.h) on tables mapped
 * into userspace: what the sweep does under the model lock, and what the
 * unit test checks the BPF side's algorithm with.
 */
#ifndef PT_COLLECT_BLOCKS_H
#define PT_COLLECT_BLOCKS_H

#include <stddef.h>
#include <stdint.h>
#include "peaktrace.h"

/* Slot of inst's block at addr in a table of cap slots (a power of two),
 * or -1. */
int64_t blocks__find(struct pt_block *slots, uint32_t cap, uint32_t inst, uint64_t addr);
/* 0; -1 if a block is at b's address already; -2 if no slot near is free. */
int blocks__insert(struct pt_block *slots, uint32_t cap, const struct pt_block *b);
void blocks__remove(struct pt_block *slots, uint32_t cap, uint32_t at);
/* Removes the blocks in slots [lo, hi) whose instance is in dead (n,
 * sorted); returns how many. */
uint64_t blocks__sweep(struct pt_block *slots, uint32_t cap, uint32_t lo, uint32_t hi,
		       const uint32_t *dead, size_t n);

#endif

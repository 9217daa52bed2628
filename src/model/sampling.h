/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stack sampling of small blocks, undone at report time.  The BPF side
 * (heap_stack_rec() in bpf/heap/heap.bpf.h) charges a block smaller than
 * sample_bytes to its stack's record tagged PT_STACK_SMALL with probability
 * size / sample_bytes, else to the image's PT_STACK_UNSAMPLED record.  Every
 * block's bytes are exact in the model, so each process's small-block total
 * at each moment is exact: the sum of those records.  This splits that
 * total between the sampled stacks in proportion to their sampled blocks
 * (each stands for sample_bytes bytes: the Horvitz-Thompson estimate,
 * scaled so the parts sum to the exact total), and adds each part to the
 * stack's exact record of large blocks.  Pure: unit-tested without root.
 */
#ifndef PT_SAMPLING_H
#define PT_SAMPLING_H

#include "collect/collect.h"

/* Folds the tagged and unsampled records of c into plain records (their
 * estimated parts in est_*_bytes) and fills c->sampling.  A process with
 * small-block bytes but no sampled block at some moment keeps them in its
 * PT_STACK_UNSAMPLED record, shown as such.  Nothing to do if
 * c->sample_bytes is 0.  Returns 0, or -1 if memory ran out. */
int sampling__fold(struct collected *c);

#endif

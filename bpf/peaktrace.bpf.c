// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel side of peaktrace: one BPF object, one skeleton, built from one
 * header per concern (see the Makefile for why one translation unit):
 *
 *   core.bpf.h               settings from the loader, global record, loss
 *                        counters, event ring buffer
 *   tree/procs.bpf.h         traced processes and their images (instances)
 *   model/model.bpf.h        the peak model: records per stack, lock, updates
 *                            (rules in model/peak_model.h, unit-tested)
 *   unwind/mappings.bpf.h    which code mapping holds an address; recorded
 *   unwind/native.bpf.h      the native unwinder (CFI tables, frame pointers)
 *   stacks/stacks.bpf.h      stack capture and interning
 *   probes/libc_calls.bpf.h  calls the C library makes for itself
 *   heap/heap.bpf.h          heap blocks (malloc family), in tables searched
 *                            by heap/blocks.h (shared with userspace, unit-tested)
 *   regions/regions.bpf.h    anonymous mmap regions
 *   rss/rss.bpf.h            exact RSS (per-CPU counters summed)
 *   model/deferred.bpf.h     updates queued while the lock's holder waited
 *   probes/programs.bpf.h    the uprobe programs (allocator entry and return)
 *   tree/programs.bpf.h      fork, exec and exit
 *
 * The peak model is a lazy snapshot: at each new peak the epoch moves on;
 * the first change of a record after that saves the value it had at the
 * peak.  No map is ever copied.
 *
 * The functions that are not static are global BPF functions: the verifier
 * checks each once, instead of once per call site with the caller's state,
 * which made loading take over 0.8 s of every start-up.  Their arguments
 * are the context and plain numbers; results and larger inputs go through
 * per-CPU scratch maps.
 */
#include "core.bpf.h"
#include "tree/procs.bpf.h"
#include "model/model.bpf.h"
#include "unwind/mappings.bpf.h"
#include "unwind/native.bpf.h"
#include "stacks/stacks.bpf.h"
#include "probes/libc_calls.bpf.h"
#include "heap/heap.bpf.h"
#include "regions/regions.bpf.h"
#include "rss/rss.bpf.h"
#include "model/deferred.bpf.h"
#include "probes/programs.bpf.h"
#include "tree/programs.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The image records (BPF map procs, an array: see struct pt_proc), mapped
 * into peaktrace: looked up by instance, slots taken for the processes the
 * loader registers, and freed once an ended image is swept.
 */
#ifndef PT_PROCMAP_H
#define PT_PROCMAP_H

#include <stddef.h>
#include <stdint.h>
#include "peaktrace.h"

struct procmap {
	struct pt_proc *v;	/* mapped slots */
	uint32_t mask;		/* slots - 1 */
	uint32_t *used;		/* slots taken: pt_global.procs_used, mapped */
};

/* Slots for at least want images: a power of two (the map's size and the
 * BPF side's procs_mask + 1), at most 2^31. */
uint32_t procmap__slots(uint32_t want);
/* Maps the n slots of map fd; used: the count of slots taken, in the global
 * record already mapped (alloc_tables' mapping).  -1 with a message in err. */
int procmap__open(struct procmap *m, int fd, uint32_t n, uint32_t *used, char *err,
		  size_t errlen);
void procmap__close(struct procmap *m);

/* The published record of image inst, or NULL (none, or not yet written).
 * BPF may change it meanwhile: copy what must hold together. */
struct pt_proc *procmap__get(const struct procmap *m, uint32_t inst);
/* Takes inst's slot: 0, or -1 if it is in use. */
int procmap__claim(struct procmap *m, uint32_t inst);
/* Writes record p into the slot claimed for inst and publishes it. */
void procmap__publish(struct procmap *m, uint32_t inst, const struct pt_proc *p);
/* Frees the slot of inst's published record (its owner's call: the record
 * was copied out, or never used); nothing if inst is not published. */
void procmap__free(struct procmap *m, uint32_t inst);
/* Slot i's instance if published, with its record in *copy, else 0: for
 * walks over every slot. */
uint32_t procmap__at(const struct procmap *m, uint32_t i, struct pt_proc *copy);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The image records (BPF map procs, an array: see struct pt_proc), mapped
 * into peaktrace: looked up by instance, slots taken for the processes the
 * loader registers, and freed once an ended image is swept.
 */
#ifndef PT_PROCRECS_H
#define PT_PROCRECS_H

#include <stddef.h>
#include <stdint.h>
#include "peaktrace.h"

struct procrecs {
	struct pt_proc *v;	/* mapped slots */
	uint32_t mask;		/* slots - 1 */
	uint32_t *used;		/* slots taken: pt_global.procs_used, mapped */
};

/* Slots for at least want images: a power of two (the map's size and the
 * BPF side's procs_mask + 1), at most 2^31. */
uint32_t procrecs__slots(uint32_t want);
/* Maps the n slots of map fd; used: the count of slots taken, in the global
 * record already mapped (alloc_tables' mapping).  -1 with a message in err. */
int procrecs__open(struct procrecs *m, int fd, uint32_t n, uint32_t *used, char *err,
		  size_t errlen);
void procrecs__close(struct procrecs *m);

/* The published record of image inst, or NULL (none, or not yet written).
 * BPF may change it meanwhile: copy what must hold together. */
struct pt_proc *procrecs__get(const struct procrecs *m, uint32_t inst);
/* Takes inst's slot: 0, or -1 if it is in use. */
int procrecs__claim(struct procrecs *m, uint32_t inst);
/* Writes record p into the slot claimed for inst and publishes it. */
void procrecs__publish(struct procrecs *m, uint32_t inst, const struct pt_proc *p);
/* Frees the slot of inst's published record (its owner's call: the record
 * was copied out, or never used); nothing if inst is not published. */
void procrecs__free(struct procrecs *m, uint32_t inst);
/* Slot i's instance if published, with its record in *copy, else 0: for
 * walks over every slot. */
uint32_t procrecs__at(const struct procrecs *m, uint32_t i, struct pt_proc *copy);

#endif

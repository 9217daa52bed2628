/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Growable arrays: one place for "double the capacity when full".
 *
 *	struct item *v = NULL; size_t n = 0, cap = 0;
 *	if (vec_grow((void **)&v, &cap, n + 1, sizeof(*v), 64))
 *		return -1;	// out of memory: v, n and cap are unchanged
 *	v[n++] = item;
 */
#ifndef PT_VEC_H
#define PT_VEC_H

#include <stddef.h>

/* Makes room for at least `need` elements of size esz in *v (capacity
 * *cap), doubling from `first`; new room is zeroed.  Returns 0, or -1 with
 * *v and *cap unchanged if memory ran out. */
int vec_grow(void **v, size_t *cap, size_t need, size_t esz, size_t first);

#endif

// SPDX-License-Identifier: GPL-2.0
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "util/vec.h"

int vec_grow(void **v, size_t *cap, size_t need, size_t esz, size_t first)
{
	size_t ncap = *cap ? *cap : (first ? first : 16);
	void *nv;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / esz)
			return -1;
		ncap *= 2;
	}
	nv = realloc(*v, ncap * esz);
	if (!nv)
		return -1;
	memset((char *)nv + *cap * esz, 0, (ncap - *cap) * esz);
	*v = nv;
	*cap = ncap;
	return 0;
}

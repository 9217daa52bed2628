// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>
#include "report/pb.h"
#include "util/vec.h"

static void put(struct pb *p, const void *d, size_t n)
{
	if (p->oom || vec_grow((void **)&p->b, &p->cap, p->n + n, 1, 256)) {
		p->oom = 1;
		return;
	}
	if (n)
		memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void varint(struct pb *p, uint64_t v)
{
	uint8_t buf[10];
	size_t n = 0;

	do {
		buf[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	put(p, buf, n);
}

static void key(struct pb *p, unsigned field, unsigned wire)
{
	varint(p, (uint64_t)field << 3 | wire);
}

void pb_uint(struct pb *p, unsigned field, uint64_t v)
{
	if (!v)
		return;
	key(p, field, 0);
	varint(p, v);
}

void pb_int(struct pb *p, unsigned field, int64_t v)
{
	pb_uint(p, field, (uint64_t)v);
}

void pb_bytes(struct pb *p, unsigned field, const void *d, size_t n)
{
	key(p, field, 2);
	varint(p, n);
	put(p, d, n);
}

void pb_string(struct pb *p, unsigned field, const char *s)
{
	pb_bytes(p, field, s, strlen(s));
}

void pb_msg(struct pb *p, unsigned field, const struct pb *sub)
{
	p->oom |= sub->oom;
	pb_bytes(p, field, sub->b, sub->n);
}

void pb_packed(struct pb *p, unsigned field, const uint64_t *v, size_t n)
{
	struct pb sub = { 0 };
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n; i++)
		varint(&sub, v[i]);
	pb_msg(p, field, &sub);
	pb_free(&sub);
}

void pb_reset(struct pb *p)
{
	p->n = 0;
}

void pb_free(struct pb *p)
{
	free(p->b);
	memset(p, 0, sizeof(*p));
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Protocol buffers' wire format, just what a writer needs to emit a message
 * (pprof's profile.proto): varints, length-delimited fields, packed
 * repeated integers, nested messages.  Out of memory is sticky: checked
 * once at the end.
 */
#ifndef PT_PB_H
#define PT_PB_H

#include <stddef.h>
#include <stdint.h>

struct pb {
	uint8_t *b;
	size_t n, cap;
	int oom;
};

/* A varint field; zero is left out (proto3's default). */
void pb_uint(struct pb *p, unsigned field, uint64_t v);
void pb_int(struct pb *p, unsigned field, int64_t v);
void pb_bytes(struct pb *p, unsigned field, const void *d, size_t n);
void pb_string(struct pb *p, unsigned field, const char *s);
/* A nested message: sub's bytes as a length-delimited field. */
void pb_msg(struct pb *p, unsigned field, const struct pb *sub);
/* A packed repeated varint field. */
void pb_packed(struct pb *p, unsigned field, const uint64_t *v, size_t n);
void pb_reset(struct pb *p);
void pb_free(struct pb *p);

#endif

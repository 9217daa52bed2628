/* SPDX-License-Identifier: GPL-2.0 */
/* A small streaming JSON writer: keeps commas and nesting right. */
#ifndef PT_JSON_H
#define PT_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json {
	FILE *out;
	int depth;
	int count[JSON_MAX_DEPTH]; /* members written at each level */
	int after_key;
	int indent;
	int line_from;	/* depth from which all is on one line (0: none) */
};

void json__init(struct json *j, FILE *out, int indent);
void json__key(struct json *j, const char *key);
void json__begin_object(struct json *j);
/* An object written on one line even when indenting, closed by
 * json__end_object (frames: one line each, where their eleven lines of
 * indentation made 36% of a torch job's 161 MB report). */
void json__begin_line_object(struct json *j);
void json__end_object(struct json *j);
void json__begin_array(struct json *j);
void json__end_array(struct json *j);
void json__string(struct json *j, const char *s); /* NULL writes null */
/* A value rendered already, as n bytes, by a writer with the same indent
 * at depth 0 (one-line objects only, when indenting). */
void json__raw(struct json *j, const char *text, size_t n);
void json__stringn(struct json *j, const char *s, size_t n);
void json__u64(struct json *j, uint64_t v);
void json__i64(struct json *j, int64_t v);
void json__null(struct json *j);
void json__bool(struct json *j, int v);
/* "key": v */
void json__u64_field(struct json *j, const char *key, uint64_t v);
void json__string_field(struct json *j, const char *key, const char *v); /* NULL: null */
void json__bool_field(struct json *j, const char *key, int v);
/* v if present, else null */
void json__u64_or_null_field(struct json *j, const char *key, int present, uint64_t v);
/* "key": [v[0], ..., v[n - 1]] */
void json__u64_array(struct json *j, const char *key, const uint64_t *v, size_t n);

#endif

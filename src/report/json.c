// SPDX-License-Identifier: GPL-2.0
/* Streaming JSON writer. */
#include <inttypes.h>
#include <string.h>
#include "util/utf8.h"
#include "report/json.h"

void json__init(struct json *j, FILE *out, int indent)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	j->indent = indent;
}

static void newline(struct json *j)
{
	int i;

	if (!j->indent)
		return;
	fputc('\n', j->out);
	for (i = 0; i < j->depth; i++)
		fputs("  ", j->out);
}

/* Before any value or key: the comma and indentation it needs. */
static void before(struct json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->depth > 0) {
		if (j->count[j->depth]++)
			fputc(',', j->out);
		newline(j);
	}
}

/* Strings may come from traced programs: bytes that are not UTF-8 become
 * U+FFFD, so the document stays valid JSON. */
static void write_escaped(struct json *j, const char *s, size_t n)
{
	size_t i, len;

	fputc('"', j->out);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x80) {
			len = utf8__seq_len((const unsigned char *)s + i, n - i);
			if (!len) {
				fputs("\\ufffd", j->out);
				continue;
			}
			fwrite(s + i, 1, len, j->out);
			i += len - 1;
			continue;
		}
		switch (c) {
		case '"': fputs("\\\"", j->out); break;
		case '\\': fputs("\\\\", j->out); break;
		case '\n': fputs("\\n", j->out); break;
		case '\r': fputs("\\r", j->out); break;
		case '\t': fputs("\\t", j->out); break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(j->out, "\\u%04x", c);
			else
				fputc(c, j->out);
		}
	}
	fputc('"', j->out);
}

void json__key(struct json *j, const char *key)
{
	before(j);
	write_escaped(j, key, strlen(key));
	fputs(j->indent ? ": " : ":", j->out);
	j->after_key = 1;
}

static void open_(struct json *j, char c)
{
	before(j);
	fputc(c, j->out);
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->count[j->depth] = 0;
}

static void close_(struct json *j, char c)
{
	int had = j->count[j->depth];

	if (j->depth > 0)
		j->depth--;
	if (had)
		newline(j);
	fputc(c, j->out);
}

void json__begin_object(struct json *j) { open_(j, '{'); }
void json__end_object(struct json *j) { close_(j, '}'); }
void json__begin_array(struct json *j) { open_(j, '['); }
void json__end_array(struct json *j) { close_(j, ']'); }

void json__stringn(struct json *j, const char *s, size_t n)
{
	before(j);
	write_escaped(j, s, n);
}

void json__string(struct json *j, const char *s)
{
	if (!s)
		json__null(j);
	else
		json__stringn(j, s, strlen(s));
}

void json__u64(struct json *j, uint64_t v)
{
	before(j);
	fprintf(j->out, "%" PRIu64, v);
}

void json__i64(struct json *j, int64_t v)
{
	before(j);
	fprintf(j->out, "%" PRId64, v);
}

void json__null(struct json *j)
{
	before(j);
	fputs("null", j->out);
}

void json__bool(struct json *j, int v)
{
	before(j);
	fputs(v ? "true" : "false", j->out);
}

void json__u64_array(struct json *j, const char *key, const uint64_t *v, size_t n)
{
	size_t i;

	json__key(j, key);
	json__begin_array(j);
	for (i = 0; i < n; i++)
		json__u64(j, v[i]);
	json__end_array(j);
}

void json__u64_field(struct json *j, const char *key, uint64_t v)
{
	json__key(j, key);
	json__u64(j, v);
}

void json__string_field(struct json *j, const char *key, const char *v)
{
	json__key(j, key);
	json__string(j, v);
}

void json__bool_field(struct json *j, const char *key, int v)
{
	json__key(j, key);
	json__bool(j, v);
}

void json__u64_or_null_field(struct json *j, const char *key, int present, uint64_t v)
{
	json__key(j, key);
	if (present)
		json__u64(j, v);
	else
		json__null(j);
}

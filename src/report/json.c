// SPDX-License-Identifier: GPL-2.0
/* Streaming JSON writer. */
#include <string.h>
#include "util/utf8.h"
#include "report/json.h"

/*
 * Output goes through the _unlocked stdio calls, in spans: a report of a
 * Python pipeline (7 MB, 979 stacks) took 64 ms to write a character at a
 * time through the locking calls, most of its report phase after
 * symbolization.  One writer per stream, on one thread.
 */
static void put(struct json *j, const char *s, size_t n)
{
	fwrite_unlocked(s, 1, n, j->out);
}

static void putch(struct json *j, char c)
{
	fputc_unlocked(c, j->out);
}

void json__init(struct json *j, FILE *out, int indent)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	j->indent = indent;
}

/* Inside a one-line object (json__begin_line_object): no newlines. */
static int on_line(const struct json *j)
{
	return j->line_from && j->depth >= j->line_from;
}

static void newline(struct json *j)
{
	/* two spaces a level: JSON_MAX_DEPTH levels at most */
	static const char spaces[] =
		"                                                                ";
	_Static_assert(sizeof(spaces) - 1 >= 2 * (JSON_MAX_DEPTH - 1),
		       "indentation for the deepest level");

	if (!j->indent || on_line(j))
		return;
	putch(j, '\n');
	put(j, spaces, 2 * (size_t)j->depth);
}

/* Before any value or key: the comma and indentation it needs. */
static void before(struct json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->depth > 0) {
		if (j->count[j->depth]++) {
			putch(j, ',');
			if (j->indent && on_line(j))
				putch(j, ' ');
		}
		newline(j);
	}
}

/* Strings may come from traced programs: bytes that are not UTF-8 become
 * U+FFFD, so the document stays valid JSON.  Runs that need no escape
 * (printable ASCII, valid UTF-8) are written as they are, in one call. */
static void write_escaped(struct json *j, const char *s, size_t n)
{
	size_t i = 0, run = 0, len;
	char esc[8];

	putch(j, '"');
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		const char *rep = NULL;

		if (c >= 0x80) {
			len = utf8__seq_len((const unsigned char *)s + i, n - i);
			if (len) {
				i += len;
				continue;
			}
			rep = "\\ufffd";
		} else if (c >= 0x20 && c != 0x7f && c != '"' && c != '\\') {
			i++;
			continue;
		} else {
			switch (c) {
			case '"': rep = "\\\""; break;
			case '\\': rep = "\\\\"; break;
			case '\n': rep = "\\n"; break;
			case '\r': rep = "\\r"; break;
			case '\t': rep = "\\t"; break;
			default:
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				rep = esc;
			}
		}
		put(j, s + run, i - run);
		put(j, rep, strlen(rep));
		run = ++i;
	}
	put(j, s + run, n - run);
	putch(j, '"');
}

void json__key(struct json *j, const char *key)
{
	before(j);
	write_escaped(j, key, strlen(key));
	put(j, ": ", j->indent ? 2 : 1);
	j->after_key = 1;
}

static void open_(struct json *j, char c)
{
	before(j);
	putch(j, c);
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->count[j->depth] = 0;
}

static void close_(struct json *j, char c)
{
	int had = j->count[j->depth], was_on_line = on_line(j);

	if (j->depth > 0)
		j->depth--;
	if (j->line_from > j->depth)
		j->line_from = 0;
	if (had && !was_on_line)
		newline(j);
	putch(j, c);
}

void json__begin_object(struct json *j) { open_(j, '{'); }

void json__begin_line_object(struct json *j)
{
	open_(j, '{');
	if (!j->line_from)
		j->line_from = j->depth;
}
void json__end_object(struct json *j) { close_(j, '}'); }
void json__begin_array(struct json *j) { open_(j, '['); }
void json__end_array(struct json *j) { close_(j, ']'); }

void json__stringn(struct json *j, const char *s, size_t n)
{
	before(j);
	write_escaped(j, s, n);
}

void json__raw(struct json *j, const char *text, size_t n)
{
	before(j);
	put(j, text, n);
}

void json__string(struct json *j, const char *s)
{
	if (!s)
		json__null(j);
	else
		json__stringn(j, s, strlen(s));
}

/* v in decimal, a '-' first if neg */
static void number(struct json *j, uint64_t v, int neg)
{
	char buf[24], *p = buf + sizeof(buf);

	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	if (neg)
		*--p = '-';
	put(j, p, (size_t)(buf + sizeof(buf) - p));
}

void json__u64(struct json *j, uint64_t v)
{
	before(j);
	number(j, v, 0);
}

void json__i64(struct json *j, int64_t v)
{
	before(j);
	/* the magnitude in unsigned arithmetic: INT64_MIN has no positive */
	number(j, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0);
}

void json__null(struct json *j)
{
	before(j);
	put(j, "null", 4);
}

void json__bool(struct json *j, int v)
{
	before(j);
	if (v)
		put(j, "true", 4);
	else
		put(j, "false", 5);
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

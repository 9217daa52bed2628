// SPDX-License-Identifier: GPL-2.0
/* The code objects BPF copied, and Python frames for reports. */
#include <stdlib.h>
#include <string.h>
#include "python/codes.h"
#include "python/layouts.h"
#include "util/vec.h"

struct key {
	uint32_t instance;
	uint64_t code, fingerprint;
};

static uint64_t key_hash(uint32_t instance, uint64_t code, uint64_t fp)
{
	uint64_t h = hindex__hash(HINDEX_SEED, &instance, sizeof(instance));

	h = hindex__hash(h, &code, sizeof(code));
	return hindex__hash(h, &fp, sizeof(fp));
}

struct find_ctx {
	const struct py_codes *t;
	struct key k;
};

static int key_eq(const void *ctx, uint32_t idx)
{
	const struct find_ctx *f = ctx;
	const struct py_code *c = &f->t->v[idx];

	return c->instance == f->k.instance && c->code == f->k.code &&
	       c->fingerprint == f->k.fingerprint;
}

const struct py_code *py_codes__find(const struct py_codes *t, uint32_t instance, uint64_t code,
				     uint64_t fingerprint)
{
	struct find_ctx f = { t, { instance, code, fingerprint } };
	long i = hindex__find(&t->index, key_hash(instance, code, fingerprint), key_eq, &f);

	return i < 0 ? NULL : &t->v[i];
}

/* CPython's compact str characters (1, 2 or 4 bytes each) as UTF-8. */
static char *utf8_of(const char *raw, size_t len, unsigned kind)
{
	size_t n = kind == 2 || kind == 4 ? len / kind : len, i, o = 0;
	char *s = malloc(4 * n + 1);

	if (!s)
		return NULL;
	for (i = 0; i < n; i++) {
		uint32_t c;

		if (kind == 4)
			memcpy(&c, raw + 4 * i, 4);
		else if (kind == 2)
			c = (uint8_t)raw[2 * i] | (uint32_t)(uint8_t)raw[2 * i + 1] << 8;
		else
			c = (uint8_t)raw[i];
		if (c > 0x10ffff || (c >= 0xd800 && c < 0xe000) || !c)
			c = 0xfffd;
		if (c < 0x80) {
			s[o++] = (char)c;
		} else if (c < 0x800) {
			s[o++] = (char)(0xc0 | c >> 6);
			s[o++] = (char)(0x80 | (c & 63));
		} else if (c < 0x10000) {
			s[o++] = (char)(0xe0 | c >> 12);
			s[o++] = (char)(0x80 | ((c >> 6) & 63));
			s[o++] = (char)(0x80 | (c & 63));
		} else {
			s[o++] = (char)(0xf0 | c >> 18);
			s[o++] = (char)(0x80 | ((c >> 12) & 63));
			s[o++] = (char)(0x80 | ((c >> 6) & 63));
			s[o++] = (char)(0x80 | (c & 63));
		}
	}
	s[o] = 0;
	return s;
}

int py_codes__add(struct py_codes *t, const struct pt_py_code *e)
{
	struct py_code *c;

	if (py_codes__find(t, e->instance, e->code, e->fingerprint))
		return 0;
	if (vec_grow((void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v), 256))
		return -1;
	c = &t->v[t->n];
	memset(c, 0, sizeof(*c));
	c->instance = e->instance;
	c->code = e->code;
	c->fingerprint = e->fingerprint;
	c->firstlineno = (int)e->firstlineno;
	if (e->qualname_len)
		c->qualname = utf8_of(e->qualname, e->qualname_len < PT_PY_NAME_LEN ?
					  e->qualname_len : PT_PY_NAME_LEN, e->qualname_kind);
	if (e->filename_len)
		c->filename = utf8_of(e->filename, e->filename_len < PT_PY_FILE_LEN ?
					  e->filename_len : PT_PY_FILE_LEN, e->filename_kind);
	c->linetable_len = e->linetable_len < PT_PY_LINETABLE_LEN ? e->linetable_len :
								     PT_PY_LINETABLE_LEN;
	c->linetable = c->linetable_len ? malloc(c->linetable_len) : NULL;
	if (c->linetable)
		memcpy(c->linetable, e->linetable, c->linetable_len);
	else
		c->linetable_len = 0;
	if (hindex__add(&t->index, key_hash(c->instance, c->code, c->fingerprint), (uint32_t)t->n))
		return -1;
	t->n++;
	return 0;
}

void py_codes__free(struct py_codes *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].qualname);
		free(t->v[i].filename);
		free(t->v[i].linetable);
	}
	free(t->v);
	hindex__free(&t->index);
	memset(t, 0, sizeof(*t));
}

void py_codes__frame(const struct py_codes *t, uint32_t instance, const struct pt_py_frame *f,
		     uint32_t code_adaptive, struct report_frame *out)
{
	const struct py_code *c = py_codes__find(t, instance, f->code, f->fingerprint);
	int line;

	memset(out, 0, sizeof(*out));
	out->address = f->code;
	out->kind = PT_FRAME_PYTHON;
	out->function = strdup(c && c->qualname ? c->qualname : "<unknown code>");
	if (!c)
		return;
	out->file = c->filename ? strdup(c->filename) : NULL;
	line = py_line(c->linetable, c->linetable_len, c->firstlineno, code_adaptive, f->instr_off);
	out->line = line > 0 ? line : 0;
}

// SPDX-License-Identifier: GPL-2.0
/* The process table: a growing array, and a hash index by instance (a
 * worker pool's tens of thousands of processes made linear search the
 * event loop's main cost). */
#include <stdlib.h>
#include <string.h>
#include "collect/proctable.h"
#include "util/vec.h"

void proctable__init(struct proctable *t)
{
	memset(t, 0, sizeof(*t));
}

void proctable__free(struct proctable *t)
{
	size_t i;

	for (i = 0; i < t->nargvs; i++)
		free(t->argvs[i].s);
	free(t->argvs);
	hindex__free(&t->argv_index);
	free(t->v);
	free(t->index);
	memset(t, 0, sizeof(*t));
}

static size_t slot_of(uint32_t instance, size_t cap)
{
	return (instance * 2654435761u) & (cap - 1);
}

/* Slots hold an entry's position + 1; 0 is empty.  At most half full. */
static void index_put(struct proctable *t, size_t pos)
{
	size_t k = slot_of(t->v[pos].instance, t->index_cap);

	while (t->index[k])
		k = (k + 1) & (t->index_cap - 1);
	t->index[k] = pos + 1;
}

static int index_grow(struct proctable *t)
{
	size_t cap = t->index_cap ? t->index_cap * 2 : 256, i;
	uint32_t *idx = calloc(cap, sizeof(*idx));

	if (!idx)
		return -1;
	free(t->index);
	t->index = idx;
	t->index_cap = cap;
	for (i = 0; i < t->n; i++)
		index_put(t, i);
	return 0;
}

struct argv_key {
	const struct proctable *t;
	const char *s;
	size_t len;
};

static int argv_eq(const void *ctx, uint32_t idx)
{
	const struct argv_key *k = ctx;

	return k->t->argvs[idx].len == k->len && !memcmp(k->t->argvs[idx].s, k->s, k->len);
}

/* The interned copy of the command line s, or NULL if memory ran out. */
static const char *argv_intern(struct proctable *t, const char *s, size_t len)
{
	struct argv_key k = { t, s, len };
	uint64_t h = hindex__hash(HINDEX_SEED, s, len);
	long i = hindex__find(&t->argv_index, h, argv_eq, &k);
	struct argv_blob *b;

	if (i >= 0)
		return t->argvs[i].s;
	if (vec_grow((void **)&t->argvs, &t->capargvs, t->nargvs + 1, sizeof(*b), 64))
		return NULL;
	b = &t->argvs[t->nargvs];
	b->s = malloc(len);
	if (!b->s)
		return NULL;
	memcpy(b->s, s, len);
	b->len = len;
	if (hindex__add(&t->argv_index, h, (uint32_t)t->nargvs)) {
		free(b->s);
		return NULL;
	}
	t->nargvs++;
	return b->s;
}

struct proc_info *proctable__add(struct proctable *t, const struct proc_info *tmpl)
{
	struct proc_info *p;

	if (vec_grow((void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v), 64))
		return NULL;
	if (2 * (t->n + 1) > t->index_cap && index_grow(t))
		return NULL;
	p = &t->v[t->n];
	*p = *tmpl;
	p->argv = NULL;
	if (tmpl->argv_len && !(p->argv = argv_intern(t, tmpl->argv, tmpl->argv_len)))
		return NULL;
	t->n++;
	index_put(t, t->n - 1);
	return p;
}

struct proc_info *proctable__find(struct proctable *t, uint32_t instance)
{
	size_t k;

	if (!t->index_cap)
		return NULL;
	for (k = slot_of(instance, t->index_cap); t->index[k]; k = (k + 1) & (t->index_cap - 1))
		if (t->v[t->index[k] - 1].instance == instance)
			return &t->v[t->index[k] - 1];
	return NULL;
}

static void end(struct proc_info *p, uint64_t now)
{
	if (!p || p->ended)
		return;
	p->ended = 1;
	p->end_ns = now;
}

struct proc_info *proctable__apply(struct proctable *t, const struct pt_event *e)
{
	struct proc_info tmpl, *prev = proctable__find(t, e->prev_instance), *p;

	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.instance = e->instance;
	tmpl.prev_instance = e->prev_instance;
	tmpl.tgid = e->tgid;
	tmpl.ppid = e->ppid;
	tmpl.start_ns = e->time_ns;
	memcpy(tmpl.comm, e->comm, sizeof(tmpl.comm));
	tmpl.comm[sizeof(tmpl.comm) - 1] = 0;

	switch (e->type) {
	case PT_EV_FORK:
		/* Same image as the parent: same command line and probes. */
		if (prev) {
			tmpl.argv = prev->argv;
			tmpl.argv_len = prev->argv_len;
			tmpl.sets_mask = prev->sets_mask;
			tmpl.libc_state = prev->libc_state;
			memcpy(tmpl.note, prev->note, sizeof(tmpl.note));
		}
		return proctable__add(t, &tmpl);
	case PT_EV_EXEC:
		end(prev, e->time_ns);
		tmpl.argv = e->argv;
		tmpl.argv_len = e->argv_len > PT_ARGV_LEN ? PT_ARGV_LEN : e->argv_len;
		tmpl.libc_state = LIBC_PENDING;
		tmpl.pending_since_ns = e->time_ns;
		/* The tasks keep their perf events across exec; a -v line
		 * still due for the process is the new image's to say. */
		if (prev) {
			tmpl.sets_mask = prev->sets_mask;
			tmpl.announce = prev->announce;
			prev->announce = 0;
		}
		return proctable__add(t, &tmpl);
	case PT_EV_LEAVE:
		p = proctable__find(t, e->instance);
		if (p) {
			end(p, e->time_ns);
			p->left_scope = 1;
		}
		return p;
	case PT_EV_EXIT:
		p = proctable__find(t, e->instance);
		if (p) {
			end(p, e->time_ns);
			p->exit_code = e->exit_code;
			p->has_exit_code = 1;
		}
		return p;
	}
	return NULL;
}

size_t proctable__alive(const struct proctable *t)
{
	size_t i, n = 0;

	for (i = 0; i < t->n; i++)
		n += !t->v[i].ended;
	return n;
}

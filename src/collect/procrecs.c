// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "collect/procrecs.h"
#include "util/mapmem.h"

_Static_assert(sizeof(struct pt_proc) % 8 == 0, "procs slots are laid out unpadded");

uint32_t procrecs__slots(uint32_t want)
{
	uint32_t n = 16;

	while (n < want && n < (1u << 31))
		n *= 2;
	return n;
}

int procrecs__open(struct procrecs *m, int fd, uint32_t n, uint32_t *used, char *err,
		  size_t errlen)
{
	m->v = mapmem__map(fd, n, sizeof(struct pt_proc));
	m->mask = n - 1;
	m->used = used;
	if (!m->v) {
		snprintf(err, errlen, "cannot map the process records (%s)", strerror(errno));
		return -1;
	}
	return 0;
}

void procrecs__close(struct procrecs *m)
{
	mapmem__unmap(m->v, (size_t)m->mask + 1, sizeof(struct pt_proc));
	memset(m, 0, sizeof(*m));
}

struct pt_proc *procrecs__get(const struct procrecs *m, uint32_t inst)
{
	struct pt_proc *p;

	if (!m->v || !inst)
		return NULL;
	p = &m->v[inst & m->mask];
	return __atomic_load_n(&p->instance, __ATOMIC_ACQUIRE) == inst ? p : NULL;
}

int procrecs__claim(struct procrecs *m, uint32_t inst)
{
	uint32_t expected = 0;

	if (!m->v || !inst ||
	    !__atomic_compare_exchange_n(&m->v[inst & m->mask].claimed, &expected, 1, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return -1;
	__atomic_fetch_add(m->used, 1, __ATOMIC_RELAXED);
	return 0;
}

void procrecs__publish(struct procrecs *m, uint32_t inst, const struct pt_proc *p)
{
	struct pt_proc *slot = &m->v[inst & m->mask];
	size_t from = offsetof(struct pt_proc, tgid);

	/* all but the two words that guard the slot, then the instance */
	memcpy((char *)slot + from, (const char *)p + from, sizeof(*p) - from);
	__atomic_store_n(&slot->instance, inst, __ATOMIC_RELEASE);
}

void procrecs__free(struct procrecs *m, uint32_t inst)
{
	struct pt_proc *slot;
	uint32_t expected = inst;

	if (!m->v || !inst)
		return;
	slot = &m->v[inst & m->mask];
	/* only inst's own record: a slot another maker has claimed (not yet
	 * published, instance still 0) is not ours to free */
	if (!__atomic_compare_exchange_n(&slot->instance, &expected, 0, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return;
	__atomic_store_n(&slot->claimed, 0, __ATOMIC_RELEASE);
	__atomic_fetch_sub(m->used, 1, __ATOMIC_RELAXED);
}

uint32_t procrecs__at(const struct procrecs *m, uint32_t i, struct pt_proc *copy)
{
	const struct pt_proc *p = &m->v[i & m->mask];
	uint32_t inst = __atomic_load_n(&p->instance, __ATOMIC_ACQUIRE);

	if (!inst)
		return 0;
	memcpy(copy, p, sizeof(*copy));
	/* freed and made again meanwhile (BPF runs on): not a record */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&p->instance, __ATOMIC_ACQUIRE) != inst)
		return 0;
	copy->instance = inst;
	return inst;
}

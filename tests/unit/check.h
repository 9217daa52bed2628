/* SPDX-License-Identifier: GPL-2.0 */
/* A minimal assertion harness for the unit tests: each check counts, a
 * failure says where and what, main prints "N passed, N failed". */
#ifndef PT_CHECK_H
#define PT_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

/* A reproducible pseudo-random sequence (xorshift64): set rnd_state to a
 * seed, then call rnd(). */
static uint64_t rnd_state = 88172645463325252ULL;

static inline uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

#define CHECK(cond) check_((cond), #cond, __FILE__, __LINE__)
#define CHECK_U64(a, b) check_u64_((uint64_t)(a), (uint64_t)(b), #a, #b, __FILE__, __LINE__)
#define CHECK_STR(a, b) check_str_((a), (b), #a, __FILE__, __LINE__)

static inline int check_(int ok, const char *what, const char *file, int line)
{
	if (ok) {
		check_passed++;
		return 1;
	}
	check_failed++;
	fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
	return 0;
}

static inline int check_u64_(uint64_t a, uint64_t b, const char *as, const char *bs,
			     const char *file, int line)
{
	if (a == b) {
		check_passed++;
		return 1;
	}
	check_failed++;
	fprintf(stderr, "FAIL %s:%d: %s == %s: %" PRIu64 " != %" PRIu64 "\n", file, line, as, bs, a, b);
	return 0;
}

static inline int check_str_(const char *a, const char *b, const char *as, const char *file,
			     int line)
{
	if (a && b && !strcmp(a, b)) {
		check_passed++;
		return 1;
	}
	check_failed++;
	fprintf(stderr, "FAIL %s:%d: %s:\n  got:      %s\n  expected: %s\n", file, line, as,
		a ? a : "(null)", b ? b : "(null)");
	return 0;
}

static inline int check_report(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif

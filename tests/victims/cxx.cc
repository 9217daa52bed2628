// SPDX-License-Identifier: GPL-2.0
/*
 * C++ new/delete through libstdc++.
 *
 *   make_buffer   new char[12 MiB]                 12 MiB
 *   make_vector   std::vector<int>, reserve 1 Mi   4 MiB + the vector (24 B)
 *   make_object   new Big (2 MiB array member)     2 MiB
 *   make_inlined  new char[1 MiB] in fill_buffer, inlined into it   1 MiB
 *
 * Peak: 19 MiB + 24 B, all three live; then deleted.  libstdc++ also
 * allocates its exception pool before main (the test allows for it).
 */
#include <vector>
#include "victim.h"

struct Big {
	char data[2 * MiB];
};

NOINLINE char *make_buffer()
{
	char *p = new char[12 * MiB];

	keep(p);
	NO_TAIL();
	return p;
}

NOINLINE std::vector<int> *make_vector()
{
	auto *v = new std::vector<int>();

	v->reserve(1024 * 1024);
	keep(v->data());
	NO_TAIL();
	return v;
}

NOINLINE Big *make_object()
{
	Big *b = new Big;

	keep(b);
	NO_TAIL();
	return b;
}

/* Always inlined: DWARF still knows it, and so must the stack. */
static inline __attribute__((always_inline)) char *fill_buffer(size_t n)
{
	char *p = new char[n];

	p[0] = 1;
	return p;
}

NOINLINE char *make_inlined()
{
	char *p = fill_buffer(1 * MiB);

	keep(p);
	NO_TAIL();
	return p;
}

int main()
{
	char *buf = make_buffer();
	std::vector<int> *v = make_vector();
	Big *b = make_object();
	char *in = make_inlined();

	delete[] in;
	delete[] buf;
	delete v;
	delete b;
	return 0;
}

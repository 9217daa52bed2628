// SPDX-License-Identifier: GPL-2.0
/*
 * An ordinary C++ program's allocation count: a 2 M-node hash map and a
 * vector grown by doubling, with operator new replaced to count the bytes
 * the program asked for.  At its peak it holds over 2 M live blocks, more
 * than a preallocated 1 Mi-entry map; peaktrace's tables must grow.
 * Prints: own_peak_bytes <bytes> (the program's own count at its peak).
 */
#include <cstdio>
#include <cstdlib>
#include <new>
#include <unordered_map>
#include <vector>

static size_t live, peak;

void *operator new(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		throw std::bad_alloc();
	/* malloc_usable_size would count the allocator's rounding; the request is what counts */
	live += n;
	if (live > peak)
		peak = live;
	return p;
}

void operator delete(void *p, size_t n) noexcept
{
	live -= n;
	free(p);
}

void operator delete(void *p) noexcept
{
	/* only reached for blocks whose size the compiler does not know */
	free(p);
}

int main()
{
	std::unordered_map<long, long> m;
	std::vector<long> v;

	for (long i = 0; i < 2000000; i++)
		m[i] = i;
	for (long i = 0; i < 4000000; i++)
		v.push_back(i);
	printf("own_peak_bytes %zu\n", peak);
	fflush(stdout);
	return 0;
}

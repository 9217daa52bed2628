// SPDX-License-Identifier: GPL-2.0
// Real workload: a vector grown by doubling and a 2 M-node hash map of
// strings, built and torn down (ordinary libstdc++ allocation patterns).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unordered_map>
#include <vector>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000000, sum = 0;
	std::unordered_map<long, std::string> m;
	std::vector<long> v;

	for (long i = 0; i < n; i++)
		m.emplace(i, std::to_string(i * 7919) + "-value");
	for (long i = 0; i < 2 * n; i++)
		v.push_back(i);
	for (const auto &kv : m)
		sum += (long)kv.second.size();
	printf("%ld %zu\n", sum, v.size());
	return 0;
}

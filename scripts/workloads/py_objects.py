"""Real workload: 2 M small Python dicts built, indexed and dropped."""
import sys

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
rows = [{"id": i, "name": "n%d" % i, "v": i * 0.5} for i in range(N)]
index = {r["name"]: r for r in rows}
print(sum(r["v"] for r in rows if r["id"] % 7 == 0), len(index))

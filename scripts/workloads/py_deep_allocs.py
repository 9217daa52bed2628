"""Python allocations under a stack of known depth, for scripts/bench:
recurses to DEPTH Python frames, then allocates and frees a 64 KiB
bytearray N times (above --sample-bytes: every stack is captured) and
prints the nanoseconds per allocation on its last line."""
import sys
import time

DEPTH, N = int(sys.argv[1]), int(sys.argv[2])


def down(n):
    if n > 1:
        return down(n - 1)
    t = time.perf_counter()
    for _ in range(N):
        b = bytearray(65536)
        del b
    return time.perf_counter() - t


# <module> is one frame: down() adds the rest
print(f"{down(DEPTH - 1) * 1e9 / N:.1f}")

"""Real workload: a numpy producer feeding a consumer process through a
multiprocessing Queue (fork).  The producer builds batches of arrays from
64 KiB to 2 MiB and derived ones; the consumer normalises and reduces
them.  Prints the checksum."""
import multiprocessing as mp
import sys

import numpy as np

BATCHES = int(sys.argv[1]) if len(sys.argv) > 1 else 400


def produce(q):
    rng = np.random.default_rng(1)
    for i in range(BATCHES):
        n = 8192 << (i % 6)                     # 64 KiB .. 2 MiB of float64
        a = rng.random(n)
        b = a * 2.0 + 1.0
        c = np.concatenate([a, b])
        q.put([c[::2].copy(), np.cumsum(a)])
    q.put(None)


def consume(q, out):
    total = 0.0
    while True:
        x = q.get()
        if x is None:
            break
        for arr in x:
            y = (arr - arr.mean()) / (arr.std() + 1.0)
            total += float(np.abs(y).sum())
    out.put(total)


if __name__ == "__main__":
    mp.set_start_method("fork")
    q, out = mp.Queue(maxsize=8), mp.Queue()
    p = mp.Process(target=produce, args=(q,))
    c = mp.Process(target=consume, args=(q, out))
    p.start()
    c.start()
    print("%.3f" % out.get())
    p.join()
    c.join()

"""Real workload: a numpy producer feeding a consumer process through a
multiprocessing Queue (fork).  The producer builds 4 MiB blocks and
derived arrays; the consumer reduces them.  Prints the checksum."""
import multiprocessing as mp
import sys

import numpy as np

BLOCKS = int(sys.argv[1]) if len(sys.argv) > 1 else 300


def produce(q):
    rng = np.random.default_rng(1)
    for i in range(BLOCKS):
        a = rng.random(1 << 19)            # 4 MiB
        b = np.sort(a)                      # another 4 MiB
        c = np.concatenate([a, b])          # 8 MiB
        q.put(c[::3].copy())
    q.put(None)


def consume(q, out):
    total = 0.0
    while True:
        x = q.get()
        if x is None:
            break
        total += float(np.sqrt(x).sum())
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

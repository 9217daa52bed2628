# A multiprocessing producer and consumer talking through a Queue (whose
# feeder thread's first allocator call is a free(): glibc makes an arena
# for it there).  The producer holds HOLD_P MiB and sends 200 small
# messages; the consumer reads them, then holds HOLD_C MiB; both hold their
# memory until the other has too.  Run with "0" for the baseline: the tree
# peak grows by exactly HOLD_P + HOLD_C MiB (and 2 bytes: two bytearrays).
import multiprocessing as mp
import sys

SCALE = int(sys.argv[1])
HOLD_P, HOLD_C = 32 * SCALE, 48 * SCALE


def consumer(q, both):
    for _ in range(200):
        q.get()
    held = bytearray(HOLD_C << 20)  # LINE:consumer
    both.wait()
    del held


def main():
    mp.set_start_method("fork")
    q, both = mp.Queue(), mp.Barrier(2)
    c = mp.Process(target=consumer, args=(q, both))
    c.start()
    held = bytearray(HOLD_P << 20)  # LINE:producer
    for i in range(200):
        q.put(("message", i))
    both.wait()
    c.join()
    del held
    return c.exitcode


if __name__ == "__main__":
    sys.exit(main())

"""A 200-deep recursion allocating 16 MiB at the bottom: the innermost
Python frames are kept, the cut is counted.  It starts after a pause: an
interpreter's Python frames come once peaktrace has read its layout, a
moment after the exec (README), which a loaded machine may stretch past
the start-up (the test once saw no Python frame in CI)."""
import time

time.sleep(0.5)


def down(n):
    if n == 0:
        return bytearray(16 << 20)  # LINE:bottom
    return down(n - 1)  # LINE:down


x = down(200)

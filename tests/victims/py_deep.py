"""A 200-deep recursion allocating 16 MiB at the bottom: the innermost
Python frames are kept, the cut is counted."""


def down(n):
    if n == 0:
        return bytearray(16 << 20)  # LINE:bottom
    return down(n - 1)  # LINE:down


x = down(200)

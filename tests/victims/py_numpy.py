"""numpy: the array made in transform() (80 MiB of float64) is the peak;
its stack shows transform at its line above numpy's native frames."""
import numpy as np


def transform(a, b):
    c = np.concatenate([a, b])  # LINE:transform
    return c


def main():
    a = np.ones(5 << 20)
    b = np.ones(5 << 20)
    c = transform(a, b)  # LINE:main
    return c.sum()


main()

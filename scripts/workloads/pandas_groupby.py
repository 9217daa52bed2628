"""Real workload: pandas, 2 M rows, a groupby aggregation and a merge."""
import sys

import numpy as np
import pandas as pd

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
rng = np.random.default_rng(1)
df = pd.DataFrame({
    "key": rng.integers(0, 50_000, N),
    "cat": pd.Categorical(rng.choice(["a", "b", "c", "d"], N)),
    "x": rng.random(N),
    "label": [f"r{i % 1000}" for i in range(N)],
})
g = df.groupby(["key", "cat"], observed=True).agg(x_sum=("x", "sum"), n=("x", "size")).reset_index()
m = df.merge(g, on=["key", "cat"], how="left")
print(len(m), round(float(m["x_sum"].sum()), 3))

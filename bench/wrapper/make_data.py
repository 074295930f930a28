#!/usr/bin/env python3
"""bench/wrapper/make_data.py OUT.tsv P: 99 subjects x P features (NumPy, seed 7) with a
label from two features plus noise, scaled to [-1, 1] per column (the wrapper's input
in the paper's pipeline), and a `split` column: 1 for the 66 training rows, 2 for the
33 validation rows (every third row)."""
import sys
import numpy as np

out, p = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(7)
n = 99
X = rng.standard_normal((n, p))
y = np.where(X[:, 0] + X[:, 1] + 0.5 * rng.standard_normal(n) > 0, 1, -1)
lo, hi = X.min(axis=0), X.max(axis=0)
X = -1 + 2 * (X - lo) / (hi - lo)
split = np.where(np.arange(1, n + 1) % 3 == 0, 2, 1)
with open(out, "w") as f:
    f.write("\t".join(["y", "split"] + [f"f{j}" for j in range(p)]) + "\n")
    for i in range(n):
        f.write("\t".join([str(y[i]), str(split[i])] + [repr(float(v)) for v in X[i]]) + "\n")

#!/usr/bin/python3
"""bench/ml/estimators_data.py OUT_DIR P [SEED]: the data of bench/ml/estimators.sh.

A synthetic design shaped like regional gray-matter volumes: 1200 subjects (rows
1-1000 are the training pool, of which a case takes the first n; rows 1001-1200 are
the test rows on which both tools' predictions are compared) and P regions. Volumes
(ml) scale with total intracranial volume, shrink with age, share six latent factors
(so the regions are correlated as real ones are) and carry independent
noise; they are then z-scored with the mean and sd of the training pool, as a pipeline
would before these estimators. The continuous target is a linear signal in 10 % of the
regions plus an age effect and noise (R^2 about 0.5, centred, sd about 1: a
standardized clinical score); the labels are +1 / -1 from the target plus more noise
(about half each).

Writes OUT_DIR/data<P>.csv (columns y, label, r0001..; 17 significant digits, so
both tools read the same doubles), OUT_DIR/gamma<P>.txt (the rbf gamma 1 / (P var(X))
of the training pool, scikit-learn's gamma = "scale", passed to both tools as a
number) and OUT_DIR/outer_folds<n>.csv for n = 300 and 1000 (the outer folds of the
nested-CV case: scikit-learn's KFold(5, shuffle=True, random_state=0) of the first n
rows, as fold numbers 1..5). Fixed seed: every run writes the same numbers.
"""
import os
import sys

import numpy as np

out, p = sys.argv[1], int(sys.argv[2])
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20261207
n_total, n_pool, n_factors = 1200, 1000, 6
rng = np.random.default_rng([seed, p])

age = rng.uniform(20, 80, n_total)
tiv = rng.normal(1480, 130, n_total)
base = np.exp(rng.normal(np.log(600.0 / 116), 0.6, p))     # mean regional volume, ml
age_slope = rng.normal(-0.003, 0.0015, p)                    # relative change per year
loadings = rng.normal(0, 1, (n_factors, p)) * 0.04
factors = rng.normal(0, 1, (n_total, n_factors))
noise = rng.normal(0, 0.05, (n_total, p))
V = base * (tiv[:, None] / 1480) * (1 + age_slope * (age[:, None] - 50) + factors @ loadings + noise)

mu, sd = V[:n_pool].mean(axis=0), V[:n_pool].std(axis=0, ddof=1)
Z = (V - mu) / sd

# Target: a planted linear signal in 10 % of the regions (random signs), an age effect,
# noise; centred and scaled on the pool so that the kernel ridge (no intercept) fits it.
k = max(1, p // 10)
beta = np.zeros(p)
beta[rng.choice(p, k, replace=False)] = rng.choice([-1.0, 1.0], k) * rng.uniform(0.5, 1.0, k)
signal = Z @ beta
signal /= signal[:n_pool].std()
raw = signal - 0.3 * (age - 50) / 17 + rng.normal(0, 1.0, n_total)
y = (raw - raw[:n_pool].mean()) / raw[:n_pool].std()
label = np.where(y + rng.normal(0, 0.5, n_total) > 0, 1, -1)


def num(v):
    return "%.17g" % v


os.makedirs(out, exist_ok=True)
with open(os.path.join(out, f"data{p}.csv"), "w") as f:
    f.write(",".join(["y", "label"] + [f"r{j + 1:04d}" for j in range(p)]) + "\n")
    for i in range(n_total):
        f.write(",".join([num(y[i]), str(label[i])] + [num(v) for v in Z[i]]) + "\n")
with open(os.path.join(out, f"gamma{p}.txt"), "w") as f:
    f.write(num(1.0 / (p * Z[:n_pool].var())) + "\n")
# Outer folds of the nested-CV case: scikit-learn's KFold(5, shuffle=True,
# random_state=0) of the first n rows, as fold numbers 1..5 (neurolua's `folds`).
from sklearn.model_selection import KFold  # noqa: E402  (for the folds only)
for n in (300, 1000):
    fold = np.zeros(n, dtype=int)
    for k, (_, test) in enumerate(KFold(5, shuffle=True, random_state=0).split(np.zeros(n))):
        fold[test] = k + 1
    with open(os.path.join(out, f"outer_folds{n}.csv"), "w") as f:
        f.write("fold\n" + "".join(f"{v}\n" for v in fold))

#!/usr/bin/python3
"""bench/cv/warm_start_sim.py DATA.tsv: how many coordinate-descent passes a warm start
along the C grid would save (evidence for a suggestion in docs/benchmarks.md; not part
of the timed benchmark).

A plain NumPy version of the dual coordinate descent for the L2-loss linear SVM
(Hsieh et al. 2008; no shrinking; LIBLINEAR's stopping rule max PG - min PG <= eps)
with NeuroMiner's class costs, run on 18 CV1 partitions of the data (3 outer folds x
2 x 3 inner folds; preprocessing as in peer_sklearn.py). For each C = 2^-6..2^4 it
counts passes from alpha = 0 (cold) and from the previous C's alpha scaled by
C / C_previous (warm; Chu, Hsieh & Lin 2015). Prints the mean passes per partition.
"""
import sys

import numpy as np
from sklearn.model_selection import RepeatedStratifiedKFold

from peer_sklearn import COVARIATES, make_model


def dual_cd(X, y, Cp, Cn, alpha, rng, eps=0.01, max_iter=1000):
    diag = 0.5 / np.where(y > 0, Cp, Cn)
    qd = (X * X).sum(1) + diag
    a = alpha.copy()
    w = (a * y) @ X
    for it in range(max_iter):
        hi, lo = -np.inf, np.inf
        for i in rng.permutation(len(y)):
            g = y[i] * (w @ X[i]) - 1 + diag[i] * a[i]
            pg = g if a[i] > 0 else min(g, 0.0)
            hi, lo = max(hi, pg), min(lo, pg)
            if pg != 0:
                old = a[i]
                a[i] = max(a[i] - g / qd[i], 0.0)
                w += (a[i] - old) * y[i] * X[i]
        if hi - lo <= eps:
            return a, it + 1
    return a, max_iter


def main():
    path = sys.argv[1]
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
    data = np.loadtxt(path, delimiter="\t", skiprows=1, usecols=range(1, len(header)))
    cols = header[1:]
    y = data[:, cols.index("response")].astype(int)
    vol = [j for j, c in enumerate(cols) if c.startswith("r") and c[1:].isdigit()]
    Z = np.column_stack([data[:, [cols.index(c) for c in COVARIATES]], data[:, vol]])
    grid = 2.0 ** np.arange(-6, 5)
    rng = np.random.default_rng(0)
    cold, warm, parts = np.zeros(len(grid)), np.zeros(len(grid)), 0
    outer = RepeatedStratifiedKFold(n_splits=3, n_repeats=1, random_state=1)
    for k, (train, _) in enumerate(outer.split(Z, y)):
        inner = RepeatedStratifiedKFold(n_splits=3, n_repeats=2, random_state=k)
        for itr, _ in inner.split(Z[train], y[train]):
            X = make_model(len(COVARIATES), len(vol))[:-1].fit_transform(Z[train][itr])
            yy = y[train][itr]
            ratio = np.sum(yy > 0) / np.sum(yy < 0)
            prev = np.zeros(len(yy))
            parts += 1
            for g, C in enumerate(grid):
                cold[g] += dual_cd(X, yy, C, C * ratio, np.zeros(len(yy)), rng)[1]
                start = prev * (C / grid[g - 1]) if g > 0 else prev
                prev, passes = dual_cd(X, yy, C, C * ratio, start, rng)
                warm[g] += passes
    print(f"{parts} CV1 partitions; mean coordinate-descent passes per partition")
    print(f"{'C':>8} {'cold':>7} {'warm':>7}")
    for g, C in enumerate(grid):
        print(f"{C:8g} {cold[g] / parts:7.1f} {warm[g] / parts:7.1f}")
    print(f"{'grid':>8} {cold.sum() / parts:7.1f} {warm.sum() / parts:7.1f}")


if __name__ == "__main__":
    main()

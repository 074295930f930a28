#!/usr/bin/python3
"""bench/cv/warm_start_perm.py DATA.tsv: would a warm start speed up the retrains of a
NeuroMiner-mode permutation test? (evidence for docs/scaling.md, issue 21; not part of a
timed benchmark).

A permuted base model is the linear SVC (L2 loss, dual coordinate descent, LIBLINEAR's
stopping rule; warm_start_sim.dual_cd) retrained on permuted labels at the fold's chosen
C. Its dual is strictly convex (the 1 / (2 C) diagonal), so any start reaches the same
optimum within the tolerance. On the CV2 training rows of 3 outer folds (preprocessing
as in peer_sklearn.py), 8 label permutations each, this counts the coordinate-descent
passes of three starts: cold (alpha = 0, what neurolua does), from the observed labels'
solution, and a walk up the C grid 2^-6 .. C, each solve warm-started from the previous
(passes summed over the walk). Prints the mean passes per retrain.
"""
import sys

import numpy as np
from sklearn.model_selection import RepeatedStratifiedKFold

from peer_sklearn import COVARIATES, make_model
from warm_start_sim import dual_cd


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
    outer = RepeatedStratifiedKFold(n_splits=3, n_repeats=1, random_state=1)
    print(f"{'C':>8} {'cold':>8} {'observed':>9} {'C walk':>8}")
    for C in [0.0625, 1.0, 16.0]:
        cold = observed = walk = fits = 0
        for train, _ in outer.split(Z, y):
            X = make_model(len(COVARIATES), len(vol))[:-1].fit_transform(Z[train])
            yy = y[train]
            ratio = np.sum(yy > 0) / np.sum(yy < 0)
            a_obs, _ = dual_cd(X, yy, C, C * ratio, np.zeros(len(yy)), rng)
            for _ in range(8):
                yp = rng.permutation(yy)
                cold += dual_cd(X, yp, C, C * ratio, np.zeros(len(yy)), rng)[1]
                observed += dual_cd(X, yp, C, C * ratio, a_obs, rng)[1]
                a, prev = np.zeros(len(yy)), None
                for c in grid[grid <= C]:
                    if prev is not None:
                        a = a * (c / prev)
                    a, passes = dual_cd(X, yp, c, c * ratio, a, rng)
                    walk += passes
                    prev = c
                fits += 1
        print(f"{C:8g} {cold / fits:8.1f} {observed / fits:9.1f} {walk / fits:8.1f}")


if __name__ == "__main__":
    main()

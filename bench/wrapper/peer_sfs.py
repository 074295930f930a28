#!/usr/bin/env python3
"""bench/wrapper/peer_sfs.py DATA.tsv K: scikit-learn's SequentialFeatureSelector
(direction "forward", n_features_to_select = K, one predefined train/validation split,
scoring "balanced_accuracy") around LinearSVC with neurolua's svc{C = 1} semantics
(squared hinge, dual coordinate descent, tol 0.01, no intercept, class weights C for +1
and C n_pos / n_neg for -1), on the same rows as wrapper.lua; one thread (BLAS and
n_jobs). SFS adds one feature per round, scoring every remaining feature: K rounds make
sum_{j<K} (p - j) fits. Prints the best wall clock of 3 runs and the number of fits."""
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np
from sklearn.feature_selection import SequentialFeatureSelector
from sklearn.model_selection import PredefinedSplit
from sklearn.svm import LinearSVC

path, k = sys.argv[1], int(sys.argv[2])
with open(path) as f:
    header = f.readline().rstrip("\n").split("\t")
data = np.loadtxt(path, delimiter="\t", skiprows=1)
y, split, X = data[:, 0].astype(int), data[:, 1].astype(int), data[:, 2:]
cv = PredefinedSplit(np.where(split == 2, 0, -1))  # one fold: the validation rows
tr = split == 1
n_pos, n_neg = (y[tr] > 0).sum(), (y[tr] < 0).sum()
svc = LinearSVC(loss="squared_hinge", dual=True, tol=0.01, C=1.0, fit_intercept=False, max_iter=1000,
                class_weight={1: 1.0, -1: n_pos / n_neg})
p = X.shape[1]
best = float("inf")
for _ in range(3):
    sfs = SequentialFeatureSelector(svc, n_features_to_select=k, direction="forward", scoring="balanced_accuracy",
                                    cv=cv, n_jobs=None)
    t0 = time.perf_counter()
    sfs.fit(X, y)
    best = min(best, time.perf_counter() - t0)
print(f"sk_p {p}")
print(f"sk_wall {best:.4f}")
print(f"sk_fits {sum(p - j for j in range(k))}")

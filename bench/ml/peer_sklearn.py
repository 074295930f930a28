#!/usr/bin/python3
"""bench/ml/peer_sklearn.py DATA_DIR [large]: the scikit-learn peer of bench_ml.lua.

Same data, same problems: LinearSVC (liblinear's dual L2-loss solver, no intercept,
NeuroMiner's balanced weights as class_weight, tol 0.01) and PCA(13). Prints
name and microseconds per call (median), measured with time.process_time like os.clock.

With "large": the PCA of the scale issue, X = L diag(d) R + standard normal noise
(this script's own draw; bench_ml.lua draws its own), k = 10, with scikit-learn's two
truncated solvers: PCA(svd_solver="arpack") (ARPACK's Lanczos on X through a linear
operator, tol 0 = machine precision) and PCA(svd_solver="randomized") (Halko et al.'s
randomized range finder, its default 'auto' power iterations). Prints the fastest of
three wall-clock fits (time.perf_counter) in seconds and the first eigenvalue of each.
"""
import sys
import time

import numpy as np
from sklearn.decomposition import PCA
from sklearn.svm import LinearSVC

d = sys.argv[1]
if len(sys.argv) > 2 and sys.argv[2] == "large":
    L = np.loadtxt(f"{d}/L.csv", delimiter=",", skiprows=1)
    R = np.loadtxt(f"{d}/R.csv", delimiter=",", skiprows=1)
    dd = np.loadtxt(f"{d}/d.csv", delimiter=",", skiprows=1)
    X = (L * dd) @ R + np.random.default_rng(1).standard_normal((L.shape[0], R.shape[1]))
    for solver in ("arpack", "randomized"):
        best = float("inf")
        for _ in range(3):
            pca = PCA(n_components=10, svd_solver=solver, random_state=0)
            t0 = time.perf_counter()
            pca.fit(X)
            best = min(best, time.perf_counter() - t0)
        print(f"pca_large_{solver} {best:.4f}")
        print(f"pca_large_{solver}_eigenvalue1 {pca.explained_variance_[0]:.6g}")
    sys.exit(0)
y = np.loadtxt(f"{d}/y.csv", delimiter=",", skiprows=1)
npos, nneg = (y > 0).sum(), (y < 0).sum()


def timeit(fn, min_seconds=1.0):
    """Median process time per call over batches of calls (each about 1 ms, as in
    bench_ml.lua) repeated for min_seconds."""
    fn()
    t0 = time.process_time()
    fn()
    one = time.process_time() - t0
    batch = max(1, int(1e-3 / max(one, 1e-7))) if one < 1e-3 else 1
    times, start = [], time.process_time()
    while time.process_time() - start < min_seconds:
        t0 = time.process_time()
        for _ in range(batch):
            fn()
        times.append((time.process_time() - t0) / batch)
    times.sort()
    return times[(len(times) - 1) // 2]


for name, f in [("svc 66x13", "X13.csv"), ("svc 66x136", "X136.csv")]:
    X = np.loadtxt(f"{d}/{f}", delimiter=",", skiprows=1)
    svc = LinearSVC(C=1.0, loss="squared_hinge", dual=True, fit_intercept=False, tol=0.01,
                    class_weight={1: 1.0, -1: npos / nneg}, max_iter=1000)
    print(f"{name:<14} {timeit(lambda: svc.fit(X, y)) * 1e6:10.1f}")
X = np.loadtxt(f"{d}/X136.csv", delimiter=",", skiprows=1)
print(f"{'pca 66x136':<14} {timeit(lambda: PCA(n_components=13, svd_solver='full').fit(X)) * 1e6:10.1f}")

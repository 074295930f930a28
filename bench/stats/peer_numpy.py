#!/usr/bin/python3
"""bench/stats/peer_numpy.py DATA_DIR PERMS MODE OUT.tsv: the numpy peer of the connectome
benchmark: a two-sample GLM with two covariates (age, sex) over 14,706 edges and
Freedman-Lane permutations with max-T FWE, as neurolua's nl.stats.glm does it.

MODE "standard" (the benchmark's peer): the textbook Freedman-Lane, vectorised over all
edges with numpy/BLAS and written for speed: pinv(X), the null model's hat matrix H_Z and
E = R_Z Y are formed once; per permutation the rows of E are taken by an index vector
into a preallocated buffer, H_Z Y added, the full model refitted for every edge with
two matrix products (B = X^+ Y*, residuals Y* - X B) and t computed; the maximum |t|
gives the FWE null distribution. No Python loop over edges.

MODE "projected": the same test with neurolua's algebra (permute the rows of an
orthonormal basis of the design instead of the data: one small (B*3 x 101) x (101 x m)
product per batch of permutations); for reference only.

Prints `key value` lines (seconds of the computation, wall clock and CPU time over all
threads; data loading excluded)
and writes edge, t, p_fwe to OUT.tsv.
"""
import sys
import time

import numpy as np


def load(data_dir):
    with open(data_dir + "/participants.tsv") as f:
        rows = [line.rstrip("\n").split("\t") for line in f][1:]
    group = np.array([r[1] for r in rows])
    age = np.array([float(r[2]) for r in rows])
    male = np.array([r[3] == "M" for r in rows], dtype=float)
    with open(data_dir + "/edges.tsv") as f:
        names = f.readline().rstrip("\n").split("\t")
    Y = np.loadtxt(data_dir + "/edges.tsv", skiprows=1, delimiter="\t")
    return names, group, age, male, Y


def design(group, age, male):
    """Cell means [control, patient] and centred covariates; contrast control - patient."""
    X = np.column_stack([group == "control", group == "patient", age - age.mean(), male - male.mean()]).astype(float)
    return X, np.array([1.0, -1.0, 0.0, 0.0])


def standard(Y, X, c, perms):
    n, m = Y.shape
    pinvX = np.linalg.pinv(X)
    df = n - np.linalg.matrix_rank(X)
    cDc = c @ pinvX @ pinvX.T @ c
    # Null model: the part of the design the contrast does not test.
    _, _, vt = np.linalg.svd(c[None, :])
    Z = X @ vt[1:].T
    Hz = Z @ np.linalg.pinv(Z)
    HzY = Hz @ Y
    E = Y - HzY
    cp = c @ pinvX
    Ys = np.empty_like(Y)
    B = np.empty((X.shape[1], m))
    R = np.empty_like(Y)

    def abs_t(Ys):
        np.matmul(pinvX, Ys, out=B)
        np.matmul(X, B, out=R)
        np.subtract(Ys, R, out=R)
        rss = np.einsum("ij,ij->j", R, R)
        return np.abs((cp @ Ys) / np.sqrt(rss * cDc / df))

    t0 = abs_t(Y)
    maxima = np.empty(len(perms))
    for k, p in enumerate(perms):
        np.take(E, p, axis=0, out=Ys)
        Ys += HzY
        maxima[k] = abs_t(Ys).max()
    return t0, maxima


def projected(Y, X, c, perms, batch=32):
    n, m = Y.shape
    U, s, vt = np.linalg.svd(X, full_matrices=False)
    r = int((s > s[0] * n * np.finfo(float).eps).sum())
    Q = U[:, :r]
    df = n - r
    _, _, cvt = np.linalg.svd(c[None, :])
    Z = X @ cvt[1:].T
    Uz = np.linalg.svd(Z, full_matrices=False)[0][:, :r - 1]
    E = Y - Uz @ (Uz.T @ Y)
    one = np.ones((n, 1)) / np.sqrt(n)  # fixed by every permutation
    Q2 = Q - one @ (one.T @ Q)
    Q2 = np.linalg.svd(Q2, full_matrices=False)[0][:, :r - 1]
    a = np.linalg.pinv(X).T @ c
    a = a / np.sqrt(c @ np.linalg.pinv(X.T @ X) @ c)
    a2 = Q2.T @ a
    # Rotate Q2 so the contrast is its first direction.
    H = np.linalg.qr(a2[:, None], mode="complete")[0]
    Q2 = Q2 @ H
    rho = (H.T @ a2)[0]
    ee = (E * E).sum(axis=0)

    def t_of(W):
        return (rho * W[0]) / np.sqrt((ee - (W * W).sum(axis=0)) / df)

    t0 = np.abs(t_of(Q2.T @ E))
    maxima = np.empty(len(perms))
    K = Q2.shape[1]
    for b0 in range(0, len(perms), batch):
        ps = perms[b0:b0 + batch]
        G = np.zeros((len(ps) * K, n))
        for b, p in enumerate(ps):
            G[b * K:(b + 1) * K, p] = Q2.T
        P = G @ E
        for b in range(len(ps)):
            maxima[b0 + b] = np.abs(t_of(P[b * K:(b + 1) * K])).max()
    return t0, maxima


def main():
    data_dir, N, mode, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    names, group, age, male, Y = load(data_dir)
    X, c = design(group, age, male)
    rng = np.random.default_rng(1)
    n = Y.shape[0]
    # The identity first (counted, as randomise), then N - 1 random permutations.
    perms = [np.arange(n)] + [rng.permutation(n) for _ in range(N - 1)]
    start, cpu = time.perf_counter(), time.process_time()
    t0, maxima = (standard if mode == "standard" else projected)(Y, X, c, perms)
    p_fwe = (maxima[None, :] >= t0[:, None] * (1 - 1e-10)).sum(axis=1) / N
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print("peer_%s_seconds %.4f" % (mode, elapsed))
    print("peer_%s_cpu %.4f" % (mode, cpu))
    print("peer_%s_permutations %d" % (mode, N))
    blas = sorted({line.split()[-1] for line in open("/proc/self/maps") if "blas" in line.split()[-1]})
    print("peer_blas %s" % (blas[0] if blas else "unknown"))
    with open(out, "w") as f:
        f.write("edge\tt\tp_fwe\n")
        for name, t, p in zip(names, t0, p_fwe):
            f.write("%s\t%.10g\t%.10g\n" % (name, t, p))


if __name__ == "__main__":
    main()

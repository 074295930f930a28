#!/usr/bin/python3
"""Freedman-Lane references for tests/engine/stats/test_permutation.cpp.

A plain numpy implementation of Freedman-Lane (Winkler et al. 2014, Table 2): for each
rearrangement P of the rows, Y* = P R_Z Y + H_Z Y, the full model is refitted to Y* by
least squares and the t or F statistic recomputed, exactly as written (no algebraic
shortcuts), so it checks neurolua's fast kernel independently.

Two kinds of reference per case:
  * "given" rearrangements: the rearrangements are drawn here (numpy) and stored; the
    engine runs the same ones, so statistics must agree to 1e-10 and p-values exactly;
  * Monte-Carlo: p-values from N_REF = 20000 rearrangements drawn here; the engine draws
    its own (5000, its own random streams), so the two agree only within Monte-Carlo
    error (see README.md for the tolerance).

Run with the system Python:  /usr/bin/python3 tests/data/permutation/make_fixtures.py
"""
import itertools
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
N_GIVEN = 400
N_REF = 20000
TIE = 1e-10  # relative tolerance for ties with the observed statistic (as neurolua)


def write_case(name, matrices, comment):
    with open(os.path.join(HERE, name + ".txt"), "w") as f:
        f.write("# " + comment + "\n")
        for key, M in matrices:
            M = np.atleast_2d(np.asarray(M, dtype=float))
            f.write("matrix %s %d %d\n" % (key, M.shape[0], M.shape[1]))
            for row in M:
                f.write(" ".join("%.17g" % v for v in row) + "\n")


def null_space(C):
    _, s, vt = np.linalg.svd(C)
    return vt[np.linalg.matrix_rank(C):].T


def statistic(Ys, X, C, pinvX, df, tail):
    """t (one row of C) or F of the contrast for every column of Ys."""
    B = pinvX @ Ys
    res = Ys - X @ B
    sigma2 = (res ** 2).sum(axis=0) / df
    D = pinvX @ pinvX.T
    CB = C @ B
    if C.shape[0] == 1:
        t = CB[0] / np.sqrt(sigma2 * (C @ D @ C.T)[0, 0])
        T = {"two": np.abs(t), "right": t, "left": -t}[tail]
        return t, T
    W = np.linalg.inv(C @ D @ C.T)
    F = np.einsum("ij,ik,kj->j", CB, W, CB) / (C.shape[0] * sigma2)
    return F, F


def freedman_lane(Y, X, C, perms, signs, tail):
    n = X.shape[0]
    pinvX = np.linalg.pinv(X)
    df = n - np.linalg.matrix_rank(X)
    Z = X @ null_space(C)
    Hz = Z @ np.linalg.pinv(Z) if Z.shape[1] else np.zeros((n, n))
    E = Y - Hz @ Y
    HzY = Hz @ Y
    stat, T0 = statistic(Y, X, C, pinvX, df, tail)
    thr = T0 - TIE * np.abs(T0)
    count = np.zeros(Y.shape[1])
    maxima = np.empty(len(perms))
    for k, (perm, sign) in enumerate(zip(perms, signs)):
        Ys = sign[:, None] * E[perm] + HzY
        _, T = statistic(Ys, X, C, pinvX, df, tail)
        count += T >= thr
        maxima[k] = T.max()
    p_unc = count / len(perms)
    p_fwe = (maxima[None, :] >= thr[:, None]).sum(axis=1) / len(perms)
    return stat, p_unc, p_fwe, maxima


def random_rearrangements(rng, n, N, scheme, blocks):
    perms = [np.arange(n)]
    signs = [np.ones(n)]
    groups = [np.flatnonzero(blocks == b) for b in np.unique(blocks)]
    for _ in range(N - 1):
        perm = np.arange(n)
        if scheme in ("permute", "both"):
            for g in groups:
                perm[g] = rng.permutation(g)
        sign = np.ones(n)
        if scheme in ("signflip", "both"):
            sign = rng.choice([-1.0, 1.0], n)
        perms.append(perm)
        signs.append(sign)
    return perms, signs


def case(name, rng, Y, X, C, scheme, blocks, tails, comment, exhaustive=None):
    n = X.shape[0]
    blocks = np.zeros(n, dtype=int) if blocks is None else np.asarray(blocks)
    mats = [("Y", Y), ("X", X), ("C", C), ("blocks", blocks[:, None])]
    if exhaustive is not None:
        perms, signs = exhaustive
        for tail in tails:
            stat, p_unc, p_fwe, _ = freedman_lane(Y, X, C, perms, signs, tail)
            mats += [("stat", stat[:, None]), ("exact_unc_" + tail, p_unc[:, None]),
                     ("exact_fwe_" + tail, p_fwe[:, None])]
    else:
        perms, signs = random_rearrangements(rng, n, N_GIVEN, scheme, blocks)
        mats += [("perm", np.array(perms)), ("sign", np.array(signs))]
        for tail in tails:
            stat, p_unc, p_fwe, maxima = freedman_lane(Y, X, C, perms, signs, tail)
            mats += [("stat", stat[:, None]), ("given_unc_" + tail, p_unc[:, None]),
                     ("given_fwe_" + tail, p_fwe[:, None]), ("given_max_" + tail, maxima[:, None])]
            rp, rs = random_rearrangements(rng, n, N_REF, scheme, blocks)
            _, p_unc, p_fwe, _ = freedman_lane(Y, X, C, rp, rs, tail)
            mats += [("mc_unc_" + tail, p_unc[:, None]), ("mc_fwe_" + tail, p_fwe[:, None])]
    write_case(name, mats, comment + "; scheme " + scheme)


def main():
    rng = np.random.default_rng(7)

    # Two-sample with two covariates (the connectome comparison, small).
    n, m = 30, 20
    g = np.array([0] * 14 + [1] * 16)
    age = rng.normal(35, 10, n)
    sex = rng.integers(0, 2, n).astype(float)
    X = np.column_stack([(g == 0), (g == 1), age - age.mean(), sex - sex.mean()]).astype(float)
    eff = np.zeros(m)
    eff[:4] = [1.6, 1.1, -0.9, 0.5]
    Y = np.outer(g == 0, eff) + 0.03 * np.outer(age, np.ones(m)) + rng.normal(0, 1, (n, m))
    Y[:, 5:8] += rng.normal(0, 1, (n, 1))  # correlated columns
    case("two_sample", rng, Y, X, np.array([[1, -1, 0, 0.0]]), "permute", None, ["two", "right", "left"],
         "two-sample (cell means) with age and sex, t on g0 - g1")

    # F on two regressors of a three-group design with a covariate.
    n, m = 33, 12
    grp = np.repeat([0, 1, 2], 11)
    cov = rng.normal(0, 1, n)
    X = np.column_stack([np.ones(n), grp == 1, grp == 2, cov]).astype(float)
    Y = np.outer(grp == 2, np.r_[1.2, 0.8, np.zeros(m - 2)]) + 0.5 * np.outer(cov, np.ones(m)) + rng.normal(0, 1, (n, m))
    case("f_test", rng, Y, X, np.array([[0, 1, 0, 0], [0, 0, 1, 0.0]]), "permute", None, ["F"],
         "three groups + covariate, F on the two group effects")

    # One-sample with a covariate: sign flipping.
    n, m = 16, 10
    cov = rng.normal(0, 1, n)
    X = np.column_stack([np.ones(n), cov - cov.mean()])
    Y = np.r_[0.9, 0.6, np.zeros(m - 2)][None, :] + rng.normal(0, 1, (n, m)) + 0.4 * np.outer(cov, np.ones(m))
    case("one_sample", rng, Y, X, np.array([[1, 0.0]]), "signflip", None, ["two"],
         "one-sample mean with a covariate, sign flipping")

    # Exchangeability blocks: three sites, group balanced within site, site means in
    # the model; permutations within site only.
    n, m = 24, 10
    site = np.repeat([0, 1, 2], 8)
    g = np.tile([0, 0, 0, 0, 1, 1, 1, 1], 3)
    age = rng.normal(40, 8, n)
    X = np.column_stack([site == 0, site == 1, site == 2, g - 0.5, age - age.mean()]).astype(float)
    Y = np.outer(g, np.r_[1.0, 0.7, np.zeros(m - 2)]) + 2.0 * np.outer(site, np.ones(m)) + rng.normal(0, 1, (n, m))
    case("blocks", rng, Y, X, np.array([[0, 0, 0, 1, 0.0]]), "permute", site, ["two"],
         "two-sample within three sites (blocks), site indicators and age as nuisance")

    # Paired design, 10 subjects: blocks of two rows, 2^10 = 1024 within-subject
    # permutations, all enumerated (the engine enumerates them too for N >= 1024).
    S, m = 10, 8
    subject = np.repeat(np.arange(S), 2)
    cond = np.tile([0, 1], S)
    X = np.column_stack([np.where(cond == 0, 0.5, -0.5)] + [(subject == s).astype(float) for s in range(S)])
    Y = np.outer(cond == 0, np.r_[0.8, 0.5, np.zeros(m - 2)]) + np.repeat(rng.normal(0, 2, (S, m)), 2, axis=0) \
        + rng.normal(0, 0.7, (2 * S, m))
    perms, signs = [], []
    for bits in itertools.product([0, 1], repeat=S):
        perm = np.arange(2 * S)
        for s, b in enumerate(bits):
            if b:
                perm[2 * s], perm[2 * s + 1] = 2 * s + 1, 2 * s
        perms.append(perm)
        signs.append(np.ones(2 * S))
    C = np.zeros((1, X.shape[1]))
    C[0, 0] = 1
    case("paired", rng, Y, X, C, "permute", subject, ["two", "right"],
         "paired (condition + subject indicators), all 1024 within-subject swaps", exhaustive=(perms, signs))

    with open(os.path.join(HERE, "versions.txt"), "w") as f:
        f.write("python %s\nnumpy %s\n" % (sys.version.split()[0], np.__version__))


if __name__ == "__main__":
    main()

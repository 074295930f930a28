#!/usr/bin/python3
"""GLM references from statsmodels OLS for tests/engine/stats/test_glm.cpp and tests/lua/test_stats.lua.

Run with the system Python (numpy, statsmodels):  /usr/bin/python3 tests/data/glm/make_fixtures.py
Writes one text file per case (see README.md for the format) and versions.txt.
"""
import os
import sys

import numpy as np
import scipy
import statsmodels
import statsmodels.api as sm

HERE = os.path.dirname(os.path.abspath(__file__))


def write_case(name, matrices, comment):
    with open(os.path.join(HERE, name + ".txt"), "w") as f:
        f.write("# " + comment + "\n")
        for key, M in matrices:
            M = np.atleast_2d(np.asarray(M, dtype=float))
            f.write("matrix %s %d %d\n" % (key, M.shape[0], M.shape[1]))
            for row in M:
                f.write(" ".join("%.17g" % v for v in row) + "\n")


def t_refs(X, Y, c):
    """Per response: effect, se, t, two-sided p, df, via statsmodels OLS t_test."""
    out = []
    for j in range(Y.shape[1]):
        r = sm.OLS(Y[:, j], X).fit()
        tt = r.t_test(np.atleast_2d(c))
        out.append([tt.effect[0], tt.sd[0, 0], tt.tvalue[0, 0], tt.pvalue, r.df_resid])
    return np.array(out)


def f_refs(X, Y, C):
    """Per response: F, p, df_num, df_denom via statsmodels OLS f_test."""
    out = []
    for j in range(Y.shape[1]):
        r = sm.OLS(Y[:, j], X).fit()
        ft = r.f_test(np.atleast_2d(C))
        out.append([np.squeeze(ft.fvalue), ft.pvalue, ft.df_num, ft.df_denom])
    return np.array(out)


def main():
    rng = np.random.default_rng(20240601)

    # Case 1: full rank, intercept + group + two covariates, responses with effects of
    # several sizes (one strong enough for a p-value near 1e-30).
    n = 40
    group = np.repeat([0.0, 1.0], n // 2)
    age = rng.normal(40, 12, n)
    sex = rng.integers(0, 2, n).astype(float)
    X = np.column_stack([np.ones(n), group, age, sex])
    effects = np.array([0.0, 0.3, 0.8, 1.5, -1.0, 6.0])
    Y = (np.outer(group, effects) + 0.02 * np.outer(age, np.ones(6)) + rng.normal(0, 1, (n, 6)))
    c_group = np.array([0, 1, 0, 0.0])
    c_age = np.array([0, 0, 1, 0.0])
    C_f = np.array([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]])
    write_case("full_rank", [("X", X), ("Y", Y), ("c1", c_group), ("t1", t_refs(X, Y, c_group)),
                             ("c2", c_age), ("t2", t_refs(X, Y, c_age)),
                             ("C3", C_f), ("F3", f_refs(X, Y, C_f))],
               "intercept, group, age, sex; t on group (c1), t on age (c2), F on group+age+sex (C3). "
               "t rows: effect se t p df; F rows: F p df_num df_denom")

    # Case 2: rank-deficient: intercept plus both group indicators (rank 3 of 4 columns).
    n = 30
    g = np.array([0] * 12 + [1] * 18, dtype=float)
    age = rng.normal(30, 8, n)
    X = np.column_stack([np.ones(n), 1 - g, g, age])
    Y = np.outer(g, [0.0, 1.2, -0.7]) + rng.normal(0, 1, (n, 3)) + 0.05 * age[:, None]
    c_diff = np.array([0, 1, -1, 0.0])
    C_f = np.array([[0, 1, -1, 0], [0, 0, 0, 1.0]])
    write_case("rank_deficient", [("X", X), ("Y", Y), ("c1", c_diff), ("t1", t_refs(X, Y, c_diff)),
                                  ("C2", C_f), ("F2", f_refs(X, Y, C_f))],
               "intercept + both group indicators + age (rank 3); estimable t on g0 - g1 and F on "
               "(g0 - g1, age); statsmodels uses pinv and df_resid = n - rank")

    # Case 3: the two-sample design neurolua builds (cell means, centred covariates) and
    # the one-sample design with one covariate.
    n = 26
    g = np.array([0] * 11 + [1] * 15)
    cov = np.column_stack([rng.normal(50, 10, n), rng.integers(0, 2, n)]).astype(float)
    X = np.column_stack([(g == 0).astype(float), (g == 1).astype(float), cov - cov.mean(axis=0)])
    Y = np.outer(g, [0.5, -0.2]) + rng.normal(0, 1, (n, 2))
    c = np.array([1, -1, 0, 0.0])
    X1 = np.column_stack([np.ones(n), cov[:, 0] - cov[:, 0].mean()])
    Y1 = 0.4 + rng.normal(0, 1, (n, 2))
    write_case("designs", [("group", g[:, None]), ("cov", cov), ("X", X), ("Y", Y), ("c1", c),
                           ("t1", t_refs(X, Y, c)), ("X1", X1), ("Y1", Y1),
                           ("t_one", t_refs(X1, Y1, np.array([1, 0.0])))],
               "two-sample design [group0, group1, centred covariates] with contrast g0 - g1; "
               "one-sample design [1, centred cov 1]")

    with open(os.path.join(HERE, "versions.txt"), "w") as f:
        f.write("python %s\nnumpy %s\nscipy %s\nstatsmodels %s\n" % (
            sys.version.split()[0], np.__version__, scipy.__version__, statsmodels.__version__))


if __name__ == "__main__":
    main()

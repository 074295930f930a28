#!/usr/bin/python3
"""References for the classical tests and ROC (tests/engine/stats/test_classical.cpp, test_roc.cpp).

Run with the system Python:  /usr/bin/python3 tests/data/stats/make_fixtures.py
Writes the input data and the scipy / statsmodels results to classical.txt, then runs
make_fixtures.R (R: t.test / cor.test intervals and df, p.adjust, pROC) which writes
r_classical.txt and roc.txt. Versions go to versions.txt.
"""
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.anova import AnovaRM

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, matrices, comment):
    with open(os.path.join(HERE, name), "w") as f:
        f.write("# " + comment + "\n")
        for key, M in matrices:
            M = np.atleast_2d(np.asarray(M, dtype=float))
            f.write("matrix %s %d %d\n" % (key, M.shape[0], M.shape[1]))
            for row in M:
                f.write(" ".join("%.17g" % v for v in row) + "\n")


def col(v):
    return np.asarray(v, dtype=float)[:, None]


def main():
    rng = np.random.default_rng(314)
    m = []

    # Correlation: continuous pair, and a tied pair (rounded) for Spearman.
    x = rng.normal(0, 1, 25)
    y = 0.5 * x + rng.normal(0, 1, 25)
    xt = np.round(x * 2) / 2
    yt = np.round(y)
    m += [("corr_x", col(x)), ("corr_y", col(y)), ("corr_xt", col(xt)), ("corr_yt", col(yt))]
    refs = []
    for a, b in [(x, y), (xt, yt)]:
        for alt in ["two-sided", "greater", "less"]:
            pr = stats.pearsonr(a, b, alternative=alt)
            sr = stats.spearmanr(a, b, alternative=alt)
            refs.append([pr.statistic, pr.pvalue, sr.correlation, sr.pvalue])
    m.append(("corr_ref", np.array(refs)))  # rows: (x,y) two/greater/less, then (xt,yt); cols r p rho p

    # t-tests.
    tx = rng.normal(1.0, 1.0, 18)
    ty = rng.normal(0.3, 1.8, 23)
    tz = tx + rng.normal(-0.4, 0.6, 18)
    m += [("t_x", col(tx)), ("t_y", col(ty)), ("t_z", col(tz))]
    refs = []
    for alt in ["two-sided", "greater", "less"]:
        s = stats.ttest_ind(tx, ty, equal_var=True, alternative=alt)
        w = stats.ttest_ind(tx, ty, equal_var=False, alternative=alt)
        p = stats.ttest_rel(tx, tz, alternative=alt)
        o = stats.ttest_1samp(tx, 0.3, alternative=alt)
        refs.append([s.statistic, s.pvalue, w.statistic, w.pvalue, p.statistic, p.pvalue, o.statistic, o.pvalue])
    m.append(("t_ref", np.array(refs)))  # rows two/greater/less; cols Student t p, Welch t p, paired t p, one t p

    # Chi-squared tests of independence.
    t22 = np.array([[12, 5], [7, 15.0]])
    t34 = np.array([[10, 4, 6, 9], [3, 12, 7, 5], [8, 6, 11, 2.0]])
    m += [("chi_22", t22), ("chi_34", t34)]
    refs = []
    for t in [t22, t34]:
        for corr in [True, False]:
            c, p, dof, _ = stats.chi2_contingency(t, correction=corr)
            refs.append([c, p, dof])
    m.append(("chi_ref", np.array(refs)))  # rows: 22 corrected, 22 plain, 34 corrected, 34 plain
    m.append(("chi_22_expected", stats.contingency.expected_freq(t22)))

    # One-way repeated-measures ANOVA (12 subjects x 4 conditions).
    subj = rng.normal(0, 1.5, 12)
    Y = subj[:, None] + np.array([0.0, 0.3, 0.9, 0.4])[None, :] + rng.normal(0, 0.8, (12, 4))
    long = pd.DataFrame({"subject": np.repeat(np.arange(12), 4), "cond": np.tile(np.arange(4), 12),
                         "y": Y.ravel()})
    table = AnovaRM(long, "y", "subject", within=["cond"]).fit().anova_table
    m += [("rm_Y", Y), ("rm_ref", np.array([[table["F Value"].iloc[0], table["Num DF"].iloc[0],
                                                  table["Den DF"].iloc[0], table["Pr > F"].iloc[0]]]))]

    # p-values for Bonferroni (R p.adjust in the R script; NaN = NA).
    m.append(("bonf_p", col([0.001, 0.02, np.nan, 0.3, 0.0125, 0.9])))

    # ROC data: continuous with ties; integer scale (many Youden ties); tiny; one where
    # controls score higher (auto picks ">").
    lab = np.array([1] * 18 + [-1] * 22)
    s1 = np.round(np.where(lab == 1, rng.normal(0.8, 1, 40), rng.normal(0, 1, 40)), 1)
    lab2 = np.array([1] * 15 + [-1] * 15)
    s2 = np.where(lab2 == 1, rng.integers(2, 6, 30), rng.integers(1, 5, 30)).astype(float)
    lab3 = np.array([1, 1, 1, -1, -1, -1, -1])
    s3 = np.array([0.9, 0.4, 0.75, 0.3, 0.5, 0.1, 0.4])
    lab4 = np.array([1] * 12 + [-1] * 14)
    s4 = np.where(lab4 == 1, rng.normal(-0.7, 1, 26), rng.normal(0.2, 1, 26))
    m += [("roc1_s", col(s1)), ("roc1_y", col(lab)), ("roc2_s", col(s2)), ("roc2_y", col(lab2)),
          ("roc3_s", col(s3)), ("roc3_y", col(lab3)), ("roc4_s", col(s4)), ("roc4_y", col(lab4))]

    write("classical.txt", m, "inputs and scipy %s / statsmodels %s references; see README.md" % (
        scipy.__version__, statsmodels.__version__))
    r = subprocess.run(["Rscript", os.path.join(HERE, "make_fixtures.R")], check=True, capture_output=True, text=True)
    with open(os.path.join(HERE, "versions.txt"), "w") as f:
        f.write("python %s\nnumpy %s\nscipy %s\nstatsmodels %s\npandas %s\n%s" % (
            sys.version.split()[0], np.__version__, scipy.__version__, statsmodels.__version__, pd.__version__,
            r.stdout))


if __name__ == "__main__":
    main()

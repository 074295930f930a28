#!/usr/bin/python3
"""References for the tail (gamma) approximation of the FWE p
(tests/engine/stats/test_permutation.cpp), from scipy.stats.pearson3.

Run with the system Python:  /usr/bin/python3 tests/data/permutation/make_gamma.py

gamma.txt:
  * grid: rows (x, mean, sd, skew, P(X >= x)) of Pearson type III, scipy's
    pearson3(skew, loc=mean, scale=sd).sf(x), over positive, negative and tiny skews;
  * p_fwe_gamma: for two_sample.txt's 400 given rearrangements (two-sided), the
    Pearson III fitted to the maxima |t| (max_given_two) by their population moments
    (mean, sd with ddof 0, skewness m3 / m2^1.5 = scipy.stats.skew with bias=True),
    evaluated at each column's observed |t|.
"""
import os
import sys

import numpy as np
import scipy
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))


def read(path):
    out, lines = {}, open(path).read().splitlines()
    i = 0
    while i < len(lines):
        if not lines[i] or lines[i][0] == "#":
            i += 1
            continue
        _, name, r, c = lines[i].split()
        r, c = int(r), int(c)
        out[name] = np.array([[float(v) for v in lines[i + 1 + k].split()] for k in range(r)])
        i += 1 + r
    return out


def main():
    grid = []
    for skew in (2.0, 0.7, 0.05, 1e-9, -0.4, -1.5):
        for x in (-3.0, -0.5, 0.0, 1.0, 2.5, 4.0, 7.0, 12.0):
            grid.append((x, 1.0, 1.3, skew, stats.pearson3(skew, loc=1.0, scale=1.3).sf(x)))
    f = read(os.path.join(HERE, "two_sample.txt"))
    maxima = f["given_max_two"].ravel()
    T = np.abs(f["stat"].ravel())
    mu, sd, sk = maxima.mean(), maxima.std(), stats.skew(maxima, bias=True)
    p = stats.pearson3(sk, loc=mu, scale=sd).sf(T)
    with open(os.path.join(HERE, "gamma.txt"), "w") as out:
        out.write("# scipy %s pearson3 references (see make_gamma.py)\n" % scipy.__version__)
        for name, M in (("grid", np.array(grid)), ("p_fwe_gamma", p[:, None])):
            out.write("matrix %s %d %d\n" % (name, M.shape[0], M.shape[1]))
            for row in M:
                out.write(" ".join("%.17g" % v for v in row) + "\n")
    print("moments of the maxima: mean %.4f sd %.4f skew %.4f" % (mu, sd, sk), file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""tests/data/ml/make_filter_fixture.py: the references for the univariate filter
(nl/ml/filter.hpp; tests/engine/ml/test_filter.cpp). Real data: estimators/data.csv
(132 ABIDE-I subjects: age, sex (M = +1, F = -1) and 20 standardized aseg volumes;
see tests/data/ml/README.md), training rows 1-100 only.

Writes filter/reference.txt: one line per quantity, "<case>.<name> v1 v2 ...", and
filter/VERSIONS. Kept columns are 1-based, ascending (get_support order).

  f_classif      f_classif(X, sex): F; SelectKBest(f_classif, k = 5) and
                 SelectPercentile(f_classif, percentile = 10, 25, 33, 5.2)
  t              scipy.stats.ttest_ind(equal_var = True) on sex: |t| (the pooled t)
  f_regression   f_regression(X, age): F; SelectKBest(k = 5), SelectPercentile(25)
  r_regression   r_regression(X, age): r (signed); SelectKBest(|r|, k = 5)
  constant       f_regression(X with column 4 set to 2.5, age): F (force_finite: 0)

Percentile 5.2 is where our rule (ceil(fraction p)) and SelectPercentile differ: with
distinct scores it keeps ceil(fraction (p - 1)) features. The script checks that
relation for every percentile written.
"""
import math
import os

import numpy as np
import scipy
import scipy.stats
import sklearn
from sklearn.feature_selection import (SelectKBest, SelectPercentile, f_classif, f_regression,
                                       r_regression)

here = os.path.dirname(os.path.abspath(__file__))
src = os.path.join(here, "estimators", "data.csv")
D = np.loadtxt(src, delimiter=",", skiprows=1)
n_train = 100
age, sex, X = D[:n_train, 0], D[:n_train, 1], D[:n_train, 2:]
p = X.shape[1]
out = os.path.join(here, "filter")
os.makedirs(out, exist_ok=True)
lines = ["# written by tests/data/ml/make_filter_fixture.py; see its docstring"]


def put(key, values):
    lines.append(key + " " + " ".join("%.17g" % float(v) for v in np.atleast_1d(values)))


def kept(selector):
    return np.flatnonzero(selector.get_support()) + 1


def abs_r(X, y):
    return np.abs(r_regression(X, y))


F, _ = f_classif(X, sex)
put("f_classif.scores", F)
put("f_classif.k5.kept", kept(SelectKBest(f_classif, k=5).fit(X, sex)))
for pct in (10, 25, 33, 5.2):
    s = kept(SelectPercentile(f_classif, percentile=pct).fit(X, sex))
    assert len(s) == math.ceil(pct / 100 * (p - 1) - 1e-9), (pct, len(s))
    put("f_classif.pct%s.kept" % str(pct).replace(".", "_"), s)

t, _ = scipy.stats.ttest_ind(X[sex > 0], X[sex < 0], equal_var=True)
put("t.scores", np.abs(t))

Fr, _ = f_regression(X, age)
put("f_regression.scores", Fr)
put("f_regression.k5.kept", kept(SelectKBest(f_regression, k=5).fit(X, age)))
s = kept(SelectPercentile(f_regression, percentile=25).fit(X, age))
assert len(s) == 5
put("f_regression.pct25.kept", s)

put("r_regression.scores", r_regression(X, age))
put("r_regression.k5.kept", kept(SelectKBest(abs_r, k=5).fit(X, age)))

Xc = X.copy()
Xc[:, 3] = 2.5
Fc, _ = f_regression(Xc, age)
put("constant.scores", Fc)

with open(os.path.join(out, "reference.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")
with open(os.path.join(out, "VERSIONS"), "w") as f:
    f.write(f"scikit-learn {sklearn.__version__}, NumPy {np.__version__}, SciPy {scipy.__version__}\n")

#!/usr/bin/env python3
"""tests/data/ml/make_estimator_fixture.py: the references for nl/ml/estimators.hpp
(tests/engine/ml/test_estimators.cpp). Real data: the 20 aseg volumes of
tests/data/ml/combat/input.csv (132 ABIDE-I subjects, FreeSurfer 6; see
tests/data/ml/README.md), z-scored with the mean and sample sd of rows 1-100 (the
training rows; rows 101-132 are predicted). Regression target: age (years);
classification target: sex (M = +1, F = -1).

Writes estimators/data.csv (age, sex and the standardized volumes, 17 significant
digits) and estimators/reference.txt: one line per quantity, "<case>.<name> v1 v2 ...",
with the options of each case ("C", "gamma", ...) and scikit-learn's results on it.
Support vectors are listed by 1-based training row, ascending, with their dual
coefficients in the same order. Versions in estimators/VERSIONS.

  svr_bias, svr_nobias   LinearSVR(loss = "squared_epsilon_insensitive", dual = True),
                         fit_intercept True (liblinear -B 1) and False
  logistic, logistic_cw  LogisticRegression(solver = "liblinear"), plain and with a
                         class_weight (Cp = C w_+1, Cn = C w_-1)
  ridge, ridge_noint     Ridge(alpha), fit_intercept True and False (primal, p <= n)
  ridge_dual             Ridge on the first 15 training rows only (p = 20 > n: dual)
  kr_rbf, kr_linear      KernelRidge(alpha, kernel = "rbf" | "linear")
  svc_rbf, svc_cw, svc_linear   SVC(kernel = "rbf" | "linear"), svc_cw with a class_weight
"""
import os

import numpy as np
import scipy
import sklearn
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.svm import SVC, LinearSVR

here = os.path.dirname(os.path.abspath(__file__))
src = os.path.join(here, "combat", "input.csv")
with open(src) as f:
    header = f.readline().rstrip("\n").split(",")
    rows = [line.rstrip("\n").split(",") for line in f if line.strip()]
vols = header[4:]
V = np.array([[float(v) for v in r[4:]] for r in rows])
age = np.array([float(r[2]) for r in rows])
sex = np.array([1.0 if r[3] == "M" else -1.0 for r in rows])
n_train = 100
mu = V[:n_train].mean(axis=0)
sd = V[:n_train].std(axis=0, ddof=1)
Z = (V - mu) / sd
out = os.path.join(here, "estimators")
os.makedirs(out, exist_ok=True)


def num(v):
    return "%.17g" % float(v)


with open(os.path.join(out, "data.csv"), "w") as f:
    f.write(",".join(["age", "sex"] + vols) + "\n")
    for i in range(len(rows)):
        f.write(",".join([num(age[i]), num(sex[i])] + [num(v) for v in Z[i]]) + "\n")
# The model sees the values as the test reads them back.
Z = np.array([[float(num(v)) for v in r] for r in Z])
Xtr, Xte = Z[:n_train], Z[n_train:]
ytr, yte = age[:n_train], age[n_train:]
ctr = sex[:n_train]

lines = []


def put(key, values):
    values = np.atleast_1d(np.asarray(values, dtype=float)).ravel()
    lines.append(key + " " + " ".join(num(v) for v in values))


# ---------------------------------------------------------------- linear SVR
for case, C, eps, fit_intercept in [("svr_bias", 0.1, 1.0, True), ("svr_nobias", 0.05, 15.0, False)]:
    m = LinearSVR(loss="squared_epsilon_insensitive", dual=True, C=C, epsilon=eps, tol=1e-10,
                  max_iter=10_000_000, fit_intercept=fit_intercept, intercept_scaling=1.0,
                  random_state=0).fit(Xtr, ytr)
    put(case + ".C", C)
    put(case + ".epsilon", eps)
    put(case + ".bias", 1.0 if fit_intercept else -1.0)
    put(case + ".w", m.coef_)
    put(case + ".b", m.intercept_ if fit_intercept else 0.0)
    put(case + ".pred", m.predict(Xte))

# ---------------------------------------------------------------- logistic regression
for case, C, cw in [("logistic", 1.0, None), ("logistic_cw", 0.5, {1.0: 0.6, -1.0: 2.5})]:
    m = LogisticRegression(solver="liblinear", penalty="l2", C=C, tol=1e-12, max_iter=100_000,
                           fit_intercept=True, intercept_scaling=1.0, class_weight=cw).fit(Xtr, ctr)
    assert list(m.classes_) == [-1.0, 1.0]
    put(case + ".Cp", C * (cw[1.0] if cw else 1.0))
    put(case + ".Cn", C * (cw[-1.0] if cw else 1.0))
    put(case + ".w", m.coef_)
    put(case + ".b", m.intercept_)
    put(case + ".decision", m.decision_function(Xte))
    put(case + ".proba", m.predict_proba(Xte)[:, 1])  # P(y = +1)

# ---------------------------------------------------------------- ridge
for case, alpha, fit_intercept, n in [("ridge", 10.0, True, n_train), ("ridge_noint", 3.0, False, n_train),
                                      ("ridge_dual", 1.0, True, 15)]:
    m = Ridge(alpha=alpha, fit_intercept=fit_intercept, solver="cholesky").fit(Xtr[:n], ytr[:n])
    put(case + ".alpha", alpha)
    put(case + ".fit_intercept", 1.0 if fit_intercept else 0.0)
    put(case + ".n", n)
    put(case + ".w", m.coef_)
    put(case + ".b", m.intercept_)
    put(case + ".pred", m.predict(Xte))

# ---------------------------------------------------------------- kernel ridge
for case, alpha, kernel, gamma in [("kr_rbf", 0.5, "rbf", 0.04), ("kr_linear", 10.0, "linear", 0.0)]:
    kw = {"gamma": gamma} if kernel == "rbf" else {}
    m = KernelRidge(alpha=alpha, kernel=kernel, **kw).fit(Xtr, ytr)
    put(case + ".alpha", alpha)
    put(case + ".gamma", gamma)
    put(case + ".coef", m.dual_coef_)
    put(case + ".pred", m.predict(Xte))

# ---------------------------------------------------------------- kernel SVC
for case, C, kernel, gamma, cw in [("svc_rbf", 2.0, "rbf", 0.05, None),
                                   ("svc_cw", 1.0, "rbf", 0.03, {1.0: 0.5, -1.0: 2.0}),
                                   ("svc_linear", 0.1, "linear", 0.0, None)]:
    kw = {"gamma": gamma} if kernel == "rbf" else {}
    m = SVC(C=C, kernel=kernel, tol=1e-10, shrinking=True, class_weight=cw, max_iter=-1, **kw).fit(Xtr, ctr)
    assert list(m.classes_) == [-1.0, 1.0]
    order = np.argsort(m.support_)
    dec = m.decision_function(Xte)
    # Sign check: sklearn's public dual_coef_ and intercept_ give f > 0 for classes_[1] = +1.
    K = np.exp(-gamma * ((Xte[:, None, :] - m.support_vectors_[None]) ** 2).sum(-1)) if kernel == "rbf" \
        else Xte @ m.support_vectors_.T
    assert np.allclose(K @ m.dual_coef_[0] + m.intercept_[0], dec, rtol=1e-9, atol=1e-9)
    assert np.all((m.dual_coef_[0] > 0) == (ctr[m.support_] > 0))
    put(case + ".Cp", C * (cw[1.0] if cw else 1.0))
    put(case + ".Cn", C * (cw[-1.0] if cw else 1.0))
    put(case + ".gamma", gamma)
    put(case + ".support", m.support_[order] + 1)
    put(case + ".coef", m.dual_coef_[0][order])
    put(case + ".b", m.intercept_)
    put(case + ".decision", dec)

with open(os.path.join(out, "reference.txt"), "w") as f:
    f.write("# written by tests/data/ml/make_estimator_fixture.py; see its docstring\n")
    f.write("\n".join(lines) + "\n")
with open(os.path.join(out, "VERSIONS"), "w") as f:
    f.write(f"scikit-learn {sklearn.__version__}, NumPy {np.__version__}, SciPy {scipy.__version__}\n")

#!/usr/bin/python3
"""bench/cv/peer_sklearn.py DATA.tsv [N_JOBS] [OUTER_FOLDS]: the scikit-learn peer of
bench_cv.lua's like-for-like case, written as plain, idiomatic scikit-learn.

Repeated nested CV with NeuroMiner's semantics (METHODS.md section 1), PCA, no wrapper:
outer RepeatedStratifiedKFold(3 x 5); in each outer training set a GridSearchCV over
the 11 C values on an inner RepeatedStratifiedKFold(3 x 5), scored by balanced
accuracy (ties: the first, i.e. smaller, C). The model is a Pipeline of
MinMaxScaler((-1, 1)) and VarianceThreshold(0) on the volumes, a covariate-regression
transformer (beta = pinv([1, covariates]) Y on the training rows, applied with the
training beta), PCA(13), MinMaxScaler((-1, 1)) and LinearSVC (liblinear's dual L2-loss
solver, tol 0.01, no intercept, class weight C for the positive class and
C * n_pos / n_neg for the negative class, counted on the training labels; a fixed
random_state, so runs with any n_jobs agree). At the
chosen C, each of the 15 inner partitions gives a base model: preprocessing fitted on
inner-train, the SVC retrained on inner-train + inner-test, scoring the outer test
subjects; a subject's prediction is the median of its 75 scores.

N_JOBS (default 1) goes to GridSearchCV. OUTER_FOLDS (default 15: all) runs only the
first outer folds; the time is then extrapolated to 15 and flagged. Prints
`key value` lines (keys prefixed sk<N_JOBS>_): wall and CPU seconds (CPU of this
process only, so not of n_jobs > 1 workers), the chosen C values, BAC and AUC.
"""
import sys
import time

import numpy as np
import sklearn
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.feature_selection import VarianceThreshold
from sklearn.model_selection import GridSearchCV, RepeatedStratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.svm import LinearSVC

COVARIATES = ["age", "sex", "site", "tiv"]


class RegressOut(TransformerMixin, BaseEstimator):
    """Removes the linear effect of the first n_cov columns (the covariates) from the
    other columns: G = [1, covariates], beta = pinv(G_train) Y_train, Y - G beta."""

    def __init__(self, n_cov=4):
        self.n_cov = n_cov

    def _design(self, X):
        return np.column_stack([np.ones(len(X)), X[:, :self.n_cov]])

    def fit(self, X, y=None):
        self.beta_ = np.linalg.pinv(self._design(X)) @ X[:, self.n_cov:]
        return self

    def transform(self, X):
        return X[:, self.n_cov:] - self._design(X) @ self.beta_


class WeightedLinearSVC(LinearSVC):
    """LinearSVC with NeuroMiner's hyperplane weighting: C for the positive class and
    C * n_pos / n_neg for the negative class, counted on the labels it is fitted on."""

    def fit(self, X, y, sample_weight=None):
        self.class_weight = {1: 1.0, -1: np.sum(y > 0) / np.sum(y < 0)}
        return super().fit(X, y, sample_weight)


def make_model(n_cov, n_vol):
    cov, vol = list(range(n_cov)), list(range(n_cov, n_cov + n_vol))
    return Pipeline([
        ("scale_prune", ColumnTransformer([
            ("covariates", "passthrough", cov),
            ("volumes", make_pipeline(MinMaxScaler((-1, 1)), VarianceThreshold(0.0)), vol),
        ])),
        ("regress_out", RegressOut(n_cov)),
        ("pca", PCA(n_components=13)),
        ("scale", MinMaxScaler((-1, 1))),
        ("svc", WeightedLinearSVC(loss="squared_hinge", dual=True, tol=0.01, fit_intercept=False, max_iter=1000,
                                  random_state=0)),
    ])


def metrics(score, y):
    pos, neg = y > 0, y < 0
    sens = np.sum(pos & (score > 0)) / np.sum(pos)
    spec = np.sum(neg & (score < 0)) / np.sum(neg)
    # AUC by Mann-Whitney, ties 1/2 (as nl.ml.metrics).
    diff = score[pos][:, None] - score[neg][None, :]
    auc = (np.sum(diff > 0) + 0.5 * np.sum(diff == 0)) / diff.size
    return 0.5 * (sens + spec), auc


def main():
    path = sys.argv[1]
    n_jobs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    n_outer = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
    data = np.loadtxt(path, delimiter="\t", skiprows=1, usecols=range(1, len(header)))
    cols = header[1:]
    y = data[:, cols.index("response")].astype(int)
    vol = [j for j, c in enumerate(cols) if c.startswith("r") and c[1:].isdigit()]
    Z = np.column_stack([data[:, [cols.index(c) for c in COVARIATES]], data[:, vol]])
    model = make_model(len(COVARIATES), len(vol))
    grid = 2.0 ** np.arange(-6, 5)

    t0, c0 = time.perf_counter(), time.process_time()
    scores = [[] for _ in y]
    chosen = []
    outer = RepeatedStratifiedKFold(n_splits=3, n_repeats=5, random_state=1)
    for k, (train, test) in enumerate(outer.split(Z, y)):
        if k == n_outer:
            break
        Ztr, ytr = Z[train], y[train]
        inner = list(RepeatedStratifiedKFold(n_splits=3, n_repeats=5, random_state=100 + k).split(Ztr, ytr))
        search = GridSearchCV(model, {"svc__C": grid}, scoring="balanced_accuracy", cv=inner, refit=False,
                              n_jobs=n_jobs)
        search.fit(Ztr, ytr)
        C = search.cv_results_["param_svc__C"][search.best_index_]
        chosen.append(C)
        # NeuroMiner's base models: preprocessing fitted on inner-train, the SVC retrained
        # on inner-train + inner-test at the chosen C, scoring the outer test subjects.
        for itr, ite in inner:
            m = clone(model).set_params(svc__C=C)
            pre, svc = m[:-1].fit(Ztr[itr]), m[-1]
            svc.fit(np.vstack([pre.transform(Ztr[itr]), pre.transform(Ztr[ite])]), np.concatenate([ytr[itr], ytr[ite]]))
            for i, s in zip(test, svc.decision_function(pre.transform(Z[test]))):
                scores[i].append(s)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0

    key = f"sk{n_jobs}"
    print(f"sk_version {sklearn.__version__}")
    print(f"sk_outer_folds {len(chosen)}")
    print(f"{key}_wall {wall * 15 / len(chosen):.4f}")
    print(f"{key}_cpu {cpu * 15 / len(chosen):.4f}")
    print(f"{key}_chosen_C {','.join(f'{c:g}' for c in chosen)}")
    if len(chosen) == 15:
        bac, auc = metrics(np.array([np.median(s) for s in scores]), y)
        print(f"{key}_bac {bac:.4f}")
        print(f"{key}_auc {auc:.4f}")


if __name__ == "__main__":
    main()

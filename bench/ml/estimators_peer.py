#!/usr/bin/python3
"""bench/ml/estimators_peer.py DATA_DIR OUT_DIR [TAG]: scikit-learn's side of
bench/ml/estimators.sh, the peer of estimators.lua on the same files.

The same cases with scikit-learn's spellings (estimators.lua lists neurolua's):

  svc           LinearSVC(loss="squared_hinge", dual=True, C=0.01, tol=0.01,
                fit_intercept=False)                     LIBLINEAR -s 1 -e 0.01 -B -1
  svr           LinearSVR(loss="squared_epsilon_insensitive", dual=True, C=0.01,
                epsilon=0.1, tol=0.001, fit_intercept=True, intercept_scaling=1)
                                                         LIBLINEAR -s 12 -B 1
  logistic      LogisticRegression(solver="liblinear", C=0.01, tol=0.01)   -s 0 -B 1
  ridge         Ridge(alpha=1)  (solver "auto": Cholesky for dense X)
  kernel_ridge  KernelRidge(alpha=1, kernel="rbf", gamma=g)
  kernel_svc    SVC(kernel="rbf", C=1, gamma=g, tol=0.001)  (LIBSVM, cache 200 MB)

with g = 1 / (p var(X)) from gamma<p>.txt, max_iter 1000 for the LIBLINEAR models (as
neurolua's) and random_state=0. The nested CV: per outer fold (outer_folds<n>.csv), a
GridSearchCV of Pipeline(MinMaxScaler((-1, 1)), Ridge) over the 7 alphas, scored by
MAE, on the inner folds neurolua drew (OUT_DIR/inner_folds_<n>_<p>.csv; when absent,
KFold(5, shuffle=True, random_state=0)), refit on the outer training set: what
cross_val_predict(GridSearchCV(...)) computes, with the folds of the neurolua run.

Prints the same lines as estimators.lua (`fit ...`, `nested ...`; times are medians per
call of time.process_time and time.perf_counter) and writes the predictions as
OUT_DIR/<TAG>_<case>_<n>_<p>.txt (TAG defaults to sk).
Environment: as estimators.lua (SIZES, PS, CASES_ONLY, REPEATS, MIN_SECONDS, NESTED,
NESTED_RUNS). The BLAS should run on one thread: estimators.sh sets
OPENBLAS_NUM_THREADS=1 and OMP_NUM_THREADS=1.
"""
import gc
import os
import sys
import time

try:
    import numpy as np
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler
    from sklearn.svm import SVC, LinearSVC, LinearSVR
except ImportError as e:
    sys.exit(f"bench/ml/estimators_peer.py: the peer needs NumPy, SciPy and scikit-learn in {sys.executable} "
             f"({e}); on Debian: apt-get install python3-sklearn")

data, out = sys.argv[1], sys.argv[2]
tag = sys.argv[3] if len(sys.argv) > 3 else "sk"


def env_list(name, default):
    return [v for v in os.environ.get(name, default).replace(" ", "").split(",") if v]


sizes = [int(v) for v in env_list("SIZES", "100,300,1000")]
ps = [int(v) for v in env_list("PS", "116,2000")]
repeats = int(os.environ.get("REPEATS", "5"))
min_seconds = float(os.environ.get("MIN_SECONDS", "0.5"))
only = set(env_list("CASES_ONLY", "")) or None
nested_sizes = env_list("NESTED", "300x116,1000x116,300x2000")
nested_runs = int(os.environ.get("NESTED_RUNS", "3"))

LIBLINEAR = dict(max_iter=1000, random_state=0)
CASES = [
    ("svc", "label", lambda g: LinearSVC(loss="squared_hinge", dual=True, C=0.01, tol=0.01, fit_intercept=False,
                                         **LIBLINEAR)),
    ("svr", "y", lambda g: LinearSVR(loss="squared_epsilon_insensitive", dual=True, C=0.01, epsilon=0.1, tol=0.001,
                                     fit_intercept=True, intercept_scaling=1.0, **LIBLINEAR)),
    ("logistic", "label", lambda g: LogisticRegression(solver="liblinear", C=0.01, tol=0.01, fit_intercept=True,
                                                       intercept_scaling=1.0, **LIBLINEAR)),
    ("ridge", "y", lambda g: Ridge(alpha=1.0)),
    ("kernel_ridge", "y", lambda g: KernelRidge(alpha=1.0, kernel="rbf", gamma=g)),
    ("kernel_svc", "label", lambda g: SVC(kernel="rbf", C=1.0, gamma=g, tol=0.001)),
]
ALPHAS = [0.01, 0.1, 1, 10, 100, 1000, 10000]
N_POOL, N_TEST = 1000, 200


def timeit(fn):
    """Median CPU and wall time per call, as time() in estimators.lua: one warm-up call,
    then at least `repeats` batches (of calls lasting about 2 ms together) and at least
    `min_seconds` in all."""
    fn()
    c0 = time.process_time()
    fn()
    one = time.process_time() - c0
    batch = max(1, int(2e-3 / max(one, 1e-7))) if one < 2e-3 else 1
    cpu, wall, start = [], [], time.perf_counter()
    while len(cpu) < repeats or time.perf_counter() - start < min_seconds:
        w, c = time.perf_counter(), time.process_time()
        for _ in range(batch):
            fn()
        cpu.append((time.process_time() - c) / batch)
        wall.append((time.perf_counter() - w) / batch)
    return float(np.median(cpu)), float(np.median(wall)), len(cpu) * batch


def write_column(path, v):
    with open(path, "w") as f:
        f.write("".join("%.17g\n" % x for x in np.ravel(v)))


loaded = {}


def load(p):
    if p not in loaded:
        M = np.loadtxt(f"{data}/data{p}.csv", delimiter=",", skiprows=1)
        with open(f"{data}/gamma{p}.txt") as f:
            gamma = float(f.readline())
        loaded[p] = dict(y=M[:, 0].copy(), label=M[:, 1].copy(), X=np.ascontiguousarray(M[:, 2:]), gamma=gamma)
    return loaded[p]


def iterations(est):
    it = getattr(est, "n_iter_", None)
    if it is None:
        return 1
    return int(np.max(it))


sys.stdout.reconfigure(line_buffering=True)
for p in ps:
    d = load(p)
    Xtest = d["X"][N_POOL:N_POOL + N_TEST]
    for n in sizes:
        X = d["X"][:n]
        for name, kind, make in CASES:
            if only and name not in only:
                continue
            target = d[kind][:n]
            est = make(d["gamma"])
            cpu, wall, calls = timeit(lambda: est.fit(X, target))
            est = make(d["gamma"]).fit(X, target)
            pred = est.predict(Xtest) if kind == "y" else est.decision_function(Xtest)
            write_column(f"{out}/{tag}_{name}_{n}_{p}.txt", pred)
            print(f"fit {name} {n} {p} {cpu:.6g} {wall:.6g} {calls} {iterations(est)}")
            gc.collect()

for s in nested_sizes:
    n, p = (int(v) for v in s.split("x"))
    d = load(p)
    X, y = d["X"][:n], d["y"][:n]
    outer = np.loadtxt(f"{data}/outer_folds{n}.csv", skiprows=1, dtype=int)
    folds_path = f"{out}/inner_folds_{n}_{p}.csv"
    inner = np.loadtxt(folds_path, delimiter=",", skiprows=1, dtype=int) if os.path.exists(folds_path) else None
    splits = []
    for o in range(1, 6):
        train, test = np.flatnonzero(outer != o), np.flatnonzero(outer == o)
        if inner is not None:
            rows = inner[inner[:, 0] == o]
            subject, fold = rows[:, 1] - 1, rows[:, 2]
            assert np.array_equal(subject, train), "inner folds: the subjects differ from the outer training set"
            cv = [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(1, 6)]
        else:
            cv = KFold(5, shuffle=True, random_state=0)
        splits.append((train, test, cv))
    pipe = Pipeline([("scale", MinMaxScaler(feature_range=(-1, 1))), ("ridge", Ridge())])

    def run():
        pred, chosen = np.empty(n), []
        for train, test, cv in splits:
            gs = GridSearchCV(pipe, {"ridge__alpha": ALPHAS}, cv=cv, scoring="neg_mean_absolute_error",
                              refit=True, n_jobs=1).fit(X[train], y[train])
            pred[test] = gs.predict(X[test])
            chosen.append(gs.best_params_["ridge__alpha"])
        return pred, chosen

    pred, chosen = run()  # warm-up, and the result written below
    cpu, wall = [], []
    for _ in range(nested_runs):
        w, c = time.perf_counter(), time.process_time()
        run()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
        gc.collect()
    write_column(f"{out}/{tag}_nested_{n}_{p}.txt", pred)
    print(f"nested {n} {p} {np.median(cpu):.6g} {np.median(wall):.6g} {nested_runs} "
          + "/".join("%g" % a for a in chosen))

#!/usr/bin/python3
"""Reference fits for tests/engine/ml/test_svc.cpp, computed by liblinear-train itself.

Run from anywhere (needs the Debian packages liblinear-tools, python3-sklearn,
python3-numpy; use /usr/bin/python3, not a virtualenv without NumPy):

    /usr/bin/python3 tests/data/svc/make_fixtures.py

It rewrites the CSV files next to this script (see README.md for their layout):

  data_<set>.csv       y (+1/-1) then the features; the exact numbers given to
                       liblinear (each value rounded to 4 decimals, written in the
                       shortest form that reads back as the same double)
  cases.csv            one row per case: C, Cp, Cn, bias, which liblinear solver gave
                       the reference (s1 or s2, see run_case) and its options
  w_<case>.csv         liblinear's weight vector from the model file ("%.17g");
                       with -B, the last entry is the bias weight
  decision_<case>.csv  X w (+ bias * w_bias) from those weights, in NumPy float64;
                       the signs are checked against liblinear-predict's labels

liblinear orders labels by first appearance but swaps a -1/+1 pair so that +1 is the
"positive" side of w; every data set here starts with a +1 row anyway, and the script
reads the model's "label" line and negates w if +1 is not first, so the stored w
always scores +1 on the positive side.
"""
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import sklearn
from sklearn.datasets import load_breast_cancer

HERE = os.path.dirname(os.path.abspath(__file__))


def rounded(X):
    """Round to 4 decimals and turn -0.0 into 0.0; these doubles are the data."""
    return np.round(X, 4) + 0.0


def simulated(n_pos, n_neg, p, seed):
    """Two Gaussian classes: unit variance, means +-0.5 on the first 5 features.
    Row 0 is a +1 sample (liblinear's label order, see the module docstring)."""
    rng = np.random.default_rng(seed)
    y = np.array([1.0] * n_pos + [-1.0] * n_neg)
    perm = np.concatenate([[0], 1 + rng.permutation(n_pos + n_neg - 1)])
    y = y[perm]
    mu = np.zeros(p)
    mu[:5] = 0.5
    X = rng.normal(size=(y.size, p)) + np.outer(y, mu)
    return rounded(X), y


def breast_cancer():
    """sklearn's copy of the Wisconsin diagnostic breast-cancer table (569 x 30).
    Label +1 = malignant (target 0), -1 = benign (target 1); the first row is
    malignant. Each feature is min-max scaled to [-1, 1] over all 569 rows:
    x' = 2 (x - min) / (max - min) - 1, then rounded to 4 decimals."""
    d = load_breast_cancer()
    X = d.data
    y = np.where(d.target == 0, 1.0, -1.0)
    assert y[0] == 1.0
    lo, hi = X.min(axis=0), X.max(axis=0)
    return rounded(2.0 * (X - lo) / (hi - lo) - 1.0), y


def num(v):
    return repr(float(v))


def write_data(name, X, y):
    with open(os.path.join(HERE, f"data_{name}.csv"), "w") as f:
        f.write(",".join(["y"] + [f"x{j + 1}" for j in range(X.shape[1])]) + "\n")
        for yi, row in zip(y, X):
            f.write(",".join(["%d" % yi] + [num(v) for v in row]) + "\n")


def write_libsvm(path, X, y):
    with open(path, "w") as f:
        for yi, row in zip(y, X):
            f.write("%+d " % yi + " ".join(f"{j + 1}:{num(v)}" for j, v in enumerate(row)) + "\n")


def read_model(path):
    text = open(path).read()
    labels = [int(t) for t in re.search(r"^label (.*)$", text, re.M).group(1).split()]
    bias = float(re.search(r"^bias (.*)$", text, re.M).group(1))
    w = np.array([float(t) for t in text.split("\nw\n", 1)[1].split()])
    if labels == [-1, 1]:
        w = -w
    elif labels != [1, -1]:
        sys.exit(f"{path}: unexpected labels {labels}")
    return w, bias


def train(tmp, case, solver, eps, train_file, C, wneg, bias):
    """Runs liblinear-train; returns (w, iterations) or None when it hit max_iter."""
    model = os.path.join(tmp, f"{case}_s{solver}.model")
    opts = ["-s", solver, "-c", "%.17g" % C, "-w1", "1", "-w-1", "%.17g" % wneg,
            "-B", "%.17g" % bias, "-e", eps]
    out = subprocess.run(["liblinear-train"] + opts + [train_file, model], check=True,
                         capture_output=True, text=True).stdout
    if "reaching max number of iterations" in out:
        return None, opts, model
    w, mbias = read_model(model)
    assert mbias == bias
    return w, opts, model


def run_case(tmp, case, name, X, y, C, balanced, bias):
    """Reference solution: the dual coordinate-descent solver (-s 1, the algorithm
    under test) at eps 1e-6. Where it stops at liblinear's fixed 1000 iterations
    without converging (large C on non-separable data), the same primal problem is
    solved by liblinear's trust-region Newton solver (-s 2) at eps 1e-10 instead.
    -s 2 is always run as a cross-check: both must agree to 1e-6."""
    n_pos, n_neg = int((y > 0).sum()), int((y < 0).sum())
    Cp = C
    wneg = n_pos / n_neg if balanced else 1.0
    Cn = C * wneg
    train_file = os.path.join(tmp, f"{name}.txt")
    w1, opts1, model1 = train(tmp, case, "1", "1e-6", train_file, C, wneg, bias)
    w2, opts2, model2 = train(tmp, case, "2", "1e-10", train_file, C, wneg, bias)
    assert w2 is not None, case
    if w1 is not None:
        err = np.max(np.abs(w1 - w2)) / np.max(np.abs(w2))
        assert err < 1e-6, (case, err)
        w, opts, model, ref = w1, opts1, model1, "s1"
    else:
        w, opts, model, ref = w2, opts2, model2, "s2"
    dec = X @ w[: X.shape[1]] + (bias * w[-1] if bias >= 0 else 0.0)
    # Cross-check the sign convention against liblinear-predict's labels.
    pred = os.path.join(tmp, f"{case}.pred")
    subprocess.run(["liblinear-predict", train_file, model, pred], check=True, capture_output=True)
    labels = np.loadtxt(pred)
    nz = dec != 0
    assert np.all(np.sign(dec[nz]) == labels[nz]), case
    np.savetxt(os.path.join(HERE, f"w_{case}.csv"), w, fmt="%.17g", header="w", comments="")
    np.savetxt(os.path.join(HERE, f"decision_{case}.csv"), dec, fmt="%.15g", header="decision",
               comments="")
    return f"{case},{name},{C!r},{Cp!r},{Cn!r},{bias!r},{ref},{' '.join(opts)}"


def version(cmd):
    return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()


def main():
    sets = {
        "sim13": simulated(34, 32, 13, 20240613),
        "sim136": simulated(30, 36, 136, 20240136),
        "breast": breast_cancer(),
    }
    # (case, data set, C, balanced, bias)
    cases = []
    for name in sets:
        for tag, C in (("m6", 2.0 ** -6), ("0", 1.0), ("4", 2.0 ** 4)):
            cases.append((f"{name}_c{tag}", name, C, True, -1.0))
    cases += [("sim13_c0_bias", "sim13", 1.0, True, 1.0),
              ("breast_c0_bias", "breast", 1.0, True, 1.0),
              ("sim13_c0_unweighted", "sim13", 1.0, False, -1.0)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (X, y) in sets.items():
            write_data(name, X, y)
            write_libsvm(os.path.join(tmp, f"{name}.txt"), X, y)
        for case, name, C, balanced, bias in cases:
            X, y = sets[name]
            rows.append(run_case(tmp, case, name, X, y, C, balanced, bias))
    with open(os.path.join(HERE, "cases.csv"), "w") as f:
        f.write("case,data,C,Cp,Cn,bias,reference,liblinear_options\n")
        f.write("\n".join(rows) + "\n")
    with open(os.path.join(HERE, "versions.txt"), "w") as f:
        f.write("liblinear-tools " + version(["dpkg-query", "-W", "-f=${Version}", "liblinear-tools"]) + "\n")
        f.write("python3-sklearn " + version(["dpkg-query", "-W", "-f=${Version}", "python3-sklearn"]) + "\n")
        f.write(f"sklearn {sklearn.__version__}\nnumpy {np.__version__}\n")


if __name__ == "__main__":
    main()

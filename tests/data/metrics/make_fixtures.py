#!/usr/bin/python3
"""Reference metrics for tests/engine/ml/test_metrics.cpp, computed by scikit-learn
(and, by make_fixtures.R, by R's pROC).

Run (Debian python3-sklearn, python3-numpy; r-base-core and r-cran-proc for pROC):

    /usr/bin/python3 tests/data/metrics/make_fixtures.py

Writes next to this script:
  scores.csv           case, label (+1/-1), score: the inputs
  sklearn_metrics.csv  per case: confusion counts from sklearn.metrics.confusion_matrix
                       on the samples with a non-zero score (prediction = sign of the
                       score; a score of exactly 0 predicts nothing), the ratios, and
                       roc_auc_score on all samples; "nan" where a denominator is 0
  sklearn_roc.csv      case, threshold, fpr, tpr from roc_curve(drop_intermediate=False)
                       (sklearn 1.2 starts the thresholds at max(score) + 1)
  proc_auc.csv         case, pROC's auc() (written by make_fixtures.R)
  versions.txt         package versions
"""
import math
import os
import subprocess

import numpy as np
import sklearn
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, confusion_matrix,
                             precision_score, recall_score, roc_auc_score, roc_curve)

HERE = os.path.dirname(os.path.abspath(__file__))


def cases():
    rng = np.random.default_rng(20240705)
    out = {}
    out["ties_small"] = (
        [1, 1, -1, 1, -1, -1, 1, -1, 1, -1, 1, -1],
        [0.9, 0.8, 0.8, 0.5, 0.5, 0.5, 0.3, 0.1, 0.0, -0.2, -0.5, -0.5])
    y = rng.choice([1, -1], size=40)
    out["rounded40"] = (y, np.round(rng.normal(size=40) + 0.6 * y, 1))
    y = rng.choice([1, -1], size=30)
    out["integers30"] = (y, np.clip(np.round(rng.normal(size=30) + 0.7 * y), -2, 2))
    y = rng.choice([1, -1], size=25)
    out["continuous25"] = (y, rng.normal(size=25) + 0.8 * y)
    y = np.array([1] * 3 + [-1] * 20)
    out["imbalanced"] = (y, np.round(rng.normal(size=23) + 0.5 * y, 1))
    out["perfect"] = ([-1, -1, 1, 1, 1], [-0.3, -0.1, 0.2, 0.4, 0.4])
    out["reversed"] = ([1, 1, -1, -1], [-2.0, -1.0, 1.0, 3.0])
    out["all_positive_scores"] = ([1, -1, 1, -1, 1], [0.5, 0.2, 0.2, 1.5, 3.0])
    out["zeros"] = ([1, -1, 1, -1, -1, 1, 1], [0.0, 0.0, 0.7, -0.4, 0.0, -0.1, 0.3])
    return {k: (np.asarray(y, dtype=int), np.asarray(s, dtype=float)) for k, (y, s) in out.items()}


def ratio(a, b):
    return a / b if b > 0 else math.nan


def num(v):
    return "nan" if math.isnan(v) else repr(float(v))


def metrics(y, s):
    pred = np.sign(s).astype(int)
    m = pred != 0
    (TN, FP), (FN, TP) = confusion_matrix(y[m], pred[m], labels=[-1, 1])
    sens, spec = ratio(TP, TP + FN), ratio(TN, TN + FP)
    ppv, npv = ratio(TP, TP + FP), ratio(TN, TN + FN)
    acc = ratio(TP + TN, TP + TN + FP + FN)
    bac = (sens + spec) / 2
    # The same numbers through sklearn's own scorers where they are defined.
    if TP + FN > 0:
        assert sens == recall_score(y[m], pred[m], pos_label=1)
    if TN + FP > 0:
        assert spec == recall_score(y[m], pred[m], pos_label=-1)
    if TP + FN > 0 and TN + FP > 0:
        assert abs(bac - balanced_accuracy_score(y[m], pred[m])) < 1e-15
    if TP + FP > 0:
        assert ppv == precision_score(y[m], pred[m], pos_label=1)
    if TN + FN > 0:
        assert npv == precision_score(y[m], pred[m], pos_label=-1)
    assert acc == accuracy_score(y[m], pred[m])
    auc = roc_auc_score(y, s)
    counts = [int(TP), int(TN), int(FP), int(FN), int((~m).sum())]
    return counts + [sens, spec, bac, ppv, npv, acc, auc]


def main():
    cs = cases()
    with open(os.path.join(HERE, "scores.csv"), "w") as f:
        f.write("case,label,score\n")
        for name, (y, s) in cs.items():
            for yi, si in zip(y, s):
                f.write(f"{name},{yi},{num(si)}\n")
    with open(os.path.join(HERE, "sklearn_metrics.csv"), "w") as f:
        f.write("case,TP,TN,FP,FN,undecided,sensitivity,specificity,BAC,PPV,NPV,accuracy,AUC\n")
        for name, (y, s) in cs.items():
            r = metrics(y, s)
            f.write(",".join([name] + [str(v) for v in r[:5]] + [num(v) for v in r[5:]]) + "\n")
    with open(os.path.join(HERE, "sklearn_roc.csv"), "w") as f:
        f.write("case,threshold,fpr,tpr\n")
        for name, (y, s) in cs.items():
            fpr, tpr, thr = roc_curve(y, s, pos_label=1, drop_intermediate=False)
            for t, a, b in zip(thr, fpr, tpr):
                f.write(f"{name},{num(t)},{num(a)},{num(b)}\n")
    def deb(pkg):
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True,
                              text=True).stdout.strip()

    versions = [f"sklearn {sklearn.__version__} (Debian python3-sklearn {deb('python3-sklearn')})",
                f"numpy {np.__version__} (Debian python3-numpy {deb('python3-numpy')})",
                f"Debian r-cran-proc {deb('r-cran-proc')}, r-base-core {deb('r-base-core')}"]
    r = subprocess.run(["Rscript", os.path.join(HERE, "make_fixtures.R")], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("make_fixtures.R failed:\n" + r.stderr)
    versions.append(r.stdout.strip())
    with open(os.path.join(HERE, "versions.txt"), "w") as f:
        f.write("\n".join(versions) + "\n")


if __name__ == "__main__":
    main()

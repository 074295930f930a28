#!/usr/bin/env python3
"""tests/data/ml/make_knn_impute_fixture.py: the reference for nl.ml.impute{strategy =
"knn"} (tests/lua/test_ml.lua). Real data: the 20 aseg volumes of tests/data/ml/combat/
input.csv (ABIDE, FreeSurfer 6; see tests/data/ml/README.md), rows 1-80 for training and
81-132 to transform, with cells removed by a fixed pattern (NumPy seed 5: about 12 % of
the cells, plus one training column missing in every row but three, and one
transformed row missing everything but one volume). scikit-learn's
KNNImputer(n_neighbors = 3, weights = "uniform", keep_empty_features = True) is fitted
on the training rows and transforms both. Writes knn_impute/train.csv, test.csv (with
NA for the removed cells) and train_imputed.csv, test_imputed.csv (17 significant
digits). Versions in knn_impute/VERSIONS."""
import os
import numpy as np
import sklearn
from sklearn.impute import KNNImputer

here = os.path.dirname(os.path.abspath(__file__))
src = os.path.join(here, "combat", "input.csv")
with open(src) as f:
    header = f.readline().rstrip("\n").split(",")
cols = header[4:]
X = np.loadtxt(src, delimiter=",", skiprows=1, usecols=range(4, len(header)))
rng = np.random.default_rng(5)
X[rng.random(X.shape) < 0.12] = np.nan
X[3:80, 5] = np.nan  # a training column with three values only
X[100, 1:] = np.nan  # a row with one volume
train, test = X[:80], X[80:]
imp = KNNImputer(n_neighbors=3, weights="uniform", keep_empty_features=True).fit(train)
out = os.path.join(here, "knn_impute")
os.makedirs(out, exist_ok=True)


def write(name, M):
    with open(os.path.join(out, name), "w") as f:
        f.write(",".join(cols) + "\n")
        for row in M:
            f.write(",".join("NA" if np.isnan(v) else repr(float(v)) for v in row) + "\n")


write("train.csv", train)
write("test.csv", test)
write("train_imputed.csv", imp.transform(train))
write("test_imputed.csv", imp.transform(test))
with open(os.path.join(out, "VERSIONS"), "w") as f:
    f.write(f"scikit-learn {sklearn.__version__}, NumPy {np.__version__}\n")

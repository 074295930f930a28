#!/usr/bin/python3
# Writes impute.txt: training and test rows with missing values (nan) and scikit-learn
# SimpleImputer's output on the test rows for strategy mean, median and constant
# (fill_value 2.5), fitted on the training rows; keep_empty_features=True (a column
# with no observed training value is filled with 0, or with fill_value for
# "constant"). The reference of nl.ml.impute (tests/lua/test_ml.lua).
#   /usr/bin/python3 make_impute.py   (Debian python3-sklearn)
import numpy as np
import sklearn
from sklearn.impute import SimpleImputer

nan = np.nan
train = np.array([
    [1.0, 10.0, nan, 3.0],
    [2.0, nan, nan, 1.0],
    [nan, 30.0, nan, 4.0],
    [4.0, 20.0, nan, 1.0],
    [7.5, 40.0, nan, nan],
    [nan, 25.0, nan, 9.0],
])
test = np.array([
    [nan, nan, nan, nan],
    [3.0, nan, 5.0, 2.0],
    [nan, 11.0, nan, -1.0],
])
with open("impute.txt", "w") as f:
    f.write(f"# SimpleImputer, scikit-learn {sklearn.__version__}, numpy {np.__version__}\n")
    def put(name, m):
        f.write(f"{name} {m.shape[0]} {m.shape[1]}\n")
        for row in m:
            f.write(" ".join("nan" if np.isnan(v) else repr(float(v)) for v in row) + "\n")
    put("train", train)
    put("test", test)
    for strategy in ("mean", "median", "constant"):
        kw = {"fill_value": 2.5} if strategy == "constant" else {}
        imp = SimpleImputer(missing_values=nan, strategy=strategy, keep_empty_features=True, **kw).fit(train)
        put(strategy, imp.transform(test))
        put(strategy + "_statistics", imp.statistics_.reshape(1, -1))

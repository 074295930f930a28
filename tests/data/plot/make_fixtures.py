#!/usr/bin/python3
# Reference values for tests/engine/plot/test_chart.cpp, from scipy and statsmodels
# (Debian's python3-scipy, python3-statsmodels). Run: /usr/bin/python3 make_fixtures.py
#
#  ward_rows_*:  scipy.cluster.hierarchy.linkage(X, "ward", optimal_ordering=True)
#                (Euclidean rows) and leaves_list: nl.plot.heatmap's order = "hierarchy"
#  netmat_*:     FSLNets' hierarchy (fsl.nets.hierarchy, hierarchy.py of Python FSLNets:
#                negative entries zeroed, divided by the 99th percentile of |netmat|,
#                clamped to [-1, 1], d = 0.5 - value / 2, condensed upper triangle,
#                linkage(d, "ward", optimal_ordering=True)) and leaves_list:
#                nl.plot.netmat's default order
#  ols_*:        statsmodels OLS(y, [1, x]).get_prediction(at).conf_int(alpha=0.05) and
#                predicted_mean: the 95 % confidence band of the mean
import numpy as np
import scipy
import scipy.cluster.hierarchy as sch
import statsmodels
import statsmodels.api as sm

rng = np.random.default_rng(20261206)


def save(name, a):
    np.savetxt(name, np.atleast_2d(a), fmt="%.17g", delimiter="\t")


# Ward on rows
X = rng.normal(size=(10, 3))
Z = sch.linkage(X, "ward", optimal_ordering=True)
save("ward_rows_X.tsv", X)
save("ward_rows_Z.tsv", Z)
save("ward_rows_leaves.tsv", sch.leaves_list(Z))

# FSLNets netmat hierarchy: 3 blocks of 5 nodes plus noise
n = 15
block = np.repeat(np.arange(3), 5)
netmat = np.where(block[:, None] == block[None, :], 1.5, -0.3) + rng.normal(scale=0.6, size=(n, n))
netmat = (netmat + netmat.T) / 2
np.fill_diagonal(netmat, 0)
c = netmat.copy()
c[c < 0] = 0
c = c / np.percentile(np.abs(c), 99)
c = np.clip(c, -1, 1)
d = 0.5 - c / 2
y = d[np.triu_indices(n, 1)]
Zn = sch.linkage(y, method="ward", optimal_ordering=True)
save("netmat.tsv", netmat)
save("netmat_Z.tsv", Zn)
save("netmat_leaves.tsv", sch.leaves_list(Zn))

# OLS confidence band of the mean
x = rng.uniform(0, 10, size=25)
yv = 1.5 + 0.4 * x + rng.normal(scale=1.2, size=25)
fit = sm.OLS(yv, sm.add_constant(x)).fit()
at = np.linspace(-1, 11, 7)
pred = fit.get_prediction(sm.add_constant(at))
ci = pred.conf_int(alpha=0.05)
save("ols_xy.tsv", np.column_stack([x, yv]))
save("ols_band.tsv", np.column_stack([at, pred.predicted_mean, ci[:, 0], ci[:, 1]]))

with open("versions.txt", "w") as f:
    f.write(f"numpy {np.__version__}\nscipy {scipy.__version__}\nstatsmodels {statsmodels.__version__}\n")

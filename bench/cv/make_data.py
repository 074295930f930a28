#!/usr/bin/python3
"""bench/cv/make_data.py OUT.tsv [SEED [N [P]]]: a data set shaped like the discovery cohort.

99 subjects (52 responders), 136 regional gray-matter volumes (ml) and the covariates
age, sex (0/1), site (0/1, the two scanner sequences) and tiv (ml). Volumes scale with
TIV, shrink with age, shift with site, share a few latent factors (so the regions are
correlated as real regional volumes are) and carry a modest planted signal: responders
have slightly larger volumes in 8 "frontal" regions and slightly smaller ones in 6
"cerebellar" regions, partly through one latent factor. Columns: subject, response
(1 / -1), age, sex, site, tiv, r001..r136. Fixed seed, so both tools read the same
numbers on every run.
"""
import sys

import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(int(sys.argv[2]) if len(sys.argv) > 2 else 20240501)
n, n_pos, p, n_factors = 99, 52, 136, 6
# Scaling runs (bench/cv/scaling.sh): N subjects (responders in the discovery cohort's
# proportion 52/99) and P regions; the defaults are the discovery cohort's shape.
if len(sys.argv) > 3:
    n = int(sys.argv[3])
    n_pos = round(n * 52 / 99)
if len(sys.argv) > 4:
    p = int(sys.argv[4])

y = np.where(rng.permutation(n) < n_pos, 1, -1)
age = np.clip(rng.normal(42, 12, n), 18, 65).round(1)
sex = (rng.random(n) < 0.55).astype(int)                 # 1 = female
site = (rng.random(n) < 0.4).astype(int)
tiv = (rng.normal(1480, 110, n) - 120 * sex).round(1)

base = np.exp(rng.normal(np.log(5.0), 0.6, p))            # mean regional volume, ml
age_slope = rng.normal(-0.003, 0.0015, p)                 # relative change per year
site_shift = rng.normal(0, 0.03, p)                       # relative scanner offset
loadings = rng.normal(0, 1, (n_factors, p)) * 0.035
factors = rng.normal(0, 1, (n, n_factors))
signal = np.zeros(p)
signal[:8] = 0.030                                        # frontal: larger in responders
signal[-6:] = -0.030                                      # cerebellar: smaller in responders
factors[:, 1] += 0.35 * y                                 # and a weak shift along factor 2
noise = rng.normal(0, 0.05, (n, p))

rel = (1 + age_slope * (age[:, None] - 42) + site_shift * site[:, None] + factors @ loadings
       + 0.5 * signal * y[:, None] + noise)
X = base * (tiv[:, None] / 1480) * rel

names = [f"r{j + 1:03d}" for j in range(p)]  # r001 ... (more digits past 999)
with open(out, "w") as f:
    f.write("\t".join(["subject", "response", "age", "sex", "site", "tiv"] + names) + "\n")
    for i in range(n):
        f.write("\t".join([f"sub-{i + 1:03d}", str(y[i]), f"{age[i]:.1f}", str(sex[i]), str(site[i]),
                           f"{tiv[i]:.1f}"] + [f"{v:.6f}" for v in X[i]]) + "\n")

#!/usr/bin/python3
"""bench/stats/make_data.py OUT_DIR: the connectome benchmark data set (fixed seed).

101 subjects (50 controls, 51 patients), 172 nodes -> 14,706 edges (upper triangle).
Edge values are Fisher-z partial correlations shaped like FSLNets output: an edge
mean and spread per edge, a shared subject factor, an age slope, a sex offset, and a
planted control > patient difference on 150 edges (d = 0.8). Writes
participants.tsv (participant_id, group, age, sex) and edges.tsv (one row per subject,
one column per edge named e<i>_<j>).
"""
import os
import sys

import numpy as np


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(2024)
    n, nodes = 101, 172
    iu = np.triu_indices(nodes, 1)
    m = len(iu[0])
    assert m == 14706
    group = np.array(["control"] * 50 + ["patient"] * 51)
    age = np.round(rng.normal(38, 11, n).clip(18, 70), 1)
    sex = rng.choice(["F", "M"], n)
    mu = rng.normal(0.05, 0.08, m)
    sd = rng.uniform(0.06, 0.12, m)
    factor = rng.normal(0, 1, n)
    loading = rng.normal(0, 0.3, m)
    Y = mu + sd * (rng.normal(0, 1, (n, m)) + np.outer(factor, loading))
    Y += np.outer((age - age.mean()) / 11, 0.15 * sd)
    Y += np.outer(sex == "M", 0.1 * sd)
    planted = rng.choice(m, 150, replace=False)
    Y[np.ix_(group == "control", planted)] += 0.8 * sd[planted]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "participants.tsv"), "w") as f:
        f.write("participant_id\tgroup\tage\tsex\n")
        for i in range(n):
            f.write("sub-%03d\t%s\t%.1f\t%s\n" % (i + 1, group[i], age[i], sex[i]))
    names = ["e%d_%d" % (a + 1, b + 1) for a, b in zip(*iu)]
    with open(os.path.join(out, "edges.tsv"), "w") as f:
        f.write("\t".join(names) + "\n")
        for i in range(n):
            f.write("\t".join("%.6f" % v for v in Y[i]) + "\n")
    np.save(os.path.join(out, "planted.npy"), planted)


if __name__ == "__main__":
    main()

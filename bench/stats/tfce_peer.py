#!/usr/bin/python3
"""The MNE-Python side of bench/stats/tfce.sh (python3-mne, Debian 12: MNE 1.3).

  tfce_peer.py DIR REPEATS PERMS OUT.tsv
Times (1) MNE's TFCE of DIR/map.nii.gz on the mask's voxels with their 6 face
neighbours (a sparse adjacency), step 0.1, H = 2, E = 0.5, tail 1; and with H = 0 from
start = 0.1 for the agreement check; (2) permutation_cluster_1samp_test with TFCE on
DIR/edges.tsv (edge adjacency: edges sharing a node), step 0.1, E = 0.5, H = 2, tail 0,
PERMS sign flips. Writes the scores and the p-values for the agreement check.
"""
import sys
import time

import mne
import nibabel
import numpy as np
from mne.stats import permutation_cluster_1samp_test
from mne.stats.cluster_level import _find_clusters
from scipy import sparse

d, repeats, perms, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
mne.set_log_level("ERROR")
vol = np.asarray(nibabel.load(d + "/map.nii.gz").dataobj, dtype=np.float64)  # (x, y, z), as neurolua reads it
inside = np.asarray(nibabel.load(d + "/mask.nii.gz").dataobj) != 0
flat = np.flatnonzero(inside.ravel(order="F"))  # the mask's voxels in storage order


# MNE on the mask's voxels as a 1-D array with a sparse adjacency of their 6 face
# neighbours (a 3-D array without adjacency makes MNE hold one full-volume boolean mask
# per cluster, which exhausts memory at low heights).
index = -np.ones(inside.size, dtype=np.int64)
index[flat] = np.arange(len(flat))
index = index.reshape(inside.shape, order="F")
rows, cols = [], []
for axis in range(3):
    a = [slice(None)] * 3
    b = [slice(None)] * 3
    a[axis], b[axis] = slice(0, -1), slice(1, None)
    u, v = index[tuple(a)].ravel(), index[tuple(b)].ravel()
    keep = (u >= 0) & (v >= 0)
    rows += [u[keep], v[keep]]
    cols += [v[keep], u[keep]]
rows, cols = np.concatenate(rows), np.concatenate(cols)
adjacency = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(flat), len(flat)))
x = vol.ravel(order="F")[flat]


def tfce_map(h_power, start):
    _, s = _find_clusters(x, dict(start=start, step=0.1, h_power=h_power, e_power=0.5), tail=1, adjacency=adjacency)
    return s


times = []
for _ in range(repeats):
    t0 = time.perf_counter()
    s = tfce_map(2, 0)
    times.append(time.perf_counter() - t0)
h0 = tfce_map(0, 0.1)
np.savetxt(out + ".h0", h0)
Y = np.loadtxt(d + "/edges.tsv", skiprows=1)
nodes = int(round((1 + np.sqrt(1 + 8 * Y.shape[1])) / 2))
ends = [(i, j) for i in range(nodes) for j in range(i + 1, nodes)]
at = [[] for _ in range(nodes)]
for k, (i, j) in enumerate(ends):
    at[i].append(k)
    at[j].append(k)
rows, cols = [], []
for k, (i, j) in enumerate(ends):
    for q in set(at[i] + at[j]) - {k}:
        rows.append(k)
        cols.append(q)
A = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(ends), len(ends)))
t0 = time.perf_counter()
T, _, p, _ = permutation_cluster_1samp_test(Y, threshold=dict(start=0, step=0.1, h_power=2, e_power=0.5),
                                            adjacency=A, n_permutations=perms, tail=0, seed=1, out_type="mask")
perm_time = time.perf_counter() - t0
np.savetxt(out + ".p", p)
with open(out, "w") as f:
    f.write("tool\tcase\tseconds\n")
    f.write("mne %s\tmap\t%.6f\n" % (mne.__version__, float(np.median(times))))
    f.write("mne %s\tedges_perm\t%.6f\n" % (mne.__version__, perm_time))

#!/usr/bin/python3
"""Cluster references for tests/engine/stats/test_cluster.cpp (scipy.ndimage.label + numpy).

Run with the system Python:  /usr/bin/python3 tests/data/cluster/make_fixtures.py

labels.txt: a 12 x 10 x 7 grid, a mask, a binary map; scipy.ndimage.label of the map
inside the mask with 6-, 18- and 26-connectivity (generate_binary_structure(3, 1|2|3)),
renumbered as neurolua numbers clusters (by decreasing size; equal sizes by the lowest
test index).

perm.txt (and mask.nii.gz, its mask): a two-sample voxelwise GLM (n = 16, one covariate) on a 10 x 9 x 6 grid with
smooth noise and a planted blob; 200 given rearrangements (identity first); plain numpy
Freedman-Lane |t| maps thresholded at 2 and labelled with 26-connectivity: the
observed clusters' sizes, max-size FWE p and pooled uncorrected p, and the largest
cluster of every map; the same for cluster mass (the sum of |t| over a cluster).
Tests are the mask's voxels in storage order (x fastest, as NIfTI and Volume:values).
"""
import os
import sys

import nibabel
import numpy as np
import scipy
from scipy import ndimage

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, matrices, comment):
    with open(os.path.join(HERE, name), "w") as f:
        f.write("# " + comment + "\n")
        for key, M in matrices:
            M = np.atleast_2d(np.asarray(M, dtype=float))
            f.write("matrix %s %d %d\n" % (key, M.shape[0], M.shape[1]))
            for row in M:
                f.write(" ".join("%.17g" % v for v in row) + "\n")


def tests_of(mask):
    """Linear positions (x fastest) of the mask's voxels, ascending."""
    return np.sort(np.ravel_multi_index(np.nonzero(mask), mask.shape, order="F"))


def labels_in_order(binary, mask, rank, tests):
    """scipy's labels of binary & mask, renumbered by decreasing size, ties by first test."""
    lab, k = ndimage.label(binary & mask, ndimage.generate_binary_structure(3, rank))
    flat = lab.ravel(order="F")[tests]
    sizes = np.bincount(flat, minlength=k + 1)[1:]
    first = np.array([np.flatnonzero(flat == c + 1)[0] for c in range(k)]) if k else np.array([])
    order = sorted(range(k), key=lambda c: (-sizes[c], first[c]))
    new = np.zeros(k + 1, dtype=int)
    for r, c in enumerate(order):
        new[c + 1] = r + 1
    return new[flat], sizes[order]


def null_space(C):
    _, _, vt = np.linalg.svd(C)
    return vt[np.linalg.matrix_rank(C):].T


def main():
    rng = np.random.default_rng(11)
    dims = (12, 10, 7)
    mask = ndimage.binary_erosion(rng.random(dims) < 0.93) | (rng.random(dims) < 0.3)
    mask[0, :, :] = False
    binary = ndimage.gaussian_filter(rng.normal(size=dims), 1.0) > 0.12
    tests = tests_of(mask)
    mats = [("dims", np.array(dims)), ("tests", tests), ("map", binary.ravel(order="F")[tests])]
    for rank, conn in [(1, 6), (2, 18), (3, 26)]:
        lab, sizes = labels_in_order(binary, mask, rank, tests)
        mats += [("labels%d" % conn, lab), ("sizes%d" % conn, sizes)]
    write("labels.txt", mats, "scipy %s ndimage.label references; see make_fixtures.py" % scipy.__version__)

    # Permutation cluster inference.
    dims = (10, 9, 6)
    mask = np.zeros(dims, dtype=bool)
    mask[1:9, 1:8, 1:5] = True
    mask &= rng.random(dims) < 0.95
    tests = tests_of(mask)
    n = 16
    g = np.array([0] * 8 + [1] * 8)
    cov = rng.normal(0, 1, n)
    blob = np.zeros(dims)
    blob[2:5, 2:5, 1:3] = 1.0
    maps = np.stack([ndimage.gaussian_filter(rng.normal(size=dims), 0.7) * 3 + 1.0 * blob * (g[i] == 0)
                     + 0.3 * cov[i] for i in range(n)])
    Y = maps.reshape(n, -1, order="F")[:, tests]
    X = np.column_stack([g == 0, g == 1, cov - cov.mean()]).astype(float)
    C = np.array([[1, -1, 0.0]])
    pinvX = np.linalg.pinv(X)
    df = n - np.linalg.matrix_rank(X)
    Z = X @ null_space(C)
    Hz = Z @ np.linalg.pinv(Z)
    E, HzY = Y - Hz @ Y, Hz @ Y
    D = pinvX @ pinvX.T

    def abs_t(Ys):
        B = pinvX @ Ys
        rss = ((Ys - X @ B) ** 2).sum(axis=0)
        return np.abs((C @ B)[0] / np.sqrt(rss / df * (C @ D @ C.T)[0, 0]))

    thr = 2.0
    full = np.zeros(dims, dtype=bool)
    perms = [np.arange(n)] + [rng.permutation(n) for _ in range(199)]
    maxima, pooled, mass_max, mass_pooled = [], [], [], []
    for k, p in enumerate(perms):
        T = abs_t(E[p] + HzY)
        flat = np.zeros(full.size, dtype=bool)
        flat[tests] = T >= thr
        full = flat.reshape(dims, order="F")
        lab, sizes = labels_in_order(full, mask, 3, tests)
        masses = np.array([T[lab == c + 1].sum() for c in range(len(sizes))])
        maxima.append(sizes.max() if len(sizes) else 0)
        pooled += list(sizes)
        mass_max.append(masses.max() if len(masses) else 0)
        mass_pooled += list(masses)
        if k == 0:
            T0, obs_lab, obs_sizes, obs_mass = T, lab, sizes, masses
    maxima, pooled = np.array(maxima), np.array(pooled)
    mass_max, mass_pooled = np.array(mass_max), np.array(mass_pooled)
    tol = obs_mass - 1e-10 * np.abs(obs_mass)
    mass_fwe = np.array([(mass_max >= z).sum() / len(perms) for z in tol])
    mass_unc = np.array([(mass_pooled >= z).sum() / len(mass_pooled) for z in tol])
    p_fwe = np.array([(maxima >= z).sum() / len(perms) for z in obs_sizes])
    p_unc = np.array([(pooled >= z).sum() / len(pooled) for z in obs_sizes])
    # The mask as a NIfTI file (2 mm voxels) for the Lua test.
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = [-10, -8, -4]
    nibabel.save(nibabel.Nifti1Image(mask.astype(np.uint8), affine), os.path.join(HERE, "mask.nii.gz"))
    write("perm.txt", [("dims", np.array(dims)), ("tests", tests), ("Y", Y), ("X", X), ("C", C),
                       ("perm", np.array(perms)), ("T", T0), ("labels", obs_lab), ("sizes", obs_sizes),
                       ("p_fwe", p_fwe), ("p_unc", p_unc), ("max_cluster", maxima),
                       ("mass", obs_mass), ("mass_p_fwe", mass_fwe), ("mass_p_unc", mass_unc), ("max_mass", mass_max)],
          "numpy Freedman-Lane |t| >= 2 clusters (26-connectivity, extent and mass), 200 given rearrangements")
    with open(os.path.join(HERE, "versions.txt"), "w") as f:
        f.write("python %s\nnumpy %s\nscipy %s\nnibabel %s\n" % (sys.version.split()[0], np.__version__,
                                                                   scipy.__version__, nibabel.__version__))


if __name__ == "__main__":
    main()

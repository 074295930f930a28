#!/usr/bin/python3
"""TFCE references for tests/engine/stats/test_tfce.cpp (MNE-Python's cluster finding).

Run with the system Python:  /usr/bin/python3 tests/data/tfce/make_fixtures.py
(Debian 12: python3-mne 1.3.0, python3-scipy, python3-numpy).

Two references for every map:

* "mne": MNE 1.3's own TFCE, mne.stats.cluster_level._find_clusters(x, threshold=
  dict(start=0, step=dh, h_power=H, e_power=E), tail, adjacency). MNE 1.3 adds
  dh^H * e^E per height (not h^H * e^E * dh; upstream fixed this in 2026, mne-python
  PR #14286), at the heights 0, dh, 2 dh, ... below the map's maximum, with x > h.
  neurolua's tfce_sum with those heights and weights dh^H must give the same scores:
  this checks the clusters, extents and sign handling against MNE itself.
* "paper": Smith & Nichols' sum, e_p(h)^E h^H dh over h = dh, 2 dh, ... <= max, where
  the clusters at every height are MNE's (_find_clusters with a scalar threshold,
  x >= h taken as x > nextafter(h, -inf)). neurolua's tfce() must give these.

Connectivity is always given to MNE as a sparse adjacency over the tests:
a 3-D mask's voxels (6 and 26 neighbours, tests in storage order, x fastest), the
nodes of a random graph, and the edges of a complete graph on 12 nodes (edges i < j in
row-major order, neighbours when they share a node).

perm.txt: max-TFCE FWE of tests/data/cluster/perm.txt's two-sample GLM (its 200 given
rearrangements): numpy Freedman-Lane signed t maps, paper TFCE two-sided (E 0.5, H 2,
dh auto = max |t| / 100 per map, 26 neighbours), uncorrected and FWE p.
"""
import os
import sys

import mne
import numpy as np
import scipy
from mne.stats.cluster_level import _find_clusters
from scipy import sparse

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, matrices, comment):
    with open(os.path.join(HERE, name), "w") as f:
        f.write("# " + comment + "\n")
        for key, M in matrices:
            M = np.atleast_2d(np.asarray(M, dtype=float))
            f.write("matrix %s %d %d\n" % (key, M.shape[0], M.shape[1]))
            for row in M:
                f.write(" ".join("%.17g" % v for v in row) + "\n")


def read(path):
    out, lines = {}, open(path).read().splitlines()
    i = 0
    while i < len(lines):
        if not lines[i] or lines[i][0] == "#":
            i += 1
            continue
        _, name, r, c = lines[i].split()
        r, c = int(r), int(c)
        out[name] = np.array([[float(v) for v in lines[i + 1 + k].split()] for k in range(r)])
        i += 1 + r
    return out


def grid_adjacency(dims, tests, conn):
    index = -np.ones(int(np.prod(dims)), dtype=int)
    index[tests] = np.arange(len(tests))
    most = {6: 1, 18: 2, 26: 3}[conn]
    rows, cols = [], []
    for t, v in enumerate(tests):
        x, y, z = np.unravel_index(v, dims, order="F")
        for dz in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    nz = (dx != 0) + (dy != 0) + (dz != 0)
                    if nz == 0 or nz > most:
                        continue
                    a, b, c = x + dx, y + dy, z + dz
                    if not (0 <= a < dims[0] and 0 <= b < dims[1] and 0 <= c < dims[2]):
                        continue
                    j = index[np.ravel_multi_index((a, b, c), dims, order="F")]
                    if j >= 0:
                        rows.append(t)
                        cols.append(j)
    n = len(tests)
    return sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)).tocoo()


def mne_tfce(x, adj, dh, E, H, tail):
    _, scores = _find_clusters(x, dict(start=0, step=dh, h_power=H, e_power=E), tail=tail, adjacency=adj)
    return scores


def paper_tfce(x, adj, dh, E, H, tail):
    top = np.max(np.abs(x)) if tail == 0 else np.max(x)
    if dh == "auto":
        levels = top * np.arange(1, 101) / 100.0
        levels[-1] = top  # top * 100 / 100 may round above the maximum
        step = top / 100.0
    else:
        levels = dh * np.arange(1, int(np.floor(top / dh)) + 2)
        levels = levels[levels <= top]
        step = dh
    score = np.zeros(len(x))
    for h in levels:
        clusters, _ = _find_clusters(x, np.nextafter(h, -np.inf), tail=tail, adjacency=adj)
        for c in clusters:
            score[c] += len(c) ** E * h ** H * step
    return score


def main():
    rng = np.random.default_rng(20)
    from scipy import ndimage
    mats = []
    # A volume: smooth signed map in an irregular mask.
    dims = (11, 9, 7)
    mask = ndimage.binary_erosion(rng.random(dims) < 0.95) | (rng.random(dims) < 0.25)
    tests = np.sort(np.ravel_multi_index(np.nonzero(mask), dims, order="F"))
    field = ndimage.gaussian_filter(rng.normal(size=dims), 1.2) * 9
    x = field.ravel(order="F")[tests]
    mats += [("dims", np.array(dims)), ("tests", tests), ("x", x)]
    for conn in (6, 26):
        adj = grid_adjacency(dims, tests, conn)
        for tail, side in ((1, "right"), (0, "two")):
            mats.append(("mne_%d_%s" % (conn, side), mne_tfce(x, adj, 0.1, 0.5, 2, tail)))
            mats.append(("paper_%d_%s" % (conn, side), paper_tfce(x, adj, 0.1, 0.5, 2, tail)))
    adj26 = grid_adjacency(dims, tests, 26)
    mats.append(("paper_26_two_auto", paper_tfce(x, adj26, "auto", 0.5, 2, 0)))
    # A graph: 40 nodes, random links, node values; E = 1, H = 2.
    nodes = 40
    links = np.array([(a, b) for a in range(nodes) for b in range(a + 1, nodes) if rng.random() < 0.08])
    A = sparse.coo_matrix((np.ones(2 * len(links)), (np.r_[links[:, 0], links[:, 1]], np.r_[links[:, 1], links[:, 0]])),
                          shape=(nodes, nodes)).tocoo()
    g = rng.normal(size=nodes) * 2 + 1
    mats += [("links", links), ("g", g), ("mne_graph", mne_tfce(g, A, 0.05, 1, 2, 0)),
             ("paper_graph", paper_tfce(g, A, 0.05, 1, 2, 0))]
    # Edges of a complete graph on 12 nodes (i < j, row-major): neighbours share a node.
    n = 12
    ends = np.array([(i, j) for i in range(n) for j in range(i + 1, n)])
    m = len(ends)
    share = np.array([[a != b and len({*ends[a]} & {*ends[b]}) > 0 for b in range(m)] for a in range(m)])
    EA = sparse.coo_matrix(share.astype(float))
    e = rng.normal(size=m) * 1.5 + 0.4
    mats += [("e", e), ("mne_edges", mne_tfce(e, EA, 0.1, 1, 2, 1)), ("paper_edges", paper_tfce(e, EA, 0.1, 1, 2, 1)),
             ("paper_edges_two", paper_tfce(e, EA, 0.1, 1, 2, 0))]
    write("maps.txt", mats, "MNE %s TFCE references (see make_fixtures.py)" % mne.__version__)

    # Max-TFCE FWE on tests/data/cluster/perm.txt.
    f = read(os.path.join(HERE, "..", "cluster", "perm.txt"))
    dims = tuple(int(v) for v in f["dims"].ravel())
    tests = f["tests"].ravel().astype(int)
    Y, X, C = f["Y"], f["X"], f["C"]
    perms = f["perm"].astype(int)
    n = Y.shape[0]
    pinvX = np.linalg.pinv(X)
    df = n - np.linalg.matrix_rank(X)
    _, _, vt = np.linalg.svd(C)
    Z = X @ vt[np.linalg.matrix_rank(C):].T
    Hz = Z @ np.linalg.pinv(Z)
    E_, HzY = Y - Hz @ Y, Hz @ Y
    D = pinvX @ pinvX.T
    adj = grid_adjacency(dims, tests, 26)

    def t_map(Ys):
        B = pinvX @ Ys
        rss = ((Ys - X @ B) ** 2).sum(axis=0)
        return (C @ B)[0] / np.sqrt(rss / df * (C @ D @ C.T)[0, 0])

    maps = [paper_tfce(t_map(E_[p] + HzY), adj, "auto", 0.5, 2, 0) for p in perms]
    obs = maps[0]
    tops = np.array([s.max() for s in maps])
    tol = obs - 1e-10 * np.abs(obs)
    p_unc = np.array([sum(s[j] >= tol[j] for s in maps) for j in range(len(obs))]) / len(maps)
    p_fwe = np.array([(tops >= tol[j]).sum() for j in range(len(obs))]) / len(maps)
    write("perm.txt", [("tfce", obs), ("p_unc", p_unc), ("p_fwe", p_fwe), ("max_tfce", tops)],
          "max-TFCE of ../cluster/perm.txt, paper TFCE by MNE %s clusters (see make_fixtures.py)" % mne.__version__)
    with open(os.path.join(HERE, "versions.txt"), "w") as fh:
        fh.write("python %s\nnumpy %s\nscipy %s\nmne %s\n" % (sys.version.split()[0], np.__version__,
                                                                scipy.__version__, mne.__version__))


if __name__ == "__main__":
    main()

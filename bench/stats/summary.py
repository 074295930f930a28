#!/usr/bin/python3
"""bench/stats/summary.py TMP PERMS: the figures of bench/stats/run.sh.

Reads the `key value` outputs of bench_glm.lua (nl_a.txt, nl_b.txt) and peer_numpy.py
(peer_standard.txt, peer_projected.txt) and the per-edge results (nl.tsv, peer.tsv),
and prints the timings, the ratio against the peer, the goals, and the agreement of the
two results (t to rounding; FWE p within Monte-Carlo error, since the two tools draw
different permutations).
"""
import math
import os
import statistics
import sys

import numpy as np


def keys(path):
    out = {}
    with open(path) as f:
        for line in f:
            k, v = line.split()
            try:
                out.setdefault(k, []).append(float(v))
            except ValueError:  # a text value (the peer's BLAS)
                pass
    return out


def table(path):
    with open(path) as f:
        f.readline()
        rows = [line.split("\t") for line in f]
    return [r[0] for r in rows], np.array([float(r[1]) for r in rows]), np.array([float(r[2]) for r in rows])


def main():
    tmp, perms = sys.argv[1], int(sys.argv[2])
    a, b = keys(os.path.join(tmp, "nl_a.txt")), keys(os.path.join(tmp, "nl_b.txt"))
    threads = int(a["threads"][0])
    med = lambda key: statistics.median(a[key] + b[key])
    one, many = med("nl_threads1_seconds"), med(f"nl_threads{threads}_seconds")
    one_cpu, many_cpu = med("nl_threads1_cpu"), med(f"nl_threads{threads}_cpu")
    ps, pp = keys(os.path.join(tmp, "peer_standard.txt")), keys(os.path.join(tmp, "peer_projected.txt"))
    scale = perms / ps["peer_standard_permutations"][0]
    peer, peer_cpu = ps["peer_standard_seconds"][0] * scale, ps["peer_standard_cpu"][0] * scale
    proj, proj_cpu = pp["peer_projected_seconds"][0] * scale, pp["peer_projected_cpu"][0] * scale
    scaled = ps["peer_standard_permutations"][0] != perms
    with open(os.path.join(tmp, "peer_standard.txt")) as f:
        blas = [line.split()[1] for line in f if line.startswith("peer_blas")]
    print()
    print(f"data: {int(a['subjects'][0])} subjects x {int(a['edges'][0])} edges, {perms} permutations "
          f"(neurolua: {int(a['permutations'][0])} run), load {a['load_seconds'][0]:.2f} s (not timed)")
    print()
    print("| case | wall s | CPU s | wall-clock ratio to the numpy peer |")
    print("|---|---|---|---|")
    print(f"| neurolua, 1 thread | {one:.2f} | {one_cpu:.2f} | {peer / one:.0f}x |")
    print(f"| neurolua, {threads} threads | {many:.2f} | {many_cpu:.2f} | {peer / many:.0f}x |")
    print(f"| numpy peer (standard Freedman-Lane, vectorised over edges, {threads} BLAS threads) | "
          f"{peer:.1f}{' (scaled)' if scaled else ''} | {peer_cpu:.1f} | 1x |")
    print(f"| numpy with neurolua's algebra (for reference) | {proj:.1f}{' (scaled)' if scaled else ''} | "
          f"{proj_cpu:.1f} | {peer / proj:.0f}x |")
    print()
    print(f"peer BLAS: {blas[0] if blas else 'unknown'}")
    print(f"goal under 10 s on {threads} cores: {'met' if many < 10 else 'NOT met'} ({many:.2f} s); "
          f"goal 20x the peer: {'met' if peer / many >= 20 else 'NOT met'} ({peer / many:.0f}x)")

    names, t_nl, p_nl = table(os.path.join(tmp, "nl.tsv"))
    names2, t_np, p_np = table(os.path.join(tmp, "peer.tsv"))
    assert names == names2
    dt = np.max(np.abs(np.abs(t_nl) - t_np))
    # Each FWE p is a binomial proportion over N permutations; 4.5 standard deviations
    # of the difference of two independent estimates, plus 2/N for the identity.
    N1, N2 = perms, ps["peer_standard_permutations"][0]
    p = np.clip((p_nl + p_np) / 2, 1 / N1, 1)
    tol = 4.5 * np.sqrt(p * (1 - p) * (1 / N1 + 1 / N2)) + 2 / N1
    outside = int(np.sum(np.abs(p_nl - p_np) > tol))
    sig_nl, sig_np = p_nl < 0.05, p_np < 0.05
    print(f"agreement: max ||t| - |t_numpy|| = {dt:.1e}; FWE p max |difference| "
          f"{np.max(np.abs(p_nl - p_np)):.4f}, {outside} of {len(p_nl)} edges outside Monte-Carlo error; "
          f"FWE p < 0.05: neurolua {int(sig_nl.sum())}, numpy {int(sig_np.sum())}, both {int((sig_nl & sig_np).sum())}")
    planted = set(np.load(os.path.join(tmp, "data", "planted.npy")).tolist())
    found = sum(1 for i in np.flatnonzero(sig_nl) if i in planted)
    print(f"planted edges (150, d = 0.8) among neurolua's FWE-significant edges: {found} of {int(sig_nl.sum())}")


if __name__ == "__main__":
    main()

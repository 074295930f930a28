#!/usr/bin/python3
"""bench/ml/estimators_summary.py OUT_DIR RESULTS.tsv NL.txt PEER_LABEL=PEER.txt ...:
the table of bench/ml/estimators.sh.

NL.txt and each PEER.txt hold the `fit ...` and `nested ...` lines of estimators.lua
and estimators_peer.py (several runs of one tool may be concatenated: the median of
their medians is taken). For every case and peer: neurolua's and the peer's median
CPU and wall time per fit, the ratios peer / neurolua (above 1: neurolua faster), the
solvers' iteration counts (for the nested CV: the alpha chosen in each outer fold),
and the agreement of the two tools' predictions on the same
rows: max |nl - peer| / max |peer| over the 200 test rows (over the n subjects for the
nested CV), and for the classifiers the number of test rows whose predicted class
differs. Prints the table and writes RESULTS.tsv (comment lines first: `# key: value`,
from the environment variables BENCH_*). Plain Python: no NumPy needed.
"""
import os
import statistics
import sys


def parse(path):
    rows = {}
    with open(path) as f:
        for line in f:
            v = line.split()
            if not v:
                continue
            if v[0] == "fit":
                key = (v[1], int(v[2]), int(v[3]))
                rec = dict(cpu=float(v[4]), wall=float(v[5]), calls=int(v[6]), iters=v[7])
            elif v[0] == "nested":
                key = ("nested_ridge", int(v[1]), int(v[2]))
                rec = dict(cpu=float(v[3]), wall=float(v[4]), calls=int(v[5]), iters=v[6])
            else:
                continue
            rows.setdefault(key, []).append(rec)
    merged = {}
    for key, recs in rows.items():
        merged[key] = dict(cpu=statistics.median(r["cpu"] for r in recs),
                           wall=statistics.median(r["wall"] for r in recs),
                           calls=sum(r["calls"] for r in recs), iters=recs[-1]["iters"], runs=len(recs))
    return merged


def read_column(path):
    with open(path) as f:
        return [float(line) for line in f if line.strip()]


def agreement(out, case, n, p, peer_prefix):
    name = "nested" if case == "nested_ridge" else case
    a_path = f"{out}/nl_{name}_{n}_{p}.txt"
    b_path = f"{out}/{peer_prefix}_{name}_{n}_{p}.txt"
    if not (os.path.exists(a_path) and os.path.exists(b_path)):
        return float("nan"), ""
    a, b = read_column(a_path), read_column(b_path)
    if len(a) != len(b):
        return float("nan"), ""
    scale = max(abs(v) for v in b) or 1.0
    rel = max(abs(x - y) for x, y in zip(a, b)) / scale
    classes = ""
    if case in ("svc", "logistic", "kernel_svc"):
        classes = str(sum((x > 0) != (y > 0) for x, y in zip(a, b)))
    return rel, classes


def main():
    out, results, nl_path = sys.argv[1], sys.argv[2], sys.argv[3]
    peers = [arg.split("=", 1) for arg in sys.argv[4:]]
    nl = parse(nl_path)
    order = ["svc", "svr", "logistic", "ridge", "kernel_ridge", "kernel_svc", "nested_ridge"]
    keys = sorted(nl, key=lambda k: (order.index(k[0]) if k[0] in order else 99, k[2], k[1]))
    header = ["case", "n", "p", "peer", "nl_cpu_ms", "peer_cpu_ms", "ratio_cpu", "nl_wall_ms", "peer_wall_ms",
              "ratio_wall", "nl_iterations", "peer_iterations", "nl_calls", "peer_calls", "max_rel_diff",
              "class_disagreements"]
    lines = []
    print(f"{'case':<13} {'n':>5} {'p':>5} {'peer BLAS':<9} {'nl ms':>9} {'peer ms':>9} {'ratio':>7} "
          f"{'wall ratio':>10} {'iterations nl/peer':>18} {'max rel diff':>12} {'class diff':>10}")
    for label, path in peers:
        sk = parse(path)
        prefix = os.path.basename(path).rsplit(".", 1)[0]
        for key in keys:
            if key not in sk:
                continue
            a, b = nl[key], sk[key]
            rel, classes = agreement(out, *key, prefix)
            row = [key[0], key[1], key[2], label, 1e3 * a["cpu"], 1e3 * b["cpu"], b["cpu"] / a["cpu"],
                   1e3 * a["wall"], 1e3 * b["wall"], b["wall"] / a["wall"], a["iters"], b["iters"], a["calls"],
                   b["calls"], rel, classes]
            lines.append(row)
            print(f"{key[0]:<13} {key[1]:>5} {key[2]:>5} {label:<9} {row[4]:>9.3f} {row[5]:>9.3f} {row[6]:>6.2f}x "
                  f"{row[9]:>9.2f}x {a['iters'] + ' / ' + b['iters']:>18} {rel:>12.1e} {classes:>10}")
    with open(results, "w") as f:
        for k in sorted(os.environ):
            if k.startswith("BENCH_"):
                f.write(f"# {k[6:].lower()}: {os.environ[k]}\n")
        f.write("\t".join(header) + "\n")
        for row in lines:
            f.write("\t".join(("%.6g" % v) if isinstance(v, float) else str(v) for v in row) + "\n")


main()

#!/usr/bin/env bash
# bench/cv/scaling.sh [build_dir]: how the like-for-like nested CV (bench_cv.lua's `pca`
# case: scale, prune, regress_out, PCA(13), scale, SVC over 11 C values; outer and inner
# 3 x 5) grows with the number of subjects n (p = 136) and with the number of regions p
# (n = 99), beside the scikit-learn peer (peer_sklearn.py) on the same data in the same
# run (issue 21). For each size, ROUNDS rounds with the two tools alternating: neurolua
# on one thread (NL_REPEATS runs after a warm-up) and the peer with n_jobs = 1 over
# SK_OUTER of its 15 outer folds, extrapolated to 15 (CPU seconds both). One row per
# size: the median of each tool's times over all rounds, their ratio, and the lowest and
# highest ratio of one round's medians. The rounds are interleaved so that the virtual
# machine's drift (up to 1.6x in either tool's time within minutes) reaches both tools.
# Environment: SIZES (default "100 200 400 800 1600 3200 6400"), WIDTHS (default
# "1000 10000"), SK_OUTER (default 1), NL_REPEATS (default 3), ROUNDS (default 3).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
nl="$build/neurolua"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
sizes=${SIZES-"100 200 400 800 1600 3200 6400"}
widths=${WIDTHS-"1000 10000"}
sk_outer=${SK_OUTER:-1}
repeats=${NL_REPEATS:-3}
peer() { OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 /usr/bin/python3 "$here/peer_sklearn.py" "$@"; }

echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "neurolua: commit $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- engine bindings stdlib || echo ' (modified)')"
rounds=${ROUNDS:-3}
printf "%-6s %-6s %12s %12s %8s %15s\n" n p neurolua_cpu sklearn_cpu ratio round_ratios
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : 0.5 * (v[NR / 2] + v[NR / 2 + 1])) }'; }
run() {  # n p
  /usr/bin/python3 "$here/make_data.py" "$tmp/d.tsv" 20240501 "$1" "$2"
  : > "$tmp/nl_all.txt"
  : > "$tmp/sk_all.txt"
  : > "$tmp/ratios.txt"
  local r a b
  for r in $(seq 1 "$rounds"); do
    "$nl" "$here/bench_cv.lua" "$tmp/d.tsv" pca "$repeats" > "$tmp/nl.txt"
    peer "$tmp/d.tsv" 1 "$sk_outer" > "$tmp/sk.txt" 2> "$tmp/sk.err"
    awk '$1 == "nl_pca_cpu_t1" { print $2 }' "$tmp/nl.txt" | tee -a "$tmp/nl_all.txt" > "$tmp/nl_round.txt"
    awk '$1 == "sk1_cpu" { print $2 }' "$tmp/sk.txt" | tee -a "$tmp/sk_all.txt" > "$tmp/sk_round.txt"
    a=$(median < "$tmp/nl_round.txt")
    b=$(median < "$tmp/sk_round.txt")
    echo "$b / $a" | bc -l >> "$tmp/ratios.txt"
  done
  a=$(median < "$tmp/nl_all.txt")
  b=$(median < "$tmp/sk_all.txt")
  printf "%-6s %-6s %12.4f %12.2f %8.1f %7.1f-%-7.1f\n" "$1" "$2" "$a" "$b" "$(echo "$b / $a" | bc -l)" \
    "$(sort -g "$tmp/ratios.txt" | head -1)" "$(sort -g "$tmp/ratios.txt" | tail -1)"
}
for n in $sizes; do run "$n" 136; done
for p in $widths; do run 99 "$p"; done

#!/usr/bin/env bash
# bench/cv/scaling.sh [build_dir]: how the like-for-like nested CV (bench_cv.lua's `pca`
# case: scale, prune, regress_out, PCA(13), scale, SVC over 11 C values; outer and inner
# 3 x 5) grows with the number of subjects n (p = 136) and with the number of regions p
# (n = 99), beside the scikit-learn peer (peer_sklearn.py) on the same data in the same
# run (issue 21). For each size: neurolua on one thread (median of NL_REPEATS runs) and
# the peer with n_jobs = 1 over SK_OUTER of its 15 outer folds, extrapolated to 15 (CPU
# seconds both). Prints one row per size, the ratio, and the exponent of each tool's
# cost between successive sizes (log ratio of times / log ratio of sizes).
# Environment: SIZES (default "100 200 400 800 1600 3200 6400"), WIDTHS (default
# "1000 10000"), SK_OUTER (default 1), NL_REPEATS (default 3).
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
printf "%-6s %-6s %12s %12s %8s\n" n p neurolua_cpu sklearn_cpu ratio
run() {  # n p
  /usr/bin/python3 "$here/make_data.py" "$tmp/d.tsv" 20240501 "$1" "$2"
  "$nl" "$here/bench_cv.lua" "$tmp/d.tsv" pca "$repeats" > "$tmp/nl.txt"
  peer "$tmp/d.tsv" 1 "$sk_outer" > "$tmp/sk.txt" 2> "$tmp/sk.err"
  local a b
  a=$(awk '$1 == "nl_pca_cpu_t1" { print $2 }' "$tmp/nl.txt" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  b=$(awk '$1 == "sk1_cpu" { print $2 }' "$tmp/sk.txt")
  printf "%-6s %-6s %12.4f %12.2f %8.1f\n" "$1" "$2" "$a" "$b" "$(echo "$b / $a" | bc -l)"
}
for n in $sizes; do run "$n" 136; done
for p in $widths; do run 99 "$p"; done

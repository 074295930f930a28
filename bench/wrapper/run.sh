#!/usr/bin/env bash
# bench/wrapper/run.sh [build_dir]: the forward wrapper's cost against scikit-learn's
# SequentialFeatureSelector, measured in one run on the same data (make_data.py) at
# p = 250, 500, 1000 and 2000 features: wall clock per run and per SVC fit. Needs
# /usr/bin/python3 with numpy and scikit-learn. About 2 minutes.
# The two select differently (neurolua: blocks of 10 % of the pool per round until 20 %
# of the features have left it, about 2.7 p fits; SFS: one feature per round), so the
# peer runs K = 3 rounds (about 3 p fits) and the comparison is per fit.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "neurolua: $("$build/neurolua" --version | head -1), commit $(git -C "$root" rev-parse --short HEAD); scikit-learn $(/usr/bin/python3 -c 'import sklearn; print(sklearn.__version__)')"
printf "%6s  %10s %7s %9s   %10s %7s %9s   %s\n" p "nl wall s" "nl fits" "nl us/fit" "sk wall s" "sk fits" "sk us/fit" "per fit: sk / nl"
for p in 250 500 1000 2000; do
  /usr/bin/python3 "$here/make_data.py" "$tmp/d$p.tsv" "$p"
  "$build/neurolua" "$here/wrapper.lua" "$tmp/d$p.tsv" > "$tmp/nl$p.txt"
  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 "$here/peer_sfs.py" "$tmp/d$p.tsv" 3 > "$tmp/sk$p.txt"
  cat "$tmp/nl$p.txt" "$tmp/sk$p.txt" | awk '{ v[$1] = $2 } END {
    nl = 1e6 * v["nl_wall"] / v["nl_fits"]; sk = 1e6 * v["sk_wall"] / v["sk_fits"]
    printf "%6d  %10.3f %7d %9.1f   %10.3f %7d %9.1f   %.0fx\n", v["nl_p"], v["nl_wall"], v["nl_fits"], nl, v["sk_wall"], v["sk_fits"], sk, sk / nl }'
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

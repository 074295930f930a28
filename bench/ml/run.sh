#!/usr/bin/env bash
# bench/ml/run.sh [build_dir] [large]: neurolua vs scikit-learn fit times, measured in
# one run. Needs /usr/bin/python3 with python3-sklearn (apt-get install python3-sklearn).
# "large" runs only the large PCA (the scale issue): $NL_PCA_SIZE (default 1000x20000)
# subjects x voxels, k = 10, 50 planted components with singular values falling as
# 1 / sqrt(j) into unit noise; neurolua's truncated solver against scikit-learn's
# arpack and randomized ones, each tool's fastest of three wall-clock fits.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
if [ "${2:-}" = large ]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  size=${NL_PCA_SIZE:-1000x20000}
  /usr/bin/python3 - "$tmp" "${size%x*}" "${size#*x}" <<'PY'
import sys
import numpy as np
d, n, p = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(3)
np.savetxt(f"{d}/L.csv", rng.standard_normal((n, 50)), delimiter=",", header=",".join(f"l{j}" for j in range(50)), comments="")
np.savetxt(f"{d}/R.csv", rng.standard_normal((50, p)), delimiter=",", header=",".join(f"v{j}" for j in range(p)), comments="")
np.savetxt(f"{d}/d.csv", 0.2 / np.sqrt(np.arange(1, 51)), delimiter=",", header="d", comments="")
PY
  echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  "$build/neurolua" "$root/bench/ml/bench_ml.lua" "$tmp" large > "$tmp/nl.txt"
  /usr/bin/python3 "$root/bench/ml/peer_sklearn.py" "$tmp" large > "$tmp/sk.txt"
  cat "$tmp/nl.txt" "$tmp/sk.txt" | awk -v size="$size" '
    { v[$1] = $2 }
    END {
      printf "PCA k = 10 of %s (fastest of 3 fits, wall clock; seconds; ratio = peer / neurolua)\n", size
      printf "  %-34s %9.3f s  first eigenvalue %s\n", "neurolua nl.ml.pca", v["pca_large"], v["pca_large_eigenvalue1"]
      printf "  %-34s %9.3f s  %6.2fx  first eigenvalue %s\n", "sklearn PCA(svd_solver=arpack)", v["pca_large_arpack"], v["pca_large_arpack"] / v["pca_large"], v["pca_large_arpack_eigenvalue1"]
      printf "  %-34s %9.3f s  %6.2fx  first eigenvalue %s\n", "sklearn PCA(svd_solver=randomized)", v["pca_large_randomized"], v["pca_large_randomized"] / v["pca_large"], v["pca_large_randomized_eigenvalue1"]
    }'
  exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$tmp" <<'PY'
import sys
import numpy as np
rng = np.random.default_rng(1)
d = sys.argv[1]
y = np.where(np.arange(66) < 35, 1.0, -1.0)
for p, name in [(13, "X13.csv"), (136, "X136.csv")]:
    X = rng.normal(size=(66, p)) + 0.4 * y[:, None] * (np.arange(p) < 4)
    X = 2 * (X - X.min(0)) / (X.max(0) - X.min(0)) - 1   # scaled like the pipeline
    np.savetxt(f"{d}/{name}", X, delimiter=",", header=",".join(f"x{j+1}" for j in range(p)), comments="")
np.savetxt(f"{d}/y.csv", y, delimiter=",", header="y", comments="")
PY
"$build/neurolua" "$root/bench/ml/bench_ml.lua" "$tmp" > "$tmp/nl.txt"
/usr/bin/python3 "$root/bench/ml/peer_sklearn.py" "$tmp" > "$tmp/sk.txt"
printf '%-14s %12s %12s %8s\n' case "neurolua us" "sklearn us" ratio
join -t $'\t' <(sed -E 's/ +([0-9.]+)$/\t\1/' "$tmp/nl.txt" | sort) <(sed -E 's/ +([0-9.]+)$/\t\1/' "$tmp/sk.txt" | sort) |
  awk -F'\t' '{ printf "%-14s %12.1f %12.1f %7.1fx\n", $1, $2, $3, $3 / $2 }'
# ROBPCA has no scikit-learn counterpart: the peer is R's rrcov::PcaHubert (single-
# threaded; median elapsed time of 30 calls), when installed. neurolua: median
# wall-clock time on 1 and 2 threads.
if Rscript -e 'library(rrcov)' >/dev/null 2>&1; then
  r_us=$(Rscript -e "suppressMessages(library(rrcov)); X <- as.matrix(read.csv('$tmp/X136.csv'));
    invisible(PcaHubert(X, k = 13, kmax = 13, alpha = 0.75));
    t <- replicate(30, system.time(PcaHubert(X, k = 13, kmax = 13, alpha = 0.75))[['elapsed']]);
    cat(median(t) * 1e6)")
  for t in 1t 2t; do
    nl_us=$(awk -v c="robpca/$t" '$1 == c { print $2 }' "$tmp/nl.txt")
    awk -v a="$nl_us" -v b="$r_us" -v c="robpca/$t" 'BEGIN { printf "%-14s %12.1f %12.1f %7.1fx  (66x136; peer: R rrcov::PcaHubert)\n", c, a, b, b / a }'
  done
else
  grep robpca "$tmp/nl.txt" || true
fi

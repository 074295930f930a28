#!/usr/bin/env bash
# bench/cv/run.sh [build_dir]: the whole discovery analysis of the ketamine study
# (METHODS.md section 1) in neurolua, and the like-for-like nested CV (PCA, no wrapper)
# against a scikit-learn peer measured in the same run on the same data.
# Needs /usr/bin/python3 with numpy and scikit-learn. Takes about 2-3 minutes.
# Environment: SK_OUTER=k times only the first k of the peer's 15 outer folds and
# extrapolates (default 15: all); NL_REPEATS (default 5) repeats of each neurolua
# PCA timing per round (3 rounds, interleaved with the peer's runs); FULL_PERMS
# (default 4) full-mode permutations to time.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
nl="$build/neurolua"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
sk_outer=${SK_OUTER:-15}
nl_repeats=${NL_REPEATS:-5}
full_perms=${FULL_PERMS:-4}

echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
echo "neurolua: $("$nl" --version 2>&1 | head -1), commit $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- engine bindings stdlib || echo ' (modified)')"
/usr/bin/python3 "$here/make_data.py" "$tmp/discovery.tsv"
# The peer's BLAS on one thread: its parallelism is n_jobs (loky workers do the same).
peer() { OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 /usr/bin/python3 "$here/peer_sklearn.py" "$@"; }

# The like-for-like timings, neurolua's interleaved with the peer's so that both see
# the same machine load; the summary takes the median of neurolua's repeats.
echo "running: neurolua nested CV with PCA (1 and $(nproc) threads) and scikit-learn (n_jobs = 1, 2) ..."
"$nl" "$here/bench_cv.lua" "$tmp/discovery.tsv" pca "$nl_repeats" > "$tmp/nl_pca.txt"
peer "$tmp/discovery.tsv" 1 "$sk_outer" > "$tmp/sk1.txt" 2> "$tmp/sk1.err"
"$nl" "$here/bench_cv.lua" "$tmp/discovery.tsv" pca "$nl_repeats" >> "$tmp/nl_pca.txt"
peer "$tmp/discovery.tsv" 2 "$sk_outer" > "$tmp/sk2.txt" 2> "$tmp/sk2.err"
"$nl" "$here/bench_cv.lua" "$tmp/discovery.tsv" pca "$nl_repeats" >> "$tmp/nl_pca.txt"
echo "running: neurolua whole analysis (1000 NeuroMiner-mode permutations, $full_perms full-mode) ..."
"$nl" "$here/bench_cv.lua" "$tmp/discovery.tsv" whole "$full_perms" > "$tmp/nl_whole.txt"
echo "running: neurolua per-stage profile ..."
"$nl" "$here/bench_cv.lua" "$tmp/discovery.tsv" profile > "$tmp/nl_profile.txt"
/usr/bin/python3 "$here/summary.py" "$tmp"/nl_pca.txt "$tmp"/sk1.txt "$tmp"/sk2.txt "$tmp"/nl_whole.txt "$tmp"/nl_profile.txt
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -n "${KEEP:-}" ]]; then mkdir -p "$KEEP" && cp "$tmp"/*.txt "$tmp"/discovery.tsv "$KEEP"/; fi

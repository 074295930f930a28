#!/usr/bin/env bash
# bench/stats/run.sh [build_dir]: the connectome statistics benchmark (issue 6 item 11,
# METHODS.md section 2): 101 subjects x 14,706 edges (172 nodes), two-sample GLM
# (control - patient) with two covariates (age, sex), 5000 Freedman-Lane permutations
# with max-T FWE, in neurolua (nl.stats.glm) and in a numpy peer measured in the same
# run on the same data. Goals: under 10 s on 2 cores and at least 20x the peer.
# Needs /usr/bin/python3 with numpy. Takes about 3-5 minutes (the peer is most of it).
# Environment: PERMS (default 5000); PEER_PERMS (default PERMS) times the peer on fewer
# permutations and scales its time to PERMS; NL_REPEATS (default 3) timed neurolua runs
# per thread count and round (2 rounds, interleaved with the peer's runs); KEEP=dir keeps
# the outputs.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
nl="$build/neurolua"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
perms=${PERMS:-5000}
peer_perms=${PEER_PERMS:-$perms}
repeats=${NL_REPEATS:-3}
cores=$(nproc)

echo "machine: $cores cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
echo "neurolua: $("$nl" --version 2>&1 | head -1), commit $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- engine bindings || echo ' (modified)')"
# The peer's BLAS: Debian's numpy links libblas.so.3, by default the single-threaded
# reference BLAS. For a fair peer, OpenBLAS (Debian's libopenblas0-pthread) is unpacked
# into the temporary directory and put first on the peer's library path, without
# installing it (which would switch the machine's BLAS for everyone); when it cannot be
# fetched the system BLAS is used. The peer prints the library it loaded.
blas_path=""
if (cd "$tmp" && apt-get download libopenblas0-pthread >/dev/null 2>&1) && dpkg-deb -x "$tmp"/libopenblas0-pthread_*.deb "$tmp/openblas"; then
  blas_path="$tmp/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread"
fi
echo "peer: $(/usr/bin/python3 -c 'import numpy, sys; print("python", sys.version.split()[0], "numpy", numpy.__version__)'), BLAS threads $cores"
/usr/bin/python3 "$here/make_data.py" "$tmp/data"
peer() { LD_LIBRARY_PATH="$blas_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" OPENBLAS_NUM_THREADS=$cores OMP_NUM_THREADS=$cores \
           /usr/bin/python3 "$here/peer_numpy.py" "$tmp/data" "$peer_perms" "$@"; }

# Rounds interleaved so that both tools see the same machine load.
echo "running: neurolua ($perms permutations, 1 and $cores threads), numpy peer ($peer_perms permutations), twice ..."
"$nl" "$here/bench_glm.lua" "$tmp/data" "$perms" "$repeats" "$tmp/nl.tsv" > "$tmp/nl_a.txt"
peer standard "$tmp/peer.tsv" > "$tmp/peer_standard.txt"
"$nl" "$here/bench_glm.lua" "$tmp/data" "$perms" "$repeats" "$tmp/nl.tsv" > "$tmp/nl_b.txt"
peer projected "$tmp/peer_projected.tsv" > "$tmp/peer_projected.txt"
/usr/bin/python3 "$here/summary.py" "$tmp" "$perms"
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -n "${KEEP:-}" ]]; then mkdir -p "$KEEP" && cp "$tmp"/*.txt "$tmp"/*.tsv "$KEEP"/; fi

#!/usr/bin/env bash
# bench/ml/estimators.sh: neurolua's estimators (svc, svr, logistic, ridge, kernel_ridge,
# kernel_svc) against their scikit-learn peers, timed in the same run on the same data
# (issue 19, item 7), and a nested CV of a ridge pipeline against GridSearchCV inside an
# outer CV. Both tools run on one thread. Prints a table and writes
# bench/ml/results.tsv (RESULTS=path to write elsewhere). About 5-8 minutes.
#
# Data: estimators_data.py (NumPy, fixed seed) writes a regional-volume-like design of
# 1200 subjects x p = 116 (AAL) and p = 2000 regions with a continuous target and +1/-1
# labels; each case fits the first n = 100, 300, 1000 rows and predicts rows 1001-1200.
# neurolua: estimators.lua; peer: estimators_peer.py (the cases and options are listed
# there); estimators_summary.py makes the table: median CPU time per fit (and wall
# time), ratio peer / neurolua, iterations, and how far the predictions differ.
#
# Needs /usr/bin/python3 (PYTHON=...) with NumPy, SciPy and scikit-learn, only to run
# this benchmark (apt-get install python3-sklearn).
# Environment:
#   NEUROLUA   the binary (default: build/neurolua of this repository)
#   PEER_BLAS  "openblas" (default): the peer's NumPy and SciPy load OpenBLAS on one
#              thread (Debian's libopenblas0-pthread, unpacked into a temporary folder
#              from the apt cache or by `apt-get download`, and put first on the peer's
#              library path; nothing is installed); "system": the machine's libblas.so.3
#              (Debian's default is the unoptimized reference BLAS); both, space-separated,
#              to run the peer once with each
#   ROUNDS     neurolua and peer runs alternate this many times (default 2) so that both
#              see the same machine load; the table takes the median of the rounds
#   SIZES, PS, CASES_ONLY, REPEATS, MIN_SECONDS, NESTED, NESTED_RUNS: see estimators.lua
#   KEEP=dir   keep the data, predictions and raw outputs there
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
nl=${NEUROLUA:-$root/build/neurolua}
python=${PYTHON:-/usr/bin/python3}
results=${RESULTS:-$here/results.tsv}
rounds=${ROUNDS:-2}
peer_blas=${PEER_BLAS:-openblas}

if [[ ! -x "$nl" ]]; then
  echo "bench/ml/estimators.sh: no neurolua binary at $nl; build it (cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build) or set NEUROLUA" >&2
  exit 2
fi
if ! "$python" -c 'import numpy, scipy, sklearn' 2>/dev/null; then
  echo "bench/ml/estimators.sh: the scikit-learn peer needs NumPy, SciPy and scikit-learn in $python (not found);" \
       "install them (Debian: apt-get install python3-sklearn) or set PYTHON to an interpreter that has them" >&2
  exit 2
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/data" "$tmp/out"

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
family=$(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | xargs)
model=$(grep -m1 '^model[[:space:]]' /proc/cpuinfo | cut -d: -f2 | xargs)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
export BENCH_DATE=$(date -u +%Y-%m-%dT%H:%MZ)
export BENCH_MACHINE="$(nproc) cores, $cpu (family $family, model $model), $(free -g | awk '/^Mem:/ { print $2 }') GiB"
export BENCH_NEUROLUA="$("$nl" --version 2>&1 | head -1), $nl, repository commit $commit"
export BENCH_PEER="$("$python" -c 'import sys, numpy, scipy, sklearn; print("Python", sys.version.split()[0], "scikit-learn", sklearn.__version__, "NumPy", numpy.__version__, "SciPy", scipy.__version__)')"
export BENCH_THREADS="1 (NEUROLUA_THREADS=1 and nl.threads(1); OPENBLAS_NUM_THREADS=1, OMP_NUM_THREADS=1, MKL_NUM_THREADS=1)"
export BENCH_LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "machine: $BENCH_MACHINE; load average $BENCH_LOAD_BEFORE before the run"
echo "neurolua: $BENCH_NEUROLUA"
echo "peer: $BENCH_PEER"

# The peer's BLAS libraries, by name.
declare -A blas_path
for b in $peer_blas; do
  case $b in
    system) blas_path[system]="" ;;
    openblas)
      deb=$(ls /var/cache/apt/archives/libopenblas0-pthread_*_amd64.deb 2>/dev/null | tail -1 || true)
      if [[ -z "$deb" ]] && (cd "$tmp" && apt-get download libopenblas0-pthread >/dev/null 2>&1); then
        deb=$(ls "$tmp"/libopenblas0-pthread_*.deb | tail -1)
      fi
      if [[ -n "$deb" ]] && dpkg-deb -x "$deb" "$tmp/openblas"; then
        blas_path[openblas]=$(ls -d "$tmp"/openblas/usr/lib/*/openblas-pthread)
      else
        echo "warning: OpenBLAS (libopenblas0-pthread) could not be found or fetched; the peer uses the system BLAS" >&2
        blas_path[system]=""
      fi ;;
    *) echo "bench/ml/estimators.sh: PEER_BLAS: unknown '$b' (openblas or system)" >&2; exit 2 ;;
  esac
done
peer() {  # peer BLAS_NAME: appends to sk_<BLAS_NAME>.txt, predictions as out/sk_<BLAS_NAME>_*
  local lib=${blas_path[$1]}
  LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    "$python" "$here/estimators_peer.py" "$tmp/data" "$tmp/out" "sk_$1" >> "$tmp/sk_$1.txt"
}
for b in "${!blas_path[@]}"; do
  lib=${blas_path[$b]}
  loaded=$(LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$python" -c '
import numpy, scipy.linalg, sklearn.svm, os, re
maps = open("/proc/self/maps").read().split("\n")
paths = {l.split()[-1] for l in maps if "/" in l}
libs = ", ".join(sorted(os.path.basename(os.path.realpath(p)) for p in paths
                       if re.match(r"lib(open)?blas|liblapack", os.path.basename(os.path.realpath(p)))))
try:  # the kernels OpenBLAS chose for this CPU
    import threadpoolctl
    libs += "".join("; %s %s kernels %s" % (i.get("internal_api"), i.get("version"), i.get("architecture"))
                    for i in threadpoolctl.threadpool_info() if i.get("architecture"))
except Exception:
    pass
print(libs)')
  [[ $b == openblas ]] && loaded="$loaded (Debian's $(basename "$deb"), unpacked)"
  echo "peer BLAS ($b): $loaded"
  export "BENCH_PEER_BLAS_${b^^}=$loaded"
done

echo "writing the data ..."
for p in $(echo "${PS:-116,2000}" | tr ',' ' '); do "$python" "$here/estimators_data.py" "$tmp/data" "$p"; done

for ((r = 1; r <= rounds; r++)); do
  echo "round $r of $rounds: neurolua ..."
  NEUROLUA_THREADS=1 "$nl" "$here/estimators.lua" "$tmp/data" "$tmp/out" >> "$tmp/nl.txt"
  for b in "${!blas_path[@]}"; do
    echo "round $r of $rounds: scikit-learn ($b BLAS) ..."
    peer "$b"
  done
done
export BENCH_LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
export BENCH_COMMAND="bench/ml/estimators.sh (ROUNDS=$rounds PEER_BLAS='$peer_blas')"
echo
echo "median CPU time per fit (ms), ratio = peer / neurolua (above 1: neurolua faster); max rel diff = max |nl - peer| / max |peer| of the predictions"
args=()
for b in "${!blas_path[@]}"; do args+=("$b=$tmp/sk_$b.txt"); done
"$python" "$here/estimators_summary.py" "$tmp/out" "$results" "$tmp/nl.txt" "${args[@]}"
echo "load average after the run: $BENCH_LOAD_AFTER; results: $results"
if [[ -n "${KEEP:-}" ]]; then mkdir -p "$KEEP" && cp -r "$tmp"/data "$tmp"/out "$tmp"/*.txt "$KEEP"/; fi

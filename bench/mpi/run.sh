#!/usr/bin/env bash
# bench/mpi/run.sh [BUILD_DIR]: wall time of permutation runs (bench_mpi.lua: a nested CV
# of NCV_N = 400 subjects with NCV_PERMS = 1000 NeuroMiner-mode permutations; a GLM of
# 120 x 20,000 voxels with GLM_PERMS = 20000 rearrangements) on 1 process (1 thread, all
# threads) and under `mpirun -n R` (1 thread per rank) for R in $RANKS (default "1 2"),
# with the digest of the results (must be equal on every line of a kind). The figures
# go to docs/scaling.md with the CPU they ran on. On a machine with more cores set
# RANKS="1 2 4 8 ...".
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
nl="$build/neurolua"
ranks=${RANKS:-"1 2"}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
/usr/bin/python3 "$root/bench/cv/make_data.py" "$tmp/d.tsv" 20240501 ${NCV_N:-400} 136
echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "neurolua: commit $(git -C "$root" rev-parse --short HEAD)"
printf "%-4s %-22s %10s %10s\n" kind run wall digest
for kind in ncv glm; do
  row() {  # label command...
    local label=$1; shift
    local size=${NCV_PERMS:-1000}
    [ "$kind" = glm ] && size=${GLM_PERMS:-20000}
    "$@" "$here/bench_mpi.lua" "$kind" "$size" "$tmp/d.tsv" > "$tmp/out.txt" 2> "$tmp/err.txt"
    printf "%-4s %-22s %10s %10s\n" "$kind" "$label" "$(awk '$1 == "wall" { print $2 }' "$tmp/out.txt")" \
      "$(awk '$1 == "digest" { print $2 }' "$tmp/out.txt")"
  }
  row "1 process, 1 thread" env NEUROLUA_THREADS=1 "$nl"
  row "1 process, $(nproc) threads" env NEUROLUA_THREADS="$(nproc)" "$nl"
  for r in $ranks; do
    row "mpirun -n $r, 1 thread" mpirun --oversubscribe -n "$r" -x NEUROLUA_THREADS=1 "$nl"
  done
done

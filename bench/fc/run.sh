#!/usr/bin/env bash
# bench/fc/run.sh [NEUROLUA] [REPEATS] [PARTS]: two benchmarks against NumPy peers, each
# tool three times alternately in the same run, the fastest time of each kept:
#  * seed: seed-to-voxel Fisher-z maps for one subject with 240 frames and 70,000 brain
#    voxels (the issue's goal: under 0.2 s), on the same files (bench.lua,
#    peer_numpy.py); REPEATS calls per run (default 10);
#  * filter: the ideal ("fft") band-pass filter on frames x columns matrices, against
#    numpy.fft.irfft of the masked rfft (bench_filter.lua, peer_numpy_filter.py); the
#    sizes are $NL_FILTER_SIZES (default below).
# PARTS: "seed", "filter" or "all" (default). The data go to a temporary folder
# (removed at exit). Ratios are NumPy's time over neurolua's (above 1: neurolua faster);
# the filter is timed on one thread and on nl.threads() threads.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
neurolua=${1:-$here/../../build/neurolua}
reps=${2:-10}
parts=${3:-all}
sizes=${NL_FILTER_SIZES:-200x100,200x10000,200x100000,241x10000,490x10000,1200x100,1200x10000,1200x100000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
if [ "$parts" = all ] || [ "$parts" = filter ]; then
  /usr/bin/python3 - "$tmp" <<'PY'
import sys
import numpy as np
t = np.arange(241)[:, None]
C = np.sin(2 * np.pi * (0.004 + 0.02 * np.arange(4)) * 2 * t) + np.random.default_rng(2).standard_normal((241, 4))
np.savetxt(f"{sys.argv[1]}/check.csv", C, delimiter=",", header="a,b,c,d", comments="")
PY
  out=""
  for r in 1 2 3; do
    out+=$("$neurolua" "$here/bench_filter.lua" "$tmp" "$sizes")$'\n'
    out+=$(/usr/bin/python3 "$here/peer_numpy_filter.py" "$tmp" "$sizes")$'\n'
  done
  printf '%s' "$out" | awk '
    NF == 2 { if (!($1 in best) || $2 < best[$1]) best[$1] = $2 }
    NF == 2 && $1 ~ /^nl_filter_[0-9]/ && !($1 in seen) { seen[$1] = 1; order[++n] = substr($1, 11) }
    END {
      printf "ideal band-pass filter (0.01-0.1 Hz, TR 2 s); fastest call of 3 runs (numpy on 1 thread)\n"
      printf "  %-16s %10s %10s %10s %9s %9s\n", "frames x columns", "nl 1 thr", "nl " best["nl_threads"] " thr", "numpy", "ratio 1", "ratio " best["nl_threads"]
      for (i = 1; i <= n; ++i) {
        s = order[i]; a = best["nl_filter1t_" s]; b = best["nl_filter_" s]; c = best["peer_filter_" s]
        printf "  %-16s %9.4fs %9.4fs %9.4fs %8.2fx %8.2fx\n", s, a, b, c, c / a, c / b
      }
      printf "  check: filtered check.csv at (100, 2) = %.12f (neurolua), %.12f (numpy)\n", best["nl_filter_check"], best["peer_filter_check"]
    }'
fi
[ "$parts" = all ] || [ "$parts" = seed ] || exit 0
/usr/bin/python3 "$here/make_data.py" "$tmp"
cat "$tmp"/*.nii > /dev/null   # warm the page cache for both tools
out=""
for r in 1 2 3; do
  out+=$("$neurolua" "$here/bench.lua" "$tmp" "$reps")$'\n'
  out+=$(/usr/bin/python3 "$here/peer_numpy.py" "$tmp" "$reps")$'\n'
done
printf '%s' "$out" | awk -v reps="$reps" '
  NF == 2 { if (!($1 in best) || $2 < best[$1]) best[$1] = $2 }
  END {
    printf "seed-to-voxel z map, 240 frames x %d voxels; best of 3 runs of %d calls (neurolua on %d threads)\n", best["nl_voxels"], reps, best["nl_threads"]
    printf "  %-44s %10s %10s %8s\n", "phase (s per call)", "neurolua", "numpy", "ratio"
    printf "  %-44s %10.4f %10.4f %7.1fx\n", "from the 4-D image (extract, map, paint)", best["nl_volume"], best["peer_volume"], best["peer_volume"] / best["nl_volume"]
    printf "  %-44s %10.4f %10.4f %7.1fx\n", "from a frames x voxels matrix in memory", best["nl_matrix"], best["peer_matrix"], best["peer_matrix"] / best["nl_matrix"]
    printf "  %-44s %10.4f\n", "Volume:timeseries(brain) (the copy)", best["nl_extract"]
    printf "  check: z at voxel (30,30,20) = %.6f (neurolua), %.6f (numpy); voxel 1000 %.6f, %.6f\n", best["nl_check"], best["peer_check"], best["nl_check_matrix"], best["peer_check_matrix"]
  }'

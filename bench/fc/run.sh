#!/usr/bin/env bash
# bench/fc/run.sh [NEUROLUA] [REPEATS]: seed-to-voxel Fisher-z maps for one subject with
# 240 frames and 70,000 brain voxels (the issue's goal: under 0.2 s), neurolua against a
# NumPy peer on the same files in the same run. Makes the data in a temporary folder
# (removed at exit), runs both tools three times alternately, and prints the fastest
# time of each phase and the ratios.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
neurolua=${1:-$here/../../build/neurolua}
reps=${2:-10}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
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

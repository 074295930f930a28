#!/usr/bin/env bash
# bench/atlas_summarize/run.sh [NEUROLUA] [N] [REPEATS]: regional summaries of N
# (default 100) GM-like maps at 1.5 mm over AAL, neurolua against a nibabel + NumPy
# peer, for .nii.gz and .nii files. Makes the maps in a temporary folder (removed at
# exit), runs both tools REPEATS times (default 3) alternately on the same files with
# a warm page cache, and prints the fastest time of each phase and the ratios.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
neurolua=${1:-$here/../../build/neurolua}
n=${2:-100}
repeats=${3:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
for ext in nii.gz nii; do
  /usr/bin/python3 "$here/make_maps.py" "$tmp/$ext" "$n" "$ext"
  cat "$tmp/$ext"/* > /dev/null   # warm the page cache for both tools
  out=""
  for ((r = 0; r < repeats; r++)); do
    out+=$("$neurolua" "$here/bench.lua" "$tmp/$ext" "$ext" 2>/dev/null)$'\n'
    out+=$(/usr/bin/python3 "$here/peer_nibabel.py" "$tmp/$ext" "$ext")$'\n'
  done
  printf '%s' "$out" | awk -v ext="$ext" -v n="$n" -v reps="$repeats" '
    NF == 2 { if (!($1 in best) || $2 < best[$1]) best[$1] = $2 }
    END {
      l = best["nl_load"]; f = best["nl_summarize_first"]; s = best["nl_summarize"]
      pl = best["peer_load"]; ps = best["peer_summarize"]
      printf "%d maps 121x145x121 float32 .%s, AAL volume_ml; best of %d (neurolua on %d threads)\n", n, ext, reps, best["nl_threads"]
      printf "  %-30s %9s %9s %8s\n", "phase (s)", "neurolua", "nibabel", "ratio"
      printf "  %-30s %9.3f %9.3f %7.1fx\n", "load", l, pl, pl / l
      printf "  %-30s %9.3f %9.3f %7.1fx\n", "summarize (incl. atlas grid)", f, ps, ps / f
      printf "  %-30s %9.3f\n", "summarize again (in memory)", s
      printf "  %-30s %9.3f %9.3f %7.1fx\n", "end to end", l + f, pl + ps, (pl + ps) / (l + f)
      printf "  check: Hippocampus_L of map 1 = %.4f ml (neurolua), %.4f ml (peer)\n", best["nl_check"], best["peer_check"]
    }'
done

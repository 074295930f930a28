#!/usr/bin/env bash
# bench/store/run.sh [NEUROLUA] [N] [PERMUTATIONS]: the out-of-core voxel store
# (docs/reference/store.md) on N (default 200) GM-like maps on CAT12's 1.5 mm grid
# (121x145x121 .nii.gz, bench/atlas_summarize/make_maps.py): build time per map and
# store size for deflate 0, 1 and 6, read time per block of 4096 voxels, and the GLM
# with PERMUTATIONS (default 100) Freedman-Lane permutations computed on the store block
# by block against nl.stats.glm on the whole matrix in memory (time, peak memory, and
# that the two agree bit for bit), and TFCE on the store (time, peak memory, reads of the
# store). Everything is made in a temporary folder, removed at
# exit. Figures: docs/benchmarks.md, "Out-of-core voxel store". Then the seed map of a
# 240-frame series from its 4-D Volume and from a store of its frames (seed.lua).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
neurolua=${1:-$here/../../build/neurolua}
n=${2:-200}
perms=${3:-100}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "machine: $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p')), load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
/usr/bin/python3 "$here/../atlas_summarize/make_maps.py" "$tmp/maps" "$n" nii.gz
cat "$tmp/maps"/* > /dev/null   # warm the page cache
mkdir -p "$tmp/work"
"$neurolua" "$here/bench.lua" "$tmp/maps" "$tmp/work" "$perms" | awk '
  { v[$1] = $2; print "  " $0 }
  END {
    printf "\n%d maps %s (.nii.gz), %d mask voxels, %d threads\n", v["n"], v["grid"], v["voxels"], v["threads"]
    printf "  build, deflate 0: %.1f ms/map, %.0f MB (raw %.0f MB), peak +%.0f MB\n", v["build0_ms_per_map"], v["build0_MB"], v["raw_MB"], v["build0_peak_MB"]
    printf "  build, deflate 1: %.1f ms/map, %.0f MB, peak +%.0f MB\n", v["build1_ms_per_map"], v["build1_MB"], v["build1_peak_MB"]
    printf "  build, deflate 6: %.1f ms/map, %.0f MB, peak +%.0f MB\n", v["build6_ms_per_map"], v["build6_MB"], v["build6_peak_MB"]
    printf "  read a 4096-voxel block of all subjects: %.2f ms uncompressed, %.2f ms deflate 1\n", v["read0_ms_per_block"], v["read1_ms_per_block"]
    printf "  GLM, %d permutations: store %.1f s (peak +%.0f MB, %d blocks); in memory %.1f s (peak +%.0f MB); identical: %s\n", v["permutations"], v["glm_store_s"], v["glm_store_peak_MB"], v["glm_store_blocks"], v["glm_memory_s"], v["glm_memory_peak_MB"], v["identical"]
    printf "  TFCE on the store, %d permutations: %.1f s (peak +%.0f MB, %d reads of the store)\n", v["permutations"], v["tfce_store_s"], v["tfce_store_peak_MB"], v["tfce_store_passes"]
  }'

# The seed map of one series (240 frames x 195,112 voxels, bench/store/make_series.py)
# from its 4-D Volume and from a store of its frames, one process per step (own peaks),
# one thread. Figures: docs/benchmarks.md, "Seed map from a store of frames".
/usr/bin/python3 "$here/make_series.py" "$tmp/series" 240
cat "$tmp/series/bold.nii" > /dev/null   # warm the page cache
for mode in volume build store; do
  NEUROLUA_THREADS=1 "$neurolua" "$here/seed.lua" "$mode" "$tmp/series"
done | awk '
  { v[$1] = $2 }
  END {
    printf "\nseed map, %d frames x %d voxels, 1 thread\n", v["frames"], v["voxels"]
    printf "  4-D Volume: load %.2f s + map %.2f s, peak +%.0f MB\n", v["volume_load_s"], v["volume_map_s"], v["volume_peak_MB"]
    printf "  build_series: %.2f s, peak +%.0f MB\n", v["build_s"], v["build_peak_MB"]
    printf "  store: open + map %.2f s, peak +%.0f MB; identical to the Volume map: %s\n", v["store_map_s"], v["store_peak_MB"], v["identical"]
  }'

#!/usr/bin/env bash
# bench/stats/tfce.sh [build_dir]: TFCE in neurolua and in MNE-Python, same data, same
# run (issue 20 item 5). Two cases:
#   map         the TFCE transform of one smooth t-like map on a 64 x 76 x 64 grid
#               (an ellipsoidal mask of about 130,000 voxels), 6 neighbours, step 0.1,
#               E 0.5, H 2, right tail: nl.stats.tfce against MNE's _find_clusters
#               (the function its permutation tests call for every map);
#   edges_perm  max-TFCE by 1000 sign flips of a one-sample test on 40 subjects x 4005
#               edges of a 90-node connectome (edges sharing a node are neighbours),
#               step 0.1, E 0.5, H 2, two-sided: nl.stats.glm against
#               mne.stats.permutation_cluster_1samp_test.
# Agreement: MNE 1.3's TFCE weighs each height by step^H (see docs/reference/stats.md),
# so the scores are compared with H = 0, where both reduce to the sum of e^E over the
# heights (neurolua's times the step); the FWE p of the edges lie within Monte-Carlo
# error of each other (MNE's t is the same one-sample t). Needs /usr/bin/python3 with
# numpy, scipy, nibabel and python3-mne. Environment: REPEATS (default 3), PERMS
# (default 1000), MNE_PERMS (default 100: MNE's edge run is timed on fewer permutations
# and its time scaled to PERMS), KEEP=dir keeps the outputs.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
nl="$build/neurolua"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
repeats=${REPEATS:-3}
perms=${PERMS:-1000}
peer_perms=${MNE_PERMS:-100}  # MNE's edge run is timed on fewer permutations and scaled to PERMS
echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
echo "neurolua: $("$nl" --version 2>&1 | head -1), commit $(git -C "$root" rev-parse --short HEAD)"
/usr/bin/python3 "$here/tfce_data.py" "$tmp/data"
"$nl" "$here/tfce_bench.lua" "$tmp/data" "$repeats" "$perms" "$tmp/nl.tsv"
/usr/bin/python3 "$here/tfce_peer.py" "$tmp/data" "$repeats" "$peer_perms" "$tmp/mne.tsv"
/usr/bin/python3 - "$tmp" "$perms" "$peer_perms" <<'PY'
import sys
import numpy as np
d, perms, peer_perms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def times(path):
    rows = [l.rstrip("\n").split("\t") for l in open(path)][1:]
    return {case: (tool, float(s)) for tool, case, s in rows}
a, b = times(d + "/nl.tsv"), times(d + "/mne.tsv")
b["edges_perm"] = (b["edges_perm"][0], b["edges_perm"][1] * perms / peer_perms)  # scaled to PERMS
print("MNE's edge run: %d permutations, its time scaled to %d" % (peer_perms, perms))
print("| case | neurolua s | %s s | ratio |" % b["map"][0])
print("|---|---|---|---|")
for case in ("map", "edges_perm"):
    print("| %s | %.3f | %.3f | %.0fx |" % (case, a[case][1], b[case][1], b[case][1] / a[case][1]))
h_nl, h_mne = np.loadtxt(d + "/nl.tsv.h0") / 0.1, np.loadtxt(d + "/mne.tsv.h0")
print("agreement, H = 0: max |neurolua / step - MNE| / max MNE = %.2e" % (np.abs(h_nl - h_mne).max() / h_mne.max()))
p_nl, p_mne = np.loadtxt(d + "/nl.tsv.p"), np.loadtxt(d + "/mne.tsv.p")
print("agreement, edge FWE p (%d and %d permutations): max |difference| = %.3f; p < 0.05: neurolua %d, MNE %d, both %d"
      % (perms, peer_perms, np.abs(p_nl - p_mne).max(), (p_nl < 0.05).sum(), (p_mne < 0.05).sum(), ((p_nl < 0.05) & (p_mne < 0.05)).sum()))
PY
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -n "${KEEP:-}" ]]; then mkdir -p "$KEEP" && cp -r "$tmp"/* "$KEEP"/; fi

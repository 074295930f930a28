#!/usr/bin/env bash
# bench/interrupt/run.sh [neurolua] [threads] [runs]: how long `neurolua script.lua`
# takes to stop after Ctrl-C (SIGINT) in a nested CV with the forward_select wrapper
# (issue 16: 37-97 s before the interrupt request was kept for every worker; the target
# is under 1 s on a Release build). No peer tool: the figure is absolute.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
nl=${1:-$root/build/neurolua}
echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $nl ($("$nl" -v | head -1))"
python3 "$root/bench/interrupt/latency.py" "$nl" "$root/bench/interrupt/wrapper.lua" "${2:-2}" "${3:-7}"

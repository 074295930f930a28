#!/usr/bin/env bash
# ./run.sh: install what is missing, build, and run the main job.
# Extra arguments are passed to the script.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$root/tools/bootstrap.sh"
exec "${NEUROLUA_BUILD_DIR:-$root/build}/neurolua" "$root/scripts/ketamine/replicate.lua" "$@"

#!/usr/bin/env bash
# ./test.sh: install what is missing, build, and run the whole test suite (ctest).
# Extra arguments go to ctest (for example -R matrix).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$root/tools/bootstrap.sh"
exec ctest --test-dir "${NEUROLUA_BUILD_DIR:-$root/build}" --output-on-failure -j"$(nproc)" "$@"

#!/usr/bin/env bash
# tools/sanitize.sh: the whole test suite under AddressSanitizer and
# UndefinedBehaviorSanitizer (run by CI after ./test.sh).
#
# Builds in build-asan/ (or $NEUROLUA_ASAN_BUILD_DIR) with -fsanitize=address,undefined
# (every UB check fatal), then runs ctest there. -O1 -g1 (line tables): about half
# the build time of -O2 -g on CI's two cores, and full file:line stack traces.
# Warnings are not fatal in this build:
# GCC 12 reports false -Wmaybe-uninitialized in libstdc++ headers under
# instrumentation; the normal build keeps -Werror. The packages come from ./test.sh's
# bootstrap. Leak checking is on. The test that loads neurolua.so into the stock lua5.4
# interpreter is left out: an uninstrumented host cannot load an ASan-instrumented
# module (the runtime must come first); it runs in the normal build. Leaks that
# third-party libraries keep for the life of the process are suppressed by
# tools/lsan.supp (libraries only, never neurolua code).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${NEUROLUA_ASAN_BUILD_DIR:-$root/build-asan}
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DNL_WERROR=OFF \
    -DNL_SANITIZE=address,undefined >&2
fi
cmake --build "$build" -j"$(nproc)" >&2
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:check_initialization_order=1
# Leaks inside third-party libraries (fontconfig's caches, through the charts' text) only.
export LSAN_OPTIONS=suppressions=$root/tools/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
exec ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -E '^module\.stock_lua$' "$@"

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
# module (the runtime must come first); it runs in the normal build, and the module is
# not even built here. The course's lessons (ctest course.*) are left out too: they run
# engine paths that the other tests cover, and would add minutes under ASan. Leaks that
# third-party libraries keep for the life of the process are suppressed by
# tools/lsan.supp (libraries only, never neurolua code). The engine's Catch2 cases run
# in one test_engine process, beside ctest running the other tests; with arguments
# (e.g. -R cv) ctest runs just what they select, engine cases included. MPI is off in
# this build (Open MPI's own allocations would read as leaks under mpirun): the engine's
# one-process path of nl/core/mpi.hpp is checked here, the MPI test (cli.mpi) runs in
# the normal build.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${NEUROLUA_ASAN_BUILD_DIR:-$root/build-asan}
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DNL_WERROR=OFF \
    -DNL_SANITIZE=address,undefined -DNL_MPI=OFF >&2
fi
cmake --build "$build" -j"$(nproc)" >&2
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:check_initialization_order=1
# Leaks inside third-party libraries (fontconfig's caches, through the charts' text) only.
export LSAN_OPTIONS=suppressions=$root/tools/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if (($#)); then  # a subset (e.g. -R cv): ctest as asked
  exec ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -E '^(module\.stock_lua|course\..*)$' "$@"
fi
# The engine's Catch2 cases run in one process beside ctest's other tests: as separate
# processes (ctest's engine.* tests) each paid about 0.5 s of sanitizer start-up, some
# 300 cases. A failure prints the whole Catch2 report.
(cd "$build/tests" && ./test_engine --warn NoTests) > "$build/engine_tests.log" 2>&1 &
engine=$!
status=0
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -E '^(module\.stock_lua|engine\..*|course\..*)$' || status=$?
if wait "$engine"; then
  echo "engine tests (test_engine, one process): $(tail -n 2 "$build/engine_tests.log" | tr -s '\n' ' ')"
else
  cat "$build/engine_tests.log"
  echo "sanitize: the engine tests failed (test_engine)" >&2
  status=1
fi
exit "$status"

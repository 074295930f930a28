#!/usr/bin/env bash
# tools/fuzz.sh: build the libFuzzer harnesses (fuzz/) and run each for a while.
#
#   tools/fuzz.sh [seconds per target, default 30] [target...]   (targets: table labels nifti model)
#
# Builds in build-fuzz/ (or $NEUROLUA_FUZZ_BUILD_DIR) with clang-14, AddressSanitizer,
# UndefinedBehaviorSanitizer (every check fatal) and libFuzzer; only the engine and the
# fuzz_* executables are built. Each target starts from its seed corpus
# fuzz/corpus/<target>/ plus the saved crashing inputs fuzz/regressions/<target>/; new
# interesting inputs go to build-fuzz/corpus/<target>/ (kept between runs, never
# committed). A crash stops the run with libFuzzer's report and the input saved as
# build-fuzz/crash-<target>-*; copy it to fuzz/regressions/<target>/ once fixed, so
# ctest replays it (test fuzz.replay_<target>). Exit status: non-zero on a crash.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${NEUROLUA_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${1:-30}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(table labels nifti model)

# The build's other packages come from tools/bootstrap.sh (run by ./test.sh); clang-14
# (libFuzzer and its sanitizer runtimes) is installed here, as bootstrap.sh would.
if ! command -v clang++-14 >/dev/null || ! dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "install ok installed"; then
  echo "fuzz.sh: installing clang-14" >&2
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "fuzz.sh: clang-14 is missing and not root; install it" >&2; exit 1; }
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends clang-14 libclang-rt-14-dev >&2
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DNL_WERROR=OFF -DBUILD_TESTING=OFF \
    -DNL_SANITIZE=address,undefined -DNL_FUZZ=ON >&2
fi
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}" >&2

export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for t in "${targets[@]}"; do
  work=$build/corpus/$t
  mkdir -p "$work"
  seeds=("$root/fuzz/corpus/$t")
  [ -d "$root/fuzz/regressions/$t" ] && seeds+=("$root/fuzz/regressions/$t")
  echo "fuzz.sh: $t for ${seconds}s" >&2
  # -rss_limit_mb: a harness never needs more (the NIfTI one lowers the memory budget);
  # -timeout: a single input taking longer is a hang worth reporting.
  if ! (cd "$build" && "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 \
        -max_len=65536 -artifact_prefix="$build/crash-$t-" -print_final_stats=1 "$work" "${seeds[@]}" \
        2>"$build/fuzz-$t.log"); then
    echo "fuzz.sh: $t FAILED; the report:" >&2
    tail -n 60 "$build/fuzz-$t.log" >&2
    status=1
  else
    grep -E "^stat::number_of_executed_units|^stat::new_units_added|^#[0-9]+ +DONE" "$build/fuzz-$t.log" >&2 || true
  fi
done
exit $status

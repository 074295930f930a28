#!/usr/bin/env bash
# tools/fuzz.sh: build the libFuzzer harnesses (fuzz/) and run each for a while.
#
#   tools/fuzz.sh [seconds per target, default 30] [target...]   (targets: table labels nifti model api)
#
# Builds in build-fuzz/ (or $NEUROLUA_FUZZ_BUILD_DIR) with clang-14, AddressSanitizer,
# UndefinedBehaviorSanitizer (every check fatal) and libFuzzer; only the engine and the
# fuzz_* executables are built. Each target starts from its seed corpus
# fuzz/corpus/<target>/ plus the saved crashing inputs fuzz/regressions/<target>/; new
# interesting inputs go to build-fuzz/corpus/<target>/ (kept between runs, never
# committed). A crash stops the run with libFuzzer's report and the input saved as
# build-fuzz/crash-<target>-*; copy it to fuzz/regressions/<target>/ once fixed, so
# ctest replays it (test fuzz.replay_<target>). Exit status: non-zero on a crash.
#
# Target `api` is the API fuzzer, fuzz/api_fuzz.lua (every Lua-visible function with
# hostile arguments), run by the neurolua executable built with ASan + UBSan. That
# executable cannot be built here: the engine includes ITK, whose Debian headers refuse
# clang (fuzz/CMakeLists.txt). It comes from tools/sanitize.sh's GCC build instead
# ($NEUROLUA_ASAN_BUILD_DIR, default build-asan/, which CI builds in the stage before
# this one, so only an up-to-date check is added here); configured the same way if
# missing. Seed: $NEUROLUA_FUZZ_SEED, else the time (printed, for a rerun).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${NEUROLUA_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${1:-30}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(table labels nifti model api)
libfuzzer_targets=()
run_api=0
for t in "${targets[@]}"; do
  if [ "$t" = api ]; then run_api=1; else libfuzzer_targets+=("$t"); fi
done
targets=(${libfuzzer_targets[@]+"${libfuzzer_targets[@]}"})

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
if ((${#targets[@]})) && [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DNL_WERROR=OFF -DBUILD_TESTING=OFF \
    -DNL_SANITIZE=address,undefined -DNL_FUZZ=ON -DNL_MPI=OFF >&2
fi
((${#targets[@]})) && cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}" >&2

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
if ((run_api)); then
  asan=${NEUROLUA_ASAN_BUILD_DIR:-$root/build-asan}
  if [ ! -f "$asan/CMakeCache.txt" ]; then  # as tools/sanitize.sh configures it
    cmake -S "$root" -B "$asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DNL_WERROR=OFF \
      -DNL_SANITIZE=address,undefined -DNL_MPI=OFF >&2
  fi
  t0=$SECONDS
  cmake --build "$asan" -j"$(nproc)" --target neurolua >&2
  echo "fuzz.sh: api: neurolua (ASan + UBSan) up to date in $((SECONDS - t0)) s" >&2
  seed=${NEUROLUA_FUZZ_SEED:-$(date +%s)}
  work=$(mktemp -d)
  log=$build/fuzz-api.log
  mkdir -p "$build"
  echo "fuzz.sh: api for ${seconds}s, seed $seed (rerun: NEUROLUA_FUZZ_SEED=$seed tools/fuzz.sh $seconds api)" >&2
  # Its standard output (what the calls print) is dropped. allocator_may_return_null: a huge allocation is the engine's bad_alloc (a Lua error
  # "not enough memory"), not a sanitizer abort.
  if ! (cd "$work" && ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
        LSAN_OPTIONS=suppressions=$root/tools/lsan.supp:print_suppressions=0 \
        timeout $((seconds + 120)) "$asan/neurolua" "$root/fuzz/api_fuzz.lua" "$seed" "$seconds" >/dev/null 2>"$log") \
     || grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$log"; then
    echo "fuzz.sh: api FAILED (seed $seed); the report:" >&2
    tail -n 60 "$log" >&2
    status=1
  else
    tail -n 1 "$log" >&2
  fi
  rm -rf "$work"
fi
exit $status

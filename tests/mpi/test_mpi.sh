#!/usr/bin/env bash
# tests/mpi/test_mpi.sh NEUROLUA MPIEXEC: a script runs unchanged under MPI and gives
# the same bytes on 1 process and on 1, 2 and 4 ranks (tests/mpi/outputs.lua covers
# every unit nl/core/mpi.hpp spreads: outer folds, NCV, external and GLM permutations
# with clusters and TFCE, ROC bootstrap, the blocks of a voxel store's GLM); only rank 0
# writes; a failing rank ends the
# run with an error instead of a hang; the REPL is refused on several ranks.
set -euo pipefail
nl=$1
mpiexec=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# CI runs as root; Open MPI refuses that unless told. One thread per rank keeps 4 ranks
# on CI's 2 cores quick (the results do not depend on it).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
run() { timeout 300 "$mpiexec" --oversubscribe -n "$1" -x NEUROLUA_THREADS=1 "${@:2}"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

NEUROLUA_THREADS=2 "$nl" "$here/outputs.lua" "$tmp/plain" > "$tmp/plain.out"
grep -q "rank 0 of 1: done" "$tmp/plain.out" || fail "one process: $(cat "$tmp/plain.out")"
for n in 1 2 4; do
  run "$n" "$nl" "$here/outputs.lua" "$tmp/ranks$n" > "$tmp/ranks$n.out" 2> "$tmp/ranks$n.err" ||
    fail "mpirun -n $n: $(cat "$tmp/ranks$n.err")"
  # Rank 0 alone prints and writes (besides the maps and the stores built from them).
  [ "$(cat "$tmp/ranks$n.out")" = "rank 0 of $n: done" ] || fail "mpirun -n $n printed: $(cat "$tmp/ranks$n.out")"
  [ "$(ls "$tmp/ranks$n" | grep -Ev '^map|\.h5$')" = "$(printf 'cv.nlm\nnumbers.txt\nrank_0.txt')" ] ||
    fail "mpirun -n $n wrote: $(ls -a "$tmp/ranks$n")"
  for f in numbers.txt cv.nlm; do
    cmp "$tmp/plain/$f" "$tmp/ranks$n/$f" || fail "$f differs between one process and $n ranks"
  done
  echo "ok: $n rank(s) give the same bytes"
done

# A script that fails on one rank only ends the run (MPI_Abort), with a non-zero status.
cat > "$tmp/fail.lua" <<'LUA'
if nl.mpi.rank() == 1 then error("rank 1 stops here") end
nl.mpi.barrier()  -- rank 0 waits here for a rank that never comes
print("not reached")
LUA
set +e
run 2 "$nl" "$tmp/fail.lua" > "$tmp/fail.out" 2> "$tmp/fail.err"
status=$?
set -e
[ "$status" -ne 0 ] && [ "$status" -ne 124 ] || fail "a failing rank gave status $status (124: a hang)"
grep -q "not reached" "$tmp/fail.out" && fail "rank 0 went on"
echo "ok: a failing rank ends the run (status $status)"

# nl.mpi as the script sees it; the REPL is refused on several ranks.
out=$(run 3 "$nl" -e 'print(nl.mpi.rank(), nl.mpi.size(), nl.mpi.root(), nl.mpi.built()); print(nl.mpi.info())' 2>&1)
echo "$out" | head -1 | grep -q "^0	3	true	true$" || fail "nl.mpi under 3 ranks: $out"
echo "$out" | grep -q "rank 0 of 3 (" || fail "nl.mpi.info: $out"
set +e
run 2 "$nl" -i < /dev/null > "$tmp/repl.out" 2>&1
status=$?
set -e
[ "$status" -ne 0 ] && grep -q "the REPL cannot run on 2 MPI ranks" "$tmp/repl.out" || fail "REPL on 2 ranks: $(cat "$tmp/repl.out")"
out=$("$nl" -e 'print(nl.mpi.rank(), nl.mpi.size(), nl.mpi.info())')
echo "$out" | grep -q "^0	1	one process (not started by mpirun" || fail "nl.mpi without mpirun: $out"
echo "ok: nl.mpi"

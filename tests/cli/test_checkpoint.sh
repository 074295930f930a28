#!/usr/bin/env bash
# tests/cli/test_checkpoint.sh NEUROLUA [MPIEXEC]: a long permutation test (a GLM with
# clusters; a full-mode nested-CV test with the null kept; store:glm with TFCE and
# clusters, and without them) killed with SIGKILL while it
# writes its checkpoint, then started again with the same checkpoint, ends with the same
# bytes as a run never interrupted; the checkpoint is removed at the end; a checkpoint of
# another run (another seed) is refused with a message naming the file. With MPIEXEC: a
# run on 2 ranks is killed and resumed on 1 rank and on 3.
set -euo pipefail
nl=$1
mpiexec=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 NEUROLUA_THREADS=2
fail() { echo "FAIL: $*" >&2; exit 1; }
# Under AddressSanitizer everything runs about ten times slower: fewer permutations
# still leave several rounds to kill in, and keep the test to about a minute.
if "$nl" -v | grep -q AddressSanitizer; then
  export CK_GLM_PERMS=60000 CK_CV_PERMS=300 CK_STORE_PERMS=3000 CK_STOREVOX_PERMS=60000
fi

# Starts a run in the background, waits until its checkpoint has been written at least
# twice, then kills it (the whole process group: mpirun and its ranks).
kill_midway() {
  local ck=$1
  shift
  setsid "$@" > "$tmp/killed.out" 2> "$tmp/killed.err" &
  local pid=$! writes=0 last=""
  for _ in $(seq 1 600); do
    if [ -f "$ck" ]; then
      local now
      now=$(stat -c %Y.%s "$ck" 2> /dev/null || true)
      [ "$now" != "$last" ] && { writes=$((writes + 1)); last=$now; }
      [ "$writes" -ge 2 ] && break
    fi
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.05
  done
  kill -9 -- "-$pid" 2> /dev/null || fail "the run ended before it could be killed ($(cat "$tmp/killed.err"))"
  wait "$pid" 2> /dev/null || true
  [ -f "$ck" ] || fail "no checkpoint after the kill"
}

for kind in glm cv store storevox; do
  "$nl" "$here/checkpoint_run.lua" "$kind" "$tmp/$kind.ref"
  kill_midway "$tmp/$kind.ckpt" "$nl" "$here/checkpoint_run.lua" "$kind" "$tmp/$kind.out" "$tmp/$kind.ckpt"
  [ -f "$tmp/$kind.out" ] && fail "$kind: the killed run finished"
  # Another run (seed 4) must not take this checkpoint.
  if "$nl" "$here/checkpoint_run.lua" "$kind" "$tmp/$kind.other" "$tmp/$kind.ckpt" 4 2> "$tmp/other.err"; then
    fail "$kind: a checkpoint of another seed was accepted"
  fi
  grep -q "$tmp/$kind.ckpt: this checkpoint belongs to another run" "$tmp/other.err" ||
    fail "$kind: message for a foreign checkpoint: $(cat "$tmp/other.err")"
  "$nl" "$here/checkpoint_run.lua" "$kind" "$tmp/$kind.out" "$tmp/$kind.ckpt" 2> "$tmp/resume.err"
  grep -q "resuming the .* from the checkpoint" "$tmp/resume.err" || fail "$kind: no resume note: $(cat "$tmp/resume.err")"
  cmp "$tmp/$kind.ref" "$tmp/$kind.out" || fail "$kind: the resumed run differs from the uninterrupted one"
  [ -e "$tmp/$kind.ckpt" ] && fail "$kind: the checkpoint was left after the run finished"
  echo "ok: $kind killed and resumed gives the same bytes"
done

if [ -n "$mpiexec" ]; then
  for resume_ranks in 1 3; do
    rm -f "$tmp/glm.mpi" "$tmp/mpi.ckpt"
    kill_midway "$tmp/mpi.ckpt" "$mpiexec" --oversubscribe -n 2 -x NEUROLUA_THREADS=1 \
      "$nl" "$here/checkpoint_run.lua" glm "$tmp/glm.mpi" "$tmp/mpi.ckpt"
    "$mpiexec" --oversubscribe -n "$resume_ranks" -x NEUROLUA_THREADS=1 \
      "$nl" "$here/checkpoint_run.lua" glm "$tmp/glm.mpi" "$tmp/mpi.ckpt" 2> /dev/null
    cmp "$tmp/glm.ref" "$tmp/glm.mpi" || fail "killed on 2 ranks, resumed on $resume_ranks: results differ"
    echo "ok: killed on 2 ranks, resumed on $resume_ranks: the same bytes"
  done
fi

#!/usr/bin/env bash
# No torn outputs: a neurolua process killed (SIGKILL) while it rewrites a table and a
# volume leaves each file either complete and old or complete and new, never partial;
# its temporary files are hidden and the next run's write into the folder removes them.
#   test_atomic.sh /path/to/neurolua
set -euo pipefail
exe=$1
tmp=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# The writer: rewrites t.tsv (50,000 rows, every cell of a version holding the version
# number) and v.nii.gz (all voxels = the version) forever, alternating versions.
cat > "$tmp/writer.lua" <<'LUA'
local dir = ...
local n = 50000
local ref = nl.volume.new(nl.atlas.load("aal"):volume())
local k = 0
while true do
  k = k + 1
  local col = {}
  for i = 1, n do col[i] = k end
  nl.table.new{ { "version", col }, { "copy", col } }:write(dir .. "/t.tsv")
  nl.volume.new(ref, k):save(dir .. "/v.nii.gz")
  local f = io.open(dir .. "/progress", "w"); f:write(k); f:close()
end
LUA

cat > "$tmp/check.lua" <<'LUA'
local dir = ...
local t = nl.table.read(dir .. "/t.tsv")
assert(#t == 50000, "table has " .. #t .. " rows")
local v = t.version[1]
assert(t.version:min() == v and t.version:max() == v and t.copy:min() == v and t.copy:max() == v,
  "table mixes versions")
local vol = nl.volume.load(dir .. "/v.nii.gz")
local m = nl.atlas.load("aal"):summarize({ vol }, "mean"):matrix()
assert(m:min() == m:max(), "volume mixes versions")
print("ok: table version " .. v .. ", volume version " .. m:min())
LUA

stale=0
for delay in 0.3 0.7 1.1 1.6 2.2; do
  rm -f "$tmp"/t.tsv "$tmp"/v.nii.gz "$tmp"/progress
  "$exe" "$tmp/writer.lua" "$tmp" &
  pid=$!
  # Wait for a first complete version, then kill at an arbitrary moment of a rewrite.
  for _ in $(seq 1 300); do [ -s "$tmp/progress" ] && break; sleep 0.05; done
  [ -s "$tmp/progress" ] || fail "the writer never finished a first version"
  sleep "$delay"
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  out=$("$exe" "$tmp/check.lua" "$tmp" 2>&1) || fail "after kill at +${delay}s: $out"
  echo "killed at +${delay}s: $out"
  # Issue 17: the killed writer's temporary files are hidden (.name.nl-tmp-<pid>-X) ...
  unhidden=$(cd "$tmp" && ls | grep -e '-tmp-\|\.tmp' || true)
  [ -z "$unhidden" ] || fail "unhidden temporary files after kill at +${delay}s: $unhidden"
  left=$(cd "$tmp" && ls -A | grep -c '\.nl-tmp-' || true)
  stale=$((stale + left))
  # ... and the next run that writes into the folder removes them.
  "$exe" -e "nl.table.new{ {'a', {1}} }:write('$tmp/other.csv')" || fail "the next write failed"
  after=$(cd "$tmp" && ls -A | grep '\.nl-tmp-' || true)
  [ -z "$after" ] || fail "stale temporary files not removed by the next run: $after"
  echo "  $left stale temporary file(s) left by the kill, removed by the next write"
done
# Whether a kill lands while a temporary file exists is chance (the table and the volume
# are encoded in memory; the file lives only through write, fsync and rename), so the
# cleanup is also checked on files made for it: one left by a writer that is gone (no
# lock on it) and one whose writer is alive (it holds an flock, as AtomicFile does).
echo "kills that left a temporary file: $stale"
stale_file="$tmp/.t.tsv.nl-tmp-0-AbC123"
live_file="$tmp/.v.nii.gz.nl-tmp-0-XyZ789"
echo partial > "$stale_file"
echo partial > "$live_file"
# (its output away from ctest's pipe, which a leftover sleep would hold open)
flock "$live_file" sleep 60 > /dev/null 2>&1 &
holder=$!
for _ in $(seq 1 100); do flock -n "$live_file" true 2>/dev/null || break; sleep 0.05; done
flock -n "$live_file" true 2>/dev/null && fail "could not take a lock for the live-writer check"
"$exe" -e "nl.table.new{ {'a', {1}} }:write('$tmp/other.csv')" || fail "the next write failed"
[ ! -e "$stale_file" ] || fail "a stale temporary file (writer gone) was not removed by the next write"
[ -e "$live_file" ] || fail "the temporary file of a live writer (lock held) was removed"
pkill -P "$holder" 2>/dev/null || true  # the sleep under flock
kill "$holder" 2>/dev/null || true
echo "atomic writes: all checks passed"

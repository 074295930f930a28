#!/usr/bin/env bash
# Tests of `neurolua --sandbox`: tests/lua/sandbox_escapes.lua tries every escape from
# inside the sandbox; this script checks the command line and prepares the folders.
#   test_sandbox.sh /path/to/neurolua
set -euo pipefail
exe=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/in" "$tmp/out" "$tmp/outside"
printf 'a,b\n1,2\n3,4\n' > "$tmp/in/t.csv"
cp "$here/../data/nifti/good_int16.nii" "$tmp/in/v.nii"
echo "top secret" > "$tmp/outside/secret.txt"
echo 'return "loaded"' > "$tmp/outside/secret_module.lua"
ln -s "$tmp/outside/secret.txt" "$tmp/out/link_to_secret"
ln -s "$tmp/outside" "$tmp/out/link_to_outside"

fail() { echo "FAIL: $*" >&2; exit 1; }

LUA_PATH="$here/../lua/?.lua;;" "$exe" --sandbox --in "$tmp/in" --out "$tmp/out" \
  "$here/../lua/sandbox_escapes.lua" "$tmp/in" "$tmp/out" "$tmp/outside"
[ "$(cat "$tmp/outside/secret.txt")" = "top secret" ] || fail "secret changed"
[ ! -e "$tmp/outside/v.nii.gz" ] && [ ! -e "$tmp/escape.txt" ] || fail "a file escaped the output folder"

# Command line: folders must exist; --in/--out need --sandbox.
out=$("$exe" --sandbox --out "$tmp/nope" -e 'print(1)' 2>&1) && fail "missing --out accepted"
grep -q "output folder '$tmp/nope' does not exist" <<<"$out" || fail "message: $out"
out=$("$exe" --in "$tmp/in" -e 'print(1)' 2>&1) && fail "--in without --sandbox accepted"
grep -q "only apply with '--sandbox'" <<<"$out" || fail "message: $out"
out=$("$exe" --sandbox --out 2>&1) && fail "--out without a folder accepted"
grep -q "needs a folder" <<<"$out" || fail "message: $out"
# Without --out nothing may be written.
out=$("$exe" --sandbox -e 'local f, e = io.open("x.txt", "w"); print(f, e)' 2>&1)
grep -q "writing outside the output folder is not permitted in the sandbox (allowed: none)" <<<"$out" || fail "message: $out"
echo "sandbox: all checks passed"

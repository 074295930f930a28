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
ln -s "$tmp/outside/created_by_link" "$tmp/out/dangling"
ln -s "$tmp/outside/new_dir" "$tmp/out/dangling_dir"
ln -s "$tmp/out/dangling" "$tmp/out/chain"
ln -s "$tmp/out/loop" "$tmp/out/loop"
ln -s "$tmp/out/target.txt" "$tmp/out/inside_link"
"$exe" -e "io.open('$tmp/in/bytecode_module.lua', 'wb'):write(string.dump(function() return 'loaded' end))"

fail() { echo "FAIL: $*" >&2; exit 1; }

# The working folder is outside every allowed folder: a relative name must not land there.
(cd "$tmp/outside" && NL_SANDBOX_ALLOWED=1 LUA_PATH="$here/../lua/?.lua;;" "$exe" --sandbox --in "$tmp/in" \
  --out "$tmp/out" "$here/../lua/sandbox_escapes.lua" "$tmp/in" "$tmp/out" "$tmp/outside")
[ "$(cat "$tmp/outside/secret.txt")" = "top secret" ] || fail "secret changed"
[ ! -e "$tmp/outside/v.nii.gz" ] && [ ! -e "$tmp/escape.txt" ] || fail "a file escaped the output folder"
for f in 123 inf -nan nan created_by_link new_dir absent_dir newdir; do
  [ ! -e "$tmp/outside/$f" ] || fail "'$f' was created outside the allowed folders"
done

# --env names the variables os.getenv may read.
out=$(NL_SANDBOX_ALLOWED=yes "$exe" --sandbox --env NL_SANDBOX_ALLOWED -e 'print(os.getenv("NL_SANDBOX_ALLOWED"), os.getenv("HOME"))')
[ "$out" = "$(printf 'yes\tnil')" ] || fail "--env: $out"
out=$("$exe" --env HOME -e 'print(1)' 2>&1) && fail "--env without --sandbox accepted"

# Issue 17, item 1: a binary chunk is never the script in the sandbox, whatever its
# source (a file, stdin), and outside it only with --bytecode.
"$exe" -e "io.open('$tmp/in/dumped.luac', 'wb'):write(string.dump(function() print('ran bytecode') end))"
out=$("$exe" --sandbox --in "$tmp/in" "$tmp/in/dumped.luac" 2>&1) && fail "bytecode script ran in the sandbox"
grep -q "attempt to load a binary chunk" <<<"$out" || fail "message: $out"
out=$("$exe" --sandbox - <"$tmp/in/dumped.luac" 2>&1) && fail "bytecode on stdin ran in the sandbox"
grep -q "attempt to load a binary chunk" <<<"$out" || fail "message: $out"
out=$("$exe" "$tmp/in/dumped.luac" 2>&1) && fail "bytecode script ran without --bytecode"
grep -q "attempt to load a binary chunk" <<<"$out" || fail "message: $out"
out=$("$exe" --bytecode "$tmp/in/dumped.luac" 2>&1) || fail "--bytecode: $out"
[ "$out" = "ran bytecode" ] || fail "--bytecode: $out"
out=$("$exe" --sandbox --bytecode "$tmp/in/dumped.luac" 2>&1) && fail "--bytecode accepted with --sandbox"
grep -q "'--bytecode' cannot be used with '--sandbox'" <<<"$out" || fail "message: $out"
# A crafted chunk (a LOADK whose constant index is 0x1FFFF, which crashed the sandbox):
# refused before Lua's undumper looks at it.
"$exe" -e "
  local d = string.dump(function() local x = 'k' return x end)
  local i = d:find(string.char(0x03), 30, true)  -- an opcode byte OP_LOADK (3)
  d = d:sub(1, i - 1) .. string.char(0x83, 0xFF, 0xFF, 0xFF) .. d:sub(i + 4)
  io.open('$tmp/in/crafted.luac', 'wb'):write(d)"
out=$("$exe" --sandbox --in "$tmp/in" "$tmp/in/crafted.luac" 2>&1) && fail "crafted bytecode ran"
grep -q "attempt to load a binary chunk" <<<"$out" || fail "message: $out"

# Issue 17, item 3: limits that Lua code cannot catch or disable.
t0=$SECONDS
status=0
out=$("$exe" --sandbox --max-seconds 1 -e 'while true do pcall(function() while true do end end) end' 2>&1) || status=$?
[ "$status" = 124 ] || fail "--max-seconds: status $status, $out"
grep -q "time limit of 1 s reached (--max-seconds)" <<<"$out" || fail "message: $out"
(( SECONDS - t0 < 8 )) || fail "--max-seconds 1 took $((SECONDS - t0)) s"
status=0
out=$("$exe" --sandbox --max-memory 64M -e '
  local keep = {}
  while true do
    pcall(function() for i = 1, 1e9 do keep[#keep + 1] = string.rep("x", 1000) .. i end end)
  end' 2>&1) || status=$?
[ "$status" = 125 ] || fail "--max-memory: status $status, $out"
grep -q "memory limit of 64.0 MB reached (--max-memory)" <<<"$out" || fail "message: $out"
grep -q "traceback" <<<"$out" && fail "a limit is no bug: no traceback hint: $out"
# An engine allocation past the limit ends the run too (not under the sanitizers, whose
# shadow memory keeps the process's data cap off).
# (The executable says so itself: a `ldd | grep -q` pipe under pipefail fails at random
# when grep quits first and ldd gets SIGPIPE; that is what made CI's run fail.)
if [[ "$("$exe" --version)" != *AddressSanitizer* ]]; then
  status=0
  out=$("$exe" --max-memory 256M -e 'print(pcall(nl.matrix.zeros, 20000, 20000)) print("went on")' 2>&1) || status=$?
  [ "$status" = 125 ] && ! grep -q "went on" <<<"$out" || fail "engine allocation past --max-memory: status $status, $out"
fi
# nl.memory_budget cannot lift it.
out=$("$exe" --max-memory 64M -e 'nl.memory_budget(2^40)' 2>&1) && fail "nl.memory_budget raised the limit"
grep -q "above the limit of 64.0 MB set with --max-memory" <<<"$out" || fail "message: $out"
# Garbage is collected, not counted against the limit.
out=$("$exe" --max-memory 64M -e 'for i = 1, 200000 do local s = string.rep("y", 10000) .. i end print("done")' 2>&1) \
  || fail "garbage counted against --max-memory: $out"
# A load larger than the limit is refused by the engine's budget.
head -c 3000000 /dev/zero | tr '\0' '1' | fold -w 100 | sed 's/^/a,/' >"$tmp/in/big.csv"
status=0
out=$("$exe" --sandbox --in "$tmp/in" --max-memory 2M -e "print(pcall(nl.table.read, '$tmp/in/big.csv'))" 2>&1) || status=$?
grep -q "memory budget" <<<"$out" || fail "the budget is not the limit: $out"
for bad in 0 -1 abc 5X ''; do
  out=$("$exe" --max-memory "$bad" -e 'print(1)' 2>&1) && fail "--max-memory '$bad' accepted"
  out=$("$exe" --max-seconds "$bad" -e 'print(1)' 2>&1) && fail "--max-seconds '$bad' accepted"
done

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

#!/usr/bin/env bash
# Tests of the neurolua executable: options, arg table, exit codes, error messages.
# Usage: test_cli.sh /path/to/neurolua   (run from tests/cli)
set -u
NL=$1
passed=0; failed=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $name" >&2; fi
}
run() {  # run ARGS... ; sets out, err, rc
  out=$("$NL" "$@" 2>"$tmp/err" <"${STDIN:-/dev/null}"); rc=$?; err=$(cat "$tmp/err")
}
contains() { [[ "$1" == *"$2"* ]]; }

run --version
check "--version" [ "$rc" -eq 0 ]
check "--version text" contains "$out" "neurolua 0.1.0"

run --help
check "--help" [ "$rc" -eq 0 ]
check "--help usage" contains "$out" "usage: neurolua [options] [script [args]]"

run --bogus
check "unknown option exits 1" [ "$rc" -eq 1 ]
check "unknown option named" contains "$err" "unrecognized option '--bogus'"

run -e
check "-e without code" [ "$rc" -eq 1 ]

run -e 'print(1 + 1)'
check "-e runs code" [ "$out" = "2" ]

run -e 'x = 5' -e 'print(x * 2)'
check "-e in order" [ "$out" = "10" ]

run -e 'print(type(nl), type(help), require("neurolua") == nl)'
check "globals nl and help" [ "$out" = $'table\tfunction\ttrue' ]

run -e 'local nl = require "neurolua"; print(nl.matrix{{1,2},{3,4}} * 2)'
check "issue example" [ "$out" = $'  2  4\n  6  8\n[Matrix 2x2]' ]

cat > "$tmp/args.lua" <<'LUA'
print(arg[0], arg[1], arg[2], #arg, select("#", ...), ...)
LUA
run "$tmp/args.lua" one two
check "script args" [ "$out" = "$tmp/args.lua"$'\tone\ttwo\t2\t2\tone\ttwo' ]
check "script exit 0" [ "$rc" -eq 0 ]

printf 'local x = 1\n\nerror("boom")\n' > "$tmp/err.lua"
run "$tmp/err.lua"
check "script error exits 1" [ "$rc" -eq 1 ]
check "script error file:line: message" [ "$(head -1 <<<"$err")" = "neurolua: $tmp/err.lua:3: boom" ]
check "script error: no traceback by default" [ "${err/stack traceback:/}" = "$err" ]
check "script error: says how to see the traceback" contains "$err" "run with --traceback"
run --traceback "$tmp/err.lua"
check "--traceback: same first line" [ "$(head -1 <<<"$err")" = "neurolua: $tmp/err.lua:3: boom" ]
check "--traceback: traceback" contains "$err" "stack traceback:"
NEUROLUA_TRACEBACK=1 run "$tmp/err.lua"
check "NEUROLUA_TRACEBACK=1: traceback" contains "$err" "stack traceback:"
NEUROLUA_TRACEBACK=0 run "$tmp/err.lua"
check "NEUROLUA_TRACEBACK=0: no traceback" [ "${err/stack traceback:/}" = "$err" ]
run -e "error('first')" -e "x = nl.traceback()"
check "nl.traceback: nil before an error" [ "$rc" -eq 1 ]
printf 'error("boom")\nio.write(nl.traceback())\n' > "$tmp/session.txt"
STDIN="$tmp/session.txt" run -i
check "REPL error: the message alone" contains "$err" "neurolua: stdin:1: boom"
check "REPL error: no traceback" [ "${err/stack traceback:/}" = "$err" ]
check "REPL error: no --traceback hint" [ "${err/--traceback/}" = "$err" ]
check "nl.traceback(): the last error's traceback" contains "$out" $'stdin:1: boom\nstack traceback:'

# An error raised inside neurolua's own Lua files (the standard library) is reported
# without their position: the message names the input.
run -e "nl.study.participants('$tmp/none.tsv')"
check "stdlib error: no internal position" [ "${err/stdlib\/neurolua/}" = "$err" ]
check "stdlib error: names the file" contains "$err" "$tmp/none.tsv"

run "$tmp/missing.lua"
check "missing script exits 1" [ "$rc" -eq 1 ]
check "missing script message" contains "$err" "cannot open $tmp/missing.lua"

printf 'local m = nl.matrix.ones(2, 2) * nl.matrix.ones(3, 1)\n' > "$tmp/prod.lua"
run "$tmp/prod.lua"
check "non-conformant product exits 1" [ "$rc" -eq 1 ]
check "non-conformant product message" [ "$(head -1 <<<"$err")" = "neurolua: $tmp/prod.lua:1: matrix product: dimensions 2x2 and 3x1 do not agree (columns of the left must equal rows of the right)" ]

printf 'a,b,c\n1,2,3\n4,5\n' > "$tmp/ragged.csv"
run -e "nl.table.read('$tmp/ragged.csv')"
check "ragged CSV exits 1" [ "$rc" -eq 1 ]
check "ragged CSV names file and line" contains "$(head -1 <<<"$err")" "ragged.csv:3:"

run -e "nl.table.read('$tmp/none.csv')"
check "missing CSV exits 1" [ "$rc" -eq 1 ]
check "missing CSV names the file" contains "$(head -1 <<<"$err")" "none.csv"

echo 'print(6 * 7)' > "$tmp/in.lua"
STDIN="$tmp/in.lua" run -
check "- runs stdin" [ "$out" = "42" ]
STDIN="$tmp/in.lua" run
check "no args and piped stdin runs it" [ "$out" = "42" ]

printf 'return { answer = 41 + 1 }\n' > "$tmp/mymod.lua"
out=$(LUA_PATH="$tmp/?.lua;;" "$NL" -l mymod -l alias=mymod -e 'print(mymod.answer, alias.answer)' 2>&1)
check "-l requires into a global" [ "$out" = $'42\t42' ]

printf '1+1\nfor i = 1, 2 do\nprint(i * 10)\nend\nerror("oops")\nx = 3\nx\nnl.matrix.eye(2)\n' > "$tmp/repl.in"
STDIN="$tmp/repl.in" run -i
check "-i REPL output" [ "$out" = "$("$NL" --version)"$'\n2\n10\n20\n3\n  1  0\n  0  1\n[Matrix 2x2]' ]
check "-i REPL survives an error" contains "$err" "oops"
check "-i REPL exit 0" [ "$rc" -eq 0 ]

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env python3
"""Progress lines of long computations (issue 16 item 6).

On a terminal (a pseudo-terminal here) a nested CV, its permutations, a GLM with
permutations, a pipeline fit with forward_select, nl.fc.netmats over many runs and a Lua
loop with nl.progress_line each show one line with the label, a bar, done/total, a rate and an ETA, ending with
"done in". With standard error on a pipe, with NEUROLUA_PROGRESS=0 or after
nl.progress(false) nothing is shown, and the results printed on standard output are the
same in every case.
Usage: test_progress.py /path/to/neurolua      (standard library only)
"""
import os
import pty
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

NL = sys.argv[1]
os.environ["NEUROLUA_PROGRESS_INTERVAL"] = "0"  # every step redraws (see SCRIPT)
passed = failed = 0

# The computations are small (a second or less each in a Release build, more under the
# sanitizers); NEUROLUA_PROGRESS_INTERVAL=0 makes every step redraw the line, so each is
# seen with a rate and an ETA before its final "done in" line.
SCRIPT = r"""
if arg[1] == "off" then nl.progress(false) end
nl.threads(1)
local X = nl.matrix.randn(60, 30, 3)
local y = {}
for i = 1, 60 do y[i] = X:get(i, 1) + X:get(i, 2) > 0 end
local wrap = nl.ml.pipeline { nl.ml.scale {}, nl.ml.forward_select { step = 0.1 }, nl.ml.svc { C = { 0.25, 1, 4 } } }
local r = nl.cv.nested(wrap, X, y, { outer = { 3, 2 }, inner = { 3, 2 }, seed = 4 })
print(string.format("nested BAC %.6f", r.metrics_.bac))
local X2 = nl.matrix.randn(40, 12, 3)
local y2 = {}
for i = 1, 40 do y2[i] = X2:get(i, 1) + X2:get(i, 2) > 0 end
local plain = nl.ml.pipeline { nl.ml.scale {}, nl.ml.svc { C = nl.ml.pow2(-2, 2) } }
local p = nl.cv.nested(plain, X2, y2, { outer = { 3, 2 }, inner = { 3, 2 }, seed = 4, permutations = 200 })
print(string.format("permutation p %.6f", p.p_))
local Y = nl.matrix.randn(30, 500, 5)
local g = nl.stats.glm(Y, nl.stats.design_one_sample(30), { permutations = 400, seed = 1 })
print(string.format("glm max p %.6f", g.p_fwe:max()))
local fit = nl.ml.pipeline { nl.ml.scale {}, nl.ml.forward_select { step = 0.02 }, nl.ml.svc { C = 1 } }
local Xv, Xt = nl.matrix.randn(80, 60, 6), nl.matrix.randn(80, 60, 7)
local yv, yt = {}, {}
for i = 1, 80 do yv[i], yt[i] = Xv:get(i, 1) > 0, Xt:get(i, 1) > 0 end
fit:fit(Xt, yt, { validation = { X = Xv, y = yv } })
print(string.format("wrapper features %d", #fit.features_))
local ts = nl.matrix.randn(100, 30, 8)
local runs = {}
for s = 1, 200 do runs[s] = ts end
print(string.format("netmats %d", nl.fc.netmats(runs):rows()))
local step, sum = nl.progress_line("cleaning", 30, "runs"), 0
for i = 1, 30 do
  local m = nl.matrix.randn(60, 60, i)
  sum = sum + (m * m):get(1, 1)
  step()
end
print(string.format("loop %.6f", sum))
"""

LABELS = ["nested CV", "permutations", "forward_select", "netmats", "cleaning"]


def check(name, good, detail=""):
    global passed, failed
    if good:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}\n  {detail[:3000]}", file=sys.stderr)


def run_pty(path, args, env=None):
    """Runs neurolua on a pseudo-terminal (stdout and stderr both on it); returns the text."""
    pid, fd = pty.fork()
    if pid == 0:
        if env:
            os.environ.update(env)
        os.execv(NL, [NL, path] + args)
    out = b""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 1.0)
        if not r:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


def results(text):
    """The result lines the script prints (a progress line never ends with a newline of
    its own before its final draw, so a result line never carries one)."""
    return [l for l in text.replace("\r\n", "\n").split("\n") if re.match(r"^(nested BAC|permutation p|glm max p|wrapper features|netmats|loop) ", l)]


with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "long.lua")
    with open(path, "w") as f:
        f.write(SCRIPT)

    t0 = time.monotonic()
    rc, tty_text = run_pty(path, [])
    print(f"(terminal run took {time.monotonic() - t0:.1f} s)")
    check("terminal run succeeds", rc == 0, tty_text)
    for label in LABELS:
        # A redraw that is not the last: label, bar, done/total, rate and ETA.
        mid = re.search(re.escape(label) + r"  \[[#.]{20}\] \d+/\d+( \w+)?  [0-9.e+-]+/s  ETA \d+:\d\d", tty_text)
        end = re.search(re.escape(label) + r"  \[#{20}\] (\d+)/\1( \w+)?  [0-9.e+-]+/s  done in \d+:\d\d", tty_text)
        check(f"'{label}' shows a rate and an ETA on a terminal", mid is not None, tty_text)
        check(f"'{label}' ends with its final line", end is not None, tty_text)

    p = subprocess.run([NL, path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240)
    err = p.stderr.decode(errors="replace")
    check("pipe run succeeds", p.returncode == 0, err)
    check("no progress on a pipe", not any(l in err for l in LABELS) and "\r" not in err, err)
    pipe_results = results(p.stdout.decode())
    check("the results are the same on a terminal and on a pipe", pipe_results == results(tty_text) and len(pipe_results) == 6,
          f"{pipe_results} vs {results(tty_text)}")

    rc, text = run_pty(path, [], {"NEUROLUA_PROGRESS": "0"})
    check("NEUROLUA_PROGRESS=0 turns progress off", rc == 0 and not any(l + "  [" in text for l in LABELS), text)
    rc, text = run_pty(path, ["off"])
    check("nl.progress(false) turns progress off", rc == 0 and not any(l + "  [" in text for l in LABELS), text)
    check("the results are the same without progress", results(text) == pipe_results, text)

    # At the default interval a computation over within half a second leaves no line.
    quick = os.path.join(tmp, "quick.lua")
    with open(quick, "w") as f:
        f.write('local step = nl.progress_line("quick", 5)\nfor i = 1, 5 do step() end\nprint("over")\n')
    rc, text = run_pty(quick, [], {"NEUROLUA_PROGRESS_INTERVAL": "0.25"})
    check("a quick computation leaves no line at the default interval", rc == 0 and "over" in text and "quick" not in text,
          text)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)

#!/usr/bin/env python3
"""Interrupt latency of a long engine computation: starts `neurolua wrapper.lua THREADS`,
waits until it is `delay` seconds into the nested CV, sends SIGINT and measures the
wall-clock time until the process has exited. Repeats with several delays (the signal
lands at different points of a wrapper run) and prints every figure, the median and the
maximum.
Usage: latency.py NEUROLUA WRAPPER_LUA [threads] [runs]     (standard library only)
"""
import signal
import statistics
import subprocess
import sys
import time

nl, script = sys.argv[1], sys.argv[2]
threads = sys.argv[3] if len(sys.argv) > 3 else "2"
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 7
limit = 180.0  # a run still going this long after SIGINT counts as this long

figures = []
for k in range(runs):
    delay = 1.0 + 0.37 * k  # spread the signal over the computation
    p = subprocess.Popen([nl, script, threads], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = b""
    while b"started\n" not in err:
        c = p.stderr.read(1)
        if not c:
            sys.exit(f"the script ended before its long part: {err.decode(errors='replace')}")
        err += c
    time.sleep(delay)
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    t = time.monotonic() - t0
    figures.append(t)
    print(f"run {k + 1}: SIGINT {delay:.2f} s into the nested CV, exit after {t:.3f} s (status {p.returncode})")
print(f"median {statistics.median(figures):.3f} s, max {max(figures):.3f} s over {runs} runs ({threads} threads)")

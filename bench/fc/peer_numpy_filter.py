#!/usr/bin/python3
"""bench/fc/peer_numpy_filter.py DIR SIZES: the NumPy peer of bench_filter.lua.

The ideal band-pass filter as nilearn and the fixtures (tests/data/fc/make_fixtures.py)
write it: numpy.fft.irfft of the rfft masked to [0.01, 0.1] Hz (TR 2 s), along axis 0
of a frames x columns float64 array (nilearn's orientation), stored column-major so
that each series is contiguous: NumPy's FFT transforms the last axis, and this layout
spares it a transposed copy (its best layout). Same sizes and timing rule as
bench_filter.lua: one warm-up call, then the fastest of as many calls as fit in about
2e7 values (time.perf_counter). NumPy's FFT (pocketfft) runs on one thread.
"""
import sys
import time

import numpy as np

d, sizes = sys.argv[1], sys.argv[2]


def ideal(Y, tr=2.0, low=0.01, high=0.1):
    f = np.fft.rfftfreq(len(Y), d=tr)
    keep = (f >= low) & (f <= high)
    return np.fft.irfft(np.fft.rfft(Y, axis=0) * keep[:, None], n=len(Y), axis=0)


rng = np.random.default_rng(1)
for size in sizes.split(","):
    frames, cols = (int(x) for x in size.split("x"))
    Y = np.asfortranarray(rng.standard_normal((frames, cols)))
    ideal(Y)
    best = float("inf")
    for _ in range(max(1, 20_000_000 // (frames * cols))):
        t0 = time.perf_counter()
        ideal(Y)
        best = min(best, time.perf_counter() - t0)
    print(f"peer_filter_{frames}x{cols} {best:.6f}")
C = np.loadtxt(f"{d}/check.csv", delimiter=",", skiprows=1)
print(f"peer_filter_check {ideal(C)[99, 1]:.12f}")

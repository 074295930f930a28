#!/usr/bin/python3
"""bench/fc/peer_numpy.py DIR [REPEATS]: the NumPy peer of bench.lua.

Same files, same work, written the way an experienced NumPy user would (vectorised,
no Python loops over voxels): the 4-D image loaded with nibabel into memory, the seed
the mean of the seed mask's voxels, then
  volume:  Y = data[brain] (voxels x frames), centre, one matrix-vector product with
           the unit-norm centred seed, divide by the voxel norms, arctanh, paint into
           a volume;
  matrix:  the same from a voxels x frames float64 array already in memory (each
           voxel's series contiguous: NumPy's best layout).
Prints wall-clock seconds per call (time.perf_counter, REPEATS calls, default 10).
"""
import sys
import time

import nibabel as nib
import numpy as np

d = sys.argv[1]
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
data = np.asarray(nib.load(f"{d}/bold.nii").dataobj)
brain = np.asarray(nib.load(f"{d}/brain.nii").dataobj) != 0
seedmask = np.asarray(nib.load(f"{d}/seed.nii").dataobj) != 0
seed = data[seedmask].astype(np.float64).mean(axis=0)
clamp = 1 - 1e-7


def zmap(Y, seed):
    s = seed - seed.mean()
    s /= np.linalg.norm(s)
    Yc = Y - Y.mean(axis=1, keepdims=True)
    r = (Yc @ s) / np.linalg.norm(Yc, axis=1)
    return np.arctanh(np.clip(r, -clamp, clamp))


def volume_path():
    Y = data[brain].astype(np.float64)
    out = np.zeros(brain.shape, np.float32)
    out[brain] = zmap(Y, seed)
    return out


m = volume_path()
t0 = time.perf_counter()
for _ in range(reps):
    m = volume_path()
t1 = time.perf_counter()
Y = data[brain].astype(np.float64)
t2 = time.perf_counter()
for _ in range(reps):
    z = zmap(Y, seed)
t3 = time.perf_counter()
print(f"peer_volume {(t1 - t0) / reps:.5f}")
print(f"peer_matrix {(t3 - t2) / reps:.5f}")
print(f"peer_check {m[29, 29, 19]:.6f}")
# The 1000th voxel in NIfTI storage order (x fastest), as Volume:timeseries orders them.
order = np.flatnonzero(brain.ravel(order="F"))
k = np.searchsorted(np.flatnonzero(brain.ravel()), np.ravel_multi_index(np.unravel_index(order[999], brain.shape, order="F"), brain.shape))
print(f"peer_check_matrix {z[k]:.6f}")

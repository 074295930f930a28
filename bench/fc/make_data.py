#!/usr/bin/python3
"""bench/fc/make_data.py DIR: one subject's resting-state run for the seed-map benchmark.

Writes DIR/bold.nii (float32, 52x60x48 voxels of 3 mm, 240 frames, TR 2 s: about
144 MB uncompressed so loading is not what is measured), DIR/brain.nii (a mask of
exactly 70,000 voxels: an ellipsoid, trimmed in storage order) and DIR/seed.nii (a
27-voxel cube inside it). The signals are BOLD-like intensities around 1000 with
voxel-specific noise and a shared component that is stronger near the seed, so the
map has structure. NumPy's default_rng with a fixed seed: the same files every run.
"""
import os
import sys

import nibabel as nib
import numpy as np

d = sys.argv[1]
os.makedirs(d, exist_ok=True)
rng = np.random.default_rng(4)
shape, frames, voxels = (52, 60, 48), 240, 70000
ijk = np.indices(shape).astype(float)
c = [(s - 1) / 2 for s in shape]
ell = sum(((ijk[a] - c[a]) / (0.49 * shape[a])) ** 2 for a in range(3)) <= 1
flat = ell.ravel(order="F")
idx = np.flatnonzero(flat)
assert idx.size >= voxels, idx.size
flat[:] = False
flat[idx[:voxels]] = True
brain = flat.reshape(shape, order="F")
seed = np.zeros(shape, bool)
seed[22:25, 28:31, 20:23] = True
assert (seed & brain).sum() == 27

t = np.arange(frames)
common = np.cumsum(rng.standard_normal(frames)) * 0.5 + np.sin(2 * np.pi * 0.03 * 2 * t) * 5
dist = np.sqrt(((ijk[0] - 23) ** 2 + (ijk[1] - 29) ** 2 + (ijk[2] - 21) ** 2))
weight = (8.0 * np.exp(-dist / 10.0))[brain]
n = brain.sum()
data = np.zeros(shape + (frames,), np.float32)
vals = (1000.0 + 200.0 * rng.random(n))[:, None] + weight[:, None] * common[None, :] \
    + 6.0 * rng.standard_normal((n, frames))
data[brain] = vals.astype(np.float32)
aff = np.diag([3.0, 3.0, 3.0, 1.0])
aff[:3, 3] = [-72, -102, -54]
img = nib.Nifti1Image(data, aff)
img.header.set_xyzt_units("mm", "sec")
img.header["pixdim"][4] = 2.0
nib.save(img, os.path.join(d, "bold.nii"))
nib.save(nib.Nifti1Image(brain.astype(np.uint8), aff), os.path.join(d, "brain.nii"))
nib.save(nib.Nifti1Image(seed.astype(np.uint8), aff), os.path.join(d, "seed.nii"))

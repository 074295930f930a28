#!/usr/bin/python3
"""bench/atlas_summarize/peer_nibabel.py DIR EXT: the nibabel + NumPy peer of bench.lua.

Same files, same work: load every map into memory (nibabel), then regional gray-matter
volumes in ml over AAL (mricron-data), with the atlas put on the maps' grid by nearest
neighbour once. Written the way an experienced NumPy user would: the labelled voxels'
flat indices are computed once and each map is summed with np.bincount. Prints the
wall-clock seconds of each phase.
"""
import glob
import sys
import time

import nibabel as nib
import numpy as np

d, ext = sys.argv[1], sys.argv[2]
paths = sorted(glob.glob(f"{d}/sub-*.{ext}"))

t0 = time.perf_counter()
maps = [np.asarray(nib.load(p).dataobj, dtype=np.float32) for p in paths]
affine = nib.load(paths[0]).affine
t1 = time.perf_counter()

aal = nib.load("/usr/share/mricron/templates/aal.nii.gz")
lab = np.asarray(aal.dataobj)
shape = maps[0].shape
vox2vox = np.linalg.inv(aal.affine) @ affine
ijk = np.indices(shape).reshape(3, -1).astype(float)
# Nearest neighbour with ties rounded up, as ITK (and so neurolua) does.
src = np.floor(vox2vox[:3, :3] @ ijk + vox2vox[:3, 3:4] + 0.5).astype(int)
inside = np.all((src >= 0) & (src < np.array(lab.shape)[:, None]), axis=0)
labels = np.zeros(src.shape[1], dtype=np.int64)
labels[inside] = lab[src[0, inside], src[1, inside], src[2, inside]]
labels = labels.reshape(shape).ravel(order="F")
idx = np.flatnonzero(labels)
sub = labels[idx]
ml = abs(np.linalg.det(affine[:3, :3])) / 1000.0
X = np.empty((len(maps), 117))
for k, m in enumerate(maps):
    X[k] = np.bincount(sub, weights=m.ravel(order="F")[idx], minlength=117) * ml
t2 = time.perf_counter()
print(f"peer_load {t1 - t0:.4f}")
print(f"peer_summarize {t2 - t1:.4f}")
print(f"peer_check {X[0, 37]:.6f}")  # Hippocampus_L of the first map, to compare

#!/usr/bin/python3
"""bench/atlas_summarize/make_maps.py DIR [N] [EXT]: N (default 100) GM-like maps.

Each map is a modulated gray-matter probability map on CAT12's 1.5 mm MNI grid
(121 x 145 x 121, float32, affine diag(-1.5, 1.5, 1.5) at (90, -126, -72), LAS): the
ICBM 2009a GM template from ../shared/data resampled to that grid (or, without it, a
smooth synthetic brain), times a subject-specific smooth field and voxel noise,
written with nibabel as DIR/sub-XXX.EXT (EXT: nii.gz, default, or nii).
"""
import os
import sys

import nibabel as nib
import numpy as np
from scipy import ndimage

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100
ext = sys.argv[3] if len(sys.argv) > 3 else "nii.gz"
os.makedirs(out, exist_ok=True)
shape = (121, 145, 121)
affine = np.array([[-1.5, 0, 0, 90], [0, 1.5, 0, -126], [0, 0, 1.5, -72], [0, 0, 0, 1]])
here = os.path.dirname(os.path.abspath(__file__))
gm_path = os.path.join(here, "../../../shared/data/mni152/mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz")
if os.path.exists(gm_path):
    gm = nib.load(gm_path)
    vox2vox = np.linalg.inv(gm.affine) @ affine
    ijk = np.indices(shape).reshape(3, -1).astype(float)
    src = vox2vox[:3, :3] @ ijk + vox2vox[:3, 3:4]
    base = ndimage.map_coordinates(np.asarray(gm.dataobj, dtype=np.float32) / 255.0, src, order=1, cval=0.0)
    base = base.reshape(shape).astype(np.float32)
else:
    grid = np.indices(shape).astype(np.float32)
    r = np.sqrt(((grid[0] - 60) / 50) ** 2 + ((grid[1] - 75) / 60) ** 2 + ((grid[2] - 60) / 50) ** 2)
    base = np.clip(1.0 - np.abs(r - 0.8) * 4, 0, 1).astype(np.float32)
rng = np.random.default_rng(1)
for s in range(n):
    field = ndimage.zoom(rng.normal(size=(8, 10, 8)).astype(np.float32), (121 / 8, 145 / 10, 121 / 8), order=1)
    m = base * (1 + 0.15 * field[: shape[0], : shape[1], : shape[2]]) + 0.02 * rng.normal(size=shape)
    m = np.where(base > 0.01, np.clip(m, 0, 1), 0).astype(np.float32)
    nib.save(nib.Nifti1Image(m, affine), os.path.join(out, f"sub-{s + 1:03d}.{ext}"))

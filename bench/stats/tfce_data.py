#!/usr/bin/python3
"""Data for bench/stats/tfce.sh: a smooth t-like map on an ellipsoidal brain-sized mask,
and one-sample connectome data (subjects x edges of a 90-node graph). NumPy seed 2026.

  tfce_data.py DIR  ->  DIR/map.nii.gz (the map, 0 outside the mask), DIR/mask.nii.gz,
                         DIR/edges.tsv (subjects x edges)
"""
import os
import sys

import nibabel
import numpy as np
from scipy import ndimage

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(2026)
dims = (64, 76, 64)  # 3 mm MNI-like grid
z, y, x = np.meshgrid(*[np.linspace(-1, 1, d) for d in dims[::-1]], indexing="ij")
mask = (x / 0.9) ** 2 + (y / 0.95) ** 2 + (z / 0.85) ** 2 <= 1  # (z, y, x) order
field = ndimage.gaussian_filter(rng.normal(size=mask.shape), 2.0)
field *= 3.0 / field[mask].std()
field += 4.0 * np.exp(-((x - 0.3) ** 2 + (y + 0.2) ** 2 + z ** 2) / 0.02)  # a blob
field[~mask] = 0
affine = np.diag([3.0, 3.0, 3.0, 1.0])
# Arrays are (z, y, x); NIfTI wants (x, y, z).
nibabel.save(nibabel.Nifti1Image(field.transpose(2, 1, 0).astype(np.float32), affine), os.path.join(out, "map.nii.gz"))
nibabel.save(nibabel.Nifti1Image(mask.transpose(2, 1, 0).astype(np.uint8), affine), os.path.join(out, "mask.nii.gz"))
# Connectome: 40 subjects, 90 nodes (4005 edges), node-shared noise, an effect on the
# edges of nodes 1-5.
n, nodes = 40, 90
ends = [(i, j) for i in range(nodes) for j in range(i + 1, nodes)]
node = rng.normal(size=(n, nodes))
Y = np.array([[node[s, i] + node[s, j] for (i, j) in ends] for s in range(n)]) + rng.normal(size=(n, len(ends)))
for k, (i, j) in enumerate(ends):
    if i < 5:
        Y[:, k] += 0.6
np.savetxt(os.path.join(out, "edges.tsv"), Y, delimiter="\t", fmt="%.10g",
           header="\t".join("e%d_%d" % (i + 1, j + 1) for (i, j) in ends), comments="")
print("map: %d voxels in a %s grid; edges: %d subjects x %d edges" % (mask.sum(), dims, n, len(ends)))

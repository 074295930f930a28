#!/usr/bin/env python3
"""Writes the lying NIfTI-1 headers of issue 17 (items 4 and 5) into the NIfTI fuzz
corpus, fuzz/corpus/nifti/bad_*.nii, and prints what nibabel makes of each.

The same headers are built byte by byte in tests/lua/test_geometry.lua and
tests/engine/image/test_geometry.cpp (the tests need neither this script nor nibabel);
the expected affines of the repaired headers there are the ones printed here
(nibabel 5.0.0, Debian's python3-nibabel). Run from the repository root:

    python3 tests/data/nifti/make_bad_headers.py
"""
import math
import os
import struct

NAN, INF = math.nan, math.inf
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fuzz", "corpus", "nifti")


def nifti(dims=(4, 4, 4), datatype=16, pixdim=(1, 2, 2, 2, 1, 1, 1, 1), vox_offset=352.0, slope=1.0,
          inter=0.0, qform_code=0, sform_code=0, quatern=(0, 0, 0, 0, 0, 0),
          srow=(2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0), values=None):
    """Little-endian single-file NIfTI-1 bytes (the layout of nifti1.h)."""
    h = bytearray(348)
    struct.pack_into("<i", h, 0, 348)
    d = list(dims) + [1] * (7 - len(dims))
    struct.pack_into("<8h", h, 40, len(dims), *d)
    bitpix = {2: 8, 4: 16, 8: 32, 16: 32, 64: 64}[datatype]
    struct.pack_into("<hh", h, 70, datatype, bitpix)
    struct.pack_into("<8f", h, 76, *pixdim)
    struct.pack_into("<3f", h, 108, vox_offset, slope, inter)
    struct.pack_into("<hh", h, 252, qform_code, sform_code)
    struct.pack_into("<6f", h, 256, *quatern)
    struct.pack_into("<12f", h, 280, *srow)
    h[344:348] = b"n+1\0"
    n = 1
    for x in dims:
        n *= x
    fmt = {2: "B", 4: "h", 8: "i", 16: "f", 64: "d"}[datatype]
    vals = values if values is not None else [i + 1 for i in range(n)]
    return bytes(h) + b"\0\0\0\0" + struct.pack("<%d%s" % (n, fmt), *vals)


CASES = {
    # item 4: geometry that reached ITK's VNL (abort) or gave NaN positions
    "bad_nan_pixdim": dict(pixdim=(1, NAN, NAN, NAN, 1, 1, 1, 1)),
    "bad_nan_sform": dict(sform_code=1, srow=(NAN, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0)),
    "bad_nan_quatern": dict(qform_code=1, quatern=(NAN, 0, 0, 0, 0, 0)),
    "bad_inf_qoffset": dict(qform_code=1, quatern=(0, 0, 0, 0, INF, 0)),
    "bad_singular_sform": dict(sform_code=1, srow=(1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 2, 0)),
    "bad_zero_axis_sform": dict(sform_code=1, srow=(2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0)),
    # item 5: read wrongly without an error
    "bad_vox_offset_0": dict(vox_offset=0.0),
    "bad_vox_offset_348": dict(vox_offset=348.0),
    "bad_zero_pixdim": dict(pixdim=(1, 0, 0, 0, 1, 1, 1, 1)),
    "bad_negative_pixdim_qform": dict(qform_code=1, pixdim=(1, -3, 2, 2, 1, 1, 1, 1), quatern=(0, 0, 0, 5, 6, 7)),
    "bad_slope_overflow": dict(datatype=4, slope=1e38),
    "bad_nan_inter": dict(datatype=4, slope=2.0, inter=NAN),
    "bad_int32_labels_2p24": dict(datatype=8, values=[16777216] * 32 + [16777217] * 32),
    "bad_float_labels_2p24": dict(values=[16777216.0] * 32 + [16777218.0] * 32),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    try:
        import nibabel
        import numpy as np
    except ImportError:
        nibabel = None
    for name, fields in CASES.items():
        path = os.path.join(OUT, name + ".nii")
        with open(path, "wb") as f:
            f.write(nifti(**fields))
        if nibabel is None:
            print(name)
            continue
        try:
            img = nibabel.load(path)
            data = np.asarray(img.dataobj)
            print(name, "nibabel affine:", np.array2string(img.affine, separator=", ").replace("\n", ""),
                  "first values:", data.ravel()[:4])
        except Exception as e:  # what nibabel refuses
            print(name, "nibabel:", type(e).__name__, e)


if __name__ == "__main__":
    main()

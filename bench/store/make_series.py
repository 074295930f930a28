#!/usr/bin/env python3
"""bench/store/make_series.py OUT_DIR [FRAMES]: a synthetic 4-D BOLD-like series for the
seed-map benchmark (bench/store/seed.lua), in the standard library only: OUT_DIR/bold.nii
(float32, 64x64x60 at 3 mm, FRAMES frames, default 240) and OUT_DIR/mask.nii (uint8, the
58x58x58 interior: 195,112 voxels). Each frame is a window of one long Gaussian noise
vector (mean 1000, sd 10) shifted by 997 values per frame, so every voxel's series
varies; the numbers only need to be realistic in size, not in structure."""
import array
import os
import random
import struct
import sys

NX, NY, NZ, MM = 64, 64, 60, 3.0


def header(dims, datatype, bitpix):
    d = [len(dims)] + list(dims) + [1] * (7 - len(dims))
    pix = [1.0, MM, MM, MM, 2.0, 1.0, 1.0, 1.0]
    srow = [MM, 0, 0, -NX * MM / 2, 0, MM, 0, -NY * MM / 2, 0, 0, MM, -NZ * MM / 2]
    h = struct.pack("<i10s18sihcc8h3fhhhh8ffffhccffffii80s24shh6f12f16s4s",
                    348, b"", b"", 0, 0, b"r", b"\0", *d, 0, 0, 0, 0, datatype, bitpix, 0, *pix, 352.0, 1.0,
                    0.0, 0, b"\0", b"\n", 0, 0, 0, 0, 0, 0, b"bench/store/make_series.py", b"", 1, 1, 0, 0, 0,
                    srow[3], srow[7], srow[11], *srow, b"", b"n+1\0")
    assert len(h) == 348
    return h + b"\0\0\0\0"


def main():
    out = sys.argv[1]
    frames = int(sys.argv[2]) if len(sys.argv) > 2 else 240
    os.makedirs(out, exist_ok=True)
    V, step = NX * NY * NZ, 997
    rng = random.Random(1)
    base = array.array("f", (rng.gauss(1000.0, 10.0) for _ in range(V + frames * step)))
    with open(os.path.join(out, "bold.nii"), "wb") as f:
        f.write(header((NX, NY, NZ, frames), 16, 32))
        for t in range(frames):
            f.write(base[t * step:t * step + V].tobytes())
    mask = bytearray(V)
    for k in range(1, NZ - 1):
        for j in range(3, NY - 3):
            row = (k * NY + j) * NX
            mask[row + 3:row + NX - 3] = b"\1" * (NX - 6)
    with open(os.path.join(out, "mask.nii"), "wb") as f:
        f.write(header((NX, NY, NZ), 2, 8))
        f.write(bytes(mask))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Reference values and small test files for the Volume and Atlas tests, made with
nibabel and NumPy (and SciPy for smoothing/resampling references).

Run (from the repository root, with the Debian python3-nibabel, python3-numpy,
python3-scipy and mricron-data packages and ../shared/data present):

    /usr/bin/python3 tests/data/nifti/make_fixtures.py

Writes
  tests/data/nifti/fixture.txt   header/affine/value references of real images
  tests/data/atlas/fixture.txt   AAL region counts, centroids and summaries
  tests/data/nifti/*.nii[.gz]    small valid and deliberately broken images
  tests/data/atlas/tiny*         a 3-region toy atlas with label tables in every format
Each fixture line is `key value value ...` (numbers with 17 significant digits), read by
tests/engine/test_{image,atlas}.cpp and tests/lua/test_{volume,atlas}.lua. Values are
computed independently of neurolua: nibabel's affines and scaling, NumPy sums.
"""
import gzip
import json
import os
import struct
import sys

import nibabel as nib
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
NIFTI = HERE
ATLAS = os.path.join(os.path.dirname(HERE), "atlas")
SHARED = os.path.normpath(os.path.join(HERE, "../../../../shared/data"))
MRICRON = "/usr/share/mricron/templates"
NIBABEL_DATA = os.path.join(os.path.dirname(nib.__file__), "tests", "data")


class Fixture:
    def __init__(self, path, note):
        self.path, self.lines = path, [f"# {note}", f"# nibabel {nib.__version__}, numpy {np.__version__}"]

    def put(self, key, *values):
        flat = np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in values]) if values else []
        self.lines.append(key + " " + " ".join(f"{x:.17g}" for x in flat))

    def write(self):
        with open(self.path, "w") as f:
            f.write("\n".join(self.lines) + "\n")


def world(affine, ijk):
    return affine[:3, :3] @ np.asarray(ijk, dtype=float) + affine[:3, 3]


# ---------------------------------------------------------------- real images

def describe_image(fx, key, path, probes):
    img = nib.load(path)
    data = np.asarray(img.get_fdata(dtype=np.float64))  # nibabel applies scl_slope/inter
    f32 = data.astype(np.float32).astype(np.float64)  # neurolua stores float32
    fx.put(key + ".dims", img.shape)
    fx.put(key + ".affine", img.affine)  # 16 values, row by row
    fx.put(key + ".zooms", img.header.get_zooms())
    fx.put(key + ".sum", f32.sum())
    fx.put(key + ".code", [ord(c) for c in "".join(nib.aff2axcodes(img.affine))])
    for ijk in probes:
        fx.put(key + ".value." + "_".join(map(str, ijk)), f32[tuple(ijk)])
        fx.put(key + ".world." + "_".join(map(str, ijk[:3])), world(img.affine, ijk[:3]))
    return img, f32


def real_images(fx):
    ex4 = os.path.join(NIBABEL_DATA, "example4d.nii.gz")
    img, d = describe_image(fx, "example4d", ex4, [(0, 0, 0, 0), (64, 48, 12, 1), (127, 95, 23, 1), (10, 20, 5, 0)])
    fx.put("example4d.frame_sums", d.reshape(-1, d.shape[3], order="F").sum(axis=0))
    fx.put("example4d.timeseries.64_48_12", d[64, 48, 12, :])
    describe_image(fx, "nifti2", os.path.join(NIBABEL_DATA, "example_nifti2.nii.gz"), [(1, 2, 3, 1), (31, 19, 11, 0)])
    describe_image(fx, "bigendian", os.path.join(NIBABEL_DATA, "anatomical.nii"), [(16, 20, 12), (1, 2, 3)])
    if not os.path.isdir(SHARED):
        print("note: ../shared/data absent; shared-image references skipped", file=sys.stderr)
        return
    ixi = os.path.join(SHARED, "ixi_t1", "IXI012-HH-1211_T1.nii.gz")
    img, d = describe_image(fx, "ixi012", ixi, [(60, 60, 45), (10, 20, 30), (119, 119, 89)])
    gm = os.path.join(SHARED, "mni152", "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz")
    describe_image(fx, "mni_gm", gm, [(98, 134, 72), (50, 60, 70)])
    try:
        from scipy import ndimage
    except ImportError:
        print("note: scipy absent; smoothing/resampling references skipped", file=sys.stderr)
        return
    # Smoothing: FWHM 8 mm on 2 mm voxels, SciPy's sampled Gaussian (reference only;
    # ITK's recursive filter approximates it, so tests compare with a tolerance).
    sigma_vox = 8.0 / np.sqrt(8 * np.log(2)) / np.asarray(img.header.get_zooms()[:3])
    sm = ndimage.gaussian_filter(d, sigma_vox, mode="nearest", truncate=4.0)
    for ijk in [(60, 60, 45), (40, 70, 50), (80, 50, 30)]:
        fx.put("ixi012.smooth8." + "_".join(map(str, ijk)), sm[ijk])
    # Resampling: IXI012 onto a 3 mm RAS grid, trilinear (map_coordinates order 1).
    target = np.array([[3.0, 0, 0, -90], [0, 3, 0, -126], [0, 0, 3, -72], [0, 0, 0, 1]])
    fx.put("resample.target_affine", target)
    fx.put("resample.target_dims", [61, 73, 61])
    vox2vox = np.linalg.inv(img.affine) @ target
    for ijk in [(30, 36, 30), (20, 40, 35), (35, 30, 25), (30, 50, 40)]:
        src = vox2vox[:3, :3] @ np.asarray(ijk, float) + vox2vox[:3, 3]
        val = ndimage.map_coordinates(d, src.reshape(3, 1), order=1, mode="constant", cval=0.0)[0]
        fx.put("resample.linear." + "_".join(map(str, ijk)), val)


# ---------------------------------------------------------------- AAL

def aal_fixture(fx):
    img = nib.load(os.path.join(MRICRON, "aal.nii.gz"))
    lab = np.asarray(img.dataobj).astype(np.int64)
    fx.put("aal.dims", img.shape)
    fx.put("aal.affine", img.affine)
    fx.put("aal.labelled", np.count_nonzero(lab))
    fx.put("aal.regions", len(np.unique(lab[lab > 0])))
    for r in [1, 2, 37, 38, 71, 116]:
        ijk = np.argwhere(lab == r)
        fx.put(f"aal.count.{r}", len(ijk))
        fx.put(f"aal.centroid.{r}", world(img.affine, ijk.mean(axis=0)))
    # AAL put on CAT12's 1.5 mm grid (121x145x121, LAS) by nearest neighbour, ties
    # rounded up (x = 180 - 1.5 i falls on .5 for odd i): voxel counts per region.
    target = np.array([[-1.5, 0, 0, 90], [0, 1.5, 0, -126], [0, 0, 1.5, -72], [0, 0, 0, 1]])
    vox2vox = np.linalg.inv(img.affine) @ target
    ijk = np.indices((121, 145, 121)).reshape(3, -1).astype(float)
    src = np.floor(vox2vox[:3, :3] @ ijk + vox2vox[:3, 3:4] + 0.5).astype(int)
    inside = np.all((src >= 0) & (src < np.array(lab.shape)[:, None]), axis=0)
    on15 = np.zeros(src.shape[1], dtype=np.int64)
    on15[inside] = lab[src[0, inside], src[1, inside], src[2, inside]]
    fx.put("aal15.target_affine", target)
    for r in [1, 2, 37, 38, 71, 116]:
        fx.put(f"aal15.count.{r}", np.count_nonzero(on15 == r))
    if not os.path.isdir(SHARED):
        return
    # MNI GM summarized over AAL. The grids differ by an integer shift (AAL voxel
    # (i, j, k) is GM voxel (i + 8, j + 9, k + 1)), so nearest-neighbour resampling of
    # the atlas onto the GM grid is exact and the reference needs no interpolation.
    gm_img = nib.load(os.path.join(SHARED, "mni152", "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz"))
    gm = np.asarray(gm_img.get_fdata(dtype=np.float64))
    shift = np.rint(np.linalg.inv(gm_img.affine) @ img.affine)[:3, 3].astype(int)
    fx.put("aal_gm.shift", shift)
    sub = gm[shift[0]:shift[0] + lab.shape[0], shift[1]:shift[1] + lab.shape[1], shift[2]:shift[2] + lab.shape[2]]
    for r in [1, 2, 37, 38, 71, 116]:
        v = sub[lab == r]
        fx.put(f"aal_gm.sum.{r}", v.sum())
        fx.put(f"aal_gm.mean.{r}", v.mean())
        fx.put(f"aal_gm.median.{r}", np.median(v))
        fx.put(f"aal_gm.volume_ml.{r}", v.sum() * abs(np.linalg.det(gm_img.affine[:3, :3])) / 1000.0)


# ---------------------------------------------------------------- small test images

def save(img, name):
    nib.save(img, os.path.join(NIFTI, name))


def patch(name, offset, fmt, *values):
    """Overwrites header bytes of a saved image (nibabel normalizes some fields on save)."""
    path = os.path.join(NIFTI, name)
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rb") as f:
        blob = bytearray(f.read())
    struct.pack_into(fmt, blob, offset, *values)
    with opener(path, "wb") as f:
        f.write(bytes(blob))


def small_images():
    rng = np.random.default_rng(20261121)
    aff = np.array([[-2.0, 0, 0, 90], [0, 2, 0, -126], [0, 0, 2, -72], [0, 0, 0, 1]])
    # int16 with scaling: stored ints, values = 0.5 * x + 10.
    raw = rng.integers(-1000, 1000, size=(6, 5, 4)).astype(np.int16)
    save(nib.Nifti1Image(raw, aff), "scaled_int16.nii.gz")
    patch("scaled_int16.nii.gz", 112, "<2f", 0.5, 10.0)  # scl_slope, scl_inter
    # uint8 with sform only, qform only, neither (nibabel's fallback affine).
    u8 = rng.integers(0, 255, size=(7, 6, 5)).astype(np.uint8)
    img = nib.Nifti1Image(u8, aff)
    img.set_qform(None, code=0)
    img.set_sform(aff, code=4)
    save(img, "sform_only.nii")
    rot = nib.eulerangles.euler2mat(0.3, -0.2, 0.1)
    qaff = np.eye(4)
    qaff[:3, :3] = rot @ np.diag([1.5, 2.0, 2.5])
    qaff[:3, 3] = [10, -20, 30]
    img = nib.Nifti1Image(u8, qaff)
    img.set_sform(None, code=0)
    img.set_qform(qaff, code=1)
    save(img, "qform_only.nii.gz")
    img = nib.Nifti1Image(u8, None)
    img.header.set_zooms((1.5, 2.0, 3.0))
    save(img, "no_xform.nii")
    patch("no_xform.nii", 252, "<2h", 0, 0)  # qform_code, sform_code
    # float64 and NIfTI-2.
    f64 = rng.normal(size=(4, 3, 2))
    save(nib.Nifti1Image(f64, aff), "float64.nii.gz")
    save(nib.Nifti2Image(rng.normal(size=(5, 4, 3, 2)).astype(np.float32), aff), "nifti2_4d.nii.gz")
    refs = Fixture(os.path.join(NIFTI, "small.txt"), "references for the small images (nibabel)")
    for name in ["scaled_int16.nii.gz", "sform_only.nii", "qform_only.nii.gz", "no_xform.nii", "float64.nii.gz",
                 "nifti2_4d.nii.gz"]:
        im = nib.load(os.path.join(NIFTI, name))
        d = np.asarray(im.get_fdata()).astype(np.float32).astype(np.float64)
        refs.put(name + ".dims", im.shape)
        refs.put(name + ".affine", im.affine)
        refs.put(name + ".sum", d.sum())
        refs.put(name + ".first", d.reshape(-1, order="F")[:5])
        refs.put(name + ".last", d.reshape(-1, order="F")[-1])
    refs.write()

    # Broken files. Each starts from a valid NIfTI-1 header of a 10x10x10 int16 image.
    good = nib.Nifti1Image(np.arange(1000, dtype=np.int16).reshape(10, 10, 10), aff)
    save(good, "good_int16.nii")
    blob = open(os.path.join(NIFTI, "good_int16.nii"), "rb").read()
    # truncated .nii.gz: the gzip stream cut in the middle of the voxel data
    gz = gzip.compress(blob)
    open(os.path.join(NIFTI, "truncated.nii.gz"), "wb").write(gz[: len(gz) // 2])
    # truncated .nii: the voxel data cut short
    open(os.path.join(NIFTI, "truncated.nii"), "wb").write(blob[:352 + 500])
    # wrong magic number
    open(os.path.join(NIFTI, "wrong_magic.nii"), "wb").write(blob[:344] + b"XYZ\0" + blob[348:])
    # dims that would need far more memory than any machine has (header only)
    huge = bytearray(blob[:352])
    struct.pack_into("<8h", huge, 40, 4, 30000, 30000, 30000, 30000, 1, 1, 1)
    open(os.path.join(NIFTI, "huge_dims.nii.gz"), "wb").write(gzip.compress(bytes(huge)))
    # a zero and a negative dimension
    bad = bytearray(blob)
    struct.pack_into("<h", bad, 44, 0)
    open(os.path.join(NIFTI, "zero_dim.nii"), "wb").write(bytes(bad))
    bad = bytearray(blob)
    struct.pack_into("<h", bad, 46, -5)
    open(os.path.join(NIFTI, "negative_dim.nii"), "wb").write(bytes(bad))
    # an unsupported datatype (complex64 = 32)
    bad = bytearray(blob)
    struct.pack_into("<h", bad, 70, 32)
    open(os.path.join(NIFTI, "complex.nii"), "wb").write(bytes(bad))
    # not a NIfTI file at all
    open(os.path.join(NIFTI, "not_nifti.nii.gz"), "wb").write(gzip.compress(b"hello, this is not an image\n" * 20))


# ---------------------------------------------------------------- toy atlas

def toy_atlas():
    aff = np.array([[2.0, 0, 0, -10], [0, 2, 0, -10], [0, 0, 2, -10], [0, 0, 0, 1]])
    lab = np.zeros((10, 10, 10), np.uint8)
    lab[1:4, 1:4, 1:4] = 1      # 27 voxels
    lab[5:9, 2:5, 2:4] = 2      # 24 voxels
    lab[2:6, 6:9, 6:9] = 3      # 36 voxels
    nib.save(nib.Nifti1Image(lab, aff), os.path.join(ATLAS, "tiny.nii.gz"))
    names = {1: "Alpha_L", 2: "Beta R", 3: "Gamma"}
    w = lambda name, text: open(os.path.join(ATLAS, name), "w").write(text)
    w("tiny.nii.txt", "".join(f"{i} {n.replace(' ', '_')} {100 + i}\n" for i, n in names.items()))
    w("tiny.tsv", "index\tname\n" + "".join(f"{i}\t{n}\n" for i, n in names.items()))
    w("tiny_noheader.csv", "".join(f'{i},"{n}"\n' for i, n in names.items()))
    w("tiny_cat12.csv", "ROIid;ROIabbr;ROIname;Voxels\n" + "".join(f"{i};r{i};{n};0\n" for i, n in names.items()))
    roi = {"0": {"color": [0, 0, 0], "center": None}}
    roi.update({str(i): {"label": n, "center": [0, 0, 0], "size": 1} for i, n in names.items()})
    roi["MetaData"] = {"AtlasName": "tiny"}
    w("tiny.json", json.dumps(roi, indent=1))
    w("tiny_dup.txt", "1 Alpha\n2 Beta\n3 Gamma\n2 Beta_again\n")
    w("tiny_extra.txt", "1 Alpha\n2 Beta\n3 Gamma\n4 Delta\n")        # 4 is not in the image
    w("tiny_missing.txt", "1 Alpha\n2 Beta\n")                        # 3 is not in the table
    w("tiny_badindex.txt", "1 Alpha\nx Beta\n3 Gamma\n")
    # regional-value tables in the FreeSurfer and CAT12 layouts
    w("aparc_small.tsv", "lh.aparc.volume\tlh_bankssts_volume\tlh_cuneus_volume\n"
                         "Site_0050001\t2361\t2716.5\nSite_0050002\t1875\tNA\n")
    w("cat12_roi.csv", "names;Left Hippocampus;Right Hippocampus\nmwp1sub-01.nii;3.51;3.62\nmwp1sub-02.nii;3.2;3.33\n")
    w("bad_roi.tsv", "subject\ta\tb\ns1\t1\t2\ns2\t3\tabc\n")
    centroid = lambda r: world(aff, np.argwhere(lab == r).mean(axis=0))
    fx = Fixture(os.path.join(ATLAS, "tiny.txt"), "toy atlas references (numpy)")
    for r in (1, 2, 3):
        fx.put(f"tiny.count.{r}", np.count_nonzero(lab == r))
        fx.put(f"tiny.centroid.{r}", centroid(r))
    fx.write()


def main():
    os.makedirs(ATLAS, exist_ok=True)
    small_images()
    toy_atlas()
    fx = Fixture(os.path.join(NIFTI, "fixture.txt"), "real-image references (nibabel/numpy/scipy)")
    real_images(fx)
    fx.write()
    fx = Fixture(os.path.join(ATLAS, "fixture.txt"), "AAL references (nibabel/numpy)")
    aal_fixture(fx)
    fx.write()


if __name__ == "__main__":
    main()

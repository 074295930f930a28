#!/usr/bin/python3
"""Fixtures for tests/engine/fc/test_fc.cpp and tests/lua/test_fc.lua.

Run with Debian's /usr/bin/python3 (NumPy, SciPy, nibabel):  /usr/bin/python3 make_fixtures.py
Writes fc.txt next to this script: one matrix per line, "name rows cols v11 v12 ...
v21 ..." (row-major, shortest round-trip decimals), and inputs.txt with the random
inputs the references were computed from.

seed4d.nii.gz, seed_mask.nii.gz and two_voxels.nii.gz (nibabel) hold the seed data as a
4-D image. Every reference is an independent NumPy/SciPy implementation of the published formula:
  * nilearn.signal.butterworth (nilearn 0.10): scipy.signal.butter(5, [hp, lp] / nyq,
    "band", output="sos") + scipy.signal.sosfiltfilt(padtype="odd"), nyq = 0.5 / TR;
  * the ideal FFT filter: numpy.fft.irfft of the rfft masked to [low, high] (120, 119
    and 113 frames);
  * Power et al. 2012 framewise displacement (50 mm), Friston 24 (params, squares,
    backward differences with a 0 first row, their squares);
  * neurolua's documented cleaning order (discard, one lstsq on [polynomial, Friston
    24, confounds], band-pass, scrub FD > thr with 1 before and 1 after);
  * FSLNets nets_netmats 'corr' and 'ridgep' (rho 0.1), Fisher z with |r| clamped to
    1 - 1e-7, the run average, the upper triangle in numpy.triu_indices order;
  * FSLNets' Python hierarchy(): scipy linkage(..., "ward", optimal_ordering=True) and
    dendrogram leaves;
  * seed correlation with numpy.corrcoef.
"""
import os
import nibabel as nib
import numpy as np
import scipy
from scipy import signal
from scipy.cluster import hierarchy as sch

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240611)
out = {}
inputs = {}


def put(d, name, a):
    a = np.atleast_2d(np.asarray(a, dtype=float))
    d[name] = a


# ---------------------------------------------------------------- inputs
n, k = 120, 5
t = np.arange(n)
Y = (rng.standard_normal((n, k)) + 0.02 * t[:, None] * rng.standard_normal(k)
     + 1e-4 * (t[:, None] - 60) ** 2 * rng.standard_normal(k) + 100.0)
# Realignment parameters (SPM order: mm, radians) as random walks with two jumps.
trans = np.cumsum(0.03 * rng.standard_normal((n, 3)), axis=0)
rot = np.cumsum(0.0006 * rng.standard_normal((n, 3)), axis=0)
trans[40:, 0] += 0.8      # a jump of 0.8 mm at frame 40
rot[90:, 2] += 0.012      # 0.6 mm of arc at frame 90
motion = np.hstack([trans, rot])
conf = rng.standard_normal((n, 3)) + 0.01 * t[:, None]
Y = Y + motion[:, :1] * 2.0 + conf[:, 1:2] * 0.5
put(inputs, "Y", Y)
put(inputs, "motion", motion)
put(inputs, "confounds", conf)


# ---------------------------------------------------------------- motion
def friston24(R):
    d = np.vstack([np.zeros((1, 6)), np.diff(R, axis=0)])
    return np.hstack([R, R ** 2, d, d ** 2])


def fd_power(R, radius=50.0):
    d = np.abs(np.diff(R, axis=0))
    d[:, 3:] *= radius
    return np.concatenate([[0.0], d.sum(axis=1)])


def scrub(fd, thr, before, after):
    keep = np.ones(len(fd), bool)
    for i in np.flatnonzero(fd > thr):
        keep[max(0, i - before):i + after + 1] = False
    return keep


fd = fd_power(motion)
put(out, "friston24", friston24(motion))
put(out, "fd", fd)
put(out, "scrub_1_1", scrub(fd, 0.5, 1, 1))
put(out, "scrub_1_2", scrub(fd, 0.5, 1, 2))
put(out, "motion_summary", [fd.mean(), fd.max(), np.abs(motion[:, :3]).max(),
                            np.degrees(np.abs(motion[:, 3:]).max())])
# The same motion written as FSL .par (rotations first) and AFNI -1Dfile (roll pitch
# yaw in degrees, dS dL dP): their canonical form must give the same FD.
put(inputs, "motion_fsl", np.hstack([rot, trans]))
put(inputs, "motion_afni", np.hstack([np.degrees(rot[:, [2]]), np.degrees(rot[:, [0]]),
                                      np.degrees(rot[:, [1]]), trans[:, [2]], trans[:, [0]],
                                      trans[:, [1]]]))


# ---------------------------------------------------------------- detrending
def detrend(X, order):
    tt = np.linspace(-1, 1, len(X))
    V = np.vander(tt, order + 1, increasing=True)
    beta = np.linalg.lstsq(V, X, rcond=None)[0]
    return X - V @ beta


put(out, "detrend_1", detrend(Y, 1))
put(out, "detrend_2", detrend(Y, 2))
put(out, "detrend_1_scipy", signal.detrend(Y, axis=0, type="linear"))


# ---------------------------------------------------------------- band-pass
def nilearn_butterworth(X, tr, high_pass, low_pass, order=5):
    sampling_rate = 1.0 / tr
    nyq = sampling_rate * 0.5
    wn, btype = [], None
    if high_pass is not None:
        btype = "high"
        wn.append(high_pass / nyq)
    if low_pass is not None:
        btype = "low"
        wn.append(low_pass / nyq)
    if len(wn) == 2:
        btype = "band"
    else:
        wn = wn[0]
    sos = signal.butter(N=order, Wn=wn, btype=btype, output="sos")
    return sos, signal.sosfiltfilt(sos, X, axis=0, padtype="odd", padlen=None)


Yd = detrend(Y, 1)
for name, tr, hp, lp in [("band", 2.0, 0.01, 0.1), ("band_tr07", 0.7, 0.01, 0.1),
                         ("high", 2.0, 0.01, None), ("low", 2.0, None, 0.1)]:
    sos, f = nilearn_butterworth(Yd, tr, hp, lp)
    put(out, "sos_" + name, sos)
    put(out, "butter_" + name, f)
sos3, f3 = nilearn_butterworth(Yd, 2.0, 0.01, 0.1, order=3)
put(out, "sos_band_order3", sos3)
put(out, "butter_band_order3", f3)


def ideal(X, tr, low, high):
    m = len(X)
    F = np.fft.rfft(X, axis=0)
    f = np.fft.rfftfreq(m, d=tr)
    keep = (f >= low) & (f <= high)
    return np.fft.irfft(F * keep[:, None], n=m, axis=0)


put(out, "fft_band", ideal(Yd, 2.0, 0.01, 0.1))
put(out, "fft_band_odd", ideal(Yd[:119], 2.0, 0.01, 0.1))
# 113 frames (prime): neurolua's FFT takes Bluestein's algorithm there.
put(out, "fft_band_prime", ideal(Yd[:113], 2.0, 0.01, 0.1))


# ---------------------------------------------------------------- the pipeline
def clean(Y, R, C, discard, order, tr, thr):
    Y, R, C = Y[discard:], R[discard:], C[discard:]
    tt = np.linspace(-1, 1, len(Y))
    D = np.hstack([np.vander(tt, order + 1, increasing=True), friston24(R), C])
    res = Y - D @ np.linalg.lstsq(D, Y, rcond=None)[0]
    _, res = nilearn_butterworth(res, tr, 0.01, 0.1)
    keep = scrub(fd_power(R), thr, 1, 1)
    return res[keep], keep


cl, keep = clean(Y, motion, conf, 5, 2, 2.0, 0.5)
put(out, "clean_signals", cl)
put(out, "clean_kept", keep)


# ---------------------------------------------------------------- netmats
def corr_netmat(ts):
    r = np.corrcoef(ts, rowvar=False)
    np.fill_diagonal(r, 0)
    return r


def ridgep(ts, rho=0.1):
    N = ts.shape[1]
    grot = np.cov(ts, rowvar=False)
    grot = grot / np.sqrt(np.mean(np.diag(grot) ** 2))
    grot = np.linalg.inv(grot + rho * np.eye(N))
    grot = -grot
    d = np.sqrt(np.abs(np.diag(grot)))
    grot = grot / d[:, None] / d[None, :]
    np.fill_diagonal(grot, 0)
    return grot


def r2z(r):
    return np.arctanh(np.clip(r, -(1 - 1e-7), 1 - 1e-7))


N = 8
mix = rng.standard_normal((N, N)) * 0.6 + np.eye(N)
runs = []
for s, nruns in enumerate([2, 1, 3]):
    runs.append([rng.standard_normal((150 + 10 * r, N)) @ mix for r in range(nruns)])
for s, rr in enumerate(runs):
    for r, ts in enumerate(rr):
        put(inputs, f"ts_{s + 1}_{r + 1}", ts)
ts = runs[0][0]
put(out, "netmat_corr", corr_netmat(ts))
put(out, "netmat_ridgep", ridgep(ts))
put(out, "netmat_ridgep_rho1", ridgep(ts, 1.0))
iu = np.triu_indices(N, 1)
for method, f in [("corr", corr_netmat), ("ridgep", ridgep)]:
    rows_z, rows_r = [], []
    for rr in runs:
        rows_z.append(np.mean([r2z(f(x)) for x in rr], axis=0)[iu])
        rows_r.append(np.mean([f(x) for x in rr], axis=0)[iu])
    put(out, f"netmats_{method}_z", rows_z)
    put(out, f"netmats_{method}_r", rows_r)
put(out, "fisher_z_in", [[-1.0, -0.5, 0.0, 0.3, 0.9999, 1.0]])
put(out, "fisher_z_out", r2z(np.array([[-1.0, -0.5, 0.0, 0.3, 0.9999, 1.0]])))


# ---------------------------------------------------------------- hierarchy (FSLNets Python)
def fslnets_hierarchy(netmat):
    clusternet = np.copy(netmat)
    clusternet[clusternet < 0] = 0
    triu = np.triu_indices(netmat.shape[0], 1)
    norm = np.percentile(np.abs(clusternet), 99)
    clusternet = clusternet / norm
    clusternet[clusternet < -1] = -1
    clusternet[clusternet > 1] = 1
    clusternet = 0.5 - clusternet / 2
    clusternet = clusternet[triu].flatten()
    return sch.linkage(clusternet, method="ward", optimal_ordering=True)


count = 0
for Nn, nsub in [(6, 4), (10, 5), (17, 6), (30, 8), (45, 6)]:
    for rep in range(4):
        k_lat = max(2, Nn // 5)
        load = rng.standard_normal((Nn, k_lat))
        mats = []
        for s in range(nsub):
            x = rng.standard_normal((200, k_lat)) @ load.T + rng.standard_normal((200, Nn)) * 1.2
            mats.append(r2z(corr_netmat(x)))
        group = np.mean(mats, axis=0)
        Z = fslnets_hierarchy(group)
        leaves = sch.dendrogram(Z, no_plot=True)["leaves"]
        assert list(leaves) == list(sch.leaves_list(Z))
        count += 1
        put(inputs, f"hier_{count}", group)
        put(out, f"hier_linkage_{count}", Z)
        put(out, f"hier_order_{count}", leaves)
# Plain Ward linkage of random points' Euclidean distances, with and without the
# optimal ordering.
for i in range(3):
    pts = rng.standard_normal((12 + 7 * i, 3))
    y = scipy.spatial.distance.pdist(pts)
    put(inputs, f"ward_y_{i + 1}", y)
    for opt in (False, True):
        Z = sch.linkage(y, method="ward", optimal_ordering=opt)
        put(out, f"ward_{i + 1}_{int(opt)}", Z)
        put(out, f"ward_order_{i + 1}_{int(opt)}", sch.leaves_list(Z))

# ---------------------------------------------------------------- seed correlation
nf, nv = 60, 40
seed = rng.standard_normal(nf)
Ys = 800 + 20 * rng.standard_normal((nf, nv)) + np.outer(seed, 30 * rng.standard_normal(nv))
Ys[:, 7] = 123.0  # a constant voxel: NaN
put(inputs, "seed", seed)
put(inputs, "seed_data", Ys)
r = np.array([np.corrcoef(seed, Ys[:, j])[0, 1] if j != 7 else np.nan for j in range(nv)])
put(out, "seed_r", r)
put(out, "seed_z", r2z(r))

# The same data as a 4-D NIfTI (5x4x3 voxels, 60 frames, float32): the 40 data columns
# sit at the voxels whose storage index i has i % 3 != 2; seed_mask marks them.
shape = (5, 4, 3)
where = [i for i in range(60) if i % 3 != 2][:nv]
vol = np.zeros(shape + (nf,), np.float32)
mask = np.zeros(shape, np.uint8)
for c, i in enumerate(where):
    ijk = np.unravel_index(i, shape, order="F")
    vol[ijk] = Ys[:, c]
    mask[ijk] = 1
aff = np.diag([2.0, 2.0, 2.0, 1.0])
img = nib.Nifti1Image(vol, aff)
img.header.set_xyzt_units("mm", "sec")
img.header["pixdim"][4] = 2.0
nib.save(img, os.path.join(here, "seed4d.nii.gz"))
nib.save(nib.Nifti1Image(mask, aff), os.path.join(here, "seed_mask.nii.gz"))
two = np.zeros(shape, np.uint8)
two[0, 0, 0] = two[1, 0, 0] = 1
nib.save(nib.Nifti1Image(two, aff), os.path.join(here, "two_voxels.nii.gz"))
Yf = Ys.astype(np.float32).astype(np.float64)
rf = np.array([np.corrcoef(seed, Yf[:, j])[0, 1] if j != 7 else np.nan for j in range(nv)])
put(out, "seedmap_z", r2z(rf))
put(out, "mask_means", np.column_stack([Yf.mean(axis=1), Yf[:, :2].mean(axis=1)]))


def write(path, d, header):
    with open(path, "w") as f:
        f.write(header)
        for name, a in d.items():
            vals = " ".join(repr(float(x)) for x in a.ravel())
            f.write(f"{name} {a.shape[0]} {a.shape[1]} {vals}\n")


hdr = (f"# numpy {np.__version__}, scipy {scipy.__version__}, nibabel {nib.__version__}; "
       "see make_fixtures.py\n")
write(os.path.join(here, "fc.txt"), out, hdr)
write(os.path.join(here, "inputs.txt"), inputs, hdr)
print(f"wrote {len(out)} references and {len(inputs)} inputs")

// nl/fc/fc.hpp: functional connectivity: time-series cleaning (polynomial detrending,
// nuisance regression with the 24-parameter motion model, band-pass filtering),
// head-motion measures (framewise displacement, scrubbing, exclusion), node signals
// from 4-D volumes, netmats (full and FSLNets ridge-partial correlation), Fisher z,
// edge vectors, the Ward node order of FSLNets, and seed-to-voxel maps.
//
// Conventions (the contract every caller relies on):
//  * Time series are frames x signals matrices (one column per region, voxel or
//    component), as Atlas::timeseries / nl::region_timeseries and nl::timeseries give.
//  * Realignment parameters are frames x 6 matrices. The engine works on canonical
//    motion: translations x, y, z in mm, then rotations about x, y, z in radians (SPM's
//    rp_*.txt and fMRIPrep's trans_x .. rot_z order). canonical_motion() converts FSL's
//    MCFLIRT .par (rotations in radians first) and AFNI's 3dvolreg -1Dfile (rotations
//    in degrees first: roll, pitch, yaw, then dS, dL, dP in mm).
//  * Frame masks are std::vector<std::uint8_t> with 1 = kept.
//  * Misuse (shape mismatch, bad cut-off, too few frames) is nl::ValueError naming the
//    argument.
//
// The reference for each piece is named at its declaration; tests/data/fc/ holds the
// fixtures (NumPy/SciPy re-implementations of nilearn's and FSLNets' formulas).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nl/image/image.hpp"
#include "nl/core/linalg.hpp"
#include "nl/core/progress.hpp"

namespace nl {
class VoxelStore;  // nl/io/voxel_store.hpp
}

namespace nl::fc {

using Index = Eigen::Index;
using FrameMask = std::vector<std::uint8_t>;

// ---------------------------------------------------------------- head motion

enum class MotionFormat {
  Spm,   // tx ty tz (mm), rx ry rz (radians): SPM rp_*.txt, fMRIPrep
  Fsl,   // rx ry rz (radians), tx ty tz (mm): FSL MCFLIRT .par
  Afni,  // roll pitch yaw (degrees), dS dL dP (mm): AFNI 3dvolreg -1Dfile
};

// Reads a realignment-parameter file: whitespace- or comma-separated numbers, 6 per
// line (SPM rp_*.txt, FSL .par, AFNI .1D); blank lines and lines starting with '#' are
// skipped. Returns the values as they are in the file (frames x 6). FileError naming
// the file and line for a line that does not hold 6 numbers (without quoting it), or
// for an empty file.
Matrix read_motion(const std::string& path);

// `params` (frames x 6) in `format` as canonical motion (tx ty tz mm, rx ry rz rad).
// AFNI's roll/pitch/yaw are rotations about the I-S, R-L and A-P axes; they become
// rz, rx, ry and dS, dL, dP become tz, tx, ty (signs kept: FD and the exclusion
// limits use absolute values only). ValueError unless params has 6 columns.
Matrix canonical_motion(const Matrix& params, MotionFormat format);

// The Friston 24-parameter model of canonical motion R (frames x 6): the columns
// [R, R^2, dR, dR^2] in that order (6 each), where dR is the backward difference
// (dR_0 = 0, dR_t = R_t - R_{t-1}). Column names: friston24_names().
Matrix friston24(const Matrix& motion);
std::vector<std::string> friston24_names();

// Framewise displacement (Power et al. 2012, NeuroImage 59:2142): FD_0 = 0 and
// FD_t = sum over the 6 canonical parameters of |R_t - R_{t-1}|, rotations (radians)
// turned into mm of arc on a sphere of `radius` mm (default 50).
Vector framewise_displacement(const Matrix& motion, double radius = 50.0);

// Scrubbing: frame t is dropped when FD_t > threshold, together with the `before`
// frames before and the `after` frames after it (METHODS.md section 4: 1 and 1; Power
// et al. 2012 used 1 before and 2 after). Returns the kept-frame mask (1 = kept).
FrameMask scrub_mask(const Vector& fd, double threshold, int before = 1, int after = 1);

struct MotionOptions {
  double radius = 50.0;           // head radius for FD, mm
  double fd_threshold = 0.5;      // scrubbing threshold, mm (NaN: no scrubbing)
  int before = 1, after = 1;      // frames dropped around a flagged frame
  double max_translation = 2.0;   // exclusion limit, mm
  double max_rotation = 2.0;      // exclusion limit, degrees
};

struct MotionSummary {
  Vector fd;                    // per frame (FD_0 = 0)
  double mean_fd = 0;           // mean over all frames, FD_0 included (as DPABI/C-PAC report it)
  double max_fd = 0;
  double max_translation = 0;   // max over frames and axes of |t| (mm)
  double max_rotation = 0;      // max over frames and axes of |r| (degrees)
  bool exclude = false;         // max_translation > limit or max_rotation > limit
  FrameMask kept;               // scrub_mask(fd, fd_threshold, before, after)
  Index n_scrubbed = 0;         // frames dropped by scrubbing
};

// FD, scrubbing and the exclusion flags of one run of canonical motion. Translation and
// rotation are the largest absolute realignment parameters (relative to the reference
// volume of the realignment), as DPABI's head-motion report uses them.
MotionSummary motion_summary(const Matrix& motion, const MotionOptions& options);

// ---------------------------------------------------------------- detrending and regression

// frames x (order + 1) orthonormal polynomial basis (degrees 0..order) of equally
// spaced time points: the Q factor of the Vandermonde matrix of t scaled to [-1, 1].
Matrix polynomial_basis(Index frames, int order);

// Residuals of the least-squares fit of every column of Y on the design D (frames x k),
// by column-pivoting Householder QR; columns of D that are linearly dependent on
// earlier ones (relative tolerance 1e-10) are left out, so a rank-deficient design
// (e.g. a motion parameter that is constant) is handled as lstsq would.
Matrix residualize(const Matrix& Y, const Matrix& D);

// Y minus its polynomial trend of degree `order` (0: the mean; 1: mean and linear, as
// nilearn's detrend and scipy.signal.detrend; 2: and quadratic). order >= 0.
Matrix detrend(const Matrix& Y, int order);

// ---------------------------------------------------------------- band-pass filtering

enum class FilterKind {
  // Butterworth IIR of the given order (nilearn.signal.clean's default,
  // nilearn.signal.butterworth): scipy.signal.butter(order, [low, high] / nyquist,
  // "band", output = "sos") applied forward and backward (scipy.signal.sosfiltfilt,
  // padtype "odd", default padlen 3 * (2 * sections + 1 - trailing zeros): 33 frames for
  // a band-pass of order 5). The gain is |H|^2 of the one-pass filter.
  Butterworth,
  // Ideal (rectangular) FFT filter as AFNI 3dBandpass and DPABI/REST use, without
  // padding: the real DFT of each column is kept at frequencies k / (frames TR) in
  // [low, high] (both inclusive) and zeroed elsewhere (numpy.fft.rfft / irfft). It is
  // applied as the orthogonal projection onto the kept Fourier modes.
  Fft,
};

struct BandPassOptions {
  double tr = 0;        // repetition time, seconds (> 0)
  double low = 0.01;    // high-pass cut-off, Hz (0: none)
  double high = 0.1;    // low-pass cut-off, Hz (0 or >= Nyquist with Fft: none)
  FilterKind kind = FilterKind::Butterworth;
  int order = 5;        // Butterworth order (1..10)
};

// Second-order sections (rows b0 b1 b2 a0 a1 a2) of the digital Butterworth filter of
// the options, exactly as scipy.signal.butter(..., output = "sos") builds them
// (zpk2sos with "nearest" pairing).
Matrix butterworth_sos(const BandPassOptions& options);

// Band-pass filtered Y (each column). ValueError naming the option for tr <= 0, low >=
// high, a cut-off at or above the Nyquist frequency 1 / (2 tr) with the Butterworth
// filter, or too few frames for the padding (Butterworth: more than padlen frames).
Matrix bandpass(const Matrix& Y, const BandPassOptions& options);

// ---------------------------------------------------------------- the cleaning pipeline

enum class MotionModel { None, Six, Friston24 };

struct CleanOptions {
  Index discard = 0;              // frames dropped at the start (before anything else)
  int detrend = 1;                // polynomial order (-1: no trend terms at all)
  MotionFormat motion_format = MotionFormat::Spm;
  MotionModel motion_model = MotionModel::Friston24;  // used when motion is given
  std::optional<BandPassOptions> bandpass;            // none: no filtering
  MotionOptions motion;           // FD, scrubbing and exclusion settings
  bool scrub = false;             // drop the frames scrub_mask flags
};

struct CleanResult {
  Matrix signals;     // kept frames x signals
  FrameMask kept;     // one entry per frame after discarding (1 = kept)
  Matrix design;      // the nuisance design regressed out (frames after discarding)
  std::optional<MotionSummary> motion;  // when motion was given (after discarding)
};

// The cleaning pipeline in the order of METHODS.md section 4:
//  1. drop the first `discard` frames of Y, motion and confounds;
//  2. one least-squares regression of Y on [polynomial basis of degree `detrend`,
//     motion model, confounds] (detrending and nuisance regression together; by the
//     Frisch-Waugh-Lovell theorem this equals detrending Y and the regressors, then
//     regressing, as nilearn's clean detrends its confounds);
//  3. band-pass filtering of the residuals (when options.bandpass is set);
//  4. scrubbing: drop the frames flagged by FD (when options.scrub; needs motion).
// `motion` (frames x 6 in options.motion_format) and `confounds` (frames x k, e.g.
// white-matter, CSF and global mean signals) may be empty (0 columns). ValueError
// naming the argument for a row count that differs from Y's, or fewer frames left than
// regressors + 1.
CleanResult clean(const Matrix& Y, const Matrix& motion, const Matrix& confounds, const CleanOptions& options);

// ---------------------------------------------------------------- node signals

// frames x masks: the mean of each mask's non-zero voxels in every frame of `v` (a
// seed-region or tissue mean: amygdala seed, white matter, CSF, whole brain). Each
// mask has one frame and the grid of v (ValueError naming mask k otherwise, or for an
// empty mask). A mask voxel counts when its value is non-zero (as nl::timeseries);
// NaN data values are skipped (a frame where all are NaN gives NaN).
Matrix mask_means(const Volume& v, const std::vector<const Volume*>& masks);

// ---------------------------------------------------------------- netmats

enum class NetmatMethod {
  Corr,    // full correlation (FSLNets 'corr'), diagonal set to 0
  RidgeP,  // FSLNets 'ridgep': L2-regularised partial correlation, diagonal 0
};

// The N x N netmat of one run's node time series ts (frames x N).
//  corr:   Pearson correlation of the columns, diagonal 0 (as FSLNets' nets_netmats).
//  ridgep: C = cov(ts) (divisor frames - 1); C = C / sqrt(mean(diag(C)^2));
//          P = inv(C + rho I); partial_ij = -P_ij / sqrt(P_ii P_jj); diagonal 0.
// ValueError for fewer than 2 frames, a constant column (corr) or rho < 0.
Matrix netmat(const Matrix& ts, NetmatMethod method, double rho = 0.1);

// The largest |r| fisher_z passes to atanh: 1 - 1e-7 (z at most about 8.42), so that an
// exact +-1 (a node with itself, duplicated nodes) stays finite.
inline constexpr double kMaxAbsR = 1.0 - 1e-7;

// atanh(clamp(r, -kMaxAbsR, kMaxAbsR)) elementwise; NaN stays NaN.
Matrix fisher_z(const Matrix& r);

// The upper triangle (i < j) of an N x N matrix as a vector of N (N - 1) / 2 edges in
// row-major order: (0,1), (0,2), ..., (0,N-1), (1,2), ... (FSLNets stores the full
// N^2 row; this is the order of numpy's triu_indices(N, 1)).
Vector upper_triangle(const Matrix& m);
// The inverse: a symmetric N x N matrix with `diagonal` on the diagonal.
Matrix from_upper_triangle(const Vector& edges, Index nodes, double diagonal = 0.0);
// "A--B" for each edge in upper_triangle order.
std::vector<std::string> edge_labels(const std::vector<std::string>& nodes);

struct NetmatsOptions {
  NetmatMethod method = NetmatMethod::Corr;
  double rho = 0.1;
  bool z = true;  // Fisher r-to-z (with clamping) before averaging runs
};

// subjects x edges: for subject s, the netmat of each of its runs (runs[s], each frames
// x N, frame counts may differ), Fisher z when options.z, averaged over its runs, upper
// triangle. Runs in parallel over subjects. ValueError naming subject and run for a
// node count that differs from the first run's, or a subject with no run. progress
// (optional) counts runs.
Matrix netmats(const std::vector<std::vector<const Matrix*>>& runs, const NetmatsOptions& options,
               const Progress& progress = {});

// ---------------------------------------------------------------- hierarchical node order

struct Hierarchy {
  std::vector<Index> order;  // node indices (0-based) in dendrogram leaf order
  Matrix linkage;            // (N - 1) x 4 as scipy: cluster a, cluster b, height, size
};

// The node order of FSLNets' hierarchical clustering (fsl.nets.hierarchy, Python FSLNets
// 2023): negative entries of `netmat` (N x N, e.g. the group mean of the z-transformed
// full-correlation netmats) are set to 0; the matrix is divided by the 99th percentile
// of its absolute values (numpy.percentile, linear interpolation, all N^2 entries),
// clamped to [-1, 1] and turned into distances d = 0.5 - x / 2 (upper triangle only);
// Ward linkage as scipy.cluster.hierarchy.linkage(d, "ward", optimal_ordering = True):
// Lance-Williams updates, merges sorted by height with scipy's labelling (children as
// lower id, higher id), then scipy's optimal leaf ordering (Bar-Joseph et al. 2001, in
// scipy's float32 formulation) and the leaves of the dendrogram, left to right.
// ValueError unless netmat is square with N >= 2 and finite, or when the 99th
// percentile of its positive part is 0 (nothing to cluster on).
Hierarchy hierarchy(const Matrix& netmat);

// Ward linkage of a condensed distance vector (scipy order, length N (N - 1) / 2) and
// the dendrogram leaf order; optimal_ordering as scipy's linkage option.
Hierarchy ward_linkage(const Vector& condensed, Index n, bool optimal_ordering);

// ---------------------------------------------------------------- seed-to-voxel maps

// Pearson correlation of `seed` (frames) with every column of Y (frames x voxels),
// computed as one pass per column: r_v = sum_t (y_tv - ybar_v) s_t / (||y_v - ybar_v||),
// with s the centred seed scaled to unit norm. Fisher z (clamped as fisher_z) when z.
// A constant column gives NaN. Parallel over column blocks.
Vector seed_correlation(const Vector& seed, const Matrix& Y, bool z);

// The same for the voxels of a 4-D volume where mask (3-D, same grid) is non-zero,
// streamed frame by frame without building the frames x voxels matrix; returns a
// float32 volume on the mask's grid with the values inside the mask and `outside`
// (default 0) elsewhere.
Volume seed_map(const Vector& seed, const Volume& v, const Volume& mask, bool z, double outside = 0.0);

// The same for a store of frames (nl.store.build_series): the series' frames are the
// store's rows, read a block of voxels x all frames at a time (block_voxels rounded up
// to whole chunks; 0: the chunks covering 16,384 voxels), so memory is O(frames x
// block) float32 per thread instead of the whole series. The same sums as the Volume
// path in the same order: a map equal bit for bit to seed_map on the series' Volume.
// Under MPI the blocks are split over the ranks and the values shared (collective).
// ValueError, its message starting with the argument's name: "data:" for a store of
// subjects' maps, "mask:" for a mask with another grid or other voxels than the
// store's, "seed:" for a seed whose length is not the store's frames (or constant or
// non-finite), "block:" for a negative block.
Volume seed_map(const Vector& seed, const VoxelStore& store, const Volume& mask, bool z, double outside = 0.0,
                Index block_voxels = 0);

// Values (one per non-zero mask voxel, in storage order) painted into a volume on the
// mask's grid. ValueError unless values.size() equals the mask's non-zero count.
Volume paint_mask(const Vector& values, const Volume& mask, double outside = 0.0);

}  // namespace nl::fc

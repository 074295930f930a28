// nl/image/image.hpp: Volume (3D and 4D images), NIfTI-1/NIfTI-2 I/O, voxel and world access,
// arithmetic and masks, Gaussian smoothing and resampling.
//
// Conventions (the contract every caller relies on):
//  * Storage is float32, x fastest, then y, z, t (NIfTI order). Voxel indices in this
//    API are 0-based; the Lua layer adds 1.
//  * World coordinates are RAS+ millimetres (NIfTI/nibabel/MNI), not ITK's LPS. The
//    affine maps a 0-based voxel index (i, j, k, 1) to (x, y, z, 1); it is nibabel's
//    "best affine": the sform when sform_code > 0, else the qform when qform_code > 0,
//    else nibabel's fallback (diagonal voxel sizes, x flipped, centred on the grid).
//  * Loading applies scl_slope/scl_inter and remembers the file's datatype; saving
//    writes that datatype back when every value is exactly representable in it and no
//    scaling was involved, else float32 (a datatype can be forced).
//  * File problems are nl::FileError naming the file and the problem; misuse (shape
//    mismatch, bad option) is nl::ValueError.
//
// ITK (resampling) and nifti_clib (header decoding) are used inside the .cpp files only;
// this header speaks Eigen and the standard library.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nl/core/arith.hpp"
#include "nl/core/linalg.hpp"

namespace nl {

// ---------------------------------------------------------------- data types

// The voxel types a NIfTI file may hold that neurolua reads and writes.
enum class DataType { UInt8, Int8, Int16, UInt16, Int32, UInt32, Int64, UInt64, Float32, Float64 };

// "uint8", "int16", "float32", ...
const char* datatype_name(DataType t) noexcept;
// The DataType named `name`, or nullopt.
std::optional<DataType> parse_datatype(std::string_view name) noexcept;
// True when x is stored exactly by type t (integers: integral and in range; NaN and
// infinities only by the float types).
bool representable(double x, DataType t) noexcept;

// ---------------------------------------------------------------- grids

using Affine = Eigen::Matrix4d;

// The spatial part of an image: its 3 spatial dimensions and the voxel-to-world map,
// plus the NIfTI fields that encode it, kept so that saving writes back exactly what
// loading read.
struct Grid {
  std::array<std::int64_t, 3> dims{1, 1, 1};
  Affine affine = Affine::Identity();  // 0-based voxel -> RAS mm (the best affine)

  int qform_code = 0;
  int sform_code = 0;
  Affine sform = Affine::Identity();
  std::array<double, 3> quatern{0, 0, 0};  // b, c, d
  std::array<double, 3> qoffset{0, 0, 0};
  double qfac = 1.0;
  std::array<double, 3> pixdim{1, 1, 1};

  std::size_t voxels() const noexcept {
    return static_cast<std::size_t>(dims[0] * dims[1] * dims[2]);
  }
  // Voxel sizes in mm (lengths of the affine's columns).
  Eigen::Vector3d spacing() const;
  // Unit column directions of the affine (3 x 3).
  Eigen::Matrix3d direction() const;
  // World position (mm) of voxel (0, 0, 0).
  Eigen::Vector3d origin() const { return affine.block<3, 1>(0, 3); }
  // Volume of one voxel in mm^3 (|det| of the 3 x 3 part).
  double voxel_volume() const;
  // Axis codes in nibabel's aff2axcodes sense: "RAS", "LPS", "LAS", "PSR", ...
  std::string orientation() const;
  // World (mm) of a continuous 0-based voxel position, and back.
  Eigen::Vector3d to_world(const Eigen::Vector3d& ijk) const;
  Eigen::Vector3d to_voxel(const Eigen::Vector3d& xyz) const;
  // Same dims and affines equal within 1e-4 (mm for translations).
  bool same_as(const Grid& other) const;
  // "121x145x121, 1.5 mm" (spacing shown once when isotropic).
  std::string describe() const;
};

// Why a grid cannot map voxels to world coordinates, or "" when it can: dims positive,
// the affine finite with last row (0, 0, 0, 1), every voxel axis of finite, non-zero
// length and the axes not (nearly) parallel (|det| of the unit columns above 1e-6), so
// that the affine is invertible. A NaN or singular affine would make every world
// position NaN, and ITK's VNL aborts the process on one; so every grid is checked
// where it is made (loading, make_grid) and again where ITK, smoothing or an affine
// inverse would use it.
std::string grid_problem(const Grid& g);
// ValueError "<what>: <grid_problem>" when the grid is unusable.
void check_grid(const Grid& g, const std::string& what);

// A grid with the given dims and affine, encoded as sform and (when the affine is a
// rotation with positive voxel sizes, up to a flip) qform with `code` (2 = aligned).
// ValueError (check_grid) for an unusable affine.
Grid make_grid(const std::array<std::int64_t, 3>& dims, const Affine& affine, int code = 2);

// ---------------------------------------------------------------- volumes

namespace detail {
// Voxel memory without zero-filling on construction (default-initialized floats), so
// a loader or a computation writes each value once.
void* volume_allocate(std::size_t bytes);
void volume_deallocate(void* p, std::size_t bytes) noexcept;

template <class T>
struct VoxelAllocator {
  using value_type = T;
  VoxelAllocator() = default;
  template <class U>
  VoxelAllocator(const VoxelAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(volume_allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { volume_deallocate(p, n * sizeof(T)); }
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;  // default-initialization: no zeroing
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  template <class U>
  bool operator==(const VoxelAllocator<U>&) const noexcept { return true; }
};
}  // namespace detail

// Header fields that are not spatial, carried from load to save.
struct VolumeInfo {
  DataType source_type = DataType::Float32;  // the datatype of the file (or of the result)
  bool scaled = false;                       // scl_slope/scl_inter changed the values
  int nifti_version = 1;                     // 1 or 2
  double pixdim_t = 0.0;                     // raw pixdim[4]
  int xyz_units = 2;                         // NIfTI code (2 = mm)
  int time_units = 8;                        // NIfTI code (8 = s, 16 = ms, 24 = us)
  double toffset = 0.0;
  int intent_code = 0;
  std::array<double, 3> intent_p{0, 0, 0};
  std::string intent_name;
  std::string descrip;
  double cal_min = 0.0, cal_max = 0.0;
  int freq_dim = 0, phase_dim = 0, slice_dim = 0, slice_code = 0;
  std::int64_t slice_start = 0, slice_end = 0;
  double slice_duration = 0.0;
  std::string path;  // the file it was loaded from ("" for a computed volume)
};

class Volume {
 public:
  Volume() = default;
  // A zero-filled volume on `grid` with `frames` time points; ndim is 4 when frames > 1
  // or four_d is set. ValueError for frames < 1.
  explicit Volume(Grid grid, std::int64_t frames = 1, bool four_d = false);
  // The same, with the voxel values left unset (the caller writes every one).
  struct Uninitialized {};
  Volume(Grid grid, std::int64_t frames, bool four_d, Uninitialized);

  const Grid& grid() const noexcept { return grid_; }
  Grid& grid() noexcept { return grid_; }
  std::int64_t nx() const noexcept { return grid_.dims[0]; }
  std::int64_t ny() const noexcept { return grid_.dims[1]; }
  std::int64_t nz() const noexcept { return grid_.dims[2]; }
  std::int64_t frames() const noexcept { return frames_; }
  int ndim() const noexcept { return ndim_; }
  // Voxels per frame, and all values.
  std::size_t voxels() const noexcept { return grid_.voxels(); }
  std::size_t size() const noexcept { return data_.size(); }

  float* data() noexcept { return data_.data(); }
  const float* data() const noexcept { return data_.data(); }
  float* frame_data(std::int64_t t) noexcept { return data_.data() + static_cast<std::size_t>(t) * voxels(); }
  const float* frame_data(std::int64_t t) const noexcept {
    return data_.data() + static_cast<std::size_t>(t) * voxels();
  }
  // Linear offset of a 0-based (i, j, k, t), unchecked.
  std::size_t offset(std::int64_t i, std::int64_t j, std::int64_t k, std::int64_t t = 0) const noexcept {
    return static_cast<std::size_t>(((t * nz() + k) * ny() + j) * nx() + i);
  }
  // Repetition time in seconds (pixdim[4] converted from the file's time unit), 0 when
  // the file gives none.
  double tr() const noexcept;

  VolumeInfo info;

 private:
  Grid grid_;
  std::int64_t frames_ = 1;
  int ndim_ = 3;
  std::vector<float, detail::VoxelAllocator<float>> data_;
};

// "[Volume 181x217x181, 1 mm, uint8, RAS]" (frames and TR for 4D).
std::string format_volume(const Volume& v);

// ---------------------------------------------------------------- NIfTI I/O

// Bytes a single load may allocate; default: the machine's physical memory. Set 0 to
// restore the default.
std::uint64_t memory_budget() noexcept;
void set_memory_budget(std::uint64_t bytes) noexcept;

// Reads a NIfTI-1 or NIfTI-2 single-file image (.nii or .nii.gz). The header is
// validated (size field, magic, dims, datatype, vox_offset, bytes needed against
// memory_budget(), file size) before any voxel memory is allocated, and so is the
// geometry (grid_problem; a NaN sform, quaternion or voxel size is an error). Header
// fields nibabel repairs on load are repaired the same way: a voxel size of 0 becomes
// 1 and a negative one its absolute value (a warning when no sform decides the
// affine), a qfac (pixdim[0]) other than -1 or 1 becomes 1. FileError naming the file otherwise, also when scl_slope /
// scl_inter scale a value beyond float32's range or the intercept is not finite.
Volume load_volume(const std::string& path);

// A label image (an atlas) read exactly: the Volume as load_volume reads it, plus every
// voxel's value as an integer converted from the file's own datatype (never through
// float32, which cannot tell apart integers above 2^24).
struct LabelImage {
  Volume volume;
  std::vector<std::int64_t> labels;  // all voxels of all frames, storage order
};
// FileError naming the file and the voxel for a value that is not an integer, not
// finite, or not exact in its type: a float32 value beyond 2^24 or a float64 (or
// scaled) value beyond 2^53 in magnitude, where neighbouring integers cannot be told
// apart, or a uint64 beyond 2^63.
LabelImage load_label_image(const std::string& path);

// Loads every path in parallel (nl::parallel_for); result order = paths order. The
// error of the first failing file (by position) is rethrown as a FileError prefixed with
// "file 3 of 10: ".
std::vector<std::shared_ptr<Volume>> load_volumes(const std::vector<std::string>& paths);

struct SaveOptions {
  std::optional<DataType> datatype;  // forced type (ValueError if a value does not fit)
  int version = 0;                   // 1 or 2; 0: the volume's, or 2 when a dim > 32767
  int compression = 6;               // gzip level for .nii.gz (1 fastest .. 9 smallest)
};

// The datatype save() would write for v.
DataType output_datatype(const Volume& v, const SaveOptions& options);

// Writes v to path (.nii or .nii.gz) atomically: to a temporary file with the same
// extension in the same directory, then renamed over path. The file v came from is
// never opened for writing. FileError naming path on failure (the temporary is removed).
void save_volume(const Volume& v, const std::string& path, const SaveOptions& options = {});

// ---------------------------------------------------------------- arithmetic and masks

enum class VoxelCmp { Eq, Ne, Lt, Le, Gt, Ge };
enum class VoxelLogic { And, Or, Xor };

// ValueError unless a and b are on the same grid and have the same number of frames,
// or one of them has a single frame (it is applied to every frame of the other).
// `what` names the operation in the message.
void check_same_grid(const Volume& a, const Volume& b, const char* what);

// Elementwise a op b (float32 result, header of a).
Volume combine(const Volume& a, const Volume& b, ArithOp op);
// v op s, or s op v when scalar_first.
Volume combine(const Volume& v, double s, ArithOp op, bool scalar_first);
Volume negate(const Volume& v);
// Masks: 1 where the comparison holds, else 0 (uint8 source type). NaN compares false
// (and true for Ne).
Volume compare(const Volume& v, double s, VoxelCmp op);
Volume compare(const Volume& a, const Volume& b, VoxelCmp op);
// Logic on masks (non-zero = true).
Volume logical(const Volume& a, const Volume& b, VoxelLogic op);
Volume logical_not(const Volume& v);

// ---------------------------------------------------------------- extraction

// Values at the voxels where mask (one frame, same grid) is non-zero, in storage order:
// a voxels x frames matrix. Without a mask: every voxel.
Matrix values(const Volume& v, const Volume* mask);
// frames x voxels: the time series of the masked voxels (columns in storage order).
Matrix timeseries(const Volume& v, const Volume& mask);
// Frame t (0-based) as a 3-D volume.
Volume frame(const Volume& v, std::int64_t t);

struct VolumeStats {
  std::size_t n = 0;        // voxels considered (mask and frames)
  std::size_t nonzero = 0;  // of those, non-zero (NaN counts as non-zero)
  std::size_t nan = 0;      // of those, NaN (left out of the statistics below)
  double min = 0, max = 0, mean = 0, std = 0, sum = 0;  // std divides by count - 1
};
VolumeStats volume_stats(const Volume& v, const Volume* mask);

// ---------------------------------------------------------------- filtering and resampling

// Gaussian smoothing with the given FWHM in mm along each voxel axis: sampled Gaussian
// kernel, sigma = fwhm / sqrt(8 ln 2) in mm, truncated at 4 sigma, edge values
// continued outside the image (SciPy's gaussian_filter, mode "nearest", as nilearn
// uses); each frame separately. A zero FWHM leaves that axis alone. ValueError for a
// negative FWHM.
Volume smooth(const Volume& v, const std::array<double, 3>& fwhm_mm);

enum class Interpolation { Nearest, Linear };

// v resampled onto `grid` (world coordinates matched through both affines; 0 outside
// v), each frame separately, with ITK's ResampleImageFilter.
Volume resample(const Volume& v, const Grid& grid, Interpolation interp);

}  // namespace nl

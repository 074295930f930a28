// image.cpp: grids, volumes, data types, arithmetic, masks, extraction, statistics.
//
// NIfTI reading and writing live in image/nifti.cpp, ITK filtering in image/itk.cpp.
#include <fmt/format.h>

#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <new>

#include "nl/core/core.hpp"
#include "nl/image/image.hpp"

namespace nl {

// ---------------------------------------------------------------- data types

const char* datatype_name(DataType t) noexcept {
  switch (t) {
    case DataType::UInt8: return "uint8";
    case DataType::Int8: return "int8";
    case DataType::Int16: return "int16";
    case DataType::UInt16: return "uint16";
    case DataType::Int32: return "int32";
    case DataType::UInt32: return "uint32";
    case DataType::Int64: return "int64";
    case DataType::UInt64: return "uint64";
    case DataType::Float32: return "float32";
    case DataType::Float64: return "float64";
  }
  return "?";
}

std::optional<DataType> parse_datatype(std::string_view name) noexcept {
  for (DataType t : {DataType::UInt8, DataType::Int8, DataType::Int16, DataType::UInt16, DataType::Int32,
                     DataType::UInt32, DataType::Int64, DataType::UInt64, DataType::Float32, DataType::Float64})
    if (name == datatype_name(t)) return t;
  return std::nullopt;
}

bool representable(double x, DataType t) noexcept {
  auto in = [x](double lo, double hi) { return x == std::floor(x) && x >= lo && x <= hi; };
  switch (t) {
    case DataType::UInt8: return in(0, 255);
    case DataType::Int8: return in(-128, 127);
    case DataType::Int16: return in(-32768, 32767);
    case DataType::UInt16: return in(0, 65535);
    case DataType::Int32: return in(-2147483648.0, 2147483647.0);
    case DataType::UInt32: return in(0, 4294967295.0);
    // 2^63 itself is not an int64; every float below it that is integral is.
    case DataType::Int64: return in(-9223372036854775808.0, 9223372036854774784.0);
    case DataType::UInt64: return in(0, 18446744073709549568.0);
    case DataType::Float32: return std::isnan(x) || static_cast<double>(static_cast<float>(x)) == x;
    case DataType::Float64: return true;
  }
  return false;
}

// ---------------------------------------------------------------- grids

Eigen::Vector3d Grid::spacing() const { return affine.block<3, 3>(0, 0).colwise().norm().transpose(); }

Eigen::Matrix3d Grid::direction() const {
  Eigen::Matrix3d d = affine.block<3, 3>(0, 0);
  for (int c = 0; c < 3; ++c) {
    const double n = d.col(c).norm();
    if (n > 0) d.col(c) /= n;
  }
  return d;
}

double Grid::voxel_volume() const { return std::fabs(affine.block<3, 3>(0, 0).determinant()); }

// nibabel's io_orientation + ornt2axcodes: orthogonalize the direction matrix by SVD,
// then for each voxel axis in turn take the world axis with the largest component.
std::string Grid::orientation() const {
  const Eigen::Matrix3d rs = direction();
  Eigen::JacobiSVD<Eigen::Matrix3d> svd(rs, Eigen::ComputeFullU | Eigen::ComputeFullV);
  const Eigen::Vector3d s = svd.singularValues();
  const double tol = s.maxCoeff() * 3 * std::numeric_limits<double>::epsilon();
  Eigen::Matrix3d r = Eigen::Matrix3d::Zero();
  for (int k = 0; k < 3; ++k)
    if (s(k) > tol) r += svd.matrixU().col(k) * svd.matrixV().col(k).transpose();
  static const char* letters[3][2] = {{"L", "R"}, {"P", "A"}, {"I", "S"}};
  std::string code;
  for (int in = 0; in < 3; ++in) {
    Eigen::Index out = 0;
    if (r.col(in).cwiseAbs().maxCoeff(&out) < 1e-8) {
      code += '?';
      continue;
    }
    code += letters[out][r(out, in) < 0 ? 0 : 1];
    r.row(out).setZero();
  }
  return code;
}

Eigen::Vector3d Grid::to_world(const Eigen::Vector3d& ijk) const {
  return affine.block<3, 3>(0, 0) * ijk + affine.block<3, 1>(0, 3);
}

Eigen::Vector3d Grid::to_voxel(const Eigen::Vector3d& xyz) const {
  return affine.block<3, 3>(0, 0).inverse() * (xyz - affine.block<3, 1>(0, 3));
}

bool Grid::same_as(const Grid& other) const {
  if (dims != other.dims) return false;
  return (affine - other.affine).cwiseAbs().maxCoeff() <= 1e-4;
}

std::string grid_problem(const Grid& g) {
  for (int d = 0; d < 3; ++d)
    if (g.dims[static_cast<std::size_t>(d)] < 1)
      return fmt::format("dimension {} is {} (dimensions must be positive)", d + 1, g.dims[static_cast<std::size_t>(d)]);
  const Affine& a = g.affine;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c)
      if (!std::isfinite(a(r, c)))
        return fmt::format("the voxel-to-world affine holds a non-finite value ({} in row {}, column {})", a(r, c),
                           r + 1, c + 1);
  if (a(3, 0) != 0 || a(3, 1) != 0 || a(3, 2) != 0 || a(3, 3) != 1)
    return fmt::format("the affine's last row is ({}, {}, {}, {}), not (0, 0, 0, 1)", a(3, 0), a(3, 1), a(3, 2), a(3, 3));
  const Eigen::Matrix3d m = a.block<3, 3>(0, 0);
  Eigen::Matrix3d unit = m;
  for (int c = 0; c < 3; ++c) {
    const double n = m.col(c).norm();
    static const char* axis = "ijk";
    if (!(n > 0) || !std::isfinite(n))
      return fmt::format("voxel axis {} has length {} mm in the affine (voxel sizes must be finite and non-zero)",
                         axis[c], n);
    unit.col(c) /= n;
  }
  // |det| of the unit columns: 1 for orthogonal axes, 0 when two are parallel.
  if (!(std::fabs(unit.determinant()) > 1e-6))
    return "the affine's voxel axes are (nearly) parallel: its 3 x 3 part is singular, so world positions cannot be "
           "mapped back to voxels";
  return "";
}

void check_grid(const Grid& g, const std::string& what) {
  const std::string problem = grid_problem(g);
  if (!problem.empty()) throw ValueError(fmt::format("{}: {}", what, problem));
}

namespace {
std::string num(double x) { return fmt::format("{:.4g}", x); }
}  // namespace

std::string Grid::describe() const {
  const Eigen::Vector3d sp = spacing();
  const bool iso = std::fabs(sp(0) - sp(1)) < 1e-4 && std::fabs(sp(0) - sp(2)) < 1e-4;
  return fmt::format("{}x{}x{}, {} mm", dims[0], dims[1], dims[2],
                     iso ? num(sp(0)) : num(sp(0)) + "x" + num(sp(1)) + "x" + num(sp(2)));
}

// ---------------------------------------------------------------- volumes

namespace detail {

// Plain heap blocks. Transparent huge pages (MADV_HUGEPAGE) were tried: they cut page
// faults 400-fold but made system time erratic (0.1 to 1.5 s per 60 loads) through
// direct compaction on a busy machine, so they are not requested.
void* volume_allocate(std::size_t bytes) {
  void* p = std::malloc(bytes ? bytes : 1);
  if (!p) throw std::bad_alloc();
  return p;
}

void volume_deallocate(void* p, std::size_t) noexcept { std::free(p); }

}  // namespace detail

Volume::Volume(Grid grid, std::int64_t frames, bool four_d, Uninitialized)
    : grid_(std::move(grid)), frames_(frames) {
  if (frames < 1) throw ValueError(fmt::format("a volume needs at least one frame, got {}", frames));
  for (auto d : grid_.dims)
    if (d < 1) throw ValueError(fmt::format("volume dimensions must be positive, got {}", grid_.describe()));
  ndim_ = (frames > 1 || four_d) ? 4 : 3;
  data_.resize(grid_.voxels() * static_cast<std::size_t>(frames));
}

Volume::Volume(Grid grid, std::int64_t frames, bool four_d)
    : Volume(std::move(grid), frames, four_d, Uninitialized{}) {
  std::fill(data_.begin(), data_.end(), 0.0f);
}

double Volume::tr() const noexcept {
  switch (info.time_units) {
    case 16: return info.pixdim_t / 1e3;  // ms
    case 24: return info.pixdim_t / 1e6;  // us
    default: return info.pixdim_t;        // s, or unknown units taken as s
  }
}

std::string format_volume(const Volume& v) {
  std::string shape = fmt::format("{}x{}x{}", v.nx(), v.ny(), v.nz());
  if (v.ndim() == 4) shape += fmt::format("x{}", v.frames());
  const std::string grid = v.grid().describe();
  std::string s = "[Volume " + shape + grid.substr(grid.find(','));
  if (v.ndim() == 4 && v.tr() > 0) s += ", TR " + num(v.tr()) + " s";
  s += fmt::format(", {}", datatype_name(v.info.source_type));
  if (v.info.scaled) s += " (scaled)";
  s += ", " + v.grid().orientation() + "]";
  return s;
}

// ---------------------------------------------------------------- arithmetic and masks

namespace {

// The header of a computed volume: the operand's, without source file or display range.
VolumeInfo derived_info(const VolumeInfo& from, DataType type) {
  VolumeInfo info = from;
  info.source_type = type;
  info.scaled = false;
  info.path.clear();
  info.cal_min = info.cal_max = 0.0;
  return info;
}

// The operand that decides the result's shape: the one with more frames.
const Volume& shape_of(const Volume& a, const Volume& b) { return b.frames() > a.frames() ? b : a; }

// Applies f(x, y) elementwise, broadcasting a single-frame operand over frames.
template <class F>
Volume zip(const Volume& a, const Volume& b, DataType type, F f) {
  const Volume& s = shape_of(a, b);
  Volume out(s.grid(), s.frames(), s.ndim() == 4, Volume::Uninitialized{});
  out.info = derived_info(s.info, type);
  const std::size_t n = a.voxels();
  for (std::int64_t t = 0; t < out.frames(); ++t) {
    const float* pa = a.frame_data(a.frames() == 1 ? 0 : t);
    const float* pb = b.frame_data(b.frames() == 1 ? 0 : t);
    float* po = out.frame_data(t);
    for (std::size_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
  }
  return out;
}

template <class F>
Volume map(const Volume& v, DataType type, F f) {
  Volume out(v.grid(), v.frames(), v.ndim() == 4, Volume::Uninitialized{});
  out.info = derived_info(v.info, type);
  const float* p = v.data();
  float* o = out.data();
  for (std::size_t i = 0, n = v.size(); i < n; ++i) o[i] = f(p[i]);
  return out;
}

float apply(VoxelCmp op, double x, double y) {
  switch (op) {
    case VoxelCmp::Eq: return x == y;
    case VoxelCmp::Ne: return x != y;
    case VoxelCmp::Lt: return x < y;
    case VoxelCmp::Le: return x <= y;
    case VoxelCmp::Gt: return x > y;
    case VoxelCmp::Ge: return x >= y;
  }
  return 0;
}

}  // namespace

void check_same_grid(const Volume& a, const Volume& b, const char* what) {
  if (!a.grid().same_as(b.grid())) {
    std::string where;
    if (a.grid().dims == b.grid().dims)
      where = " (same dimensions, different affines: they do not cover the same space)";
    throw ValueError(fmt::format("{}: volumes are on different grids, {} ({}) and {} ({}){}; resample one "
                                 "onto the other with v:resample_to(ref)",
                                 what, a.grid().describe(), a.grid().orientation(), b.grid().describe(),
                                 b.grid().orientation(), where));
  }
  if (a.frames() != b.frames() && a.frames() != 1 && b.frames() != 1)
    throw ValueError(fmt::format("{}: volumes have {} and {} frames (frame counts must match, or one "
                                 "volume must have a single frame)",
                                 what, a.frames(), b.frames()));
}

Volume combine(const Volume& a, const Volume& b, ArithOp op) {
  check_same_grid(a, b, "arithmetic");
  return zip(a, b, DataType::Float32, [op](float x, float y) { return apply_op(op, x, y); });
}

Volume combine(const Volume& v, double s, ArithOp op, bool scalar_first) {
  const float f = static_cast<float>(s);
  return map(v, DataType::Float32, [=](float x) { return scalar_first ? apply_op(op, f, x) : apply_op(op, x, f); });
}

Volume negate(const Volume& v) {
  return map(v, DataType::Float32, [](float x) { return -x; });
}

Volume compare(const Volume& v, double s, VoxelCmp op) {
  return map(v, DataType::UInt8, [=](float x) { return apply(op, x, s); });
}

Volume compare(const Volume& a, const Volume& b, VoxelCmp op) {
  check_same_grid(a, b, "comparison");
  return zip(a, b, DataType::UInt8, [op](float x, float y) { return apply(op, x, y); });
}

Volume logical(const Volume& a, const Volume& b, VoxelLogic op) {
  check_same_grid(a, b, "mask logic");
  return zip(a, b, DataType::UInt8, [op](float x, float y) -> float {
    const bool p = x != 0, q = y != 0;
    switch (op) {
      case VoxelLogic::And: return p && q;
      case VoxelLogic::Or: return p || q;
      case VoxelLogic::Xor: return p != q;
    }
    return 0;
  });
}

Volume logical_not(const Volume& v) {
  return map(v, DataType::UInt8, [](float x) -> float { return x == 0; });
}

// ---------------------------------------------------------------- extraction

namespace {

// The storage offsets (within one frame) of the mask's non-zero voxels.
std::vector<std::size_t> mask_offsets(const Volume& v, const Volume* mask, const char* what) {
  std::vector<std::size_t> idx;
  if (!mask) {
    idx.resize(v.voxels());
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    return idx;
  }
  if (!mask->grid().same_as(v.grid()))
    throw ValueError(fmt::format("{}: the mask is on a different grid, {} ({}), than the volume, {} ({})", what,
                                 mask->grid().describe(), mask->grid().orientation(), v.grid().describe(),
                                 v.grid().orientation()));
  if (mask->frames() != 1)
    throw ValueError(fmt::format("{}: the mask must have one frame, it has {}", what, mask->frames()));
  const float* m = mask->data();
  for (std::size_t i = 0, n = v.voxels(); i < n; ++i)
    if (m[i] != 0) idx.push_back(i);
  return idx;
}

}  // namespace

Matrix values(const Volume& v, const Volume* mask) {
  const std::vector<std::size_t> idx = mask_offsets(v, mask, "values");
  Matrix out(static_cast<Eigen::Index>(idx.size()), v.frames());
  for (std::int64_t t = 0; t < v.frames(); ++t) {
    const float* p = v.frame_data(t);
    for (std::size_t r = 0; r < idx.size(); ++r) out(static_cast<Eigen::Index>(r), t) = p[idx[r]];
  }
  return out;
}

// The output is column-major (one voxel's series contiguous) while the image is frame
// by frame, so the copy is a transpose: it runs over blocks of 256 voxels, whose output
// columns (256 x frames doubles) stay in cache while every frame is read, in parallel
// over blocks.
Matrix timeseries(const Volume& v, const Volume& mask) {
  const std::vector<std::size_t> idx = mask_offsets(v, &mask, "timeseries");
  Matrix out(v.frames(), static_cast<Eigen::Index>(idx.size()));
  constexpr std::size_t block = 256;
  parallel_for((idx.size() + block - 1) / block, [&](std::size_t b) {
    const std::size_t lo = b * block, hi = std::min(idx.size(), lo + block);
    for (std::int64_t t = 0; t < v.frames(); ++t) {
      const float* p = v.frame_data(t);
      for (std::size_t c = lo; c < hi; ++c) out(t, static_cast<Eigen::Index>(c)) = p[idx[c]];
    }
  });
  return out;
}

Volume frame(const Volume& v, std::int64_t t) {
  if (t < 0 || t >= v.frames())
    throw ValueError(fmt::format("frame {} out of range [1, {}]", t + 1, v.frames()));
  Volume out(v.grid(), 1, false, Volume::Uninitialized{});
  out.info = v.info;
  out.info.path.clear();
  std::copy(v.frame_data(t), v.frame_data(t) + v.voxels(), out.data());
  return out;
}

// Welford's running mean and variance in double over the finite-or-infinite, non-NaN
// values; min/max/sum alongside.
VolumeStats volume_stats(const Volume& v, const Volume* mask) {
  const std::vector<std::size_t> idx = mask_offsets(v, mask, "stats");
  VolumeStats s;
  double mean = 0, m2 = 0;
  std::size_t count = 0;
  s.min = std::numeric_limits<double>::infinity();
  s.max = -std::numeric_limits<double>::infinity();
  for (std::int64_t t = 0; t < v.frames(); ++t) {
    const float* p = v.frame_data(t);
    for (std::size_t i : idx) {
      const double x = p[i];
      ++s.n;
      if (x != 0) ++s.nonzero;
      if (std::isnan(x)) {
        ++s.nan;
        continue;
      }
      ++count;
      s.sum += x;
      s.min = std::min(s.min, x);
      s.max = std::max(s.max, x);
      const double d = x - mean;
      mean += d / static_cast<double>(count);
      m2 += d * (x - mean);
    }
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (count == 0) s.min = s.max = nan;
  s.mean = count ? mean : nan;
  s.std = count > 1 ? std::sqrt(m2 / static_cast<double>(count - 1)) : nan;
  return s;
}

}  // namespace nl

// plot/slices_impl.hpp: what slices.cpp (layout and drawing) takes from
// slices_data.cpp (images sampled at world points, the background and its limits).
#pragma once

#include <optional>

#include <Eigen/Dense>
#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>

#include "nl/plot/slices.hpp"

namespace nl::plot::detail {

// One frame of a volume, sampled at world points (mm). Outside the grid: NaN.
class Sampler {
 public:
  Sampler(const Volume& v, std::int64_t frame);
  Eigen::Vector3d voxel(const Eigen::Vector3d& p) const { return w2v_.leftCols<3>() * p + w2v_.col(3); }
  // The voxel whose centre is nearest (indices rounded half up).
  float nearest(const Eigen::Vector3d& p) const;
  // Trilinear; a point in the outer half voxel takes the edge values.
  float linear(const Eigen::Vector3d& p) const;

 private:
  const float* data_;
  std::array<std::int64_t, 3> n_;
  Eigen::Matrix<double, 3, 4> w2v_;
};

// An axis-aligned world box (mm).
struct Box {
  Eigen::Vector3d min, max;
  bool contains(const Eigen::Vector3d& p) const {
    return (p.array() >= min.array()).all() && (p.array() <= max.array()).all();
  }
};

// The world box covered by voxels lo..hi (0-based, inclusive; their outer faces).
Box grid_box(const Grid& g, const std::array<std::int64_t, 3>& lo, const std::array<std::int64_t, 3>& hi);
Box grid_box(const Grid& g);
// The box of the non-zero voxels of a frame, 2 mm wider (the whole grid if all are zero).
Box content_box(const Volume& v, std::int64_t frame);
// The box of the voxels whose |value| exceeds threshold (finite, non-zero) in a frame;
// nullopt when there are none.
std::optional<Box> active_box(const Volume& v, double threshold, std::int64_t frame);
// Quantiles lo_q and hi_q of the finite non-zero values of a frame ({0, 1} when none).
std::pair<double, double> robust_limits(const Volume& v, std::int64_t frame, double lo_q, double hi_q);

// A background image with its grey-scale limits (from the 2nd and 98th percentiles of its
// non-zero voxels, dimmed: see prepare_background) and extent.
struct BgImage {
  std::shared_ptr<const Volume> volume;
  std::int64_t frame = 0;
  double lo = 0, hi = 1;
  Box box;
};
std::shared_ptr<const BgImage> prepare_background(std::shared_ptr<const Volume> v, std::int64_t frame);
// ch2better, averaged to 1 mm, loaded once per process (and again if NEUROLUA_ATLAS_DIR
// changes). FileError naming the file and the package when it is missing.
std::shared_ptr<const BgImage> template_background();

Eigen::Vector3d default_cut(const Volume& map, double threshold, std::int64_t frame);

}  // namespace nl::plot::detail

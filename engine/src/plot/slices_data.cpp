// plot/slices_data.cpp: the images behind a brain-slice figure (nl/plot/slices.hpp):
// sampling at world points, the background template and its cache, robust intensity
// limits, the display extent and the default cut point.
#include "plot/slices_impl.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <mutex>

#include "nl/atlas/atlas.hpp"
#include "nl/core/core.hpp"
#include "nl/stats/cluster.hpp"

namespace nl::plot::detail {

// ---------------------------------------------------------------- sampling

Sampler::Sampler(const Volume& v, std::int64_t frame) : data_(v.frame_data(frame)) {
  n_ = {v.nx(), v.ny(), v.nz()};
  const Affine inv = v.grid().affine.inverse();
  w2v_ = inv.topRows<3>();
}

float Sampler::nearest(const Eigen::Vector3d& p) const {
  const Eigen::Vector3d x = voxel(p);
  std::int64_t idx[3];
  for (int a = 0; a < 3; ++a) {
    const double r = std::floor(x(a) + 0.5);  // half up, as Volume:at
    if (!(r >= 0 && r < static_cast<double>(n_[a]))) return std::numeric_limits<float>::quiet_NaN();
    idx[a] = static_cast<std::int64_t>(r);
  }
  return data_[(idx[2] * n_[1] + idx[1]) * n_[0] + idx[0]];
}

float Sampler::linear(const Eigen::Vector3d& p) const {
  const Eigen::Vector3d x = voxel(p);
  std::int64_t i0[3], i1[3];
  double f[3];
  for (int a = 0; a < 3; ++a) {
    const double n = static_cast<double>(n_[a]);
    if (!(x(a) >= -0.5 && x(a) <= n - 0.5)) return std::numeric_limits<float>::quiet_NaN();
    const double c = std::clamp(x(a), 0.0, n - 1.0);  // the outer half voxel keeps the edge value
    i0[a] = std::min(static_cast<std::int64_t>(c), n_[a] - 1);
    i1[a] = std::min(i0[a] + 1, n_[a] - 1);
    f[a] = c - static_cast<double>(i0[a]);
  }
  auto at = [&](std::int64_t i, std::int64_t j, std::int64_t k) {
    return static_cast<double>(data_[(k * n_[1] + j) * n_[0] + i]);
  };
  const double c00 = at(i0[0], i0[1], i0[2]) * (1 - f[0]) + at(i1[0], i0[1], i0[2]) * f[0];
  const double c10 = at(i0[0], i1[1], i0[2]) * (1 - f[0]) + at(i1[0], i1[1], i0[2]) * f[0];
  const double c01 = at(i0[0], i0[1], i1[2]) * (1 - f[0]) + at(i1[0], i0[1], i1[2]) * f[0];
  const double c11 = at(i0[0], i1[1], i1[2]) * (1 - f[0]) + at(i1[0], i1[1], i1[2]) * f[0];
  const double c0 = c00 * (1 - f[1]) + c10 * f[1];
  const double c1 = c01 * (1 - f[1]) + c11 * f[1];
  return static_cast<float>(c0 * (1 - f[2]) + c1 * f[2]);
}

// ---------------------------------------------------------------- extents and limits

Box grid_box(const Grid& g, const std::array<std::int64_t, 3>& lo, const std::array<std::int64_t, 3>& hi) {
  Box b;
  b.min.setConstant(std::numeric_limits<double>::infinity());
  b.max.setConstant(-std::numeric_limits<double>::infinity());
  for (int corner = 0; corner < 8; ++corner) {
    const Eigen::Vector3d ijk((corner & 1) ? static_cast<double>(hi[0]) + 0.5 : static_cast<double>(lo[0]) - 0.5,
                              (corner & 2) ? static_cast<double>(hi[1]) + 0.5 : static_cast<double>(lo[1]) - 0.5,
                              (corner & 4) ? static_cast<double>(hi[2]) + 0.5 : static_cast<double>(lo[2]) - 0.5);
    const Eigen::Vector3d w = g.to_world(ijk);
    b.min = b.min.cwiseMin(w);
    b.max = b.max.cwiseMax(w);
  }
  return b;
}

Box grid_box(const Grid& g) { return grid_box(g, {0, 0, 0}, {g.dims[0] - 1, g.dims[1] - 1, g.dims[2] - 1}); }

// The bounding box of the non-zero voxels (the whole grid when there are none), 2 mm wider.
Box content_box(const Volume& v, std::int64_t frame) {
  const float* d = v.frame_data(frame);
  std::array<std::int64_t, 3> lo{v.nx(), v.ny(), v.nz()}, hi{-1, -1, -1};
  for (std::int64_t k = 0; k < v.nz(); ++k)
    for (std::int64_t j = 0; j < v.ny(); ++j) {
      const float* row = d + (k * v.ny() + j) * v.nx();
      for (std::int64_t i = 0; i < v.nx(); ++i) {
        if (row[i] == 0.0f || std::isnan(row[i])) continue;
        lo = {std::min(lo[0], i), std::min(lo[1], j), std::min(lo[2], k)};
        hi = {std::max(hi[0], i), std::max(hi[1], j), std::max(hi[2], k)};
      }
    }
  if (hi[0] < 0) return grid_box(v.grid());
  Box b = grid_box(v.grid(), lo, hi);
  b.min.array() -= 2.0;
  b.max.array() += 2.0;
  return b;
}

std::optional<Box> active_box(const Volume& v, double threshold, std::int64_t frame) {
  const float* d = v.frame_data(frame);
  std::array<std::int64_t, 3> lo{v.nx(), v.ny(), v.nz()}, hi{-1, -1, -1};
  for (std::int64_t k = 0; k < v.nz(); ++k)
    for (std::int64_t j = 0; j < v.ny(); ++j) {
      const float* row = d + (k * v.ny() + j) * v.nx();
      for (std::int64_t i = 0; i < v.nx(); ++i) {
        const float x = row[i];
        if (x == 0.0f || !std::isfinite(x) || !(std::fabs(x) > threshold)) continue;
        lo = {std::min(lo[0], i), std::min(lo[1], j), std::min(lo[2], k)};
        hi = {std::max(hi[0], i), std::max(hi[1], j), std::max(hi[2], k)};
      }
    }
  if (hi[0] < 0) return std::nullopt;
  return grid_box(v.grid(), lo, hi);
}

std::pair<double, double> robust_limits(const Volume& v, std::int64_t frame, double lo_q, double hi_q) {
  const float* d = v.frame_data(frame);
  std::vector<float> x;
  x.reserve(v.voxels() / 2);
  for (std::size_t i = 0; i < v.voxels(); ++i)
    if (d[i] != 0.0f && std::isfinite(d[i])) x.push_back(d[i]);
  if (x.empty()) return {0.0, 1.0};
  auto quantile = [&](double q) {
    const auto pos = static_cast<std::ptrdiff_t>(std::floor(q * static_cast<double>(x.size() - 1)));
    std::nth_element(x.begin(), x.begin() + pos, x.end());
    return static_cast<double>(x[static_cast<std::size_t>(pos)]);
  };
  const double lo = quantile(lo_q), hi = quantile(hi_q);
  if (hi > lo) return {lo, hi};
  return lo > 0 ? std::pair{0.0, lo} : std::pair{lo - 1.0, lo};  // a constant image
}

// ---------------------------------------------------------------- the template

namespace {

// Averages 2 x 2 x 2 blocks: the 0.5 mm template becomes 1 mm, a quarter of the memory
// kept in the cache, still finer than a figure's pixels at 100 dpi.
Volume half_resolution(const Volume& v) {
  const std::array<std::int64_t, 3> dims{(v.nx() + 1) / 2, (v.ny() + 1) / 2, (v.nz() + 1) / 2};
  Affine scale = Affine::Identity();
  for (int a = 0; a < 3; ++a) {
    scale(a, a) = 2.0;
    scale(a, 3) = 0.5;  // new voxel i covers old voxels 2i and 2i + 1
  }
  Volume out(make_grid(dims, v.grid().affine * scale), 1, false, Volume::Uninitialized{});
  for (std::int64_t k = 0; k < dims[2]; ++k)
    for (std::int64_t j = 0; j < dims[1]; ++j)
      for (std::int64_t i = 0; i < dims[0]; ++i) {
        double sum = 0;
        int n = 0;
        for (std::int64_t c = 2 * k; c < std::min(2 * k + 2, v.nz()); ++c)
          for (std::int64_t b = 2 * j; b < std::min(2 * j + 2, v.ny()); ++b)
            for (std::int64_t a = 2 * i; a < std::min(2 * i + 2, v.nx()); ++a) {
              sum += v.data()[v.offset(a, b, c)];
              ++n;
            }
        out.data()[out.offset(i, j, k)] = static_cast<float>(sum / n);
      }
  out.info.path = v.info.path;
  return out;
}

}  // namespace

std::shared_ptr<const BgImage> prepare_background(std::shared_ptr<const Volume> v, std::int64_t frame) {
  auto bg = std::make_shared<BgImage>();
  const auto [p2, p98] = robust_limits(*v, frame, 0.02, 0.98);
  // Dimmed as nilearn dims an anatomy on a black background (dim = 'auto', 0.8): the
  // top of the range is raised to mean + 1.8 half-ranges, so the brightest tissue is
  // about 70 % grey and coloured blobs stand out.
  bg->lo = p2;
  bg->hi = 0.5 * (p2 + p98) + 1.8 * 0.5 * (p98 - p2);
  bg->box = content_box(*v, frame);
  bg->frame = frame;
  bg->volume = std::move(v);
  return bg;
}

std::shared_ptr<const BgImage> template_background() {
  static std::mutex mutex;
  static std::shared_ptr<const BgImage> cached;
  static std::string cached_path;
  const std::string path = template_path();
  std::lock_guard<std::mutex> lock(mutex);
  if (cached && cached_path == path) return cached;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw FileError(fmt::format(
        "the background template '{}' is missing: it comes with the Debian package mricron-data "
        "(installed by tools/bootstrap.sh; NEUROLUA_ATLAS_DIR overrides the folder); or give bg = a Volume or "
        "a file, or bg = false",
        path));
  Volume t = load_volume(path);
  if (t.grid().spacing().maxCoeff() < 0.9) t = half_resolution(t);
  cached = prepare_background(std::make_shared<const Volume>(std::move(t)), 0);
  cached_path = path;
  return cached;
}

// ---------------------------------------------------------------- the cut point

Eigen::Vector3d default_cut(const Volume& map, double threshold, std::int64_t frame) {
  const float* d = map.frame_data(frame);
  std::vector<stats::Index> voxels;
  std::vector<float> mag;
  for (std::size_t i = 0; i < map.voxels(); ++i) {
    const float a = std::fabs(d[i]);
    if (a > threshold && std::isfinite(a)) mag.push_back(a);
  }
  const Eigen::Vector3d centre =
      map.grid().to_world(Eigen::Vector3d(static_cast<double>(map.nx() - 1) / 2, static_cast<double>(map.ny() - 1) / 2,
                                          static_cast<double>(map.nz() - 1) / 2));
  if (mag.empty()) return centre;
  const auto pos = static_cast<std::ptrdiff_t>(std::floor(0.8 * static_cast<double>(mag.size() - 1)));
  std::nth_element(mag.begin(), mag.begin() + pos, mag.end());
  const float cut = mag[static_cast<std::size_t>(pos)];
  for (std::size_t i = 0; i < map.voxels(); ++i) {
    const float a = std::fabs(d[i]);
    if (a > threshold && a >= cut && std::isfinite(a)) voxels.push_back(static_cast<stats::Index>(i));
  }
  const stats::ClusterGrid grid({map.nx(), map.ny(), map.nz()}, voxels, 26);
  std::vector<int> labels;
  std::vector<stats::Index> sizes;
  grid.label(std::vector<char>(voxels.size(), 1), labels, sizes);
  auto ijk = [&](stats::Index v) {
    return Eigen::Vector3d(static_cast<double>(v % map.nx()), static_cast<double>((v / map.nx()) % map.ny()),
                           static_cast<double>(v / (map.nx() * map.ny())));
  };
  Eigen::Vector3d com = Eigen::Vector3d::Zero();
  double weight = 0;
  for (std::size_t t = 0; t < voxels.size(); ++t) {
    if (labels[t] != 1) continue;
    const double w = std::fabs(d[voxels[t]]);
    com += w * ijk(voxels[t]);
    weight += w;
  }
  com /= weight;
  // The voxel of the cluster nearest (in mm) to the centre of mass: the cut goes through
  // the cluster even when it is curved, and through voxel centres.
  const Eigen::Vector3d com_mm = map.grid().to_world(com);
  double best = std::numeric_limits<double>::infinity();
  Eigen::Vector3d out = com_mm;
  for (std::size_t t = 0; t < voxels.size(); ++t) {
    if (labels[t] != 1) continue;
    const Eigen::Vector3d w = map.grid().to_world(ijk(voxels[t]));
    const double dist = (w - com_mm).squaredNorm();
    if (dist < best) {
      best = dist;
      out = w;
    }
  }
  return out;
}

}  // namespace nl::plot::detail

namespace nl::plot {

std::string template_path() { return atlas_dir() + "/ch2better.nii.gz"; }

Eigen::Vector3d default_cut_coords(const Volume& map, double threshold, std::int64_t frame) {
  if (frame < 0 || frame >= map.frames()) throw ValueError(fmt::format("frame {} out of range", frame + 1));
  return detail::default_cut(map, threshold, frame);
}

}  // namespace nl::plot

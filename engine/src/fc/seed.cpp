// fc/seed.cpp: seed-to-voxel correlation maps.
//
// For a seed s (frames) and a voxel series y: with z = (s - mean s) / ||s - mean s||,
//   r = sum_t (y_t - ybar) z_t / ||y - ybar||,
// and sum_t z_t = 0 lets the numerator skip the centring of y. The matrix path does
// one pass per column (mean, then cross-product and sum of squares over the same 240
// cache-resident values). The volume path streams frames: per voxel it accumulates
// d = y - y_0 (the first frame's value, a shift that keeps the sum of squares free of
// cancellation for raw BOLD intensities), sum d, sum d^2 and sum d z, so the 4-D data
// are read once, frame by frame, in storage order. Both paths run in parallel over
// blocks of 2048 voxels.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "nl/core/core.hpp"
#include "nl/fc/fc.hpp"

namespace nl::fc {

namespace {

// The centred seed scaled to unit norm; ValueError for a constant or non-finite seed.
Vector unit_seed(const Vector& seed) {
  if (seed.size() < 3) throw ValueError(fmt::format("seed: needs at least 3 frames, got {}", seed.size()));
  if (!seed.allFinite()) throw ValueError("seed: the seed time series has non-finite values");
  Vector z = seed.array() - seed.mean();
  const double norm = z.norm();
  if (!(norm > 0)) throw ValueError("seed: the seed time series is constant");
  return z / norm;
}

double finish(double r, bool z) {
  if (std::isnan(r)) return r;
  r = std::clamp(r, -1.0, 1.0);
  return z ? std::atanh(std::clamp(r, -kMaxAbsR, kMaxAbsR)) : r;
}

constexpr std::size_t kBlock = 2048;  // columns or voxels per task

}  // namespace

Vector seed_correlation(const Vector& seed, const Matrix& Y, bool z) {
  if (seed.size() != Y.rows())
    throw ValueError(fmt::format("seed_correlation: the seed has {} frames, the data {}", seed.size(), Y.rows()));
  const Vector s = unit_seed(seed);
  const Index n = Y.rows(), V = Y.cols();
  Vector out(V);
  const std::size_t blocks = (static_cast<std::size_t>(V) + kBlock - 1) / kBlock;
  parallel_for(blocks, [&](std::size_t b) {
    const Index lo = static_cast<Index>(b * kBlock), hi = std::min<Index>(V, lo + static_cast<Index>(kBlock));
    // Eigen's vectorised reductions keep several partial sums, which matters here: a
    // plain loop would wait on one addition chain per sum (latency-bound).
    Vector d(n);
    for (Index v = lo; v < hi; ++v) {
      const double mean = Y.col(v).mean();
      d.array() = Y.col(v).array() - mean;
      const double sxy = d.dot(s), syy = d.squaredNorm();
      out(v) = finish(syy > 0 ? sxy / std::sqrt(syy) : std::numeric_limits<double>::quiet_NaN(), z);
    }
  });
  return out;
}

Volume seed_map(const Vector& seed, const Volume& v, const Volume& mask, bool z, double outside) {
  if (mask.frames() != 1) throw ValueError(fmt::format("seed_map: the mask must have one frame, it has {}", mask.frames()));
  if (!mask.grid().same_as(v.grid()))
    throw ValueError(fmt::format("seed_map: the mask is on a different grid, {} ({}), than the volume, {} ({})",
                                 mask.grid().describe(), mask.grid().orientation(), v.grid().describe(),
                                 v.grid().orientation()));
  if (seed.size() != v.frames())
    throw ValueError(fmt::format("seed_map: the seed has {} frames, the volume {}", seed.size(), v.frames()));
  const Vector s = unit_seed(seed);
  std::vector<std::size_t> idx;
  const float* m = mask.data();
  for (std::size_t i = 0, nv = mask.voxels(); i < nv; ++i)
    if (m[i] != 0) idx.push_back(i);
  if (idx.empty()) throw ValueError("seed_map: the mask has no non-zero voxel");

  const std::int64_t n = v.frames();
  Vector r(static_cast<Index>(idx.size()));
  const std::size_t blocks = (idx.size() + kBlock - 1) / kBlock;
  parallel_for(blocks, [&](std::size_t b) {
    const std::size_t lo = b * kBlock, hi = std::min(idx.size(), lo + kBlock);
    const std::size_t len = hi - lo;
    std::vector<double> shift(len), s1(len, 0.0), s2(len, 0.0), sz(len, 0.0);
    const float* f0 = v.frame_data(0);
    for (std::size_t c = 0; c < len; ++c) shift[c] = f0[idx[lo + c]];
    for (std::int64_t t = 0; t < n; ++t) {
      const float* f = v.frame_data(t);
      const double zt = s(static_cast<Index>(t));
      for (std::size_t c = 0; c < len; ++c) {
        const double d = static_cast<double>(f[idx[lo + c]]) - shift[c];
        s1[c] += d;
        s2[c] += d * d;
        sz[c] += d * zt;
      }
    }
    for (std::size_t c = 0; c < len; ++c) {
      const double ss = s2[c] - s1[c] * s1[c] / static_cast<double>(n);
      r(static_cast<Index>(lo + c)) = finish(ss > 0 ? sz[c] / std::sqrt(ss) : std::numeric_limits<double>::quiet_NaN(), z);
    }
  });
  return paint_mask(r, mask, outside);
}

Volume paint_mask(const Vector& values, const Volume& mask, double outside) {
  if (mask.frames() != 1) throw ValueError(fmt::format("paint_mask: the mask must have one frame, it has {}", mask.frames()));
  const float* m = mask.data();
  std::size_t count = 0;
  for (std::size_t i = 0, nv = mask.voxels(); i < nv; ++i) count += m[i] != 0;
  if (count != static_cast<std::size_t>(values.size()))
    throw ValueError(fmt::format("paint_mask: {} values for a mask of {} voxels", values.size(), count));
  Volume out(mask.grid(), 1, false, Volume::Uninitialized{});
  out.info = mask.info;
  out.info.source_type = DataType::Float32;
  out.info.scaled = false;
  out.info.path.clear();
  out.info.cal_min = out.info.cal_max = 0.0;
  out.info.intent_code = 0;
  float* p = out.data();
  for (std::size_t i = 0, k = 0, nv = mask.voxels(); i < nv; ++i)
    p[i] = (m[i] != 0) ? static_cast<float>(values(static_cast<Index>(k++))) : static_cast<float>(outside);
  return out;
}

}  // namespace nl::fc

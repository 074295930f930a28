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
// blocks of 2048 voxels. The store path (a store of frames, nl/io/voxel_store.hpp)
// reads blocks of voxels x all frames and runs the volume path's sums on them
// (FrameSums), so a series gives the same map from its 4-D Volume and from its store,
// bit for bit; the blocks are spread over the MPI ranks and shared.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "nl/core/core.hpp"
#include "nl/core/mpi.hpp"
#include "nl/fc/fc.hpp"
#include "nl/io/voxel_store.hpp"

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

// The streaming sums of the frame path for `len` voxels: per voxel the shift y_0 (the
// first frame's value), sum d, sum d^2 and sum d z over d = y_t - y_0, frame after
// frame. The 4-D Volume and the store of frames both run this code, value(c) giving
// voxel c's float32 value in the current frame, so the same float32 inputs give the
// same doubles bit for bit whatever the layout they are read from.
class FrameSums {
 public:
  template <class Value>
  FrameSums(std::size_t len, Value first) : shift_(len), s1_(len, 0.0), s2_(len, 0.0), sz_(len, 0.0) {
    for (std::size_t c = 0; c < len; ++c) shift_[c] = first(c);
  }
  template <class Value>
  void add(double zt, Value value) {
    for (std::size_t c = 0, len = shift_.size(); c < len; ++c) {
      const double d = static_cast<double>(value(c)) - shift_[c];
      s1_[c] += d;
      s2_[c] += d * d;
      sz_[c] += d * zt;
    }
  }
  // r(at + c) for every voxel c, from n frames.
  void result(Vector& r, Index at, std::int64_t n, bool z) const {
    for (std::size_t c = 0, len = shift_.size(); c < len; ++c) {
      const double ss = s2_[c] - s1_[c] * s1_[c] / static_cast<double>(n);
      r(at + static_cast<Index>(c)) =
          finish(ss > 0 ? sz_[c] / std::sqrt(ss) : std::numeric_limits<double>::quiet_NaN(), z);
    }
  }

 private:
  std::vector<double> shift_, s1_, s2_, sz_;
};


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
    FrameSums sums(hi - lo, [&](std::size_t c) { return v.frame_data(0)[idx[lo + c]]; });
    for (std::int64_t t = 0; t < n; ++t) {
      const float* f = v.frame_data(t);
      sums.add(s(static_cast<Index>(t)), [&](std::size_t c) { return f[idx[lo + c]]; });
    }
    sums.result(r, static_cast<Index>(lo), n, z);
  });
  return paint_mask(r, mask, outside);
}

Volume seed_map(const Vector& seed, const VoxelStore& store, const Volume& mask, bool z, double outside,
                Index block_voxels) {
  if (store.rows() != StoreRows::Frames)
    throw ValueError(fmt::format("data: the store '{}' holds {} subjects' maps, not the frames of one series (build "
                                 "a store of frames with nl.store.build_series)",
                                 store.path(), store.subjects()));
  if (mask.frames() != 1) throw ValueError(fmt::format("mask: must have one frame, it has {}", mask.frames()));
  if (!mask.grid().same_as(store.grid()))
    throw ValueError(fmt::format("mask: on a different grid, {} ({}), than the store '{}', {} ({})",
                                 mask.grid().describe(), mask.grid().orientation(), store.path(),
                                 store.grid().describe(), store.grid().orientation()));
  {
    const auto& index = store.mask_indices();
    const float* m = mask.data();
    std::size_t k = 0, count = 0;
    for (std::size_t i = 0, nv = mask.voxels(); i < nv; ++i) {
      if (m[i] == 0) continue;
      ++count;
      if (k < index.size() && index[k] == static_cast<Index>(i)) ++k;
    }
    if (count != index.size() || k != index.size())
      throw ValueError(fmt::format("mask: its {} voxels are not the store's {} (the store holds only its own mask's "
                                   "voxels: pass store:mask() or the mask it was built with)",
                                   count, index.size()));
  }
  if (block_voxels < 0) throw ValueError(fmt::format("block: must be >= 0, got {}", block_voxels));
  const Index n = store.subjects(), V = store.voxels();
  if (seed.size() != n)
    throw ValueError(fmt::format("seed: has {} frames, the store '{}' {}", seed.size(), store.path(), n));
  const Vector s = unit_seed(seed);

  // Whole chunks per block (no chunk read twice); default the chunks covering 16,384
  // voxels (240 frames: 15.7 MB of float32 per block).
  const Index cv = std::max<Index>(store.chunk_voxels(), 1);
  const Index want = block_voxels > 0 ? block_voxels : 16384;
  const Index block = std::min(V, (want + cv - 1) / cv * cv);
  const auto nblocks = static_cast<std::size_t>((V + block - 1) / block);
  const auto width = static_cast<std::size_t>(block);
  std::vector<double> flat(nblocks * width, std::numeric_limits<double>::quiet_NaN());
  // Each rank reads its own blocks (threads inside it one block each), then all share.
  mpi::distributed_for(nblocks, [&](std::size_t b) {
    const Index v0 = static_cast<Index>(b) * block, v1 = std::min(V, v0 + block);
    const auto len = static_cast<std::size_t>(v1 - v0);
    std::vector<float> buf(static_cast<std::size_t>(n) * len);  // frames x len, row-major
    store.read_floats(0, n, v0, v1, buf.data());
    check_interrupt();
    Vector r(static_cast<Index>(len));
    for (std::size_t lo = 0; lo < len; lo += kBlock) {
      const std::size_t hi = std::min(len, lo + kBlock);
      FrameSums sums(hi - lo, [&](std::size_t c) { return buf[lo + c]; });
      for (Index t = 0; t < n; ++t) {
        const float* f = buf.data() + static_cast<std::size_t>(t) * len;
        sums.add(s(t), [&](std::size_t c) { return f[lo + c]; });
      }
      sums.result(r, static_cast<Index>(lo), n, z);
    }
    std::copy(r.data(), r.data() + r.size(), flat.begin() + static_cast<std::ptrdiff_t>(b * width));
  });
  mpi::share_blocks(nblocks, width, flat.data());
  Vector r(V);
  std::copy(flat.begin(), flat.begin() + V, r.data());
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

// stats/store_glm.cpp: freedman_lane over a voxel store, block by block (see
// store_glm.hpp for why the blocks combine exactly), and the whole-map run for cluster
// and TFCE inference (store_maps.cpp).
#include "nl/stats/store_glm.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

#include "nl/core/mpi.hpp"
#include "nl/core/warnings.hpp"
#include "nl/io/serial.hpp"
#include "nl/stats/distributions.hpp"
#include "nl/stats/variance_groups.hpp"
#include "permutation_detail.hpp"
#include "store_detail.hpp"

namespace nl::stats {

namespace store_detail {

using detail::kNaN;
using detail::kTieTol;

Index block_width(const VoxelStore& store, Index block_voxels) {
  if (block_voxels < 0) throw ValueError(fmt::format("block_voxels must be >= 0, got {}", block_voxels));
  const Index cv = std::max<Index>(store.chunk_voxels(), 1);
  // Whole chunks per block (so that no chunk is read twice), and a multiple of 4 columns
  // (Eigen's panels: see store_glm.hpp).
  Index block = block_voxels > 0 ? (block_voxels + cv - 1) / cv * cv : cv;
  return (block + 3) / 4 * 4;
}

void store_identity(Fingerprint& f, const VoxelStore& s) {
  f.text("neurolua voxel store").value(s.subjects()).value(s.voxels()).value(s.chunk_subjects());
  f.value(s.chunk_voxels()).value(s.format_version()).text(s.created());
  const auto& index = s.mask_indices();
  f.add(index.data(), index.size() * sizeof(Index));
  for (const auto& src : s.sources()) f.text(src.path).text(src.sha256).value(src.bytes).value(src.mtime_ns);
  f.value(s.stored_bytes());
}

void run_identity(Fingerprint& f, const Matrix& X, const Matrix& C, const PermutationOptions& o, std::size_t N) {
  for (const Matrix* M : {&X, &C})
    f.value(M->rows()).value(M->cols()).add(M->data(), static_cast<std::size_t>(M->size()) * sizeof(double));
  f.value(N).value(o.seed).value(static_cast<int>(o.scheme)).value(static_cast<int>(o.block_mode));
  f.value(static_cast<int>(o.tail)).value(o.cluster_threshold).value(static_cast<int>(o.cluster_stat));
  f.value(o.clusters != nullptr).value(o.tfce != nullptr);
  f.value(o.tfce_options.E).value(o.tfce_options.H).value(o.tfce_options.dh);
  f.value(o.blocks.size());
  for (const int b : o.blocks) f.value(b);
  f.value(o.variance_groups.size());
  for (const int g : o.variance_groups) f.value(g);
}

void parametric(const Matrix& Y, const Matrix& X, const Matrix& C, const PermutationOptions& o,
                std::vector<std::string>* vg_names, Eigen::Ref<Vector> stat, Eigen::Ref<Vector> p) {
  if (!o.variance_groups.empty()) {
    const VarianceGroupTest t = variance_group_test(Y, X, C, o.variance_groups, o.tail, vg_names);
    if (t.groups > 1) {
      stat = t.stat;
      p = t.p;
      return;
    }
  }
  const GlmFit fit = glm_fit(X, Y);
  if (C.rows() == 1) {
    const TContrast t = t_contrast(fit, C.row(0).transpose(), o.tail);
    stat = t.t;
    p = t.p;
  } else {
    const FContrast f = f_contrast(fit, C);
    stat = f.F;
    p = f.p;
  }
}

void share_voxels(Vector& v, std::size_t b0, std::size_t b1, Index block) {
  if (mpi::size() <= 1 || b1 <= b0) return;
  const auto width = static_cast<std::size_t>(block);
  const Index lo = static_cast<Index>(b0) * block, hi = std::min(v.size(), static_cast<Index>(b1) * block);
  std::vector<double> flat((b1 - b0) * width, kNaN);
  std::copy(v.data() + lo, v.data() + hi, flat.begin());
  mpi::share_blocks(b1 - b0, width, flat.data());
  std::copy(flat.begin(), flat.begin() + (hi - lo), v.data() + lo);
}

}  // namespace store_detail

namespace {

using namespace store_detail;

// Without clusters and TFCE: freedman_lane on each block (the units of a checkpoint),
// the blocks spread over the ranks and threads.
StoreGlmResult voxelwise(const VoxelStore& store, const Matrix& X, const Matrix& C, const PermutationOptions& o,
                         Index block) {
  const Index n = store.subjects(), V = store.voxels();
  const Index nblocks = V == 0 ? 0 : (V + block - 1) / block;
  if (o.permutations < 1) throw ValueError(fmt::format("permutations must be at least 1, got {}", o.permutations));
  const auto rows = detail::block_rows(n, o.blocks);
  detail::check_block_sizes(rows, o.block_mode);
  const auto requested = static_cast<std::uint64_t>(o.permutations);
  const std::uint64_t total = detail::count_rearrangements(n, rows, o.scheme, o.block_mode, requested);
  const auto N = static_cast<std::size_t>(total > 0 ? total : requested);

  StoreGlmResult out;
  out.n = n;
  out.blocks = nblocks;
  out.block_voxels = block;
  out.passes = 1;
  PermutationResult& r = out.perm;
  r.permutations = static_cast<int>(N);
  r.exhaustive = total > 0;
  r.stat = Vector::Constant(V, kNaN);
  r.p_unc = Vector::Constant(V, kNaN);
  out.stat = Vector::Constant(V, kNaN);
  out.p = Vector::Constant(V, kNaN);
  {
    const GlmFit fit = glm_fit(X, Matrix::Zero(n, 1));  // the rank and df only
    out.rank = fit.rank;
    out.df = fit.df;
  }
  const bool is_t = C.rows() == 1;
  // Each block's maxima, combined in block order at the end.
  std::vector<double> maxima(static_cast<std::size_t>(nblocks) * N, kNaN);

  std::string print;
  if (!o.checkpoint.path.empty()) {
    Fingerprint f;
    store_identity(f, store);
    run_identity(f, X, C, o, N);
    f.text("blocks").value(block);
    print = f.hex();
  }
  const Checkpoint ck(o.checkpoint, "store GLM permutation test (voxelwise)", print,
                      static_cast<std::size_t>(nblocks));
  Vector* const per_voxel[] = {&r.stat, &r.p_unc, &out.stat, &out.p};
  if (ck.done() > 0) {
    Reader in(ck.state(), ck.path(), 1);
    const Index upto = std::min(V, static_cast<Index>(ck.done()) * block);
    for (Vector* v : per_voxel) {
      const std::vector<double> saved = in.doubles();
      if (static_cast<Index>(saved.size()) != upto) in.fail("the saved voxels do not match the run");
      std::copy(saved.begin(), saved.end(), v->data());
    }
    const std::vector<double> saved = in.doubles();
    if (saved.size() != ck.done() * N) in.fail("the saved maxima do not match the run");
    std::copy(saved.begin(), saved.end(), maxima.begin());
    if (!in.done()) in.fail("bytes after the saved state");
    warn(fmt::format("resuming the store GLM permutation test from the checkpoint {}: {} of {} blocks were done",
                     ck.path(), ck.done(), nblocks));
  }
  PermutationOptions ob = o;
  ob.progress = nullptr;
  ob.checkpoint = {};
  const auto total_work = static_cast<std::int64_t>(nblocks) * static_cast<std::int64_t>(N);
  std::atomic<std::int64_t> finished{static_cast<std::int64_t>(ck.done())};
  try {
    ck.run(ck.done(), static_cast<std::size_t>(nblocks), [&](std::size_t bb) {
      // This block's rearrangements all here: the blocks are what is spread.
      const mpi::LocalScope local;
      check_interrupt();
      const auto b = static_cast<Index>(bb);
      const Index v0 = b * block, v1 = std::min(V, v0 + block);
      const Matrix Y = store.read_voxels(v0, v1);
      const PermutationResult pr = freedman_lane(Y, X, C, ob);
      std::copy(pr.max_stat.data(), pr.max_stat.data() + pr.max_stat.size(), maxima.begin() + bb * N);
      r.stat.segment(v0, v1 - v0) = pr.stat;
      r.p_unc.segment(v0, v1 - v0) = pr.p_unc;
      std::vector<std::string> names = o.variance_group_names;
      parametric(Y, X, C, o, names.empty() ? nullptr : &names, out.stat.segment(v0, v1 - v0),
                 out.p.segment(v0, v1 - v0));
      const std::int64_t now = finished.fetch_add(1) + 1;
      if (o.progress) o.progress(now * static_cast<std::int64_t>(N), total_work);
    }, [&](std::size_t b0, std::size_t b1) {
      for (Vector* v : per_voxel) share_voxels(*v, b0, b1, block);
      if (mpi::size() > 1) mpi::share_blocks(b1 - b0, N, maxima.data() + b0 * N);
      if (ck.due()) {
        Writer w;
        const Index upto = std::min(V, static_cast<Index>(b1) * block);
        for (const Vector* v : per_voxel) w.doubles(std::vector<double>(v->data(), v->data() + upto));
        w.doubles(std::vector<double>(maxima.begin(), maxima.begin() + static_cast<std::ptrdiff_t>(b1 * N)));
        ck.save(b1, w.bytes());
      }
    });
  } catch (const Interrupted&) {
    throw InterruptedAfter(fmt::format(
        "interrupted after {} of {} blocks of the store GLM{}", finished.load(), nblocks,
        ck.active() ? fmt::format("; the checkpoint {} keeps the rounds saved so far: run again to resume", ck.path())
                    : ""));
  }
  ck.remove();

  // The maximum over blocks of each rearrangement (NaN: no statistic, loses).
  r.max_stat = Vector::Constant(static_cast<Index>(N), kNaN);
  for (Index b = 0; b < nblocks; ++b)
    for (std::size_t k = 0; k < N; ++k) {
      const double m = maxima[static_cast<std::size_t>(b) * N + k];
      if (!std::isnan(m) && !(m <= r.max_stat(static_cast<Index>(k)))) r.max_stat(static_cast<Index>(k)) = m;
    }
  // FWE p from the combined maxima, as freedman_lane computes it.
  std::vector<double> sorted;
  sorted.reserve(N);
  for (Index q = 0; q < static_cast<Index>(N); ++q)
    sorted.push_back(std::isnan(r.max_stat(q)) ? -std::numeric_limits<double>::infinity() : r.max_stat(q));
  std::sort(sorted.begin(), sorted.end());
  const auto Nd = static_cast<double>(N);
  auto tail_T = [&](double raw) {
    if (!is_t) return raw;
    return o.tail == Tail::Two ? std::fabs(raw) : o.tail == Tail::Left ? -raw : raw;
  };
  r.p_fwe.resize(V);
  r.p_fwe_gamma.resize(V);
  double mean = 0, m2 = 0, m3 = 0, finite = 0;
  for (const double v : sorted)
    if (std::isfinite(v)) mean += v, ++finite;
  mean /= finite;
  for (const double v : sorted)
    if (std::isfinite(v)) m2 += (v - mean) * (v - mean), m3 += (v - mean) * (v - mean) * (v - mean);
  m2 /= finite;
  m3 /= finite;
  const double sd = std::sqrt(m2), skew = m2 > 0 ? m3 / std::pow(m2, 1.5) : 0.0;
  for (Index j = 0; j < V; ++j) {
    const double T = tail_T(r.stat(j));
    if (std::isnan(T)) {
      r.p_fwe(j) = r.p_fwe_gamma(j) = kNaN;
      continue;
    }
    const double thr = T - kTieTol * std::fabs(T);
    const auto ge = sorted.end() - std::lower_bound(sorted.begin(), sorted.end(), thr);
    r.p_fwe(j) = static_cast<double>(ge) / Nd;
    r.p_fwe_gamma(j) = pearson3_upper(T, mean, sd, skew);
  }
  return out;
}

}  // namespace

StoreGlmResult freedman_lane(const VoxelStore& store, const Matrix& X, const Matrix& C, const PermutationOptions& o,
                             Index block_voxels, std::int64_t memory) {
  const Index n = store.subjects();
  // Frames of one series are not exchangeable units: their autocorrelation breaks the
  // permutation test and the GLM's df, and a voxelwise GLM across frames is a
  // first-level model this store is not meant for.
  if (store.rows() == StoreRows::Frames)
    throw ValueError(fmt::format("store: '{}' holds the {} frames of one series, not one map per subject; the GLM "
                                 "runs on a store of subjects' maps (nl.store.build), and a series' frames are read "
                                 "by nl.fc.seed_map",
                                 store.path(), n));
  if (X.rows() != n)
    throw ValueError(fmt::format("design has {} rows but the store has {} subjects", X.rows(), n));
  const Index block = block_width(store, block_voxels);
  if (o.clusters || o.tfce) return whole_maps(store, X, C, o, block, memory);
  return voxelwise(store, X, C, o, block);
}

}  // namespace nl::stats

// stats/store_glm.cpp: freedman_lane over a voxel store, block by block (see
// store_glm.hpp for why the blocks combine exactly).
#include "nl/stats/store_glm.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <cmath>
#include <limits>

#include "nl/core/mpi.hpp"
#include "nl/stats/distributions.hpp"
#include "nl/stats/variance_groups.hpp"

namespace nl::stats {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// freedman_lane's relative tie tolerance (permutation.hpp: "Statistics within a relative
// 1e-10 of the observed count as ties"); the chunked-equals-whole test fails if the two
// ever differ.
constexpr double kTieTol = 1e-10;

std::string gigabytes(double bytes) { return fmt::format("{:.1f} GB", bytes / 1e9); }

}  // namespace

namespace {

// Under MPI, after each rank has analysed its range of blocks: every voxel's results and
// the maxima over all blocks on every rank (see freedman_lane below).
void share_over_ranks(StoreGlmResult& out, Index nblocks, Index block, Index V) {
  PermutationResult& r = out.perm;
  const auto nb = static_cast<std::size_t>(nblocks), width = static_cast<std::size_t>(block);
  for (Vector* v : {&r.stat, &r.p_unc, &out.stat, &out.p}) {
    std::vector<double> flat(nb * width, kNaN);
    std::copy(v->data(), v->data() + V, flat.begin());
    mpi::share_blocks(nb, width, flat.data());
    std::copy(flat.begin(), flat.begin() + V, v->data());
  }
  // The rearrangement count and the maxima: rank 0 always has a block (when there is
  // one); a rank without any holds NaN maxima, which lose.
  std::string head(sizeof(int) + 1, '\0');
  std::memcpy(head.data(), &r.permutations, sizeof(int));
  head[sizeof(int)] = r.exhaustive ? 1 : 0;
  mpi::broadcast(head, 0);
  std::memcpy(&r.permutations, head.data(), sizeof(int));
  r.exhaustive = head[sizeof(int)] != 0;
  if (r.max_stat.size() != r.permutations) r.max_stat = Vector::Constant(r.permutations, kNaN);
  mpi::max(r.max_stat.data(), static_cast<std::size_t>(r.max_stat.size()));
}

}  // namespace

StoreGlmResult freedman_lane(const VoxelStore& store, const Matrix& X, const Matrix& C, const PermutationOptions& o,
                             Index block_voxels) {
  const Index n = store.subjects(), V = store.voxels();
  if (X.rows() != n)
    throw ValueError(fmt::format("design has {} rows but the store has {} subjects", X.rows(), n));
  if (o.clusters || o.tfce) {
    // The in-memory GLM holds Y (n x V doubles) and, per batch of 32 rearrangements,
    // their maps (32 x V doubles) plus the engine's working copy of Y.
    const double bytes = 2.0 * 8.0 * static_cast<double>(n) * static_cast<double>(V);
    throw ValueError(fmt::format(
        "{} inference needs every rearranged map whole, which a store read by voxel block does not give; read the "
        "data into memory (store:read(), about {} for {} subjects x {} voxels as doubles, twice that while the GLM "
        "runs) and call nl.stats.glm, or use voxelwise FWE (the maximum statistic) on the store",
        o.tfce ? "TFCE" : "cluster", gigabytes(bytes / 2), n, V));
  }
  if (block_voxels < 0) throw ValueError(fmt::format("block_voxels must be >= 0, got {}", block_voxels));
  const Index cv = std::max<Index>(store.chunk_voxels(), 1);
  // Whole chunks per block (so that no chunk is read twice), and a multiple of 4 columns
  // (Eigen's panels: see store_glm.hpp).
  Index block = block_voxels > 0 ? (block_voxels + cv - 1) / cv * cv : cv;
  block = (block + 3) / 4 * 4;
  const Index nblocks = V == 0 ? 0 : (V + block - 1) / block;

  StoreGlmResult out;
  out.n = n;
  out.blocks = nblocks;
  out.block_voxels = block;
  PermutationResult& r = out.perm;
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
  std::vector<std::string> vg_names = o.variance_group_names;

  // Under MPI each rank reads and analyses its own range of blocks, every rearrangement
  // of them here (mpi::LocalScope), and the ranks then share the voxels' results and take
  // the maxima over ranks: each rank reads 1 / size of the store.
  const bool spread = mpi::size() > 1;
  const mpi::Block mine = spread ? mpi::my_block(static_cast<std::size_t>(nblocks))
                                 : mpi::Block{0, static_cast<std::size_t>(nblocks)};
  std::optional<mpi::LocalScope> local;
  if (spread) local.emplace();
  bool first_block = true;
  for (auto bb = static_cast<Index>(mine.begin); bb < static_cast<Index>(mine.end); ++bb) {
    const Index b = bb;
    check_interrupt();
    const Index v0 = b * block, v1 = std::min(V, v0 + block);
    const Matrix Y = store.read_voxels(v0, v1);
    PermutationOptions ob = o;
    if (o.progress) {
      const Progress outer = o.progress;
      ob.progress = [outer, b, nblocks](std::int64_t done, std::int64_t total) {
        outer(b * total + done, nblocks * total);
      };
    }
    const PermutationResult pr = freedman_lane(Y, X, C, ob);
    if (first_block) {
      first_block = false;
      r.permutations = pr.permutations;
      r.exhaustive = pr.exhaustive;
      r.max_stat = pr.max_stat;
    } else {
      for (Index k = 0; k < r.max_stat.size(); ++k) {
        const double m = pr.max_stat(k);
        if (!std::isnan(m) && !(m <= r.max_stat(k))) r.max_stat(k) = m;  // NaN (no statistic yet) loses
      }
    }
    r.stat.segment(v0, v1 - v0) = pr.stat;
    r.p_unc.segment(v0, v1 - v0) = pr.p_unc;
    // The parametric statistic and p, as nl.stats.glm computes them (per column, so a
    // block's are the whole matrix's).
    bool vg = false;
    if (!o.variance_groups.empty()) {
      const VarianceGroupTest t =
          variance_group_test(Y, X, C, o.variance_groups, o.tail, vg_names.empty() ? nullptr : &vg_names);
      if (t.groups > 1) {
        out.stat.segment(v0, v1 - v0) = t.stat;
        out.p.segment(v0, v1 - v0) = t.p;
        vg = true;
      }
    }
    if (!vg) {
      const GlmFit fit = glm_fit(X, Y);
      if (is_t) {
        const TContrast t = t_contrast(fit, C.row(0).transpose(), o.tail);
        out.stat.segment(v0, v1 - v0) = t.t;
        out.p.segment(v0, v1 - v0) = t.p;
      } else {
        const FContrast f = f_contrast(fit, C);
        out.stat.segment(v0, v1 - v0) = f.F;
        out.p.segment(v0, v1 - v0) = f.p;
      }
    }
  }

  local.reset();
  if (spread) share_over_ranks(out, nblocks, block, V);
  // FWE p from the combined maxima, as freedman_lane computes it.
  const Index N = r.max_stat.size();
  std::vector<double> maxima;
  maxima.reserve(static_cast<std::size_t>(N));
  for (Index q = 0; q < N; ++q)
    maxima.push_back(std::isnan(r.max_stat(q)) ? -std::numeric_limits<double>::infinity() : r.max_stat(q));
  std::sort(maxima.begin(), maxima.end());
  const auto Nd = static_cast<double>(N);
  auto tail_T = [&](double raw) {
    if (!is_t) return raw;
    return o.tail == Tail::Two ? std::fabs(raw) : o.tail == Tail::Left ? -raw : raw;
  };
  r.p_fwe.resize(V);
  r.p_fwe_gamma.resize(V);
  double mean = 0, m2 = 0, m3 = 0, finite = 0;
  for (const double v : maxima)
    if (std::isfinite(v)) mean += v, ++finite;
  mean /= finite;
  for (const double v : maxima)
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
    const auto ge = maxima.end() - std::lower_bound(maxima.begin(), maxima.end(), thr);
    r.p_fwe(j) = static_cast<double>(ge) / Nd;
    r.p_fwe_gamma(j) = pearson3_upper(T, mean, sd, skew);
  }
  return out;
}

}  // namespace nl::stats

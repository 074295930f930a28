// stats/store_maps.cpp: cluster and TFCE inference on a voxel store (see store_glm.hpp).
//
// Clusters and TFCE need every rearranged map whole, which a block of voxels does not
// give. So the loops of freedman_lane (permutation.cpp) are turned inside out: the
// batches of 32 rearrangements run in passes, as many batches per pass as `memory` holds;
// a pass reads the store block by block and, for each block, runs every batch of the
// pass over the block's columns with freedman_lane's kernel (Kernel::batch, the same
// code), writing the block's share of each rearranged map (statistic and
// suprathreshold flags) and carrying the batch's running maxima from block to block in
// column order. After the last block each map is whole, and the same cluster and TFCE
// code as freedman_lane's runs on it. Every number is computed by the same operations in
// the same order as in freedman_lane on the whole matrix (the kernel's per-column
// quantities are the same in a block as in the whole matrix: store_glm.hpp), so the
// results are equal bit for bit; the counts are integers and the pooled cluster sizes are
// only counted, so neither depends on how the batches are spread over passes, threads or
// ranks.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>

#include "nl/core/mpi.hpp"
#include "nl/core/warnings.hpp"
#include "permutation_detail.hpp"
#include "store_detail.hpp"

namespace nl::stats::store_detail {

using namespace detail;

namespace {

// The rows' new positions of each rearrangement of a batch, as freedman_lane builds
// them: row c * B + b of G is component c of Q2 for rearrangement b.
Matrix batch_rows(const Kernel& k, Index n, Index B, std::size_t first,
                  const std::function<Shuffle(std::size_t)>& shuffle) {
  const Index K2 = k.Q2.cols();
  Matrix G = Matrix::Zero(B * K2, n);
  for (Index b = 0; b < B; ++b) {
    const Shuffle sh = shuffle(first + static_cast<std::size_t>(b));
    for (Index i = 0; i < n; ++i) {
      const double sign = sh.sign.empty() ? 1.0 : sh.sign[static_cast<std::size_t>(i)];
      const Index to = sh.perm[static_cast<std::size_t>(i)];
      for (Index c = 0; c < K2; ++c) G(c * B + b, to) = sign * k.Q2(i, c);
    }
  }
  return G;
}

std::string bytes_text(double b) {
  return b >= 1e9 ? fmt::format("{:.2f} GB", b / 1e9) : b >= 1e6 ? fmt::format("{:.1f} MB", b / 1e6)
                                                                  : fmt::format("{:.0f} bytes", b);
}

}  // namespace

StoreGlmResult whole_maps(const VoxelStore& store, const Matrix& X, const Matrix& C, const PermutationOptions& o,
                          Index block, std::int64_t memory) {
  const Index n = store.subjects(), V = store.voxels();
  const Index nblocks = V == 0 ? 0 : (V + block - 1) / block;
  if (o.permutations < 1) throw ValueError(fmt::format("permutations must be at least 1, got {}", o.permutations));
  if (o.clusters && o.clusters->tests() != V)
    throw ValueError(fmt::format("cluster grid has {} voxels but the store has {}", o.clusters->tests(), V));
  if (o.tfce && o.tfce->tests() != V)
    throw ValueError(fmt::format("TFCE graph has {} tests but the store has {} voxels", o.tfce->tests(), V));
  const auto rows = block_rows(n, o.blocks);
  check_block_sizes(rows, o.block_mode);
  const auto requested = static_cast<std::uint64_t>(o.permutations);
  const std::uint64_t total = count_rearrangements(n, rows, o.scheme, o.block_mode, requested);
  const bool exhaustive = total > 0;
  const auto N = static_cast<std::size_t>(exhaustive ? total : requested);
  const std::function<Shuffle(std::size_t)> shuffle = [&](std::size_t k) {
    return exhaustive || k == 0 ? exhaustive_shuffle(k, n, rows, o.scheme, o.block_mode)
                                : random_shuffle(o.seed, k, n, rows, o.scheme, o.block_mode);
  };

  // The rearranged maps held per pass: the statistic (doubles) for TFCE and cluster
  // mass, the suprathreshold flags (bytes) for clusters.
  const bool mass = o.clusters && o.cluster_stat == ClusterStat::Mass;
  const bool keep_maps = o.tfce || mass;
  const double per_map = static_cast<double>(V) * ((keep_maps ? 8.0 : 0.0) + (o.clusters ? 1.0 : 0.0));
  const double per_batch = per_map * static_cast<double>(kBatch);
  if (static_cast<double>(memory) < per_batch)
    throw ValueError(fmt::format(
        "memory: {} bytes hold fewer than one batch of {} rearranged maps of {} voxels ({} each, {} per batch); give "
        "memory = {} or more",
        memory, kBatch, V, bytes_text(per_map), bytes_text(per_batch), static_cast<std::int64_t>(std::ceil(per_batch))));
  const auto per_pass = static_cast<std::size_t>(std::max(1.0, std::floor(static_cast<double>(memory) / per_batch)));

  std::unique_ptr<VarianceGroupModel> vg;
  if (!o.variance_groups.empty()) {
    auto model = std::make_unique<VarianceGroupModel>(X, C, o.variance_groups,
                                                      o.variance_group_names.empty() ? nullptr : &o.variance_group_names);
    if (model->groups() > 1) vg = std::move(model);
  }
  const bool is_t = C.rows() == 1;
  auto tail_T = [&](double raw) {
    if (!is_t) return raw;
    return o.tail == Tail::Two ? std::fabs(raw) : o.tail == Tail::Left ? -raw : raw;
  };
  auto tail_of = [&](const Vector& raw) -> Vector {
    if (!is_t) return raw;
    return o.tail == Tail::Two ? Vector(raw.cwiseAbs()) : o.tail == Tail::Left ? Vector(-raw) : raw;
  };
  // For Kernel::maximum, which needs only the kind of statistic.
  Kernel shape;
  shape.is_t = is_t;
  shape.tail = o.tail;

  StoreGlmResult out;
  out.n = n;
  out.blocks = nblocks;
  out.block_voxels = block;
  out.rearrangements_per_pass = static_cast<Index>(per_pass * kBatch);
  PermutationResult& r = out.perm;
  r.permutations = static_cast<int>(N);
  r.exhaustive = exhaustive;
  r.stat = Vector::Constant(V, kNaN);
  r.max_stat = Vector::Constant(static_cast<Index>(N), kNaN);
  out.stat = Vector::Constant(V, kNaN);
  out.p = Vector::Constant(V, kNaN);
  {
    const GlmFit fit = glm_fit(X, Matrix::Zero(n, 1));  // the rank and df only
    out.rank = fit.rank;
    out.df = fit.df;
  }

  // ---- the observed maps: one read of the store, its blocks spread over ranks and threads
  Vector T = Vector::Constant(V, kNaN);
  mpi::distributed_for(static_cast<std::size_t>(nblocks), [&](std::size_t bb) {
    check_interrupt();
    const Index v0 = static_cast<Index>(bb) * block, v1 = std::min(V, v0 + block), w = v1 - v0;
    const Matrix Y = store.read_voxels(v0, v1);
    const Kernel k = make_kernel(Y, X, C, o, rows);
    if (vg) {
      Vector raw;
      vg->statistic(k.E, raw);
      for (Index jj = 0; jj < w; ++jj) {
        if (k.excluded[static_cast<std::size_t>(jj)] || std::isnan(raw(jj))) continue;
        r.stat(v0 + jj) = raw(jj);
        T(v0 + jj) = tail_T(raw(jj));
      }
    } else {
      const Matrix W2 = k.Q2.transpose() * k.E;
      for (Index jj = 0; jj < w; ++jj)
        if (!k.excluded[static_cast<std::size_t>(jj)]) T(v0 + jj) = k.stat(W2.col(jj).data(), 1, jj, &r.stat(v0 + jj));
    }
    std::vector<std::string> names = o.variance_group_names;
    parametric(Y, X, C, o, names.empty() ? nullptr : &names, out.stat.segment(v0, w), out.p.segment(v0, w));
  });
  for (Vector* v : {&r.stat, &T, &out.stat, &out.p}) share_voxels(*v, 0, static_cast<std::size_t>(nblocks), block);
  out.passes = 1;
  Vector thr(V);
  {
    double mx = kNaN;
    for (Index j = 0; j < V; ++j) {
      if (std::isnan(T(j))) {
        r.stat(j) = thr(j) = kNaN;
        continue;
      }
      thr(j) = T(j) - kTieTol * std::fabs(T(j));
      if (!(T(j) <= mx)) mx = T(j);
    }
    r.max_stat(0) = mx;
  }
  const bool tfce_two = is_t && o.tail == Tail::Two;
  TfceOptions topt = o.tfce_options;
  topt.two_sided = tfce_two;
  Vector tfce_thr;
  if (o.tfce) {
    r.tfce = tfce(*o.tfce, tfce_two ? r.stat : T, topt);
    for (Index j = 0; j < V; ++j)
      if (std::isnan(T(j))) r.tfce(j) = kNaN;
    r.max_tfce = Vector::Constant(static_cast<Index>(N), kNaN);
    r.max_tfce(0) = V > 0 ? r.tfce.unaryExpr([](double v) { return std::isnan(v) ? 0.0 : v; }).maxCoeff() : kNaN;
    tfce_thr = r.tfce.unaryExpr([](double v) { return v - kTieTol * std::fabs(v); });
  }
  if (o.clusters) r.max_cluster = Vector::Zero(static_cast<Index>(N));

  // ---- checkpoint (units: batches of rearrangements, as freedman_lane's)
  const std::size_t tasks = N > 1 ? (N - 1 + kBatch - 1) / kBatch : 0;
  std::string print;
  if (!o.checkpoint.path.empty()) {
    Fingerprint f;
    store_identity(f, store);
    run_identity(f, X, C, o, N);
    f.text("whole maps");
    for (std::size_t q = 1; q < std::min<std::size_t>(N, 4); ++q) {
      const Shuffle sh = shuffle(q);
      f.add(sh.perm.data(), sh.perm.size() * sizeof(Index)).add(sh.sign.data(), sh.sign.size());
    }
    f.add(r.stat.data(), static_cast<std::size_t>(r.stat.size()) * sizeof(double));
    f.add(r.tfce.data(), static_cast<std::size_t>(r.tfce.size()) * sizeof(double));
    print = f.hex();
  }
  const Checkpoint ck(o.checkpoint, "store GLM permutation test (whole maps)", print, tasks);
  std::vector<std::int64_t> count(static_cast<std::size_t>(V), 0), tfce_count(o.tfce ? static_cast<std::size_t>(V) : 0, 0);
  std::vector<double> pooled;
  std::size_t first_task = 0;
  if (ck.done() > 0) {
    first_task = ck.done();
    restore_glm(ck, count, tfce_count, pooled, r);
    warn(fmt::format("resuming the store GLM permutation test from the checkpoint {}: {} of {} rearrangements were done",
                     ck.path(), std::min(N, 1 + first_task * kBatch), N));
  }

  // ---- the passes: per_pass batches per rank, each pass one read of the store
  const std::size_t per_round = per_pass * static_cast<std::size_t>(mpi::size());
  std::size_t done = std::min(N, 1 + first_task * kBatch);
  try {
    for (std::size_t t0 = first_task; t0 < tasks; t0 += per_round) {
      const std::size_t t1 = std::min(tasks, t0 + per_round), units = t1 - t0;
      const mpi::Block mine = mpi::my_block(units);
      const std::size_t hold = mine.count();
      const auto Vs = static_cast<std::size_t>(V);
      std::vector<double> maps(keep_maps ? hold * kBatch * Vs : 0, kNaN);
      std::vector<char> supra(o.clusters ? hold * kBatch * Vs : 0, 0);
      std::vector<Kernel::Maxima> mx(hold);
      std::vector<double> top(hold * kBatch, kNaN);
      std::vector<std::int64_t> rcount(Vs, 0), rtfce(tfce_count.size(), 0);
      std::vector<double> rpooled;
      std::mutex mu;
      auto batch_of = [&](std::size_t unit) {
        const std::size_t first = 1 + (t0 + unit) * kBatch;
        return std::pair<std::size_t, Index>(first, static_cast<Index>(std::min(kBatch, N - first)));
      };
      std::size_t mine_rearrangements = 0;
      for (std::size_t u = mine.begin; u < mine.end; ++u) mine_rearrangements += static_cast<std::size_t>(batch_of(u).second);
      for (Index bb = 0; bb < nblocks; ++bb) {
        check_interrupt();
        const Index v0 = bb * block, v1 = std::min(V, v0 + block), w = v1 - v0;
        Matrix Y;
        if (hold > 0) Y = store.read_voxels(v0, v1);
        const Kernel k = hold > 0 ? make_kernel(Y, X, C, o, rows) : Kernel{};
        const Index K2 = k.Q2.cols();
        // Every rank takes part (with its own units); the batches run on threads.
        mpi::distributed_for(units, [&](std::size_t unit) {
          const std::size_t h = unit - mine.begin;
          const auto [first, B] = batch_of(unit);
          double* maps_h = keep_maps ? maps.data() + h * kBatch * Vs : nullptr;
          char* supra_h = o.clusters ? supra.data() + h * kBatch * Vs : nullptr;
          std::vector<std::int64_t> local(static_cast<std::size_t>(w), 0);
          if (vg) {
            Matrix D(n, w);
            Vector raw;
            for (Index b = 0; b < B; ++b) {
              check_interrupt();
              const Shuffle sh = shuffle(first + static_cast<std::size_t>(b));
              for (Index i = 0; i < n; ++i)
                D.row(i) = (sh.sign.empty() ? 1.0 : sh.sign[static_cast<std::size_t>(i)]) *
                           k.E.row(sh.perm[static_cast<std::size_t>(i)]);
              vg->statistic(D, raw);
              double& tb = top[h * kBatch + static_cast<std::size_t>(b)];
              for (Index jj = 0; jj < w; ++jj) {
                const Index j = v0 + jj;
                if (std::isnan(T(j))) continue;
                if (maps_h) maps_h[static_cast<std::size_t>(b * V + j)] = raw(jj);
                const double Tb = tail_T(raw(jj));
                if (std::isnan(Tb)) continue;
                local[static_cast<std::size_t>(jj)] += Tb >= thr(j);
                if (!(Tb <= tb)) tb = Tb;
                if (supra_h) supra_h[static_cast<std::size_t>(b * V + j)] = Tb >= o.cluster_threshold;
              }
            }
          } else {
            const Matrix G = batch_rows(k, n, B, first, shuffle);
            Matrix P(G.rows(), kChunk);
            const std::vector<double> zeros(static_cast<std::size_t>(B), 0.0);
            for (Index j0 = 0; j0 < w; j0 += kChunk) {
              check_interrupt();
              const Index ww = std::min(kChunk, w - j0);
              detail::small_gemm(G.data(), G.rows(), n, k.E.col(j0).data(), n, ww, P.data(), P.rows(), k.simd);
              for (Index jj = 0; jj < ww; ++jj) {
                const Index jl = j0 + jj, j = v0 + jl;
                if (std::isnan(T(j))) continue;
                const double* col = K2 > 0 ? P.col(jj).data() : zeros.data();
                local[static_cast<std::size_t>(jl)] +=
                    k.batch(col, B, jl, thr(j), mx[h], supra_h ? supra_h + v0 : nullptr, o.cluster_threshold, V);
                if (maps_h)
                  for (Index b = 0; b < B; ++b) {
                    double raw = 0;
                    k.stat(col + b, B, jl, &raw);
                    maps_h[static_cast<std::size_t>(b * V + j)] = raw;
                  }
              }
            }
          }
          std::lock_guard<std::mutex> lock(mu);
          for (Index jj = 0; jj < w; ++jj) rcount[static_cast<std::size_t>(v0 + jj)] += local[static_cast<std::size_t>(jj)];
        });
        if (o.progress) {
          const auto part = static_cast<std::int64_t>(mine_rearrangements * static_cast<std::size_t>(bb + 1) /
                                                      static_cast<std::size_t>(nblocks));
          if (mpi::size() > 1) {
            o.progress(part, static_cast<std::int64_t>(mine_rearrangements));
          } else {
            o.progress(static_cast<std::int64_t>(done) + part, static_cast<std::int64_t>(N));
          }
        }
      }
      ++out.passes;
      // Whole maps: the maxima, clusters and TFCE of each rearrangement.
      mpi::distributed_for(units, [&](std::size_t unit) {
        const std::size_t h = unit - mine.begin;
        const auto [first, B] = batch_of(unit);
        const double* maps_h = keep_maps ? maps.data() + h * kBatch * Vs : nullptr;
        const char* supra_h = o.clusters ? supra.data() + h * kBatch * Vs : nullptr;
        for (Index b = 0; b < B; ++b)
          r.max_stat(static_cast<Index>(first) + b) =
              vg ? top[h * kBatch + static_cast<std::size_t>(b)] : shape.maximum(mx[h], b);
        if (o.clusters) {
          std::vector<Index> sizes, stack;
          std::vector<double> masses;
          std::vector<char> seen(Vs, 0);
          for (Index b = 0; b < B; ++b) {
            check_interrupt();
            sizes.clear();
            masses.clear();
            Vector Tb;
            if (mass) Tb = tail_of(Eigen::Map<const Vector>(maps_h + b * V, V));
            o.clusters->sizes(supra_h + b * V, mass ? Tb.data() : nullptr, sizes, masses, seen, stack);
            std::vector<double> score(sizes.begin(), sizes.end());
            if (mass) score = masses;
            double largest = 0;
            for (const double z : score) largest = std::max(largest, z);
            r.max_cluster(static_cast<Index>(first) + b) = largest;
            std::lock_guard<std::mutex> lock(mu);
            rpooled.insert(rpooled.end(), score.begin(), score.end());
          }
        }
        if (o.tfce) {
          std::vector<std::int64_t> over(Vs, 0);
          for (Index b = 0; b < B; ++b) {
            check_interrupt();
            const Vector raw = Eigen::Map<const Vector>(maps_h + b * V, V);
            const Vector score = tfce(*o.tfce, tfce_two ? raw : tail_of(raw), topt);
            double best = 0;
            for (Index j = 0; j < V; ++j) {
              if (std::isnan(T(j))) continue;
              best = std::max(best, score(j));
              over[static_cast<std::size_t>(j)] += score(j) >= tfce_thr(j);
            }
            r.max_tfce(static_cast<Index>(first) + b) = best;
          }
          std::lock_guard<std::mutex> lock(mu);
          for (std::size_t j = 0; j < Vs; ++j) rtfce[j] += over[j];
        }
      });
      // The round's counts, pooled cluster scores and maxima on every rank.
      mpi::sum(rcount.data(), rcount.size());
      mpi::sum(rtfce.data(), rtfce.size());
      if (o.clusters) mpi::concat(rpooled);
      for (std::size_t j = 0; j < count.size(); ++j) count[j] += rcount[j];
      for (std::size_t j = 0; j < tfce_count.size(); ++j) tfce_count[j] += rtfce[j];
      pooled.insert(pooled.end(), rpooled.begin(), rpooled.end());
      if (mpi::size() > 1) {
        auto share = [&](Vector& v) {
          if (v.size() != static_cast<Index>(N)) return;
          const std::size_t lo = 1 + t0 * kBatch, hi = std::min(N, 1 + t1 * kBatch);
          std::vector<double> flat(units * kBatch, kNaN);
          std::copy(v.data() + lo, v.data() + hi, flat.begin());
          mpi::share_blocks(units, kBatch, flat.data());
          std::copy(flat.begin(), flat.begin() + static_cast<std::ptrdiff_t>(hi - lo), v.data() + lo);
        };
        share(r.max_stat);
        if (o.clusters) share(r.max_cluster);
        if (o.tfce) share(r.max_tfce);
      }
      done = std::min(N, 1 + t1 * kBatch);
      if (ck.due()) ck.save(t1, glm_state(count, tfce_count, pooled, r, done));
    }
  } catch (const Interrupted&) {
    throw InterruptedAfter(fmt::format(
        "interrupted after {} of {} permutations of the store GLM (its p-values need them all){}", done, N,
        ck.active() ? fmt::format("; the checkpoint {} keeps the rounds saved so far: run again to resume", ck.path())
                    : ""));
  }
  ck.remove();
  finish_p_values(o, N, T, thr, count, tfce_count, tfce_thr, pooled, r);
  return out;
}

}  // namespace nl::stats::store_detail

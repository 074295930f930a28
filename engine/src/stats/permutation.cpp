// stats/permutation.cpp: Freedman-Lane permutation inference (see permutation.hpp for
// the method and the algebra that makes it fast).
#include "nl/stats/permutation.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <mutex>

#include "nl/core/mpi.hpp"
#include "nl/core/warnings.hpp"
#include "nl/io/checkpoint.hpp"
#include "nl/io/serial.hpp"
#include "nl/stats/multiple.hpp"
#include "kernels.hpp"

#include "permutation_detail.hpp"

namespace nl::stats {

namespace detail {

// ---------------------------------------------------------------- blocks

// Rows per block, blocks numbered in order of first appearance.
std::vector<std::vector<Index>> block_rows(Index n, const std::vector<int>& blocks) {
  if (blocks.empty()) {
    std::vector<Index> all(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) all[static_cast<std::size_t>(i)] = i;
    return {all};
  }
  if (static_cast<Index>(blocks.size()) != n)
    throw ValueError(fmt::format("blocks has {} entries but the data have {} rows", blocks.size(), n));
  std::map<int, std::size_t> index;
  std::vector<std::vector<Index>> out;
  for (Index i = 0; i < n; ++i) {
    const auto [it, fresh] = index.emplace(blocks[static_cast<std::size_t>(i)], out.size());
    if (fresh) out.emplace_back();
    out[it->second].push_back(i);
  }
  return out;
}

bool permutes(Exchange s) { return s != Exchange::SignFlip; }
bool flips(Exchange s) { return s != Exchange::Permute; }

bool within(BlockMode m) { return m != BlockMode::Whole; }
bool whole(BlockMode m) { return m != BlockMode::Within; }

// Whole-block modes need blocks of one size (row k of a block goes to row k of another).
void check_block_sizes(const std::vector<std::vector<Index>>& rows, BlockMode mode) {
  if (!whole(mode)) return;
  for (std::size_t b = 1; b < rows.size(); ++b)
    if (rows[b].size() != rows[0].size())
      throw ValueError(fmt::format("whole-block exchangeability needs blocks of one size; block {} has {} rows, block {} "
                                   "has {} (blocks numbered in order of first appearance)",
                                   1, rows[0].size(), b + 1, rows[b].size()));
}

// The number of distinct rearrangements, or 0 when it exceeds `cap`.
std::uint64_t count_rearrangements(Index n, const std::vector<std::vector<Index>>& rows, Exchange scheme,
                                   BlockMode mode, std::uint64_t cap) {
  std::uint64_t total = 1;
  auto times = [&](std::uint64_t f) {
    if (total > cap / f) return false;
    total *= f;
    return true;
  };
  if (permutes(scheme)) {
    if (within(mode))
      for (const auto& b : rows)
        for (std::uint64_t k = 2; k <= b.size(); ++k)
          if (!times(k)) return 0;
    if (whole(mode))
      for (std::uint64_t k = 2; k <= rows.size(); ++k)
        if (!times(k)) return 0;
  }
  if (flips(scheme)) {
    const auto signs = mode == BlockMode::Whole ? static_cast<Index>(rows.size()) : n;
    for (Index i = 0; i < signs; ++i)
      if (!times(2)) return 0;
  }
  return total;
}

std::uint64_t factorial(std::size_t k) {
  std::uint64_t f = 1;
  for (std::size_t i = 2; i <= k; ++i) f *= i;
  return f;
}

// Rearrangement number `k` of the exhaustive list: the sign part is the low bits (one
// per row, or one per block for Whole); the permutation within blocks is a mixed-radix
// number over the blocks (radix: block size!), each digit decoded as a Lehmer code; the
// whole-block permutation is the last digit (radix: blocks!). k = 0 is the identity.
Shuffle exhaustive_shuffle(std::uint64_t k, Index n, const std::vector<std::vector<Index>>& rows, Exchange scheme,
                           BlockMode mode) {
  Shuffle s;
  s.perm.resize(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) s.perm[static_cast<std::size_t>(i)] = i;
  if (flips(scheme)) {
    s.sign.resize(static_cast<std::size_t>(n));
    if (mode == BlockMode::Whole) {
      for (std::size_t b = 0; b < rows.size(); ++b)
        for (const Index i : rows[b]) s.sign[static_cast<std::size_t>(i)] = (k >> b) & 1u ? -1 : 1;
      k >>= rows.size();
    } else {
      for (Index i = 0; i < n; ++i) s.sign[static_cast<std::size_t>(i)] = (k >> i) & 1u ? -1 : 1;
      k >>= n;  // n < 64 here: 2^n was counted without overflow
    }
  }
  auto lehmer = [](std::uint64_t q, std::size_t size) {
    std::vector<std::size_t> avail(size), out(size);
    for (std::size_t i = 0; i < size; ++i) avail[i] = i;
    for (std::size_t i = 0; i < size; ++i) {
      const std::uint64_t f = factorial(size - 1 - i);
      const auto d = static_cast<std::size_t>(q / f);
      q %= f;
      out[i] = avail[d];
      avail.erase(avail.begin() + static_cast<std::ptrdiff_t>(d));
    }
    return out;
  };
  if (permutes(scheme)) {
    if (within(mode))
      for (const auto& b : rows) {
        const std::uint64_t radix = factorial(b.size());
        const auto order = lehmer(k % radix, b.size());
        k /= radix;
        for (std::size_t i = 0; i < b.size(); ++i) s.perm[static_cast<std::size_t>(b[i])] = b[order[i]];
      }
    if (whole(mode)) {
      const auto order = lehmer(k % factorial(rows.size()), rows.size());
      // Row i of block b takes what row i of block order[b] had (after the within part).
      const std::vector<Index> inner = s.perm;
      for (std::size_t b = 0; b < rows.size(); ++b)
        for (std::size_t i = 0; i < rows[b].size(); ++i)
          s.perm[static_cast<std::size_t>(rows[b][i])] = inner[static_cast<std::size_t>(rows[order[b]][i])];
    }
  }
  return s;
}

Shuffle random_shuffle(std::uint64_t seed, std::uint64_t k, Index n, const std::vector<std::vector<Index>>& rows,
                       Exchange scheme, BlockMode mode) {
  Rng rng(seed, k);
  Shuffle s;
  s.perm.resize(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) s.perm[static_cast<std::size_t>(i)] = i;
  if (permutes(scheme)) {
    if (within(mode))
      for (const auto& b : rows) {
        std::vector<Index> v = b;
        rng.shuffle(v);
        for (std::size_t i = 0; i < b.size(); ++i) s.perm[static_cast<std::size_t>(b[i])] = v[i];
      }
    if (whole(mode)) {
      std::vector<std::size_t> order(rows.size());
      for (std::size_t b = 0; b < rows.size(); ++b) order[b] = b;
      rng.shuffle(order);
      const std::vector<Index> inner = s.perm;
      for (std::size_t b = 0; b < rows.size(); ++b)
        for (std::size_t i = 0; i < rows[b].size(); ++i)
          s.perm[static_cast<std::size_t>(rows[b][i])] = inner[static_cast<std::size_t>(rows[order[b]][i])];
    }
  }
  if (flips(scheme)) {
    s.sign.resize(static_cast<std::size_t>(n));
    if (mode == BlockMode::Whole) {
      for (const auto& b : rows) {
        const signed char sign = (rng.next() >> 63) ? -1 : 1;
        for (const Index i : b) s.sign[static_cast<std::size_t>(i)] = sign;
      }
    } else {
      for (Index i = 0; i < n; ++i) s.sign[static_cast<std::size_t>(i)] = (rng.next() >> 63) ? -1 : 1;
    }
  }
  return s;
}

// Checks a caller's rearrangement against the scheme and blocks.
void check_shuffle(const Shuffle& s, std::size_t k, Index n, const std::vector<int>& block_of, Exchange scheme,
                   BlockMode mode) {
  if (static_cast<Index>(s.perm.size()) != n)
    throw ValueError(fmt::format("rearrangement {} has {} rows, expected {}", k + 1, s.perm.size(), n));
  std::vector<char> used(static_cast<std::size_t>(n), 0);
  for (Index i = 0; i < n; ++i) {
    const Index j = s.perm[static_cast<std::size_t>(i)];
    if (j < 0 || j >= n || used[static_cast<std::size_t>(j)])
      throw ValueError(fmt::format("rearrangement {} is not a permutation of the rows", k + 1));
    used[static_cast<std::size_t>(j)] = 1;
    if (j != i && !permutes(scheme))
      throw ValueError(fmt::format("rearrangement {} permutes rows but the scheme is sign flipping", k + 1));
    if (mode == BlockMode::Within && block_of[static_cast<std::size_t>(i)] != block_of[static_cast<std::size_t>(j)])
      throw ValueError(fmt::format("rearrangement {} moves row {} out of its block", k + 1, i + 1));
  }
  if (!s.sign.empty()) {
    if (static_cast<Index>(s.sign.size()) != n)
      throw ValueError(fmt::format("rearrangement {} has {} signs, expected {}", k + 1, s.sign.size(), n));
    for (const auto v : s.sign) {
      if (v != 1 && v != -1) throw ValueError(fmt::format("rearrangement {}: signs must be +1 or -1", k + 1));
      if (v == -1 && !flips(scheme))
        throw ValueError(fmt::format("rearrangement {} flips signs but the scheme is permutation", k + 1));
    }
  }
  if (k == 0) {
    bool identity = true;
    for (Index i = 0; i < n; ++i) identity = identity && s.perm[static_cast<std::size_t>(i)] == i;
    for (const auto v : s.sign) identity = identity && v == 1;
    if (!identity) throw ValueError("the first rearrangement must be the identity");
  }
}


Kernel make_kernel(const Matrix& Y, const Matrix& X, const Matrix& C, const PermutationOptions& o,
                   const std::vector<std::vector<Index>>& rows) {
  const GlmFit fit = glm_fit(X, Y);
  check_contrast(fit, C);
  const Index n = X.rows(), p = X.cols(), s = C.rows(), r = fit.rank;
  Kernel k;
  k.s = s;
  k.df = fit.df;
  k.is_t = s == 1;
  k.tail = o.tail;
  k.excluded = fit.exact;
  k.simd = detail::use_simd();

  // Null model: Z = X N, N a basis of null(C); its rank is rank(X) - s.
  Eigen::JacobiSVD<Matrix> csvd(C, Eigen::ComputeFullV);
  const Matrix N = csvd.matrixV().rightCols(p - s);
  k.E = Y;
  if (r - s > 0) {
    Eigen::BDCSVD<Matrix> zsvd(X * N, Eigen::ComputeThinU);
    const Matrix Qz = zsvd.matrixU().leftCols(r - s);
    k.E.noalias() -= Qz * (Qz.transpose() * Y);
  }

  // Orthonormal basis of col(X), split into directions fixed by every permutation
  // (block-constant; only when rows are not sign-flipped) and the rest.
  Eigen::BDCSVD<Matrix> xsvd(X, Eigen::ComputeThinU);
  const Matrix Q = xsvd.matrixU().leftCols(r);
  Matrix Q1(n, 0);
  k.Q2 = Q;
  if (o.scheme == Exchange::Permute) {
    // Whole-block permutations move block-constant directions between blocks: then
    // only the constant is fixed.
    const std::vector<std::vector<Index>> one = block_rows(n, {});
    const auto& fixed = o.block_mode == BlockMode::Within ? rows : one;
    Matrix B = Matrix::Zero(n, static_cast<Index>(fixed.size()));
    for (std::size_t b = 0; b < fixed.size(); ++b)
      for (const Index i : fixed[b]) B(i, static_cast<Index>(b)) = 1.0 / std::sqrt(static_cast<double>(fixed[b].size()));
    Eigen::JacobiSVD<Matrix> ssvd(Q.transpose() * B, Eigen::ComputeFullU | Eigen::ComputeFullV);
    const Vector& sv = ssvd.singularValues();
    Index k1 = 0;
    while (k1 < sv.size() && sv(k1) > 1.0 - 1e-12) ++k1;
    Q1 = B * ssvd.matrixV().leftCols(k1);
    k.Q2 = Q * ssvd.matrixU().rightCols(r - k1);
  }

  // Contrast: A~ = X^+' C' L^{-T} with C D C' = L L', so |A~' P E_j|^2 is the F
  // numerator times s (and A~' P E_j the t numerator for one row).
  const Matrix W = C * fit.cov_unscaled * C.transpose();
  Eigen::LLT<Matrix> llt(W);
  const Matrix At = llt.matrixL().solve(C * fit.pinv).transpose();  // n x s
  const Matrix A1 = Q1.transpose() * At;
  const Matrix A2 = k.Q2.transpose() * At;
  // Rotate Q2 so that A2 = [R; 0]: then only the first min(K2, s) rows of W2 enter
  // the numerator.
  const Index K2 = k.Q2.cols();
  const Index kk = std::min(K2, s);
  if (K2 > 0) {
    Eigen::HouseholderQR<Matrix> qr(A2);
    const Matrix H = qr.householderQ();
    k.Q2 = k.Q2 * H;
    k.R = qr.matrixQR().topRows(kk);
    for (Index i = 0; i < kk; ++i)
      for (Index j = 0; j < std::min(i, s); ++j) k.R(i, j) = 0.0;
  } else {
    k.R.resize(0, s);
  }
  const Matrix F1 = Q1.transpose() * k.E;  // k1 x m
  k.c1 = A1.transpose() * F1;
  k.ee = (k.E.colwise().squaredNorm() - F1.colwise().squaredNorm()).transpose();
  return k;
}

// The observed clusters and their p-values (see permutation.hpp). `pooled` holds the
// cluster sizes of rearrangements 1..N-1; the observed map's clusters are added here.
void observed_clusters(const Vector& T, const PermutationOptions& o, std::vector<double>& pooled,
                       PermutationResult& out) {
  ClusterMap map = find_clusters(*o.clusters, T, o.cluster_threshold);
  out.cluster_label = std::move(map.label);
  out.cluster_size = std::move(map.size);
  out.cluster_peak = std::move(map.peak);
  out.cluster_mass = std::move(map.mass);
  const std::size_t C = out.cluster_size.size();
  const bool mass = o.cluster_stat == ClusterStat::Mass;
  std::vector<double> score(C);
  for (std::size_t c = 0; c < C; ++c) score[c] = mass ? out.cluster_mass[c] : static_cast<double>(out.cluster_size[c]);
  double largest = 0;
  for (const double z : score) largest = std::max(largest, z);
  out.max_cluster(0) = largest;
  // Masses are compared with the tie tolerance of the statistic.
  const double tol = mass ? kTieTol : 0.0;
  pooled.insert(pooled.end(), score.begin(), score.end());
  std::sort(pooled.begin(), pooled.end());
  std::vector<double> maxima(out.max_cluster.data(), out.max_cluster.data() + out.max_cluster.size());
  std::sort(maxima.begin(), maxima.end());
  const auto N = static_cast<double>(maxima.size());
  out.cluster_p_fwe.resize(static_cast<Index>(C));
  out.cluster_p_unc.resize(static_cast<Index>(C));
  for (std::size_t c = 0; c < C; ++c) {
    const double z = score[c] - tol * std::fabs(score[c]);
    const auto fwe = maxima.end() - std::lower_bound(maxima.begin(), maxima.end(), z);
    const auto unc = pooled.end() - std::lower_bound(pooled.begin(), pooled.end(), z);
    out.cluster_p_fwe(static_cast<Index>(c)) = static_cast<double>(fwe) / N;
    out.cluster_p_unc(static_cast<Index>(c)) = static_cast<double>(unc) / static_cast<double>(pooled.size());
  }
  out.cluster_p_fdr = fdr_bh(out.cluster_p_unc);
}

// Runs rearrangements 0..N-1, rearrangement q being shuffle(q) (0: the identity).
// Rearrangements are made where they are used, so memory does not grow with N.
// ---------------------------------------------------------------- checkpoints

// A GLM permutation run's fingerprint: the data, the design, the contrast, the options
// that change the numbers, the first rearrangements (which the seed, the exchangeability
// blocks and the scheme determine), and the observed maps.
std::string glm_fingerprint(const Matrix& Y, const Matrix& X, const Matrix& C, const PermutationOptions& o,
                            std::size_t N, const std::function<Shuffle(std::size_t)>& shuffle,
                            const PermutationResult& out) {
  Fingerprint f;
  for (const Matrix* M : {&Y, &X, &C})
    f.value(M->rows()).value(M->cols()).add(M->data(), static_cast<std::size_t>(M->size()) * sizeof(double));
  f.value(N).value(o.seed).value(static_cast<int>(o.scheme)).value(static_cast<int>(o.block_mode));
  f.value(static_cast<int>(o.tail)).value(o.cluster_threshold).value(static_cast<int>(o.cluster_stat));
  f.value(o.clusters != nullptr).value(o.tfce != nullptr);
  for (const int b : o.blocks) f.value(b);
  for (const int g : o.variance_groups) f.value(g);
  for (std::size_t q = 1; q < std::min<std::size_t>(N, 4); ++q) {
    const Shuffle sh = shuffle(q);
    f.add(sh.perm.data(), sh.perm.size() * sizeof(Index)).add(sh.sign.data(), sh.sign.size());
  }
  f.add(out.stat.data(), static_cast<std::size_t>(out.stat.size()) * sizeof(double));
  f.add(out.tfce.data(), static_cast<std::size_t>(out.tfce.size()) * sizeof(double));
  return f.hex();
}

// The state after rearrangements 0..upto-1: the counts, the pooled cluster scores and
// the per-rearrangement maxima.
std::string glm_state(const std::vector<std::int64_t>& count, const std::vector<std::int64_t>& tfce_count,
                      const std::vector<double>& pooled, const PermutationResult& out, std::size_t upto) {
  Writer w;
  for (const std::vector<std::int64_t>* c : {&count, &tfce_count}) {
    w.u64(c->size());
    for (const std::int64_t v : *c) w.i64(v);
  }
  w.doubles(pooled);
  for (const Vector* v : {&out.max_stat, &out.max_cluster, &out.max_tfce})
    w.doubles(std::vector<double>(v->data(), v->data() + std::min<std::size_t>(upto, static_cast<std::size_t>(v->size()))));
  return w.bytes();
}

void restore_glm(const Checkpoint& ck, std::vector<std::int64_t>& count, std::vector<std::int64_t>& tfce_count,
                 std::vector<double>& pooled, PermutationResult& out) {
  Reader r(ck.state(), ck.path(), 1);
  for (std::vector<std::int64_t>* c : {&count, &tfce_count}) {
    if (r.u64() != c->size()) r.fail("the saved counts do not match the run");
    for (std::int64_t& v : *c) v = r.i64();
  }
  pooled = r.doubles();
  for (Vector* v : {&out.max_stat, &out.max_cluster, &out.max_tfce}) {
    const std::vector<double> saved = r.doubles();
    if (saved.size() > static_cast<std::size_t>(v->size())) r.fail("the saved maxima do not match the run");
    std::copy(saved.begin(), saved.end(), v->data());
  }
  if (!r.done()) r.fail("bytes after the saved state");
}

// The p-values of a finished run (see permutation.hpp): the identity counts once for
// every column with a statistic; FWE from the sorted maxima; the gamma approximation;
// the observed clusters (adding their scores to `pooled`); TFCE.
void finish_p_values(const PermutationOptions& o, std::size_t N, const Vector& T, const Vector& thr,
                     const std::vector<std::int64_t>& count, const std::vector<std::int64_t>& tfce_count,
                     const Vector& tfce_thr, std::vector<double>& pooled, PermutationResult& out) {
  const Index m = T.size();
  out.p_unc.resize(m);
  out.p_fwe.resize(m);
  std::vector<double> maxima;
  for (Index q = 0; q < out.max_stat.size(); ++q)
    maxima.push_back(std::isnan(out.max_stat(q)) ? -std::numeric_limits<double>::infinity() : out.max_stat(q));
  std::sort(maxima.begin(), maxima.end());
  const auto Nd = static_cast<double>(N);
  for (Index j = 0; j < m; ++j) {
    if (std::isnan(T(j))) {
      out.p_unc(j) = out.p_fwe(j) = kNaN;
      continue;
    }
    out.p_unc(j) = static_cast<double>(1 + count[static_cast<std::size_t>(j)]) / Nd;
    const auto ge = maxima.end() - std::lower_bound(maxima.begin(), maxima.end(), thr(j));
    out.p_fwe(j) = static_cast<double>(ge) / Nd;
  }
  {
    // Pearson III by the population moments of the maxima (see permutation.hpp).
    double mean = 0, m2 = 0, m3 = 0, count_finite = 0;
    for (const double v : maxima)
      if (std::isfinite(v)) mean += v, ++count_finite;
    mean /= count_finite;
    for (const double v : maxima)
      if (std::isfinite(v)) m2 += (v - mean) * (v - mean), m3 += (v - mean) * (v - mean) * (v - mean);
    m2 /= count_finite;
    m3 /= count_finite;
    const double sd = std::sqrt(m2), skew = m2 > 0 ? m3 / std::pow(m2, 1.5) : 0.0;
    out.p_fwe_gamma.resize(m);
    for (Index j = 0; j < m; ++j) out.p_fwe_gamma(j) = std::isnan(T(j)) ? kNaN : pearson3_upper(T(j), mean, sd, skew);
  }
  if (o.clusters) observed_clusters(T, o, pooled, out);
  if (o.tfce) {
    std::vector<double> tops(out.max_tfce.data(), out.max_tfce.data() + out.max_tfce.size());
    std::sort(tops.begin(), tops.end());
    out.tfce_p_unc.resize(m);
    out.tfce_p_fwe.resize(m);
    for (Index j = 0; j < m; ++j) {
      if (std::isnan(T(j))) {
        out.tfce_p_unc(j) = out.tfce_p_fwe(j) = kNaN;
        continue;
      }
      out.tfce_p_unc(j) = static_cast<double>(1 + tfce_count[static_cast<std::size_t>(j)]) / Nd;
      const auto ge = tops.end() - std::lower_bound(tops.begin(), tops.end(), tfce_thr(j));
      out.tfce_p_fwe(j) = static_cast<double>(ge) / Nd;
    }
  }
}

}  // namespace detail

using namespace detail;

namespace {

PermutationResult run(const Matrix& Y, const Matrix& X, const Matrix& C, const PermutationOptions& o,
                      const std::vector<std::vector<Index>>& rows, std::size_t N,
                      const std::function<Shuffle(std::size_t)>& shuffle, bool exhaustive) {
  const Kernel k = make_kernel(Y, X, C, o, rows);
  const Index n = X.rows(), m = Y.cols(), K2 = k.Q2.cols();

  PermutationResult out;
  out.permutations = static_cast<int>(N);
  out.exhaustive = exhaustive;
  out.stat.resize(m);
  out.max_stat = Vector::Constant(static_cast<Index>(N), kNaN);

  // Variance groups: v or G computed from the rearranged residuals P E themselves (C B^
  // and the residuals of Y*_P = P E + H_Z Y depend on P E only).
  std::unique_ptr<VarianceGroupModel> vg;
  if (!o.variance_groups.empty()) {
    auto model = std::make_unique<VarianceGroupModel>(X, C, o.variance_groups,
                                                      o.variance_group_names.empty() ? nullptr : &o.variance_group_names);
    if (model->groups() > 1) vg = std::move(model);
  }
  auto tail_T = [&](double raw) {
    if (!k.is_t) return raw;
    return o.tail == Tail::Two ? std::fabs(raw) : o.tail == Tail::Left ? -raw : raw;
  };

  // Observed statistics (the identity), by the same formula as every rearrangement.
  Vector T(m), thr(m);
  if (vg) {
    Vector raw;
    vg->statistic(k.E, raw);
    double mx = kNaN;
    for (Index j = 0; j < m; ++j) {
      if (k.excluded[static_cast<std::size_t>(j)] || std::isnan(raw(j))) {
        out.stat(j) = T(j) = thr(j) = kNaN;
        continue;
      }
      out.stat(j) = raw(j);
      T(j) = tail_T(raw(j));
      thr(j) = T(j) - kTieTol * std::fabs(T(j));
      if (!(T(j) <= mx)) mx = T(j);
    }
    out.max_stat(0) = mx;
  } else {
    const Matrix W2 = k.Q2.transpose() * k.E;
    double mx = kNaN;
    for (Index j = 0; j < m; ++j) {
      if (k.excluded[static_cast<std::size_t>(j)]) {
        out.stat(j) = T(j) = thr(j) = kNaN;
        continue;
      }
      T(j) = k.stat(W2.col(j).data(), 1, j, &out.stat(j));
      thr(j) = T(j) - kTieTol * std::fabs(T(j));
      if (std::isnan(T(j))) continue;
      if (!(T(j) <= mx)) mx = T(j);
    }
    out.max_stat(0) = mx;
  }

  // TFCE of the observed map; a rearranged map is enhanced on the same scale.
  const bool tfce_two = k.is_t && o.tail == Tail::Two;
  // The tested scale T of a raw map: |t|, t or -t; F as it is.
  auto tail_of = [&](const Vector& raw) -> Vector {
    if (!k.is_t) return raw;
    return o.tail == Tail::Two ? Vector(raw.cwiseAbs()) : o.tail == Tail::Left ? Vector(-raw) : raw;
  };
  TfceOptions topt = o.tfce_options;
  topt.two_sided = tfce_two;
  Vector tfce_thr;
  if (o.tfce) {
    if (o.tfce->tests() != m)
      throw ValueError(fmt::format("TFCE graph has {} tests but the data have {} columns", o.tfce->tests(), m));
    out.tfce = tfce(*o.tfce, tfce_two ? out.stat : T, topt);
    for (Index j = 0; j < m; ++j)
      if (std::isnan(T(j))) out.tfce(j) = kNaN;
    out.max_tfce = Vector::Constant(static_cast<Index>(N), kNaN);
    out.max_tfce(0) = m > 0 ? out.tfce.unaryExpr([](double v) { return std::isnan(v) ? 0.0 : v; }).maxCoeff() : kNaN;
    tfce_thr = out.tfce.unaryExpr([](double v) { return v - kTieTol * std::fabs(v); });
  }
  std::vector<std::int64_t> tfce_count(o.tfce ? static_cast<std::size_t>(m) : 0, 0);

  // Rearrangements 1..N-1 in fixed batches: each batch is one product P = G E, where
  // row c * B + b of G is component c of Q2 for rearrangement b, sent to the rows'
  // new positions. Column j of P then holds, for each component, the B rearrangements'
  // values side by side (so the t statistics of a column vectorise over b).
  std::vector<std::int64_t> count(static_cast<std::size_t>(m), 0);
  std::mutex mu;
  // Cluster sizes of every map (order irrelevant: only counts are taken).
  std::vector<double> pooled;
  if (o.clusters) {
    if (o.clusters->tests() != m)
      throw ValueError(fmt::format("cluster grid has {} voxels but the data have {} columns", o.clusters->tests(), m));
    out.max_cluster = Vector::Zero(static_cast<Index>(N));
  }
  const std::size_t tasks = N > 1 ? (N - 1 + kBatch - 1) / kBatch : 0;
  // The tasks (batches of rearrangements) run in rounds (one without a checkpoint), each
  // spread over the ranks and threads; a round's counts are summed into these and then,
  // over the ranks, into the totals; its per-rearrangement maxima are shared.
  std::vector<std::int64_t> rcount(count.size(), 0), rtfce(tfce_count.size(), 0);
  std::vector<double> rpooled;
  const Checkpoint ck(o.checkpoint, "GLM permutation test",
                      o.checkpoint.path.empty() ? "" : glm_fingerprint(Y, X, C, o, N, shuffle, out),
                      tasks);
  std::size_t first_task = 0;
  if (ck.done() > 0) {
    first_task = ck.done();
    restore_glm(ck, count, tfce_count, pooled, out);
    warn(fmt::format("resuming the GLM permutation test from the checkpoint {}: {} of {} rearrangements were done",
                     ck.path(), std::min(N, 1 + first_task * kBatch), N));
  }
  std::atomic<int> done{static_cast<int>(std::min(N, 1 + first_task * kBatch))};
  // Progress: the whole run in one process; this rank's share under MPI.
  const std::int64_t mine = [&] {
    const mpi::Block b = mpi::my_block(tasks);
    return b.count() == 0 ? 0 : static_cast<std::int64_t>(std::min(N, 1 + b.end * kBatch) - (1 + b.begin * kBatch));
  }();
  std::atomic<std::int64_t> here{0};
  auto round_done = [&](std::size_t b0, std::size_t b1) {
    mpi::sum(rcount.data(), rcount.size());
    mpi::sum(rtfce.data(), rtfce.size());
    if (o.clusters) mpi::concat(rpooled);
    for (std::size_t j = 0; j < count.size(); ++j) count[j] += std::exchange(rcount[j], 0);
    for (std::size_t j = 0; j < tfce_count.size(); ++j) tfce_count[j] += std::exchange(rtfce[j], 0);
    pooled.insert(pooled.end(), rpooled.begin(), rpooled.end());
    rpooled.clear();
    if (mpi::size() > 1) {
      // Rearrangements of tasks b0..b1-1 of a per-rearrangement vector, batch by batch.
      auto share = [&](Vector& v) {
        if (v.size() != static_cast<Index>(N)) return;
        const std::size_t lo = 1 + b0 * kBatch, hi = std::min(N, 1 + b1 * kBatch);
        std::vector<double> flat((b1 - b0) * kBatch, kNaN);
        std::copy(v.data() + lo, v.data() + hi, flat.begin());
        mpi::share_blocks(b1 - b0, kBatch, flat.data());
        std::copy(flat.begin(), flat.begin() + static_cast<std::ptrdiff_t>(hi - lo), v.data() + lo);
      };
      share(out.max_stat);
      if (o.clusters) share(out.max_cluster);
      if (o.tfce) share(out.max_tfce);
    }
    if (ck.due()) ck.save(b1, glm_state(count, tfce_count, pooled, out, std::min(N, 1 + b1 * kBatch)));
  };
  try {
    ck.run(first_task, tasks, [&](std::size_t task) {
      const std::size_t first = 1 + task * kBatch;
      const auto B = static_cast<Index>(std::min(kBatch, N - first));
      Matrix G = Matrix::Zero(vg ? 0 : B * K2, n);
      for (Index b = 0; b < (vg ? 0 : B); ++b) {
        const Shuffle sh = shuffle(first + static_cast<std::size_t>(b));
        for (Index i = 0; i < n; ++i) {
          const double sign = sh.sign.empty() ? 1.0 : sh.sign[static_cast<std::size_t>(i)];
          const Index to = sh.perm[static_cast<std::size_t>(i)];
          for (Index c = 0; c < K2; ++c) G(c * B + b, to) = sign * k.Q2(i, c);
        }
      }
      std::vector<std::int64_t> local(static_cast<std::size_t>(m), 0);
      Kernel::Maxima mx;
      std::vector<char> supra(o.clusters ? static_cast<std::size_t>(B * m) : 0, 0);
      const bool mass = o.clusters && o.cluster_stat == ClusterStat::Mass;
      std::vector<double> maps(o.tfce || mass || vg ? static_cast<std::size_t>(B * m) : 0, kNaN);
      Matrix P(G.rows(), kChunk);
      const std::vector<double> zeros(static_cast<std::size_t>(B), 0.0);
      std::vector<double> top(static_cast<std::size_t>(B), kNaN);
      if (vg) {
        Matrix D(n, m);
        Vector raw;
        for (Index b = 0; b < B; ++b) {
          check_interrupt();
          const Shuffle sh = shuffle(first + static_cast<std::size_t>(b));
          for (Index i = 0; i < n; ++i)
            D.row(i) = (sh.sign.empty() ? 1.0 : sh.sign[static_cast<std::size_t>(i)]) *
                       k.E.row(sh.perm[static_cast<std::size_t>(i)]);
          vg->statistic(D, raw);
          for (Index j = 0; j < m; ++j) {
            if (std::isnan(T(j))) continue;
            maps[static_cast<std::size_t>(b * m + j)] = raw(j);
            const double Tb = tail_T(raw(j));
            if (std::isnan(Tb)) continue;
            local[static_cast<std::size_t>(j)] += Tb >= thr(j);
            if (!(Tb <= top[static_cast<std::size_t>(b)])) top[static_cast<std::size_t>(b)] = Tb;
            if (o.clusters) supra[static_cast<std::size_t>(b * m + j)] = Tb >= o.cluster_threshold;
          }
        }
      }
      for (Index j0 = 0; j0 < (vg ? 0 : m); j0 += kChunk) {
        check_interrupt();  // a batch over a whole brain takes a while
        const Index w = std::min(kChunk, m - j0);
        detail::small_gemm(G.data(), G.rows(), n, k.E.col(j0).data(), n, w, P.data(), P.rows(), k.simd);
        for (Index jj = 0; jj < w; ++jj) {
          const Index j = j0 + jj;
          if (std::isnan(T(j))) continue;
          const double* col = K2 > 0 ? P.col(jj).data() : zeros.data();
          local[static_cast<std::size_t>(j)] +=
              k.batch(col, B, j, thr(j), mx, o.clusters ? supra.data() : nullptr, o.cluster_threshold, m);
          // The raw statistic (t or F): TFCE two-sided takes it signed; T is its tail.
          if (o.tfce || mass)
            for (Index b = 0; b < B; ++b) {
              double raw = 0;
              k.stat(col + b, B, j, &raw);
              maps[static_cast<std::size_t>(b * m + j)] = raw;
            }
        }
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        for (Index j = 0; j < m; ++j) rcount[static_cast<std::size_t>(j)] += local[static_cast<std::size_t>(j)];
      }
      for (Index b = 0; b < B; ++b)
        out.max_stat(static_cast<Index>(first) + b) = vg ? top[static_cast<std::size_t>(b)] : k.maximum(mx, b);
      if (o.clusters) {
        std::vector<Index> sizes, stack;
        std::vector<double> masses;
        std::vector<char> seen(static_cast<std::size_t>(m), 0);
        for (Index b = 0; b < B; ++b) {
          sizes.clear();
          masses.clear();
          Vector Tb;
          if (mass) Tb = tail_of(Eigen::Map<const Vector>(maps.data() + b * m, m));
          o.clusters->sizes(supra.data() + b * m, mass ? Tb.data() : nullptr, sizes, masses, seen, stack);
          std::vector<double> score(sizes.begin(), sizes.end());
          if (mass) score = masses;
          double largest = 0;
          for (const double z : score) largest = std::max(largest, z);
          out.max_cluster(static_cast<Index>(first) + b) = largest;
          std::lock_guard<std::mutex> lock(mu);
          rpooled.insert(rpooled.end(), score.begin(), score.end());
        }
      }
      if (o.tfce) {
        std::vector<std::int64_t> over(static_cast<std::size_t>(m), 0);
        for (Index b = 0; b < B; ++b) {
          check_interrupt();
          const Vector raw = Eigen::Map<const Vector>(maps.data() + b * m, m);
          const Vector score = tfce(*o.tfce, tfce_two ? raw : tail_of(raw), topt);
          double top = 0;
          for (Index j = 0; j < m; ++j) {
            if (std::isnan(T(j))) continue;
            top = std::max(top, score(j));
            over[static_cast<std::size_t>(j)] += score(j) >= tfce_thr(j);
          }
          out.max_tfce(static_cast<Index>(first) + b) = top;
        }
        std::lock_guard<std::mutex> lock(mu);
        for (Index j = 0; j < m; ++j) rtfce[static_cast<std::size_t>(j)] += over[static_cast<std::size_t>(j)];
      }
      const int now = done.fetch_add(static_cast<int>(B)) + static_cast<int>(B);
      const std::int64_t mine_now = here.fetch_add(B) + B;
      if (o.progress) o.progress(mpi::size() > 1 ? mine_now : now, mpi::size() > 1 ? mine : static_cast<std::int64_t>(N));
    }, round_done);
  } catch (const Interrupted&) {
    // The maximum statistics and counts of the finished rearrangements are not a p-value
    // of their own (every column's count would need the same rearrangements): say how far
    // the run got.
    throw InterruptedAfter(fmt::format("interrupted after {} of {} permutations (a GLM's p-values need them all){}",
                                       done.load(), N,
                                       ck.active() ? fmt::format("; the checkpoint {} keeps the rounds saved so far: run "
                                                                 "again to resume", ck.path())
                                                   : ""));
  }
  ck.remove();

  finish_p_values(o, N, T, thr, count, tfce_count, tfce_thr, pooled, out);
  return out;
}

}  // namespace

// ---------------------------------------------------------------- public

std::vector<Shuffle> make_shuffles(Index n, const PermutationOptions& o, bool* exhaustive) {
  if (o.permutations < 1) throw ValueError(fmt::format("permutations must be at least 1, got {}", o.permutations));
  const auto rows = block_rows(n, o.blocks);
  check_block_sizes(rows, o.block_mode);
  const auto requested = static_cast<std::uint64_t>(o.permutations);
  const std::uint64_t total = count_rearrangements(n, rows, o.scheme, o.block_mode, requested);
  std::vector<Shuffle> out(total > 0 ? total : requested);
  for (std::uint64_t k = 0; k < out.size(); ++k)
    out[k] = total > 0 || k == 0 ? exhaustive_shuffle(k, n, rows, o.scheme, o.block_mode)
                                 : random_shuffle(o.seed, k, n, rows, o.scheme, o.block_mode);
  if (exhaustive) *exhaustive = total > 0;
  return out;
}

PermutationResult freedman_lane(const Matrix& Y, const Matrix& X, const Matrix& C, const PermutationOptions& o) {
  if (o.permutations < 1) throw ValueError(fmt::format("permutations must be at least 1, got {}", o.permutations));
  const Index n = X.rows();
  if (n != Y.rows()) throw ValueError(fmt::format("design has {} rows but the data have {}", n, Y.rows()));
  const auto rows = block_rows(n, o.blocks);
  check_block_sizes(rows, o.block_mode);
  const auto requested = static_cast<std::uint64_t>(o.permutations);
  const std::uint64_t total = count_rearrangements(n, rows, o.scheme, o.block_mode, requested);
  const bool exhaustive = total > 0;
  return run(Y, X, C, o, rows, exhaustive ? total : requested,
             [&](std::size_t k) {
               return exhaustive || k == 0 ? exhaustive_shuffle(k, n, rows, o.scheme, o.block_mode)
                                           : random_shuffle(o.seed, k, n, rows, o.scheme, o.block_mode);
             },
             exhaustive);
}

PermutationResult freedman_lane(const Matrix& Y, const Matrix& X, const Matrix& C, const PermutationOptions& o,
                                const std::vector<Shuffle>& shuffles) {
  const Index n = X.rows();
  if (n != Y.rows()) throw ValueError(fmt::format("design has {} rows but the data have {}", n, Y.rows()));
  if (shuffles.empty()) throw ValueError("no rearrangements given");
  const auto rows = block_rows(n, o.blocks);
  std::vector<int> block_of(static_cast<std::size_t>(n), 0);
  for (std::size_t b = 0; b < rows.size(); ++b)
    for (const Index i : rows[b]) block_of[static_cast<std::size_t>(i)] = static_cast<int>(b);
  check_block_sizes(rows, o.block_mode);
  for (std::size_t k = 0; k < shuffles.size(); ++k) check_shuffle(shuffles[k], k, n, block_of, o.scheme, o.block_mode);
  return run(Y, X, C, o, rows, shuffles.size(), [&](std::size_t k) { return shuffles[k]; }, false);
}

}  // namespace nl::stats

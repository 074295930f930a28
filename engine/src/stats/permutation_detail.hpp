// stats/permutation_detail.hpp (engine-internal): the pieces of the Freedman-Lane
// engine (permutation.cpp) that the voxel store's whole-map inference
// (store_maps.cpp) shares with it, so that both compute every statistic, count and
// maximum by the same code and the store's results equal the in-memory ones bit for
// bit: the rearrangements, the kernel (a block of columns' share of the algebra in
// permutation.hpp), the observed clusters, the checkpoint state and the p-values.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "kernels.hpp"
#include "nl/io/checkpoint.hpp"
#include "nl/stats/permutation.hpp"

namespace nl::stats::detail {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Relative tolerance for ties with the observed statistic (see permutation.hpp).
inline constexpr double kTieTol = 1e-10;
// Rearrangements per matrix product, and columns per chunk of the product (so that
// a chunk of E and of the product stay in the core's cache).
inline constexpr std::size_t kBatch = 32;
static_assert(kBatch <= 256, "detail::t2_batch handles at most 256 rearrangements");
inline constexpr Index kChunk = 1024;

// ---------------------------------------------------------------- rearrangements

// Rows per block, blocks numbered in order of first appearance.
std::vector<std::vector<Index>> block_rows(Index n, const std::vector<int>& blocks);
// Whole-block modes need blocks of one size (row k of a block goes to row k of another).
void check_block_sizes(const std::vector<std::vector<Index>>& rows, BlockMode mode);
// The number of distinct rearrangements, or 0 when it exceeds `cap`.
std::uint64_t count_rearrangements(Index n, const std::vector<std::vector<Index>>& rows, Exchange scheme,
                                   BlockMode mode, std::uint64_t cap);
// Rearrangement k of the exhaustive list (0: the identity).
Shuffle exhaustive_shuffle(std::uint64_t k, Index n, const std::vector<std::vector<Index>>& rows, Exchange scheme,
                           BlockMode mode);
// Random rearrangement k: one nl::Rng stream (seed, k).
Shuffle random_shuffle(std::uint64_t seed, std::uint64_t k, Index n, const std::vector<std::vector<Index>>& rows,
                       Exchange scheme, BlockMode mode);

// ---------------------------------------------------------------- the kernel's set-up

// Everything the rearrangements share (see permutation.hpp): with W2 = Q2' P E
// (K2 x m), the statistic of column j is computed from
//     num = c1_j + R' W2[0:kk, j]   (s values; t = num / sqrt(rss / df)),
//     rss = ee_j - |W2[:, j]|^2.
struct Kernel {
  Matrix E;       // n x m, R_Z Y
  Matrix Q2;      // n x K2: the part of col(X) that rearrangements move
  Matrix c1;      // s x m: contrast part carried by the fixed directions
  Matrix R;       // kk x s
  Vector ee;      // m: |E_j|^2 minus the fixed directions' share
  Index s = 1;
  double df = 0;
  bool is_t = true;
  Tail tail = Tail::Two;
  std::vector<bool> excluded;  // m
  bool simd = false;           // the AVX2 paths of stats_kernels

  // The tail-transformed statistic T and the raw statistic (t or F) of column j from
  // the K2 values w[0], w[stride], ...
  double stat(const double* w, Index stride, Index j, double* raw = nullptr) const {
    const Index K2 = Q2.cols();
    double ss = 0;
    for (Index k = 0; k < K2; ++k) ss += w[k * stride] * w[k * stride];
    const double rss = std::max(ee(j) - ss, 0.0);
    const double sigma2 = rss / df;
    const Index kk = R.rows();
    if (is_t) {
      double num = c1(0, j);
      if (kk > 0) num += R(0, 0) * w[0];
      const double t = num / std::sqrt(sigma2);
      if (raw) *raw = t;
      return tail == Tail::Two ? std::fabs(t) : tail == Tail::Right ? t : -t;
    }
    double q = 0;
    for (Index a = 0; a < s; ++a) {
      double num = c1(a, j);
      for (Index l = 0; l < std::min(kk, a + 1); ++l) num += R(l, a) * w[l * stride];
      q += num * num;
    }
    const double F = q / (static_cast<double>(s) * sigma2);
    if (raw) *raw = F;
    return F;
  }

  // The running maximum per rearrangement of a batch. Two-sided t and F are kept as a
  // ratio a / rss (T = sqrt(a / rss) or a / rss), compared by cross-multiplication, so
  // the hot loop needs no division or square root; one-sided t is kept directly.
  struct Maxima {
    double a[kBatch], rss[kBatch], T[kBatch];
    Maxima() {
      for (std::size_t b = 0; b < kBatch; ++b) a[b] = -1, rss[b] = 1, T[b] = -std::numeric_limits<double>::infinity();
    }
  };
  bool ratio() const { return !is_t || tail == Tail::Two; }
  // The maximum of rearrangement b (NaN when no column had a statistic).
  double maximum(const Maxima& mx, Index b) const {
    if (!ratio()) return std::isinf(mx.T[b]) && mx.T[b] < 0 ? kNaN : mx.T[b];
    if (mx.a[b] < 0) return kNaN;
    const double v = mx.a[b] / mx.rss[b];
    return is_t ? std::sqrt(v) : v;
  }

  // Column j for B rearrangements whose components lie B apart in col: returns how
  // many reach thr (the observed statistic less the tie tolerance) and raises the
  // maxima. The loops over b vectorise.
  // With supra, also marks supra[b * m + j] when T_b >= cthr (cluster-forming).
  std::int64_t batch(const double* col, Index B, Index j, double thr, Maxima& mx, char* supra = nullptr,
                     double cthr = 0, Index m = 0) const {
    const Index K2 = Q2.cols();
    const double base = ee(j);
    if (is_t && tail == Tail::Two) {
      const double c = c1(0, j), r = R.rows() > 0 ? R(0, 0) : 0.0;
      return detail::t2_batch(col, B, K2, base, c, r, df, thr * std::fabs(thr), mx.a, mx.rss, supra ? supra + j : nullptr,
                              m, cthr * std::fabs(cthr), simd);
    }
    double ss[kBatch] = {};
    for (Index k = 0; k < K2; ++k)
      for (Index b = 0; b < B; ++b) ss[b] += col[k * B + b] * col[k * B + b];
    std::int64_t count = 0;
    if (is_t) {  // one-sided
      const double c = c1(0, j), r = R.rows() > 0 ? R(0, 0) : 0.0, sign = tail == Tail::Right ? 1.0 : -1.0;
      for (Index b = 0; b < B; ++b) {
        const double rss = std::max(base - ss[b], 0.0);
        const double T = sign * (c + r * col[b]) / std::sqrt(rss / df);
        count += T >= thr;
        mx.T[b] = T > mx.T[b] ? T : mx.T[b];
        if (supra) supra[b * m + j] = T >= cthr;
      }
      return count;
    }
    // F: a = F rss = |num|^2 df / s.
    double a[kBatch] = {};
    const Index kk = R.rows();
    for (Index l = 0; l < s; ++l) {
      const double c = c1(l, j);
      for (Index b = 0; b < B; ++b) {
        double num = c;
        for (Index q = 0; q < std::min(kk, l + 1); ++q) num += R(q, l) * col[q * B + b];
        a[b] += num * num;
      }
    }
    const double scale = df / static_cast<double>(s), bound = thr;
    for (Index b = 0; b < B; ++b) {
      const double rss = std::max(base - ss[b], 0.0), ab = a[b] * scale;
      const bool valid = rss > 0 || ab > 0;  // 0 / 0 is no statistic
      count += valid && ab >= bound * rss;
      const bool up = valid && ab * mx.rss[b] > mx.a[b] * rss;
      mx.a[b] = up ? ab : mx.a[b];
      mx.rss[b] = up ? rss : mx.rss[b];
    }
    if (supra) {
      const double cbound = cthr;
      for (Index b = 0; b < B; ++b) {
        const double rss = std::max(base - ss[b], 0.0), ab = a[b] * scale;
        supra[b * m + j] = (rss > 0 || ab > 0) && ab >= cbound * rss;
      }
    }
    return count;
  }
};

// The kernel of the columns of Y (all of them, or a block: every per-column quantity
// is the same either way).
Kernel make_kernel(const Matrix& Y, const Matrix& X, const Matrix& C, const PermutationOptions& o,
                   const std::vector<std::vector<Index>>& rows);

// The observed clusters and their p-values (see permutation.hpp). `pooled` holds the
// cluster sizes of rearrangements 1..N-1; the observed map's clusters are added here.
void observed_clusters(const Vector& T, const PermutationOptions& o, std::vector<double>& pooled,
                       PermutationResult& out);

// Checkpoint state: the counts, the pooled cluster scores and the maxima of
// rearrangements 0..upto-1; restore_glm reads it back (FileError naming the file when
// it does not fit the run).
std::string glm_state(const std::vector<std::int64_t>& count, const std::vector<std::int64_t>& tfce_count,
                      const std::vector<double>& pooled, const PermutationResult& out, std::size_t upto);
void restore_glm(const Checkpoint& ck, std::vector<std::int64_t>& count, std::vector<std::int64_t>& tfce_count,
                 std::vector<double>& pooled, PermutationResult& out);

// The p-values of a finished run of N rearrangements from the observed T (tested
// scale) and thr (T less the tie tolerance), the counts, the maxima in `out`, the pooled
// cluster scores and the TFCE thresholds: fills p_unc, p_fwe, p_fwe_gamma and the
// cluster and TFCE p-values of `out`.
void finish_p_values(const PermutationOptions& o, std::size_t N, const Vector& T, const Vector& thr,
                     const std::vector<std::int64_t>& count, const std::vector<std::int64_t>& tfce_count,
                     const Vector& tfce_thr, std::vector<double>& pooled, PermutationResult& out);

}  // namespace nl::stats::detail

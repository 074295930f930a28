// stats/kernels.cpp: the permutation kernel's hot loops (see stats/kernels.hpp).
#include "kernels.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define NL_HAVE_AVX2_KERNEL 1
#endif

namespace nl::stats::detail {

using Index = Eigen::Index;

namespace {

// Reference path: Eigen on the build's baseline instruction set.
void gemm_eigen(const double* G, Index K, Index n, const double* E, Index lde, Index w, double* P, Index ldp) {
  using Stride = Eigen::OuterStride<>;
  const Eigen::Map<const Eigen::MatrixXd> g(G, K, n);
  const Eigen::Map<const Eigen::MatrixXd, 0, Stride> e(E, n, w, Stride(lde));
  Eigen::Map<Eigen::MatrixXd, 0, Stride> p(P, K, w, Stride(ldp));
  p.noalias() = g * e;
}

// The statistic loop (see t2_batch in the header), one rearrangement b at a time.
// t2_avx2 below does the same operations four lanes at a time (no FMA: it rounds
// exactly as this does).
// Rearrangements first..B-1.
std::int64_t t2_base(const double* col, Index B, Index K2, double base, double c, double r, double df, double bound,
                     double* ma, double* mr, char* supra, Index stride, double cbound, Index first = 0) {
  std::int64_t count = 0;
  for (Index b = first; b < B; ++b) {
    double ss = 0;
    for (Index k = 0; k < K2; ++k) ss += col[k * B + b] * col[k * B + b];
    const double num = c + (K2 > 0 ? r * col[b] : 0.0), d = base - ss;
    const double rss = d > 0 ? d : 0.0, ab = num * num * df;
    const bool valid = rss > 0 || ab > 0;  // 0 / 0 is no statistic
    count += valid && ab >= bound * rss;
    if (valid && ab * mr[b] > ma[b] * rss) {
      ma[b] = ab;
      mr[b] = rss;
    }
    if (supra) supra[b * stride] = valid && ab >= cbound * rss;
  }
  return count;
}

#ifdef NL_HAVE_AVX2_KERNEL

__attribute__((target("avx2,fma"))) std::int64_t t2_avx2(const double* col, Index B, Index K2, double base, double c,
                                                          double r, double df, double bound, double* ma, double* mr,
                                                          char* supra, Index stride, double cbound) {
  const Index B4 = B / 4 * 4;
  const __m256d zero = _mm256_setzero_pd(), vc = _mm256_set1_pd(c), vr = _mm256_set1_pd(K2 > 0 ? r : 0.0),
                vbase = _mm256_set1_pd(base), vdf = _mm256_set1_pd(df), vbound = _mm256_set1_pd(bound),
                vcbound = _mm256_set1_pd(cbound);
  std::int64_t count = 0;
  for (Index b = 0; b < B4; b += 4) {
    __m256d ss = zero;
    for (Index k = 0; k < K2; ++k) {
      const __m256d w = _mm256_loadu_pd(col + k * B + b);
      ss = _mm256_add_pd(ss, _mm256_mul_pd(w, w));
    }
    const __m256d w0 = K2 > 0 ? _mm256_loadu_pd(col + b) : zero;
    const __m256d num = _mm256_add_pd(vc, _mm256_mul_pd(vr, w0));
    const __m256d rss = _mm256_max_pd(_mm256_sub_pd(vbase, ss), zero);  // NaN -> 0, as d > 0 ? d : 0
    const __m256d ab = _mm256_mul_pd(_mm256_mul_pd(num, num), vdf);
    const __m256d valid = _mm256_or_pd(_mm256_cmp_pd(rss, zero, _CMP_GT_OQ), _mm256_cmp_pd(ab, zero, _CMP_GT_OQ));
    const __m256d hit = _mm256_and_pd(valid, _mm256_cmp_pd(ab, _mm256_mul_pd(vbound, rss), _CMP_GE_OQ));
    count += __builtin_popcount(static_cast<unsigned>(_mm256_movemask_pd(hit)));
    const __m256d oa = _mm256_loadu_pd(ma + b), orss = _mm256_loadu_pd(mr + b);
    const __m256d up =
        _mm256_and_pd(valid, _mm256_cmp_pd(_mm256_mul_pd(ab, orss), _mm256_mul_pd(oa, rss), _CMP_GT_OQ));
    _mm256_storeu_pd(ma + b, _mm256_blendv_pd(oa, ab, up));
    _mm256_storeu_pd(mr + b, _mm256_blendv_pd(orss, rss, up));
    if (supra) {
      const int bits = _mm256_movemask_pd(
          _mm256_and_pd(valid, _mm256_cmp_pd(ab, _mm256_mul_pd(vcbound, rss), _CMP_GE_OQ)));
      for (int q = 0; q < 4; ++q) supra[(b + q) * stride] = static_cast<char>((bits >> q) & 1);
    }
  }
  if (B4 < B) count += t2_base(col, B, K2, base, c, r, df, bound, ma, mr, supra, stride, cbound, B4);
  return count;
}

#endif

#ifdef NL_HAVE_AVX2_KERNEL

// Stores the 8 rows of a tile (only the first `rows` when fewer are left).
__attribute__((target("avx2,fma"))) inline void store_tile(double* out, Index rows, __m256d lo, __m256d hi) {
  if (rows >= 8) {
    _mm256_storeu_pd(out, lo);
    _mm256_storeu_pd(out + 4, hi);
    return;
  }
  alignas(32) double buf[8];
  _mm256_store_pd(buf, lo);
  _mm256_store_pd(buf + 4, hi);
  for (Index r = 0; r < rows; ++r) out[r] = buf[r];
}

// Register-blocked kernel: tiles of 8 rows (two 4-wide vectors) by 6 columns held in 12
// accumulators; G is first packed tile by tile (8 rows x n, zero-padded at the end) so
// the inner loop reads it sequentially. Columns that do not fill a tile of 6 are done
// one at a time with the same packed rows.
__attribute__((target("avx2,fma"))) void gemm_avx2(const double* G, Index K, Index n, const double* E, Index lde,
                                                    Index w, double* P, Index ldp) {
  const Index tiles = (K + 7) / 8;
  std::vector<double> packed(static_cast<std::size_t>(tiles * 8 * n), 0.0);
  for (Index t = 0; t < tiles; ++t)
    for (Index k = 0; k < n; ++k)
      for (Index r = 0; r < 8 && t * 8 + r < K; ++r)
        packed[static_cast<std::size_t>((t * n + k) * 8 + r)] = G[k * K + t * 8 + r];

  Index j = 0;
  for (; j + 6 <= w; j += 6) {
    const double* e0 = E + j * lde;
    const double* e1 = e0 + lde;
    const double* e2 = e1 + lde;
    const double* e3 = e2 + lde;
    const double* e4 = e3 + lde;
    const double* e5 = e4 + lde;
    for (Index t = 0; t < tiles; ++t) {
      const double* g = packed.data() + t * 8 * n;
      __m256d c0l = _mm256_setzero_pd(), c0h = _mm256_setzero_pd(), c1l = _mm256_setzero_pd(),
              c1h = _mm256_setzero_pd(), c2l = _mm256_setzero_pd(), c2h = _mm256_setzero_pd(),
              c3l = _mm256_setzero_pd(), c3h = _mm256_setzero_pd(), c4l = _mm256_setzero_pd(),
              c4h = _mm256_setzero_pd(), c5l = _mm256_setzero_pd(), c5h = _mm256_setzero_pd();
      for (Index k = 0; k < n; ++k, g += 8) {
        const __m256d al = _mm256_loadu_pd(g);
        const __m256d ah = _mm256_loadu_pd(g + 4);
        __m256d b = _mm256_broadcast_sd(e0 + k);
        c0l = _mm256_fmadd_pd(al, b, c0l);
        c0h = _mm256_fmadd_pd(ah, b, c0h);
        b = _mm256_broadcast_sd(e1 + k);
        c1l = _mm256_fmadd_pd(al, b, c1l);
        c1h = _mm256_fmadd_pd(ah, b, c1h);
        b = _mm256_broadcast_sd(e2 + k);
        c2l = _mm256_fmadd_pd(al, b, c2l);
        c2h = _mm256_fmadd_pd(ah, b, c2h);
        b = _mm256_broadcast_sd(e3 + k);
        c3l = _mm256_fmadd_pd(al, b, c3l);
        c3h = _mm256_fmadd_pd(ah, b, c3h);
        b = _mm256_broadcast_sd(e4 + k);
        c4l = _mm256_fmadd_pd(al, b, c4l);
        c4h = _mm256_fmadd_pd(ah, b, c4h);
        b = _mm256_broadcast_sd(e5 + k);
        c5l = _mm256_fmadd_pd(al, b, c5l);
        c5h = _mm256_fmadd_pd(ah, b, c5h);
      }
      store_tile(P + j * ldp + t * 8, K - t * 8, c0l, c0h);
      store_tile(P + (j + 1) * ldp + t * 8, K - t * 8, c1l, c1h);
      store_tile(P + (j + 2) * ldp + t * 8, K - t * 8, c2l, c2h);
      store_tile(P + (j + 3) * ldp + t * 8, K - t * 8, c3l, c3h);
      store_tile(P + (j + 4) * ldp + t * 8, K - t * 8, c4l, c4h);
      store_tile(P + (j + 5) * ldp + t * 8, K - t * 8, c5l, c5h);
    }
  }
  for (; j < w; ++j) {
    const double* e = E + j * lde;
    for (Index t = 0; t < tiles; ++t) {
      const double* g = packed.data() + t * 8 * n;
      __m256d cl = _mm256_setzero_pd(), ch = _mm256_setzero_pd();
      for (Index k = 0; k < n; ++k, g += 8) {
        const __m256d b = _mm256_broadcast_sd(e + k);
        cl = _mm256_fmadd_pd(_mm256_loadu_pd(g), b, cl);
        ch = _mm256_fmadd_pd(_mm256_loadu_pd(g + 4), b, ch);
      }
      store_tile(P + j * ldp + t * 8, K - t * 8, cl, ch);
    }
  }
}

bool cpu_has_avx2_fma() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#endif

}  // namespace

bool use_simd() {
#ifdef NL_HAVE_AVX2_KERNEL
  static const bool cpu = cpu_has_avx2_fma();
  return cpu && std::getenv("NEUROLUA_NO_SIMD") == nullptr;
#else
  return false;
#endif
}

void small_gemm(const double* G, Index K, Index n, const double* E, Index lde, Index w, double* P, Index ldp,
                bool simd) {
  if (K == 0 || w == 0) return;
#ifdef NL_HAVE_AVX2_KERNEL
  if (simd) {
    gemm_avx2(G, K, n, E, lde, w, P, ldp);
    return;
  }
#endif
  gemm_eigen(G, K, n, E, lde, w, P, ldp);
}

std::int64_t t2_batch(const double* col, Index B, Index K2, double base, double c, double r, double df, double bound,
                      double* ma, double* mr, char* supra, Index stride, double cbound, bool simd) {
#ifdef NL_HAVE_AVX2_KERNEL
  if (simd) return t2_avx2(col, B, K2, base, c, r, df, bound, ma, mr, supra, stride, cbound);
#endif
  return t2_base(col, B, K2, base, c, r, df, bound, ma, mr, supra, stride, cbound);
}

}  // namespace nl::stats::detail

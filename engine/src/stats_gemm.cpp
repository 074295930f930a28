// stats_gemm.cpp: the permutation kernel's matrix product (see stats_gemm.hpp).
#include "stats_gemm.hpp"

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

bool small_gemm_simd() {
#ifdef NL_HAVE_AVX2_KERNEL
  static const bool cpu = cpu_has_avx2_fma();
  return cpu && std::getenv("NEUROLUA_NO_SIMD") == nullptr;
#else
  return false;
#endif
}

void small_gemm(const double* G, Index K, Index n, const double* E, Index lde, Index w, double* P, Index ldp) {
  if (K == 0 || w == 0) return;
#ifdef NL_HAVE_AVX2_KERNEL
  if (small_gemm_simd()) {
    gemm_avx2(G, K, n, E, lde, w, P, ldp);
    return;
  }
#endif
  gemm_eigen(G, K, n, E, lde, w, P, ldp);
}

}  // namespace nl::stats::detail

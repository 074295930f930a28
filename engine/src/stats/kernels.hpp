// stats/kernels.hpp (engine-internal): the two hot loops of the permutation kernel
// (stats/permutation.cpp): the matrix product
//     P (K x w) = G (K x n) * E (n x w),   all column-major,
// with small K (a batch of permuted rows, a few hundred at most), n the number of
// observations and w a chunk of columns; and the two-sided t statistics of one column
// for a batch of rearrangements, computed from P.
//
// Why not just Eigen: the build targets baseline x86-64 (SSE2), where Eigen's product
// runs at about half the speed of an AVX2/FMA kernel, and the product is nearly all of
// the time of a permutation test. Compiling Eigen itself for AVX2 in one file would break
// the one-definition rule (its templates would be instantiated twice with different
// instruction sets), so the fast path is a self-contained register-blocked kernel
// selected at run time when the CPU has AVX2 and FMA; otherwise Eigen computes it. The
// statistic loop is one plain C++ function compiled twice (baseline and AVX2), chosen
// the same way. Setting the environment variable NEUROLUA_NO_SIMD (any value) forces
// the baseline paths. Both are deterministic; they may differ from each other in the
// last bits (FMA rounding in the product).
#pragma once

#include <Eigen/Dense>

namespace nl::stats::detail {

// simd: use the AVX2/FMA path (only when use_simd() said so).
void small_gemm(const double* G, Eigen::Index K, Eigen::Index n, const double* E, Eigen::Index lde, Eigen::Index w,
                double* P, Eigen::Index ldp, bool simd);

// True when the CPU has AVX2 and FMA and NEUROLUA_NO_SIMD is not set (read once per
// call: ask once per permutation run, not per column).
bool use_simd();

// Two-sided t for B rearrangements of one column, from the K2 components of each
// (w_kb = col[k * B + b]):
//     rss_b = max(base - sum_k w_kb^2, 0),  num_b = c + r w_0b,  a_b = num_b^2 df,
// so that t_b^2 = a_b / rss_b (0 / 0: no statistic). Counts the b with
// t_b^2 >= bound (a_b >= bound rss_b), raises the running maxima kept as ratios
// (ma[b] / mr[b], compared by cross-multiplication), and with supra sets
// supra[b * stride] = t_b^2 >= cbound. Returns the count.
// B is at most 256.
std::int64_t t2_batch(const double* col, Eigen::Index B, Eigen::Index K2, double base, double c, double r, double df,
                      double bound, double* ma, double* mr, char* supra, Eigen::Index stride, double cbound, bool simd);

}  // namespace nl::stats::detail

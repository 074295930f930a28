// stats_gemm.hpp (engine-internal): the one matrix product of the permutation kernel,
//     P (K x w) = G (K x n) * E (n x w),   all column-major,
// with small K (a batch of permuted rows, a few hundred at most), n the number of
// observations and w a chunk of columns.
//
// Why not just Eigen: the build targets baseline x86-64 (SSE2), where Eigen's product
// runs at about half the speed of an AVX2/FMA kernel, and the product is nearly all of
// the time of a permutation test. Compiling Eigen itself for AVX2 in one file would break
// the one-definition rule (its templates would be instantiated twice with different
// instruction sets), so the fast path is a self-contained register-blocked kernel
// selected at run time when the CPU has AVX2 and FMA; otherwise Eigen computes it.
// Setting the environment variable NEUROLUA_NO_SIMD (any value) forces the Eigen path.
// Both paths are deterministic; they may differ from each other in the last bits
// (FMA rounding).
#pragma once

#include <Eigen/Dense>

namespace nl::stats::detail {

void small_gemm(const double* G, Eigen::Index K, Eigen::Index n, const double* E, Eigen::Index lde, Eigen::Index w,
                double* P, Eigen::Index ldp);

// True when small_gemm uses the AVX2/FMA kernel.
bool small_gemm_simd();

}  // namespace nl::stats::detail

// core/top_eigenpairs.cpp: see top_eigenpairs.hpp.
#include "top_eigenpairs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/simd_quad.hpp"  // NL_HAVE_AVX_KERNELS
#include "nl/core/core.hpp"

namespace nl::detail {

namespace {

namespace kern_base {
#include "sturm_kernels.inc"
}  // namespace kern_base

#if NL_HAVE_AVX_KERNELS
#pragma GCC push_options
#pragma GCC target("avx")
namespace kern_avx {
#include "sturm_kernels.inc"
}  // namespace kern_avx
#pragma GCC pop_options
#endif

namespace kern_base {
using namespace nl::simd::base;
#include "tridiagonal_kernels.inc"
}  // namespace kern_base

#if NL_HAVE_AVX_KERNELS
#pragma GCC push_options
#pragma GCC target("avx")
namespace kern_avx {
using namespace nl::simd::avx;
#include "tridiagonal_kernels.inc"
}  // namespace kern_avx
#pragma GCC pop_options
#endif

void sturm_counts(int n, const double* d, const double* e2, double pivmin, int k, const double* x, int* cnt,
                  double* q) {
#if NL_HAVE_AVX_KERNELS
  if (simd_avx()) return kern_avx::sturm_counts(n, d, e2, pivmin, k, x, cnt, q);
#endif
  kern_base::sturm_counts(n, d, e2, pivmin, k, x, cnt, q);
}

}  // namespace

void householder_tridiagonal(Matrix& A, Vector& d, Vector& e, Vector& tau) {
  const Eigen::Index m = A.rows();
  if (A.cols() != m) throw Error(fmt::format("householder_tridiagonal: a {} x {} matrix is not square", m, A.cols()));
  d.resize(m);
  e.resize(std::max<Eigen::Index>(m - 1, 0));
  tau.resize(std::max<Eigen::Index>(m - 1, 0));
  Vector x(std::max<Eigen::Index>(m, 1));
  const int n = static_cast<int>(m);
#if NL_HAVE_AVX_KERNELS
  if (simd_avx()) return kern_avx::tridiagonalize(n, A.data(), m, d.data(), e.data(), tau.data(), x.data());
#endif
  kern_base::tridiagonalize(n, A.data(), m, d.data(), e.data(), tau.data(), x.data());
}

}  // namespace nl::detail

// LAPACK (Debian's liblapack-dev).
extern "C" {
void dstemr_(const char* jobz, const char* range, const int* n, double* d, double* e, const double* vl,
             const double* vu, const int* il, const int* iu, int* m, double* w, double* z, const int* ldz,
             const int* nzc, int* isuppz, int* tryrac, double* work, const int* lwork, int* iwork, const int* liwork,
             int* info);
void dstein_(const int* n, const double* d, const double* e, const int* m, const double* w, const int* iblock,
             const int* isplit, double* z, const int* ldz, double* work, int* iwork, int* ifail, int* info);
}

namespace nl::detail {

namespace {

using Eigen::Index;

// MRRR (Dhillon, Parlett & Voemel; LAPACK dstemr): eigenpairs m - k + 1..m.
void mrrr(const Vector& d0, const Vector& e0, Index k, Vector& w, Matrix& Z) {
  const Index m = d0.size();
  Vector d = d0, e = Vector::Zero(m);
  if (m > 1) e.head(m - 1) = e0;
  const int n = static_cast<int>(m), il = static_cast<int>(m - k + 1), iu = static_cast<int>(m);
  const double vl = 0, vu = 0;
  int found = 0, tryrac = 1, info = 0, lwork = -1, liwork = -1, iwork_query = 0;
  double work_query = 0;
  w.resize(m);
  Z.resize(m, k);
  std::vector<int> isuppz(static_cast<std::size_t>(2 * k));
  const int ldz = n, nzc = static_cast<int>(k);
  dstemr_("V", "I", &n, d.data(), e.data(), &vl, &vu, &il, &iu, &found, w.data(), Z.data(), &ldz, &nzc,
          isuppz.data(), &tryrac, &work_query, &lwork, &iwork_query, &liwork, &info);
  lwork = static_cast<int>(work_query);
  liwork = iwork_query;
  std::vector<double> work(static_cast<std::size_t>(std::max(lwork, 1)));
  std::vector<int> iwork(static_cast<std::size_t>(std::max(liwork, 1)));
  dstemr_("V", "I", &n, d.data(), e.data(), &vl, &vu, &il, &iu, &found, w.data(), Z.data(), &ldz, &nzc,
          isuppz.data(), &tryrac, work.data(), &lwork, iwork.data(), &liwork, &info);
  if (info != 0 || found != k)
    throw Error(fmt::format("LAPACK dstemr failed (info {}, {} of {} eigenpairs) on a {} x {} tridiagonal matrix",
                            info, found, k, m, m));
  w.conservativeResize(k);
}

// Bisection and inverse iteration (see the header). False where T splits or dstein
// does not converge; w and Z are then unspecified.
bool bisect_and_invert(const Vector& d, const Vector& e, Index k, Vector& w, Matrix& Z) {
  const Index m = d.size();
  const int n = static_cast<int>(m);
  const double ulp = std::numeric_limits<double>::epsilon(), safmin = std::numeric_limits<double>::min();
  // dstebz's splitting test (relative): a split block is left to MRRR.
  std::vector<double> e2(static_cast<std::size_t>(std::max<Index>(m - 1, 1)), 0.0);
  double e2max = 0.0;
  for (Index j = 0; j + 1 < m; ++j) {
    const double t = e(j) * e(j);
    if (std::abs(d(j) * d(j + 1)) * ulp * ulp + safmin > t) return false;
    e2[static_cast<std::size_t>(j)] = t;
    e2max = std::max(e2max, t);
  }
  // Gershgorin bounds, widened as dstebz does.
  double gl = d(0), gu = d(0);
  for (Index j = 0; j < m; ++j) {
    const double r = (j > 0 ? std::abs(e(j - 1)) : 0.0) + (j + 1 < m ? std::abs(e(j)) : 0.0);
    gl = std::min(gl, d(j) - r);
    gu = std::max(gu, d(j) + r);
  }
  const double pivmin = safmin * std::max(1.0, e2max);
  const double tnorm = std::max(std::abs(gl), std::abs(gu));
  if (!std::isfinite(tnorm) || !std::isfinite(pivmin)) return false;  // overflow: left to MRRR
  const double fudge = 2.1;
  gl -= fudge * tnorm * ulp * static_cast<double>(n) + fudge * 2.0 * pivmin;
  gu += fudge * tnorm * ulp * static_cast<double>(n) + fudge * 2.0 * pivmin;
  const double atol = ulp * tnorm, rtol = 2.0 * ulp;
  // Interval t holds eigenvalue number il + t (ascending, 1-based): N(lo) < il + t <= N(hi).
  const int kk = static_cast<int>(k), il = static_cast<int>(m - k + 1);
  std::vector<double> lo(static_cast<std::size_t>(kk), gl), hi(static_cast<std::size_t>(kk), gu);
  std::vector<double> x(static_cast<std::size_t>(kk)), q(static_cast<std::size_t>(kk));
  std::vector<int> cnt(static_cast<std::size_t>(kk));
  std::vector<char> done(static_cast<std::size_t>(kk), 0);
  // dstebz's bound on the number of halvings, from ||T|| down to pivmin.
  const int itmax = static_cast<int>((std::log(tnorm + pivmin) - std::log(pivmin)) / std::log(2.0)) + 2;
  for (int it = 0, left = kk; it < itmax && left > 0; ++it) {
    for (std::size_t t = 0; t < x.size(); ++t) x[t] = 0.5 * (lo[t] + hi[t]);
    sturm_counts(n, d.data(), e2.data(), pivmin, kk, x.data(), cnt.data(), q.data());
    for (std::size_t t = 0; t < x.size(); ++t) {
      if (done[t]) continue;
      if (cnt[t] >= il + static_cast<int>(t)) hi[t] = x[t];
      else lo[t] = x[t];
      if (hi[t] - lo[t] <= std::max({atol, pivmin, rtol * std::max(std::abs(lo[t]), std::abs(hi[t]))})) {
        done[t] = 1;
        --left;
      }
    }
  }
  w.resize(k);
  for (Index t = 0; t < k; ++t) w(t) = 0.5 * (lo[static_cast<std::size_t>(t)] + hi[static_cast<std::size_t>(t)]);
  // Eigenvectors: one unreduced block holding all k eigenvalues.
  std::vector<int> iblock(static_cast<std::size_t>(kk), 1), isplit(1, n), iwork(static_cast<std::size_t>(n)),
      ifail(static_cast<std::size_t>(kk));
  std::vector<double> work(static_cast<std::size_t>(5 * n));
  Z.resize(m, k);
  Vector ee = Vector::Zero(m);
  if (m > 1) ee.head(m - 1) = e;
  const int ldz = n;
  int info = 0;
  dstein_(&n, d.data(), ee.data(), &kk, w.data(), iblock.data(), isplit.data(), Z.data(), &ldz, work.data(),
          iwork.data(), ifail.data(), &info);
  return info == 0;
}

}  // namespace

void tridiagonal_top(const Vector& d, const Vector& e, Index k, Vector& w, Matrix& Z, TridiagonalMethod method) {
  const Index m = d.size();
  if (k < 1 || k > m || e.size() != std::max<Index>(m - 1, 0))
    throw Error(fmt::format("tridiagonal_top: k = {} of a {} x {} tridiagonal with {} off-diagonal entries", k, m, m,
                            e.size()));
  if (!d.allFinite() || !e.allFinite())
    throw Error(fmt::format("a {} x {} tridiagonal matrix with a non-finite entry (an infinite or NaN value in the "
                            "matrix it reduces)", m, m));
  if (method == TridiagonalMethod::Auto && m > 1 && bisect_and_invert(d, e, k, w, Z)) return;
  mrrr(d, e, k, w, Z);
}

void top_eigenpairs(const Matrix& A, Index k, Vector& values, Matrix& vectors, TridiagonalMethod method) {
  const Index m = A.rows();
  if (!A.allFinite())
    throw Error(fmt::format("a {} x {} symmetric matrix with a non-finite entry (an infinite or NaN value)", m, m));
  Matrix P = A;
  Vector d, e, h;
  householder_tridiagonal(P, d, e, h);
  Vector w;
  Matrix Z;
  tridiagonal_top(d, e, k, w, Z, method);
  // Ascending: reverse to largest first, then apply Q = H_0 H_1 ... H_{m-2} (H_i acts on
  // rows i + 1..m - 1) from the last reflection to the first.
  values = w.reverse();
  vectors = Z.rowwise().reverse();
  Vector v(m);
  const int kk = static_cast<int>(k);
  for (Index i = m - 2; i >= 0; --i) {
    if (h(i) == 0.0) continue;  // H_i = I
    const int rows = static_cast<int>(m - 1 - i);
    double* Zi = vectors.data() + (i + 1);
    const double* ess = P.data() + i * m + (i + 2);
#if NL_HAVE_AVX_KERNELS
    if (simd_avx()) {
      kern_avx::apply_reflector(rows, kk, Zi, m, ess, h(i), v.data());
      continue;
    }
#endif
    kern_base::apply_reflector(rows, kk, Zi, m, ess, h(i), v.data());
  }
}

}  // namespace nl::detail

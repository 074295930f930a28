// ml/pca.cpp: classical PCA by the SVD of the centred data (see nl/ml/pca.hpp).
//
// Exact path: the k leading eigenpairs of the Gram matrix Xc Xc' (n < p) or of the
// cross-product Xc'Xc (n >= p): tridiagonalisation, then bisection and inverse iteration
// (LAPACK's dsyevx algorithm) or MRRR (core/top_eigenpairs.hpp).
// Truncated path (large m = min(n, p), few components): the m x m cross-product matrix
// A = Xc Xc' (n < p) or Xc' Xc (n >= p), formed by tiles of its lower triangle on the
// worker threads (half the products of a full multiplication), then its k leading
// eigenpairs by Armadillo's eigs_sym: an implicitly restarted Lanczos method (Lehoucq &
// Sorensen 1996, ARPACK's algorithm, as reimplemented in Spectra) with a Krylov subspace
// of max(2k + 1, 20) vectors, stopped when every residual is below machine epsilon
// times its Ritz value. The full decomposition costs O(m^3); Lanczos costs a few
// hundred products with A, O(m^2) each.
#include "nl/ml/pca.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/arma_view.hpp"
#include "core/top_eigenpairs.hpp"
#include "nl/core/core.hpp"

namespace nl::ml {

namespace {

// Smallest problem, and largest share of components, that the Auto solver sends to the
// truncated path. Measured (whole fits, 2 threads, 50 components decaying as 1 / sqrt(j)
// in noise; exact / truncated): 500 x 1000: 0.125 s / 0.081 s (k = 10), 0.120 s
// (k = 25 = m / 20); 1000 x 2000: 0.89 s / 0.29 s (k = 10), 0.72 s (k = 50); 2000 x
// 1000: 0.99 s / 0.19 s (k = 10), 0.55 s (k = 50). At m / 20 the two break even near
// m = 500. Smaller problems (300 x 600: 31 ms / 14 ms) gain milliseconds, and stay on
// the exact path (a tridiagonal eigensolver: no restarts, no residual test).
constexpr Index kTruncatedMinSize = 500;
constexpr Index kTruncatedMaxShare = 20;

// B B' (kRows, m = rows of B) or B' B (m = columns of B), by 256 x 256 tiles of the
// lower triangle (mirrored), without a transposed copy of B. Each tile is one product
// of row (column) blocks, so the result does not depend on the thread count.
template <bool kRows>
Matrix cross_product(const Matrix& B) {
  constexpr Index kTile = 256;
  const Index m = kRows ? B.rows() : B.cols();
  const Index tiles = (m + kTile - 1) / kTile;
  std::vector<std::pair<Index, Index>> lower;
  for (Index i = 0; i < tiles; ++i)
    for (Index j = 0; j <= i; ++j) lower.emplace_back(i, j);
  Matrix A(m, m);
  parallel_for(lower.size(), [&](std::size_t t) {
    const auto [i, j] = lower[t];
    const Index r0 = i * kTile, c0 = j * kTile;
    const Index r = std::min(kTile, m - r0), c = std::min(kTile, m - c0);
    if (i == j) {
      // A diagonal tile: only its lower triangle, as a symmetric rank-n update (SYRK,
      // half the products of a general one).
      auto D = A.block(r0, c0, r, c);
      D.template triangularView<Eigen::Lower>().setZero();
      if constexpr (kRows)
        D.template selfadjointView<Eigen::Lower>().rankUpdate(B.middleRows(r0, r));
      else
        D.template selfadjointView<Eigen::Lower>().rankUpdate(B.middleCols(r0, r).transpose());
    } else if constexpr (kRows) {
      A.block(r0, c0, r, c).noalias() = B.middleRows(r0, r) * B.middleRows(c0, c).transpose();
    } else {
      A.block(r0, c0, r, c).noalias() = B.middleCols(r0, r).transpose() * B.middleCols(c0, c);
    }
  });
  for (Index j = 1; j < m; ++j) A.col(j).head(j) = A.row(j).head(j).transpose();
  return A;
}

// The k largest eigenpairs of the symmetric positive semi-definite A, largest first.
// Lanczos stops when each residual is below eps * max(eps^(2/3), |theta|): relative for
// the leading eigenvalues, but an absolute 8e-27 for eigenvalues near 0 (k above the
// rank of the data), so whether those converge would depend on the units of the data
// (measured: rank-3 data with k = 10 converged at one scale and not at another). A is
// therefore scaled by a power of two (exact) to a trace in [0.5, 1) first.
void leading_eigenpairs(const Matrix& A, Index k, Vector& values, Matrix& vectors) {
  int e = 0;
  std::frexp(A.trace(), &e);
  // eigs_sym in Armadillo 11 (Debian 12) takes a sparse matrix: A is stored as one with
  // every entry present (16 bytes each); the product with it costs about twice a dense
  // one, still O(m^2), and is not what dominates.
  arma::sp_mat S(arma_view::cview(A));
  S *= std::ldexp(1.0, -e);
  arma::vec lambda;
  arma::mat U;
  arma::eigs_opts opts;
  opts.tol = 0.0;  // machine epsilon
  opts.maxiter = 1000;
  if (!arma::eigs_sym(lambda, U, S, static_cast<arma::uword>(k), "la", opts) || lambda.n_elem != static_cast<arma::uword>(k))
    throw Error(fmt::format("pca: the truncated eigensolver (Lanczos, Armadillo eigs_sym) did not converge for k = {} "
                            "on the {} x {} cross-product matrix",
                            k, A.rows(), A.cols()));
  lambda *= std::ldexp(1.0, e);
  const arma::uvec order = arma::sort_index(lambda, "descend");
  values.resize(k);
  vectors.resize(A.rows(), k);
  for (Index j = 0; j < k; ++j) {
    const arma::uword o = order(static_cast<arma::uword>(j));
    values(j) = lambda(o);
    vectors.col(j) = Eigen::Map<const Vector>(U.colptr(o), A.rows());
  }
}

// The k largest eigenpairs of the symmetric A (m x m), largest first
// (core/top_eigenpairs.hpp: tridiagonalisation, bisection and inverse iteration, or
// MRRR; O(m^2 k) after the O(m^3) reduction). Eigen's full solver spends most of its
// time rotating all m eigenvectors through the QR iterations; this computes only the k
// that are kept (issue 21: 20 % of a nested CV at n = 1,600).
void top_eigenpairs(const Matrix& A, Index k, Vector& values, Matrix& vectors) {
  try {
    detail::top_eigenpairs(A, k, values, vectors);
  } catch (const Error& e) {
    throw Error(fmt::format("pca: {} (the {} x {} cross-product matrix)", e.what(), A.rows(), A.cols()));
  }
}

}  // namespace

void check_finite(const Matrix& X, const char* what) {
  for (Index j = 0; j < X.cols(); ++j)
    for (Index i = 0; i < X.rows(); ++i)
      if (!std::isfinite(X(i, j)))
        throw ValueError(fmt::format("{}: value at row {}, column {} is not finite ({})", what,
                                     i + 1, j + 1, X(i, j)));
}

namespace {
// sign_flip, returning each column's sign (+1 kept, -1 flipped).
Vector flip_signs(Matrix& loadings) {
  Vector signs = Vector::Ones(loadings.cols());
  for (Index j = 0; j < loadings.cols(); ++j) {
    Index imax = 0;
    loadings.col(j).cwiseAbs().maxCoeff(&imax);  // Eigen returns the first maximum
    if (loadings(imax, j) < 0) {
      loadings.col(j) = -loadings.col(j);
      signs(j) = -1.0;
    }
  }
  return signs;
}
}  // namespace

void sign_flip(Matrix& loadings) { flip_signs(loadings); }

namespace {
PcaSolver resolve_solver(PcaSolver solver, Index m, Index k) {
  if (solver != PcaSolver::Auto) return solver;
  return m >= kTruncatedMinSize && k * kTruncatedMaxShare <= m ? PcaSolver::Truncated : PcaSolver::Exact;
}
}  // namespace

PcaFit pca_fit_cross(const Matrix& cross, Vector center, Index n, Index k, PcaSolver solver, double sum_squares) {
  const Index p = cross.rows();
  if (cross.cols() != p || center.size() != p)
    throw Error(fmt::format("pca: a {} x {} cross-product with a centre of {} values", p, cross.cols(), center.size()));
  if (n < p) throw Error(fmt::format("pca: a cross-product fit needs n >= p, got {} rows for {} columns", n, p));
  if (n < 2) throw ValueError(fmt::format("pca: need at least 2 observations, got {}", n));
  const Index kmax = std::min(n - 1, p);
  if (k < 1 || k > kmax)
    throw ValueError(fmt::format(
        "pca: k = {} is out of range; it must be between 1 and min(n - 1, p) = {}", k, kmax));
  PcaFit fit;
  fit.solver = resolve_solver(solver, p, k);
  fit.center = std::move(center);
  const double denom = static_cast<double>(n - 1);
  Vector lambda;
  Matrix V;
  if (fit.solver == PcaSolver::Truncated) {
    leading_eigenpairs(cross, k, lambda, V);
    fit.eigenvalues = lambda.cwiseMax(0.0) / denom;
  } else {
    top_eigenpairs(cross, k, lambda, V);
    fit.eigenvalues = lambda.cwiseMax(0.0).cwiseSqrt().array().square() / denom;
  }
  fit.total_variance = (std::isnan(sum_squares) ? cross.trace() : sum_squares) / denom;
  fit.explained_ratio = fit.eigenvalues / fit.total_variance;
  fit.loadings = V.leftCols(k);
  sign_flip(fit.loadings);
  return fit;
}

PcaFit pca_fit(const Matrix& X, Index k, PcaSolver solver, const Matrix* cross) {
  const Index n = X.rows(), p = X.cols();
  if (n < 2) throw ValueError(fmt::format("pca: need at least 2 observations, got {}", n));
  const Index kmax = std::min(n - 1, p);
  if (k < 1 || k > kmax)
    throw ValueError(fmt::format(
        "pca: k = {} is out of range; it must be between 1 and min(n - 1, p) = {}", k, kmax));
  check_finite(X, "pca");
  if (cross && n >= p && (cross->rows() != p || cross->cols() != p))
    throw Error(fmt::format("pca: the given cross-product is {} x {}, the data have {} columns", cross->rows(),
                            cross->cols(), p));
  if (n < p) cross = nullptr;
  if (cross) {
    Vector center = X.colwise().mean().transpose();
    const Matrix Xc = X.rowwise() - center.transpose();
    PcaFit fit = pca_fit_cross(*cross, std::move(center), n, k, solver, Xc.squaredNorm());
    fit.scores = Xc * fit.loadings;
    return fit;
  }
  solver = resolve_solver(solver, std::min(n, p), k);
  PcaFit fit;
  fit.solver = solver;
  fit.center = X.colwise().mean().transpose();
  const Matrix Xc = X.rowwise() - fit.center.transpose();
  const double denom = static_cast<double>(n - 1);
  Matrix V, U;  // U: the Gram matrix's eigenvectors (wide data), else empty
  Vector s;     // the singular values of Xc
  if (solver == PcaSolver::Truncated) {
    // s_j^2 are the eigenvalues of either cross-product matrix; the Gram matrix's
    // eigenvectors are the left singular vectors, and V = Xc' U / s.
    Vector lambda;
    if (n < p) {
      leading_eigenpairs(cross_product<true>(Xc), k, lambda, U);
      s = lambda.cwiseMax(0.0).cwiseSqrt();
      V.noalias() = Xc.transpose() * U;
      for (Index j = 0; j < k; ++j) V.col(j) /= s(j);
    } else {
      leading_eigenpairs(cross_product<false>(Xc), k, lambda, V);
    }
    fit.total_variance = Xc.squaredNorm() / denom;
    fit.eigenvalues = lambda.cwiseMax(0.0) / denom;
  } else {
    // Wide data (n < p, the usual case here) go through the n x n Gram matrix: its
    // eigenvectors are the left singular vectors, and V = Xc' U / s. This is an order
    // of magnitude faster than a p-wide SVD; only the k leading eigenpairs are computed
    // (top_eigenpairs: Eigen's full solver rotated all n eigenvectors, 43 % of a nested
    // CV at n = 200 x 136); they keep full accuracy (checked against prcomp in the
    // tests).
    if (n < p) {
      Vector lambda;
      top_eigenpairs(cross_product<true>(Xc), k, lambda, U);
      s = lambda.cwiseMax(0.0).cwiseSqrt();
      V.noalias() = Xc.transpose() * U;
      for (Index j = 0; j < k; ++j) V.col(j) /= s(j);
    } else {
      // Tall data (n >= p) go through the p x p cross-product Xc'Xc: its eigenvalues are
      // the squared singular values and its eigenvectors the right singular vectors; only
      // the k leading pairs are computed (top_eigenpairs). It costs n p^2 / 2 (tiled,
      // cross_product) plus 4 p^3 / 3 for the tridiagonalisation, linear in n, where a
      // thin SVD of Xc costs several times that (issue 21). The leading components keep
      // full accuracy (checked against prcomp and the SVD identities in the tests).
      Vector lambda;
      top_eigenpairs(cross_product<false>(Xc), k, lambda, V);
      s = lambda.cwiseMax(0.0).cwiseSqrt();
    }
    fit.total_variance = Xc.squaredNorm() / denom;
    fit.eigenvalues = s.head(k).array().square() / denom;
  }
  fit.explained_ratio = fit.eigenvalues / fit.total_variance;
  fit.loadings = V.leftCols(k);
  const Vector signs = flip_signs(fit.loadings);
  if (U.size() > 0) {
    // Wide data: Xc V = Xc Xc' U S^-1 = U S, without another pass over the n x p rows.
    fit.scores = U.leftCols(k) * (s.head(k).cwiseProduct(signs)).asDiagonal();
  } else {
    fit.scores = Xc * fit.loadings;
  }
  return fit;
}

Matrix pca_transform(const PcaFit& fit, const Matrix& Y) {
  if (Y.cols() != fit.center.size())
    throw ValueError(fmt::format("pca transform: expected {} columns, got {}",
                                 fit.center.size(), Y.cols()));
  check_finite(Y, "pca transform");
  return (Y.rowwise() - fit.center.transpose()) * fit.loadings;
}

}  // namespace nl::ml

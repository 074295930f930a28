// Tests of core/top_eigenpairs (the exact PCA's k leading eigenpairs): against Eigen's
// full symmetric eigensolver (all eigenpairs, QR iterations) and LAPACK's MRRR (dstemr),
// on random, clustered, repeated, rank-deficient and split matrices; orthonormality and
// residuals; the same bits from the AVX and the baseline builds of the bisection.
#include <catch2/catch.hpp>

#include <Eigen/Eigenvalues>
#include <cmath>
#include <limits>
#include <vector>

#include "../../../engine/src/core/top_eigenpairs.hpp"
#include "nl/core/core.hpp"

namespace {

using nl::Matrix;
using nl::Vector;
using nl::detail::TridiagonalMethod;

Matrix orthonormal(int m, std::uint64_t seed) {
  nl::Rng rng(seed);
  Matrix G(m, m);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) G(i, j) = rng.normal();
  return Eigen::HouseholderQR<Matrix>(G).householderQ();
}

// Q diag(spectrum) Q' for a random orthonormal Q.
Matrix with_spectrum(const Vector& spectrum, std::uint64_t seed) {
  const Matrix Q = orthonormal(static_cast<int>(spectrum.size()), seed);
  Matrix A = Q * spectrum.asDiagonal() * Q.transpose();
  return 0.5 * (A + A.transpose());
}

// The k leading eigenpairs of A by top_eigenpairs against Eigen's full solver: the
// eigenvalues, orthonormal vectors, small residuals, and (where the k-th eigenvalue is
// separated from the (k+1)-th) the same invariant subspace.
void check_against_full(const Matrix& A, int k, TridiagonalMethod method) {
  const int m = static_cast<int>(A.rows());
  Vector values;
  Matrix V;
  nl::detail::top_eigenpairs(A, k, values, V, method);
  Eigen::SelfAdjointEigenSolver<Matrix> full(A);
  const double scale = std::max(full.eigenvalues().cwiseAbs().maxCoeff(), 1e-300);
  REQUIRE(values.size() == k);
  REQUIRE(V.rows() == m);
  REQUIRE(V.cols() == k);
  for (int j = 0; j < k; ++j) CHECK(std::abs(values(j) - full.eigenvalues()(m - 1 - j)) < 1e-13 * scale * m);
  for (int j = 1; j < k; ++j) CHECK(values(j) <= values(j - 1));
  CHECK((V.transpose() * V - Matrix::Identity(k, k)).norm() < 1e-12 * m);
  CHECK((A * V - V * values.asDiagonal()).norm() < 1e-12 * scale * m);
  if (k < m && full.eigenvalues()(m - k) - full.eigenvalues()(m - k - 1) > 1e-6 * scale) {
    const Matrix W = full.eigenvectors().rightCols(k);
    CHECK((V * V.transpose() - W * W.transpose()).norm() < 1e-9);
  }
}

}  // namespace

TEST_CASE("top eigenpairs agree with the full symmetric eigensolver", "[eigen][pca]") {
  for (TridiagonalMethod method : {TridiagonalMethod::Auto, TridiagonalMethod::Mrrr}) {
    for (int m : {1, 2, 3, 17, 64, 128, 150}) {
      for (int k : {1, std::min(13, m), m}) {
        INFO("m = " << m << ", k = " << k << (method == TridiagonalMethod::Auto ? " (auto)" : " (MRRR)"));
        // A Gram matrix of centred random data (wide: rank m - 1), as the wide PCA forms.
        nl::Rng rng(static_cast<std::uint64_t>(m * 31 + k));
        Matrix X(m, m + 9);
        for (int i = 0; i < m; ++i)
          for (int j = 0; j < m + 9; ++j) X(i, j) = rng.normal() * (1.0 + (j % 5 == 0 ? 4.0 : 0.0));
        const Matrix Xc = X.rowwise() - X.colwise().mean();
        check_against_full(Xc * Xc.transpose(), k, method);
      }
    }
  }
}

TEST_CASE("top eigenpairs: clusters, repeated values, rank deficiency, negative values", "[eigen][pca]") {
  const int m = 60;
  for (TridiagonalMethod method : {TridiagonalMethod::Auto, TridiagonalMethod::Mrrr}) {
    Vector s(m);
    // A tight cluster of four at the top (10, 10 + 1e-9, 10 + 1e-13, 10 - 1e-11), then decay.
    for (int j = 0; j < m; ++j) s(j) = 5.0 / (j + 1);
    s.head(4) << 10.0, 10.0 + 1e-9, 10.0 + 1e-13, 10.0 - 1e-11;
    for (int k : {2, 4, 6, 13}) check_against_full(with_spectrum(s, 7), k, method);
    // Exactly repeated eigenvalues across the cut (k = 3 inside a triple).
    for (int j = 0; j < m; ++j) s(j) = j < 5 ? 3.0 : 1.0 / (j + 1);
    for (int k : {3, 5, 8}) check_against_full(with_spectrum(s, 8), k, method);
    // Rank 4 with k = 13: nine eigenvalues at (numerical) zero.
    for (int j = 0; j < m; ++j) s(j) = j < 4 ? 100.0 * (j + 1) : 0.0;
    check_against_full(with_spectrum(s, 9), 13, method);
    // Indefinite, in another scale.
    for (int j = 0; j < m; ++j) s(j) = 1e6 * std::sin(0.37 * j + 0.1);
    check_against_full(with_spectrum(s, 10), 13, method);
    for (int j = 0; j < m; ++j) s(j) = 1e-9 * (j + 1);
    check_against_full(with_spectrum(s, 11), 13, method);
  }
  // Diagonal and block-diagonal matrices: the tridiagonal splits, and MRRR takes over.
  Matrix D = Matrix::Zero(8, 8);
  for (int j = 0; j < 8; ++j) D(j, j) = j % 3;
  check_against_full(D, 4, TridiagonalMethod::Auto);
  Matrix B = Matrix::Zero(40, 40);
  B.topLeftCorner(20, 20) = with_spectrum(Vector::LinSpaced(20, 1.0, 20.0), 12);
  B.bottomRightCorner(20, 20) = with_spectrum(Vector::LinSpaced(20, 0.5, 19.5), 13);
  check_against_full(B, 13, TridiagonalMethod::Auto);
}

TEST_CASE("tridiagonal top eigenpairs: bisection agrees with MRRR, and a split goes to MRRR", "[eigen][pca]") {
  nl::Rng rng(21);
  const int m = 50, k = 13;
  Vector d(m), e(m - 1);
  for (int j = 0; j < m; ++j) d(j) = rng.normal();
  for (int j = 0; j < m - 1; ++j) e(j) = rng.normal();
  Vector w1, w2;
  Matrix Z1, Z2;
  nl::detail::tridiagonal_top(d, e, k, w1, Z1, TridiagonalMethod::Auto);
  nl::detail::tridiagonal_top(d, e, k, w2, Z2, TridiagonalMethod::Mrrr);
  CHECK((w1 - w2).cwiseAbs().maxCoeff() < 1e-13 * w2.cwiseAbs().maxCoeff());
  for (int j = 0; j < k; ++j) CHECK(std::abs(Z1.col(j).dot(Z2.col(j))) == Approx(1.0).epsilon(1e-10));
  // With a zero off-diagonal entry the automatic choice is MRRR itself: the same bits.
  e(20) = 0.0;
  nl::detail::tridiagonal_top(d, e, k, w1, Z1, TridiagonalMethod::Auto);
  nl::detail::tridiagonal_top(d, e, k, w2, Z2, TridiagonalMethod::Mrrr);
  CHECK(w1 == w2);
  CHECK(Z1 == Z2);
  CHECK_THROWS_AS(nl::detail::tridiagonal_top(d, e, 0, w1, Z1), nl::Error);
  CHECK_THROWS_AS(nl::detail::tridiagonal_top(d, e, m + 1, w1, Z1), nl::Error);
}

TEST_CASE("top eigenpairs: the AVX and the baseline bisection give the same bits", "[eigen][pca]") {
  const bool avx = nl::simd_avx();
  nl::Rng rng(5);
  Matrix X(128, 136);
  for (int i = 0; i < X.rows(); ++i)
    for (int j = 0; j < X.cols(); ++j) X(i, j) = rng.normal();
  const Matrix A = X * X.transpose();
  Vector v1, v2;
  Matrix V1, V2;
  nl::set_simd_avx(true);
  nl::detail::top_eigenpairs(A, 13, v1, V1);
  nl::set_simd_avx(false);
  nl::detail::top_eigenpairs(A, 13, v2, V2);
  nl::set_simd_avx(avx);
  CHECK(v1 == v2);
  CHECK(V1 == V2);
}

TEST_CASE("top eigenpairs: a non-finite matrix is an error, not a hang", "[eigen][pca]") {
  Matrix A = Matrix::Identity(20, 20);
  A(3, 5) = A(5, 3) = std::numeric_limits<double>::infinity();
  Vector v;
  Matrix V;
  CHECK_THROWS_AS(nl::detail::top_eigenpairs(A, 4, v, V), nl::Error);
  A(3, 5) = A(5, 3) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(nl::detail::top_eigenpairs(A, 4, v, V), nl::Error);
}

TEST_CASE("Householder tridiagonalisation: Q T Q' = A, Eigen's T, the same bits in both builds", "[eigen][pca]") {
  const bool avx = nl::simd_avx();
  // Orders 1-12 cover every remainder of the two-column and four-row blocks; 64 and 137
  // the PCA's sizes; one matrix's first column is zero below the subdiagonal (tau = 0).
  for (int m : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 64, 137}) {
    for (int variant = 0; variant < 2; ++variant) {
      INFO("m = " << m << (variant ? ", a zero column" : ""));
      nl::Rng rng(static_cast<std::uint64_t>(100 + m));
      Matrix X(m + 3, m);
      for (int i = 0; i < X.rows(); ++i)
        for (int j = 0; j < m; ++j) X(i, j) = rng.normal() * (1.0 + j % 3);
      Matrix A = X.transpose() * X;
      if (variant == 1 && m > 2) {
        A.col(0).tail(m - 2).setZero();
        A.row(0).tail(m - 2).setZero();
      }
      Matrix P = A;
      Vector d, e, tau;
      nl::set_simd_avx(true);
      nl::detail::householder_tridiagonal(P, d, e, tau);
      REQUIRE(d.size() == m);
      REQUIRE(e.size() == std::max(m - 1, 0));
      // Q = H_0 ... H_{m-2} from the stored reflectors, and Q T Q' against A.
      Matrix Q = Matrix::Identity(m, m);
      for (int i = m - 2; i >= 0; --i) {
        Vector v(m - 1 - i);
        v(0) = 1.0;
        v.tail(m - 2 - i) = P.col(i).tail(m - 2 - i);
        Q.bottomRows(m - 1 - i) -= tau(i) * v * (v.transpose() * Q.bottomRows(m - 1 - i));
      }
      Matrix T = Matrix::Zero(m, m);
      T.diagonal() = d;
      if (m > 1) {
        T.diagonal(1) = e;
        T.diagonal(-1) = e;
      }
      const double scale = A.norm();
      CHECK((Q.transpose() * Q - Matrix::Identity(m, m)).norm() < 1e-14 * m);
      CHECK((Q * T * Q.transpose() - A).norm() < 1e-14 * m * scale);
      // Eigen's tridiagonalisation (the same algorithm, other rounding).
      Eigen::Tridiagonalization<Matrix> ref(A);
      CHECK((d - ref.diagonal()).norm() < 1e-13 * m * scale);
      if (m > 1) CHECK((e - ref.subDiagonal()).norm() < 1e-13 * m * scale);
      if (variant == 1 && m > 2) CHECK(tau(0) == 0.0);
      // The baseline build: the same bits.
      Matrix P2 = A;
      Vector d2, e2, tau2;
      nl::set_simd_avx(false);
      nl::detail::householder_tridiagonal(P2, d2, e2, tau2);
      nl::set_simd_avx(avx);
      CHECK(d == d2);
      CHECK(e == e2);
      CHECK(tau == tau2);
      CHECK(P.triangularView<Eigen::StrictlyLower>().toDenseMatrix() ==
            P2.triangularView<Eigen::StrictlyLower>().toDenseMatrix());
    }
  }
  Matrix R(3, 4);
  Vector d, e, tau;
  CHECK_THROWS_AS(nl::detail::householder_tridiagonal(R, d, e, tau), nl::Error);
}

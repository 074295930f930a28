// Tests of nl/linalg. Decompositions are checked by the defining identities (the four
// Penrose conditions, A X = B, A A^-1 = I) on random and rank-deficient inputs; the
// Lua tests compare the same functions with NumPy values.
#include <catch2/catch.hpp>

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/core/linalg.hpp"

namespace {
nl::Matrix random_matrix(int r, int c, std::uint64_t seed) {
  nl::Rng rng(seed);
  nl::Matrix m(r, c);
  for (int i = 0; i < r; ++i)
    for (int j = 0; j < c; ++j) m(i, j) = rng.normal();
  return m;
}
}  // namespace

TEST_CASE("pinv satisfies the Penrose conditions", "[linalg]") {
  for (auto [r, c] : {std::pair{7, 4}, std::pair{4, 7}, std::pair{5, 5}}) {
    nl::Matrix A = random_matrix(r, c, 3);
    A.col(1) = A.col(0) * 2.0;  // rank-deficient
    const nl::Matrix X = nl::pinv(A);
    REQUIRE(X.rows() == c);
    CHECK((A * X * A - A).norm() < 1e-10);
    CHECK((X * A * X - X).norm() < 1e-10);
    CHECK(((A * X).transpose() - A * X).norm() < 1e-10);
    CHECK(((X * A).transpose() - X * A).norm() < 1e-10);
  }
  CHECK(nl::pinv(nl::Matrix(0, 3)).rows() == 3);
}

TEST_CASE("solve, inverse and det", "[linalg]") {
  const nl::Matrix A = random_matrix(6, 6, 4), B = random_matrix(6, 2, 5);
  CHECK((A * nl::solve(A, B) - B).norm() < 1e-10);
  CHECK((A * nl::inverse(A) - nl::Matrix::Identity(6, 6)).norm() < 1e-10);
  nl::Matrix D = nl::Matrix::Zero(3, 3);
  D.diagonal() << 2, 3, 4;
  CHECK(nl::det(D) == Approx(24));
  nl::Matrix S = A;
  S.row(2) = S.row(1);
  CHECK_THROWS_WITH(nl::solve(S, B), Catch::Contains("singular"));
  CHECK_THROWS_WITH(nl::solve(A, random_matrix(5, 1, 1)), "matrix dimensions 6x6 and 5x1 do not agree");
  CHECK_THROWS_AS(nl::det(random_matrix(2, 3, 1)), nl::ValueError);
  // Least squares: the residual is orthogonal to the columns.
  const nl::Matrix W = random_matrix(10, 3, 6), y = random_matrix(10, 1, 7);
  const nl::Matrix b = nl::solve(W, y);
  CHECK((W.transpose() * (y - W * b)).norm() < 1e-10);
}

TEST_CASE("reductions", "[linalg]") {
  nl::Matrix A(2, 3);
  A << 1, 2, 3, 4, 5, 9;
  CHECK(nl::reduce(A, nl::Reduction::Sum, 1) == (nl::Matrix(1, 3) << 5, 7, 12).finished());
  CHECK(nl::reduce(A, nl::Reduction::Max, 2) == (nl::Matrix(2, 1) << 3, 9).finished());
  CHECK(nl::reduce(A, nl::Reduction::Var, 1)(0, 2) == Approx(18));
  CHECK(nl::reduce(A, nl::Reduction::Std, 2)(0, 0) == Approx(1));
  CHECK(nl::reduce_all(A, nl::Reduction::Mean) == Approx(4));
  CHECK(std::isnan(nl::reduce_all(nl::Matrix::Ones(1, 1), nl::Reduction::Std)));
  CHECK_THROWS_AS(nl::reduce(A, nl::Reduction::Sum, 3), nl::ValueError);
}

TEST_CASE("format_matrix aligns and truncates", "[linalg]") {
  nl::Matrix A(2, 2);
  A << 1, 20, 300, 4;
  CHECK(nl::format_matrix(A) == "    1  20\n  300   4\n[Matrix 2x2]");
  const std::string big = nl::format_matrix(nl::Matrix::Zero(100, 200));
  CHECK(big.find("...") != std::string::npos);
  CHECK(big.size() < 30 * 110);
  CHECK(nl::format_matrix(nl::Matrix(0, 0)) == "[Matrix 0x0]");
  CHECK(nl::format_number(0.1) == "0.1");
}

TEST_CASE("sym_eigen_top agrees with a full eigen-decomposition", "[linalg]") {
  nl::Rng g(21);
  auto randn = [&](Eigen::Index r, Eigen::Index c) {
    nl::Matrix M(r, c);
    for (Eigen::Index j = 0; j < c; ++j)
      for (Eigen::Index i = 0; i < r; ++i) M(i, j) = g.normal();
    return M;
  };
  std::vector<nl::Matrix> cases;
  for (Eigen::Index n : {1, 2, 5, 53, 60}) {
    const nl::Matrix X = randn(n, 136);
    const nl::Matrix Xc = X.rowwise() - X.colwise().mean();
    cases.push_back(Xc * Xc.transpose());  // a centred Gram matrix: PSD, rank n - 1
  }
  cases.push_back(randn(30, 30));
  cases.back() = cases.back() + cases.back().transpose().eval();  // indefinite
  // Repeated eigenvalues: Q diag(5, 5, 5, 2, 2, 1, ...) Q'.
  {
    const nl::Matrix Q = randn(20, 20).householderQr().householderQ();
    nl::Vector ev = nl::Vector::LinSpaced(20, 0.1, 1.0);
    ev.head(5) << 5, 5, 5, 2, 2;
    cases.push_back(Q * ev.asDiagonal() * Q.transpose());
  }
  cases.push_back(nl::Matrix::Zero(6, 6));
  cases.push_back(nl::Vector::LinSpaced(8, 1e-3, 1e3).asDiagonal());
  for (const nl::Matrix& A : cases) {
    const Eigen::Index n = A.rows(), c = std::min<Eigen::Index>(n, 13);
    const auto top = nl::sym_eigen_top(A, c);
    Eigen::SelfAdjointEigenSolver<nl::Matrix> es(A);
    const nl::Vector ref = es.eigenvalues().reverse();
    const double scale = std::max(1.0, ref.cwiseAbs().maxCoeff());
    INFO("n = " << n);
    REQUIRE(top.values.size() == n);
    REQUIRE(top.vectors.rows() == n);
    REQUIRE(top.vectors.cols() == c);
    CHECK((top.values - ref).cwiseAbs().maxCoeff() < 1e-13 * scale);
    // Orthonormal eigenvectors with small residuals: A v = lambda v.
    CHECK((top.vectors.transpose() * top.vectors - nl::Matrix::Identity(c, c)).cwiseAbs().maxCoeff() < 1e-12);
    const nl::Matrix R = A * top.vectors - top.vectors * top.values.head(c).asDiagonal();
    CHECK(R.cwiseAbs().maxCoeff() < 1e-12 * scale);
  }
  CHECK_THROWS_AS(nl::sym_eigen_top(nl::Matrix::Zero(3, 3), 4), nl::ValueError);
  CHECK_THROWS_AS(nl::sym_eigen_top(nl::Matrix::Zero(3, 2), 1), nl::ValueError);
}

// numpy.linalg.pinv raises LinAlgError ("SVD did not converge") on a NaN matrix; a NaN
// rcond used to drop every singular value and return zeros.
TEST_CASE("pinv refuses a non-finite matrix or rcond", "[linalg]") {
  nl::Matrix A = nl::Matrix::Identity(3, 3);
  CHECK_THROWS_AS(nl::pinv(A, std::nan("")), nl::ValueError);
  CHECK_THROWS_AS(nl::pinv(A, std::numeric_limits<double>::infinity()), nl::ValueError);
  A(1, 0) = std::nan("");
  CHECK_THROWS_WITH(nl::pinv(A), Catch::Contains("pinv: the matrix has NaN at row 2, column 1"));
  A(1, 0) = -std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(nl::pinv(A), Catch::Contains("-inf at row 2, column 1"));
}

// Tests of nl/linalg. Decompositions are checked by the defining identities (the four
// Penrose conditions, A X = B, A A^-1 = I) on random and rank-deficient inputs; the
// Lua tests compare the same functions with NumPy values.
#include <catch2/catch.hpp>

#include <cmath>

#include "nl/core.hpp"
#include "nl/linalg.hpp"

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

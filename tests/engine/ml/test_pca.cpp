// Tests of nl/ml/pca: the SVD identities on random data and agreement with R's prcomp
// (tests/data/robpca/pca40_*.csv, made by make_fixtures.R).
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/ml/pca.hpp"

namespace {

// Numeric CSV with one header line (as written by make_fixtures.R).
nl::Matrix read_csv(const std::string& name) {
  const std::string path = std::string(NL_TEST_DATA) + "/robpca/" + name;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::string line;
  std::getline(in, line);  // header
  std::vector<std::vector<double>> rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<double> row;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) row.push_back(std::stod(cell));
    rows.push_back(std::move(row));
  }
  nl::Matrix m(static_cast<Eigen::Index>(rows.size()),
               rows.empty() ? 0 : static_cast<Eigen::Index>(rows[0].size()));
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t j = 0; j < rows[i].size(); ++j) m(i, j) = rows[i][j];
  return m;
}

nl::Matrix random_matrix(int r, int c, std::uint64_t seed) {
  nl::Rng rng(seed);
  nl::Matrix m(r, c);
  for (int i = 0; i < r; ++i)
    for (int j = 0; j < c; ++j) m(i, j) = rng.normal() * (j + 1) + 3.0 * j;
  return m;
}

}  // namespace

TEST_CASE("pca satisfies the SVD identities", "[pca]") {
  for (auto [n, p] : {std::pair{30, 6}, std::pair{8, 20}}) {
    const nl::Matrix X = random_matrix(n, p, 17);
    const int k = std::min(n - 1, p);
    const nl::ml::PcaFit fit = nl::ml::pca_fit(X, k);
    const nl::Matrix Xc = X.rowwise() - X.colwise().mean();
    const nl::Matrix S = Xc.transpose() * Xc / (n - 1);
    CHECK((fit.center - X.colwise().mean().transpose()).norm() < 1e-12);
    CHECK((fit.loadings.transpose() * fit.loadings - nl::Matrix::Identity(k, k)).norm() < 1e-10);
    CHECK((fit.scores - Xc * fit.loadings).norm() < 1e-10 * fit.scores.norm());
    // Scores are uncorrelated with variances equal to the eigenvalues: S V = V Lambda.
    const nl::Matrix C = fit.scores.transpose() * fit.scores / (n - 1);
    CHECK((C - nl::Matrix(fit.eigenvalues.asDiagonal())).norm() < 1e-9 * C.norm());
    CHECK((S * fit.loadings - fit.loadings * fit.eigenvalues.asDiagonal()).norm() <
          1e-9 * S.norm());
    CHECK(fit.total_variance == Approx(S.trace()).epsilon(1e-12));
    CHECK(fit.explained_ratio.sum() == Approx(1.0).epsilon(1e-10));  // k = rank
    for (int j = 1; j < k; ++j) CHECK(fit.eigenvalues[j] <= fit.eigenvalues[j - 1]);
    // Sign convention: the largest |entry| of each loading is positive.
    for (int j = 0; j < k; ++j) {
      Eigen::Index i;
      fit.loadings.col(j).cwiseAbs().maxCoeff(&i);
      CHECK(fit.loadings(i, j) > 0);
    }
    // Transforming the training data reproduces the scores; k is a prefix.
    CHECK((nl::ml::pca_transform(fit, X) - fit.scores).norm() < 1e-10 * fit.scores.norm());
    const nl::ml::PcaFit f2 = nl::ml::pca_fit(X, 2);
    CHECK((f2.loadings - fit.loadings.leftCols(2)).norm() < 1e-10);
  }
}

TEST_CASE("pca agrees with R's prcomp", "[pca]") {
  const nl::Matrix X = read_csv("sim40_X.csv");
  const nl::Vector center = read_csv("pca40_center.csv").row(0).transpose();
  nl::Matrix rotation = read_csv("pca40_rotation.csv");
  const nl::Vector eig = read_csv("pca40_eigenvalues.csv").col(0);
  const nl::ml::PcaFit fit = nl::ml::pca_fit(X, 4);
  nl::ml::sign_flip(rotation);  // prcomp's signs are LAPACK's
  CHECK((fit.center - center).norm() < 1e-12 * center.norm());
  CHECK((fit.loadings - rotation).norm() < 1e-10);
  CHECK((fit.eigenvalues - eig.head(4)).norm() < 1e-10 * eig.norm());
  CHECK(fit.total_variance == Approx(eig.sum()).epsilon(1e-12));
}

TEST_CASE("pca validates its input", "[pca]") {
  const nl::Matrix X = random_matrix(10, 4, 3);
  CHECK_THROWS_WITH(nl::ml::pca_fit(X, 0), Catch::Contains("between 1 and min(n - 1, p) = 4"));
  CHECK_THROWS_AS(nl::ml::pca_fit(X, 5), nl::ValueError);
  CHECK_THROWS_WITH(nl::ml::pca_fit(X.topRows(3), 3), Catch::Contains("= 2"));
  CHECK_THROWS_AS(nl::ml::pca_fit(X.topRows(1), 1), nl::ValueError);
  nl::Matrix bad = X;
  bad(4, 1) = std::nan("");
  CHECK_THROWS_WITH(nl::ml::pca_fit(bad, 2), Catch::Contains("row 5, column 2"));
  const nl::ml::PcaFit fit = nl::ml::pca_fit(X, 2);
  CHECK_THROWS_AS(nl::ml::pca_transform(fit, X.leftCols(3)), nl::ValueError);
}

// Large problems with few components take the truncated solver (Lanczos on the smaller
// cross-product matrix); it must give the exact solver's components. The data have ten
// planted components with singular values 4000 / (j + 1) (j = 0..9) over unit noise
// (whose singular values are about 60), so the smallest eigen-gap among the leading
// eleven eigenvalues is 0.23 % of the largest. Both solvers are backward stable: each
// eigenvalue is within a small multiple of eps * lambda_1 of the truth, and each loading
// within about eps * lambda_1 / gap = 1e-13 (Davis-Kahan). Measured differences: 5e-15
// (eigenvalues, relative to lambda_1), 1.4e-15 (loadings), 1.7e-15 (scores, relative),
// 7e-15 (total variance, relative); the tolerance, 1e-12, leaves a factor of ten over
// the Davis-Kahan bound.
TEST_CASE("the truncated pca solver agrees with the exact one", "[pca]") {
  for (auto [n, p] : {std::pair{520, 1300}, std::pair{1300, 520}}) {
    INFO("n = " << n << ", p = " << p);
    nl::Rng rng(29);
    nl::Matrix L(n, 10), R(10, p), X(n, p);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < 10; ++j) L(i, j) = rng.normal();
    for (int j = 0; j < 10; ++j)
      for (int c = 0; c < p; ++c) R(j, c) = rng.normal();
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < p; ++c) X(i, c) = rng.normal() + 5.0;
    // Orthonormal factors so that the planted singular values are 4000 / (j + 1).
    const nl::Matrix Q = Eigen::HouseholderQR<nl::Matrix>(L).householderQ() * nl::Matrix::Identity(n, 10);
    const nl::Matrix P = Eigen::HouseholderQR<nl::Matrix>(R.transpose()).householderQ() * nl::Matrix::Identity(p, 10);
    for (int j = 0; j < 10; ++j) X += (4000.0 / (j + 1)) * Q.col(j) * P.col(j).transpose();
    const int k = 10;
    const nl::ml::PcaFit t = nl::ml::pca_fit(X, k);
    const nl::ml::PcaFit e = nl::ml::pca_fit(X, k, nl::ml::PcaSolver::Exact);
    CHECK(t.solver == nl::ml::PcaSolver::Truncated);
    CHECK(e.solver == nl::ml::PcaSolver::Exact);
    CHECK((t.eigenvalues - e.eigenvalues).cwiseAbs().maxCoeff() < 1e-12 * e.eigenvalues(0));
    CHECK((t.loadings - e.loadings).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((t.scores - e.scores).cwiseAbs().maxCoeff() < 1e-12 * e.scores.cwiseAbs().maxCoeff());
    CHECK(t.total_variance == Approx(e.total_variance).epsilon(1e-12));
    CHECK((t.explained_ratio - e.explained_ratio).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((t.center - e.center).norm() == 0.0);
    // The leading singular values are the planted ones (plus the noise's share).
    CHECK(std::sqrt(t.eigenvalues(0) * (n - 1)) == Approx(4000.0).epsilon(0.01));
    // Sign convention.
    for (int j = 0; j < k; ++j) {
      Eigen::Index i;
      t.loadings.col(j).cwiseAbs().maxCoeff(&i);
      CHECK(t.loadings(i, j) > 0);
    }
  }
}

// The ketamine pipeline's shapes (66 subjects x 136 regions, k = 13) and anything with
// min(n, p) < 500 or k > min(n, p) / 20 stay on the exact solver.
TEST_CASE("pca chooses the exact solver for small problems", "[pca]") {
  CHECK(nl::ml::pca_fit(random_matrix(66, 136, 5), 13).solver == nl::ml::PcaSolver::Exact);
  CHECK(nl::ml::pca_fit(random_matrix(499, 600, 5), 5).solver == nl::ml::PcaSolver::Exact);
  CHECK(nl::ml::pca_fit(random_matrix(500, 600, 5), 26).solver == nl::ml::PcaSolver::Exact);
  CHECK(nl::ml::pca_fit(random_matrix(500, 600, 5), 25).solver == nl::ml::PcaSolver::Truncated);
}

// k above the rank of the data: the trailing eigenvalues are 0, where Lanczos's stopping
// rule is absolute, so without care whether (and after how many restarts) it stops
// would depend on the units of the data. The solver scales the cross-product matrix by
// a power of two to a unit trace first: data scaled by 2^40 or 2^-40 then give the same
// loadings bit for bit and eigenvalues scaled by exactly 2^80 or 2^-80 (without the
// scaling they differed). The components beyond the rank are arbitrary directions in
// any solver; the leading ones must agree with the exact solver's.
TEST_CASE("the truncated pca solver handles k above the rank, in any units", "[pca]") {
  for (const std::uint64_t seed : {11, 21}) {
    nl::Rng rng(seed);
    nl::Matrix A(600, 3), B(3, 700);
    for (Eigen::Index i = 0; i < A.size(); ++i) A.data()[i] = 2 * rng.uniform() - 1;
    for (Eigen::Index i = 0; i < B.size(); ++i) B.data()[i] = 2 * rng.uniform() - 1;
    const nl::Matrix X = A * B;  // rank 3
    const nl::ml::PcaFit t = nl::ml::pca_fit(X, 10);
    const nl::ml::PcaFit e = nl::ml::pca_fit(X, 10, nl::ml::PcaSolver::Exact);
    INFO("seed " << seed);
    CHECK(t.solver == nl::ml::PcaSolver::Truncated);
    CHECK((t.eigenvalues.head(3) - e.eigenvalues.head(3)).cwiseAbs().maxCoeff() < 1e-12 * e.eigenvalues(0));
    CHECK(t.eigenvalues.tail(7).cwiseAbs().maxCoeff() < 1e-12 * e.eigenvalues(0));
    CHECK((t.loadings.leftCols(3) - e.loadings.leftCols(3)).cwiseAbs().maxCoeff() < 1e-10);
    CHECK(t.explained_ratio.sum() == Approx(1.0).epsilon(1e-12));
    for (const int power : {-40, 40}) {
      INFO("data scaled by 2^" << power);
      const nl::ml::PcaFit u = nl::ml::pca_fit(std::ldexp(1.0, power) * X, 10);
      CHECK((u.loadings - t.loadings).norm() == 0.0);
      CHECK((u.eigenvalues - std::ldexp(1.0, 2 * power) * t.eigenvalues).norm() == 0.0);
    }
  }
}

// Issue 21: tall data compute only the k leading eigenpairs of X'X (tridiagonalisation +
// LAPACK's MRRR). Eigenvalues in a tight cluster must still give orthonormal loadings, and
// every k must agree with the full eigendecomposition.
TEST_CASE("tall pca: the leading eigenpairs only, also in clusters", "[pca]") {
  const int n = 300, p = 50;
  nl::Rng rng(99);
  // An orthonormal basis Q and a spectrum with a cluster of three (10, 10, 10 + 1e-9), then decay.
  nl::Matrix G(p, p);
  for (int i = 0; i < p; ++i)
    for (int j = 0; j < p; ++j) G(i, j) = rng.normal();
  const nl::Matrix Q = Eigen::HouseholderQR<nl::Matrix>(G).householderQ();
  nl::Vector sd(p);
  for (int j = 0; j < p; ++j) sd(j) = j < 3 ? 10.0 + (j == 2 ? 1e-9 : 0.0) : 5.0 / (j + 1);
  nl::Matrix Z(n, p);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < p; ++j) Z(i, j) = rng.normal();
  // Whitened scores (orthonormal columns), so the sample spectrum is exactly sd^2.
  const nl::Matrix Zc = Z.rowwise() - Z.colwise().mean();
  const nl::Matrix U = Eigen::HouseholderQR<nl::Matrix>(Zc).householderQ() * nl::Matrix::Identity(n, p);
  const nl::Matrix X = (U * sd.asDiagonal() * Q.transpose()).array() + 2.0;
  const nl::Matrix Xc = X.rowwise() - X.colwise().mean();
  const nl::Matrix S = Xc.transpose() * Xc / (n - 1);
  Eigen::SelfAdjointEigenSolver<nl::Matrix> full(S);
  for (int k : {1, 3, 4, 12, p - 1}) {
    INFO("k = " << k);
    const nl::ml::PcaFit fit = nl::ml::pca_fit(X, k);
    CHECK((fit.loadings.transpose() * fit.loadings - nl::Matrix::Identity(k, k)).norm() < 1e-10);
    CHECK((S * fit.loadings - fit.loadings * fit.eigenvalues.asDiagonal()).norm() < 1e-9 * S.norm());
    for (int j = 0; j < k; ++j)
      CHECK(fit.eigenvalues(j) == Approx(full.eigenvalues()(p - 1 - j)).epsilon(1e-10));
    CHECK(fit.total_variance == Approx(S.trace()).epsilon(1e-12));
  }
}

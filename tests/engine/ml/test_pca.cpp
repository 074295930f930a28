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

// ml/pca.cpp: classical PCA by the SVD of the centred data (see nl/ml/pca.hpp).
#include "nl/ml/pca.hpp"

#include <fmt/format.h>

#include <cmath>

#include "nl/core/core.hpp"

namespace nl::ml {

void check_finite(const Matrix& X, const char* what) {
  for (Index j = 0; j < X.cols(); ++j)
    for (Index i = 0; i < X.rows(); ++i)
      if (!std::isfinite(X(i, j)))
        throw ValueError(fmt::format("{}: value at row {}, column {} is not finite ({})", what,
                                     i + 1, j + 1, X(i, j)));
}

void sign_flip(Matrix& loadings) {
  for (Index j = 0; j < loadings.cols(); ++j) {
    Index imax = 0;
    loadings.col(j).cwiseAbs().maxCoeff(&imax);  // Eigen returns the first maximum
    if (loadings(imax, j) < 0) loadings.col(j) = -loadings.col(j);
  }
}

PcaFit pca_fit(const Matrix& X, Index k) {
  const Index n = X.rows(), p = X.cols();
  if (n < 2) throw ValueError(fmt::format("pca: need at least 2 observations, got {}", n));
  const Index kmax = std::min(n - 1, p);
  if (k < 1 || k > kmax)
    throw ValueError(fmt::format(
        "pca: k = {} is out of range; it must be between 1 and min(n - 1, p) = {}", k, kmax));
  check_finite(X, "pca");
  PcaFit fit;
  fit.center = X.colwise().mean().transpose();
  const Matrix Xc = X.rowwise() - fit.center.transpose();
  // Wide data (n < p, the usual case here) go through the n x n Gram matrix: its
  // eigenvectors are the left singular vectors, and V = Xc' U / s. This is an order
  // of magnitude faster than a p-wide SVD; the leading components, the only ones used,
  // keep full accuracy (checked against prcomp in the tests).
  Vector s;
  Matrix V;
  if (n < p) {
    Eigen::SelfAdjointEigenSolver<Matrix> eig(Xc * Xc.transpose());
    s = eig.eigenvalues().reverse().cwiseMax(0.0).cwiseSqrt();
    const Matrix U = eig.eigenvectors().rowwise().reverse();
    V.resize(p, k);
    for (Index j = 0; j < k; ++j) V.col(j) = Xc.transpose() * U.col(j) / s(j);
  } else {
    Eigen::BDCSVD<Matrix> svd(Xc, Eigen::ComputeThinV);
    s = svd.singularValues();
    V = svd.matrixV();
  }
  const double denom = static_cast<double>(n - 1);
  fit.total_variance = s.squaredNorm() / denom;
  fit.eigenvalues = s.head(k).array().square() / denom;
  fit.explained_ratio = fit.eigenvalues / fit.total_variance;
  fit.loadings = V.leftCols(k);
  sign_flip(fit.loadings);
  fit.scores = Xc * fit.loadings;
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

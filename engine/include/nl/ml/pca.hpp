// nl/ml/pca.hpp: classical principal component analysis.
//
// Model: for X (n x p) with column means mu, the centred data Xc = X - 1 mu' have the
// thin SVD Xc = U S V'. The first k principal axes are the columns of V_k (the
// loadings, p x k), the component variances are lambda_j = s_j^2 / (n - 1) (the
// eigenvalues of the sample covariance), and scores are T = (X - 1 mu') V_k; new data
// Y are mapped by the same formula with the training mu and V_k.
// Contract: n >= 2, 1 <= k <= min(n - 1, p), all values finite. Signs are fixed
// (the entry of largest magnitude of each loading is positive; rrcov's .signflip), so a
// fit is deterministic. Agrees with R's prcomp up to those signs.
//
// Solvers. Exact (all small problems): the full eigen-decomposition of the n x n Gram
// matrix Xc Xc' when n < p, else the SVD of Xc (Eigen's BDCSVD). Truncated (large
// problems with few components, m = min(n, p) >= 500 and k <= m / 20): the k leading
// eigenpairs of the smaller cross-product matrix (Xc Xc' or Xc' Xc), formed by blocks
// on the worker threads, by Armadillo's implicitly restarted Lanczos solver eigs_sym
// (Spectra's algorithm) run to machine precision. Both give the same components to
// about 1e-12 (eigen-gaps permitting); total_variance is the trace in both.
#pragma once

#include <Eigen/Dense>

#include <limits>

#include "nl/core/linalg.hpp"

namespace nl::ml {

using Index = Eigen::Index;

enum class PcaSolver {
  Auto,       // Truncated when min(n, p) >= 500 and k <= min(n, p) / 20, else Exact
  Exact,      // full eigen-decomposition of the Gram matrix (n < p) or BDCSVD (n >= p)
  Truncated,  // Lanczos (Armadillo's eigs_sym) on the Gram (n < p) or cross-product matrix
};

struct PcaFit {
  Vector center;        // mu (p)
  Matrix loadings;      // V_k (p x k), orthonormal columns
  Vector eigenvalues;   // lambda_1 >= ... >= lambda_k (the explained variances)
  Vector explained_ratio;  // lambda_j / total_variance
  double total_variance = 0.0;  // trace of the covariance; 0 for constant data, where
                                // explained_ratio is NaN
  Matrix scores;        // n x k
  PcaSolver solver = PcaSolver::Exact;  // the solver that ran (never Auto; not saved in
                                        // model files, so Exact after loading one)
};

// Throws ValueError for n < 2, k outside [1, min(n - 1, p)] or a non-finite value (the
// message names the row and column, 1-based); Error if the truncated solver does not
// converge (not seen in the tests, k above the rank of the data included).
// `cross`, when given for tall data (n >= p), is Xc' Xc (p x p) of the centred X,
// computed elsewhere (ml/training_gram.cpp: from per-fold blocks in a nested CV), used
// in place of computing it here; ignored for wide data.
PcaFit pca_fit(const Matrix& X, Index k, PcaSolver solver = PcaSolver::Auto, const Matrix* cross = nullptr);

// The fit of n >= p centred rows given only their cross-product Xc' Xc (p x p), their
// column means `center` and their sum of squares (NaN: the trace of `cross`), as
// pca_fit with `cross`; scores are left empty. For a caller that never forms Xc
// (ml/fused_chain.cpp). Error for inconsistent sizes, ValueError as pca_fit for n and k.
PcaFit pca_fit_cross(const Matrix& cross, Vector center, Index n, Index k, PcaSolver solver = PcaSolver::Auto,
                     double sum_squares = std::numeric_limits<double>::quiet_NaN());

// (Y - 1 mu') V_k. Throws ValueError when Y has the wrong number of columns or a
// non-finite value.
Matrix pca_transform(const PcaFit& fit, const Matrix& Y);

// Flips the sign of each column so that its entry of largest magnitude (the first one
// among ties) is positive.
void sign_flip(Matrix& loadings);

// Throws ValueError naming the first non-finite entry of X (1-based row and column).
void check_finite(const Matrix& X, const char* what);

}  // namespace nl::ml

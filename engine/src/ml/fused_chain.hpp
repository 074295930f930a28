// ml/fused_chain.hpp (internal): the preprocessing of a CV1 partition of a nested CV
// fitted and applied without forming its intermediate matrices (issue 21), for pipelines
// whose steps up to their PCA are (scale)? (prune)? (regress_out)? pca, in that order
// (the ketamine pipeline: scale, prune, regress_out, pca, scale).
//
// The steps before the PCA map a raw row x (p) with covariate design row d to the
// PCA's input y = (x - c)(src) diag(a) + b~' - d' beta (scale: slopes a and offsets;
// prune: the kept columns src; regress_out: coefficients beta), for any fixed centre c
// (the CV2 training mean); the PCA's scores are (y - mu)' W. Together one affine map of
// the centred row:
//   z = (x - c)' M + k' - d' N,  M = E_src diag(a) W,  k = (b~ - mu)' W,  N = beta W,
// applied to the training, validation and test rows by one kernel
// (ml/fused_kernels.inc) over a row-major copy of the centred data. Fitting needs, of
// the training rows: the column minima and maxima (scale, prune); B' (X - c) for
// B = [U_r, 1], U_r an orthonormal basis of the span of regress_out's design (its
// coefficients, pinv(D) Y = V_r S_r^-1 U_r' Y, with nl::pinv's rank rule, and the
// PCA's mean); and the cross-product (X - c)'(X - c), summed from per-fold blocks
// (ml/training_gram.hpp), from which the PCA's is
//   diag(a) [G - W'W](src, src) diag(a),  W = U_r'(X - c)  (or 1'(X - c) / sqrt(n)).
// Wide partitions (fewer training rows than columns) have no cross-product: their PCA
// input rows Y = Xc(:, src) diag(a) + 1 b~' - D beta are formed once and the PCA is
// fitted on them (through its n x n Gram matrix); the rest is as above, and the
// validation and test rows still go through the one kernel.
// Every fitted step is an ordinary Transform with the state its own fit() would have
// learned (to rounding), so models, back-projection and saving are unchanged. The steps
// after the PCA are fitted and applied as usual on the scores.
#pragma once

#include <cstddef>
#include <vector>

#include "nl/ml/pipeline.hpp"

namespace nl::ml::detail {

// Whether spec's steps up to its first pca are (scale)? (prune)? (regress_out)? pca.
bool fusable(const PipelineSpec& spec);

// X minus the centre c, row-major, each row zero-padded to `ld` (a multiple of 4).
struct CentredRows {
  std::vector<double> data;
  std::ptrdiff_t ld = 0;
  Eigen::Index p = 0;
};
CentredRows centred_rows(const Matrix& X, const Vector& c);

// The cross-product of each fold's rows of Xc (rows[k] in fold assign[k]), as
// training_gram.hpp's fold_blocks (which sums in another order) for the centred data.
std::vector<Matrix> fold_blocks(const CentredRows& Xc, const std::vector<Eigen::Index>& rows,
                                const std::vector<int>& assign, int folds);

// The column minima (lo) and maxima (hi) of each fold's rows of X: rows[k] is in fold
// assign[k] (finite data).
struct FoldRanges {
  std::vector<Vector> lo, hi;
};
FoldRanges fold_ranges(const Matrix& X, const std::vector<Eigen::Index>& rows, const std::vector<int>& assign,
                       int folds);

// One subset of rows to fit on or to map: indices into the centred data, their
// covariates (may be null) and, out, their preprocessed rows.
struct RowSet {
  const std::vector<Eigen::Index>* rows = nullptr;
  const Table* covariates = nullptr;
  Matrix* out = nullptr;
};

// Fits spec's preprocessing on `train` (requires fusable(spec)) and maps `train` and
// each of `others` through it. G: the cross-product of the training rows about the
// centre of Xc (at least as many rows as columns), or empty: then the PCA's input rows
// are formed and the PCA fitted on them (wide partitions: through its n x n Gram
// matrix). lo, hi: the training rows' column ranges in the raw data. ValueError as
// fit_preprocessing for the data's own problems.
Preprocessing fit_fused(const PipelineSpec& spec, const CentredRows& Xc, const Vector& centre, const Matrix& G,
                        const Vector& lo, const Vector& hi, const RowSet& train, const std::vector<RowSet>& others);

}  // namespace nl::ml::detail

// core/arma_view.hpp (private to the engine): Armadillo inside .cpp files.
//
// Public headers speak Eigen; the kernels that use Armadillo (fc/filter.cpp: its FFT;
// ml/pca.cpp: its Lanczos eigensolver eigs_sym) include this header only. Both
// libraries store dense matrices column-major with a leading dimension equal to the
// number of rows, so an arma::mat can view an Eigen matrix's memory without a copy
// (Armadillo's "advanced constructor" with copy_aux_mem = false, strict = true: the
// view never reallocates, so a size mismatch on assignment throws instead of silently
// detaching from the Eigen memory).
//
// Armadillo reports failures both by return value and by printing a warning to
// std::cerr; the engine checks every return value and throws its own error, so only
// the most severe warnings are left on (ARMA_WARN_LEVEL 1).
#pragma once

#define ARMA_WARN_LEVEL 1
#include <armadillo>

#include "nl/core/linalg.hpp"

namespace nl::arma_view {

// A writable view of M (same memory; M must outlive the view).
inline arma::mat view(Matrix& M) {
  return arma::mat(M.data(), static_cast<arma::uword>(M.rows()), static_cast<arma::uword>(M.cols()), false, true);
}

// A read-only view of M. Armadillo has no const advanced constructor; the const_cast
// is safe because the returned object is const and so never writes.
inline const arma::mat cview(const Matrix& M) {
  return arma::mat(const_cast<double*>(M.data()), static_cast<arma::uword>(M.rows()),
                   static_cast<arma::uword>(M.cols()), false, true);
}

// A copy of an Armadillo matrix as an Eigen one.
inline Matrix to_eigen(const arma::mat& A) {
  return Eigen::Map<const Matrix>(A.memptr(), static_cast<Eigen::Index>(A.n_rows), static_cast<Eigen::Index>(A.n_cols));
}

}  // namespace nl::arma_view

// core/arma_view.hpp (private to the engine): Armadillo inside .cpp files.
//
// Public headers speak Eigen; the kernels that use Armadillo (fc/filter.cpp: its FFT;
// ml/pca.cpp: its Lanczos eigensolver eigs_sym) include Armadillo through this header
// only, so both see the same configuration. Both libraries store dense matrices
// column-major with a leading dimension equal to the number of rows, so an arma::mat
// can view an Eigen matrix's memory without a copy (Armadillo's "advanced constructor"
// with copy_aux_mem = false, strict = true: the view never reallocates).
//
// Armadillo reports failures both by return value and by printing a warning to
// std::cerr; the engine checks every return value and throws its own error, so only
// the most severe warnings are left on (ARMA_WARN_LEVEL 1).
#pragma once

#define ARMA_WARN_LEVEL 1
#include <armadillo>

#include "nl/core/linalg.hpp"

namespace nl::arma_view {

// A read-only view of M. Armadillo has no const advanced constructor; the const_cast
// is safe because the returned object is const and so never writes.
inline const arma::mat cview(const Matrix& M) {
  return arma::mat(const_cast<double*>(M.data()), static_cast<arma::uword>(M.rows()),
                   static_cast<arma::uword>(M.cols()), false, true);
}

}  // namespace nl::arma_view

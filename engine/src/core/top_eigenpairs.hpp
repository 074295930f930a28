// core/top_eigenpairs.hpp (private to the engine): the k largest eigenpairs of a dense
// symmetric matrix, for the exact PCA (ml/pca.cpp) whose k is much smaller than m.
//
// Householder tridiagonalisation (householder_tridiagonal below), then the k largest eigenvalues of the
// tridiagonal T by bisection on Sturm counts and their eigenvectors by inverse iteration
// (LAPACK's dstein, with reorthogonalisation inside clusters): the algorithm of LAPACK's
// dsyevx (dstebz + dstein), with dstebz's recurrence, pivot guard and tolerances
// (absolute ulp * ||T||, relative 2 ulp), the k bisections advanced together so that
// their divisions overlap (built for any x86-64 CPU and for AVX; the same bits on
// either). When T splits (a negligible off-diagonal entry) or dstein reports a vector
// that did not converge, the k eigenpairs come from LAPACK's MRRR (dstemr) instead. Then
// the eigenvectors are back-transformed by the Householder reflections, one at a time
// (k columns are too few for the blocked form to pay).
//
// Issue 21: at 13 of 128, dstemr's own bisection (to sqrt(eps), then refined) was a
// quarter of a nested CV at n = 200; this path takes about half of its time.
#pragma once

#include "nl/core/linalg.hpp"

namespace nl::detail {

enum class TridiagonalMethod { Auto, Mrrr };

// The k (1 <= k <= m) largest eigenvalues (descending) of the symmetric A (m x m) and
// orthonormal eigenvectors (m x k). nl::Error if A has a non-finite entry or LAPACK fails.
void top_eigenpairs(const Matrix& A, Eigen::Index k, Vector& values, Matrix& vectors,
                    TridiagonalMethod method = TridiagonalMethod::Auto);

// The same for a symmetric tridiagonal matrix (diagonal d, off-diagonal e of m - 1):
// ascending eigenvalues m - k + 1..m in w and their eigenvectors in Z (m x k). Auto:
// bisection and inverse iteration where T does not split, else MRRR.
void tridiagonal_top(const Vector& d, const Vector& e, Eigen::Index k, Vector& w, Matrix& Z,
                     TridiagonalMethod method = TridiagonalMethod::Auto);

// Householder reduction of the symmetric A (m x m; its lower triangle is read) to the
// tridiagonal T = Q' A Q, in place (LAPACK's dsytd2, lower): d (m) and e (m - 1) are T's
// diagonal and off-diagonal; Q = H_0 ... H_{m-2}, H_i = I - tau_i v_i v_i' acting on rows
// i + 1..m - 1 with v_i = [1; A(i+2:m, i)]. Built for any x86-64 CPU and for AVX, with
// the same bits on either.
void householder_tridiagonal(Matrix& A, Vector& d, Vector& e, Vector& tau);

}  // namespace nl::detail

// nl/core/linalg.hpp: Matrix and Vector are Eigen types; small helpers on top of them.
//
// Conventions: dense double precision, column-major (Eigen's default). Reductions take
// dim = 1 (down the rows, one value per column, MATLAB/Torch's first dimension) or
// dim = 2 (across the columns, one value per row). Sample variance and standard
// deviation divide by n - 1 (R, MATLAB) and are NaN for a single observation.
#pragma once

#include <Eigen/Dense>
#include <string>

#include "nl/core/eigen_extern.hpp"

namespace nl {

using Matrix = Eigen::MatrixXd;
using Vector = Eigen::VectorXd;

// Moore-Penrose pseudo-inverse by SVD. Singular values at or below
// rcond * max singular value are treated as zero; rcond < 0 selects NumPy's default,
// eps * max(rows, cols).
Matrix pinv(const Matrix& A, double rcond = -1.0);

// Solves A X = B. Square A: LU with partial pivoting; throws ValueError when A is
// singular to working precision (reciprocal condition number below eps). Non-square A:
// the minimum-norm least-squares solution (complete orthogonal decomposition).
Matrix solve(const Matrix& A, const Matrix& B);

// Inverse of a square, non-singular A (ValueError otherwise).
Matrix inverse(const Matrix& A);

// Determinant of a square A.
double det(const Matrix& A);

// All eigenvalues of a symmetric matrix A (lower triangle read), in descending order,
// and orthonormal eigenvectors for the first c of them (n x c), for c small against n.
// Householder tridiagonalisation (Eigen), implicit QL with Wilkinson shifts for the
// eigenvalues (no vectors accumulated: for c << n the accumulation dominates a full
// eigen-decomposition), inverse iteration on the tridiagonal matrix for the c vectors
// (reorthogonalised within clusters of close eigenvalues, as LAPACK's dstein) and the
// Householder back-transformation. Agrees with Eigen's SelfAdjointEigenSolver to
// rounding; within a cluster of (nearly) equal eigenvalues any orthonormal basis of the
// eigenspace may be returned. c must be in [0, n]; throws ValueError if QL does not
// converge (30 sweeps per eigenvalue).
struct SymEigenTop {
  Vector values;   // n eigenvalues, descending
  Matrix vectors;  // n x c
};
SymEigenTop sym_eigen_top(const Matrix& A, Eigen::Index c);

enum class Reduction { Sum, Mean, Std, Var, Min, Max };

// Reduce along dim (1: per column -> 1 x cols; 2: per row -> rows x 1).
Matrix reduce(const Matrix& A, Reduction r, int dim);
// Reduce over all elements.
double reduce_all(const Matrix& A, Reduction r);

// Text rendering with aligned columns. Matrices with more than max_rows rows or wider
// than max_width characters show their first and last rows/columns around "...".
// The last line names the shape: "[Matrix 3x4]".
std::string format_matrix(const Matrix& A, int max_rows = 20, int max_width = 100);

// Formats one number the way format_matrix does for a column (shortest round-trip).
std::string format_number(double x);

}  // namespace nl

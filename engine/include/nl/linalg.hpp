// nl/linalg.hpp: Matrix and Vector are Eigen types; small helpers on top of them.
//
// Conventions: dense double precision, column-major (Eigen's default). Reductions take
// dim = 1 (down the rows, one value per column, MATLAB/Torch's first dimension) or
// dim = 2 (across the columns, one value per row). Sample variance and standard
// deviation divide by n - 1 (R, MATLAB) and are NaN for a single observation.
#pragma once

#include <Eigen/Dense>
#include <string>

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

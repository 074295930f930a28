// linalg.cpp: decompositions, reductions and text rendering for Eigen matrices.
#include "nl/linalg.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "nl/core.hpp"

namespace nl {

namespace {
std::string shape(const Matrix& A) { return fmt::format("{}x{}", A.rows(), A.cols()); }

void require_square(const Matrix& A, const char* what) {
  if (A.rows() != A.cols())
    throw ValueError(fmt::format("{} needs a square matrix, got {}", what, shape(A)));
}
}  // namespace

// ---------------------------------------------------------------- decompositions

Matrix pinv(const Matrix& A, double rcond) {
  if (A.size() == 0) return Matrix(A.cols(), A.rows());
  Eigen::BDCSVD<Matrix> svd(A, Eigen::ComputeThinU | Eigen::ComputeThinV);
  const auto& s = svd.singularValues();
  if (rcond < 0)
    rcond = std::numeric_limits<double>::epsilon() * static_cast<double>(std::max(A.rows(), A.cols()));
  const double cutoff = rcond * (s.size() > 0 ? s(0) : 0.0);
  Vector inv_s(s.size());
  for (Eigen::Index i = 0; i < s.size(); ++i) inv_s(i) = s(i) > cutoff ? 1.0 / s(i) : 0.0;
  return svd.matrixV() * inv_s.asDiagonal() * svd.matrixU().transpose();
}

Matrix solve(const Matrix& A, const Matrix& B) {
  if (A.rows() != B.rows())
    throw ValueError(fmt::format("matrix dimensions {} and {} do not agree", shape(A), shape(B)));
  if (A.rows() == A.cols()) {
    Eigen::PartialPivLU<Matrix> lu(A);
    // Eigen's condition estimate can miss an exactly zero pivot, so check U too.
    const auto u = lu.matrixLU().diagonal().cwiseAbs();
    const double rcond = A.size() == 0 ? 1.0 : lu.rcond();
    if (A.size() > 0 && (!(u.minCoeff() > 0) || !std::isfinite(rcond) ||
                         !(rcond > std::numeric_limits<double>::epsilon())))
      throw ValueError(fmt::format("matrix is singular to working precision (reciprocal condition number {:.3g})",
                                   std::isfinite(rcond) ? rcond : 0.0));
    return lu.solve(B);
  }
  return A.completeOrthogonalDecomposition().solve(B);
}

Matrix inverse(const Matrix& A) {
  require_square(A, "inverse");
  return solve(A, Matrix::Identity(A.rows(), A.cols()));
}

double det(const Matrix& A) {
  require_square(A, "det");
  if (A.size() == 0) return 1.0;
  return A.partialPivLu().determinant();
}

// ---------------------------------------------------------------- reductions

namespace {
template <class V>
double reduce_vec(const V& v, Reduction r) {
  const auto n = static_cast<double>(v.size());
  switch (r) {
    case Reduction::Sum: return v.sum();
    case Reduction::Mean: return n > 0 ? v.sum() / n : std::numeric_limits<double>::quiet_NaN();
    case Reduction::Min: return n > 0 ? v.minCoeff() : std::numeric_limits<double>::quiet_NaN();
    case Reduction::Max: return n > 0 ? v.maxCoeff() : std::numeric_limits<double>::quiet_NaN();
    case Reduction::Var:
    case Reduction::Std: {
      if (n < 2) return std::numeric_limits<double>::quiet_NaN();
      const double mean = v.sum() / n;
      const double ss = (v.array() - mean).square().sum();
      const double var = ss / (n - 1);
      return r == Reduction::Var ? var : std::sqrt(var);
    }
  }
  return 0;  // unreachable
}
}  // namespace

Matrix reduce(const Matrix& A, Reduction r, int dim) {
  if (dim == 1) {
    Matrix out(1, A.cols());
    for (Eigen::Index j = 0; j < A.cols(); ++j) out(0, j) = reduce_vec(A.col(j), r);
    return out;
  }
  if (dim == 2) {
    Matrix out(A.rows(), 1);
    for (Eigen::Index i = 0; i < A.rows(); ++i) out(i, 0) = reduce_vec(A.row(i).transpose(), r);
    return out;
  }
  throw ValueError(fmt::format("dimension must be 1 (columns) or 2 (rows), got {}", dim));
}

double reduce_all(const Matrix& A, Reduction r) {
  return reduce_vec(Eigen::Map<const Vector>(A.data(), A.size()), r);
}

// ---------------------------------------------------------------- formatting

std::string format_number(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  return fmt::format("{}", x);
}

namespace {
// One style per matrix so columns line up on the decimal point: integers when every
// finite value is integral and not huge, fixed with 4 decimals for moderate magnitudes,
// scientific otherwise.
struct Style {
  enum Kind { Integer, Fixed, Scientific } kind = Integer;
};

Style choose_style(const Matrix& A) {
  Style st;
  double maxabs = 0, minabs = std::numeric_limits<double>::infinity();
  bool integral = true;
  for (Eigen::Index k = 0; k < A.size(); ++k) {
    const double x = A.data()[k];
    if (!std::isfinite(x)) continue;
    const double a = std::fabs(x);
    maxabs = std::max(maxabs, a);
    if (a > 0) minabs = std::min(minabs, a);
    if (x != std::floor(x)) integral = false;
  }
  if (integral && maxabs < 1e15) st.kind = Style::Integer;
  else if (maxabs >= 1e6 || (minabs < 1e-3 && maxabs < 1e-2)) st.kind = Style::Scientific;
  else st.kind = Style::Fixed;
  return st;
}

std::string cell(double x, const Style& st) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  switch (st.kind) {
    case Style::Integer: return fmt::format("{:.0f}", x);
    case Style::Fixed: return fmt::format("{:.4f}", x);
    case Style::Scientific: return fmt::format("{:.4e}", x);
  }
  return {};
}
}  // namespace

std::string format_matrix(const Matrix& A, int max_rows, int max_width) {
  const Eigen::Index R = A.rows(), C = A.cols();
  std::string out;
  if (R > 0 && C > 0) {
    const Style st = choose_style(A);
    // Which rows to show.
    std::vector<Eigen::Index> rows;
    bool row_gap = false;
    if (R <= max_rows) {
      for (Eigen::Index i = 0; i < R; ++i) rows.push_back(i);
    } else {
      const Eigen::Index head = max_rows / 2, tail = max_rows - head;
      for (Eigen::Index i = 0; i < head; ++i) rows.push_back(i);
      for (Eigen::Index i = R - tail; i < R; ++i) rows.push_back(i);
      row_gap = true;
    }
    // Render shown cells column by column and measure widths.
    std::vector<std::vector<std::string>> cells(C);
    std::vector<std::size_t> width(C, 0);
    for (Eigen::Index j = 0; j < C; ++j) {
      for (auto i : rows) {
        cells[j].push_back(cell(A(i, j), st));
        width[j] = std::max(width[j], cells[j].back().size());
      }
    }
    // Which columns fit: take from both ends until the budget is used.
    std::vector<Eigen::Index> left, right;
    int used = 0;
    Eigen::Index lo = 0, hi = C - 1;
    bool col_gap = false;
    while (lo <= hi) {
      const int wl = static_cast<int>(width[lo]) + 2;
      if (used + wl > max_width && !left.empty()) { col_gap = true; break; }
      left.push_back(lo++);
      used += wl;
      if (lo > hi) break;
      const int wr = static_cast<int>(width[hi]) + 2;
      if (used + wr > max_width) { col_gap = true; break; }
      right.insert(right.begin(), hi--);
      used += wr;
    }
    std::vector<Eigen::Index> cols = left;
    cols.insert(cols.end(), right.begin(), right.end());
    for (std::size_t r = 0; r < rows.size(); ++r) {
      if (row_gap && r == static_cast<std::size_t>(max_rows / 2)) out += "  ...\n";
      for (std::size_t c = 0; c < cols.size(); ++c) {
        if (col_gap && c == left.size()) out += "  ...";
        const auto j = cols[c];
        out += fmt::format("  {:>{}}", cells[j][r], width[j]);
      }
      out += '\n';
    }
  }
  out += fmt::format("[Matrix {}x{}]", R, C);
  return out;
}

}  // namespace nl

// linalg.cpp: decompositions, reductions and text rendering for Eigen matrices.
#include "nl/core/linalg.hpp"
#include "nl/core/arith.hpp"

#include <fmt/format.h>

#include <Eigen/Eigenvalues>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "nl/core/core.hpp"

namespace nl {

namespace {
std::string shape(const Matrix& A) { return fmt::format("{}x{}", A.rows(), A.cols()); }

void require_square(const Matrix& A, const char* what) {
  if (A.rows() != A.cols())
    throw ValueError(fmt::format("{} needs a square matrix, got {}", what, shape(A)));
}
}  // namespace

// ---------------------------------------------------------------- decompositions

// Why the checks: a NaN rcond makes every comparison with the cutoff false, so every
// singular value was dropped and the result was all zeros; a NaN or infinite entry makes
// the SVD meaningless (numpy.linalg.pinv raises LinAlgError "SVD did not converge").
Matrix pinv(const Matrix& A, double rcond) {
  if (std::isnan(rcond) || std::isinf(rcond))
    throw ValueError(fmt::format("pinv: rcond must be a finite number >= 0, got {}", rcond));
  for (Eigen::Index j = 0; j < A.cols(); ++j)
    for (Eigen::Index i = 0; i < A.rows(); ++i)
      if (!std::isfinite(A(i, j)))
        throw ValueError(fmt::format("pinv: the matrix has {} at row {}, column {}",
                                     std::isnan(A(i, j)) ? "NaN" : fmt::format("{}", A(i, j)), i + 1, j + 1));
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
  // Eigen's decomposition of a matrix with no rows or no columns reads past it; the
  // least-squares answer is then all zeros.
  if (A.rows() == 0 || A.cols() == 0) return Matrix::Zero(A.cols(), B.cols());
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


// ---------------------------------------------------------------- symmetric eigenproblem

namespace {

// Eigenvalues of the symmetric tridiagonal matrix with diagonal d and off-diagonal e
// (e[i] between rows i and i+1; e[n-1] unused): the rational QL method of EISPACK's
// tqlrat (Reinsch), which works with the squares of the off-diagonal and needs no square
// root per rotation. Returns them ascending in d. The matrix has been scaled to unit
// size.
void tridiagonal_eigenvalues(std::vector<double>& d, const std::vector<double>& e) {
  const Eigen::Index n = static_cast<Eigen::Index>(d.size());
  if (n == 1) return;
  std::vector<double> e2(static_cast<std::size_t>(n));
  for (Eigen::Index i = 0; i + 1 < n; ++i) e2[i] = e[i] * e[i];
  e2[n - 1] = 0.0;
  const double eps = std::numeric_limits<double>::epsilon();
  double f = 0.0, t = 0.0, b = 0.0, c = 0.0;
  for (Eigen::Index l = 0; l < n; ++l) {
    int j = 0;
    const double hl = std::fabs(d[l]) + std::sqrt(e2[l]);
    if (t <= hl) {
      t = hl;
      b = eps * t;
      c = b * b;
    }
    Eigen::Index m = l;
    while (e2[m] > c) ++m;  // e2[n-1] = 0 ends the search
    if (m != l) {
      for (;;) {
        if (++j > 30) throw ValueError("sym_eigen_top: the QL iteration did not converge");
        // Form the shift.
        const Eigen::Index l1 = l + 1;
        double s = std::sqrt(e2[l]);
        double g = d[l];
        double p = (d[l1] - g) / (2.0 * s);
        double r = std::sqrt(p * p + 1.0);
        d[l] = s / (p + (p >= 0 ? r : -r));
        double h = g - d[l];
        for (Eigen::Index i = l1; i < n; ++i) d[i] -= h;
        f += h;
        // Rational QL transformation.
        g = d[m];
        if (g == 0.0) g = b;
        h = g;
        s = 0.0;
        for (Eigen::Index i = m - 1; i >= l; --i) {
          p = g * h;
          r = p + e2[i];
          e2[i + 1] = s * r;
          s = e2[i] / r;
          d[i + 1] = h + s * (h + d[i]);
          g = d[i] - e2[i] / g;
          if (g == 0.0) g = b;
          h = g * p / r;
        }
        e2[l] = s * g;
        d[l] = h;
        // Guard against underflow in the convergence test.
        if (h == 0.0) break;
        if (std::fabs(e2[l]) <= std::fabs(c / h)) break;
        e2[l] = h * e2[l];
        if (e2[l] == 0.0) break;
      }
    }
    // Insert d[l] + f into the ascending eigenvalues found so far.
    const double p = d[l] + f;
    Eigen::Index i = l;
    for (; i > 0 && p < d[i - 1]; --i) d[i] = d[i - 1];
    d[i] = p;
  }
}

// (T - lambda I) = P L U for the symmetric tridiagonal T (diagonal d, off-diagonal e),
// by Gaussian elimination with partial pivoting; a zero pivot becomes `tiny`. U has the
// diagonal as reciprocals (inv_u0) and two super-diagonals (u1, u2); l1 holds the
// multipliers, swapped the row exchanges. solve() then overwrites x with the solution.
struct ShiftedTridiagonalLU {
  std::vector<double> inv_u0, u1, u2, l1;
  std::vector<char> swapped;
  explicit ShiftedTridiagonalLU(std::size_t n) : inv_u0(n), u1(n), u2(n), l1(n), swapped(n) {}

  void factor(const std::vector<double>& d, const std::vector<double>& e, double lambda, double tiny) {
    const Eigen::Index n = static_cast<Eigen::Index>(d.size());
    double a = d[0] - lambda, b = n > 1 ? e[0] : 0.0, cnext = 0.0;
    for (Eigen::Index k = 0; k < n; ++k) {
      if (k == n - 1) {
        inv_u0[k] = 1.0 / (a == 0.0 ? tiny : a);
        u1[k] = u2[k] = 0.0;
        break;
      }
      // Row k so far: (a, b, cnext) in columns k, k+1, k+2; row k+1: (sub, nd, ne).
      const double sub = e[k], nd = d[k + 1] - lambda, ne = k + 2 < n ? e[k + 1] : 0.0;
      if (std::fabs(sub) > std::fabs(a)) {  // exchange rows k and k+1
        swapped[k] = 1;
        inv_u0[k] = 1.0 / sub;
        u1[k] = nd;
        u2[k] = ne;
        const double mult = a / sub;
        l1[k] = mult;
        a = b - mult * nd;
        b = cnext - mult * ne;
      } else {
        swapped[k] = 0;
        if (a == 0.0) a = tiny;
        inv_u0[k] = 1.0 / a;
        u1[k] = b;
        u2[k] = cnext;
        const double mult = sub / a;
        l1[k] = mult;
        a = nd - mult * b;
        b = ne - mult * cnext;
      }
      cnext = 0.0;
    }
  }

  void solve(std::vector<double>& x) const {
    const Eigen::Index n = static_cast<Eigen::Index>(x.size());
    for (Eigen::Index k = 0; k + 1 < n; ++k) {
      if (swapped[k]) std::swap(x[k], x[k + 1]);
      x[k + 1] -= l1[k] * x[k];
    }
    for (Eigen::Index k = n - 1; k >= 0; --k) {
      double v = x[k];
      if (k + 1 < n) v -= u1[k] * x[k + 1];
      if (k + 2 < n) v -= u2[k] * x[k + 2];
      x[k] = v * inv_u0[k];
    }
  }
};

}  // namespace

SymEigenTop sym_eigen_top(const Matrix& A, Eigen::Index c) {
  const Eigen::Index n = A.rows();
  if (A.cols() != n) throw ValueError("sym_eigen_top: the matrix must be square");
  if (c < 0 || c > n) throw ValueError(fmt::format("sym_eigen_top: c = {} outside [0, {}]", c, n));
  SymEigenTop out;
  if (n == 0) return out;
  Eigen::Tridiagonalization<Matrix> tri(A);
  // Scale to unit size (a power of two: exact) so the rotations cannot overflow.
  double amax = 0.0;
  for (Eigen::Index i = 0; i < n; ++i) {
    amax = std::max(amax, std::fabs(tri.diagonal()[i]));
    if (i + 1 < n) amax = std::max(amax, std::fabs(tri.subDiagonal()[i]));
  }
  if (!(amax > 0.0)) {  // A = 0
    out.values = Vector::Zero(n);
    out.vectors = Matrix::Identity(n, n).leftCols(c);
    return out;
  }
  if (!std::isfinite(amax)) throw ValueError("sym_eigen_top: the matrix is not finite");
  const double scale = std::ldexp(1.0, std::ilogb(amax));
  std::vector<double> d(static_cast<std::size_t>(n)), e(static_cast<std::size_t>(n), 0.0);
  for (Eigen::Index i = 0; i < n; ++i) {
    d[i] = tri.diagonal()[i] / scale;
    if (i + 1 < n) e[i] = tri.subDiagonal()[i] / scale;
  }
  const std::vector<double> d0 = d;
  tridiagonal_eigenvalues(d, e);
  std::reverse(d.begin(), d.end());  // descending
  out.values.resize(n);
  for (Eigen::Index i = 0; i < n; ++i) out.values[i] = d[i] * scale;
  if (c == 0) {
    out.vectors.resize(n, 0);
    return out;
  }

  // Inverse iteration for the c largest (as LAPACK's dstein): a fixed pseudo-random
  // start and two solves with (T - lambda I), each followed by reorthogonalisation
  // against the vectors already found in the same cluster (eigenvalues within 1e-3 |T|)
  // and normalisation. The eigenvalues are accurate to rounding, so two solves suffice.
  double tnorm = 0.0;
  for (Eigen::Index i = 0; i < n; ++i)
    tnorm = std::max(tnorm, std::fabs(d0[i]) + std::fabs(e[i]) + (i > 0 ? std::fabs(e[i - 1]) : 0.0));
  const double eps = std::numeric_limits<double>::epsilon();
  const double tiny = eps * tnorm;
  const double cluster = 1e-3 * tnorm;
  Matrix X(n, c);
  std::vector<double> x(static_cast<std::size_t>(n));
  ShiftedTridiagonalLU lu(static_cast<std::size_t>(n));
  std::uint64_t seed = 0x9E3779B97F4A7C15ull;
  Eigen::Index first_in_cluster = 0;
  for (Eigen::Index j = 0; j < c; ++j) {
    if (j > 0 && d[j - 1] - d[j] > cluster) first_in_cluster = j;
    lu.factor(d0, e, d[j], tiny);
    for (Eigen::Index i = 0; i < n; ++i) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      x[i] = static_cast<double>(seed >> 11) * 0x1.0p-53 - 0.5;
    }
    for (int it = 0; it < 2; ++it) {
      lu.solve(x);
      for (Eigen::Index k = first_in_cluster; k < j; ++k) {
        double dot = 0.0;
        for (Eigen::Index i = 0; i < n; ++i) dot += X(i, k) * x[i];
        for (Eigen::Index i = 0; i < n; ++i) x[i] -= dot * X(i, k);
      }
      double nrm = 0.0;
      for (Eigen::Index i = 0; i < n; ++i) nrm += x[i] * x[i];
      nrm = std::sqrt(nrm);
      if (!(nrm > 0.0) || !std::isfinite(nrm)) throw ValueError("sym_eigen_top: inverse iteration failed");
      for (Eigen::Index i = 0; i < n; ++i) x[i] /= nrm;
    }
    for (Eigen::Index i = 0; i < n; ++i) X(i, j) = x[i];
  }
  out.vectors = tri.matrixQ() * X;
  return out;
}

// ---------------------------------------------------------------- elementwise arithmetic

bool broadcastable(const Matrix& a, const Matrix& b) {
  if (a.rows() == b.rows() && a.cols() == b.cols()) return true;
  if (a.size() == 1 || b.size() == 1) return true;
  if ((b.rows() == 1 && b.cols() == a.cols()) || (b.cols() == 1 && b.rows() == a.rows())) return true;
  if ((a.rows() == 1 && a.cols() == b.cols()) || (a.cols() == 1 && a.rows() == b.rows())) return true;
  return false;
}

Matrix elementwise(const Matrix& a, const Matrix& b, ArithOp op) {
  if (!broadcastable(a, b))
    throw ValueError(fmt::format("matrix dimensions {}x{} and {}x{} do not combine elementwise", a.rows(), a.cols(),
                                 b.rows(), b.cols()));
  if (a.rows() == b.rows() && a.cols() == b.cols()) {
    switch (op) {
      case ArithOp::Add: return a + b;
      case ArithOp::Sub: return a - b;
      case ArithOp::Mul: return a.cwiseProduct(b);
      case ArithOp::Div: return a.cwiseQuotient(b);
    }
  }
  using Eigen::Index;
  // A dimension of 0 on either side stays 0 (as numpy broadcasts 0 against 1): a 1 x 1
  // operand on a 0 x 0 matrix gives 0 x 0, never a read of the empty one.
  const auto dim = [](Index x, Index y) { return x == 0 || y == 0 ? Index(0) : std::max(x, y); };
  const Index R = dim(a.rows(), b.rows()), C = dim(a.cols(), b.cols());
  Matrix out(R, C);
  for (Index j = 0; j < C; ++j)
    for (Index i = 0; i < R; ++i)
      out(i, j) = apply_op(op, a(a.rows() == 1 ? 0 : i, a.cols() == 1 ? 0 : j), b(b.rows() == 1 ? 0 : i, b.cols() == 1 ? 0 : j));
  return out;
}

Matrix elementwise(const Matrix& a, double s, ArithOp op, bool scalar_first) {
  return a.unaryExpr([&](double x) { return scalar_first ? apply_op(op, s, x) : apply_op(op, x, s); });
}

}  // namespace nl


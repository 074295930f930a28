// bindings/stats/glm.cpp: least squares for many responses, t/F contrasts, group designs.
#include "nl/stats/glm.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "nl/core/core.hpp"

namespace nl::stats {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kEps = std::numeric_limits<double>::epsilon();

// Relative size below which a residual counts as an exact fit (see glm.hpp).
constexpr double kExactFit = 1e-10;

void require_finite(const Matrix& A, const char* what) {
  for (Index j = 0; j < A.cols(); ++j)
    for (Index i = 0; i < A.rows(); ++i)
      if (!std::isfinite(A(i, j)))
        throw ValueError(fmt::format("{}: entry (row {}, column {}) is {}", what, i + 1, j + 1,
                                     std::isnan(A(i, j)) ? "NaN" : "infinite"));
}

}  // namespace

// ---------------------------------------------------------------- fit

GlmFit glm_fit(const Matrix& X, const Matrix& Y) {
  if (X.rows() != Y.rows())
    throw ValueError(fmt::format("design has {} rows but the data have {}", X.rows(), Y.rows()));
  if (X.cols() == 0) throw ValueError("design has no columns");
  if (Y.cols() == 0) throw ValueError("data have no columns");
  require_finite(X, "design");
  require_finite(Y, "data");
  GlmFit f;
  f.n = X.rows();
  f.p = X.cols();
  f.m = Y.cols();

  // Thin SVD X = U S V'; the rank and every derived matrix come from it.
  Eigen::BDCSVD<Matrix> svd(X, Eigen::ComputeThinU | Eigen::ComputeThinV);
  const Vector& s = svd.singularValues();
  const double tol = s.size() > 0 ? s(0) * kEps * static_cast<double>(std::max(f.n, f.p)) : 0.0;
  Index r = 0;
  while (r < s.size() && s(r) > tol) ++r;
  f.rank = r;
  f.df = static_cast<double>(f.n - r);
  if (f.n <= r)
    throw ValueError(fmt::format("too few observations: {} rows for a design of rank {} leave no residual "
                                 "degrees of freedom (need at least {} rows)",
                                 f.n, r, r + 1));
  const Matrix U = svd.matrixU().leftCols(r);
  const Matrix V = svd.matrixV().leftCols(r);
  const Vector inv_s = s.head(r).cwiseInverse();
  f.pinv = V * inv_s.asDiagonal() * U.transpose();
  f.cov_unscaled = V * inv_s.cwiseAbs2().asDiagonal() * V.transpose();
  f.row_basis = V;
  f.beta.noalias() = f.pinv * Y;
  const Matrix resid = Y - X * f.beta;
  f.rss = resid.colwise().squaredNorm().transpose();
  const Vector ysq = Y.colwise().squaredNorm().transpose();
  f.exact.resize(static_cast<std::size_t>(f.m));
  for (Index j = 0; j < f.m; ++j)
    f.exact[static_cast<std::size_t>(j)] = f.rss(j) <= kExactFit * kExactFit * ysq(j);
  return f;
}

// ---------------------------------------------------------------- contrasts

void check_contrast(const GlmFit& fit, const Matrix& C) {
  if (C.rows() == 0) throw ValueError("contrast is empty");
  if (C.cols() != fit.p)
    throw ValueError(fmt::format("contrast has {} entries but the design has {} columns", C.cols(), fit.p));
  for (Index i = 0; i < C.rows(); ++i)
    for (Index j = 0; j < C.cols(); ++j)
      if (!std::isfinite(C(i, j))) throw ValueError(fmt::format("contrast: entry ({}, {}) is not finite", i + 1, j + 1));
  for (Index i = 0; i < C.rows(); ++i) {
    const double norm = C.row(i).norm();
    const std::string which = C.rows() > 1 ? fmt::format(" row {}", i + 1) : std::string();
    if (norm == 0) throw ValueError(fmt::format("contrast{} is all zero", which));
    // The part of the row outside the row space of X.
    const Eigen::RowVectorXd inside = (C.row(i) * fit.row_basis) * fit.row_basis.transpose();
    if ((C.row(i) - inside).norm() > 1e-8 * norm)
      throw ValueError(fmt::format("contrast{} is not estimable: the design is rank-deficient (rank {} for {} "
                                   "columns) and the contrast weighs a combination of columns the data cannot "
                                   "separate",
                                   which, fit.rank, fit.p));
  }
  if (C.rows() > 1) {
    const Matrix proj = C * fit.row_basis;
    Eigen::JacobiSVD<Matrix> svd(proj);
    const Vector& s = svd.singularValues();
    Index k = 0;
    while (k < s.size() && s(k) > 1e-10 * s(0)) ++k;
    if (k < C.rows())
      throw ValueError(fmt::format("F contrast rows are linearly dependent (rank {} for {} rows); drop the "
                                   "redundant rows",
                                   k, C.rows()));
  }
}

TContrast t_contrast(const GlmFit& fit, const Vector& c, Tail tail) {
  check_contrast(fit, c.transpose());
  TContrast out;
  out.df = fit.df;
  const double v = c.dot(fit.cov_unscaled * c);
  out.effect = (c.transpose() * fit.beta).transpose();
  out.se.resize(fit.m);
  out.t.resize(fit.m);
  out.p.resize(fit.m);
  for (Index j = 0; j < fit.m; ++j) {
    if (fit.exact[static_cast<std::size_t>(j)]) {
      out.se(j) = 0.0;
      out.t(j) = out.p(j) = kNaN;
      continue;
    }
    out.se(j) = std::sqrt(v * fit.rss(j) / fit.df);
    out.t(j) = out.effect(j) / out.se(j);
    out.p(j) = t_pvalue(out.t(j), fit.df, tail);
  }
  return out;
}

FContrast f_contrast(const GlmFit& fit, const Matrix& C) {
  check_contrast(fit, C);
  FContrast out;
  const auto s = static_cast<double>(C.rows());
  out.df1 = s;
  out.df2 = fit.df;
  // F_j = |R^{-T} C b_j|^2 / (s sigma_j^2) with C D C' = R'R.
  const Matrix W = C * fit.cov_unscaled * C.transpose();
  Eigen::LLT<Matrix> llt(W);
  if (llt.info() != Eigen::Success) throw ValueError("F contrast: C (X'X)^+ C' is not positive definite");
  const Matrix Z = llt.matrixL().solve(C * fit.beta);
  const Vector q = Z.colwise().squaredNorm().transpose();
  out.F.resize(fit.m);
  out.p.resize(fit.m);
  for (Index j = 0; j < fit.m; ++j) {
    if (fit.exact[static_cast<std::size_t>(j)]) {
      out.F(j) = out.p(j) = kNaN;
      continue;
    }
    out.F(j) = q(j) / (s * fit.rss(j) / fit.df);
    out.p(j) = f_upper(out.F(j), out.df1, out.df2);
  }
  return out;
}

// ---------------------------------------------------------------- designs

namespace {

// Appends the centred covariates to X from column `first` on.
void add_covariates(Design& d, Index first, const Matrix& cov, const std::vector<std::string>& cov_names) {
  if (cov.cols() > 0 && cov.rows() != d.X.rows())
    throw ValueError(fmt::format("covariates have {} rows but the design has {}", cov.rows(), d.X.rows()));
  if (static_cast<Index>(cov_names.size()) != cov.cols())
    throw ValueError(fmt::format("{} covariate names for {} covariates", cov_names.size(), cov.cols()));
  require_finite(cov, "covariates");
  for (Index j = 0; j < cov.cols(); ++j) {
    d.X.col(first + j) = cov.col(j).array() - cov.col(j).mean();
    d.names.push_back(cov_names[static_cast<std::size_t>(j)]);
  }
}

}  // namespace

Design one_sample_design(Index n, const Matrix& cov, const std::vector<std::string>& cov_names) {
  if (n < 2) throw ValueError(fmt::format("a one-sample design needs at least 2 observations, got {}", n));
  Design d;
  d.X.resize(n, 1 + cov.cols());
  d.X.col(0).setOnes();
  d.names = {"mean"};
  add_covariates(d, 1, cov, cov_names);
  d.contrast = Matrix::Zero(1, d.X.cols());
  d.contrast(0, 0) = 1;
  d.scheme = Exchange::SignFlip;
  d.description = "one-sample: mean";
  return d;
}

Design two_sample_design(const std::vector<int>& group, const std::string& level0, const std::string& level1,
                         const Matrix& cov, const std::vector<std::string>& cov_names) {
  const auto n = static_cast<Index>(group.size());
  Index n0 = 0, n1 = 0;
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (group[i] != 0 && group[i] != 1)
      throw ValueError(fmt::format("group: entry {} is {}, expected 0 or 1", i + 1, group[i]));
    (group[i] == 0 ? n0 : n1) += 1;
  }
  if (n0 == 0 || n1 == 0)
    throw ValueError(fmt::format("group: both groups need observations ({} '{}', {} '{}')", n0, level0, n1, level1));
  Design d;
  d.X.resize(n, 2 + cov.cols());
  for (Index i = 0; i < n; ++i) {
    d.X(i, 0) = group[static_cast<std::size_t>(i)] == 0 ? 1.0 : 0.0;
    d.X(i, 1) = 1.0 - d.X(i, 0);
  }
  d.names = {level0, level1};
  add_covariates(d, 2, cov, cov_names);
  d.contrast = Matrix::Zero(1, d.X.cols());
  d.contrast(0, 0) = 1;
  d.contrast(0, 1) = -1;
  d.scheme = Exchange::Permute;
  d.description = fmt::format("two-sample: {} - {}", level0, level1);
  return d;
}

Design paired_design(const std::vector<int>& subject, const std::vector<int>& condition, const std::string& level0,
                     const std::string& level1, const std::vector<std::string>& subject_names, const Matrix& cov,
                     const std::vector<std::string>& cov_names) {
  if (subject.size() != condition.size())
    throw ValueError(fmt::format("{} subjects for {} conditions", subject.size(), condition.size()));
  const auto S = static_cast<Index>(subject_names.size());
  const auto n = static_cast<Index>(subject.size());
  std::vector<int> seen(static_cast<std::size_t>(2 * S), 0);
  for (std::size_t i = 0; i < subject.size(); ++i) {
    if (subject[i] < 0 || subject[i] >= S) throw ValueError(fmt::format("subject: entry {} is out of range", i + 1));
    if (condition[i] != 0 && condition[i] != 1)
      throw ValueError(fmt::format("condition: entry {} is {}, expected 0 or 1", i + 1, condition[i]));
    ++seen[static_cast<std::size_t>(2 * subject[i] + condition[i])];
  }
  for (Index s = 0; s < S; ++s) {
    const int a = seen[static_cast<std::size_t>(2 * s)], b = seen[static_cast<std::size_t>(2 * s + 1)];
    if (a != 1 || b != 1)
      throw ValueError(fmt::format("subject '{}' has {} row(s) for '{}' and {} for '{}'; a paired design needs "
                                   "exactly one of each",
                                   subject_names[static_cast<std::size_t>(s)], a, level0, b, level1));
  }
  if (S < 2) throw ValueError(fmt::format("a paired design needs at least 2 subjects, got {}", S));
  Design d;
  d.X = Matrix::Zero(n, 1 + S + cov.cols());
  for (Index i = 0; i < n; ++i) {
    d.X(i, 0) = condition[static_cast<std::size_t>(i)] == 0 ? 0.5 : -0.5;
    d.X(i, 1 + subject[static_cast<std::size_t>(i)]) = 1.0;
  }
  d.names.push_back(fmt::format("{} - {}", level0, level1));
  for (const auto& s : subject_names) d.names.push_back("subject " + s);
  add_covariates(d, 1 + S, cov, cov_names);
  d.contrast = Matrix::Zero(1, d.X.cols());
  d.contrast(0, 0) = 1;
  d.scheme = Exchange::Permute;
  d.blocks = subject;
  d.description = fmt::format("paired: {} - {}", level0, level1);
  return d;
}

}  // namespace nl::stats

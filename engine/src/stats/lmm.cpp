// stats/lmm.cpp: fitting linear mixed models (see nl/stats/lmm.hpp for the model, the
// profiled criteria and the inference). The table interface and the printed summary are
// in stats/lmm_model.cpp.
#include <fmt/format.h>

#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <functional>
#include <limits>
#include <numbers>

#include <Eigen/SparseCholesky>

#include "nl/core/core.hpp"
#include "nl/core/warnings.hpp"
#include "nl/stats/lmm.hpp"
#include "stats/lmm_optim.hpp"

namespace nl::stats {

namespace {

using lmm_detail::Derivatives;
using lmm_detail::derivatives;
using lmm_detail::Optimiser;

// A notice from a string literal, built out of line: inlined here, GCC 12 at -O3 reports
// a false -Warray-bounds on copying a long literal into a std::string (GCC PR 105651).
[[gnu::noinline]] void add_notice(std::vector<std::string>& notices, const char* text) { notices.emplace_back(text); }

using Index = Eigen::Index;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kLog2Pi = 1.8378770664093454836;  // log(2 pi)

// ---------------------------------------------------------------- cross-products

using Sparse = Eigen::SparseMatrix<double>;

// The fixed structure of a model: Z (sparse), its cross-products, and where each term's
// theta and columns sit. One evaluation of the criterion costs a sparse Cholesky
// factorisation of Lambda'Z'Z Lambda + I, a few solves and one pass over the data.
struct Cross {
  Index n = 0, p = 0, Q = 0, nt = 0;
  std::vector<Index> col0, q, levels, theta0;  // per term: first column of Z, q, l, first theta
  Sparse Z, ZtZ;
  Matrix ZtX, XtX;
  Vector Zty, Xty;
};

Cross cross_products(const LmmData& d) {
  Cross c;
  c.n = d.X.rows();
  c.p = d.X.cols();
  std::vector<Eigen::Triplet<double>> trip;
  for (const LmmTerm& t : d.terms) {
    const Index q = t.Z.cols();
    c.col0.push_back(c.Q);
    c.q.push_back(q);
    c.levels.push_back(t.levels);
    c.theta0.push_back(c.nt);
    for (Index i = 0; i < c.n; ++i)
      for (Index j = 0; j < q; ++j)
        if (t.Z(i, j) != 0.0) trip.emplace_back(i, c.Q + t.level[static_cast<std::size_t>(i)] * q + j, t.Z(i, j));
    c.Q += t.levels * q;
    c.nt += q * (q + 1) / 2;
  }
  c.Z.resize(c.n, c.Q);
  c.Z.setFromTriplets(trip.begin(), trip.end());
  c.ZtZ = Sparse(c.Z.transpose()) * c.Z;
  c.ZtX = c.Z.transpose() * d.X;
  c.Zty = c.Z.transpose() * d.y;
  c.XtX = d.X.transpose() * d.X;
  c.Xty = d.X.transpose() * d.y;
  return c;
}

// T (q x q lower triangular) from its theta, lme4's column-major lower triangle.
Matrix lambda_of(const Vector& theta, Index q) {
  Matrix T = Matrix::Zero(q, q);
  Index k = 0;
  for (Index j = 0; j < q; ++j)
    for (Index i = j; i < q; ++i) T(i, j) = theta(k++);
  return T;
}

Matrix term_lambda(const Cross& c, const Vector& theta, std::size_t k) {
  const Index q = c.q[k];
  return lambda_of(theta.segment(c.theta0[k], q * (q + 1) / 2), q);
}

// Lambda (Q x Q), block diagonal with I_l (x) T_k.
Sparse big_lambda(const Cross& c, const Vector& theta) {
  std::vector<Eigen::Triplet<double>> trip;
  for (std::size_t k = 0; k < c.q.size(); ++k) {
    const Matrix T = term_lambda(c, theta, k);
    const Index q = c.q[k];
    for (Index g = 0; g < c.levels[k]; ++g)
      for (Index j = 0; j < q; ++j)
        for (Index i = j; i < q; ++i)
          if (T(i, j) != 0.0) trip.emplace_back(c.col0[k] + g * q + i, c.col0[k] + g * q + j, T(i, j));
  }
  Sparse Lam(c.Q, c.Q);
  Lam.setFromTriplets(trip.begin(), trip.end());
  return Lam;
}

// ---------------------------------------------------------------- the penalised least squares solve

struct Solve {
  bool ok = false;
  double r2 = 0, ldL2 = 0, ldRX2 = 0;
  Vector beta;
  Matrix RXtRX_inv;  // (R_X' R_X)^-1, filled when asked
  Vector b;          // conditional modes Lambda u (Q)
};

Solve solve_pls(const LmmData& d, const Cross& c, const Vector& theta, bool want_inverse) {
  Solve s;
  const Sparse Lam = big_lambda(c, theta);
  const Sparse LamT = Lam.transpose();
  Sparse M = LamT * c.ZtZ * Lam;
  Sparse I(c.Q, c.Q);
  I.setIdentity();
  M += I;
  Eigen::SimplicialLLT<Sparse, Eigen::Lower, Eigen::AMDOrdering<int>> chol(M);
  if (chol.info() != Eigen::Success) return s;
  const Sparse& Lf = chol.matrixL().nestedExpression();
  for (Index j = 0; j < Lf.outerSize(); ++j) {
    const double djj = Lf.coeff(j, j);
    if (!(djj > 0)) return s;
    s.ldL2 += 2.0 * std::log(djj);
  }
  const Matrix RZX = chol.matrixL().solve(chol.permutationP() * (LamT * c.ZtX));
  const Vector cu = chol.matrixL().solve(chol.permutationP() * (LamT * c.Zty));
  if (c.p > 0) {  // (p = 0: a profile of the only fixed effect)
    const Matrix A = c.XtX - RZX.transpose() * RZX;
    Eigen::LLT<Matrix> RX(A);
    if (RX.info() != Eigen::Success) return s;
    const Vector diag = RX.matrixLLT().diagonal();
    if (!(diag.minCoeff() > 0)) return s;
    s.ldRX2 = 2.0 * diag.array().log().sum();
    s.beta = RX.solve(c.Xty - RZX.transpose() * cu);
    if (want_inverse) s.RXtRX_inv = RX.solve(Matrix::Identity(c.p, c.p));
  } else {
    s.beta = Vector(0);
  }
  const Vector u = chol.permutationPinv() * Vector(chol.matrixU().solve(cu - RZX * s.beta));
  s.b = Lam * u;
  // r^2 from the residuals themselves (not y'y - c'c, which cancels when y has a large mean).
  const Vector e = d.y - d.X * s.beta - c.Z * s.b;
  s.r2 = e.squaredNorm() + u.squaredNorm();
  s.ok = std::isfinite(s.r2) && s.r2 > 0;
  return s;
}

double profiled(const Solve& s, const Cross& c, bool reml) {
  if (!s.ok) return kInf;
  if (reml) {
    const auto m = static_cast<double>(c.n - c.p);
    return s.ldL2 + s.ldRX2 + m * (1.0 + kLog2Pi + std::log(s.r2 / m));
  }
  const auto n = static_cast<double>(c.n);
  return s.ldL2 + n * (1.0 + kLog2Pi + std::log(s.r2 / n));
}

double t_pvalue(double t, double df) {
  if (!std::isfinite(t) || !(df > 0)) return std::numeric_limits<double>::quiet_NaN();
  boost::math::students_t dist(df);
  return 2.0 * boost::math::cdf(boost::math::complement(dist, std::abs(t)));
}

// ---------------------------------------------------------------- Satterthwaite

// lmerTest's ingredients: the unprofiled deviance D(theta, sigma) (its devfun_vp), A =
// 2 H^-1 at the optimum, and Var(beta)(theta, sigma) = sigma^2 (R_X'R_X)^-1
// differentiated numerically (Richardson, numDeriv's steps) in each theta_i; its
// derivative in sigma is 2 Var(beta) / sigma.
void satterthwaite_parts(const LmmData& d, const Cross& c, LmmFit& fit) {
  const Index nt = fit.theta.size();
  Vector psi(nt + 1);
  psi.head(nt) = fit.theta;
  psi(nt) = fit.sigma;
  const bool reml = fit.reml;
  auto deviance = [&](const Vector& v) {
    const Solve s = solve_pls(d, c, v.head(nt), false);
    if (!s.ok) return kInf;
    const double sigma2 = v(nt) * v(nt);
    double dev = s.ldL2 + s.r2 / sigma2 + static_cast<double>(c.n) * (kLog2Pi + std::log(sigma2));
    if (reml) dev += s.ldRX2 - static_cast<double>(c.p) * (kLog2Pi + std::log(sigma2));
    return dev;
  };
  std::vector<Index> all(static_cast<std::size_t>(nt + 1));
  for (Index i = 0; i <= nt; ++i) all[static_cast<std::size_t>(i)] = i;
  const Matrix H = derivatives(deviance, psi, all, true).H;
  Eigen::SelfAdjointEigenSolver<Matrix> es(H);
  if (es.eigenvalues().minCoeff() > 0) {
    fit.varpar_cov = 2.0 * H.inverse();
  } else {
    fit.varpar_cov = Matrix::Constant(nt + 1, nt + 1, std::numeric_limits<double>::quiet_NaN());
    add_notice(fit.notices, "Satterthwaite df are NaN: the Hessian of the deviance is not positive definite at the "
                            "optimum (a variance at its bound 0?)");
  }
  fit.vcov_jacobian.assign(static_cast<std::size_t>(nt + 1), Matrix::Zero(c.p, c.p));
  auto vcov_at = [&](const Vector& th) {
    const Solve s = solve_pls(d, c, th, true);
    return s.ok ? Matrix(fit.sigma * fit.sigma * s.RXtRX_inv)
                : Matrix::Constant(c.p, c.p, std::numeric_limits<double>::quiet_NaN());
  };
  for (Index i = 0; i < nt; ++i) {
    std::vector<Matrix> gs;
    double h = 0.1 * std::abs(fit.theta(i)) + 1e-4;
    for (int l = 0; l < 4; ++l, h /= 2) {
      Vector tp = fit.theta, tm = fit.theta;
      tp(i) += h;
      tm(i) -= h;
      gs.push_back((vcov_at(tp) - vcov_at(tm)) / (2 * h));
    }
    double pow4 = 4.0;
    for (std::size_t m = 1; m < gs.size(); ++m, pow4 *= 4.0)
      for (std::size_t k = 0; k + m < gs.size(); ++k) gs[k] = (pow4 * gs[k + 1] - gs[k]) / (pow4 - 1.0);
    fit.vcov_jacobian[static_cast<std::size_t>(i)] = gs[0];
  }
  fit.vcov_jacobian[static_cast<std::size_t>(nt)] = 2.0 * fit.vcov / fit.sigma;
}

double df_of(const LmmFit& fit, const Vector& l) {
  const Index k = fit.varpar_cov.rows();
  Vector g(k);
  for (Index i = 0; i < k; ++i) g(i) = l.dot(fit.vcov_jacobian[static_cast<std::size_t>(i)] * l);
  const double v = l.dot(fit.vcov * l);
  return 2.0 * v * v / g.dot(fit.varpar_cov * g);
}

}  // namespace

// ---------------------------------------------------------------- public

double lmm_criterion(const LmmData& d, const Vector& theta, bool reml) {
  const Cross c = cross_products(d);
  return profiled(solve_pls(d, c, theta, false), c, reml);
}

double satterthwaite_df(const LmmData& d, LmmFit& fit, const Vector& l) {
  if (fit.vcov_jacobian.empty()) satterthwaite_parts(d, cross_products(d), fit);
  return df_of(fit, l);
}

LmmFit fit_lmm(const LmmData& d, const LmmOptions& o) {
  const Index n = d.X.rows(), p = d.X.cols();
  if (d.y.size() != n) throw ValueError("lmm: y and X have different numbers of observations");
  if (d.terms.empty()) throw ValueError("lmm: no random-effect term");
  for (std::size_t k = 0; k < d.terms.size(); ++k) {
    const LmmTerm& t = d.terms[k];
    const Index q = t.Z.cols(), G = t.levels;
    if (t.Z.rows() != n || static_cast<Index>(t.level.size()) != n)
      throw ValueError(fmt::format("lmm: random term {} has a different number of observations", k + 1));
    if (q < 1) throw ValueError(fmt::format("lmm: random term {} has no column", k + 1));
    if (G < 2)
      throw ValueError(fmt::format("lmm: the grouping factor of random term {} must have at least 2 levels, it has {}",
                                   k + 1, G));
    if (n <= G * q)
      throw ValueError(fmt::format("lmm: {} observations for {} random effects of term {} ({} levels x {}); the model "
                                   "is not identifiable",
                                   n, G * q, k + 1, G, q));
    for (Index i = 0; i < n; ++i)
      if (t.level[static_cast<std::size_t>(i)] < 0 || t.level[static_cast<std::size_t>(i)] >= G)
        throw ValueError("lmm: a group index is out of range");
    if (!t.Z.allFinite()) throw ValueError("lmm: non-finite values in Z");
  }
  if (n <= p) throw ValueError(fmt::format("lmm: {} observations for {} fixed effects", n, p));
  if (!d.y.allFinite() || !d.X.allFinite()) throw ValueError("lmm: non-finite values in y or X");
  if (p > 0) {
    Eigen::ColPivHouseholderQR<Matrix> qr(d.X);
    qr.setThreshold(1e-10);
    if (qr.rank() < p) throw ValueError("lmm: the fixed-effects design is rank deficient");
  }

  const Cross c = cross_products(d);
  LmmFit fit;
  fit.reml = o.reml;
  fit.df_method = o.df;
  fit.n = n;
  fit.p = p;
  fit.q = c.q;
  fit.levels = c.levels;

  // theta: the T_k's lower triangles; diagonal entries bounded below by 0.
  const Index nt = c.nt;
  Vector theta0 = Vector::Zero(nt), lower = Vector::Constant(nt, -kInf);
  for (std::size_t k = 0; k < c.q.size(); ++k)
    for (Index j = 0, i0 = c.theta0[k]; j < c.q[k]; ++j)
      for (Index i = j; i < c.q[k]; ++i, ++i0)
        if (i == j) theta0(i0) = 1.0, lower(i0) = 0.0;
  Optimiser opt;
  opt.f = [&](const Vector& th) { return profiled(solve_pls(d, c, th, false), c, o.reml); };
  opt.lower = lower;
  opt.max_evaluations = o.max_evaluations;
  double fx = 0;
  const bool warm = o.start.size() == nt;
  Vector theta = opt.nelder_mead(warm ? Vector(o.start.cwiseMax(lower)) : theta0, warm ? 0.05 : 0.25, fx);
  theta = opt.nelder_mead(theta, warm ? 0.01 : 0.05, fx);
  double grad = kInf;
  theta = opt.newton(theta, fx, grad);
  // A coordinate that sits within rounding of its bound is put on it.
  for (Index k = 0; k < nt; ++k)
    if (lower(k) == 0 && theta(k) < 1e-10) theta(k) = 0;
  fx = opt.f(theta);
  fit.evaluations = opt.evaluations;
  // Converged: a small gradient, or lme4's criterion (the gradient scaled by the Hessian's
  // Cholesky factor below 0.002), which does not grow with the criterion's magnitude (a
  // REML criterion of 37,000 at 10,000 observations has an absolute gradient of 1e-3 at
  // its optimum within rounding).
  fit.converged = (grad < 1e-3 || opt.scaled_gradient < 2e-3) && opt.evaluations < o.max_evaluations;
  if (!fit.converged)
    fit.notices.push_back(fmt::format("the optimiser stopped after {} evaluations with gradient {:.3g} (scaled {:.3g})",
                                      opt.evaluations, grad, opt.scaled_gradient));
  solver_outcome("LMM", fit.converged,
                 fmt::format("(optimiser stopped after {} evaluations, gradient {:.3g}, scaled {:.3g})", opt.evaluations,
                             grad, opt.scaled_gradient),
                 "rescale the predictors or simplify the random effects; see the fit's notices_");

  const Solve s = solve_pls(d, c, theta, true);
  if (!s.ok) throw ValueError("lmm: the model could not be fitted (the penalised least squares system is singular)");
  fit.theta = theta;
  fit.criterion = fx;
  const double m = o.reml ? static_cast<double>(n - p) : static_cast<double>(n);
  const double sigma2 = s.r2 / m;
  fit.sigma = std::sqrt(sigma2);
  fit.beta = s.beta;
  fit.vcov = sigma2 * s.RXtRX_inv;
  fit.se = fit.vcov.diagonal().cwiseSqrt();
  fit.t = fit.beta.cwiseQuotient(fit.se);
  for (std::size_t k = 0; k < c.q.size(); ++k) {
    const Matrix T = term_lambda(c, theta, k);
    fit.random_cov.push_back(sigma2 * T * T.transpose());
    // b is level-major within the term: levels x q, row g = b[col0 + g q, ..., + q - 1].
    Matrix B(c.levels[k], c.q[k]);
    for (Index g = 0; g < c.levels[k]; ++g) B.row(g) = s.b.segment(c.col0[k] + g * c.q[k], c.q[k]).transpose();
    fit.ranef.push_back(B);
    // lme4's isSingular(): a diagonal entry of a T_k within 1e-4 of its bound 0.
    for (Index j = 0; j < c.q[k]; ++j)
      if (T(j, j) < 1e-4) fit.singular = true;
  }
  fit.fitted = d.X * fit.beta + c.Z * s.b;
  fit.residuals = d.y - fit.fitted;
  if (fit.singular)
    add_notice(fit.notices, "singular fit: a random-effect variance is (nearly) 0 or a correlation (nearly) +-1");

  const double k = static_cast<double>(p + nt + 1);
  fit.loglik = -fx / 2.0;
  fit.aic = fx + 2.0 * k;
  fit.bic = fx + k * std::log(static_cast<double>(n));

  if (o.df == DfMethod::Satterthwaite) {
    satterthwaite_parts(d, c, fit);
    fit.df = Vector(p);
    for (Index j = 0; j < p; ++j) fit.df(j) = df_of(fit, Vector::Unit(p, j));
  } else {
    fit.df = Vector::Constant(p, static_cast<double>(n - p));
  }
  fit.p_value = Vector(p);
  for (Index j = 0; j < p; ++j) fit.p_value(j) = t_pvalue(fit.t(j), fit.df(j));
  return fit;
}

// ---------------------------------------------------------------- the evaluator

namespace lmm_detail {

struct Evaluator::Impl {
  const LmmData& d;
  Cross c;
};

Evaluator::Evaluator(const LmmData& d) : impl_(std::make_unique<Impl>(Impl{d, cross_products(d)})) {}
Evaluator::~Evaluator() = default;

double Evaluator::criterion(const Vector& theta, bool reml) const {
  return profiled(solve_pls(impl_->d, impl_->c, theta, false), impl_->c, reml);
}

double Evaluator::ml_deviance(const Vector& theta, double sigma) const {
  const Solve s = solve_pls(impl_->d, impl_->c, theta, false);
  if (!s.ok || !(sigma > 0)) return kInf;
  const double sigma2 = sigma * sigma;
  return s.ldL2 + s.r2 / sigma2 + static_cast<double>(impl_->c.n) * (kLog2Pi + std::log(sigma2));
}

const std::vector<Index>& Evaluator::theta0() const { return impl_->c.theta0; }
const std::vector<Index>& Evaluator::q() const { return impl_->c.q; }

}  // namespace lmm_detail

}  // namespace nl::stats

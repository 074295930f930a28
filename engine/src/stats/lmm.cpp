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

#include "nl/core/core.hpp"
#include "nl/core/warnings.hpp"
#include "nl/stats/lmm.hpp"

namespace nl::stats {

namespace {

// A notice from a string literal, built out of line: inlined here, GCC 12 at -O3 reports
// a false -Warray-bounds on copying a long literal into a std::string (GCC PR 105651).
[[gnu::noinline]] void add_notice(std::vector<std::string>& notices, const char* text) { notices.emplace_back(text); }

using Index = Eigen::Index;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kLog2Pi = 1.8378770664093454836;  // log(2 pi)

// ---------------------------------------------------------------- cross-products

// Per-group cross-products: each evaluation of the criterion costs O(G q^3 + G q p^2 +
// p^3) on these, plus one pass over the data for the residual sum of squares.
struct Cross {
  Index n = 0, p = 0, q = 0, G = 0;
  std::vector<Matrix> ZtZ, ZtX;
  std::vector<Vector> Zty;
  Matrix XtX;
  Vector Xty;
};

Cross cross_products(const LmmData& d) {
  Cross c;
  c.n = d.X.rows();
  c.p = d.X.cols();
  c.q = d.Z.cols();
  c.G = d.groups;
  c.ZtZ.assign(static_cast<std::size_t>(c.G), Matrix::Zero(c.q, c.q));
  c.ZtX.assign(static_cast<std::size_t>(c.G), Matrix::Zero(c.q, c.p));
  c.Zty.assign(static_cast<std::size_t>(c.G), Vector::Zero(c.q));
  for (Index i = 0; i < c.n; ++i) {
    const auto g = static_cast<std::size_t>(d.group[static_cast<std::size_t>(i)]);
    c.ZtZ[g].noalias() += d.Z.row(i).transpose() * d.Z.row(i);
    c.ZtX[g].noalias() += d.Z.row(i).transpose() * d.X.row(i);
    c.Zty[g].noalias() += d.Z.row(i).transpose() * d.y(i);
  }
  c.XtX = d.X.transpose() * d.X;
  c.Xty = d.X.transpose() * d.y;
  return c;
}

// T (q x q lower triangular) from theta, lme4's column-major lower triangle.
Matrix lambda_of(const Vector& theta, Index q) {
  Matrix T = Matrix::Zero(q, q);
  Index k = 0;
  for (Index j = 0; j < q; ++j)
    for (Index i = j; i < q; ++i) T(i, j) = theta(k++);
  return T;
}

// ---------------------------------------------------------------- the penalised least squares solve

struct Solve {
  bool ok = false;
  double r2 = 0, ldL2 = 0, ldRX2 = 0;
  Vector beta;
  Matrix RXtRX_inv;  // (R_X' R_X)^-1, filled when asked
  Matrix u;          // G x q spherical random effects
};

Solve solve_pls(const LmmData& d, const Cross& c, const Vector& theta, bool want_inverse) {
  Solve s;
  const Matrix T = lambda_of(theta, c.q);
  std::vector<Eigen::LLT<Matrix>> Lg(static_cast<std::size_t>(c.G));
  std::vector<Matrix> RZX(static_cast<std::size_t>(c.G));
  std::vector<Vector> cu(static_cast<std::size_t>(c.G));
  Matrix A = c.XtX;
  Vector rhs = c.Xty;
  for (Index g = 0; g < c.G; ++g) {
    const auto gi = static_cast<std::size_t>(g);
    Matrix M = T.transpose() * c.ZtZ[gi] * T;
    M.diagonal().array() += 1.0;
    Lg[gi].compute(M);
    if (Lg[gi].info() != Eigen::Success) return s;
    const auto L = Lg[gi].matrixL();
    RZX[gi] = L.solve(T.transpose() * c.ZtX[gi]);
    cu[gi] = L.solve(T.transpose() * c.Zty[gi]);
    A.noalias() -= RZX[gi].transpose() * RZX[gi];
    rhs.noalias() -= RZX[gi].transpose() * cu[gi];
    s.ldL2 += 2.0 * Lg[gi].matrixLLT().diagonal().array().log().sum();
  }
  Eigen::LLT<Matrix> RX(A);
  if (RX.info() != Eigen::Success) return s;
  const Vector diag = RX.matrixLLT().diagonal();
  if (!(diag.minCoeff() > 0)) return s;
  s.ldRX2 = 2.0 * diag.array().log().sum();
  s.beta = RX.solve(rhs);
  if (want_inverse) s.RXtRX_inv = RX.solve(Matrix::Identity(c.p, c.p));
  s.u.resize(c.G, c.q);
  double pen = 0;
  for (Index g = 0; g < c.G; ++g) {
    const auto gi = static_cast<std::size_t>(g);
    const Vector ug = Lg[gi].matrixU().solve(cu[gi] - RZX[gi] * s.beta);
    s.u.row(g) = ug.transpose();
    pen += ug.squaredNorm();
  }
  // r^2 from the residuals themselves (not y'y - c'c, which cancels when y has a large mean).
  const Matrix B = s.u * T.transpose();  // G x q conditional modes b = T u
  const Vector fit = d.X * s.beta;
  double rss = 0;
  for (Index i = 0; i < c.n; ++i) {
    const Index g = d.group[static_cast<std::size_t>(i)];
    const double e = d.y(i) - fit(i) - d.Z.row(i).dot(B.row(g));
    rss += e * e;
  }
  s.r2 = rss + pen;
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

// ---------------------------------------------------------------- numerical derivatives

// Richardson-extrapolated central differences (four step halvings from h0 = 0.1 |x| +
// 1e-4, as numDeriv's defaults, which lmerTest uses): gradient and Hessian of f at x
// over the coordinates in `free`.
struct Derivatives {
  Vector g;
  Matrix H;
};

double richardson(const std::vector<double>& a) {
  std::vector<double> t = a;
  double pow4 = 4.0;
  for (std::size_t m = 1; m < t.size(); ++m, pow4 *= 4.0)
    for (std::size_t i = 0; i + m < t.size(); ++i) t[i] = (pow4 * t[i + 1] - t[i]) / (pow4 - 1.0);
  return t[0];
}

Derivatives derivatives(const std::function<double(const Vector&)>& f, const Vector& x,
                        const std::vector<Index>& free, bool want_hessian) {
  const auto k = static_cast<Index>(free.size());
  Derivatives d;
  d.g = Vector::Zero(k);
  d.H = Matrix::Zero(k, k);
  constexpr int levels = 4;
  const double f0 = want_hessian ? f(x) : 0.0;
  auto step0 = [&](Index i) { return 0.1 * std::abs(x(i)) + 1e-4; };
  for (Index a = 0; a < k; ++a) {
    const Index i = free[static_cast<std::size_t>(a)];
    std::vector<double> gs, hs;
    double h = step0(i);
    for (int l = 0; l < levels; ++l, h /= 2) {
      Vector xp = x, xm = x;
      xp(i) += h;
      xm(i) -= h;
      const double fp = f(xp), fm = f(xm);
      gs.push_back((fp - fm) / (2 * h));
      if (want_hessian) hs.push_back((fp - 2 * f0 + fm) / (h * h));
    }
    d.g(a) = richardson(gs);
    if (want_hessian) d.H(a, a) = richardson(hs);
  }
  if (want_hessian) {
    for (Index a = 0; a < k; ++a)
      for (Index b = a + 1; b < k; ++b) {
        const Index i = free[static_cast<std::size_t>(a)], j = free[static_cast<std::size_t>(b)];
        std::vector<double> hs;
        double hi = step0(i), hj = step0(j);
        for (int l = 0; l < levels; ++l, hi /= 2, hj /= 2) {
          auto at = [&](double si, double sj) {
            Vector y = x;
            y(i) += si * hi;
            y(j) += sj * hj;
            return f(y);
          };
          hs.push_back((at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / (4 * hi * hj));
        }
        d.H(a, b) = d.H(b, a) = richardson(hs);
      }
  }
  return d;
}

// ---------------------------------------------------------------- optimiser

// Bounded Nelder-Mead (standard coefficients 1, 2, 1/2, 1/2); trial points are
// projected onto the bounds. Stops when the simplex' values agree to ftol and its
// vertices to xtol, or after max_eval evaluations.
struct Optimiser {
  std::function<double(const Vector&)> f;
  Vector lower;
  int evaluations = 0, max_evaluations = 20000;

  double eval(const Vector& x) {
    if (++evaluations % 16 == 0) check_interrupt();  // one evaluation solves the whole system
    return f(x);
  }
  Vector project(Vector x) const { return x.cwiseMax(lower); }

  Vector nelder_mead(const Vector& x0, double step, double& fbest) {
    const Index k = x0.size();
    std::vector<Vector> xs(static_cast<std::size_t>(k + 1), x0);
    std::vector<double> fs(static_cast<std::size_t>(k + 1));
    for (Index i = 0; i < k; ++i) {
      Vector x = x0;
      x(i) += step;
      xs[static_cast<std::size_t>(i + 1)] = project(x);
    }
    for (std::size_t i = 0; i < xs.size(); ++i) fs[i] = eval(xs[i]);
    std::vector<std::size_t> order(xs.size());
    while (evaluations < max_evaluations) {
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return fs[a] < fs[b]; });
      const std::size_t best = order.front(), worst = order.back(), second = order[order.size() - 2];
      double size = 0;
      for (const Vector& x : xs) size = std::max(size, (x - xs[best]).cwiseAbs().maxCoeff());
      if (fs[worst] - fs[best] <= 1e-12 * (std::abs(fs[best]) + 1e-12) && size <= 1e-9) break;
      Vector centroid = Vector::Zero(k);
      for (std::size_t i = 0; i < xs.size(); ++i)
        if (i != worst) centroid += xs[i];
      centroid /= static_cast<double>(k);
      const Vector xr = project(centroid + (centroid - xs[worst]));
      const double fr = eval(xr);
      if (fr < fs[best]) {
        const Vector xe = project(centroid + 2.0 * (centroid - xs[worst]));
        const double fe = eval(xe);
        if (fe < fr) xs[worst] = xe, fs[worst] = fe;
        else xs[worst] = xr, fs[worst] = fr;
      } else if (fr < fs[second]) {
        xs[worst] = xr, fs[worst] = fr;
      } else {
        const bool outside = fr < fs[worst];
        const Vector xc = project(outside ? centroid + 0.5 * (xr - centroid) : centroid + 0.5 * (xs[worst] - centroid));
        const double fc = eval(xc);
        if (fc < std::min(fr, fs[worst])) {
          xs[worst] = xc, fs[worst] = fc;
        } else {
          for (std::size_t i = 0; i < xs.size(); ++i) {
            if (i == best) continue;
            xs[i] = project(xs[best] + 0.5 * (xs[i] - xs[best]));
            fs[i] = eval(xs[i]);
          }
        }
      }
    }
    const auto it = std::min_element(fs.begin(), fs.end());
    fbest = *it;
    return xs[static_cast<std::size_t>(it - fs.begin())];
  }

  // Coordinates that may move: off the bound, or on it with the criterion falling
  // into the feasible side.
  std::vector<Index> free_set(const Vector& x) {
    std::vector<Index> free;
    for (Index i = 0; i < x.size(); ++i) {
      if (x(i) > lower(i)) {
        free.push_back(i);
        continue;
      }
      Vector y = x;
      const double h = 1e-6;
      y(i) += h;
      if (eval(y) < eval(x)) free.push_back(i);
    }
    return free;
  }

  // Newton steps with a backtracking line search on the free coordinates.
  Vector newton(Vector x, double& fx, double& grad_norm) {
    grad_norm = kInf;
    for (int iter = 0; iter < 50 && evaluations < max_evaluations; ++iter) {
      const std::vector<Index> free = free_set(x);
      // A free coordinate on its bound is moved inside first: the criterion is often
      // symmetric about 0 there (T and -T give the same model), so its central
      // derivative vanishes and Newton could not leave the bound.
      bool nudged = false;
      for (Index i : free) {
        if (x(i) > lower(i)) continue;
        Vector y = x;
        y(i) = lower(i) + 1e-3;
        const double fy = eval(y);
        if (fy < fx) x = y, fx = fy, nudged = true;
      }
      if (nudged) continue;
      if (free.empty()) {
        grad_norm = 0;
        break;
      }
      const Derivatives d = derivatives([this](const Vector& y) { return eval(y); }, x, free, true);
      grad_norm = d.g.cwiseAbs().maxCoeff();
      if (grad_norm < 1e-9) break;
      Matrix H = d.H;
      Eigen::SelfAdjointEigenSolver<Matrix> es(H);
      const double lmin = es.eigenvalues().minCoeff();
      if (!(lmin > 1e-10 * std::max(1.0, es.eigenvalues().maxCoeff())))
        H.diagonal().array() += std::abs(lmin) + 1e-6 * std::max(1.0, es.eigenvalues().cwiseAbs().maxCoeff());
      const Vector step = -H.ldlt().solve(d.g);
      double t = 1.0;
      bool moved = false;
      for (int ls = 0; ls < 40; ++ls, t /= 2) {
        Vector y = x;
        for (std::size_t a = 0; a < free.size(); ++a) y(free[a]) += t * step(static_cast<Index>(a));
        y = project(y);
        const double fy = eval(y);
        if (fy < fx) {
          moved = (y - x).cwiseAbs().maxCoeff() > 1e-13;
          x = y;
          fx = fy;
          break;
        }
      }
      if (!moved) break;
    }
    return x;
  }
};

double t_pvalue(double t, double df) {
  if (!std::isfinite(t) || !(df > 0)) return std::numeric_limits<double>::quiet_NaN();
  boost::math::students_t dist(df);
  return 2.0 * boost::math::cdf(boost::math::complement(dist, std::abs(t)));
}

// ---------------------------------------------------------------- Satterthwaite

// lmerTest's df for each coefficient: the unprofiled deviance D(theta, sigma) (its
// devfun_vp) and Var(beta)(theta, sigma) = sigma^2 (R_X'R_X)^-1 differentiated
// numerically at the optimum.
Vector satterthwaite(const LmmData& d, const Cross& c, const LmmFit& fit, std::vector<std::string>& notices) {
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
  Vector df = Vector::Constant(c.p, std::numeric_limits<double>::quiet_NaN());
  if (!(es.eigenvalues().minCoeff() > 0)) {
    add_notice(notices, "Satterthwaite df are NaN: the Hessian of the deviance is not positive definite at the "
                        "optimum (a variance at its bound 0?)");
    return df;
  }
  const Matrix A = 2.0 * H.inverse();
  // Jacobian of the diagonal of Var(beta) with respect to psi.
  Matrix J(c.p, nt + 1);
  for (Index j = 0; j < c.p; ++j) {
    auto var_j = [&](const Vector& v) {
      const Solve s = solve_pls(d, c, v.head(nt), true);
      return s.ok ? v(nt) * v(nt) * s.RXtRX_inv(j, j) : kInf;
    };
    std::vector<Index> th(static_cast<std::size_t>(nt));
    for (Index i = 0; i < nt; ++i) th[static_cast<std::size_t>(i)] = i;
    if (nt > 0) J.row(j).head(nt) = derivatives(var_j, psi, th, false).g.transpose();
    J(j, nt) = 2.0 * fit.vcov(j, j) / fit.sigma;  // d (sigma^2 c) / d sigma
  }
  for (Index j = 0; j < c.p; ++j) {
    const Vector g = J.row(j).transpose();
    df(j) = 2.0 * fit.vcov(j, j) * fit.vcov(j, j) / g.dot(A * g);
  }
  return df;
}

}  // namespace

// ---------------------------------------------------------------- public

double lmm_criterion(const LmmData& d, const Vector& theta, bool reml) {
  const Cross c = cross_products(d);
  return profiled(solve_pls(d, c, theta, false), c, reml);
}

LmmFit fit_lmm(const LmmData& d, const LmmOptions& o) {
  const Index n = d.X.rows(), p = d.X.cols(), q = d.Z.cols(), G = d.groups;
  if (d.y.size() != n || d.Z.rows() != n || static_cast<Index>(d.group.size()) != n)
    throw ValueError("lmm: y, X, Z and the groups have different numbers of observations");
  if (q < 1) throw ValueError("lmm: no random effect");
  if (G < 2) throw ValueError(fmt::format("lmm: the grouping factor must have at least 2 levels, it has {}", G));
  if (n <= G * q)
    throw ValueError(fmt::format("lmm: {} observations for {} random effects ({} groups x {}); the model is not "
                                 "identifiable",
                                 n, G * q, G, q));
  if (n <= p) throw ValueError(fmt::format("lmm: {} observations for {} fixed effects", n, p));
  for (Index i = 0; i < n; ++i)
    if (d.group[static_cast<std::size_t>(i)] < 0 || d.group[static_cast<std::size_t>(i)] >= G)
      throw ValueError("lmm: a group index is out of range");
  if (!d.y.allFinite() || !d.X.allFinite() || !d.Z.allFinite()) throw ValueError("lmm: non-finite values in y, X or Z");
  {
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
  fit.q = q;
  fit.groups = G;

  // theta: lower triangle of T; diagonal entries bounded below by 0.
  const Index nt = q * (q + 1) / 2;
  Vector theta0 = Vector::Zero(nt), lower = Vector::Constant(nt, -kInf);
  for (Index j = 0, k = 0; j < q; ++j)
    for (Index i = j; i < q; ++i, ++k)
      if (i == j) theta0(k) = 1.0, lower(k) = 0.0;
  Optimiser opt;
  opt.f = [&](const Vector& th) { return profiled(solve_pls(d, c, th, false), c, o.reml); };
  opt.lower = lower;
  opt.max_evaluations = o.max_evaluations;
  double fx = 0;
  Vector theta = opt.nelder_mead(theta0, 0.25, fx);
  theta = opt.nelder_mead(theta, 0.05, fx);
  double grad = kInf;
  theta = opt.newton(theta, fx, grad);
  // A coordinate that sits within rounding of its bound is put on it.
  for (Index k = 0; k < nt; ++k)
    if (lower(k) == 0 && theta(k) < 1e-10) theta(k) = 0;
  fx = opt.f(theta);
  fit.evaluations = opt.evaluations;
  fit.converged = grad < 1e-3 && opt.evaluations < o.max_evaluations;
  if (!fit.converged)
    fit.notices.push_back(fmt::format("the optimiser stopped after {} evaluations with gradient {:.3g}",
                                      opt.evaluations, grad));
  solver_outcome("LMM", fit.converged,
                 fmt::format("(optimiser stopped after {} evaluations, gradient {:.3g})", opt.evaluations, grad),
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
  const Matrix T = lambda_of(theta, q);
  fit.random_cov = sigma2 * T * T.transpose();
  fit.ranef = s.u * T.transpose();
  fit.fitted = d.X * fit.beta;
  for (Index i = 0; i < n; ++i) fit.fitted(i) += d.Z.row(i).dot(fit.ranef.row(d.group[static_cast<std::size_t>(i)]));
  fit.residuals = d.y - fit.fitted;
  // lme4's isSingular(): a diagonal entry of T within 1e-4 of its bound 0.
  for (Index j = 0; j < q; ++j)
    if (T(j, j) < 1e-4) fit.singular = true;
  if (fit.singular)
    add_notice(fit.notices, "singular fit: a random-effect variance is (nearly) 0 or a correlation (nearly) +-1");

  const double k = static_cast<double>(p + nt + 1);
  fit.loglik = -fx / 2.0;
  fit.aic = fx + 2.0 * k;
  fit.bic = fx + k * std::log(static_cast<double>(n));

  if (o.df == DfMethod::Satterthwaite) {
    fit.df = satterthwaite(d, c, fit, fit.notices);
  } else {
    fit.df = Vector::Constant(p, static_cast<double>(n - p));
  }
  fit.p_value = Vector(p);
  for (Index j = 0; j < p; ++j) fit.p_value(j) = t_pvalue(fit.t(j), fit.df(j));
  return fit;
}

}  // namespace nl::stats

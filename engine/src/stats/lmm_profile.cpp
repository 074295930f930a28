// stats/lmm_profile.cpp: profile-likelihood confidence intervals of linear mixed models,
// as lme4's confint(method = "profile") (Bates et al. 2015, section 5.1).
//
// The parameters are lme4's: per random term, the standard deviations and correlations
// of its effects (lower triangle of the covariance, column by column), then sigma, then
// the fixed effects. The profile of parameter x is the ML deviance minimised over all
// the others; zeta(x) = sign(x - x^) sqrt(D(x) - D(x^)), and a bound is the root of
// zeta = -z or +z (z the normal quantile of the level). lme4 samples zeta on a grid and
// interpolates it with splines; here each bound is found by bracketing and a
// safeguarded secant (regula falsi, Illinois) to 1e-7 of zeta. A standard deviation
// whose profile stays below z down to 0 has the lower bound 0, a correlation whose
// profile stays inside at +-1 has the bound +-1 (lme4 does the same).
#include <fmt/format.h>

#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <limits>

#include "nl/core/core.hpp"
#include "nl/core/warnings.hpp"
#include "nl/stats/lmm.hpp"
#include "stats/lmm_optim.hpp"

namespace nl::stats {

namespace {

using Index = Eigen::Index;
using lmm_detail::Evaluator;
using lmm_detail::kInf;
using lmm_detail::Optimiser;

enum class Kind { Sd, Cor, Sigma };

struct VarParam {
  Kind kind;
  std::size_t term = 0;
  Index i = 0, j = 0;  // the entry of the term's covariance (i >= j)
};

// The variance parameters in lme4's order.
std::vector<VarParam> var_params(const LmmFit& f) {
  std::vector<VarParam> out;
  for (std::size_t k = 0; k < f.q.size(); ++k)
    for (Index j = 0; j < f.q[k]; ++j)
      for (Index i = j; i < f.q[k]; ++i) out.push_back({i == j ? Kind::Sd : Kind::Cor, k, i, j});
  out.push_back({Kind::Sigma});
  return out;
}

// psi (sds, correlations, sigma) of a fit.
Vector psi_of(const LmmFit& f, const std::vector<VarParam>& ps) {
  Vector psi(static_cast<Index>(ps.size()));
  for (std::size_t a = 0; a < ps.size(); ++a) {
    const VarParam& v = ps[a];
    if (v.kind == Kind::Sigma) {
      psi(static_cast<Index>(a)) = f.sigma;
      continue;
    }
    const Matrix& C = f.random_cov[v.term];
    const double sj = std::sqrt(C(v.j, v.j)), si = std::sqrt(C(v.i, v.i));
    psi(static_cast<Index>(a)) = v.kind == Kind::Sd ? sj : (si > 0 && sj > 0 ? C(v.i, v.j) / (si * sj) : 0.0);
  }
  return psi;
}

// theta from psi: T_k = chol(D R D) / sigma, a Cholesky that tolerates zero pivots (a
// standard deviation 0). False when a correlation matrix is not positive semi-definite.
bool theta_of(const Vector& psi, const std::vector<VarParam>& ps, const LmmFit& f, Vector& theta, double& sigma) {
  sigma = psi(static_cast<Index>(ps.size()) - 1);
  if (!(sigma > 0)) return false;
  theta.resize(f.theta.size());
  std::size_t a = 0;
  Index t = 0;
  for (std::size_t k = 0; k < f.q.size(); ++k) {
    const Index q = f.q[k];
    Vector sd(q);
    Matrix R = Matrix::Identity(q, q);
    for (Index j = 0; j < q; ++j)
      for (Index i = j; i < q; ++i, ++a) {
        const double x = psi(static_cast<Index>(a));
        if (i == j) {
          if (x < 0) return false;
          sd(j) = x;
        } else {
          if (!(std::abs(x) <= 1)) return false;
          R(i, j) = R(j, i) = x;
        }
      }
    const Matrix C = sd.asDiagonal() * R * sd.asDiagonal();
    Matrix T = Matrix::Zero(q, q);
    const double scale = std::max(C.diagonal().maxCoeff(), 1e-300);
    for (Index j = 0; j < q; ++j) {
      double d = C(j, j) - T.row(j).head(j).squaredNorm();
      if (d < -1e-10 * scale) return false;
      T(j, j) = std::sqrt(std::max(d, 0.0));
      for (Index i = j + 1; i < q; ++i) {
        const double num = C(i, j) - T.row(i).head(j).dot(T.row(j).head(j));
        if (T(j, j) > 0) {
          T(i, j) = num / T(j, j);
        } else if (std::abs(num) > 1e-10 * scale) {
          return false;
        }
      }
    }
    for (Index j = 0; j < q; ++j)
      for (Index i = j; i < q; ++i) theta(t++) = T(i, j) / sigma;
  }
  return true;
}

// Root of g on [a, b] (g(a), g(b) of opposite signs): Illinois regula falsi.
double root(const std::function<double(double)>& g, double a, double ga, double b, double gb) {
  int side = 0;
  for (int it = 0; it < 100; ++it) {
    const double c = (a * gb - b * ga) / (gb - ga);
    const double gc = g(c);
    if (std::abs(gc) < 1e-7 || std::abs(b - a) < 1e-12 * (std::abs(a) + std::abs(b) + 1e-300)) return c;
    if ((gc > 0) == (gb > 0)) {
      b = c, gb = gc;
      if (side == -1) ga /= 2;
      side = -1;
    } else {
      a = c, ga = gc;
      if (side == 1) gb /= 2;
      side = 1;
    }
  }
  return (a * gb - b * ga) / (gb - ga);
}

// One bound of parameter x^ = est on side s (-1, +1): zeta(x) = s z, with x kept in
// [lo, hi]; when zeta stays inside at the end of the range, that end.
double bound(const std::function<double(double)>& zeta, double est, double step, double lo, double hi, double z,
             int s) {
  double a = est, ga = -z;  // zeta(est) = 0
  double x = est;
  for (int k = 0; k < 60; ++k) {
    x = est + s * step;
    if (x <= lo || x >= hi) {
      x = s < 0 ? lo : hi;
      const double gx = s * zeta(x) - z;
      if (gx < 0) return x;
      return root([&](double v) { return s * zeta(v) - z; }, a, ga, x, gx);
    }
    const double gx = s * zeta(x) - z;
    if (gx >= 0) return root([&](double v) { return s * zeta(v) - z; }, a, ga, x, gx);
    a = x, ga = gx;
    step *= 2;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

LmmInterval lmm_profile_names(const Lmm& m) {
  LmmInterval out;
  for (const VarParam& v : var_params(m.fit)) {
    if (v.kind == Kind::Sigma) {
      out.names.emplace_back("sigma");
      continue;
    }
    const auto& cols = m.model.random_names[v.term];
    const std::string& g = m.model.term_groups[v.term];
    out.names.push_back(v.kind == Kind::Sd
                            ? fmt::format("sd_{}|{}", cols[static_cast<std::size_t>(v.j)], g)
                            : fmt::format("cor_{}.{}|{}", cols[static_cast<std::size_t>(v.i)],
                                          cols[static_cast<std::size_t>(v.j)], g));
  }
  out.names.insert(out.names.end(), m.model.fixed_names.begin(), m.model.fixed_names.end());
  return out;
}

LmmInterval lmm_profile(const Lmm& m, double level) {
  LmmInterval out = lmm_profile_names(m);
  const double z = boost::math::quantile(boost::math::normal(), 0.5 + level / 2);
  // The maximum-likelihood fit (lme4 profiles a REML fit's ML refit).
  LmmOptions ml;
  ml.reml = false;
  const LmmData& d = m.model.data;
  const LmmFit f = m.fit.reml ? fit_lmm(d, ml) : m.fit;
  const double D0 = f.criterion;
  const auto ps = var_params(f);
  const Vector psi0 = psi_of(f, ps);
  const auto nv = static_cast<Index>(ps.size());
  const Index p = f.p;
  out.lower = out.upper = Vector::Constant(nv + p, std::numeric_limits<double>::quiet_NaN());
  Evaluator ev(d);
  ConvergenceTally tally("the likelihood profiles of the fixed effects");

  auto deviance = [&](const Vector& psi) {
    Vector theta;
    double sigma = 0;
    return theta_of(psi, ps, f, theta, sigma) ? ev.ml_deviance(theta, sigma) : kInf;
  };
  // Variance parameters: D minimised over the other psi, warm-started at the last optimum.
  for (Index a = 0; a < nv; ++a) {
    const VarParam& v = ps[static_cast<std::size_t>(a)];
    Vector rest(nv - 1), lower(nv - 1), upper(nv - 1);
    for (Index b = 0, r = 0; b < nv; ++b) {
      if (b == a) continue;
      rest(r) = psi0(b);
      const Kind kb = ps[static_cast<std::size_t>(b)].kind;
      lower(r) = kb == Kind::Cor ? -1.0 : 0.0;
      upper(r) = kb == Kind::Cor ? 1.0 : kInf;
      ++r;
    }
    Vector warm = rest;
    auto full = [&](double x, const Vector& r) {
      Vector psi(nv);
      for (Index b = 0, k = 0; b < nv; ++b) psi(b) = b == a ? x : r(k++);
      return psi;
    };
    auto zeta = [&](double x) {
      double Dx = deviance(full(x, warm));
      if (nv > 1) {
        Optimiser opt;
        opt.f = [&](const Vector& r) { return deviance(full(x, r)); };
        opt.lower = lower;
        opt.upper = upper;
        opt.max_evaluations = 4000;
        double fx = 0;
        Vector r = opt.nelder_mead(warm, 0.05 * std::max(1.0, warm.cwiseAbs().maxCoeff()), fx);
        double grad = 0;
        r = opt.newton(r, fx, grad);
        if (fx < Dx) Dx = fx, warm = r;
      }
      const double diff = std::max(Dx - D0, 0.0);
      return (x < psi0(a) ? -1.0 : 1.0) * std::sqrt(diff);
    };
    const double est = psi0(a);
    const double lo = v.kind == Kind::Cor ? -1.0 : 0.0, hi = v.kind == Kind::Cor ? 1.0 : kInf;
    const double step = v.kind == Kind::Cor ? 0.1 : 0.25 * std::max(est, 1e-3 * f.sigma);
    warm = rest;
    out.lower(a) = est <= lo ? lo : bound(zeta, est, step, lo, hi, z, -1);
    warm = rest;
    out.upper(a) = est >= hi ? hi : bound(zeta, est, step, lo, hi, z, 1);
  }
  // Fixed effects: the ML criterion of the model with beta_j fixed (an offset), over theta.
  for (Index j = 0; j < p; ++j) {
    LmmData dj;
    dj.terms = d.terms;
    dj.X.resize(d.X.rows(), p - 1);
    for (Index k = 0, c = 0; k < p; ++k)
      if (k != j) dj.X.col(c++) = d.X.col(k);
    Vector warm = f.theta;
    auto zeta = [&](double x) {
      dj.y = d.y - x * d.X.col(j);
      LmmOptions o = ml;
      o.start = warm;
      o.max_evaluations = 4000;
      const LmmFit g = fit_lmm(dj, o);
      warm = g.theta;
      return (x < f.beta(j) ? -1.0 : 1.0) * std::sqrt(std::max(g.criterion - D0, 0.0));
    };
    const double se = std::sqrt(f.vcov(j, j));
    warm = f.theta;
    out.lower(nv + j) = bound(zeta, f.beta(j), se, -kInf, kInf, z, -1);
    warm = f.theta;
    out.upper(nv + j) = bound(zeta, f.beta(j), se, -kInf, kInf, z, 1);
  }
  tally.finish();
  return out;
}

}  // namespace nl::stats

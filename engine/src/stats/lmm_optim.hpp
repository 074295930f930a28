// stats/lmm_optim.hpp: the numerical machinery shared by the LMM sources (stats/lmm.cpp
// fits, stats/lmm_profile.cpp profiles): Richardson-extrapolated derivatives, the
// bounded Nelder-Mead + Newton optimiser, and an evaluator of the criteria that keeps
// the model's sparse cross-products between evaluations.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/core/linalg.hpp"
#include "nl/stats/lmm.hpp"

namespace nl::stats::lmm_detail {

using Index = Eigen::Index;
constexpr double kInf = std::numeric_limits<double>::infinity();

// ---------------------------------------------------------------- numerical derivatives

// Richardson-extrapolated central differences (four step halvings from h0 = 0.1 |x| +
// 1e-4, as numDeriv's defaults, which lmerTest uses): gradient and Hessian of f at x
// over the coordinates in `free`.
struct Derivatives {
  Vector g;
  Matrix H;
};

inline double richardson(const std::vector<double>& a) {
  std::vector<double> t = a;
  double pow4 = 4.0;
  for (std::size_t m = 1; m < t.size(); ++m, pow4 *= 4.0)
    for (std::size_t i = 0; i + m < t.size(); ++i) t[i] = (pow4 * t[i + 1] - t[i]) / (pow4 - 1.0);
  return t[0];
}

inline Derivatives derivatives(const std::function<double(const Vector&)>& f, const Vector& x,
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
  Vector lower, upper;  // upper: empty for none
  int evaluations = 0, max_evaluations = 20000;
  // lme4's convergence measure at the last Newton iterate: max |R^-1 g| with H = R'R
  // (the gradient scaled by the curvature; lme4's check.conv.grad, tolerance 0.002).
  // Infinite when the Hessian was not positive definite.
  double scaled_gradient = kInf;

  double eval(const Vector& x) {
    if (++evaluations % 16 == 0) check_interrupt();  // one evaluation solves the whole system
    return f(x);
  }
  Vector project(Vector x) const {
    x = x.cwiseMax(lower);
    return upper.size() ? Vector(x.cwiseMin(upper)) : x;
  }

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
      {
        const Eigen::LLT<Matrix> llt(d.H);
        scaled_gradient = llt.info() == Eigen::Success ? Vector(llt.matrixU().solve(d.g)).cwiseAbs().maxCoeff() : kInf;
      }
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


// The criteria of one model, its cross-products computed once.
class Evaluator {
 public:
  explicit Evaluator(const LmmData& d);
  ~Evaluator();
  Evaluator(const Evaluator&) = delete;
  Evaluator& operator=(const Evaluator&) = delete;
  // The profiled criterion (REML or ML -2 log-likelihood) at theta.
  double criterion(const Vector& theta, bool reml) const;
  // The ML deviance at (theta, sigma), beta profiled: log|L|^2 + r^2 / sigma^2 + n log(2 pi sigma^2).
  double ml_deviance(const Vector& theta, double sigma) const;
  // The theta index of each term's first parameter, and each term's q.
  const std::vector<Index>& theta0() const;
  const std::vector<Index>& q() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nl::stats::lmm_detail

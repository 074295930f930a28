// The linear models of nl/ml/estimators.hpp: linear SVR (LIBLINEAR -s 12), logistic
// regression (LIBLINEAR -s 0) and ridge (scikit-learn's Ridge). The problems and the
// contract are in the header; each solver below names the code it follows.
#include "nl/ml/estimators.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

#include "ml/estimator_checks.hpp"

namespace nl::ml {

namespace {

using detail::check_bias;
using detail::check_labels;
using detail::check_max_iter;
using detail::check_positive;
using detail::check_targets;
using detail::check_X;

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// X with LIBLINEAR's bias feature appended (a column of `bias`) when bias >= 0.
template <class M>
M with_bias(const Eigen::Ref<const Matrix>& X, double bias) {
  const bool has_bias = bias >= 0.0;
  M Xb(X.rows(), X.cols() + (has_bias ? 1 : 0));
  Xb.leftCols(X.cols()) = X;
  if (has_bias) Xb.col(X.cols()).setConstant(bias);
  return Xb;
}

// Splits LIBLINEAR's weight vector (p weights, then the bias weight) into the model.
void set_weights(LinearSvcModel& model, const Vector& w, Eigen::Index p, double bias) {
  model.w = w.head(p);
  model.b = bias >= 0.0 ? bias * w[p] : 0.0;
}

}  // namespace

// ---------------------------------------------------------------- linear SVR

// LIBLINEAR 2.x's solve_l2r_l1l2_svr for the L2 loss (-s 12), with its variable names.
// The dual (Ho & Lin 2012, "Large-scale linear support vector regression", JMLR) is
//
//   min_beta  1/2 beta'Q beta - y'beta + epsilon |beta|_1 + lambda beta'beta,
//   Q_ij = x_i'x_j,  lambda = 1 / (2 C),  -U <= beta_i <= U with U = infinity,
//
// and w = sum_i beta_i x_i is kept up to date. Each outer iteration visits the active
// set in a random order (LIBLINEAR's swap shuffle, drawn from rng), takes one Newton
// step of the one-variable problem per sample (G = Q_i beta - y_i + lambda beta_i and
// its shifts Gp = G + epsilon, Gn = G - epsilon for the two sides of |beta_i|), and
// shrinks samples at beta_i = 0 whose gradient lies well inside [-epsilon, epsilon].
// It stops when the 1-norm of the violations, summed over a pass, falls to eps times
// that of the first pass (then once more over the full set if shrinking was active).
LinearSvcModel fit_linear_svr(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y,
                              const LinearSvrOptions& options, Rng& rng) {
  constexpr const char* what = "linear SVR";
  check_X(X, what);
  check_targets(X, y, what);
  check_positive(options.C, what, "C");
  if (!(options.epsilon >= 0.0) || !std::isfinite(options.epsilon))
    throw ValueError(fmt::format("linear SVR: epsilon must be non-negative and finite, got {}", options.epsilon));
  check_positive(options.eps, what, "eps");
  check_bias(options.bias, what);
  check_max_iter(options.max_iter, what);

  const RowMatrix Xb = with_bias<RowMatrix>(X, options.bias);
  const int l = static_cast<int>(Xb.rows());
  const double p = options.epsilon;
  const double lambda = 0.5 / options.C;
  constexpr double upper_bound = std::numeric_limits<double>::infinity();
  constexpr double INF = std::numeric_limits<double>::infinity();

  Vector w = Vector::Zero(Xb.cols());
  Vector beta = Vector::Zero(l);
  const Vector QD = Xb.rowwise().squaredNorm();
  std::vector<int> index(static_cast<std::size_t>(l));
  std::iota(index.begin(), index.end(), 0);

  int iter = 0;
  int active_size = l;
  double Gmax_old = INF;
  double Gnorm1_init = -1.0;  // set by the first pass
  bool converged = false;
  while (iter < options.max_iter) {
    check_interrupt();
    double Gmax_new = 0.0;
    double Gnorm1_new = 0.0;
    for (int i = 0; i < active_size; ++i) {
      const int j = i + static_cast<int>(rng.below(static_cast<std::uint64_t>(active_size - i)));
      std::swap(index[static_cast<std::size_t>(i)], index[static_cast<std::size_t>(j)]);
    }
    for (int s = 0; s < active_size; ++s) {
      const int i = index[static_cast<std::size_t>(s)];
      const double G = -y[i] + lambda * beta[i] + Xb.row(i).dot(w);
      const double H = QD[i] + lambda;
      const double Gp = G + p;
      const double Gn = G - p;
      double violation = 0.0;
      // Shrinking: a sample at beta_i = 0 whose gradient is well within the zone leaves
      // the active set (LIBLINEAR's swap with the last active sample and s--).
      const auto shrink = [&]() {
        --active_size;
        std::swap(index[static_cast<std::size_t>(s)], index[static_cast<std::size_t>(active_size)]);
        --s;
      };
      if (beta[i] == 0.0) {
        if (Gp < 0.0) {
          violation = -Gp;
        } else if (Gn > 0.0) {
          violation = Gn;
        } else if (Gp > Gmax_old && Gn < -Gmax_old) {
          shrink();
          continue;
        }
      } else if (beta[i] > 0.0) {
        violation = std::fabs(Gp);
      } else {
        violation = std::fabs(Gn);
      }
      // (The bound branches of LIBLINEAR, beta_i = +-U, cannot occur with U = infinity.)
      Gmax_new = std::max(Gmax_new, violation);
      Gnorm1_new += violation;

      // The Newton direction of the one-variable problem, with its kink at 0.
      double d;
      if (Gp < H * beta[i])
        d = -Gp / H;
      else if (Gn > H * beta[i])
        d = -Gn / H;
      else
        d = -beta[i];
      if (std::fabs(d) < 1.0e-12) continue;
      const double beta_old = beta[i];
      beta[i] = std::min(std::max(beta[i] + d, -upper_bound), upper_bound);
      d = beta[i] - beta_old;
      if (d != 0.0) w.noalias() += d * Xb.row(i).transpose();
    }
    if (iter == 0) Gnorm1_init = Gnorm1_new;
    ++iter;
    if (Gnorm1_new <= options.eps * Gnorm1_init) {
      if (active_size == l) {
        converged = true;
        break;
      }
      active_size = l;  // check once more on the full set
      Gmax_old = INF;
      continue;
    }
    Gmax_old = Gmax_new;
  }

  LinearSvcModel model;
  set_weights(model, w, X.cols(), options.bias);
  model.alpha = beta;  // the signed dual: w = sum_i beta_i x_i (bias feature included)
  model.iterations = iter;
  model.converged = converged;
  return model;
}

// ---------------------------------------------------------------- logistic regression

namespace {

// LIBLINEAR's l2r_lr_fun: f(w) = 1/2 w'w + sum_i C_i log(1 + exp(-y_i w'x_i)), its
// gradient and Hessian-vector product. grad() stores D_i = sigma_i (1 - sigma_i), the
// Hessian's diagonal weights at the current w, for Hv().
class LogisticFun {
 public:
  LogisticFun(const Matrix& X, const Vector& y, const Vector& C) : X_(X), y_(y), C_(C), D_(y.size()) {}

  Eigen::Index n_vars() const { return X_.cols(); }

  double fun(const Vector& w) const {
    const Vector z = X_ * w;
    double f = 0.5 * w.squaredNorm();
    for (Eigen::Index i = 0; i < z.size(); ++i) {
      // log(1 + exp(-t)) without overflow for t = y_i z_i of either sign.
      const double t = y_[i] * z[i];
      f += C_[i] * (t >= 0.0 ? std::log1p(std::exp(-t)) : -t + std::log1p(std::exp(t)));
    }
    return f;
  }

  Vector grad(const Vector& w) {
    const Vector z = X_ * w;
    Vector r(z.size());
    for (Eigen::Index i = 0; i < z.size(); ++i) {
      const double sigma = 1.0 / (1.0 + std::exp(-y_[i] * z[i]));
      D_[i] = sigma * (1.0 - sigma);
      r[i] = C_[i] * (sigma - 1.0) * y_[i];
    }
    return w + X_.transpose() * r;
  }

  Vector Hv(const Vector& s) const {
    const Vector t = (C_.array() * D_.array() * (X_ * s).array()).matrix();
    return s + X_.transpose() * t;
  }

 private:
  const Matrix& X_;
  const Vector& y_;
  const Vector& C_;
  Vector D_;
};

// The conjugate-gradient inner solve of TRON (LIBLINEAR 2.1's TRON::trcg): minimizes
// g's + 1/2 s'Hs within ||s|| <= delta to a relative residual of 0.1, stopping at the
// trust-region boundary when CG crosses it. Returns s and the residual r = -g - Hs.
int trcg(const LogisticFun& fun, double delta, const Vector& g, Vector& s, Vector& r) {
  const Eigen::Index n = g.size();
  s = Vector::Zero(n);
  r = -g;
  Vector d = r;
  const double cgtol = 0.1 * g.norm();
  int cg_iter = 0;
  double rTr = r.squaredNorm();
  while (r.norm() > cgtol) {
    ++cg_iter;
    const Vector Hd = fun.Hv(d);
    double alpha = rTr / d.dot(Hd);
    s += alpha * d;
    if (s.norm() > delta) {
      // Back to the previous s, then to the boundary along d.
      s -= alpha * d;
      const double std_ = s.dot(d), sts = s.squaredNorm(), dtd = d.squaredNorm();
      const double dsq = delta * delta;
      const double rad = std::sqrt(std_ * std_ + dtd * (dsq - sts));
      alpha = std_ >= 0.0 ? (dsq - sts) / (std_ + rad) : (rad - std_) / dtd;
      s += alpha * d;
      r -= alpha * Hd;
      break;
    }
    r -= alpha * Hd;
    const double rnewTrnew = r.squaredNorm();
    d = r + (rnewTrnew / rTr) * d;
    rTr = rnewTrnew;
  }
  return cg_iter;
}

struct TronResult {
  int iterations = 0;
  bool converged = false;
};

// TRON (Lin & Moré 1999; Lin, Weng & Keerthi 2008, "Trust region Newton method for
// large-scale logistic regression", JMLR), as LIBLINEAR 2.1's tron.cpp: a trust-region
// Newton method whose steps come from trcg. Stops when ||grad f(w)|| <= eps ||grad f(0)||.
// Also stops when the actual and predicted reductions both fall below 1e-12 |f| (LIBLINEAR
// warns "actred and prered too small" and stops): the iterate is then optimal to working
// precision, a tolerance below that precision cannot be met, and the fit counts as
// converged (a warning that max_iter was reached would be false).
TronResult tron(LogisticFun& fun, Vector& w, double eps, int max_iter) {
  constexpr double eta0 = 1e-4, eta1 = 0.25, eta2 = 0.75;
  constexpr double sigma1 = 0.25, sigma2 = 0.5, sigma3 = 4.0;
  const Eigen::Index n = fun.n_vars();
  TronResult res;
  const double gnorm0 = fun.grad(Vector::Zero(n)).norm();
  double f = fun.fun(w);
  Vector g = fun.grad(w);
  double delta = g.norm();
  if (g.norm() <= eps * gnorm0) {
    res.converged = true;
    return res;
  }
  Vector s(n), r(n);
  int iter = 1;
  while (iter <= max_iter) {
    check_interrupt();
    trcg(fun, delta, g, s, r);
    const Vector w_new = w + s;
    const double gs = g.dot(s);
    const double prered = -0.5 * (gs - s.dot(r));
    const double fnew = fun.fun(w_new);
    const double actred = f - fnew;
    const double snorm = s.norm();
    if (iter == 1) delta = std::min(delta, snorm);
    const double alpha = fnew - f - gs <= 0.0 ? sigma3 : std::max(sigma1, -0.5 * (gs / (fnew - f - gs)));
    // The trust region follows the ratio of actual to predicted reduction.
    if (actred < eta0 * prered)
      delta = std::min(std::max(alpha, sigma1) * snorm, sigma2 * delta);
    else if (actred < eta1 * prered)
      delta = std::max(sigma1 * delta, std::min(alpha * snorm, sigma2 * delta));
    else if (actred < eta2 * prered)
      delta = std::max(sigma1 * delta, std::min(alpha * snorm, sigma3 * delta));
    else
      delta = std::max(delta, std::min(alpha * snorm, sigma3 * delta));
    if (actred > eta0 * prered) {
      ++iter;
      w = w_new;
      f = fnew;
      g = fun.grad(w);
      if (g.norm() <= eps * gnorm0) {
        res.converged = true;
        break;
      }
    }
    if ((std::fabs(actred) <= 0.0 && prered <= 0.0) ||
        (std::fabs(actred) <= 1.0e-12 * std::fabs(f) && std::fabs(prered) <= 1.0e-12 * std::fabs(f))) {
      res.converged = true;
      break;
    }
  }
  res.iterations = iter - 1;  // accepted steps
  return res;
}

}  // namespace

// LIBLINEAR's train_one for -s 0: TRON on l2r_lr_fun with C_i = Cp or Cn by label and
// the stopping tolerance eps * max(min(#pos, #neg), 1) / l on the gradient-norm ratio.
LinearSvcModel fit_logistic(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y,
                            const LogisticOptions& options) {
  constexpr const char* what = "logistic regression";
  check_X(X, what);
  check_labels(X, y, what, false);
  check_positive(options.Cp, what, "Cp");
  check_positive(options.Cn, what, "Cn");
  check_positive(options.eps, what, "eps");
  check_bias(options.bias, what);
  check_max_iter(options.max_iter, what);

  const Matrix Xb = with_bias<Matrix>(X, options.bias);
  const Vector yv = y;
  const Vector C = (yv.array() > 0.0).select(Vector::Constant(yv.size(), options.Cp), options.Cn);
  const auto n_pos = static_cast<double>((yv.array() > 0.0).count());
  const auto l = static_cast<double>(yv.size());
  const double tol = options.eps * std::max(std::min(n_pos, l - n_pos), 1.0) / l;

  LogisticFun fun(Xb, yv, C);
  Vector w = Vector::Zero(Xb.cols());
  const TronResult res = tron(fun, w, tol, options.max_iter);

  LinearSvcModel model;
  set_weights(model, w, X.cols(), options.bias);
  model.iterations = res.iterations;
  model.converged = res.converged;
  return model;
}

Vector logistic_probability(const LinearSvcModel& model, const Eigen::Ref<const Matrix>& X) {
  const Vector f = decision(model, X);  // checks the columns and finiteness
  Vector prob(f.size());
  for (Eigen::Index i = 0; i < f.size(); ++i) {
    // exp of a non-positive number only: 1 / (1 + e^-f) for f >= 0, e^f / (1 + e^f) else.
    if (f[i] >= 0.0) {
      prob[i] = 1.0 / (1.0 + std::exp(-f[i]));
    } else {
      const double e = std::exp(f[i]);
      prob[i] = e / (1.0 + e);
    }
  }
  return prob;
}

// ---------------------------------------------------------------- ridge

// scikit-learn's Ridge(solver = "cholesky"), i.e. its _solve_cholesky and
// _solve_cholesky_kernel: with fit_intercept, X and y are centered and the intercept is
// ymean - xmean'w. For p <= n the normal equations (X'X + alpha I) w = X'y, else the
// dual (XX' + alpha I) d = y, w = X'd: the same w, from the smaller system.
LinearSvcModel fit_ridge(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y,
                         const RidgeOptions& options) {
  constexpr const char* what = "ridge";
  check_X(X, what);
  check_targets(X, y, what);
  check_positive(options.alpha, what, "alpha");

  const Eigen::Index n = X.rows(), p = X.cols();
  Matrix Xc = X;
  Vector yc = y;
  Eigen::RowVectorXd xmean = Eigen::RowVectorXd::Zero(p);
  double ymean = 0.0;
  if (options.fit_intercept) {
    xmean = X.colwise().mean();
    ymean = y.mean();
    Xc.rowwise() -= xmean;
    yc.array() -= ymean;
  }
  Vector w;
  const bool dual = p > n;
  // The Gram matrix as a symmetric rank-k update (its lower triangle: half the work of
  // a general product), which the Cholesky factorization reads.
  const Eigen::Index m = dual ? n : p;
  Matrix A = Matrix::Zero(m, m);
  if (dual)
    A.selfadjointView<Eigen::Lower>().rankUpdate(Xc);
  else
    A.selfadjointView<Eigen::Lower>().rankUpdate(Xc.transpose());
  A.diagonal().array() += options.alpha;
  const Eigen::LLT<Matrix, Eigen::Lower> llt(A);
  if (llt.info() != Eigen::Success)
    throw ValueError(fmt::format("ridge: the {} system is not positive definite (alpha = {} is too small for "
                                 "the scale of X)",
                                 dual ? "dual" : "primal", options.alpha));
  if (dual)
    w = Xc.transpose() * llt.solve(yc);
  else
    w = llt.solve(Xc.transpose() * yc);

  LinearSvcModel model;
  model.w = w;
  model.b = options.fit_intercept ? ymean - xmean.dot(w) : 0.0;
  model.iterations = 1;
  model.converged = true;
  return model;
}

}  // namespace nl::ml

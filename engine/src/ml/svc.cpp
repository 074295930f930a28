// Linear SVC by dual coordinate descent (see nl/ml/svc.hpp for the problem and contract).
#include "nl/ml/svc.hpp"

#include "nl/ml/estimators.hpp"

#include "core/simd_quad.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

namespace nl::ml {

namespace {


// ---------------------------------------------------------------- validation

// Labels must be exactly +1 or -1: a 0/1 coding passed by mistake would otherwise
// train a one-class problem without a word.
void check_labels(const Eigen::Ref<const Vector>& y, const char* what) {
  for (Eigen::Index i = 0; i < y.size(); ++i)
    if (y[i] != 1.0 && y[i] != -1.0)
      throw ValueError(fmt::format("{}: label {} of row {} is not +1 or -1", what, y[i], i + 1));
}

void check_cost(double c, const char* name) {
  if (!(c > 0.0) || !std::isfinite(c))
    throw ValueError(fmt::format("linear SVC: {} must be positive and finite, got {}", name, c));
}

void check_data(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y) {
  if (X.rows() == 0) throw ValueError("linear SVC: no samples (X has 0 rows)");
  if (y.size() != X.rows())
    throw ValueError(fmt::format("linear SVC: X has {} rows but y has {} labels", X.rows(), y.size()));
  check_labels(y, "linear SVC");
  // Column by column, so the first bad value reported is the first in memory order.
  for (Eigen::Index j = 0; j < X.cols(); ++j)
    for (Eigen::Index i = 0; i < X.rows(); ++i)
      if (!std::isfinite(X(i, j)))
        throw ValueError(fmt::format("linear SVC: X has a non-finite value ({}) at row {}, column {}",
                                     X(i, j), i + 1, j + 1));
}

void check_bias(double bias) {
  if (!std::isfinite(bias)) throw ValueError(fmt::format("linear SVC: bias must be finite, got {}", bias));
}

void check_options(const LinearSvcOptions& o) {
  check_cost(o.Cp, "Cp");
  check_cost(o.Cn, "Cn");
  if (!(o.eps > 0.0) || !std::isfinite(o.eps))
    throw ValueError(fmt::format("linear SVC: eps must be positive and finite, got {}", o.eps));
  check_bias(o.bias);
  if (o.max_iter < 1) throw ValueError(fmt::format("linear SVC: max_iter must be at least 1, got {}", o.max_iter));
}

}  // namespace

// ---------------------------------------------------------------- solver

// LIBLINEAR 2.3's solve_l2r_l1l2_svc restricted to the L2 loss, with its variable names:
// l samples, w_size features (plus the bias feature), QD_ii = Qbar_ii, G the partial
// derivative of the dual, PG the projected gradient, PGmax/PGmin its extremes over a pass.
// Because U = infinity, the upper-bound branches of LIBLINEAR (alpha_i == U, shrinking
// with PGmin_old) can never fire and are left out; only alpha_i = 0 is a bound.
//
// Layout and arithmetic, chosen for speed on small problems (66 x 13 takes ~2300
// coordinate steps; each is a short chain of dependent floating-point operations):
//  * u_i = y_i x_i (the label folded in: exact, since y_i = +-1), zero-padded to a
//    multiple of four doubles and stored contiguously, so G_i = u_i'w - 1 + alpha_i D_ii
//    and the update w += (alpha_i' - alpha_i) u_i equal LIBLINEAR's y_i w'x_i and
//    w += d x_i.
//  * Up to 32 features, w stays in registers and the loop looks one step ahead: the
//    update of step s is added to w only during step s + 1, which computes u'w as
//    u'w_old + d (u'u_s). The two dot products do not wait for the previous update, which
//    takes the update off the loop's critical path (about 2x faster on 66 x 13). The
//    step is d = max(-G / QD_ii, -alpha_i) (two dependent operations, not four for
//    alpha_new - alpha_old; 15 % faster) and G adds alpha_i D_ii - 1 before u'w. Same
//    iterates as LIBLINEAR up to rounding. Longer samples use the plain update.
//  * The loop (ml/svc_kernels.inc) is built twice, for any x86-64 CPU and for CPUs with
//    AVX (chosen at run time, nl::simd_avx()); its dot products fix the order of every
//    operation, so both builds give bit-identical results.
namespace {

// What the solver keeps per sample, together: the dual variable alpha_i, D_ii and -1 / QD_ii.
struct SampleState {
  double alpha, D, QD_neg_inv;
};

namespace kern_base {
using namespace nl::simd::base;
#include "svc_kernels.inc"
}  // namespace kern_base

#if NL_HAVE_AVX_KERNELS
#pragma GCC push_options
#pragma GCC target("avx")
namespace kern_avx {
using namespace nl::simd::avx;
#include "svc_kernels.inc"
}  // namespace kern_avx
#pragma GCC pop_options
#endif

}  // namespace

LinearSvcProblem::LinearSvcProblem(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y,
                                   double bias)
    : LinearSvcProblem((check_data(X, y), check_bias(bias), X), y, bias, Checked{}) {}

LinearSvcProblem::LinearSvcProblem(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y,
                                   double bias, Checked)
    : l_(static_cast<int>(X.rows())), p_(X.cols()), bias_(bias) {
  const bool has_bias = bias >= 0.0;
  const Eigen::Index w_size = p_ + (has_bias ? 1 : 0);
  nq_ = std::max(1, static_cast<int>((w_size + 3) / 4));  // Quads per sample
  const std::size_t stride = 4 * static_cast<std::size_t>(nq_);
  // u_i = y_i x_i (+ y_i bias), zero-padded, plus an all-zero sample at the end.
  U_.assign((static_cast<std::size_t>(l_) + 1) * stride, 0.0);
  sq_.resize(static_cast<std::size_t>(l_));
  pos_.resize(static_cast<std::size_t>(l_));
  for (int i = 0; i < l_; ++i) {
    double* u = U_.data() + static_cast<std::size_t>(i) * stride;
    for (Eigen::Index j = 0; j < p_; ++j) u[j] = y[i] * X(i, j);
    if (has_bias) u[p_] = y[i] * bias;
    double sq = 0.0;
    for (Eigen::Index j = 0; j < w_size; ++j) sq += u[j] * u[j];
    sq_[static_cast<std::size_t>(i)] = sq;
    pos_[static_cast<std::size_t>(i)] = y[i] > 0;
  }
}

LinearSvcModel fit_linear_svc(const LinearSvcProblem& problem, const LinearSvcOptions& options, Rng& rng) {
  check_options(options);
  if (options.bias != problem.bias_)
    throw Error(fmt::format("linear SVC: the options' bias {} is not the prepared problem's {}", options.bias,
                            problem.bias_));
  const int l = problem.l_;
  const Eigen::Index p = problem.p_;
  const bool has_bias = options.bias >= 0.0;
  if (options.alpha0.size() > 0) {
    if (options.alpha0.size() != l)
      throw ValueError(fmt::format("linear SVC: the warm start has {} dual variables for {} samples",
                                   options.alpha0.size(), l));
    if (!options.alpha0.allFinite()) throw ValueError("linear SVC: the warm start has a non-finite value");
  }
  const int nq = problem.nq_;
  const std::size_t stride = 4 * static_cast<std::size_t>(nq);
  // w and its work copy.
  std::vector<double> wb(2 * stride, 0.0);
  double* w = wb.data();
  double* wbuf = w + stride;
  std::vector<SampleState> S(static_cast<std::size_t>(l));
  for (int i = 0; i < l; ++i) {
    // D_ii = 1 / (2 C_i); QD_ii = x_i'x_i + D_ii. The step divides by QD_ii; multiplying
    // by a stored (negated) reciprocal keeps the divide off the loop (LIBLINEAR divides).
    const double D = 0.5 / (problem.pos_[static_cast<std::size_t>(i)] ? options.Cp : options.Cn);
    // Warm start (LinearSvcOptions::alpha0, checked above): the solver rebuilds w.
    const double a0 = options.alpha0.size() == l ? std::max(options.alpha0[i], 0.0) : 0.0;
    S[static_cast<std::size_t>(i)] = {a0, D, -1.0 / (D + problem.sq_[static_cast<std::size_t>(i)])};
  }
  std::vector<int> index(static_cast<std::size_t>(l));
  std::iota(index.begin(), index.end(), 0);

  bool converged = false;
  int iter;
  const double* U = problem.U_.data();
#if NL_HAVE_AVX_KERNELS
  if (simd_avx()) {
    using kern_avx::Quad;
    iter = kern_avx::solve_nq<1>(reinterpret_cast<const Quad*>(U), l, nq, S.data(), options.eps, options.max_iter,
                                 rng, index.data(), reinterpret_cast<Quad*>(wbuf), w, &converged);
  } else
#endif
  {
    using kern_base::Quad;
    iter = kern_base::solve_nq<1>(reinterpret_cast<const Quad*>(U), l, nq, S.data(), options.eps, options.max_iter,
                                  rng, index.data(), reinterpret_cast<Quad*>(wbuf), w, &converged);
  }

  LinearSvcModel model;
  model.w = Eigen::Map<const Vector>(w, p);
  model.b = has_bias ? options.bias * w[p] : 0.0;
  model.alpha.resize(l);
  for (int i = 0; i < l; ++i) model.alpha[i] = S[static_cast<std::size_t>(i)].alpha;
  model.iterations = iter;
  model.converged = converged;
  return model;
}

LinearSvcModel fit_linear_svc(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y,
                              const LinearSvcOptions& options, Rng& rng) {
  check_data(X, y);
  check_options(options);
  return fit_linear_svc(LinearSvcProblem(X, y, options.bias, LinearSvcProblem::Checked{}), options, rng);
}

LinearSvcModel fit_linear_svc(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y,
                              const LinearSvcOptions& options) {
  Rng rng(options.seed);
  return fit_linear_svc(X, y, options, rng);
}

// ---------------------------------------------------------------- prediction and weighting

Vector decision(const LinearSvcModel& model, const Eigen::Ref<const Matrix>& X) {
  const Eigen::Index p = model.kernel ? model.kernel->support.cols() : model.w.size();
  if (X.cols() != p)
    throw ValueError(fmt::format("linear SVC decision: X has {} columns but the model has {} weights", X.cols(),
                                 p));
  // sklearn's check_array ("Input X contains NaN"): a score computed from a missing or
  // infinite feature is NaN or +-inf, which would pass as a prediction downstream.
  for (Eigen::Index j = 0; j < X.cols(); ++j)
    for (Eigen::Index i = 0; i < X.rows(); ++i)
      if (!std::isfinite(X(i, j)))
        throw ValueError(fmt::format("linear SVC decision: X has {} at row {}, column {}; a model cannot score a "
                                     "row with a missing or infinite feature",
                                     std::isnan(X(i, j)) ? "a missing value (NaN)" : fmt::format("the value {}", X(i, j)),
                                     i + 1, j + 1));
  if (model.kernel) return kernel_decision(*model.kernel, X);
  Vector f = X * model.w;
  f.array() += model.b;
  return f;
}

ClassCosts balanced_costs(double C, const Eigen::Ref<const Vector>& y) {
  if (!(C > 0.0) || !std::isfinite(C))
    throw ValueError(fmt::format("balanced costs: C must be positive and finite, got {}", C));
  check_labels(y, "balanced costs");
  const auto n_pos = (y.array() > 0.0).count();
  const auto n_neg = y.size() - n_pos;
  if (n_pos == 0 || n_neg == 0)
    throw ValueError(fmt::format("balanced costs need both classes, but the {} labels have no {}", y.size(),
                                 n_pos == 0 ? "+1" : "-1"));
  // C times the class weight n_pos / n_neg, as NeuroMiner passes it to LIBLINEAR (-w-1).
  return {C, C * (static_cast<double>(n_pos) / static_cast<double>(n_neg))};
}

}  // namespace nl::ml

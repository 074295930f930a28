// The kernel models of nl/ml/estimators.hpp: kernel ridge (scikit-learn's KernelRidge)
// and the C-SVC of LIBSVM by SMO. The problems and the contract are in the header.
#include "nl/ml/estimators.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "ml/estimator_checks.hpp"

namespace nl::ml {

namespace {

using detail::check_labels;
using detail::check_max_iter;
using detail::check_positive;
using detail::check_targets;
using detail::check_X;

const char* kernel_name(Kernel k) { return k == Kernel::Rbf ? "rbf" : "linear"; }

void check_kernel(Kernel kernel, double gamma, const char* what) {
  if (kernel != Kernel::Linear && kernel != Kernel::Rbf)
    throw ValueError(fmt::format("{}: unknown kernel {}", what, static_cast<int>(kernel)));
  if (kernel == Kernel::Rbf) check_positive(gamma, what, "gamma");
}

}  // namespace

// ---------------------------------------------------------------- kernels

// The rbf kernel from squared norms, ||a - b||^2 = a'a + b'b - 2 a'b (one matrix
// product, as scikit-learn's euclidean_distances); rounding can make a tiny distance
// negative, which is clamped to 0 (so k(x, x) = 1 exactly up to that clamp).
Matrix kernel_matrix(Kernel kernel, double gamma, const Eigen::Ref<const Matrix>& A,
                     const Eigen::Ref<const Matrix>& B) {
  check_kernel(kernel, gamma, "kernel matrix");
  if (A.cols() != B.cols())
    throw ValueError(fmt::format("kernel matrix: A has {} columns but B has {}", A.cols(), B.cols()));
  Matrix K;
  if (A.data() == B.data() && A.rows() == B.rows() && A.outerStride() == B.outerStride()) {
    // The training rows against themselves: a symmetric rank-k update (half the work).
    K = Matrix::Zero(A.rows(), A.rows());
    K.selfadjointView<Eigen::Lower>().rankUpdate(A);
    for (Eigen::Index j = 1; j < K.cols(); ++j)
      for (Eigen::Index i = 0; i < j; ++i) K(i, j) = K(j, i);
  } else {
    K = A * B.transpose();
  }
  if (kernel == Kernel::Linear) return K;
  const Vector a2 = A.rowwise().squaredNorm();
  const Vector b2 = B.rowwise().squaredNorm();
  for (Eigen::Index j = 0; j < K.cols(); ++j)
    for (Eigen::Index i = 0; i < K.rows(); ++i) {
      const double d2 = std::max(a2[i] + b2[j] - 2.0 * K(i, j), 0.0);
      K(i, j) = std::exp(-gamma * d2);
    }
  return K;
}

Vector kernel_decision(const KernelModel& model, const Eigen::Ref<const Matrix>& X) {
  if (X.cols() != model.support.cols())
    throw ValueError(fmt::format("kernel decision: X has {} columns but the model's support vectors have {}",
                                 X.cols(), model.support.cols()));
  if (model.coef.size() != model.support.rows())
    throw ValueError(fmt::format("kernel decision: the model has {} support vectors but {} coefficients",
                                 model.support.rows(), model.coef.size()));
  // As decision() of nl/ml/svc.hpp: a score from a missing or infinite feature would pass
  // downstream as a prediction.
  for (Eigen::Index j = 0; j < X.cols(); ++j)
    for (Eigen::Index i = 0; i < X.rows(); ++i)
      if (!std::isfinite(X(i, j)))
        throw ValueError(fmt::format("kernel decision: X has {} at row {}, column {}; a model cannot score a "
                                     "row with a missing or infinite feature",
                                     std::isnan(X(i, j)) ? "a missing value (NaN)" : fmt::format("the value {}", X(i, j)),
                                     i + 1, j + 1));
  Vector f = kernel_matrix(model.kernel, model.gamma, X, model.support) * model.coef;
  f.array() += model.b;
  return f;
}

Vector kernel_weights(const KernelModel& model) {
  if (model.kernel != Kernel::Linear)
    throw ValueError(fmt::format("weights are defined for a linear kernel only; this model has an {} kernel, "
                                 "whose feature space has no finite weight vector",
                                 kernel_name(model.kernel)));
  if (model.coef.size() != model.support.rows())
    throw ValueError(fmt::format("kernel weights: the model has {} support vectors but {} coefficients",
                                 model.support.rows(), model.coef.size()));
  return model.support.transpose() * model.coef;
}

// ---------------------------------------------------------------- kernel ridge

// scikit-learn's KernelRidge.fit: _solve_cholesky_kernel, a Cholesky solve of
// (K + alpha I) coef = y. Every training row is a "support vector".
KernelModel fit_kernel_ridge(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y,
                             const KernelRidgeOptions& options) {
  constexpr const char* what = "kernel ridge";
  check_X(X, what);
  check_targets(X, y, what);
  check_positive(options.alpha, what, "alpha");
  check_kernel(options.kernel, options.gamma, what);

  Matrix K = kernel_matrix(options.kernel, options.gamma, X, X);
  K.diagonal().array() += options.alpha;
  const Eigen::LLT<Matrix> llt(K);
  if (llt.info() != Eigen::Success)
    throw ValueError(fmt::format("kernel ridge: K + alpha I is not positive definite (alpha = {} is too small "
                                 "for the scale of the kernel)",
                                 options.alpha));
  KernelModel model;
  model.kernel = options.kernel;
  model.gamma = options.gamma;
  model.support = X;
  model.coef = llt.solve(y);
  model.n_train = X.rows();
  model.support_rows.resize(static_cast<std::size_t>(X.rows()));
  for (Eigen::Index i = 0; i < X.rows(); ++i) model.support_rows[static_cast<std::size_t>(i)] = i;
  model.b = 0.0;
  model.iterations = 1;
  model.converged = true;
  return model;
}

// ---------------------------------------------------------------- kernel SVC

namespace {

// The solver keeps the whole matrix Q (n x n doubles) in memory, in place of LIBSVM's
// column cache: 5000 samples take 200 MB, scikit-learn's default cache_size.
constexpr Eigen::Index kMaxSvcSamples = 5000;

// LIBSVM 3.x's Solver (svm.cpp) for the C-SVC dual, with its variable names:
//
//   min_a  1/2 a'Q a + p'a,  0 <= a_i <= C_i,  y'a = 0,  p = -e,
//
// by SMO with the second-order working set selection WSS3 (Fan, Chen & Lin 2005,
// "Working set selection using second order information for training SVM", JMLR),
// shrinking (every min(l, 1000) steps, with one unshrink near the end) and gradient
// reconstruction from G_bar (the gradient part of the variables at their upper bound).
// Q is held in full, in the solver's permuted order: swap_index swaps its rows and
// columns, as LIBSVM's cache does, so column i is contiguous and Q_i[j] = Q(j, i).
// LIBSVM's cache stores Q in float; here it is double, so the result is the optimum of
// the exact problem (scikit-learn's differs from it at the level of float rounding).
class Solver {
 public:
  Solver(Matrix Q, const Vector& y, const Vector& C, double eps)
      : l_(static_cast<int>(y.size())), Q_(std::move(Q)), eps_(eps) {
    QD_ = Q_.diagonal();
    y_.resize(static_cast<std::size_t>(l_));
    C_.resize(static_cast<std::size_t>(l_));
    for (int i = 0; i < l_; ++i) {
      y_[idx(i)] = y[i] > 0.0 ? 1 : -1;
      C_[idx(i)] = C[i];
    }
    alpha_.assign(idx(l_), 0.0);
    p_.assign(idx(l_), -1.0);
    status_.assign(idx(l_), LOWER_BOUND);
    active_set_.resize(idx(l_));
    for (int i = 0; i < l_; ++i) active_set_[idx(i)] = i;
    active_size_ = l_;
    // alpha = 0: G = p and G_bar = 0 (LIBSVM's general initialization reduces to this).
    G_ = p_;
    G_bar_.assign(idx(l_), 0.0);
  }

  // Runs SMO; returns the steps taken and whether the stopping rule held.
  std::pair<int, bool> solve(int max_iter, bool shrinking) {
    int iter = 0;
    int counter = std::min(l_, 1000) + 1;
    bool optimal = false;
    while (iter < max_iter) {
      if (--counter == 0) {
        counter = std::min(l_, 1000);
        check_interrupt();
        if (shrinking) do_shrinking();
      }
      int i = 0, j = 0;
      if (select_working_set(i, j)) {
        // Optimal on the active set: reconstruct the whole gradient and check all.
        reconstruct_gradient();
        active_size_ = l_;
        if (select_working_set(i, j)) {
          optimal = true;
          break;
        }
        counter = 1;  // shrink at the next step
      }
      ++iter;
      update_pair(i, j);
    }
    if (!optimal && active_size_ < l_) {
      reconstruct_gradient();  // rho needs the whole gradient
      active_size_ = l_;
    }
    return {iter, optimal};
  }

  // LIBSVM's calculate_rho: the mean of y_i G_i over the free variables, else the
  // midpoint of the feasible interval given by the bounded ones.
  double calculate_rho() const {
    int nr_free = 0;
    double ub = INF, lb = -INF, sum_free = 0.0;
    for (int i = 0; i < active_size_; ++i) {
      const double yG = y_[idx(i)] * G_[idx(i)];
      if (is_upper_bound(i)) {
        if (y_[idx(i)] == -1)
          ub = std::min(ub, yG);
        else
          lb = std::max(lb, yG);
      } else if (is_lower_bound(i)) {
        if (y_[idx(i)] == +1)
          ub = std::min(ub, yG);
        else
          lb = std::max(lb, yG);
      } else {
        ++nr_free;
        sum_free += yG;
      }
    }
    return nr_free > 0 ? sum_free / nr_free : (ub + lb) / 2.0;
  }

  // alpha in the original order of the samples.
  Vector alpha() const {
    Vector a(l_);
    for (int i = 0; i < l_; ++i) a[active_set_[idx(i)]] = alpha_[idx(i)];
    return a;
  }

 private:
  static constexpr double INF = std::numeric_limits<double>::infinity();
  static constexpr double TAU = 1e-12;
  enum Status : char { LOWER_BOUND, UPPER_BOUND, FREE };

  static std::size_t idx(int i) { return static_cast<std::size_t>(i); }
  const double* Q_col(int i) const { return Q_.col(i).data(); }
  bool is_upper_bound(int i) const { return status_[idx(i)] == UPPER_BOUND; }
  bool is_lower_bound(int i) const { return status_[idx(i)] == LOWER_BOUND; }
  bool is_free(int i) const { return status_[idx(i)] == FREE; }
  void update_alpha_status(int i) {
    const double a = alpha_[idx(i)];
    status_[idx(i)] = a >= C_[idx(i)] ? UPPER_BOUND : a <= 0.0 ? LOWER_BOUND : FREE;
  }

  void swap_index(int i, int j) {
    Q_.col(i).swap(Q_.col(j));
    Q_.row(i).swap(Q_.row(j));
    std::swap(QD_[i], QD_[j]);
    std::swap(y_[idx(i)], y_[idx(j)]);
    std::swap(C_[idx(i)], C_[idx(j)]);
    std::swap(G_[idx(i)], G_[idx(j)]);
    std::swap(status_[idx(i)], status_[idx(j)]);
    std::swap(alpha_[idx(i)], alpha_[idx(j)]);
    std::swap(p_[idx(i)], p_[idx(j)]);
    std::swap(active_set_[idx(i)], active_set_[idx(j)]);
    std::swap(G_bar_[idx(i)], G_bar_[idx(j)]);
  }

  // The gradient of the shrunk variables from G_bar and the free variables, by the
  // cheaper of LIBSVM's two loop orders.
  void reconstruct_gradient() {
    if (active_size_ == l_) return;
    for (int j = active_size_; j < l_; ++j) G_[idx(j)] = G_bar_[idx(j)] + p_[idx(j)];
    int nr_free = 0;
    for (int j = 0; j < active_size_; ++j) nr_free += is_free(j) ? 1 : 0;
    if (static_cast<double>(nr_free) * l_ > 2.0 * active_size_ * (l_ - active_size_)) {
      for (int i = active_size_; i < l_; ++i) {
        const double* Q_i = Q_col(i);
        for (int j = 0; j < active_size_; ++j)
          if (is_free(j)) G_[idx(i)] += alpha_[idx(j)] * Q_i[j];
      }
    } else {
      for (int i = 0; i < active_size_; ++i)
        if (is_free(i)) {
          const double* Q_i = Q_col(i);
          const double alpha_i = alpha_[idx(i)];
          for (int j = active_size_; j < l_; ++j) G_[idx(j)] += alpha_i * Q_i[j];
        }
    }
  }

  // WSS3: i maximizes -y_i G_i over I_up; j minimizes the second-order decrease of the
  // objective among the j in I_low that violate with i. Returns true when optimal
  // (the maximal violation Gmax + Gmax2 is below eps).
  bool select_working_set(int& out_i, int& out_j) const {
    double Gmax = -INF, Gmax2 = -INF;
    int Gmax_idx = -1, Gmin_idx = -1;
    double obj_diff_min = INF;
    for (int t = 0; t < active_size_; ++t) {
      if (y_[idx(t)] == +1) {
        if (!is_upper_bound(t) && -G_[idx(t)] >= Gmax) {
          Gmax = -G_[idx(t)];
          Gmax_idx = t;
        }
      } else if (!is_lower_bound(t) && G_[idx(t)] >= Gmax) {
        Gmax = G_[idx(t)];
        Gmax_idx = t;
      }
    }
    const int i = Gmax_idx;
    const double* Q_i = i != -1 ? Q_col(i) : nullptr;  // not read when i = -1 (Gmax = -INF)
    for (int j = 0; j < active_size_; ++j) {
      const double Gj = G_[idx(j)];
      double grad_diff;
      double quad_coef;
      if (y_[idx(j)] == +1) {
        if (is_lower_bound(j)) continue;
        grad_diff = Gmax + Gj;
        Gmax2 = std::max(Gmax2, Gj);
        if (!(grad_diff > 0.0)) continue;
        quad_coef = QD_[i] + QD_[j] - 2.0 * y_[idx(i)] * Q_i[j];
      } else {
        if (is_upper_bound(j)) continue;
        grad_diff = Gmax - Gj;
        Gmax2 = std::max(Gmax2, -Gj);
        if (!(grad_diff > 0.0)) continue;
        quad_coef = QD_[i] + QD_[j] + 2.0 * y_[idx(i)] * Q_i[j];
      }
      const double obj_diff = -(grad_diff * grad_diff) / (quad_coef > 0.0 ? quad_coef : TAU);
      if (obj_diff <= obj_diff_min) {
        Gmin_idx = j;
        obj_diff_min = obj_diff;
      }
    }
    if (Gmax + Gmax2 < eps_ || Gmin_idx == -1) return true;
    out_i = Gmax_idx;
    out_j = Gmin_idx;
    return false;
  }

  // The analytic two-variable step of LIBSVM, clipped to the box, then the updates of
  // G, the bound status and G_bar.
  void update_pair(int i, int j) {
    const double* Q_i = Q_col(i);
    const double* Q_j = Q_col(j);
    const double C_i = C_[idx(i)], C_j = C_[idx(j)];
    double& ai = alpha_[idx(i)];
    double& aj = alpha_[idx(j)];
    const double old_alpha_i = ai, old_alpha_j = aj;
    if (y_[idx(i)] != y_[idx(j)]) {
      double quad_coef = QD_[i] + QD_[j] + 2.0 * Q_i[j];
      if (quad_coef <= 0.0) quad_coef = TAU;
      const double delta = (-G_[idx(i)] - G_[idx(j)]) / quad_coef;
      const double diff = ai - aj;
      ai += delta;
      aj += delta;
      if (diff > 0.0) {
        if (aj < 0.0) {
          aj = 0.0;
          ai = diff;
        }
      } else if (ai < 0.0) {
        ai = 0.0;
        aj = -diff;
      }
      if (diff > C_i - C_j) {
        if (ai > C_i) {
          ai = C_i;
          aj = C_i - diff;
        }
      } else if (aj > C_j) {
        aj = C_j;
        ai = C_j + diff;
      }
    } else {
      double quad_coef = QD_[i] + QD_[j] - 2.0 * Q_i[j];
      if (quad_coef <= 0.0) quad_coef = TAU;
      const double delta = (G_[idx(i)] - G_[idx(j)]) / quad_coef;
      const double sum = ai + aj;
      ai -= delta;
      aj += delta;
      if (sum > C_i) {
        if (ai > C_i) {
          ai = C_i;
          aj = sum - C_i;
        }
      } else if (aj < 0.0) {
        aj = 0.0;
        ai = sum;
      }
      if (sum > C_j) {
        if (aj > C_j) {
          aj = C_j;
          ai = sum - C_j;
        }
      } else if (ai < 0.0) {
        ai = 0.0;
        aj = sum;
      }
    }
    const double delta_alpha_i = ai - old_alpha_i;
    const double delta_alpha_j = aj - old_alpha_j;
    for (int k = 0; k < active_size_; ++k) G_[idx(k)] += Q_i[k] * delta_alpha_i + Q_j[k] * delta_alpha_j;

    const bool ui = is_upper_bound(i), uj = is_upper_bound(j);
    update_alpha_status(i);
    update_alpha_status(j);
    if (ui != is_upper_bound(i)) {
      const double c = ui ? -C_i : C_i;
      for (int k = 0; k < l_; ++k) G_bar_[idx(k)] += c * Q_i[k];
    }
    if (uj != is_upper_bound(j)) {
      const double c = uj ? -C_j : C_j;
      for (int k = 0; k < l_; ++k) G_bar_[idx(k)] += c * Q_j[k];
    }
  }

  bool be_shrunk(int i, double Gmax1, double Gmax2) const {
    const double G = G_[idx(i)];
    if (is_upper_bound(i)) return y_[idx(i)] == +1 ? -G > Gmax1 : -G > Gmax2;
    if (is_lower_bound(i)) return y_[idx(i)] == +1 ? G > Gmax2 : G > Gmax1;
    return false;
  }

  // Moves the variables that are bound and not about to move (judged against the
  // maximal violating pair) behind the active set; once the violation is within
  // 10 eps, first unshrinks everything once (LIBSVM's `unshrink`).
  void do_shrinking() {
    double Gmax1 = -INF;  // max { -y_i G_i | i in I_up }
    double Gmax2 = -INF;  // max { y_i G_i | i in I_low }
    for (int i = 0; i < active_size_; ++i) {
      const double G = G_[idx(i)];
      if (y_[idx(i)] == +1) {
        if (!is_upper_bound(i)) Gmax1 = std::max(Gmax1, -G);
        if (!is_lower_bound(i)) Gmax2 = std::max(Gmax2, G);
      } else {
        if (!is_upper_bound(i)) Gmax2 = std::max(Gmax2, -G);
        if (!is_lower_bound(i)) Gmax1 = std::max(Gmax1, G);
      }
    }
    if (!unshrink_ && Gmax1 + Gmax2 <= eps_ * 10.0) {
      unshrink_ = true;
      reconstruct_gradient();
      active_size_ = l_;
    }
    for (int i = 0; i < active_size_; ++i)
      if (be_shrunk(i, Gmax1, Gmax2)) {
        --active_size_;
        while (active_size_ > i) {
          if (!be_shrunk(active_size_, Gmax1, Gmax2)) {
            swap_index(i, active_size_);
            break;
          }
          --active_size_;
        }
      }
  }

  int l_;
  Matrix Q_;
  Vector QD_;
  double eps_;
  std::vector<int> y_;
  std::vector<double> C_, alpha_, p_, G_, G_bar_;
  std::vector<Status> status_;
  std::vector<int> active_set_;
  int active_size_ = 0;
  bool unshrink_ = false;
};

}  // namespace

// LIBSVM's solve_c_svc: the Solver on Q_ij = y_i y_j k(x_i, x_j), p = -e, C_i = Cp or Cn
// by label; then b = -rho and coef_i = alpha_i y_i for the samples with alpha_i > 0.
KernelModel fit_kernel_svc(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y,
                           const KernelSvcOptions& options) {
  constexpr const char* what = "kernel SVC";
  check_X(X, what);
  check_labels(X, y, what, true);
  check_positive(options.Cp, what, "Cp");
  check_positive(options.Cn, what, "Cn");
  check_kernel(options.kernel, options.gamma, what);
  check_positive(options.eps, what, "eps");
  check_max_iter(options.max_iter, what);
  const Eigen::Index n = X.rows();
  if (n > kMaxSvcSamples)
    throw ValueError(fmt::format("kernel SVC: {} samples are more than the {} this solver takes (it keeps the "
                                 "full {} x {} kernel matrix in memory)",
                                 n, kMaxSvcSamples, n, n));

  Matrix Q = kernel_matrix(options.kernel, options.gamma, X, X);
  Q.array().colwise() *= y.array();
  Q.array().rowwise() *= y.transpose().array();
  const Vector C = (y.array() > 0.0).select(Vector::Constant(n, options.Cp), options.Cn);
  Solver solver(std::move(Q), y, C, options.eps);
  const auto [iterations, optimal] = solver.solve(options.max_iter, options.shrinking);
  const double rho = solver.calculate_rho();
  const Vector alpha = solver.alpha();

  KernelModel model;
  model.kernel = options.kernel;
  model.gamma = options.gamma;
  model.n_train = n;
  for (Eigen::Index i = 0; i < n; ++i)
    if (alpha[i] > 0.0) model.support_rows.push_back(i);
  const auto n_sv = static_cast<Eigen::Index>(model.support_rows.size());
  model.support.resize(n_sv, X.cols());
  model.coef.resize(n_sv);
  for (Eigen::Index k = 0; k < n_sv; ++k) {
    const Eigen::Index i = model.support_rows[static_cast<std::size_t>(k)];
    model.support.row(k) = X.row(i);
    model.coef[k] = alpha[i] * y[i];
  }
  model.b = -rho;
  model.iterations = iterations;
  model.converged = optimal;
  return model;
}

}  // namespace nl::ml

// nl/ml/estimators.hpp: the models beside the linear SVC (nl/ml/svc.hpp), each with the
// semantics of its reference implementation:
//
//  * linear SVR: LIBLINEAR -s 12 (L2-regularized L2-loss support vector regression, dual
//    coordinate descent; scikit-learn's LinearSVR(loss = "squared_epsilon_insensitive",
//    dual = True)):  min_w 1/2 w'w + C sum_i max(0, |y_i - w'x_i| - epsilon)^2;
//  * logistic regression: LIBLINEAR -s 0 (L2-regularized logistic regression, primal;
//    scikit-learn's LogisticRegression(solver = "liblinear")):
//      min_w 1/2 w'w + sum_i C_i log(1 + exp(-y_i w'x_i)),  y_i in {+1, -1};
//  * ridge: scikit-learn's Ridge(alpha, fit_intercept = True):
//      min_{w,b} ||y - X w - b||^2 + alpha ||w||^2  (the intercept is not penalized);
//  * kernel ridge: scikit-learn's KernelRidge(alpha, kernel = "linear" | "rbf", gamma):
//      coef = (K + alpha I)^-1 y, f(x) = sum_i coef_i k(x_i, x)  (no intercept);
//  * kernel SVC: LIBSVM's C-SVC (scikit-learn's SVC(kernel = "rbf" | "linear")) by SMO
//    with second-order working-set selection (Fan, Chen & Lin 2005) and shrinking:
//      min_a 1/2 a'Q a - e'a,  0 <= a_i <= C_i,  y'a = 0,  Q_ij = y_i y_j k(x_i, x_j),
//    f(x) = sum_i a_i y_i k(x_i, x) + b.
//
// Bias as LIBLINEAR's -B for the liblinear models (bias >= 0 appends a constant feature
// of value `bias` whose weight is regularized; b = bias * w_b; negative: no intercept).
// The rbf kernel is k(u, v) = exp(-gamma ||u - v||^2); linear is u'v.
//
// Contract (as nl/ml/svc.hpp): X n x p finite, targets finite (labels exactly +1/-1 for
// the classifiers), positive finite hyperparameters; violations throw nl::ValueError
// naming the model, the argument and the row/column (1-based). Not converging within
// max_iter is not an error (converged = false). The iterative solvers poll
// nl::check_interrupt() at least once per outer iteration. Where a solver draws random
// orders it uses the Rng passed in; the same stream gives the same result bit for bit.
#pragma once

#include <cstdint>

#include "nl/core/core.hpp"
#include "nl/core/linalg.hpp"
#include "nl/ml/svc.hpp"

namespace nl::ml {

// ---------------------------------------------------------------- linear models
// All return a LinearSvcModel (w, b, plus solver state: alpha is the dual solution
// where the solver has one, else empty; iterations; converged), so decision() of
// nl/ml/svc.hpp applies them.

struct LinearSvrOptions {
  double C = 1.0;
  double epsilon = 0.0;  // the insensitive-zone half-width (LIBLINEAR -p)
  double eps = 0.001;    // stopping tolerance (LIBLINEAR's -e for -s 12)
  double bias = -1.0;
  int max_iter = 1000;
};
// model.alpha is LIBLINEAR's signed dual beta (w = sum_i beta_i x_i, bias feature included).
LinearSvcModel fit_linear_svr(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y,
                              const LinearSvrOptions& options, Rng& rng);

struct LogisticOptions {
  double Cp = 1.0, Cn = 1.0;  // costs of the +1 and -1 samples
  double eps = 0.01;          // LIBLINEAR -s 0's stopping tolerance on the gradient norm
  double bias = -1.0;
  int max_iter = 1000;
};
// TRON as LIBLINEAR's tron.cpp, including its stop when a step's reductions fall below
// 1e-12 |f| (the iterate is then optimal to working precision, so the fit counts as
// converged: an eps far below 1e-6 can ask for more than working precision gives, and a
// "did not converge" warning would be false; scikit-learn stops at the same iterate). As in LIBLINEAR (and the
// linear SVC), a single class is accepted.
LinearSvcModel fit_logistic(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y,
                            const LogisticOptions& options);
// P(y = +1 | x) = 1 / (1 + exp(-(w'x + b))), one per row of X (computed without overflow).
Vector logistic_probability(const LinearSvcModel& model, const Eigen::Ref<const Matrix>& X);

struct RidgeOptions {
  double alpha = 1.0;
  bool fit_intercept = true;
};
// Exact (a Cholesky solve of the p x p or, when p > n, the n x n system); converged = true.
LinearSvcModel fit_ridge(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y,
                         const RidgeOptions& options);

// ---------------------------------------------------------------- kernel models

enum class Kernel : std::uint8_t { Linear = 0, Rbf = 1 };

// f(x) = sum_i coef_i k(support_i, x) + b.
struct KernelModel {
  Kernel kernel = Kernel::Rbf;
  double gamma = 1.0;         // rbf only
  Matrix support;             // the support vectors (rows); kernel ridge: every training row
  Vector coef;                // one per support vector (SVC: alpha_i y_i)
  Eigen::Index n_train = 0;   // rows it was trained on
  std::vector<Eigen::Index> support_rows;  // their 0-based rows in the training data
  double b = 0.0;
  int iterations = 0;
  bool converged = true;
};

// k(A_i, B_j) for all pairs: rows(A) x rows(B).
Matrix kernel_matrix(Kernel kernel, double gamma, const Eigen::Ref<const Matrix>& A, const Eigen::Ref<const Matrix>& B);

// Decision values, one per row of X (X must have support.cols() columns).
Vector kernel_decision(const KernelModel& model, const Eigen::Ref<const Matrix>& X);

// The primal weights sum_i coef_i support_i of a linear-kernel model (ValueError for rbf:
// "weights are defined for a linear kernel only ...").
Vector kernel_weights(const KernelModel& model);

struct KernelRidgeOptions {
  double alpha = 1.0;
  Kernel kernel = Kernel::Rbf;
  double gamma = 1.0;
};
KernelModel fit_kernel_ridge(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y,
                             const KernelRidgeOptions& options);

struct KernelSvcOptions {
  double Cp = 1.0, Cn = 1.0;
  Kernel kernel = Kernel::Rbf;
  double gamma = 1.0;
  double eps = 0.001;   // LIBSVM's -e (tolerance of the maximal violating pair)
  int max_iter = 10'000'000;  // SMO steps (LIBSVM: max(10'000'000, 100 n) with a warning)
  bool shrinking = true;
};
// Keeps the full n x n kernel matrix (in double; LIBSVM caches float): at most 5000
// samples (ValueError above). max_iter is used as given.
KernelModel fit_kernel_svc(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y,
                           const KernelSvcOptions& options);

}  // namespace nl::ml

// nl/ml/svc.hpp: linear support vector classification, LIBLINEAR's `-s 1`.
//
// Problem (L2-regularized, L2-loss SVC, primal), for samples x_i (rows of X) with
// labels y_i in {+1, -1} and per-sample costs C_i (Cp for y_i = +1, Cn for y_i = -1):
//
//   min_w  1/2 w'w + sum_i C_i max(0, 1 - y_i w'x_i)^2
//
// solved in the dual by coordinate descent (Hsieh, Chang, Lin, Keerthi & Sundararajan
// 2008, "A dual coordinate descent method for large-scale linear SVM", ICML: dual
// coordinate descent with random permutation and shrinking, the Algorithm 3 that
// LIBLINEAR 2.3's solve_l2r_l1l2_svc cites and implements):
//
//   min_alpha  f(alpha) = 1/2 alpha' (Qbar) alpha - e'alpha   s.t. 0 <= alpha_i <= U,
//   Qbar = Q + D,  Q_ij = y_i y_j x_i'x_j,  D_ii = 1 / (2 C_i),  U = infinity,
//
// with w = sum_i alpha_i y_i x_i kept up to date, so each coordinate step costs two
// dot products of length p. It stops when the projected gradients of all samples
// span at most eps (max PG - min PG <= eps, LIBLINEAR's "dual maximal violation").
//
// Bias (LIBLINEAR -B): with bias >= 0 every sample gets an extra constant feature of
// value `bias`, whose weight w_b is regularized like the others; the model's intercept
// is b = bias * w_b. With bias < 0 (the default) there is no intercept.
//
// Contract:
//  * X is n x p (rows are samples), finite; y has n entries, each exactly +1 or -1;
//    Cp, Cn > 0 and finite; eps > 0; max_iter >= 1. Violations throw nl::ValueError
//    naming the problem (the row and column of a non-finite value, 1-based).
//  * A single class is accepted, as LIBLINEAR's solver accepts it: the problem is
//    still well-posed (all labels +1 pushes every sample to the positive side). It is
//    balanced_costs that refuses an empty class.
//  * Randomness: each outer iteration visits the active set in a random order, drawn as
//    it is used: the coordinate at position s of the pass is chosen uniformly among the
//    active samples not yet visited (one rng.below(remaining) per step, also for a step
//    that shrinks its sample). That is a uniformly random permutation, as LIBLINEAR's
//    (which shuffles the active set first and lets shrinking pull in not-yet-visited
//    samples early); drawing it step by step lets the draws overlap the arithmetic. The
//    stream comes from the nl::Rng passed in (or Rng(options.seed)). The same stream state
//    gives the same w bit for bit, on every CPU (see below). The optimum is unique (Qbar
//    is positive definite), so different streams agree to solver tolerance. LIBLINEAR
//    uses the C library's rand(); its exact path cannot be reproduced and is not needed.
//  * Arithmetic: G_i is formed with a one-step lookahead (for up to 32 features; see
//    ml/svc.cpp) and dot products sum in a fixed order, so iterates equal LIBLINEAR's up
//    to rounding. The loop has a build for CPUs with AVX (nl::simd_avx()) that gives
//    bit-identical results.
//  * Not converging within max_iter is not an error: the model says converged = false
//    (LIBLINEAR prints a warning and uses the iterate). The computation polls
//    nl::check_interrupt() once per outer iteration.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/core/linalg.hpp"

namespace nl::ml {

struct LinearSvcOptions {
  double Cp = 1.0;        // cost of samples with y = +1
  double Cn = 1.0;        // cost of samples with y = -1
  double eps = 0.01;      // stopping tolerance on the projected-gradient spread
  double bias = -1.0;     // constant feature value; negative: no bias term
  int max_iter = 1000;    // outer iterations (passes over the active set)
  std::uint64_t seed = 0; // for the overload without an explicit Rng
  // Warm start: the dual variables to start from (n entries, negative ones are taken
  // as 0), e.g. a solution at a nearby C; empty: alpha = 0. The optimum is unique, so
  // the start only changes how many passes are needed (and the iterate returned, within
  // the stopping tolerance), not the problem solved.
  Vector alpha0;
};

struct KernelModel;  // nl/ml/estimators.hpp

// The fitted model. Learned state only; decision() applies it. The same record holds
// every estimator of nl/ml/estimators.hpp: a linear model in w and b, a kernel model
// (kernel SVC, kernel ridge) in `kernel` (then w is empty and decision() is
// kernel_decision()).
struct LinearSvcModel {
  Vector w;                // p weights (the bias weight is not included)
  double b = 0.0;          // intercept: bias * w_b, or 0 without a bias term
  Vector alpha;            // the dual solution (n); w = sum_i alpha_i y_i x_i (+ bias part)
  int iterations = 0;      // outer iterations run
  bool converged = false;  // the stopping rule held on the full set of samples
  std::shared_ptr<const KernelModel> kernel;  // a kernel model, else null
};

LinearSvcModel fit_linear_svc(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y,
                              const LinearSvcOptions& options, Rng& rng);

// The training rows of a linear SVC prepared once for several fits on the same rows and
// labels, e.g. along a C grid (issue 21: the set-up was 5 % of a nested CV at
// n = 6,400): u_i = y_i x_i with the bias feature, zero-padded, and u_i'u_i. The
// constructor checks X and y as fit_linear_svc does (ValueError). A fit from it is
// bit-identical to fit_linear_svc(X, y, options, rng) with options.bias == bias.
class LinearSvcProblem {
 public:
  LinearSvcProblem(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y, double bias);
  int rows() const { return l_; }
  Eigen::Index features() const { return p_; }
  double bias() const { return bias_; }

 private:
  friend LinearSvcModel fit_linear_svc(const LinearSvcProblem&, const LinearSvcOptions&, Rng&);
  friend LinearSvcModel fit_linear_svc(const Eigen::Ref<const Matrix>&, const Eigen::Ref<const Vector>&,
                                       const LinearSvcOptions&, Rng&);
  struct Checked {};  // X, y and bias already checked
  LinearSvcProblem(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y, double bias, Checked);
  std::vector<double> U_;   // (l + 1) x 4 nq: the samples, then an all-zero one
  std::vector<double> sq_;  // u_i'u_i, bias feature included
  std::vector<bool> pos_;   // y_i > 0
  int l_ = 0, nq_ = 1;
  Eigen::Index p_ = 0;
  double bias_ = -1.0;
};
// A fit on a prepared problem; options.bias must be the problem's (else nl::Error).
LinearSvcModel fit_linear_svc(const LinearSvcProblem& problem, const LinearSvcOptions& options, Rng& rng);
// Same, with the stream Rng(options.seed).
LinearSvcModel fit_linear_svc(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y,
                              const LinearSvcOptions& options = {});

// Decision values X w + b (a kernel model: kernel_decision), one per row of X. X must
// have w.size() columns (a kernel model: its support vectors' columns); a non-finite
// entry is a ValueError naming its row and column.
Vector decision(const LinearSvcModel& model, const Eigen::Ref<const Matrix>& X);

// NeuroMiner's hyperplane weighting: Cp = C for the positive class and
// Cn = C * n_pos / n_neg for the negative class, counted on the labels y (each +1 or
// -1). C must be positive and finite; both classes must be present (ValueError).
struct ClassCosts {
  double Cp;
  double Cn;
};
ClassCosts balanced_costs(double C, const Eigen::Ref<const Vector>& y);

}  // namespace nl::ml

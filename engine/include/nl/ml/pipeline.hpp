// nl/ml/pipeline.hpp: the paper's model as one object: label-independent preprocessing,
// an optional forward wrapper, and a linear SVC (METHODS.md section 1, steps 1-7).
//
// The split between the two kinds of steps is explicit, because cross-validation
// exploits it: fit_preprocessing() depends on the training rows only, so it is fitted
// once per training fold and reused for every C value and every label permutation;
// fit_model() is the label-dependent part (wrapper + SVC) run on the preprocessed data.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/core/linalg.hpp"
#include "nl/core/progress.hpp"
#include "nl/ml/estimators.hpp"
#include "nl/ml/svc.hpp"
#include "nl/ml/transform.hpp"
#include "nl/table/table.hpp"

namespace nl::ml {

// ---------------------------------------------------------------- model specification

enum class Weighting { Balanced, None, Custom };

// The estimator at the end of a pipeline (nl/ml/svc.hpp, nl/ml/estimators.hpp). The
// classifiers take labels +1/-1 and score with a decision value whose sign is the class;
// the regressors take finite numbers and predict them.
enum class Estimator : std::uint8_t {
  LinearSvc = 0,    // LIBLINEAR -s 1 (the paper's model)
  LinearSvr = 1,    // LIBLINEAR -s 12 (regression)
  Logistic = 2,     // LIBLINEAR -s 0 (classification, probabilities)
  Ridge = 3,        // scikit-learn Ridge (regression)
  KernelRidge = 4,  // scikit-learn KernelRidge (regression)
  KernelSvc = 5,    // LIBSVM C-SVC (classification)
};
bool is_regression(Estimator e);
// "svc", "svr", "logistic", "ridge", "kernel_ridge", "kernel_svc" (the nl.ml constructors).
const char* estimator_name(Estimator e);

// What model selection (CV1) and the permutation test score: BAC for the classifiers,
// one of MAE (the default), RMSE, r and R^2 (scikit-learn's r2_score) for the regressors.
enum class Criterion : std::uint8_t { Default = 0, Bac = 1, Mae = 2, Rmse = 3, R = 4, R2 = 5 };
// "bac", "mae", "rmse", "r", "r2".
const char* criterion_name(Criterion c);
bool higher_is_better(Criterion c);
// The value of the criterion for predictions (decision scores) s of targets y. For BAC
// as score_bac (always defined); r of constant predictions is 0 (no linear association
// can be shown), R^2 of constant targets is ValueError.
double criterion_value(Criterion c, const Vector& s, const Vector& y);
// +value where higher is better, -value where lower is.
inline double goodness(Criterion c, double value) { return higher_is_better(c) ? value : -value; }

// An estimator with one value of its grid parameter. The grid parameter is C (svc, svr,
// logistic, kernel_svc; larger = less regularized) or alpha (ridge, kernel_ridge, held
// in C; larger = more regularized). Balanced weighting is NeuroMiner's: C for the
// positive class and C * n_pos / n_neg for the negative class, counted on the labels it
// is trained on. Custom multiplies C by w_pos and w_neg (LIBLINEAR's -w1 / -w-1).
struct SvcSpec {
  Estimator estimator = Estimator::LinearSvc;
  double C = 1.0;
  Weighting weighting = Weighting::Balanced;  // classifiers only
  double w_pos = 1.0, w_neg = 1.0;  // Custom only
  double bias = -1.0;               // LIBLINEAR -B (svc, svr, logistic); negative: no bias term
  double eps = 0.01;
  int max_iter = 1000;
  std::uint64_t seed = 0;  // the coordinate order of the solver
  double epsilon = 0.0;    // svr: half-width of the insensitive zone
  Kernel kernel = Kernel::Rbf;  // kernel_svc, kernel_ridge
  double gamma = 1.0;           // rbf kernel; <= 0: scikit-learn's "scale", 1 / (p var(X)) of the training data
  // The gamma values of the grid (rbf kernel; empty: gamma alone). The grid of a nested
  // CV is then every (C, gamma) pair, C-major: point g = (C[g / ng], gamma[g % ng]).
  std::vector<double> gamma_grid;
  Criterion criterion = Criterion::Default;  // of model selection and the permutation test
  bool fit_intercept = true;  // ridge
};
// The criterion in force: the spec's, or BAC (classifiers) / MAE (regressors) by default.
Criterion resolve_criterion(const SvcSpec& spec);
// The spec at point g of a grid of `values` (C or alpha) crossed with spec.gamma_grid.
SvcSpec at_grid_point(const SvcSpec& spec, const std::vector<double>& values, std::size_t g);
std::size_t grid_points(const SvcSpec& spec, const std::vector<double>& values);
// Whether grid point a is more regularized than b (ties of the criterion go to it):
// smaller C or larger alpha, then smaller gamma.
bool more_regularized(const SvcSpec& spec, const std::vector<double>& values, std::size_t a, std::size_t b);

// Trains the spec's estimator on (X, y) with the spec's costs; the coordinate order comes
// from rng (svc, svr). alpha0 (optional) warm-starts the linear SVC's dual solver (see
// LinearSvcOptions::alpha0); the other estimators ignore it.
LinearSvcModel train_svc(const Matrix& X, const Vector& y, const SvcSpec& spec, Rng& rng,
                         const Vector* alpha0 = nullptr);
// The same for the linear SVC on rows prepared once (a C grid on one training set):
// bit-identical to train_svc on the rows and labels it was built from.
LinearSvcModel train_svc(const LinearSvcProblem& problem, const Vector& y, const SvcSpec& spec, Rng& rng,
                         const Vector* alpha0 = nullptr);

// Balanced accuracy of decision scores against labels (+1/-1); a score of exactly 0
// counts in no cell; a class without any counted sample contributes 0 (so the value is
// always defined, as the wrapper needs).
double score_bac(const Vector& scores, const Vector& y);

// ---------------------------------------------------------------- forward wrapper

// Greedy forward selection (METHODS.md section 1, step 6), scored by the spec's
// criterion (resolve_criterion; BAC below): start from the empty set;
// each cycle score every feature f left in the pool by training on (Xtr, ytr) with
// S + {f} and measuring BAC on (Xval, yval); take the ceil(step * |pool|) best
// (ties: lower index first) as a block; add the block to S only if S + block has a
// strictly higher BAC than S (the empty set counts as BAC 0; for a regressor it counts
// as the worst value, so the first block is always taken); remove the block from the
// pool either way; stop when the pool has fewer than stop * p features or is empty.
struct ForwardSelectOptions {
  double step = 0.10;
  double stop = 0.80;
};

struct Selection {
  std::vector<Eigen::Index> features;  // 0-based, ascending
  double bac = 0.0;                    // validation criterion of the selected set (BAC for classifiers)
  int cycles = 0;
};

// progress (optional) counts SVC fits; the total is known before the first
// (forward_select_fits).
Selection forward_select(const Matrix& Xtr, const Vector& ytr, const Matrix& Xval, const Vector& yval,
                         const SvcSpec& svc, const ForwardSelectOptions& options, Rng& rng,
                         const Progress& progress = {});
// The number of SVC fits forward_select makes on p features.
std::int64_t forward_select_fits(Eigen::Index p, const ForwardSelectOptions& options);

// ---------------------------------------------------------------- pipeline

struct PipelineSpec {
  std::vector<std::shared_ptr<const Transform>> steps;  // prototypes (unfitted)
  // Label-dependent steps (Transform::label_dependent: a univariate filter, a user's
  // Lua step), after `steps`: fitted with the labels on exactly the rows each model
  // trains on (every CV1 partition, base model and permutation), then the estimator.
  // A pipeline with them has no forward wrapper (ValueError: the wrapper's features
  // would have no counterpart once the filters are refitted).
  std::vector<std::shared_ptr<const Transform>> filters;
  std::optional<ForwardSelectOptions> select;
  SvcSpec svc;
};

// The covariate columns the steps and filters of `spec` read (each once, in order).
std::vector<std::string> covariates_read(const PipelineSpec& spec);
// ValueError when the spec holds both filters and a forward wrapper.
void check_spec(const PipelineSpec& spec);

// Fitted label-independent steps.
struct Preprocessing {
  std::vector<std::shared_ptr<Transform>> steps;
  Matrix apply(const Matrix& X, const Table* covariates) const;
};

// The fitted steps of `pre` with the unseen-level policy `unseen` on copies of its
// regress_out steps (each taking the rules of its own covariates; the other steps are
// shared), for applying a fitted or stored model with another policy; `pre` itself is
// unchanged. ValueError
// when no step is a regress_out, when `unseen` names a column that no regress_out step
// reads, or when a step refuses it (RegressOut::set_unseen: a level it was not
// trained on).
Preprocessing with_unseen(const Preprocessing& pre, const UnseenPolicy& unseen);

// The cross-product of the raw training rows about a fixed centre m: G = sum over the
// rows of (x - m)(x - m)' (p x p). A nested CV sums it from blocks of its inner folds
// (ml/training_gram.cpp), so that a PCA step reached through scale, prune and at most
// one regress_out gets its cross-product in O(p^2 q) instead of O(n p^2).
struct TrainingGram {
  const Matrix* G = nullptr;
  const Vector* m = nullptr;
};

// Clones every prototype and fits it on the output of the previous one. With `gram`
// (of the rows X) a PCA step preceded only by scale, prune and at most one regress_out
// computes its cross-product from it (equal to the direct one up to rounding).
Preprocessing fit_preprocessing(const PipelineSpec& spec, const Matrix& X, const Table* covariates,
                                Matrix* transformed = nullptr, const TrainingGram* gram = nullptr);

// The label-dependent part on preprocessed data.
struct FittedModel {
  // The fitted label-dependent steps (PipelineSpec::filters), applied to the
  // preprocessed rows before `features` picks the estimator's columns.
  std::vector<std::shared_ptr<Transform>> filters;
  std::vector<Eigen::Index> features;  // columns (after the filters) the estimator uses
  LinearSvcModel svc;
  double validation_bac = 0.0;  // the wrapper's criterion on the validation rows (NaN without wrapper)
};

// Without a wrapper: trains the SVC on (Xtr, ytr), plus (Xval, yval) when given.
// With a wrapper: selects features on (Xtr -> Xval), then retrains on the union of the
// training and validation rows with the selected features (NeuroMiner); a wrapper
// without validation rows is a ValueError.
// progress (optional) reports the wrapper's SVC fits.
// With filters: they are fitted on the rows the estimator trains on (Xtr, or without a
// wrapper Xtr + Xval) with their labels and covariates (cov_tr, cov_val: rows aligned,
// may be null).
FittedModel fit_model(const Matrix& Xtr, const Vector& ytr, const Matrix* Xval, const Vector* yval,
                      const PipelineSpec& spec, Rng& rng, const Progress& progress = {},
                      const Table* cov_tr = nullptr, const Table* cov_val = nullptr);

// Fits the spec's filters, in turn, on (X, y, covariates); returns X mapped by them.
Matrix fit_filters(const PipelineSpec& spec, const Matrix& X, const Vector& y, const Table* covariates,
                   std::vector<std::shared_ptr<Transform>>& fitted);
// X mapped by fitted filters (the identity without any).
Matrix apply_filters(const std::vector<std::shared_ptr<Transform>>& filters, const Matrix& X);

// Trains the SVC on the union of (Xtr, ytr) and (Xval, yval), columns `features`;
// alpha0 (optional, one entry per union row) warm-starts the solver.
LinearSvcModel train_union(const Matrix& Xtr, const Vector& ytr, const Matrix& Xval, const Vector& yval,
                           const std::vector<Eigen::Index>& features, const SvcSpec& svc, Rng& rng,
                           const Vector* alpha0 = nullptr);

// The primal weights of a fitted model (one per feature it uses): w of a linear model,
// sum_i coef_i x_i of a linear-kernel model; ValueError for an rbf kernel, whose
// decision function has no weight per feature ("weights are defined for ...").
Vector model_weights(const LinearSvcModel& model);

// Decision scores of preprocessed rows.
Vector model_decision(const FittedModel& model, const Matrix& Xpre);

// A whole fitted pipeline.
struct FittedPipeline {
  Preprocessing pre;
  FittedModel model;
};

// Fits preprocessing on the training rows, applies it to the validation rows (when
// given), then fit_model() with an Rng seeded by spec.svc.seed. With validation rows
// and refit_preprocessing (the default, as nl::ml::nested_cv's), the svc is then
// retrained on training + validation rows mapped by a preprocessing refitted on those
// rows (the wrapper's features carried over, carry_features), which the fitted pipeline
// keeps; without it the preprocessing fitted on the training rows stays (NeuroMiner's
// CV1 scheme, docs/methods-notes.md). SVC fits that do not converge are summed up in
// one warning (nl/core/warnings.hpp).
FittedPipeline fit_pipeline(const PipelineSpec& spec, const Matrix& X, const Vector& y, const Table* covariates,
                            const Matrix* Xval, const Vector* yval, const Table* covariates_val,
                            const Progress& progress = {}, bool refit_preprocessing = true);

// The features (columns of `from`'s output) as columns of `to`'s output, where `from`
// and `to` are fits of one pipeline on rows of the same data with p_in columns, `to` on
// a superset of `from`'s rows. A column is identified by its origin: input column j
// through scale, impute, regress_out and prune; component k of a PCA/ROBPCA (whose sign
// and, for close eigenvalues, order can differ between fits). A prune fitted on more
// rows keeps at least the columns it kept on fewer and a PCA's k does not shrink, so
// every feature has its column; ValueError otherwise. Ascending output.
std::vector<Eigen::Index> carry_features(const Preprocessing& from, const Preprocessing& to, Eigen::Index p_in,
                                         const std::vector<Eigen::Index>& features);

// Decision scores of raw rows: preprocessing, then the SVC.
Vector pipeline_decision(const FittedPipeline& fitted, const Matrix& X, const Table* covariates);

// Checks labels: n entries, each +1 or -1, both classes present (ValueError naming
// `what` and the first offending row otherwise).
void check_labels(const Vector& y, Eigen::Index n, const char* what);
// The targets of the spec's estimator: labels for a classifier (check_labels), n finite
// numbers that are not all equal for a regressor.
void check_targets(const SvcSpec& spec, const Vector& y, Eigen::Index n, const char* what);

}  // namespace nl::ml

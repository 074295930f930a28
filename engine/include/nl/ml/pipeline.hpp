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
#include "nl/ml/svc.hpp"
#include "nl/ml/transform.hpp"
#include "nl/table/table.hpp"

namespace nl::ml {

// ---------------------------------------------------------------- SVC specification

enum class Weighting { Balanced, None, Custom };

// An SVC with one C. Balanced weighting is NeuroMiner's: C for the positive class and
// C * n_pos / n_neg for the negative class, counted on the labels it is trained on.
// Custom multiplies C by w_pos and w_neg (LIBLINEAR's -w1 / -w-1).
struct SvcSpec {
  double C = 1.0;
  Weighting weighting = Weighting::Balanced;
  double w_pos = 1.0, w_neg = 1.0;  // Custom only
  double bias = -1.0;               // LIBLINEAR -B; negative: no bias term
  double eps = 0.01;
  int max_iter = 1000;
  std::uint64_t seed = 0;  // the coordinate order of the solver
};

// Trains on (X, y) with the spec's costs; the coordinate order comes from rng.
// alpha0 (optional) warm-starts the dual solver (see LinearSvcOptions::alpha0).
LinearSvcModel train_svc(const Matrix& X, const Vector& y, const SvcSpec& spec, Rng& rng,
                         const Vector* alpha0 = nullptr);

// Balanced accuracy of decision scores against labels (+1/-1); a score of exactly 0
// counts in no cell; a class without any counted sample contributes 0 (so the value is
// always defined, as the wrapper needs).
double score_bac(const Vector& scores, const Vector& y);

// ---------------------------------------------------------------- forward wrapper

// Greedy forward selection (METHODS.md section 1, step 6): start from the empty set;
// each cycle score every feature f left in the pool by training on (Xtr, ytr) with
// S + {f} and measuring BAC on (Xval, yval); take the ceil(step * |pool|) best
// (ties: lower index first) as a block; add the block to S only if S + block has a
// strictly higher BAC than S (the empty set counts as BAC 0); remove the block from the
// pool either way; stop when the pool has fewer than stop * p features or is empty.
struct ForwardSelectOptions {
  double step = 0.10;
  double stop = 0.80;
};

struct Selection {
  std::vector<Eigen::Index> features;  // 0-based, ascending
  double bac = 0.0;                    // validation BAC of the selected set
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
  std::optional<ForwardSelectOptions> select;
  SvcSpec svc;
};

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

// Clones every prototype and fits it on the output of the previous one.
Preprocessing fit_preprocessing(const PipelineSpec& spec, const Matrix& X, const Table* covariates,
                                Matrix* transformed = nullptr);

// The label-dependent part on preprocessed data.
struct FittedModel {
  std::vector<Eigen::Index> features;  // columns of the preprocessed data the SVC uses
  LinearSvcModel svc;
  double validation_bac = 0.0;  // the wrapper's BAC on the validation rows (NaN without wrapper)
};

// Without a wrapper: trains the SVC on (Xtr, ytr), plus (Xval, yval) when given.
// With a wrapper: selects features on (Xtr -> Xval), then retrains on the union of the
// training and validation rows with the selected features (NeuroMiner); a wrapper
// without validation rows is a ValueError.
// progress (optional) reports the wrapper's SVC fits.
FittedModel fit_model(const Matrix& Xtr, const Vector& ytr, const Matrix* Xval, const Vector* yval,
                      const PipelineSpec& spec, Rng& rng, const Progress& progress = {});

// Trains the SVC on the union of (Xtr, ytr) and (Xval, yval), columns `features`;
// alpha0 (optional, one entry per union row) warm-starts the solver.
LinearSvcModel train_union(const Matrix& Xtr, const Vector& ytr, const Matrix& Xval, const Vector& yval,
                           const std::vector<Eigen::Index>& features, const SvcSpec& svc, Rng& rng,
                           const Vector* alpha0 = nullptr);

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

}  // namespace nl::ml

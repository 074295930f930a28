// nl/ml/nested_cv.hpp: repeated, stratified nested cross-validation with NeuroMiner's
// semantics (METHODS.md section 1), and its label-permutation test.
//
// Structure. The outer loop (CV2) splits the subjects into outer_folds folds, repeated
// outer_repeats times; inside each CV2 training set the inner loop (CV1) does the same
// with inner_folds x inner_repeats. For every CV1 partition the label-independent
// preprocessing is fitted on CV1-train and applied to CV1-train, CV1-test and the CV2
// test subjects; these matrices are computed once (the "plan") and reused for every C
// value and every permutation. For each C, the mean CV1-test BAC over the CV1
// partitions (the wrapper's validation BAC when a wrapper is used) scores the C; the
// best C wins (ties: the smaller C). At that C each CV1 partition yields a base model
// retrained on CV1-train + CV1-test (with the wrapper's features); every base model
// scores the CV2 test subjects. A subject's prediction is the median of its scores
// (outer_repeats x CV1 partitions of them); its sign is the class.
//
// Retraining and preprocessing (NestedCvOptions::refit_preprocessing). CV1-train +
// CV1-test is the whole CV2 training set. With refit_preprocessing (the default) the
// preprocessing of the retrained base models is fitted on those same rows, once per CV2
// fold, so no row of a model's training data was mapped by a preprocessing fitted
// without it (a covariate effect that regress_out fitted on CV1-train leaves in the
// CV1-test rows would otherwise reach the SVC, which can learn it when the labels
// depend on the covariates). Without it (NeuroMiner 1.3, what METHODS.md describes) the
// retrained models keep the CV1-train preprocessing. Model selection always uses the
// CV1-train preprocessing. With refit and a wrapper, the features selected on the
// CV1-train preprocessing are carried to the refitted one by their origin (an input
// column through scale, impute, regress_out and prune; component k of a PCA/ROBPCA).
//
// Randomness: fold assignments come from Rng(seed, 0) (outer) and Rng(seed, 1 + o)
// (inner folds of outer fold o); the model selection of outer fold o (solver orders,
// wrapper) from Rng(seed, 1000 + o), and the retrained base model m from
// Rng(seed, 2'000'000 + m), or, with refit_preprocessing, where every base model of a
// CV2 fold trains on the same rows, Rng(seed, 2'000'000 + o) (base models of a CV2 fold
// with the same features are then one fit). Permutation k draws its labels from
// Rng(seed, 1'000'000 + k); the permuted models use the observed run's solver streams
// and, like the observed base models, start the solver cold (alpha = 0), so that the
// null and the observed statistic differ only by the labels. Tasks run in parallel over
// outer folds and permutations, each on its own stream, so results are identical on any
// thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nl/core/linalg.hpp"
#include "nl/io/checkpoint.hpp"
#include "nl/ml/metrics.hpp"
#include "nl/ml/pipeline.hpp"
#include "nl/table/table.hpp"

namespace nl::ml {

// ---------------------------------------------------------------- folds

// Stratified k-fold assignment repeated `repeats` times: for each repeat, the indices
// of each class are shuffled and dealt to the folds in turn (the negative class
// continuing where the positive class stopped), so fold sizes differ by at most one and
// class proportions are kept. Returns fold[r][i] in [0, k). Requires every class to
// have at least k members (ValueError naming the class otherwise).
std::vector<std::vector<int>> stratified_folds(const Vector& y, int k, int repeats, Rng& rng);

// The fold assignment of one CV level, fold[r][i] in [0, k):
// * no groups, stratify: stratified_folds (the same draws);
// * no groups, no stratify: per repeat the subjects are shuffled and dealt to the folds
//   in turn (scikit-learn's KFold(shuffle = True) up to its generator);
// * groups (group id per subject, >= 0): subjects of a group always share a fold. Per
//   repeat the groups are shuffled, then ordered by size, largest first (ties in the
//   shuffled order), and each goes to the fold where it least increases the imbalance
//   (stratify: the sum over folds and classes of (the fold's count - the class total /
//   k)^2) or to the smallest fold (no stratify); ties go to the fold with fewer
//   subjects, then the lower index. Requires at least k groups (ValueError naming the counts).
// Every fold's training rows must hold both classes (ValueError naming the repeat and
// the fold otherwise). classes = false: y holds a regression's targets, which are not
// checked (stratify must then be false: ValueError).
std::vector<std::vector<int>> draw_folds(const Vector& y, const std::vector<int>* groups, int k, int repeats,
                                         bool stratify, Rng& rng, bool classes = true);

// Leave one group out: one repeat whose fold of subject i is the rank of its group among
// the distinct group ids (ascending); the number of folds is the number of groups.
std::vector<int> leave_one_group_out(const std::vector<int>& groups);

// ---------------------------------------------------------------- options and results

struct NestedCvResult;

// The CV1 folds inside one CV2 fold: the CV2 training rows (0-based, ascending) and,
// per inner repeat, each of those rows' CV1 test fold (0-based; assignment[r][k] for
// rows[k]). `outer` is the CV2 fold's index (repeat * outer_folds + fold, 0-based).
struct InnerFolds {
  std::vector<Eigen::Index> rows;
  std::vector<std::vector<int>> assignment;
};
InnerFolds inner_folds(const NestedCvResult& result, std::size_t outer);

struct NestedCvOptions {
  int outer_folds = 3, outer_repeats = 5;
  int inner_folds = 3, inner_repeats = 5;
  std::uint64_t seed = 1;
  // Optional user folds for CV2: outer_assignment[r][i] = fold of subject i in repeat r
  // (0-based, every fold non-empty). When empty, stratified_folds() makes them.
  std::vector<std::vector<int>> outer_assignment;
  // Refit the preprocessing of each retrained base model on its training rows
  // (CV1-train + CV1-test); false: keep the CV1-train preprocessing (NeuroMiner 1.3).
  bool refit_preprocessing = true;
  // A PCA reached through scale, prune and at most one regress_out gets each CV1
  // partition's cross-product from per-fold blocks of the raw CV2 training rows
  // (fit_preprocessing's TrainingGram; equal to the direct one up to rounding). false
  // computes each directly (for tests and benchmarks; not a Lua option).
  bool share_training_gram = true;
  // Grouped CV (draw_folds): a group id (>= 0) per subject, or empty. Subjects of one
  // group (a family, a subject's repeated scans) share a fold at both levels.
  std::vector<int> groups;
  // Stratified folds (by class) at each level.
  bool stratify_outer = true, stratify_inner = true;
};

// How the retrained base models' solver started: Cold (alpha = 0; every result of this
// version, observed and permuted alike), or WarmFromCv1 (from the CV1-train solution at
// the chosen C: results saved by earlier versions, whose permuted models started cold).
enum class SolverStart : std::uint8_t { Cold = 0, WarmFromCv1 = 1 };

// One base model: its preprocessing (fitted on CV1-train) and label-dependent part.
struct BaseModel {
  int outer = 0;   // index of the CV2 fold (repeat * outer_folds + fold)
  int inner = 0;   // index of the CV1 partition within it
  Preprocessing pre;
  FittedModel model;
};

struct NestedCvPlan;  // folds and preprocessed matrices (label-independent cache)

// The training data a result was computed on: kept so that permutation tests (of the
// CV and of an external validation) can retrain the base models, also after a reload.
// `covariates` holds only the columns the preprocessing reads (none: no table).
struct TrainingData {
  Matrix X;
  Vector y;
  std::optional<Table> covariates;
};

struct NestedCvResult {
  std::vector<double> grid;                    // C (or alpha) values as given
  // [outer fold][grid point] mean CV1-test criterion (BAC for classifiers); the grid
  // points are grid x spec.gamma_grid (at_grid_point)
  std::vector<std::vector<double>> inner_bac;
  std::vector<int> chosen;                     // [outer fold] index of the grid point
  std::vector<BaseModel> models;               // outer-major, CV1 partitions inside
  std::vector<std::vector<double>> scores;     // [subject] all of its decision scores
  Vector median;                               // [subject] median score
  Confusion metrics;                           // of the median scores (classifiers)
  double auc = 0.0;                            // NaN for a regressor
  std::optional<RegressionMetrics> regression;  // of the median predictions (regressors)
  std::vector<std::vector<int>> outer_assignment;  // the CV2 folds used
  NestedCvOptions options;                          // as run (seed, folds, repeats)
  std::vector<std::string> feature_names;           // of X's columns; may be empty
  ClassLabels classes;                              // the caller's labels behind +1/-1
  std::shared_ptr<const TrainingData> data;         // X, y and covariates
  std::shared_ptr<const NestedCvPlan> plan;         // reused by permutation tests
  SolverStart solver_start = SolverStart::Cold;     // of the retrained base models
};

// Runs the nested CV of `spec` with the C values in `grid` on X (n x p), labels y
// (+1/-1) and covariates (rows aligned with X, may be null). progress (optional) counts
// model fits: each CV1 partition's preprocessing, each (C value, CV1 partition) of the
// model selection (one wrapper run with a wrapper) and each final base model. SVC fits
// that do not converge are summed up in one warning at the end (nl/core/warnings.hpp).
NestedCvResult nested_cv(const PipelineSpec& spec, const std::vector<double>& grid, const Matrix& X, const Vector& y,
                         const Table* covariates, const NestedCvOptions& options, const Progress& progress = {});

// ---------------------------------------------------------------- permutation test

enum class PermutationMode : std::uint8_t {
  NeuroMiner = 0,  // keep every base model's C, features and preprocessing; retrain the SVC
  Full = 1,        // re-run the model selection (C grid, wrapper) on fixed folds
};

// What a permuted model's median scores are scored against.
enum class PermutationScoring : std::uint8_t {
  Original = 0,  // the observed labels (NeuroMiner 1.3, nk_VisModels: EVALFUNC(Lorig, Pperm))
  Permuted = 1,  // the permuted labels it was trained on (the analysis run on a null data
                 // set; scikit-learn's permutation_test_score)
  Default = 2,   // Original in NeuroMiner mode, Permuted in Full mode
};
// Default resolved for a mode.
PermutationScoring resolve_scoring(PermutationMode mode, PermutationScoring scoring);

struct PermutationSettings {
  PermutationScoring scoring = PermutationScoring::Default;
  // Keep every permutation's labels and median scores (PermutationResult::null_*).
  bool keep_null = false;
  // Resume after a kill (nl/io/checkpoint.hpp): the state is saved to checkpoint.path
  // every checkpoint.every seconds; a later run with the same path, data, options and
  // seed goes on from there and gives the same result.
  CheckpointOptions checkpoint;
};

struct PermutationResult {
  // The statistic: BAC for a classifier, the CV1 criterion (MAE by default, RMSE, r or
  // R^2) for a regressor. `bac` holds it whatever it is.
  std::vector<double> bac;  // one per permutation
  double observed = 0.0;
  bool higher_is_better = true;    // false for MAE and RMSE
  std::string statistic = "BAC";   // "BAC", "MAE", "RMSE", "r", "R^2" (for messages)
  int count = 0;            // permutations at least as good as observed (bac >= observed, or <=)
  double p_count = 0.0;     // count / n (NeuroMiner's report)
  double p_plus_one = 0.0;  // (count + 1) / (n + 1): the p-value reported
  PermutationScoring scoring = PermutationScoring::Original;  // as resolved
  // With keep_null: per permutation, the labels the models were trained on and the
  // median score of every subject (CV: all subjects; external: the new subjects).
  std::vector<Vector> null_labels, null_medians;
};

// Label-permutation test of a nested-CV result. Permutation k shuffles y over all
// subjects with Rng(seed, 1'000'000 + k). Its BAC is that of the permuted models'
// median scores against the labels settings.scoring names. progress(done,
// n_permutations) is called from the worker threads (may be empty).
// Interrupted: the message says how many permutations had finished and the p-value of
// the first m of them that all finished (permutations 1..m: the same seed with
// permutations = m gives exactly those again).
PermutationResult permutation_test(const PipelineSpec& spec, const NestedCvResult& observed, const Matrix& X,
                                   const Vector& y, const Table* covariates, const NestedCvOptions& options,
                                   int n_permutations, PermutationMode mode, const Progress& progress = {},
                                   const PermutationSettings& settings = {});

// The base models retrained on `labels` (y itself or a permutation of it) exactly as a
// NeuroMiner-mode permutation retrains them: each keeps its C, features and fitted
// preprocessing, with the observed run's solver stream and a cold start. A base model
// whose training rows hold one class abstains (nullopt). With labels = the observed y
// it returns the observed base models bit for bit (for results of this version).
std::vector<std::optional<FittedModel>> retrain_models(const PipelineSpec& spec, const NestedCvResult& result,
                                                       const Vector& labels);

// ---------------------------------------------------------------- external validation

// Decision scores of new subjects from every base model, each with its own fitted
// preprocessing ("OOCV" in NeuroMiner): scores[i] lists subject i's scores in base-model
// order; median[i] is their median (0 when a subject has none, which counts in no cell).
struct ExternalScores {
  std::vector<std::vector<double>> scores;
  Vector median;
};

// X_new must have the training data's number of columns; covariates (rows aligned with
// X_new) must hold the columns the preprocessing reads. Parallel over base models.
// unseen (optional) replaces the unseen-level policy of every regress_out step for this
// call, on copies of each base model's preprocessing (with_unseen); without it each
// step's own policy applies (by default an error for a site no training row had). An
// error of a base model's preprocessing names the model ("apply (base model of CV2 fold
// 1, CV1 partition 2): ...").
ExternalScores apply_models(const NestedCvResult& result, const Matrix& X_new, const Table* covariates,
                            const UnseenPolicy* unseen = nullptr);

// Label-permutation test of an external validation: permutation k shuffles the
// training labels with the same stream as permutation_test (Rng(seed, 1'000'000 + k)),
// retrains every base model in NeuroMiner mode (its C, features and preprocessing kept)
// exactly as permutation_test does, so the permuted models are the same ones; applies
// them to the new subjects and compares the median-score BAC against y_new with the
// observed external BAC. seed is the nested CV's seed. unseen: as for apply_models.
PermutationResult external_permutation_test(const PipelineSpec& spec, const NestedCvResult& result,
                                            const Matrix& X_new, const Vector& y_new, const Table* covariates,
                                            int n_permutations, const Progress& progress = {},
                                            const UnseenPolicy* unseen = nullptr);

// ---------------------------------------------------------------- persistence

// One file holding the pipeline, every base model with its preprocessing, the scores,
// the folds and the training data (so a reloaded result can run permutation tests and
// external validation exactly as the original): nl/io/serial.hpp's container, kind
// "cvresult", version 3 (version 2 added the class labels, version 3 the methods: refit
// of the preprocessing with its own fits, the solver start and the permutation scoring,
// and regress_out's unseen-level policy). Older files still load: version 1 with the
// classes +1 = 1, -1 = -1; versions 1-2 as refit_preprocessing = false,
// SolverStart::WarmFromCv1, a stored permutation result scored against the permuted
// labels they used, and the unseen-level policy "error" (ml/persist.cpp). Written
// atomically.
void save_result(const std::string& path, const PipelineSpec& spec, const NestedCvResult& result,
                 const std::optional<PermutationResult>& permutations, PermutationMode mode);

struct LoadedResult {
  PipelineSpec spec;
  NestedCvResult result;
  std::optional<PermutationResult> permutations;
  PermutationMode mode = PermutationMode::NeuroMiner;
};
// FileError naming the file for a missing, foreign, newer-version, truncated or
// corrupt file.
LoadedResult load_result(const std::string& path);
// The payload part of load_result: a payload of format `version` (1 to 3) already taken
// out of its container (open_container); `source` names the file in messages.
LoadedResult decode_result(std::string_view payload, const std::string& source, std::uint32_t version = 3);

// Median-score BAC and the p-value formulas (exposed for tests).
double median_of(std::vector<double> v);
void finish_pvalues(PermutationResult& r);

}  // namespace nl::ml

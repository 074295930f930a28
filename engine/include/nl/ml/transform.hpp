// nl/ml/transform.hpp: preprocessing steps under one contract: the label-independent
// ones here, and (label_dependent() true) the steps that learn from the labels too,
// which cross-validation refits for every model it trains (nl/ml/filter.hpp, the Lua
// steps of the bindings).
//
// The estimator contract (scikit-learn's developer guide; STYLE.md item 7): a step is
// built from its options only; fit() learns state from training rows and may be called
// again (it starts over); apply() maps new rows with the learned state unchanged and
// throws if the step is not fitted. Nothing here looks at labels, so cross-validation
// can fit these steps once per training fold and reuse them for every hyper-parameter
// value and every label permutation (METHODS.md section 1).
//
// Covariates travel as a Table whose rows line up with the rows of X; a step that does
// not use them ignores the argument.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nl/core/linalg.hpp"
#include "nl/table/table.hpp"

namespace nl {
class Writer;
class Reader;
}  // namespace nl

namespace nl::ml {

// One named piece of learned state, for inspection (e.g. {"center_", 1 x p}).
struct StateItem {
  std::string name;
  Matrix value;
};

class Transform {
 public:
  virtual ~Transform() = default;

  // A copy with the same options and no learned state.
  virtual std::unique_ptr<Transform> clone() const = 0;
  // A copy with the same options and the same learned state.
  virtual std::unique_ptr<Transform> copy() const = 0;
  // Learns state from the training rows X (n x p) and their covariates (may be null).
  // A label-dependent step throws ValueError here (it needs fit_labelled).
  virtual void fit(const Matrix& X, const Table* covariates) = 0;
  // Label-dependent steps: whether the step learns from the labels (then the pipeline
  // fits it with fit_labelled, after the label-independent steps, once per model it
  // trains: every CV1 partition, base model and permutation), and that fit. y holds the
  // labels (+1/-1) or a regression's targets, one per row of X. The default (a
  // label-independent step) ignores y.
  virtual bool label_dependent() const { return false; }
  virtual void fit_labelled(const Matrix& X, const Vector& y, const Table* covariates) {
    (void)y;
    fit(X, covariates);
  }
  // Maps rows with the learned state. Throws ValueError if not fitted or if the number
  // of columns differs from the training data.
  virtual Matrix apply(const Matrix& X, const Table* covariates) const = 0;
  // fit(X) then apply(X), the training rows' transform; a step that computes it while
  // fitting (PCA's scores) returns that instead of computing it twice.
  virtual Matrix fit_apply(const Matrix& X, const Table* covariates) {
    fit(X, covariates);
    return apply(X, covariates);
  }

  // Short name ("scale") and the options in Lua syntax ("scale{range = {-1, 1}}").
  virtual std::string name() const = 0;
  virtual std::string options() const = 0;
  // Learned state, empty before fit.
  virtual std::vector<StateItem> state() const = 0;

  // The transpose of the step's linear part (its Jacobian): maps weights on the output
  // features (p_out x m) to weights on the input features (p_in x m), so that
  // w_out' apply(x) = backproject(w_out)' x + (a term that does not depend on x).
  // Every step here is affine in x. Throws ValueError if not fitted.
  virtual Matrix backproject(const Matrix& w) const = 0;
  // Covariate columns the step reads (none for most steps).
  virtual std::vector<std::string> covariates_used() const { return {}; }

  // Serialization (nl/io/serial.hpp): save() writes the step's name, options and learned
  // state; read_transform() rebuilds a step from them, bit for bit.
  virtual void save(Writer& w) const = 0;

  bool fitted() const noexcept { return fitted_; }
  Eigen::Index n_features_in() const noexcept { return p_in_; }
  // Width of apply()'s output (0 before fit).
  virtual Eigen::Index n_features_out() const = 0;

 protected:
  // Shared checks: X non-empty with at least one row; covariates aligned.
  void begin_fit(const Matrix& X, const Table* covariates);
  void check_apply(const Matrix& X, const Table* covariates) const;
  void check_backproject(const Matrix& w, Eigen::Index p_out) const;
  // The common part of save() and of reading: fitted flag and input width.
  void save_base(Writer& w) const;
  void load_base(Reader& r);
  // Reads what save() wrote after the name (options, then state).
  virtual void load(Reader& r) = 0;
  friend std::unique_ptr<Transform> read_transform(Reader& r);
  bool fitted_ = false;
  Eigen::Index p_in_ = 0;
};

using TransformPtr = std::unique_ptr<Transform>;

// Rebuilds a step written by Transform::save (FileError through Reader::fail for an
// unknown step name or a malformed record). Reads the record layout of the model
// format r.version(): format 3 added regress_out's unseen-level policy and dummy
// means; a record of format 1 or 2 reads with the policy Error and no means; format 4
// added the foreign steps and the univariate filter.
std::unique_ptr<Transform> read_transform(Reader& r);
// The model format whose step records save() writes.
inline constexpr std::uint32_t kStepFormat = 4;

// ---------------------------------------------------------------- foreign steps

// A step whose code lives outside the engine (a user's Lua step, bindings/ml/lua_step.cpp)
// is saved under the record name "foreign" by its own save(): then the step's kind
// (e.g. "lua"), its user-given name, and opaque bytes (options and learned state). On
// reading, read_transform hands those to the resolver installed on this thread
// (ForeignStepResolver), which rebuilds the step; without one it gives a ForeignStep
// placeholder whose fit and apply throw ValueError naming the step and how to load it.
struct ForeignRecord {
  std::string kind, name;
  bool label_dependent = false;
  std::vector<std::string> covariates;
  Eigen::Index p_in = 0, p_out = 0;
  bool fitted = false;
  std::string bytes;
};
void save_foreign(Writer& w, const ForeignRecord& record);
using ForeignResolver = std::function<std::unique_ptr<Transform>(const ForeignRecord&)>;
// Installs `resolver` for read_transform on the calling thread while it lives.
class ForeignStepResolver {
 public:
  explicit ForeignStepResolver(ForeignResolver resolver);
  ~ForeignStepResolver();
  ForeignStepResolver(const ForeignStepResolver&) = delete;
  ForeignStepResolver& operator=(const ForeignStepResolver&) = delete;

 private:
  ForeignResolver previous_;
};

// ---------------------------------------------------------------- scale

// Maps each feature linearly so that its training minimum goes to lo and its maximum
// to hi; test values outside the training range map outside [lo, hi] (no clipping). A
// feature constant in training maps to (lo + hi) / 2.
class Scale final : public Transform {
 public:
  Scale(double lo = -1.0, double hi = 1.0);
  std::unique_ptr<Transform> clone() const override;
  std::unique_ptr<Transform> copy() const override;
  void fit(const Matrix& X, const Table* covariates) override;
  Matrix apply(const Matrix& X, const Table* covariates) const override;
  std::string name() const override { return "scale"; }
  std::string options() const override;
  std::vector<StateItem> state() const override;
  Matrix backproject(const Matrix& w) const override;
  void save(Writer& w) const override;
  Eigen::Index n_features_out() const override;
  // The slope of each column's map, (hi - lo) / (max - min), or 0 for a column mapped
  // to the constant (lo + hi) / 2; requires fit().
  Vector factors() const;
  // Fitted from the per-column minimum and maximum of the training rows, computed by the
  // caller (ml/fused_chain.cpp) as fit() would: over the finite values.
  void fit_range(Vector min, Vector max);
  double lo() const noexcept { return lo_; }
  double hi() const noexcept { return hi_; }

 private:
  void load(Reader& r) override;
  double lo_, hi_;
  Vector min_, max_;
};

// ---------------------------------------------------------------- prune

// Keeps the features whose training values are all finite and not all equal.
class Prune final : public Transform {
 public:
  std::unique_ptr<Transform> clone() const override;
  std::unique_ptr<Transform> copy() const override;
  void fit(const Matrix& X, const Table* covariates) override;
  Matrix apply(const Matrix& X, const Table* covariates) const override;
  std::string name() const override { return "prune"; }
  std::string options() const override { return "prune{}"; }
  std::vector<StateItem> state() const override;
  Matrix backproject(const Matrix& w) const override;
  void save(Writer& w) const override;
  Eigen::Index n_features_out() const override;
  // 0-based indices of the kept input features.
  const std::vector<Eigen::Index>& kept() const noexcept { return keep_; }
  // Fitted with the kept columns (0-based, ascending) of p_in, found by the caller
  // (ml/fused_chain.cpp) with fit()'s rule.
  void fit_kept(Eigen::Index p_in, std::vector<Eigen::Index> keep);

 private:
  void load(Reader& r) override;
  std::vector<Eigen::Index> keep_;
};

// ---------------------------------------------------------------- impute

// Fills missing feature values (NaN) with a statistic of the training rows, per
// feature: scikit-learn's SimpleImputer(missing_values = nan) with strategy "mean",
// "median" (the middle value, or the mean of the two middle values) or "constant"
// (fill_value). Statistics ignore the missing values; a feature with no observed
// training value is filled with 0 (SimpleImputer's keep_empty_features = True), so
// the output keeps every column. Infinite values are not missing and pass unchanged.
// Fitted on the training rows only, like every step, so in cross-validation the test
// rows are filled with their training fold's statistics.
//
// Strategy "knn" is scikit-learn's KNNImputer(n_neighbors = k, weights = "uniform",
// keep_empty_features = True): a missing value of a row is the mean of that feature
// over the k training rows nearest to it, by the nan-Euclidean distance (over the
// coordinates both rows have, scaled by p / their number; rows with none in common are
// farthest), among the training rows that have the feature; a row with no such
// neighbour at a defined distance gets the training mean of the feature, a feature no
// training row has gets 0. The training rows are kept with the fit (their values are
// the donors).
enum class ImputeStrategy : std::uint8_t { Mean = 0, Median = 1, Constant = 2, Knn = 3 };

class Impute final : public Transform {
 public:
  explicit Impute(ImputeStrategy strategy = ImputeStrategy::Median, double fill_value = 0.0, int n_neighbors = 5);
  std::unique_ptr<Transform> clone() const override;
  std::unique_ptr<Transform> copy() const override;
  void fit(const Matrix& X, const Table* covariates) override;
  Matrix apply(const Matrix& X, const Table* covariates) const override;
  std::string name() const override { return "impute"; }
  std::string options() const override;
  std::vector<StateItem> state() const override;
  // The identity: an observed value passes unchanged, a filled one does not depend on x.
  Matrix backproject(const Matrix& w) const override;
  void save(Writer& w) const override;
  Eigen::Index n_features_out() const override;
  const Vector& statistics() const noexcept { return stat_; }

 private:
  void load(Reader& r) override;
  ImputeStrategy strategy_;
  double fill_;
  int k_ = 5;     // knn: the number of neighbours
  Vector stat_;   // the fill value of each feature (knn: the fallback, the training mean)
  Matrix train_;  // knn: the training rows, the donors
};

// ---------------------------------------------------------------- unseen levels

// What covariate coding does with a row whose value of a text (String) covariate is not
// among the training rows' levels. With an intercept and no centring, all-zero dummies
// would code such a row as the reference level (the first in sorted order) and correct
// it for that one level's effect, so there is no silent default:
//   Error (the default): a ValueError naming the column, the unseen values with their
//          row counts, the training levels and these choices;
//   Drop:  each dummy of that column is set to its training mean (the proportion of
//          the training rows at that level), so regress_out removes the other
//          covariates' effects and the training-average effect of the column (the
//          proportion-weighted mean of the levels' effects), not any one level's;
//   Level: the row is coded as the training level `level`, exactly as a row of that
//          level (NeuroMiner, whose site dummies are made by the user, codes a new site
//          as zeros: the reference level).
// Number and Bool covariates are not affected.
enum class UnseenAction : std::uint8_t { Error = 0, Drop = 1, Level = 2 };

struct UnseenRule {
  UnseenAction action = UnseenAction::Error;
  std::string level;  // for Level only
  bool operator==(const UnseenRule&) const = default;
};

// One rule for every String covariate (`all`: Error or Drop; Lua unseen = "drop"), or
// rules per column, the columns not named taking Error (Lua unseen = { site = "A",
// scanner = "drop" }); not both.
struct UnseenPolicy {
  UnseenRule all;
  std::map<std::string, UnseenRule> columns;

  const UnseenRule& rule(const std::string& column) const;
  // Error for every column (the policy of a step built without one).
  bool is_default() const { return all.action == UnseenAction::Error && columns.empty(); }
  // In Lua syntax: "drop" with its quotes, or {site = "A", scanner = "drop"}.
  std::string lua() const;
  // ValueError for a Level in `all`, or for `all` other than Error beside columns.
  void check() const;
  // The rules of the columns in `names` only (the same `all`).
  UnseenPolicy restricted(const std::vector<std::string>& names) const;
  bool operator==(const UnseenPolicy&) const = default;
};

// ---------------------------------------------------------------- covariate coding

// Turns named Table columns into a numeric design matrix with levels learned on the
// training rows: Number columns as they are; Bool columns as 0/1; String columns as
// dummy variables, one per level except the first in sorted order (the reference).
// A test row with a level not seen in training is coded by the unseen-level policy
// (above); fit() also keeps the training mean of every dummy, which "drop" needs.
// A missing covariate cell is a ValueError naming the column and row. Messages do not
// name the step; RegressOut puts its name in front.
class CovariateCoder {
 public:
  // ValueError for a name listed twice, or a policy that fails UnseenPolicy::check or
  // names a column not in `names`.
  explicit CovariateCoder(std::vector<std::string> names = {}, UnseenPolicy unseen = {});
  // Learns the levels and dummy means; ValueError when the policy names a column that
  // is not a String column here, or codes it as a level that is not a training level.
  void fit(const Table& covariates);
  // n x q design (without intercept); requires fit().
  Matrix apply(const Table& covariates) const;
  // Names of the design columns ("age", "site=B", ...).
  std::vector<std::string> design_names() const;
  const std::vector<std::string>& names() const noexcept { return names_; }
  const UnseenPolicy& unseen() const noexcept { return unseen_; }
  // Replaces the policy, checked as by the constructor and, once fitted, as by fit();
  // on a ValueError the old policy stays.
  void set_unseen(UnseenPolicy unseen);
  // The training levels of a String covariate, sorted (nullptr for another column or
  // before fit).
  const std::vector<std::string>* levels(const std::string& column) const;
  // Whether the training dummy means are known: always after fit(); a record of model
  // format 1 or 2 has none until restore_means().
  bool means_known() const noexcept { return means_known_; }
  // Recomputes the dummy means from the covariates of the rows fit() saw (for a record
  // of format 1 or 2); ValueError when a value there is not a training level.
  void restore_means(const Table& training);
  // Whether the coding was fitted by a neurolua before model format 3, which coded a
  // level the training rows lacked as the reference level (all-zero dummies) without
  // asking: a stored nested CV rebuilds the matrices of such a step's base model with
  // that coding (ml/persist.cpp). Kept when saved again; false after fit().
  bool legacy() const noexcept { return legacy_; }
  void save(Writer& w) const;
  void load(Reader& r);

 private:
  struct Coding {
    std::string column;
    ColumnType type = ColumnType::Number;
    std::vector<std::string> levels;  // String columns: all levels, sorted
    std::vector<double> mean;         // String columns: training mean of each dummy (levels 2..)
  };
  // The policy's checks against the names and, when fitted, the codings.
  void check_unseen(const UnseenPolicy& unseen) const;
  std::vector<std::string> names_;
  UnseenPolicy unseen_;
  std::vector<Coding> codings_;
  bool fitted_ = false;
  bool means_known_ = false;
  bool legacy_ = false;
};

// ---------------------------------------------------------------- regress_out

// Removes the linear effect of covariates from every feature ("partial correlations"
// in NeuroMiner): G = [1, coded covariates] on the training rows, beta = pinv(G) X,
// X <- X - G beta; test rows use the training beta: X_test - G_test beta. Raw covariate
// values, no centring (METHODS.md section 1, step 3). Test rows with a level of a text
// covariate that training did not have follow the unseen-level policy (an option,
// default Error; see UnseenAction).
class RegressOut final : public Transform {
 public:
  explicit RegressOut(std::vector<std::string> covariates, UnseenPolicy unseen = {});
  std::unique_ptr<Transform> clone() const override;
  std::unique_ptr<Transform> copy() const override;
  void fit(const Matrix& X, const Table* covariates) override;
  Matrix apply(const Matrix& X, const Table* covariates) const override;
  std::string name() const override { return "regress_out"; }
  std::string options() const override;
  std::vector<StateItem> state() const override;
  Matrix backproject(const Matrix& w) const override;
  void save(Writer& w) const override;
  Eigen::Index n_features_out() const override;
  const Matrix& beta() const noexcept { return beta_; }
  std::vector<std::string> covariates_used() const override { return coder_.names(); }
  const CovariateCoder& coder() const noexcept { return coder_; }
  const UnseenPolicy& unseen() const noexcept { return coder_.unseen(); }
  // Another policy for a fitted or unfitted step (for applying a stored model with
  // another policy, call it on a copy()); checked as CovariateCoder::set_unseen.
  void set_unseen(UnseenPolicy unseen);
  // CovariateCoder::restore_means, for a step read from a record of format 1 or 2.
  void restore_means(const Table& training_covariates);
  // CovariateCoder::legacy: fitted before model format 3.
  bool legacy_coding() const noexcept { return coder_.legacy(); }
  // [1, coded covariates] of n rows (requires fit()).
  Matrix design(const Table* covariates, Eigen::Index n) const;
  // fit() in two halves, for a caller that computes the coefficients itself
  // (ml/fused_chain.cpp): fit_design fits the covariate coding on the n training rows'
  // covariates (p_in features) and returns their design; set_beta then sets beta
  // ((1 + q) x p_in, as pinv(design) X) and marks the step fitted.
  Matrix fit_design(const Table* covariates, Eigen::Index n, Eigen::Index p_in);
  void set_beta(Matrix beta);

 private:
  void load(Reader& r) override;
  CovariateCoder coder_;
  Matrix beta_;  // (1 + q) x p
};

}  // namespace nl::ml

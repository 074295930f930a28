// nl/ml/transform.hpp: label-independent preprocessing steps under one contract.
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
  virtual void fit(const Matrix& X, const Table* covariates) = 0;
  // Maps rows with the learned state. Throws ValueError if not fitted or if the number
  // of columns differs from the training data.
  virtual Matrix apply(const Matrix& X, const Table* covariates) const = 0;

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
// unknown step name or a malformed record).
std::unique_ptr<Transform> read_transform(Reader& r);

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
enum class ImputeStrategy : std::uint8_t { Mean = 0, Median = 1, Constant = 2 };

class Impute final : public Transform {
 public:
  explicit Impute(ImputeStrategy strategy = ImputeStrategy::Median, double fill_value = 0.0);
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
  Vector stat_;  // the fill value of each feature
};

// ---------------------------------------------------------------- covariate coding

// Turns named Table columns into a numeric design matrix with levels learned on the
// training rows: Number columns as they are; Bool columns as 0/1; String columns as
// dummy variables, one per level except the first in sorted order (the reference).
// A test row with a level not seen in training gets zeros in that column's dummies.
// A missing covariate cell is a ValueError naming the column and row.
class CovariateCoder {
 public:
  explicit CovariateCoder(std::vector<std::string> names = {});
  void fit(const Table& covariates);
  // n x q design (without intercept); requires fit().
  Matrix apply(const Table& covariates) const;
  // Names of the design columns ("age", "site=B", ...).
  std::vector<std::string> design_names() const;
  const std::vector<std::string>& names() const noexcept { return names_; }
  void save(Writer& w) const;
  void load(Reader& r);

 private:
  struct Coding {
    std::string column;
    ColumnType type = ColumnType::Number;
    std::vector<std::string> levels;  // String columns: all levels, sorted
  };
  std::vector<std::string> names_;
  std::vector<Coding> codings_;
  bool fitted_ = false;
};

// ---------------------------------------------------------------- regress_out

// Removes the linear effect of covariates from every feature ("partial correlations"
// in NeuroMiner): G = [1, coded covariates] on the training rows, beta = pinv(G) X,
// X <- X - G beta; test rows use the training beta: X_test - G_test beta. Raw covariate
// values, no centring (METHODS.md section 1, step 3).
class RegressOut final : public Transform {
 public:
  explicit RegressOut(std::vector<std::string> covariates);
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

 private:
  void load(Reader& r) override;
  Matrix design(const Table* covariates, Eigen::Index n) const;
  CovariateCoder coder_;
  Matrix beta_;  // (1 + q) x p
};

}  // namespace nl::ml

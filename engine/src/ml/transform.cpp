// bindings/ml/transform.cpp: the Transform contract and the scale, prune and regress_out steps.
#include "nl/ml/transform.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "nl/core/core.hpp"

namespace nl::ml {

// ---------------------------------------------------------------- contract

void Transform::begin_fit(const Matrix& X, const Table* covariates) {
  if (X.rows() == 0) throw ValueError(fmt::format("{}: cannot fit on 0 rows", name()));
  if (covariates && covariates->nrows() != static_cast<std::size_t>(X.rows()))
    throw ValueError(fmt::format("{}: covariates have {} rows, the data have {}", name(), covariates->nrows(),
                                 X.rows()));
  fitted_ = false;
  p_in_ = X.cols();
}

void Transform::check_apply(const Matrix& X, const Table* covariates) const {
  if (!fitted_) throw ValueError(fmt::format("{}: not fitted (call fit first)", name()));
  if (X.cols() != p_in_)
    throw ValueError(fmt::format("{}: fitted on {} features, got {}", name(), p_in_, X.cols()));
  if (covariates && covariates->nrows() != static_cast<std::size_t>(X.rows()))
    throw ValueError(fmt::format("{}: covariates have {} rows, the data have {}", name(), covariates->nrows(),
                                 X.rows()));
}

// ---------------------------------------------------------------- scale

Scale::Scale(double lo, double hi) : lo_(lo), hi_(hi) {
  if (!(lo < hi) || !std::isfinite(lo) || !std::isfinite(hi))
    throw ValueError(fmt::format("scale: range must be finite with lo < hi, got {{{}, {}}}", lo, hi));
}

std::unique_ptr<Transform> Scale::clone() const { return std::make_unique<Scale>(lo_, hi_); }
std::unique_ptr<Transform> Scale::copy() const { return std::make_unique<Scale>(*this); }

std::string Scale::options() const { return fmt::format("scale{{range = {{{}, {}}}}}", lo_, hi_); }

void Scale::fit(const Matrix& X, const Table* covariates) {
  begin_fit(X, covariates);
  // Non-finite values are ignored for the range (prune removes such features later).
  min_.resize(X.cols());
  max_.resize(X.cols());
  for (Eigen::Index j = 0; j < X.cols(); ++j) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (Eigen::Index i = 0; i < X.rows(); ++i) {
      const double x = X(i, j);
      if (std::isfinite(x)) {
        lo = std::min(lo, x);
        hi = std::max(hi, x);
      }
    }
    min_(j) = lo;
    max_(j) = hi;
  }
  fitted_ = true;
}

Matrix Scale::apply(const Matrix& X, const Table* covariates) const {
  check_apply(X, covariates);
  Matrix out(X.rows(), X.cols());
  const double mid = 0.5 * (lo_ + hi_);
  for (Eigen::Index j = 0; j < X.cols(); ++j) {
    const double range = max_(j) - min_(j);
    if (range > 0 && std::isfinite(range)) {
      const double f = (hi_ - lo_) / range;
      out.col(j) = ((X.col(j).array() - min_(j)) * f + lo_).matrix();
    } else {
      out.col(j).setConstant(mid);
    }
  }
  return out;
}

std::vector<StateItem> Scale::state() const {
  if (!fitted_) return {};
  return {{"min_", min_.transpose()}, {"max_", max_.transpose()}};
}

// ---------------------------------------------------------------- prune

std::unique_ptr<Transform> Prune::clone() const { return std::make_unique<Prune>(); }
std::unique_ptr<Transform> Prune::copy() const { return std::make_unique<Prune>(*this); }

void Prune::fit(const Matrix& X, const Table* covariates) {
  begin_fit(X, covariates);
  keep_.clear();
  for (Eigen::Index j = 0; j < X.cols(); ++j) {
    const auto col = X.col(j);
    if (!col.allFinite()) continue;
    if ((col.array() != col(0)).any()) keep_.push_back(j);
  }
  fitted_ = true;
}

Matrix Prune::apply(const Matrix& X, const Table* covariates) const {
  check_apply(X, covariates);
  return X(Eigen::all, keep_);
}

std::vector<StateItem> Prune::state() const {
  if (!fitted_) return {};
  Matrix kept(1, static_cast<Eigen::Index>(keep_.size()));
  for (std::size_t k = 0; k < keep_.size(); ++k) kept(0, static_cast<Eigen::Index>(k)) = static_cast<double>(keep_[k] + 1);
  return {{"kept_", kept}};
}

// ---------------------------------------------------------------- impute

Impute::Impute(ImputeStrategy strategy, double fill_value) : strategy_(strategy), fill_(fill_value) {
  if (!std::isfinite(fill_value)) throw ValueError(fmt::format("impute: fill_value must be finite, got {}", fill_value));
}

std::unique_ptr<Transform> Impute::clone() const { return std::make_unique<Impute>(strategy_, fill_); }
std::unique_ptr<Transform> Impute::copy() const { return std::make_unique<Impute>(*this); }

std::string Impute::options() const {
  switch (strategy_) {
    case ImputeStrategy::Mean: return "impute{strategy = \"mean\"}";
    case ImputeStrategy::Median: return "impute{strategy = \"median\"}";
    case ImputeStrategy::Constant: break;
  }
  return fmt::format("impute{{strategy = \"constant\", fill_value = {}}}", fill_);
}

void Impute::fit(const Matrix& X, const Table* covariates) {
  begin_fit(X, covariates);
  stat_.resize(X.cols());
  std::vector<double> seen;
  for (Eigen::Index j = 0; j < X.cols(); ++j) {
    if (strategy_ == ImputeStrategy::Constant) {
      stat_(j) = fill_;
      continue;
    }
    seen.clear();
    for (Eigen::Index i = 0; i < X.rows(); ++i)
      if (!std::isnan(X(i, j))) seen.push_back(X(i, j));
    if (seen.empty()) {
      stat_(j) = 0.0;
    } else if (strategy_ == ImputeStrategy::Mean) {
      double sum = 0;
      for (double v : seen) sum += v;
      stat_(j) = sum / static_cast<double>(seen.size());
    } else {
      std::sort(seen.begin(), seen.end());
      const std::size_t h = seen.size() / 2;
      stat_(j) = seen.size() % 2 == 1 ? seen[h] : 0.5 * (seen[h - 1] + seen[h]);
    }
  }
  fitted_ = true;
}

Matrix Impute::apply(const Matrix& X, const Table* covariates) const {
  check_apply(X, covariates);
  Matrix out = X;
  for (Eigen::Index j = 0; j < out.cols(); ++j)
    for (Eigen::Index i = 0; i < out.rows(); ++i)
      if (std::isnan(out(i, j))) out(i, j) = stat_(j);
  return out;
}

std::vector<StateItem> Impute::state() const {
  if (!fitted_) return {};
  return {{"statistics_", stat_.transpose()}};
}

Eigen::Index Impute::n_features_out() const { return fitted_ ? p_in_ : 0; }

// ---------------------------------------------------------------- covariate coding

CovariateCoder::CovariateCoder(std::vector<std::string> names) : names_(std::move(names)) {
  std::set<std::string> seen;
  for (const auto& n : names_)
    if (!seen.insert(n).second) throw ValueError(fmt::format("covariate '{}' is listed twice", n));
}

namespace {
// A covariate must be complete, and finite when it is a number column.
void check_no_missing(const Column& c) {
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (c.is_missing(i)) throw ValueError(fmt::format("covariate '{}' is missing in row {}", c.name(), i + 1));
    if (c.type() == ColumnType::Number && !std::isfinite(c.number(i)))
      throw ValueError(fmt::format("covariate '{}' is not finite ({}) in row {}", c.name(),
                                   std::isnan(c.number(i)) ? "NaN" : fmt::format("{}", c.number(i)), i + 1));
  }
}
}  // namespace

void CovariateCoder::fit(const Table& covariates) {
  codings_.clear();
  for (const auto& n : names_) {
    const Column& c = *covariates.column(n);
    check_no_missing(c);
    Coding coding{n, c.type(), {}};
    if (c.type() == ColumnType::String) {
      std::set<std::string> levels;
      for (std::size_t i = 0; i < c.size(); ++i) levels.insert(c.string(i));
      coding.levels.assign(levels.begin(), levels.end());
    }
    codings_.push_back(std::move(coding));
  }
  fitted_ = true;
}

Matrix CovariateCoder::apply(const Table& covariates) const {
  if (!fitted_) throw ValueError("covariate coding: not fitted");
  Eigen::Index q = 0;
  for (const auto& c : codings_)
    q += c.type == ColumnType::String ? static_cast<Eigen::Index>(c.levels.size()) - 1 : 1;
  const auto n = static_cast<Eigen::Index>(covariates.nrows());
  Matrix G = Matrix::Zero(n, q);
  Eigen::Index at = 0;
  for (const auto& coding : codings_) {
    const Column& c = *covariates.column(coding.column);
    check_no_missing(c);
    if (c.type() != coding.type)
      throw ValueError(fmt::format("covariate '{}' is a {} column here but was {} in training", coding.column,
                                   type_name(c.type()), type_name(coding.type)));
    if (coding.type == ColumnType::String) {
      for (Eigen::Index i = 0; i < n; ++i) {
        const auto it = std::lower_bound(coding.levels.begin(), coding.levels.end(), c.string(i));
        if (it != coding.levels.end() && *it == c.string(i) && it != coding.levels.begin())
          G(i, at + (it - coding.levels.begin()) - 1) = 1.0;
      }
      at += static_cast<Eigen::Index>(coding.levels.size()) - 1;
    } else {
      for (Eigen::Index i = 0; i < n; ++i) G(i, at) = c.numeric(static_cast<std::size_t>(i));
      ++at;
    }
  }
  return G;
}

std::vector<std::string> CovariateCoder::design_names() const {
  std::vector<std::string> out;
  for (const auto& c : codings_) {
    if (c.type == ColumnType::String) {
      for (std::size_t k = 1; k < c.levels.size(); ++k) out.push_back(c.column + "=" + c.levels[k]);
    } else {
      out.push_back(c.column);
    }
  }
  return out;
}

// ---------------------------------------------------------------- regress_out

RegressOut::RegressOut(std::vector<std::string> covariates) : coder_(std::move(covariates)) {
  if (coder_.names().empty()) throw ValueError("regress_out: no covariates named");
}

std::unique_ptr<Transform> RegressOut::clone() const { return std::make_unique<RegressOut>(coder_.names()); }
std::unique_ptr<Transform> RegressOut::copy() const { return std::make_unique<RegressOut>(*this); }

std::string RegressOut::options() const {
  std::string s = "regress_out{";
  for (std::size_t k = 0; k < coder_.names().size(); ++k) s += (k ? ", \"" : "\"") + coder_.names()[k] + "\"";
  return s + "}";
}

Matrix RegressOut::design(const Table* covariates, Eigen::Index n) const {
  if (!covariates) throw ValueError("regress_out: covariates are required (pass a Table with the named columns)");
  const Matrix C = coder_.apply(*covariates);
  Matrix G(n, 1 + C.cols());
  G.col(0).setOnes();
  G.rightCols(C.cols()) = C;
  return G;
}

void RegressOut::fit(const Matrix& X, const Table* covariates) {
  begin_fit(X, covariates);
  if (!covariates) throw ValueError("regress_out: covariates are required (pass a Table with the named columns)");
  coder_.fit(*covariates);
  const Matrix G = design(covariates, X.rows());
  beta_ = pinv(G) * X;
  fitted_ = true;
}

Matrix RegressOut::apply(const Matrix& X, const Table* covariates) const {
  check_apply(X, covariates);
  return X - design(covariates, X.rows()) * beta_;
}

std::vector<StateItem> RegressOut::state() const {
  if (!fitted_) return {};
  return {{"beta_", beta_}};
}

}  // namespace nl::ml

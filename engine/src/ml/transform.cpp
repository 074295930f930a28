// ml/transform.cpp: the Transform contract, the scale, prune, impute and regress_out steps, and the
// covariate coding with its unseen-level policy.
#include "nl/ml/transform.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
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

void Scale::fit_range(Vector min, Vector max) {
  if (min.size() != max.size() || min.size() == 0)
    throw Error(fmt::format("scale: a range of {} minima and {} maxima", min.size(), max.size()));
  p_in_ = min.size();
  min_ = std::move(min);
  max_ = std::move(max);
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

Vector Scale::factors() const {
  if (!fitted_) throw ValueError("scale: not fitted");
  Vector f(p_in_);
  for (Eigen::Index j = 0; j < p_in_; ++j) {
    const double range = max_(j) - min_(j);
    f(j) = range > 0 && std::isfinite(range) ? (hi_ - lo_) / range : 0.0;
  }
  return f;
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

void Prune::fit_kept(Eigen::Index p_in, std::vector<Eigen::Index> keep) {
  for (std::size_t k = 0; k < keep.size(); ++k)
    if (keep[k] < 0 || keep[k] >= p_in || (k > 0 && keep[k] <= keep[k - 1]))
      throw Error(fmt::format("prune: kept column {} of {} is out of order or range", keep[k], p_in));
  p_in_ = p_in;
  keep_ = std::move(keep);
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

Impute::Impute(ImputeStrategy strategy, double fill_value, int n_neighbors)
    : strategy_(strategy), fill_(fill_value), k_(n_neighbors) {
  if (!std::isfinite(fill_value)) throw ValueError(fmt::format("impute: fill_value must be finite, got {}", fill_value));
  if (n_neighbors < 1) throw ValueError(fmt::format("impute: n_neighbors must be at least 1, got {}", n_neighbors));
}

std::unique_ptr<Transform> Impute::clone() const { return std::make_unique<Impute>(strategy_, fill_, k_); }
std::unique_ptr<Transform> Impute::copy() const { return std::make_unique<Impute>(*this); }

std::string Impute::options() const {
  switch (strategy_) {
    case ImputeStrategy::Mean: return "impute{strategy = \"mean\"}";
    case ImputeStrategy::Median: return "impute{strategy = \"median\"}";
    case ImputeStrategy::Knn: return fmt::format("impute{{strategy = \"knn\", n_neighbors = {}}}", k_);
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
    } else if (strategy_ == ImputeStrategy::Mean || strategy_ == ImputeStrategy::Knn) {
      double sum = 0;
      for (double v : seen) sum += v;
      stat_(j) = sum / static_cast<double>(seen.size());
    } else {
      std::sort(seen.begin(), seen.end());
      const std::size_t h = seen.size() / 2;
      stat_(j) = seen.size() % 2 == 1 ? seen[h] : 0.5 * (seen[h - 1] + seen[h]);
    }
  }
  if (strategy_ == ImputeStrategy::Knn) train_ = X;
  fitted_ = true;
}

namespace {

// scikit-learn's nan_euclidean distance, squared: (p / present) * sum over the
// coordinates both rows have; NaN when they have none in common.
double nan_euclidean2(const Matrix& A, Eigen::Index i, const Matrix& B, Eigen::Index t) {
  double sum = 0;
  Eigen::Index present = 0;
  for (Eigen::Index j = 0; j < A.cols(); ++j) {
    const double a = A(i, j), b = B(t, j);
    if (std::isnan(a) || std::isnan(b)) continue;
    sum += (a - b) * (a - b);
    ++present;
  }
  if (present == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(A.cols()) / static_cast<double>(present) * sum;
}

}  // namespace

Matrix Impute::apply(const Matrix& X, const Table* covariates) const {
  check_apply(X, covariates);
  Matrix out = X;
  if (strategy_ == ImputeStrategy::Knn) {
    const Eigen::Index n_train = train_.rows();
    std::vector<double> d(static_cast<std::size_t>(n_train));
    std::vector<Eigen::Index> donors;
    for (Eigen::Index i = 0; i < X.rows(); ++i) {
      bool any = false;
      for (Eigen::Index j = 0; j < X.cols() && !any; ++j) any = std::isnan(X(i, j));
      if (!any) continue;
      for (Eigen::Index t = 0; t < n_train; ++t) d[static_cast<std::size_t>(t)] = nan_euclidean2(X, i, train_, t);
      for (Eigen::Index j = 0; j < X.cols(); ++j) {
        if (!std::isnan(X(i, j))) continue;
        donors.clear();
        bool defined = false;
        for (Eigen::Index t = 0; t < n_train; ++t)
          if (!std::isnan(train_(t, j))) {
            donors.push_back(t);
            defined = defined || !std::isnan(d[static_cast<std::size_t>(t)]);
          }
        if (donors.empty() || !defined) {  // no training value, or none at a defined distance
          out(i, j) = stat_(j);
          continue;
        }
        // Nearest first; undefined distances last (numpy's order for NaN); ties by row.
        const std::size_t k = std::min(donors.size(), static_cast<std::size_t>(k_));
        std::partial_sort(donors.begin(), donors.begin() + static_cast<std::ptrdiff_t>(k), donors.end(),
                          [&](Eigen::Index a, Eigen::Index b) {
                            const double da = d[static_cast<std::size_t>(a)], db = d[static_cast<std::size_t>(b)];
                            if (std::isnan(da) != std::isnan(db)) return std::isnan(db);
                            if (!std::isnan(da) && da != db) return da < db;
                            return a < b;
                          });
        double sum = 0;
        for (std::size_t m = 0; m < k; ++m) sum += train_(donors[m], j);
        out(i, j) = sum / static_cast<double>(k);
      }
    }
    return out;
  }
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

// ---------------------------------------------------------------- unseen levels

namespace {

// A Lua string literal: "A", with \, " and control characters escaped.
std::string lua_string(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\{:03d}", c);
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

bool lua_identifier(const std::string& s) {
  static const std::set<std::string> reserved = {
      "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
      "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while"};
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (const char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return !reserved.count(s);
}

// A table key in Lua syntax: site or ["scan site"].
std::string lua_key(const std::string& s) { return lua_identifier(s) ? s : fmt::format("[{}]", lua_string(s)); }

std::string rule_lua(const UnseenRule& r) {
  switch (r.action) {
    case UnseenAction::Error: return "\"error\"";
    case UnseenAction::Drop: return "\"drop\"";
    case UnseenAction::Level: break;
  }
  return lua_string(r.level);
}

// 'A', 'B', 'C' (at most `most` of them, then how many there are in all).
std::string quoted_list(const std::vector<std::string>& v, std::size_t most) {
  std::string out;
  for (std::size_t k = 0; k < v.size() && k < most; ++k) out += (k ? ", '" : "'") + v[k] + "'";
  if (v.size() > most) out += fmt::format(", ... ({} in all)", v.size());
  return out;
}

}  // namespace

const UnseenRule& UnseenPolicy::rule(const std::string& column) const {
  const auto it = columns.find(column);
  return it == columns.end() ? all : it->second;
}

std::string UnseenPolicy::lua() const {
  if (columns.empty()) return rule_lua(all);
  std::string s = "{";
  for (const auto& [column, r] : columns) s += (s.size() > 1 ? ", " : "") + lua_key(column) + " = " + rule_lua(r);
  return s + "}";
}

void UnseenPolicy::check() const {
  if (all.action == UnseenAction::Level)
    throw ValueError("unseen: a level to code unseen values as is chosen per column, e.g. unseen = { site = \"A\" }");
  if (all.action != UnseenAction::Error && !columns.empty())
    throw ValueError("unseen: give either one action for every text covariate or a table of columns, not both");
}

UnseenPolicy UnseenPolicy::restricted(const std::vector<std::string>& names) const {
  UnseenPolicy out;
  out.all = all;
  for (const auto& [column, r] : columns)
    if (std::find(names.begin(), names.end(), column) != names.end()) out.columns.emplace(column, r);
  return out;
}

// ---------------------------------------------------------------- covariate coding

CovariateCoder::CovariateCoder(std::vector<std::string> names, UnseenPolicy unseen) : names_(std::move(names)) {
  std::set<std::string> seen;
  for (const auto& n : names_)
    if (!seen.insert(n).second) throw ValueError(fmt::format("covariate '{}' is listed twice", n));
  check_unseen(unseen);
  unseen_ = std::move(unseen);
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

// Index of `value` among the sorted `levels`, or -1.
Eigen::Index level_index(const std::vector<std::string>& levels, const std::string& value) {
  const auto it = std::lower_bound(levels.begin(), levels.end(), value);
  return it != levels.end() && *it == value ? static_cast<Eigen::Index>(it - levels.begin()) : -1;
}

// The ValueError of policy Error: the column, the unseen values with their row counts,
// a few participant ids when the table has them, the training levels and the choices.
[[noreturn]] void throw_unseen(const std::string& column, const std::vector<std::string>& levels, const Column& c,
                               const std::vector<Eigen::Index>& rows, const Table& covariates) {
  std::map<std::string, std::size_t> count;
  for (const Eigen::Index i : rows) ++count[c.string(static_cast<std::size_t>(i))];
  std::string values;
  std::size_t shown = 0;
  for (const auto& [value, k] : count) {
    if (shown == 10) {
      values += fmt::format(", and {} more", count.size() - shown);
      break;
    }
    values += fmt::format("{}'{}' ({} row{})", shown ? ", " : "", value, k, k == 1 ? "" : "s");
    ++shown;
  }
  const ColumnPtr* ids = covariates.find("participant_id");
  if (ids && (*ids)->type() == ColumnType::String) {
    std::vector<std::string> some;
    for (std::size_t k = 0; k < rows.size() && some.size() < 5; ++k) {
      const auto i = static_cast<std::size_t>(rows[k]);
      if (!(*ids)->is_missing(i)) some.push_back((*ids)->string(i));
    }
    if (!some.empty())
      values += fmt::format(", {}participant_id {}", some.size() < rows.size() ? "e.g. " : "", fmt::join(some, ", "));
  }
  const std::string& first = levels.front();
  throw ValueError(fmt::format(
      "covariate '{}' has {} not seen in the training rows: {}; the training level{} {}. Choose unseen = \"drop\" "
      "(correct those rows for the other covariates and the training-average {} effect), unseen = {{ {} = {} }} "
      "(code them as level '{}'), or leave those participants out; or harmonize the sites before this step "
      "(nl.ml.combat with unseen = \"estimate\")",
      column, count.size() == 1 ? "a level" : "levels", values, levels.size() == 1 ? " is" : "s are",
      quoted_list(levels, 20), column, lua_key(column), lua_string(first), first));
}
}  // namespace

void CovariateCoder::check_unseen(const UnseenPolicy& unseen) const {
  unseen.check();
  for (const auto& [column, r] : unseen.columns) {
    if (std::find(names_.begin(), names_.end(), column) == names_.end())
      throw ValueError(fmt::format("unseen names column '{}', which is not one of the covariates ('{}')", column,
                                   fmt::join(names_, "', '")));
    if (!fitted_) continue;
    const std::string& name = column;  // (a structured binding cannot be captured before C++20 in clang)
    const auto coding = std::find_if(codings_.begin(), codings_.end(), [&](const Coding& c) { return c.column == name; });
    if (coding->type != ColumnType::String)
      throw ValueError(fmt::format("unseen = {}: covariate '{}' is a {} column; the unseen-level policy applies to "
                                   "text (string) covariates only",
                                   unseen.lua(), column, type_name(coding->type)));
    if (r.action == UnseenAction::Level && level_index(coding->levels, r.level) < 0)
      throw ValueError(fmt::format("unseen = {}: '{}' is not a level of covariate '{}' in the training rows (the "
                                   "training level{} {})",
                                   unseen.lua(), r.level, column, coding->levels.size() == 1 ? " is" : "s are",
                                   quoted_list(coding->levels, 20)));
  }
}

void CovariateCoder::set_unseen(UnseenPolicy unseen) {
  check_unseen(unseen);
  unseen_ = std::move(unseen);
}

void CovariateCoder::fit(const Table& covariates) {
  fitted_ = false;
  means_known_ = false;
  legacy_ = false;
  codings_.clear();
  for (const auto& n : names_) {
    const Column& c = *covariates.column(n);
    check_no_missing(c);
    Coding coding{n, c.type(), {}, {}};
    if (c.type() == ColumnType::String) {
      std::map<std::string, std::size_t> levels;
      for (std::size_t i = 0; i < c.size(); ++i) ++levels[c.string(i)];
      for (const auto& [level, k] : levels) {
        if (!coding.levels.empty()) coding.mean.push_back(static_cast<double>(k) / static_cast<double>(c.size()));
        coding.levels.push_back(level);
      }
    }
    codings_.push_back(std::move(coding));
  }
  fitted_ = true;
  means_known_ = true;
  try {
    check_unseen(unseen_);
  } catch (...) {
    fitted_ = false;
    codings_.clear();
    throw;
  }
}

void CovariateCoder::restore_means(const Table& training) {
  if (!fitted_) throw ValueError("covariate coding: not fitted");
  for (auto& coding : codings_) {
    if (coding.type != ColumnType::String) continue;
    const Column& c = *training.column(coding.column);
    if (c.type() != ColumnType::String || c.size() == 0)
      throw ValueError(fmt::format("covariate '{}': the training covariates do not match the coding", coding.column));
    std::vector<std::size_t> count(coding.levels.size(), 0);
    for (std::size_t i = 0; i < c.size(); ++i) {
      const Eigen::Index k = c.is_missing(i) ? -1 : level_index(coding.levels, c.string(i));
      if (k < 0)
        throw ValueError(fmt::format("covariate '{}': row {} of the training covariates is not a training level",
                                     coding.column, i + 1));
      ++count[static_cast<std::size_t>(k)];
    }
    coding.mean.clear();
    for (std::size_t k = 1; k < count.size(); ++k)
      coding.mean.push_back(static_cast<double>(count[k]) / static_cast<double>(c.size()));
  }
  means_known_ = true;
}

const std::vector<std::string>* CovariateCoder::levels(const std::string& column) const {
  for (const auto& c : codings_)
    if (c.column == column && c.type == ColumnType::String) return &c.levels;
  return nullptr;
}

Matrix CovariateCoder::apply(const Table& covariates) const {
  if (!fitted_) throw ValueError("covariate coding: not fitted");
  Eigen::Index q = 0;
  for (const auto& c : codings_)
    q += c.type == ColumnType::String ? static_cast<Eigen::Index>(c.levels.size()) - 1 : 1;
  const auto n = static_cast<Eigen::Index>(covariates.nrows());
  Matrix G = Matrix::Zero(n, q);
  Eigen::Index at = 0;
  std::vector<Eigen::Index> unseen;
  for (const auto& coding : codings_) {
    const Column& c = *covariates.column(coding.column);
    check_no_missing(c);
    if (c.type() != coding.type)
      throw ValueError(fmt::format("covariate '{}' is a {} column here but was {} in training", coding.column,
                                   type_name(c.type()), type_name(coding.type)));
    if (coding.type == ColumnType::String) {
      // Dummy k - 1 is 1 for level k >= 1; the reference level 0 is all zeros.
      const auto code = [&](Eigen::Index i, Eigen::Index k) {
        if (k > 0) G(i, at + k - 1) = 1.0;
      };
      unseen.clear();
      for (Eigen::Index i = 0; i < n; ++i) {
        const Eigen::Index k = level_index(coding.levels, c.string(static_cast<std::size_t>(i)));
        if (k < 0) unseen.push_back(i);
        else code(i, k);
      }
      if (!unseen.empty()) {
        const UnseenRule& rule = unseen_.rule(coding.column);
        switch (rule.action) {
          case UnseenAction::Error: throw_unseen(coding.column, coding.levels, c, unseen, covariates);
          case UnseenAction::Level: {
            const Eigen::Index k = level_index(coding.levels, rule.level);
            if (k < 0)  // set_unseen and fit refuse such a policy; a guard against writing G out of bounds
              throw ValueError(fmt::format("unseen: '{}' is not a training level of '{}'", rule.level, coding.column));
            for (const Eigen::Index i : unseen) code(i, k);
            break;
          }
          case UnseenAction::Drop:
            if (!means_known_)
              throw ValueError(fmt::format(
                  "covariate '{}': unseen = \"drop\" needs the training proportions of its levels, which a model "
                  "saved by an older neurolua does not hold; refit it, or choose unseen = {{ {} = {} }}",
                  coding.column, lua_key(coding.column), lua_string(coding.levels.front())));
            for (const Eigen::Index i : unseen)
              for (std::size_t k = 0; k < coding.mean.size(); ++k)
                G(i, at + static_cast<Eigen::Index>(k)) = coding.mean[k];
            break;
        }
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

namespace {
// Runs f, putting "regress_out: " in front of a covariate coding's ValueError.
template <class F>
auto as_step(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("regress_out: {}", e.what()));
  }
}
}  // namespace

RegressOut::RegressOut(std::vector<std::string> covariates, UnseenPolicy unseen)
    : coder_(as_step([&] { return CovariateCoder(std::move(covariates), std::move(unseen)); })) {
  if (coder_.names().empty()) throw ValueError("regress_out: no covariates named");
}

std::unique_ptr<Transform> RegressOut::clone() const {
  return std::make_unique<RegressOut>(coder_.names(), coder_.unseen());
}
std::unique_ptr<Transform> RegressOut::copy() const { return std::make_unique<RegressOut>(*this); }

std::string RegressOut::options() const {
  std::string s = "regress_out{";
  for (std::size_t k = 0; k < coder_.names().size(); ++k) s += (k ? ", " : "") + lua_string(coder_.names()[k]);
  if (!coder_.unseen().is_default()) s += ", unseen = " + coder_.unseen().lua();
  return s + "}";
}

void RegressOut::set_unseen(UnseenPolicy unseen) {
  as_step([&] { coder_.set_unseen(std::move(unseen)); });
}

void RegressOut::restore_means(const Table& training_covariates) {
  as_step([&] { coder_.restore_means(training_covariates); });
}

Matrix RegressOut::design(const Table* covariates, Eigen::Index n) const {
  if (!covariates) throw ValueError("regress_out: covariates are required (pass a Table with the named columns)");
  const Matrix C = as_step([&] { return coder_.apply(*covariates); });
  Matrix G(n, 1 + C.cols());
  G.col(0).setOnes();
  G.rightCols(C.cols()) = C;
  return G;
}

void RegressOut::fit(const Matrix& X, const Table* covariates) {
  begin_fit(X, covariates);
  if (!covariates) throw ValueError("regress_out: covariates are required (pass a Table with the named columns)");
  as_step([&] { coder_.fit(*covariates); });
  const Matrix G = design(covariates, X.rows());
  beta_ = pinv(G) * X;
  fitted_ = true;
}

Matrix RegressOut::fit_design(const Table* covariates, Eigen::Index n, Eigen::Index p_in) {
  if (n == 0) throw ValueError("regress_out: cannot fit on 0 rows");
  if (!covariates) throw ValueError("regress_out: covariates are required (pass a Table with the named columns)");
  if (covariates->nrows() != static_cast<std::size_t>(n))
    throw ValueError(fmt::format("regress_out: covariates have {} rows, the data have {}", covariates->nrows(), n));
  fitted_ = false;
  p_in_ = p_in;
  as_step([&] { coder_.fit(*covariates); });
  return design(covariates, n);
}

void RegressOut::set_beta(Matrix beta) {
  if (beta.cols() != p_in_) throw Error(fmt::format("regress_out: {} coefficient columns for {} features", beta.cols(), p_in_));
  beta_ = std::move(beta);
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

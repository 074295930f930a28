// explore.cpp: describe, value counts and grouped aggregation of Tables
// (nl/table/explore.hpp). Reshaping (pivot, melt) is in reshape.cpp.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_set>

#include "explore_detail.hpp"
#include "nl/core/core.hpp"
#include "nl/table/explore.hpp"

namespace nl {

using detail::quoted;

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Sum of x in index order (the plain left-to-right sum, as numpy's reductions of
// short arrays and pandas' groupby sums do).
double plain_sum(const std::vector<double>& x) {
  double s = 0.0;
  for (double v : x) s += v;
  return s;
}

// Sample variance (n - 1) by two passes, x.size() >= 2.
double sample_var(const std::vector<double>& x) {
  const double mean = plain_sum(x) / static_cast<double>(x.size());
  double ss = 0.0;
  for (double v : x) ss += (v - mean) * (v - mean);
  return ss / static_cast<double>(x.size() - 1);
}
}  // namespace

namespace detail {

int compare_cells_at(const Column& c, std::size_t i, std::size_t j) {
  const bool mi = c.is_missing(i), mj = c.is_missing(j);
  if (mi || mj) return mi == mj ? 0 : (mi ? 1 : -1);
  switch (c.type()) {
    case ColumnType::Number: {
      const double x = c.number(i), y = c.number(j);
      const bool ni = std::isnan(x), nj = std::isnan(y);
      if (ni || nj) return ni == nj ? 0 : (ni ? 1 : -1);
      return x < y ? -1 : (y < x ? 1 : 0);
    }
    case ColumnType::String: {
      const int r = c.string(i).compare(c.string(j));
      return r < 0 ? -1 : (r > 0 ? 1 : 0);
    }
    case ColumnType::Bool: return static_cast<int>(c.boolean(i)) - static_cast<int>(c.boolean(j));
  }
  return 0;
}

std::string cell_text(const Column& c, std::size_t i) {
  if (c.is_missing(i)) return "NA";
  switch (c.type()) {
    case ColumnType::Number: {
      const double x = c.number(i);
      if (std::isnan(x)) return "NaN";
      if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
      return fmt::format("{}", x);
    }
    case ColumnType::String: return c.string(i);
    case ColumnType::Bool: return c.boolean(i) ? "true" : "false";
  }
  return "?";
}

Column typed_column(std::string name, ColumnType type, const std::vector<Cell>& cells) {
  const std::size_t n = cells.size();
  std::vector<std::uint8_t> missing(n, 0);
  for (std::size_t i = 0; i < n; ++i) missing[i] = std::holds_alternative<std::monostate>(cells[i]) ? 1 : 0;
  switch (type) {
    case ColumnType::Number: {
      std::vector<double> v(n, 0.0);
      for (std::size_t i = 0; i < n; ++i)
        if (!missing[i]) v[i] = std::get<double>(cells[i]);
      return Column::numbers(std::move(name), std::move(v), std::move(missing));
    }
    case ColumnType::String: {
      std::vector<std::string> v(n);
      for (std::size_t i = 0; i < n; ++i)
        if (!missing[i]) v[i] = std::get<std::string>(cells[i]);
      return Column::strings(std::move(name), std::move(v), std::move(missing));
    }
    case ColumnType::Bool: {
      std::vector<std::uint8_t> v(n, 0);
      for (std::size_t i = 0; i < n; ++i)
        if (!missing[i]) v[i] = std::get<bool>(cells[i]) ? 1 : 0;
      return Column::bools(std::move(name), std::move(v), std::move(missing));
    }
  }
  return {};
}

void check_agg(const Column& c, AggFn fn, const std::string& what) {
  switch (fn) {
    case AggFn::Sum:
    case AggFn::Mean:
    case AggFn::Std:
    case AggFn::Var:
    case AggFn::Median:
      if (c.type() == ColumnType::String)
        throw ValueError(fmt::format("{}: {} needs a number or bool column, but column {} holds strings", what,
                                     agg_name(fn), quoted(c.name())));
      break;
    default: break;
  }
}

ColumnType agg_type(const Column& c, AggFn fn) {
  switch (fn) {
    case AggFn::Min:
    case AggFn::Max:
    case AggFn::First:
    case AggFn::Last: return c.type();
    default: return ColumnType::Number;
  }
}

Cell aggregate_cell(const Column& c, const std::vector<std::size_t>& rows, AggFn fn) {
  std::vector<std::size_t> present;
  present.reserve(rows.size());
  for (std::size_t r : rows)
    if (!c.is_missing(r)) present.push_back(r);
  const auto n = static_cast<double>(present.size());
  auto numbers = [&] {
    std::vector<double> x;
    x.reserve(present.size());
    for (std::size_t r : present) x.push_back(c.numeric(r));
    return x;
  };
  switch (fn) {
    case AggFn::Count: return n;
    case AggFn::NMissing: return static_cast<double>(rows.size() - present.size());
    case AggFn::NUnique: {
      std::vector<std::size_t> s = present;
      std::stable_sort(s.begin(), s.end(), [&](std::size_t i, std::size_t j) { return compare_cells_at(c, i, j) < 0; });
      std::size_t k = 0;
      for (std::size_t t = 0; t < s.size(); ++t)
        if (t == 0 || compare_cells_at(c, s[t - 1], s[t]) != 0) ++k;
      return static_cast<double>(k);
    }
    case AggFn::Sum: return plain_sum(numbers());
    case AggFn::Mean:
      if (present.empty()) return std::monostate{};
      return plain_sum(numbers()) / n;
    case AggFn::Var:
    case AggFn::Std: {
      if (present.size() < 2) return std::monostate{};
      const double v = sample_var(numbers());
      return fn == AggFn::Std ? std::sqrt(v) : v;
    }
    case AggFn::Median: {
      if (present.empty()) return std::monostate{};
      std::vector<double> x = numbers();
      sort_nan_last(x);
      return quantile_sorted(x, 0.5);
    }
    case AggFn::Min:
    case AggFn::Max: {
      if (present.empty()) return std::monostate{};
      std::size_t best = present[0];
      for (std::size_t r : present) {
        if (c.type() == ColumnType::Number && std::isnan(c.number(r))) return kNaN;  // NaN propagates
        const int cmp = compare_cells_at(c, r, best);
        if (fn == AggFn::Min ? cmp < 0 : cmp > 0) best = r;
      }
      return c.cell(best);
    }
    case AggFn::First:
      if (present.empty()) return std::monostate{};
      return c.cell(present.front());
    case AggFn::Last:
      if (present.empty()) return std::monostate{};
      return c.cell(present.back());
  }
  return std::monostate{};
}

void sort_nan_last(std::vector<double>& x) {
  std::stable_sort(x.begin(), x.end(), [](double a, double b) {
    if (std::isnan(a)) return false;
    return std::isnan(b) || a < b;
  });
}

}  // namespace detail

using detail::aggregate_cell;
using detail::compare_cells_at;

// ---------------------------------------------------------------- quantiles

double quantile_sorted(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) throw ValueError("quantile: no values");
  if (!(p >= 0.0 && p <= 1.0)) throw ValueError(fmt::format("quantile: p = {} is outside [0, 1]", p));
  const std::size_t n = sorted.size();
  if (std::isnan(sorted.back()) || std::isnan(sorted.front())) return kNaN;
  const double h = static_cast<double>(n - 1) * p;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  if (lo + 1 >= n) return sorted[n - 1];
  const double t = h - static_cast<double>(lo);
  const double a = sorted[lo], b = sorted[lo + 1], d = b - a;
  // numpy's _lerp: from the nearer end, so that Q is exact at t = 0 and t = 1.
  return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}

// ---------------------------------------------------------------- describe

Table describe(const Table& table, const std::vector<double>& percentiles) {
  std::vector<std::string> pnames;
  for (double p : percentiles) {
    if (!(p >= 0.0 && p <= 1.0)) throw ValueError(fmt::format("describe: percentile {} is outside [0, 1]", p));
    std::string name = fmt::format("{:.10g}%", 100.0 * p);  // 0.07 -> "7%", not "7.000000000000001%"
    if (std::find(pnames.begin(), pnames.end(), name) != pnames.end())
      throw ValueError(fmt::format("describe: percentile {} is given twice", p));
    pnames.push_back(std::move(name));
  }
  const std::size_t C = table.ncols(), P = percentiles.size();
  std::vector<Cell> name(C), type(C), n(C), missing(C), mean(C), sd(C), lo(C), hi(C), unique(C), top(C), freq(C);
  std::vector<std::vector<Cell>> q(P, std::vector<Cell>(C));
  for (std::size_t j = 0; j < C; ++j) {
    const Column& c = *table.columns()[j];
    name[j] = c.name();
    type[j] = std::string(type_name(c.type()));
    const std::size_t present = c.size() - c.missing_count();
    n[j] = static_cast<double>(present);
    missing[j] = static_cast<double>(c.missing_count());
    if (c.type() == ColumnType::Number) {
      if (present == 0) continue;
      std::vector<double> x;
      x.reserve(present);
      for (std::size_t i = 0; i < c.size(); ++i)
        if (!c.is_missing(i)) x.push_back(c.number(i));
      mean[j] = plain_sum(x) / static_cast<double>(present);
      if (present >= 2) sd[j] = std::sqrt(sample_var(x));
      detail::sort_nan_last(x);
      const bool nan = std::isnan(x.back());
      lo[j] = nan ? kNaN : x.front();
      hi[j] = nan ? kNaN : x.back();
      for (std::size_t k = 0; k < P; ++k) q[k][j] = quantile_sorted(x, percentiles[k]);
    } else {
      const auto counts = value_counts(c);  // by value, missing last
      std::size_t distinct = 0, best = 0;
      const Cell* best_value = nullptr;
      for (const auto& [value, count] : counts) {
        if (std::holds_alternative<std::monostate>(value)) continue;
        ++distinct;
        if (count > best) {
          best = count;
          best_value = &value;
        }
      }
      unique[j] = static_cast<double>(distinct);
      if (best_value) {
        if (const bool* b = std::get_if<bool>(best_value)) top[j] = std::string(*b ? "true" : "false");
        else top[j] = std::get<std::string>(*best_value);
        freq[j] = static_cast<double>(best);
      }
    }
  }
  Table out;
  auto add = [&](const std::string& col, ColumnType t, const std::vector<Cell>& cells) {
    out.set(std::make_shared<const Column>(detail::typed_column(col, t, cells)));
  };
  add("name", ColumnType::String, name);
  add("type", ColumnType::String, type);
  add("n", ColumnType::Number, n);
  add("missing", ColumnType::Number, missing);
  add("mean", ColumnType::Number, mean);
  add("std", ColumnType::Number, sd);
  add("min", ColumnType::Number, lo);
  for (std::size_t k = 0; k < P; ++k) {
    if (out.find(pnames[k])) throw ValueError(fmt::format("describe: percentile name {} is taken", quoted(pnames[k])));
    add(pnames[k], ColumnType::Number, q[k]);
  }
  add("max", ColumnType::Number, hi);
  add("unique", ColumnType::Number, unique);
  add("top", ColumnType::String, top);
  add("freq", ColumnType::Number, freq);
  return out;
}

// ---------------------------------------------------------------- value counts

Table value_counts_table(const Column& column, const ValueCountOptions& options) {
  auto counts = value_counts(column);  // by value, missing last
  if (options.dropna && !counts.empty() && std::holds_alternative<std::monostate>(counts.back().first))
    counts.pop_back();
  if (options.order == CountOrder::Count)
    std::stable_sort(counts.begin(), counts.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::size_t total = 0;
  for (const auto& vc : counts) total += vc.second;
  std::vector<Cell> value, count, proportion;
  for (const auto& [v, k] : counts) {
    value.push_back(v);
    count.push_back(static_cast<double>(k));
    proportion.push_back(static_cast<double>(k) / static_cast<double>(total));
  }
  Table out;
  out.set(std::make_shared<const Column>(detail::typed_column("value", column.type(), value)));
  out.set(std::make_shared<const Column>(detail::typed_column("count", ColumnType::Number, count)));
  out.set(std::make_shared<const Column>(detail::typed_column("proportion", ColumnType::Number, proportion)));
  return out;
}

// ---------------------------------------------------------------- grouping

const char* agg_name(AggFn fn) noexcept {
  switch (fn) {
    case AggFn::Count: return "count";
    case AggFn::Sum: return "sum";
    case AggFn::Mean: return "mean";
    case AggFn::Std: return "std";
    case AggFn::Var: return "var";
    case AggFn::Min: return "min";
    case AggFn::Max: return "max";
    case AggFn::Median: return "median";
    case AggFn::First: return "first";
    case AggFn::Last: return "last";
    case AggFn::NMissing: return "n_missing";
    case AggFn::NUnique: return "n_unique";
  }
  return "?";
}

std::optional<AggFn> agg_from_name(const std::string& name) noexcept {
  for (AggFn fn : {AggFn::Count, AggFn::Sum, AggFn::Mean, AggFn::Std, AggFn::Var, AggFn::Min, AggFn::Max,
                   AggFn::Median, AggFn::First, AggFn::Last, AggFn::NMissing, AggFn::NUnique})
    if (name == agg_name(fn)) return fn;
  return std::nullopt;
}

GroupBy::GroupBy(Table table, std::vector<std::string> keys, bool sorted)
    : table_(std::move(table)), keys_(std::move(keys)), sorted_(sorted) {
  if (keys_.empty()) throw ValueError("group_by: no key columns given");
  std::vector<const Column*> cols;
  std::unordered_set<std::string> seen;
  for (const auto& k : keys_) {
    cols.push_back(table_.column(k).get());
    if (!seen.insert(k).second) throw ValueError(fmt::format("group_by: key {} is given twice", quoted(k)));
  }
  const std::size_t R = table_.nrows();
  std::vector<std::size_t> order(R);
  std::iota(order.begin(), order.end(), std::size_t{0});
  auto cmp = [&](std::size_t i, std::size_t j) {
    for (const Column* c : cols)
      if (const int r = compare_cells_at(*c, i, j); r != 0) return r;
    return 0;
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return cmp(i, j) < 0; });
  for (std::size_t k = 0; k < R; ++k) {
    if (k == 0 || cmp(order[k - 1], order[k]) != 0) rows_.emplace_back();
    rows_.back().push_back(order[k]);
  }
  // Within a group rows are in table order (the sort is stable), so the first row of
  // each group is its first appearance.
  if (!sorted_)
    std::sort(rows_.begin(), rows_.end(), [](const auto& a, const auto& b) { return a.front() < b.front(); });
}

Table GroupBy::key_table() const {
  std::vector<std::size_t> first;
  first.reserve(rows_.size());
  for (const auto& g : rows_) first.push_back(g.front());
  return table_.select(keys_).take(first);
}

Table GroupBy::sizes() const {
  Table out = key_table();
  std::vector<double> n;
  for (const auto& g : rows_) n.push_back(static_cast<double>(g.size()));
  if (out.find("n")) throw ValueError("size: a key column is called 'n'");
  out.set(std::make_shared<const Column>(Column::numbers("n", std::move(n))));
  return out;
}

Table GroupBy::counts() const {
  std::vector<Aggregation> aggs;
  for (const auto& c : table_.columns())
    if (std::find(keys_.begin(), keys_.end(), c->name()) == keys_.end())
      aggs.push_back({c->name(), c->name(), AggFn::Count});
  return aggregate(aggs);
}

Table GroupBy::aggregate(const std::vector<Aggregation>& aggregations) const {
  Table out = key_table();
  for (const auto& a : aggregations) {
    const Column& c = *table_.column(a.column);
    const std::string what = fmt::format("agg {}", quoted(a.name));
    detail::check_agg(c, a.fn, what);
    if (out.find(a.name))
      throw ValueError(fmt::format("{}: the name is already taken by {} column", what,
                                   std::find(keys_.begin(), keys_.end(), a.name) != keys_.end() ? "a key" : "another"));
    std::vector<Cell> cells;
    cells.reserve(rows_.size());
    for (const auto& g : rows_) cells.push_back(aggregate_cell(c, g, a.fn));
    out.set(std::make_shared<const Column>(detail::typed_column(a.name, detail::agg_type(c, a.fn), cells)));
  }
  return out;
}

Table GroupBy::group(std::size_t g) const {
  if (g >= rows_.size()) throw ValueError(fmt::format("group {} out of range [1, {}]", g + 1, rows_.size()));
  return table_.take(rows_[g]);
}

}  // namespace nl

// table.cpp: Column construction and elementwise operations, Table operations
// (select, take, filter, where, sort, join) and conversion to a Matrix.
#include "nl/table/table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include "nl/core/core.hpp"

namespace nl {

// ---------------------------------------------------------------- helpers

const char* type_name(ColumnType t) noexcept {
  switch (t) {
    case ColumnType::Number: return "number";
    case ColumnType::String: return "string";
    case ColumnType::Bool: return "bool";
  }
  return "?";
}

namespace detail {
std::string quoted(std::string_view s) {
  constexpr std::size_t limit = 60;
  std::string out = "'";
  for (std::size_t i = 0; i < s.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
  }
  if (s.size() > limit) out += "...";
  out += "'";
  return out;
}
}  // namespace detail

namespace {

using detail::quoted;

const char* plural_type(ColumnType t) {
  switch (t) {
    case ColumnType::Number: return "numbers";
    case ColumnType::String: return "strings";
    case ColumnType::Bool: return "booleans";
  }
  return "?";
}

// A cell as it appears in an error message.
std::string describe(const Cell& v) {
  if (std::holds_alternative<double>(v)) return fmt::format("number {}", std::get<double>(v));
  if (std::holds_alternative<std::string>(v)) return "string " + quoted(std::get<std::string>(v));
  if (std::holds_alternative<bool>(v)) return std::get<bool>(v) ? "boolean true" : "boolean false";
  return "NA";
}

ColumnType cell_type(const Cell& v) {
  if (std::holds_alternative<std::string>(v)) return ColumnType::String;
  if (std::holds_alternative<bool>(v)) return ColumnType::Bool;
  return ColumnType::Number;
}

std::vector<std::uint8_t> checked_mask(std::vector<std::uint8_t> missing, std::size_t n, const std::string& name) {
  if (missing.empty()) return std::vector<std::uint8_t>(n, 0);
  if (missing.size() != n)
    throw ValueError(fmt::format("column {}: {} values but {} missing flags", quoted(name), n, missing.size()));
  for (auto& m : missing) m = m ? 1 : 0;
  return missing;
}

std::size_t count_missing(const std::vector<std::uint8_t>& missing) {
  return static_cast<std::size_t>(std::count(missing.begin(), missing.end(), std::uint8_t{1}));
}

void require_type(const Column& c, ColumnType t, const char* what) {
  if (c.type() != t)
    throw ValueError(fmt::format("{} needs a {} column, but column {} holds {}", what, type_name(t),
                                 quoted(c.name()), plural_type(c.type())));
}

void require_same_length(const Column& a, const Column& b, const char* what) {
  if (a.size() != b.size())
    throw ValueError(fmt::format("{}: columns {} and {} have {} and {} rows", what, quoted(a.name()), quoted(b.name()),
                                 a.size(), b.size()));
}

}  // namespace

// ---------------------------------------------------------------- Column

Column Column::numbers(std::string name, std::vector<double> values, std::vector<std::uint8_t> missing) {
  Column c;
  c.missing_ = checked_mask(std::move(missing), values.size(), name);
  c.name_ = std::move(name);
  c.type_ = ColumnType::Number;
  c.numbers_ = std::move(values);
  c.n_missing_ = count_missing(c.missing_);
  for (std::size_t i = 0; i < c.numbers_.size(); ++i)
    if (c.missing_[i]) c.numbers_[i] = 0.0;
  return c;
}

Column Column::strings(std::string name, std::vector<std::string> values, std::vector<std::uint8_t> missing) {
  Column c;
  c.missing_ = checked_mask(std::move(missing), values.size(), name);
  c.name_ = std::move(name);
  c.type_ = ColumnType::String;
  c.strings_ = std::move(values);
  c.n_missing_ = count_missing(c.missing_);
  for (std::size_t i = 0; i < c.strings_.size(); ++i)
    if (c.missing_[i]) c.strings_[i].clear();
  return c;
}

Column Column::bools(std::string name, std::vector<std::uint8_t> values, std::vector<std::uint8_t> missing) {
  Column c;
  c.missing_ = checked_mask(std::move(missing), values.size(), name);
  c.name_ = std::move(name);
  c.type_ = ColumnType::Bool;
  c.bools_ = std::move(values);
  c.n_missing_ = count_missing(c.missing_);
  for (std::size_t i = 0; i < c.bools_.size(); ++i) c.bools_[i] = (c.bools_[i] && !c.missing_[i]) ? 1 : 0;
  return c;
}

Column Column::from_cells(std::string name, const std::vector<Cell>& cells) {
  const std::size_t n = cells.size();
  ColumnType type = ColumnType::Number;
  std::size_t first = n;
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::holds_alternative<std::monostate>(cells[i])) {
      type = cell_type(cells[i]);
      first = i;
      break;
    }
  }
  std::vector<std::uint8_t> missing(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (std::holds_alternative<std::monostate>(cells[i])) {
      missing[i] = 1;
    } else if (cell_type(cells[i]) != type) {
      throw ValueError(fmt::format("column {}: value {} is a {} but value {} is a {}", quoted(name), i + 1,
                                   type_name(cell_type(cells[i])), first + 1, type_name(type)));
    }
  }
  switch (type) {
    case ColumnType::Number: {
      std::vector<double> v(n, 0.0);
      for (std::size_t i = 0; i < n; ++i)
        if (!missing[i]) v[i] = std::get<double>(cells[i]);
      return numbers(std::move(name), std::move(v), std::move(missing));
    }
    case ColumnType::String: {
      std::vector<std::string> v(n);
      for (std::size_t i = 0; i < n; ++i)
        if (!missing[i]) v[i] = std::get<std::string>(cells[i]);
      return strings(std::move(name), std::move(v), std::move(missing));
    }
    case ColumnType::Bool: {
      std::vector<std::uint8_t> v(n, 0);
      for (std::size_t i = 0; i < n; ++i)
        if (!missing[i]) v[i] = std::get<bool>(cells[i]) ? 1 : 0;
      return bools(std::move(name), std::move(v), std::move(missing));
    }
  }
  return {};
}

Column Column::filled(std::string name, const Cell& value, std::size_t n) {
  return from_cells(std::move(name), std::vector<Cell>(n, value));
}

double Column::numeric(std::size_t i) const {
  if (type_ == ColumnType::String)
    throw ValueError(fmt::format("column {} holds strings, not numbers", quoted(name_)));
  return type_ == ColumnType::Number ? numbers_[i] : static_cast<double>(bools_[i]);
}

Cell Column::cell(std::size_t i) const {
  if (i >= size()) throw ValueError(fmt::format("row {} out of range [1, {}]", i + 1, size()));
  if (missing_[i]) return std::monostate{};
  switch (type_) {
    case ColumnType::Number: return numbers_[i];
    case ColumnType::String: return strings_[i];
    case ColumnType::Bool: return bools_[i] != 0;
  }
  return std::monostate{};
}

Column Column::renamed(std::string name) const {
  Column c = *this;
  c.name_ = std::move(name);
  return c;
}

Column Column::take(const std::vector<std::size_t>& rows) const {
  const std::size_t n = size();
  for (std::size_t r : rows)
    if (r != npos && r >= n) throw ValueError(fmt::format("row {} out of range [1, {}]", r + 1, n));
  Column c;
  c.name_ = name_;
  c.type_ = type_;
  c.missing_.resize(rows.size());
  for (std::size_t k = 0; k < rows.size(); ++k) c.missing_[k] = rows[k] == npos ? 1 : missing_[rows[k]];
  c.n_missing_ = count_missing(c.missing_);
  // Gathers one storage vector; npos rows get the default value.
  auto gather = [&](const auto& from, auto& to, auto fill) {
    to.resize(rows.size(), fill);
    for (std::size_t k = 0; k < rows.size(); ++k)
      if (rows[k] != npos) to[k] = from[rows[k]];
  };
  switch (type_) {
    case ColumnType::Number: gather(numbers_, c.numbers_, 0.0); break;
    case ColumnType::String: gather(strings_, c.strings_, std::string()); break;
    case ColumnType::Bool: gather(bools_, c.bools_, std::uint8_t{0}); break;
  }
  return c;
}

// ---------------------------------------------------------------- arithmetic

namespace {
// Elementwise f(i) over n rows of number results, missing where missing(i).
template <class F, class M>
Column number_map(const std::string& name, std::size_t n, F f, M missing) {
  std::vector<double> v(n, 0.0);
  std::vector<std::uint8_t> na(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (missing(i)) na[i] = 1;
    else v[i] = f(i);
  }
  return Column::numbers(name, std::move(v), std::move(na));
}
}  // namespace

Column arith(const Column& a, const Column& b, ArithOp op) {
  require_type(a, ColumnType::Number, "arithmetic");
  require_type(b, ColumnType::Number, "arithmetic");
  require_same_length(a, b, "arithmetic");
  return number_map(
      a.name(), a.size(), [&](std::size_t i) { return apply_op(op, a.number(i), b.number(i)); },
      [&](std::size_t i) { return a.is_missing(i) || b.is_missing(i); });
}

Column arith(const Column& a, double b, ArithOp op) {
  require_type(a, ColumnType::Number, "arithmetic");
  return number_map(
      a.name(), a.size(), [&](std::size_t i) { return apply_op(op, a.number(i), b); },
      [&](std::size_t i) { return a.is_missing(i); });
}

Column arith(double a, const Column& b, ArithOp op) {
  require_type(b, ColumnType::Number, "arithmetic");
  return number_map(
      b.name(), b.size(), [&](std::size_t i) { return apply_op(op, a, b.number(i)); },
      [&](std::size_t i) { return b.is_missing(i); });
}

Column negate(const Column& a) {
  require_type(a, ColumnType::Number, "negation");
  return number_map(
      a.name(), a.size(), [&](std::size_t i) { return -a.number(i); }, [&](std::size_t i) { return a.is_missing(i); });
}

// ---------------------------------------------------------------- comparison and logic

namespace {
template <class T>
bool ordered(const T& x, const T& y, CompareOp op) {
  switch (op) {
    case CompareOp::Eq: return x == y;
    case CompareOp::Ne: return !(x == y);
    case CompareOp::Lt: return x < y;
    case CompareOp::Le: return x <= y;
    case CompareOp::Gt: return x > y;
    case CompareOp::Ge: return x >= y;
  }
  return false;
}

// Compares row i of a with row j of b (same type, neither missing).
bool compare_cells(const Column& a, std::size_t i, const Column& b, std::size_t j, CompareOp op) {
  switch (a.type()) {
    case ColumnType::Number: return ordered(a.number(i), b.number(j), op);
    case ColumnType::String: return ordered(a.string(i), b.string(j), op);
    case ColumnType::Bool: return ordered(a.boolean(i), b.boolean(j), op);
  }
  return false;
}

void check_orderable(const Column& a, CompareOp op) {
  if (a.type() == ColumnType::Bool && op != CompareOp::Eq && op != CompareOp::Ne)
    throw ValueError(fmt::format("cannot order the booleans of column {} (only eq and ne)", quoted(a.name())));
}

Column compare_rows(const Column& a, const Column& b, bool scalar_b, CompareOp op) {
  const std::size_t n = a.size();
  std::vector<std::uint8_t> v(n, 0), na(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t j = scalar_b ? 0 : i;
    if (a.is_missing(i) || b.is_missing(j)) na[i] = 1;
    else v[i] = compare_cells(a, i, b, j, op) ? 1 : 0;
  }
  return Column::bools(a.name(), std::move(v), std::move(na));
}
}  // namespace

Column compare(const Column& a, const Cell& value, CompareOp op) {
  if (std::holds_alternative<std::monostate>(value))
    throw ValueError(fmt::format("cannot compare column {} with NA (test for missing cells instead)",
                                 quoted(a.name())));
  if (cell_type(value) != a.type())
    throw ValueError(
        fmt::format("cannot compare column {} of {} with a {}", quoted(a.name()), plural_type(a.type()),
                    type_name(cell_type(value))));
  check_orderable(a, op);
  return compare_rows(a, Column::filled("", value, 1), true, op);
}

Column compare(const Column& a, const Column& b, CompareOp op) {
  if (a.type() != b.type())
    throw ValueError(fmt::format("cannot compare column {} of {} with column {} of {}", quoted(a.name()),
                                 plural_type(a.type()), quoted(b.name()), plural_type(b.type())));
  require_same_length(a, b, "comparison");
  check_orderable(a, op);
  return compare_rows(a, b, false, op);
}

namespace {
// Kleene three-valued logic; `dominant` is the value that decides the result alone
// (false for AND, true for OR).
Column kleene(const Column& a, const Column& b, bool dominant, const char* what) {
  require_type(a, ColumnType::Bool, what);
  require_type(b, ColumnType::Bool, what);
  require_same_length(a, b, what);
  const std::size_t n = a.size();
  std::vector<std::uint8_t> v(n, 0), na(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const bool am = a.is_missing(i), bm = b.is_missing(i);
    if ((!am && a.boolean(i) == dominant) || (!bm && b.boolean(i) == dominant)) v[i] = dominant;
    else if (am || bm) na[i] = 1;
    else v[i] = !dominant;
  }
  return Column::bools(a.name(), std::move(v), std::move(na));
}
}  // namespace

Column logical_and(const Column& a, const Column& b) { return kleene(a, b, false, "'and'"); }
Column logical_or(const Column& a, const Column& b) { return kleene(a, b, true, "'or'"); }

Column logical_not(const Column& a) {
  require_type(a, ColumnType::Bool, "'not'");
  std::vector<std::uint8_t> v(a.size(), 0), na(a.size(), 0);
  for (std::size_t i = 0; i < a.size(); ++i) {
    na[i] = a.is_missing(i);
    v[i] = !a.boolean(i);
  }
  return Column::bools(a.name(), std::move(v), std::move(na));
}

Column missing_mask(const Column& a) {
  std::vector<std::uint8_t> v(a.size(), 0);
  for (std::size_t i = 0; i < a.size(); ++i) v[i] = a.is_missing(i);
  return Column::bools(a.name(), std::move(v));
}

// ---------------------------------------------------------------- summaries

double reduce(const Column& a, Reduction r) {
  if (a.type() == ColumnType::String)
    throw ValueError(fmt::format("cannot summarize column {}: it holds strings", quoted(a.name())));
  Matrix v(static_cast<Eigen::Index>(a.size() - a.missing_count()), 1);
  Eigen::Index k = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!a.is_missing(i)) v(k++, 0) = a.numeric(i);
  return reduce_all(v, r);
}

namespace {
// Present row indices sorted by value (NaN last) and a predicate for equal values.
std::vector<std::size_t> sorted_present(const Column& a) {
  std::vector<std::size_t> rows;
  rows.reserve(a.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!a.is_missing(i)) rows.push_back(i);
  std::stable_sort(rows.begin(), rows.end(), [&](std::size_t i, std::size_t j) {
    switch (a.type()) {
      case ColumnType::Number: {
        const double x = a.number(i), y = a.number(j);
        if (std::isnan(x)) return false;
        return std::isnan(y) || x < y;
      }
      case ColumnType::String: return a.string(i) < a.string(j);
      case ColumnType::Bool: return a.boolean(i) < a.boolean(j);
    }
    return false;
  });
  return rows;
}

bool same_value(const Column& a, std::size_t i, std::size_t j) {
  if (a.type() == ColumnType::Number && std::isnan(a.number(i))) return std::isnan(a.number(j));
  return compare_cells(a, i, a, j, CompareOp::Eq);
}
}  // namespace

std::vector<std::pair<Cell, std::size_t>> value_counts(const Column& a) {
  std::vector<std::pair<Cell, std::size_t>> out;
  const auto rows = sorted_present(a);
  for (std::size_t k = 0; k < rows.size(); ++k) {
    if (k > 0 && same_value(a, rows[k - 1], rows[k])) ++out.back().second;
    else out.emplace_back(a.cell(rows[k]), 1);
  }
  if (a.missing_count() > 0) out.emplace_back(std::monostate{}, a.missing_count());
  return out;
}

std::vector<Cell> unique(const Column& a) {
  std::vector<Cell> out;
  for (auto& [value, count] : value_counts(a))
    if (!std::holds_alternative<std::monostate>(value)) out.push_back(std::move(value));
  return out;
}

// ---------------------------------------------------------------- Table: columns

std::vector<std::string> Table::names() const {
  std::vector<std::string> out;
  out.reserve(columns_.size());
  for (const auto& c : columns_) out.push_back(c->name());
  return out;
}

const ColumnPtr* Table::find(std::string_view name) const noexcept {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &columns_[it->second];
}

void Table::append(ColumnPtr column) {
  columns_.push_back(std::move(column));
  index_.emplace(columns_.back()->name(), columns_.size() - 1);
}

namespace {
// Levenshtein distance, for "did you mean" hints on misspelled column names.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}
}  // namespace

const ColumnPtr& Table::column(std::string_view name) const {
  if (const ColumnPtr* c = find(name)) return *c;
  // The closest name within a third of its length (at least 1 edit), if any.
  const std::string* hint = nullptr;
  std::size_t best = std::max<std::size_t>(1, name.size() / 3) + 1;
  if (name.size() < 200) {
    for (const auto& c : columns_) {
      if (c->name().size() > 200) continue;
      const std::size_t d = edit_distance(name, c->name());
      if (d < best) {
        best = d;
        hint = &c->name();
      }
    }
  }
  std::string list;
  constexpr std::size_t shown = 20;
  for (std::size_t j = 0; j < columns_.size() && j < shown; ++j)
    list += (j ? ", " : "") + columns_[j]->name();
  if (columns_.size() > shown) list += fmt::format(", ... ({} in all)", columns_.size());
  if (columns_.empty()) list = "none";
  throw ValueError(fmt::format("no column {} in table (columns: {}){}", quoted(name), list,
                               hint ? "; did you mean " + quoted(*hint) + "?" : std::string()));
}

void Table::set(ColumnPtr column) {
  if (!column) throw ValueError("no column given");
  if (!columns_.empty() && column->size() != nrows_)
    throw ValueError(fmt::format("column {} has {} rows, but the table has {}", quoted(column->name()),
                                 column->size(), nrows_));
  nrows_ = column->size();
  if (const auto it = index_.find(column->name()); it != index_.end()) {
    const std::size_t j = it->second;
    index_.erase(it);  // its key views the name of the column being replaced
    columns_[j] = std::move(column);
    index_.emplace(columns_[j]->name(), j);
    return;
  }
  append(std::move(column));
}

void Table::remove(std::string_view name) {
  const ColumnPtr& c = column(name);
  const auto j = static_cast<std::size_t>(&c - columns_.data());
  index_.erase(columns_[j]->name());
  columns_.erase(columns_.begin() + static_cast<std::ptrdiff_t>(j));
  for (std::size_t k = j; k < columns_.size(); ++k) index_[columns_[k]->name()] = k;
  if (columns_.empty()) nrows_ = 0;
}

// ---------------------------------------------------------------- Table: rows

Table Table::select(const std::vector<std::string>& names) const {
  Table out;
  out.nrows_ = nrows_;
  std::unordered_set<std::string> seen;
  for (const auto& name : names) {
    const ColumnPtr& c = column(name);
    if (!seen.insert(name).second) throw ValueError(fmt::format("column {} is selected twice", quoted(name)));
    out.append(c);
  }
  if (out.columns_.empty()) out.nrows_ = 0;
  return out;
}

Table Table::take(const std::vector<std::size_t>& rows) const {
  for (std::size_t r : rows)
    if (r >= nrows_) throw ValueError(fmt::format("row {} out of range [1, {}]", r + 1, nrows_));
  Table out;
  out.nrows_ = columns_.empty() ? 0 : rows.size();
  for (const auto& c : columns_) out.append(std::make_shared<const Column>(c->take(rows)));
  return out;
}

Table Table::filter(const Column& mask) const {
  if (mask.type() != ColumnType::Bool)
    throw ValueError(fmt::format("filter needs a bool column, but column {} holds {}", quoted(mask.name()),
                                 plural_type(mask.type())));
  if (mask.size() != nrows_)
    throw ValueError(fmt::format("filter mask {} has {} rows, but the table has {}", quoted(mask.name()),
                                 mask.size(), nrows_));
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < nrows_; ++i)
    if (!mask.is_missing(i) && mask.boolean(i)) rows.push_back(i);
  return take(rows);
}

Table Table::where(const std::vector<Condition>& conditions) const {
  std::vector<std::uint8_t> keep(nrows_, 1);
  for (const auto& cond : conditions) {
    const Column& c = *column(cond.column);
    for (const auto& v : cond.values) {
      if (!std::holds_alternative<std::monostate>(v) && cell_type(v) != c.type())
        throw ValueError(fmt::format("where: column {} holds {}, got {}", quoted(c.name()), plural_type(c.type()),
                                     describe(v)));
    }
    for (std::size_t i = 0; i < nrows_; ++i) {
      if (!keep[i]) continue;
      bool hit = false;
      for (const auto& v : cond.values) {
        if (c.is_missing(i)) hit = std::holds_alternative<std::monostate>(v);
        else if (std::holds_alternative<double>(v)) hit = c.number(i) == std::get<double>(v);
        else if (std::holds_alternative<std::string>(v)) hit = c.string(i) == std::get<std::string>(v);
        else if (std::holds_alternative<bool>(v)) hit = c.boolean(i) == std::get<bool>(v);
        if (hit) break;
      }
      keep[i] = hit;
    }
  }
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < nrows_; ++i)
    if (keep[i]) rows.push_back(i);
  return take(rows);
}

// Three-way comparison of rows i and j on one key: missing after everything, NaN after
// every number, both whatever the direction; otherwise by value, reversed if descending.
namespace {
int compare_key(const Column& c, bool descending, std::size_t i, std::size_t j) {
  const bool mi = c.is_missing(i), mj = c.is_missing(j);
  if (mi || mj) return mi == mj ? 0 : (mi ? 1 : -1);
  int r = 0;
  switch (c.type()) {
    case ColumnType::Number: {
      const double x = c.number(i), y = c.number(j);
      const bool ni = std::isnan(x), nj = std::isnan(y);
      if (ni || nj) return ni == nj ? 0 : (ni ? 1 : -1);
      r = x < y ? -1 : (y < x ? 1 : 0);
      break;
    }
    case ColumnType::String: r = c.string(i).compare(c.string(j)); r = r < 0 ? -1 : (r > 0 ? 1 : 0); break;
    case ColumnType::Bool: r = static_cast<int>(c.boolean(i)) - static_cast<int>(c.boolean(j)); break;
  }
  return descending ? -r : r;
}
}  // namespace

Table Table::sort(const std::vector<SortKey>& keys) const {
  std::vector<const Column*> cols;
  for (const auto& k : keys) cols.push_back(column(k.column).get());
  std::vector<std::size_t> rows(nrows_);
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  std::stable_sort(rows.begin(), rows.end(), [&](std::size_t i, std::size_t j) {
    for (std::size_t k = 0; k < keys.size(); ++k) {
      const int r = compare_key(*cols[k], keys[k].descending, i, j);
      if (r != 0) return r < 0;
    }
    return false;
  });
  return take(rows);
}

Table Table::head(std::size_t n) const {
  std::vector<std::size_t> rows(std::min(n, nrows_));
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  return take(rows);
}

// ---------------------------------------------------------------- Table: join

namespace {
// Right-table row of each non-missing key value; throws on a repeated value.
template <class K, class Get>
std::unordered_map<K, std::size_t> index_keys(const Column& key, Get get) {
  std::unordered_map<K, std::size_t> index;
  for (std::size_t i = 0; i < key.size(); ++i) {
    if (key.is_missing(i)) continue;
    const K k = get(i);
    if constexpr (std::is_same_v<K, double>) {
      if (std::isnan(k)) continue;
    }
    auto [it, inserted] = index.emplace(k, i);
    if (!inserted)
      throw ValueError(fmt::format("join: key {} is not unique in the right table (value {} in rows {} and {})",
                                   quoted(key.name()), format_cell(key, i), it->second + 1, i + 1));
  }
  return index;
}
}  // namespace

Table Table::join(const Table& right, const JoinOptions& options) const {
  const std::string& rk_name = options.right_key.empty() ? options.left_key : options.right_key;
  const Column& lk = *column(options.left_key);
  const Column& rk = *right.column(rk_name);
  for (const Column* k : {&lk, &rk})
    if (k->type() == ColumnType::Bool)
      throw ValueError(fmt::format("join: key {} holds booleans; keys must be numbers or strings", quoted(k->name())));
  if (lk.type() != rk.type())
    throw ValueError(fmt::format("join: key {} holds {} in the left table but key {} holds {} in the right table",
                                 quoted(lk.name()), plural_type(lk.type()), quoted(rk.name()),
                                 plural_type(rk.type())));
  // For each left row, the matching right row or npos.
  std::vector<std::size_t> match(nrows_, Column::npos);
  if (lk.type() == ColumnType::Number) {
    const auto index = index_keys<double>(rk, [&](std::size_t i) { return rk.number(i); });
    for (std::size_t i = 0; i < nrows_; ++i) {
      if (lk.is_missing(i)) continue;
      if (auto it = index.find(lk.number(i)); it != index.end()) match[i] = it->second;
    }
  } else {
    const auto index = index_keys<std::string>(rk, [&](std::size_t i) { return rk.string(i); });
    for (std::size_t i = 0; i < nrows_; ++i) {
      if (lk.is_missing(i)) continue;
      if (auto it = index.find(lk.string(i)); it != index.end()) match[i] = it->second;
    }
  }
  std::vector<std::size_t> left_rows, right_rows;
  for (std::size_t i = 0; i < nrows_; ++i) {
    if (options.how == JoinHow::Inner && match[i] == Column::npos) continue;
    left_rows.push_back(i);
    right_rows.push_back(match[i]);
  }
  Table out = take(left_rows);
  out.nrows_ = left_rows.size();
  for (const auto& c : right.columns_) {
    if (c->name() == rk_name) continue;
    std::string name = c->name();
    if (out.find(name)) {
      name += options.suffix;
      if (out.find(name))
        throw ValueError(fmt::format("join: right column {} collides with left column {} even with suffix {}",
                                     quoted(c->name()), quoted(name), quoted(options.suffix)));
    }
    out.append(std::make_shared<const Column>(c->take(right_rows).renamed(std::move(name))));
  }
  return out;
}

// ---------------------------------------------------------------- to_matrix

TableMatrix to_matrix(const Table& table, const std::vector<std::string>& names, bool drop_missing) {
  std::vector<const Column*> cols;
  if (names.empty()) {
    for (const auto& c : table.columns()) cols.push_back(c.get());
  } else {
    for (const auto& name : names) cols.push_back(table.column(name).get());
  }
  for (const Column* c : cols)
    if (c->type() == ColumnType::String)
      throw ValueError(fmt::format("column {} holds strings and cannot go into a matrix", quoted(c->name())));
  TableMatrix out;
  for (std::size_t i = 0; i < table.nrows(); ++i) {
    const Column* gap = nullptr;
    for (const Column* c : cols) {
      if (c->is_missing(i)) {
        gap = c;
        break;
      }
    }
    if (!gap) out.rows.push_back(i);
    else if (!drop_missing)
      throw ValueError(fmt::format("column {} has a missing value in row {}", quoted(gap->name()), i + 1));
  }
  out.X.resize(static_cast<Eigen::Index>(out.rows.size()), static_cast<Eigen::Index>(cols.size()));
  for (std::size_t j = 0; j < cols.size(); ++j)
    for (std::size_t k = 0; k < out.rows.size(); ++k)
      out.X(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(j)) = cols[j]->numeric(out.rows[k]);
  return out;
}

// ---------------------------------------------------------------- text

namespace {
constexpr std::size_t max_cell_width = 24;

// Display width in code points (UTF-8 continuation bytes do not count).
std::size_t display_width(std::string_view s) {
  std::size_t w = 0;
  for (char ch : s)
    if ((static_cast<unsigned char>(ch) & 0xC0) != 0x80) ++w;
  return w;
}

// Control bytes escaped, cut to `limit` code points (the last three being "...").
std::string printable(std::string_view s, std::size_t limit) {
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += ch;
  }
  if (display_width(out) <= limit) return out;
  std::size_t w = 0, cut = 0;
  for (; cut < out.size(); ++cut)
    if ((static_cast<unsigned char>(out[cut]) & 0xC0) != 0x80 && ++w > limit - 3) break;
  out.resize(cut);
  return out + "...";
}

std::string pad(const std::string& s, std::size_t width, bool right) {
  const std::size_t w = display_width(s);
  const std::string fill(width > w ? width - w : 0, ' ');
  return right ? fill + s : s + fill;
}

const char* type_tag(ColumnType t) {
  switch (t) {
    case ColumnType::Number: return "<num>";
    case ColumnType::String: return "<str>";
    case ColumnType::Bool: return "<bool>";
  }
  return "<?>";
}

std::string plural(std::size_t n, const char* word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s"); }
}  // namespace

std::string format_cell(const Column& column, std::size_t row) {
  if (row >= column.size() || column.is_missing(row)) return "NA";
  switch (column.type()) {
    case ColumnType::Number: {
      const double x = column.number(row);
      if (std::isnan(x)) return "NaN";
      if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
      std::string s = fmt::format("{}", x);
      return s.size() > 10 ? fmt::format("{:.6g}", x) : s;
    }
    case ColumnType::String: return printable(column.string(row), max_cell_width);
    case ColumnType::Bool: return column.boolean(row) ? "true" : "false";
  }
  return "?";
}

std::string format_table(const Table& table, int max_rows, int max_width) {
  const std::size_t R = table.nrows(), C = table.ncols();
  const std::string footer = fmt::format("[Table {} x {}]", plural(R, "row"), plural(C, "column"));
  if (C == 0) return footer;
  // Rows to show: all, or the first and last around a "..." line.
  const std::size_t budget = static_cast<std::size_t>(std::max(max_rows, 2));
  std::vector<std::size_t> rows;
  std::size_t gap_at = Column::npos;
  if (R <= budget) {
    for (std::size_t i = 0; i < R; ++i) rows.push_back(i);
  } else {
    const std::size_t head = budget / 2;
    for (std::size_t i = 0; i < head; ++i) rows.push_back(i);
    for (std::size_t i = R - (budget - head); i < R; ++i) rows.push_back(i);
    gap_at = head;
  }
  // Rendered cells and widths per column.
  const auto& cols = table.columns();
  std::vector<std::vector<std::string>> cells(C);
  std::vector<std::string> headers(C);
  std::vector<std::size_t> width(C);
  for (std::size_t j = 0; j < C; ++j) {
    headers[j] = printable(cols[j]->name(), max_cell_width);
    width[j] = std::max(display_width(headers[j]), display_width(type_tag(cols[j]->type())));
    for (std::size_t i : rows) {
      cells[j].push_back(format_cell(*cols[j], i));
      width[j] = std::max(width[j], display_width(cells[j].back()));
    }
  }
  const std::size_t label = std::max<std::size_t>(3, fmt::format("{}", R).size());
  // Columns that fit: taken from both ends until the width budget is used.
  std::vector<std::size_t> left, right;
  std::size_t used = label;
  const std::size_t limit = static_cast<std::size_t>(std::max(max_width, 20));
  bool col_gap = false;
  for (std::size_t lo = 0, hi = C; lo < hi;) {
    if (used + width[lo] + 2 > limit && !left.empty()) { col_gap = true; break; }
    used += width[lo] + 2;
    left.push_back(lo++);
    if (lo >= hi) break;
    if (used + width[hi - 1] + 2 + 5 > limit) { col_gap = true; break; }
    used += width[hi - 1] + 2;
    right.insert(right.begin(), --hi);
  }
  std::vector<std::size_t> shown = left;
  shown.insert(shown.end(), right.begin(), right.end());
  // One output line: the label, then the shown columns with "..." at the column gap.
  auto line = [&](const std::string& lab, auto&& text) {
    std::string out = pad(lab, label, true);
    for (std::size_t k = 0; k < shown.size(); ++k) {
      if (col_gap && k == left.size()) out += "  ...";
      const std::size_t j = shown[k];
      out += "  " + pad(text(j), width[j], cols[j]->type() != ColumnType::String);
    }
    if (col_gap && left.size() == shown.size()) out += "  ...";
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line("", [&](std::size_t j) { return headers[j]; });
  out += line("", [&](std::size_t j) { return std::string(type_tag(cols[j]->type())); });
  for (std::size_t k = 0; k < rows.size(); ++k) {
    if (k == gap_at) out += pad("...", label, true) + "\n";
    out += line(fmt::format("{}", rows[k] + 1), [&](std::size_t j) { return cells[j][k]; });
  }
  return out + footer;
}

std::string format_column(const Column& column, int max_values) {
  std::string out = fmt::format("Column {} {}: {}", quoted(column.name()), type_tag(column.type()),
                                plural(column.size(), "row"));
  if (column.missing_count() > 0) out += fmt::format(", {} missing", column.missing_count());
  const std::size_t n = std::min(column.size(), static_cast<std::size_t>(std::max(max_values, 1)));
  if (n == 0) return out;
  out += "\n ";
  for (std::size_t i = 0; i < n; ++i) {
    const bool str = column.type() == ColumnType::String && !column.is_missing(i);
    out += (i ? ", " : " ") + (str ? "\"" + format_cell(column, i) + "\"" : format_cell(column, i));
  }
  if (column.size() > n) out += ", ...";
  return out;
}

}  // namespace nl

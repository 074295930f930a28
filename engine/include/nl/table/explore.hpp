// nl/table/explore.hpp: summaries and reshaping of Tables for exploring data:
// describe, value counts, grouped aggregation (group_by / agg), pivot (long to wide)
// and melt (wide to long).
//
// Conventions shared by every function here:
//  * Missing cells are skipped by statistics; a statistic that has no value (the mean
//    of no cells, the std of fewer than two) is a missing cell, never a made-up number.
//    A real NaN is a value: it propagates into mean, std, quantiles, min and max, as
//    in numpy.
//  * Quantiles are numpy's default (`method="linear"`, Hyndman & Fan type 7, R's
//    default too): for sorted x_0..x_{n-1} and p in [0, 1], h = (n - 1) p and
//    Q(p) = x_floor(h) + (h - floor(h)) (x_floor(h)+1 - x_floor(h)).
//  * Groups and distinct values are ordered as Table::sort orders rows: numbers
//    ascending with NaN after them, strings bytewise, false before true, missing last.
//  * Errors are ValueErrors naming the column (and the option) at fault.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "nl/table/table.hpp"

namespace nl {

// ---------------------------------------------------------------- quantiles

// Q(p) of values already sorted ascending (type 7, see above). ValueError when sorted
// is empty or p is outside [0, 1]; NaN when any value is NaN.
double quantile_sorted(const std::vector<double>& sorted, double p);

// ---------------------------------------------------------------- describe

// One row per column of `table`, with the columns
//   name, type, n (non-missing cells), missing,
//   mean, std (n - 1), min, <percentiles>..., max     (number columns; NA otherwise)
//   unique, top, freq                                 (string and bool columns; NA otherwise)
// like pandas' describe(include="all") transposed. `top` is the most frequent value as
// text (ties: the first in sort order) and `freq` its count. Percentile columns are
// named "25%", "50%", "75%" (or as given: 0.025 -> "2.5%"); ValueError for a
// percentile outside [0, 1] or given twice.
Table describe(const Table& table, const std::vector<double>& percentiles = {0.25, 0.5, 0.75});

// ---------------------------------------------------------------- value counts

enum class CountOrder { Count, Value };

struct ValueCountOptions {
  bool dropna = true;                  // false: missing cells are counted as a value (NA)
  CountOrder order = CountOrder::Count;  // Count: by count descending, ties by value
};

// A Table with columns value (the column's type), count and proportion (count over the
// cells counted: the non-missing ones, or all of them when !dropna).
Table value_counts_table(const Column& column, const ValueCountOptions& options = {});

// ---------------------------------------------------------------- grouping

enum class AggFn { Count, Sum, Mean, Std, Var, Min, Max, Median, First, Last, NMissing, NUnique };

// "count", "sum", ... "n_missing", "n_unique".
const char* agg_name(AggFn fn) noexcept;
// The AggFn called name, or nullopt.
std::optional<AggFn> agg_from_name(const std::string& name) noexcept;

// One output column: fn over `column` within each group, named `name`.
//   count: non-missing cells; n_missing: missing cells; n_unique: distinct non-missing
//   values; sum (0 for no values), mean, std/var (n - 1), median: number or bool
//   columns (bools as 0/1); min, max: any column, keeping its type (strings bytewise,
//   false < true); first, last: the first/last non-missing value, keeping the type.
struct Aggregation {
  std::string name;
  std::string column;
  AggFn fn = AggFn::Count;
};

// The rows of a table split by the values of key columns. Rows with equal keys (NaN
// equals NaN, missing equals missing) form one group; missing keys form their own
// group. Groups are sorted by their keys (the order above, missing last) unless
// `sorted` is false, in which case they come in order of first appearance. Rows keep
// their table order within a group.
class GroupBy {
 public:
  // ValueError for no keys, an unknown key or a key given twice.
  GroupBy(Table table, std::vector<std::string> keys, bool sorted = true);

  const Table& table() const noexcept { return table_; }
  const std::vector<std::string>& keys() const noexcept { return keys_; }
  bool sorted() const noexcept { return sorted_; }
  std::size_t ngroups() const noexcept { return rows_.size(); }
  // The 0-based table rows of group g.
  const std::vector<std::size_t>& rows(std::size_t g) const { return rows_.at(g); }

  // The key columns, one row per group.
  Table key_table() const;
  // key_table() plus a column n: the number of rows of each group.
  Table sizes() const;
  // key_table() plus, for every other column, its count of non-missing cells.
  Table counts() const;
  // key_table() plus one column per aggregation, in the given order. ValueError for
  // an unknown column, a function that does not apply to its type, or an output name
  // that repeats a key or another output.
  Table aggregate(const std::vector<Aggregation>& aggregations) const;
  // The rows of group g as a Table (ValueError when g >= ngroups()).
  Table group(std::size_t g) const;

 private:
  Table table_;
  std::vector<std::string> keys_;
  bool sorted_ = true;
  std::vector<std::vector<std::size_t>> rows_;
};

// ---------------------------------------------------------------- reshaping

struct PivotOptions {
  std::vector<std::string> index;  // key columns of the rows of the result
  std::string columns;             // its distinct values become the new columns
  std::string values;              // the cells that fill them
  std::optional<AggFn> agg;        // combines repeated (index, columns) pairs
  std::string prefix;              // prepended to the new column names
};

// Long to wide: one row per distinct index (sorted as groups are), then one column per
// distinct value of `columns` (sorted), named prefix + the value as printed. A cell
// with no row in the long table is missing. Without agg, an (index, columns) pair
// found in two rows is a ValueError naming the pair and both rows. A missing cell in
// `columns` is a ValueError naming its row; a new name that repeats an index column is
// a ValueError.
Table pivot(const Table& table, const PivotOptions& options);

struct MeltOptions {
  std::vector<std::string> id;      // columns repeated on every output row
  std::vector<std::string> values;  // columns stacked; empty: every non-id column
  std::string variable = "variable";
  std::string value = "value";
};

// Wide to long, row-major (like tidyr's pivot_longer): for each input row, one output
// row per value column, holding the id columns, the value column's name (a string
// column `variable`) and its cell (column `value`). The value columns must hold one
// type (ValueError naming two that differ); names must not collide.
Table melt(const Table& table, const MeltOptions& options);

}  // namespace nl

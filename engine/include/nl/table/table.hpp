// nl/table/table.hpp: a data frame of named, typed columns; CSV/TSV reading and writing.
//
// A Table is an ordered list of columns of equal length. A Column holds numbers
// (double), strings or booleans, plus a per-cell missing mask: missing is a separate
// bit, never a special value, so a number column can hold a real NaN read from "NaN".
//
// Columns are immutable once built, so tables share them: select and column access
// copy pointers; row operations (take, filter, sort, join) build new columns. Table
// operations return new tables; the only mutation is adding, replacing or removing a
// column of a table.
//
// Row numbers and line numbers in error messages are 1-based (they are read by people);
// row indices in the API are 0-based.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "nl/core/arith.hpp"
#include "nl/core/linalg.hpp"

namespace nl {

// ---------------------------------------------------------------- cells and columns

enum class ColumnType { Number, String, Bool };

// "number", "string" or "bool".
const char* type_name(ColumnType t) noexcept;

// One value: std::monostate marks a missing cell.
using Cell = std::variant<std::monostate, double, std::string, bool>;

class Column {
 public:
  // An empty number column with an empty name.
  Column() = default;

  // `missing` is empty (nothing missing) or has one entry per value (non-zero = missing).
  // The stored value of a missing cell is ignored. ValueError on a size mismatch.
  static Column numbers(std::string name, std::vector<double> values, std::vector<std::uint8_t> missing = {});
  static Column strings(std::string name, std::vector<std::string> values, std::vector<std::uint8_t> missing = {});
  static Column bools(std::string name, std::vector<std::uint8_t> values, std::vector<std::uint8_t> missing = {});
  // The type is that of the first non-missing cell (Number when all are missing);
  // a cell of another type is a ValueError naming its 1-based position.
  static Column from_cells(std::string name, const std::vector<Cell>& cells);
  // n copies of value (a missing value gives an all-missing number column).
  static Column filled(std::string name, const Cell& value, std::size_t n);

  const std::string& name() const noexcept { return name_; }
  ColumnType type() const noexcept { return type_; }
  std::size_t size() const noexcept { return missing_.size(); }
  std::size_t missing_count() const noexcept { return n_missing_; }

  // Unchecked element access (i < size()); the caller knows the type.
  bool is_missing(std::size_t i) const noexcept { return missing_[i] != 0; }
  double number(std::size_t i) const noexcept { return numbers_[i]; }
  const std::string& string(std::size_t i) const noexcept { return strings_[i]; }
  bool boolean(std::size_t i) const noexcept { return bools_[i] != 0; }
  // Number cells as doubles, Bool cells as 0/1 (ValueError for a String column).
  double numeric(std::size_t i) const;

  // Checked access: the cell at row i, ValueError when i >= size().
  Cell cell(std::size_t i) const;

  // Same data under another name.
  Column renamed(std::string name) const;
  // Rows in the given order; an index equal to npos gives a missing cell, any other
  // index >= size() is a ValueError.
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  Column take(const std::vector<std::size_t>& rows) const;

 private:
  std::string name_;
  ColumnType type_ = ColumnType::Number;
  std::vector<double> numbers_;
  std::vector<std::string> strings_;
  std::vector<std::uint8_t> bools_;
  std::vector<std::uint8_t> missing_;
  std::size_t n_missing_ = 0;
};

using ColumnPtr = std::shared_ptr<const Column>;

// ---------------------------------------------------------------- column operations

enum class CompareOp { Eq, Ne, Lt, Le, Gt, Ge };

// Elementwise arithmetic on number columns (missing propagates, IEEE otherwise). The
// result takes the name of the column operand (the left one when both are columns).
// ValueError for a non-number column or unequal lengths.
Column arith(const Column& a, const Column& b, ArithOp op);
Column arith(const Column& a, double b, ArithOp op);
Column arith(double a, const Column& b, ArithOp op);
Column negate(const Column& a);

// Elementwise comparison giving a Bool column; a missing operand gives a missing cell.
// Eq/Ne work on every type; ordering works on numbers and strings (bytewise). The
// value's type must match the column's (ValueError otherwise); a missing value is a
// ValueError (use is_missing to find missing cells).
Column compare(const Column& a, const Cell& value, CompareOp op);
Column compare(const Column& a, const Column& b, CompareOp op);
// Kleene logic on Bool columns (false and missing = false, true or missing = true).
Column logical_and(const Column& a, const Column& b);
Column logical_or(const Column& a, const Column& b);
Column logical_not(const Column& a);
// A Bool column, true where a is missing (never itself missing).
Column missing_mask(const Column& a);

// Reduction over the non-missing cells of a Number or Bool column (Bool as 0/1), with
// the conventions of nl::reduce_all: Std/Var divide by n - 1; Mean/Min/Max of no
// values and Std/Var of fewer than two are NaN; Sum of no values is 0.
double reduce(const Column& a, Reduction r);

// Distinct non-missing values in ascending order (numbers with NaN last, strings
// bytewise, false before true).
std::vector<Cell> unique(const Column& a);
// (value, count) for each distinct value in the order of unique(), followed by
// (std::monostate, count) when some cells are missing.
std::vector<std::pair<Cell, std::size_t>> value_counts(const Column& a);

// ---------------------------------------------------------------- tables

struct SortKey {
  std::string column;
  bool descending = false;
};

// A where() condition: the cell must equal one of `values` (std::monostate matches a
// missing cell).
struct Condition {
  std::string column;
  std::vector<Cell> values;
};

enum class JoinHow { Inner, Left };

struct JoinOptions {
  std::string left_key;
  std::string right_key;  // empty: same as left_key
  JoinHow how = JoinHow::Inner;
  std::string suffix = "_2";
};

class Table {
 public:
  std::size_t nrows() const noexcept { return nrows_; }
  std::size_t ncols() const noexcept { return columns_.size(); }
  const std::vector<ColumnPtr>& columns() const noexcept { return columns_; }
  std::vector<std::string> names() const;

  // The column with this name, or nullptr.
  const ColumnPtr* find(std::string_view name) const noexcept;
  // The column with this name; ValueError "no column 'x' in table (columns: a, b)".
  const ColumnPtr& column(std::string_view name) const;

  // Adds the column at the end, or replaces the column of the same name in place.
  // ValueError unless its length equals nrows() (any length is accepted while the
  // table has no columns).
  void set(ColumnPtr column);
  // Removes the named column; ValueError when there is none.
  void remove(std::string_view name);

  // The named columns in the given order (ValueError naming an unknown or repeated one).
  Table select(const std::vector<std::string>& names) const;
  // Rows in the given order (0-based; ValueError naming an index out of range).
  Table take(const std::vector<std::size_t>& rows) const;
  // Rows where the Bool column `mask` is true (missing counts as false). ValueError
  // unless mask is a Bool column of nrows() cells.
  Table filter(const Column& mask) const;
  // Rows that satisfy every condition (AND). ValueError for an unknown column or a
  // value whose type does not match the column's.
  Table where(const std::vector<Condition>& conditions) const;
  // Stable sort by the keys in order. Missing cells go last whatever the direction,
  // NaN just before them.
  Table sort(const std::vector<SortKey>& keys) const;
  // The first min(n, nrows()) rows.
  Table head(std::size_t n) const;
  // Many-to-one join: each row of this table gets the columns of the row of `right`
  // whose key equals its own. The right key must be unique among its non-missing
  // cells (ValueError naming the repeated value); keys are number or string columns of
  // the same type. Inner keeps matched rows only, Left keeps every row (unmatched
  // right cells missing). Result: all left columns, then the right columns except the
  // right key; a right name already taken gets `suffix` appended. Row order is the
  // left table's; a missing key matches nothing.
  Table join(const Table& right, const JoinOptions& options) const;

 private:
  // Adds a column whose name is not taken (no check).
  void append(ColumnPtr column);

  std::vector<ColumnPtr> columns_;
  // name -> position in columns_, so that a lookup does not scan every column (a
  // 200,000-column file was quadratic to read). The keys view the names of the columns
  // held in columns_, which are immutable and shared by every copy of the table.
  std::unordered_map<std::string_view, std::size_t> index_;
  std::size_t nrows_ = 0;
};

// The named columns (every column when `names` is empty) as an nrows x ncols matrix;
// Bool columns become 0/1. A String column is a ValueError naming it. A missing cell is
// a ValueError naming its column and row unless drop_missing, in which case rows with
// any missing cell are left out. `rows` lists the 0-based table rows kept.
struct TableMatrix {
  Matrix X;
  std::vector<std::size_t> rows;
};
TableMatrix to_matrix(const Table& table, const std::vector<std::string>& names, bool drop_missing);

// ---------------------------------------------------------------- text

// Aligned preview: header, a type row (<num>/<str>/<bool>), up to max_rows rows (first
// and last, "..." between), columns elided in the middle with "..." when wider than
// max_width, and a last line "[Table 99 rows x 10 columns]". Missing cells show as NA.
std::string format_table(const Table& table, int max_rows = 10, int max_width = 100);
// "Column 'age' <num>, 1112 rows, 3 missing" and the first values on a second line.
std::string format_column(const Column& column, int max_values = 10);
// One cell as the preview shows it (NA for missing, shortest round-trip numbers).
std::string format_cell(const Column& column, std::size_t row);

// ---------------------------------------------------------------- CSV / TSV

struct ReadOptions {
  // Field separator; 0 picks it from the extension (.tsv/.tab: tab; .csv: comma, or ';'
  // when the header has ';' and no ',', as spreadsheets in decimal-comma locales write) or,
  // for other names, sniffs the header line (tab if any, else ';' when there is ';'
  // and no ',', else ',').
  char sep = 0;
  // Decimal mark of number cells, '.' or ','; 0 picks ',' when the separator is ';' (the
  // spreadsheet convention of decimal-comma locales: "34,5" is 34.5) and '.' otherwise.
  // With ',' a cell holding '.' is not a number (no thousands separators).
  char decimal = 0;
  // Forced column types by name (a name not in the header is a FileError).
  std::map<std::string, ColumnType> types;
  // Cells (compared exactly, before any trimming) that mean missing.
  std::vector<std::string> na = {"", "NA", "n/a", "N/A"};
  // When not empty, a Number column of this name is added last holding the file line
  // (1-based) on which each row starts, for messages that point into the file; a name
  // already in the header is a FileError.
  std::string line_column;
};

// Reads a CSV/TSV file whose first row is the header. RFC 4180 quoting (separators,
// doubled quotes and newlines inside quotes), UTF-8 BOM, CRLF/LF/CR line ends, blank
// lines skipped. Column types are inferred unless forced: Bool when every non-missing
// cell is true/false/TRUE/FALSE/True/False, Number when every one parses fully as a
// double (surrounding spaces and a leading '+' allowed; NaN/inf are numbers), else
// String; an all-missing column is Number. Cells are read exactly (issue 17): a quoted
// cell is text, never missing (unless the file quotes every field, header included);
// a number column holding an integer with a leading zero or one a double cannot hold
// (beyond 2^53) is read as String, with one warning (nl::warn) per file naming the
// columns; a number beyond a double's range ("1e999") is a FileError. A FIFO or a
// device is refused before it is read (nl::read_file). Every failure is a FileError
// naming the file and, where it applies, the line and column.
Table read_table(const std::string& path, const ReadOptions& options = {});
// The same parser over text in memory; `name` stands for the file in messages.
Table parse_table(std::string_view text, const std::string& name, const ReadOptions& options = {});

struct WriteOptions {
  // Field separator; 0 picks tab for .tsv/.tab and comma otherwise.
  char sep = 0;
};

// The table as CSV/TSV text: a header line, then one line per row ending in "\n".
// Fields containing the separator, a quote, CR or LF are quoted, and so is every
// string cell that would read back as a number, a boolean, missing or nothing; numbers
// are shortest round-trip (all digits where that form would not read back exactly),
// NaN as "NaN", with a decimal comma when sep is ';'; missing cells are "n/a" with a
// tab separator (BIDS), "NA" in a one-column table and empty otherwise. parse_table
// reads the text back to the same types and values (an all-missing column as Number).
// ValueError for a table without columns.
std::string format_delimited(const Table& table, char sep);
// Writes format_delimited() atomically (nl::write_file_atomic: a hidden temporary file
// next to path, fsynced and renamed over it, the folder fsynced), so readers never see
// half a file. FileError naming path on failure (the temporary file is removed).
void write_table(const Table& table, const std::string& path, const WriteOptions& options = {});

namespace detail {
// s in single quotes for an error message: control bytes escaped, long text cut.
std::string quoted(std::string_view s);
}  // namespace detail

}  // namespace nl

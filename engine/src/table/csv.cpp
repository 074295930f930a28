// csv.cpp: reading and writing delimited text (CSV, TSV) as Tables.
//
// The reader takes any byte string without crashing: every access is bounds-checked,
// and every malformed input becomes a FileError naming the file, the 1-based line and,
// where it applies, the column.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <system_error>
#include <unordered_map>

#include "nl/core/core.hpp"
#include "nl/io/fileio.hpp"
#include "nl/io/provenance.hpp"
#include "nl/core/memory.hpp"
#include "nl/core/warnings.hpp"
#include "nl/table/table.hpp"

namespace nl {

namespace {

using detail::quoted;

// Lower-cased extension of the last path component, without the dot ("" if none).
std::string extension(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  const std::size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return {};
  std::string ext = path.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

bool is_tab_extension(const std::string& ext) { return ext == "tsv" || ext == "tab"; }

// ---------------------------------------------------------------- cells

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Overflow: the text is a number too large for a double ("1e999"), which would read as
// infinity, a value the file does not hold; the caller makes it an error.
enum class Parsed { No, Number, Overflow };

// Why by hand: std::from_chars is locale-independent and exact, but rejects a leading
// '+' and surrounding spaces, which spreadsheets do write.
Parsed parse_number(std::string_view s, double& out) {
  s = trim_blanks(s);
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
    if (!s.empty() && (s.front() == '+' || s.front() == '-')) return Parsed::No;
  }
  if (s.empty()) return Parsed::No;
  const char* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, out);
  if (ptr != end) return Parsed::No;
  if (ec == std::errc::result_out_of_range) {
    // Overflow or underflow: strtod gives +-HUGE_VAL (inf) or the nearest tiny value
    // (an underflow reads as that value or 0, as pandas and R read it).
    out = std::strtod(std::string(s).c_str(), nullptr);
    return std::isinf(out) ? Parsed::Overflow : Parsed::Number;
  }
  return ec == std::errc() ? Parsed::Number : Parsed::No;
}

// Why a number cell can make its column text: identifiers (participant ids, zip codes)
// must stay exact, and two readings lose what the file says: a leading zero ("007"
// would be 7) and an integer beyond 2^53 that a double cannot hold (9007199254740993
// would be ...992, colliding with another id). Returns why the integer literal s (v as
// parsed) is not exact as a number, or nullptr when it is (or s is no integer literal).
const char* inexact_integer(std::string_view s, double v) {
  s = trim_blanks(s);
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) s.remove_prefix(1);
  if (s.empty() || s.find_first_not_of("0123456789") != std::string_view::npos) return nullptr;
  if (s.size() > 1 && s.front() == '0') return "has a leading zero, which a number would drop";
  constexpr double kExact = 9007199254740992.0;  // 2^53: every integer up to it is a double
  if (std::fabs(v) < kExact) return nullptr;  // (...993 reads as 2^53 itself)
  if (fmt::format("{:.0f}", std::fabs(v)) != s)
    return "is an integer above 2^53 that a number (a double) cannot hold exactly";
  return nullptr;
}

bool parse_bool(std::string_view s, bool& out) {
  if (s == "true" || s == "TRUE" || s == "True") {
    out = true;
    return true;
  }
  if (s == "false" || s == "FALSE" || s == "False") {
    out = false;
    return true;
  }
  return false;
}

// ---------------------------------------------------------------- records

// Splits text into records of fields (RFC 4180), noting which fields were quoted. Line ends are LF, CRLF or a lone CR
// outside quotes; inside quotes they belong to the field. Text after a closing quote
// is kept (`"ab"c` is `abc`), and a quote inside an unquoted field is a literal quote,
// as Python's csv module does.
class RecordReader {
 public:
  enum class Status { Record, Blank, End, Unterminated };

  RecordReader(std::string_view text, char sep) : s_(text), sep_(sep) {}

  // Reads the next record into fields. line() is then its first line; on Unterminated,
  // bad_field() is the 0-based field whose quote never closes and bad_line() its line.
  Status next(std::vector<std::string>& fields, std::vector<std::uint8_t>& quoted) {
    fields.clear();
    quoted.clear();
    record_line_ = line_;
    if (pos_ >= s_.size()) return Status::End;
    if (at_line_end()) {
      skip_line_end();
      return Status::Blank;
    }
    for (;;) {
      std::string field;
      const bool in_quotes = pos_ < s_.size() && s_[pos_] == '"';
      if (in_quotes) {
        bad_line_ = line_;
        ++pos_;
        bool closed = false;
        while (pos_ < s_.size()) {
          const char c = s_[pos_];
          if (c == '"') {
            if (pos_ + 1 < s_.size() && s_[pos_ + 1] == '"') {
              field += '"';
              pos_ += 2;
              continue;
            }
            ++pos_;
            closed = true;
            break;
          }
          if (c == '\n' || (c == '\r' && !(pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n'))) ++line_;
          field += c;
          ++pos_;
        }
        if (!closed) {
          bad_field_ = fields.size();
          return Status::Unterminated;
        }
      }
      const std::size_t start = pos_;
      while (pos_ < s_.size() && s_[pos_] != sep_ && !at_line_end()) ++pos_;
      field.append(s_.substr(start, pos_ - start));
      fields.push_back(std::move(field));
      quoted.push_back(in_quotes);
      if (pos_ >= s_.size()) return Status::Record;
      if (s_[pos_] == sep_) {
        ++pos_;
        continue;
      }
      skip_line_end();
      return Status::Record;
    }
  }

  std::size_t line() const noexcept { return record_line_; }
  std::size_t bad_field() const noexcept { return bad_field_; }
  std::size_t bad_line() const noexcept { return bad_line_; }

 private:
  bool at_line_end() const noexcept { return s_[pos_] == '\n' || s_[pos_] == '\r'; }
  void skip_line_end() noexcept {
    if (s_[pos_] == '\r' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }

  std::string_view s_;
  char sep_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  std::size_t record_line_ = 1;
  std::size_t bad_field_ = 0;
  std::size_t bad_line_ = 1;
};

// Why sniff only the first line: the header decides the shape of the file, and a
// separator inside a quoted data cell must not change the guess.
char sniff_separator(std::string_view text) {
  const std::string_view header = text.substr(0, text.find_first_of("\r\n"));
  if (header.find('\t') != std::string_view::npos) return '\t';
  if (header.find(';') != std::string_view::npos && header.find(',') == std::string_view::npos) return ';';
  return ',';
}

void check_separator(char sep) {
  if (sep == '"' || sep == '\n' || sep == '\r' || sep == '\0')
    throw ValueError(fmt::format("separator {} cannot be used", quoted(std::string_view(&sep, 1))));
}

// A number written with a decimal comma ("34,5"); a cell with '.' is not one.
Parsed parse_decimal_comma(std::string_view s, double& out) {
  if (s.find('.') != std::string_view::npos) return Parsed::No;
  std::string t(s);
  std::replace(t.begin(), t.end(), ',', '.');
  return parse_number(t, out);
}

// ---------------------------------------------------------------- columns

struct RawColumn {
  std::string name;
  std::vector<std::string> cells;
  std::vector<std::uint8_t> quoted;  // per cell: written in quotes, so text (see parse_table)
};

// A column read as text although every cell is a number (inexact_integer).
struct KeptAsText {
  std::string column, cell, reason;
  std::size_t line;
};

// Builds a typed column from its raw cells (see read_table for the inference rules).
// lines[i] is the line of row i, for messages about a forced type. A quoted cell is
// text: never missing, and it makes an inferred column a string column. A column that
// would be numbers but for inexact_integer is text, noted in *kept.
ColumnPtr build_column(RawColumn& raw, const std::vector<std::size_t>& lines, const ColumnType* forced,
                       const ReadOptions& options, char decimal, const std::string& file,
                       std::vector<KeptAsText>& kept) {
  const std::size_t n = raw.cells.size();
  std::vector<std::uint8_t> missing(n, 0);
  std::size_t present = 0;
  bool any_quoted = false;
  for (std::size_t i = 0; i < n; ++i) {
    const bool q = !raw.quoted.empty() && raw.quoted[i];
    any_quoted |= q;
    missing[i] = !q && std::find(options.na.begin(), options.na.end(), raw.cells[i]) != options.na.end();
    present += !missing[i];
  }
  // Fails for a forced type, or returns false to let inference try the next type.
  auto reject = [&](std::size_t i, const char* what) {
    if (forced)
      throw FileError(fmt::format("{}:{}: column {}: {} is not {}", file, lines[i], quoted(raw.name),
                                  quoted(raw.cells[i]), what));
    return false;
  };
  auto as_bools = [&](std::vector<std::uint8_t>& v) {
    v.assign(n, 0);
    bool b = false;
    for (std::size_t i = 0; i < n; ++i) {
      if (missing[i]) continue;
      if (!parse_bool(raw.cells[i], b)) return reject(i, "a boolean (true or false)");
      v[i] = b;
    }
    return true;
  };
  std::size_t overflow = n, inexact = n;
  const char* why_inexact = nullptr;
  auto as_numbers = [&](std::vector<double>& v) {
    v.assign(n, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      if (missing[i]) continue;
      const Parsed p = decimal == ',' ? parse_decimal_comma(raw.cells[i], v[i]) : parse_number(raw.cells[i], v[i]);
      if (p == Parsed::No) return reject(i, "a number");
      if (p == Parsed::Overflow && overflow == n) overflow = i;
      if (!forced && inexact == n)
        if (const char* why = inexact_integer(raw.cells[i], v[i])) {
          inexact = i;
          why_inexact = why;
        }
    }
    return true;
  };
  auto as_strings = [&] {
    return std::make_shared<const Column>(Column::strings(raw.name, std::move(raw.cells), std::move(missing)));
  };
  if (!forced && any_quoted) return as_strings();
  const ColumnType type = forced ? *forced : ColumnType::Number;
  if (type == ColumnType::Bool || (!forced && present > 0)) {
    std::vector<std::uint8_t> v;
    if (as_bools(v)) return std::make_shared<const Column>(Column::bools(raw.name, std::move(v), std::move(missing)));
  }
  if (type == ColumnType::Number) {
    std::vector<double> v;
    if (as_numbers(v)) {
      if (inexact < n) {
        kept.push_back({raw.name, raw.cells[inexact], why_inexact, lines[inexact]});
        return as_strings();
      }
      if (overflow < n)
        throw FileError(fmt::format("{}:{}: column {}: {} is too large for a number (beyond +-1.8e308; it would "
                                    "read as infinity)",
                                    file, lines[overflow], quoted(raw.name), quoted(raw.cells[overflow])));
      return std::make_shared<const Column>(Column::numbers(raw.name, std::move(v), std::move(missing)));
    }
  }
  return as_strings();
}

// One warning per file for the columns read as text to keep them exact.
void warn_kept_as_text(const std::vector<KeptAsText>& kept, const std::string& file) {
  if (kept.empty()) return;
  std::string list;
  constexpr std::size_t shown = 3;
  for (std::size_t k = 0; k < kept.size() && k < shown; ++k)
    list += fmt::format("{}column {}: {} (line {}) {}", k ? "; " : "", quoted(kept[k].column), quoted(kept[k].cell),
                        kept[k].line, kept[k].reason);
  if (kept.size() > shown) list += fmt::format("; and {} more columns", kept.size() - shown);
  warn(fmt::format("{}: {} read as text, not numbers, to keep {} exact: {}. To read numbers anyway, force the "
                   "type: types = {{[\"{}\"] = \"number\"}}",
                   file, kept.size() == 1 ? "a column is" : fmt::format("{} columns are", kept.size()),
                   kept.size() == 1 ? "it" : "them", list, kept.front().column));
}

// Refuses text whose table would not fit the memory budget, before any cell is built.
// The estimate is an upper bound on the peak: the text itself, and per field (every
// separator or line end starts one) a raw std::string cell plus a typed value, a
// missing flag, a quoted flag and a line number; long cells' own bytes are at most the text again.
void check_budget(std::string_view text, char sep, const std::string& name) {
  std::size_t fields = 1;
  for (char c : text) fields += (c == sep) | (c == '\n') | (c == '\r');
  const long double need = 2.0L * text.size() + static_cast<long double>(fields) *
                                                    (sizeof(std::string) + sizeof(double) + 2 + sizeof(std::size_t));
  const std::uint64_t budget = memory_budget();
  if (need > static_cast<long double>(budget))
    throw FileError(fmt::format("{}: reading this table ({} bytes, up to {} cells) would need about {} of memory, "
                                "more than the budget of {} (see nl.memory_budget)",
                                name, text.size(), fields, format_bytes(static_cast<double>(need)),
                                format_bytes(static_cast<double>(budget))));
}

}  // namespace

// ---------------------------------------------------------------- reading

Table parse_table(std::string_view text, const std::string& name, const ReadOptions& options) {
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  if (text.empty()) throw FileError(fmt::format("{}: empty file", name));
  const char sep = options.sep ? options.sep : sniff_separator(text);
  check_separator(sep);
  const char decimal = options.decimal ? options.decimal : sep == ';' ? ',' : '.';
  if (decimal != '.' && decimal != ',')
    throw ValueError(fmt::format("decimal mark {} cannot be used (use '.' or ',')", quoted(std::string_view(&decimal, 1))));
  if (decimal == sep) throw ValueError("the decimal mark and the separator are both ','");
  check_budget(text, sep, name);

  RecordReader reader(text, sep);
  std::vector<std::string> fields;
  std::vector<std::uint8_t> field_quoted;
  std::vector<RawColumn> raw;
  // Field k of the current record as a column label for messages.
  auto column_label = [&](std::size_t k) {
    return k < raw.size() ? quoted(raw[k].name) : fmt::format("{}", k + 1);
  };

  RecordReader::Status st = reader.next(fields, field_quoted);
  if (st == RecordReader::Status::Blank || st == RecordReader::Status::End)
    throw FileError(fmt::format("{}: empty header", name));
  if (st == RecordReader::Status::Unterminated)
    throw FileError(fmt::format("{}:{}: unterminated quoted field starting in column {} of the header", name,
                                reader.bad_line(), reader.bad_field() + 1));
  // Quotes mark text (R's write.csv and Python's QUOTE_NONNUMERIC quote text only; this
  // writer quotes text that would read as something else), unless the file quotes every
  // field, as some exporters do: then they say nothing about types. Such a file is
  // recognised by a header whose every field is quoted, one at least without need.
  bool header_quoted = true, needless = false;
  const std::string special{sep, '"', '\n', '\r'};
  for (std::size_t k = 0; k < fields.size(); ++k) {
    header_quoted &= field_quoted[k] != 0;
    needless |= field_quoted[k] && fields[k].find_first_of(special) == std::string::npos &&
                fields[k].compare(0, 3, "\xEF\xBB\xBF") != 0;
  }
  bool data_all_quoted = true;
  std::unordered_map<std::string, std::size_t> position;
  position.reserve(fields.size());
  for (std::size_t k = 0; k < fields.size(); ++k) {
    std::string col = fields[k].empty() ? fmt::format("column{}", k + 1) : std::move(fields[k]);
    auto [it, fresh] = position.emplace(col, k);
    if (!fresh)
      throw FileError(fmt::format("{}: duplicate column name {} (columns {} and {})", name, quoted(col),
                                  it->second + 1, k + 1));
    raw.push_back({std::move(col), {}, {}});
  }
  for (const auto& [col, type] : options.types)
    if (!position.count(col))
      throw FileError(fmt::format("{}: option types names column {}, which is not in the header", name, quoted(col)));
  if (!options.line_column.empty() && position.count(options.line_column))
    throw FileError(fmt::format("{}: option line_column names column {}, which is already in the header", name,
                                quoted(options.line_column)));

  std::vector<std::size_t> lines;
  while ((st = reader.next(fields, field_quoted)) != RecordReader::Status::End) {
    check_interrupt();  // an atomic load per record
    if (st == RecordReader::Status::Blank) continue;
    if (st == RecordReader::Status::Unterminated)
      throw FileError(fmt::format("{}:{}: unterminated quoted field starting in column {}", name, reader.bad_line(),
                                  column_label(reader.bad_field())));
    if (fields.size() != raw.size())
      throw FileError(fmt::format("{}:{}: row has {} field{}, header has {}", name, reader.line(), fields.size(),
                                  fields.size() == 1 ? "" : "s", raw.size()));
    for (std::size_t k = 0; k < fields.size(); ++k) {
      data_all_quoted &= field_quoted[k] || fields[k].empty();
      raw[k].cells.push_back(std::move(fields[k]));
      raw[k].quoted.push_back(field_quoted[k]);
    }
    lines.push_back(reader.line());
  }
  if (header_quoted && needless && data_all_quoted)
    for (auto& col : raw) col.quoted = {};

  Table table;
  std::vector<KeptAsText> kept;
  for (std::size_t k = 0; k < raw.size(); ++k) {
    if (k % 256 == 255) check_interrupt();
    RawColumn& col = raw[k];
    const auto it = options.types.find(col.name);
    table.set(build_column(col, lines, it == options.types.end() ? nullptr : &it->second, options, decimal, name,
                           kept));
    col = RawColumn{};  // its cells now live in the column
  }
  warn_kept_as_text(kept, name);
  if (!options.line_column.empty())
    table.set(std::make_shared<const Column>(
        Column::numbers(options.line_column, std::vector<double>(lines.begin(), lines.end()))));
  return table;
}

Table read_table(const std::string& path, const ReadOptions& options) {
  // read_file refuses what is not a regular file and a file over the memory budget
  // before reading it (after the sandbox check, so the size of a file outside it is
  // never reported).
  const std::string text = read_file(path);
  record_input(path, text);
  ReadOptions opts = options;
  if (!opts.sep) {
    const std::string ext = extension(path);
    if (is_tab_extension(ext)) opts.sep = '\t';
    else if (ext == "csv") opts.sep = sniff_separator(text) == ';' ? ';' : ',';  // Excel in decimal-comma locales
  }
  return parse_table(text, path, opts);
}

// ---------------------------------------------------------------- writing

namespace {

// A field as written: quoted (with doubled quotes) when `text_cell` (a string cell
// that would read back as a number, a boolean or missing: "12", "true", "NA", ""), when
// it holds the separator, a quote or a line end, or when `first` (the file's first
// field) starts with a UTF-8 byte order mark, which the reader would otherwise strip
// (found by fuzz_table).
void append_field(std::string& out, std::string_view s, char sep, bool first = false, bool text_cell = false) {
  const bool bom = first && s.substr(0, 3) == "\xEF\xBB\xBF";
  if (!bom && !text_cell && s.find_first_of(std::string{sep, '"', '\n', '\r'}) == std::string_view::npos) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

// True when the reader would not take s, unquoted, as text in a column of text: a
// number (either decimal mark), a boolean, a default missing-value mark or nothing.
bool reads_as_other_than_text(const std::string& s) {
  static const std::vector<std::string> na = ReadOptions{}.na;
  double x = 0;
  bool b = false;
  return s.empty() || std::find(na.begin(), na.end(), s) != na.end() || parse_bool(s, b) ||
         parse_number(s, x) != Parsed::No || parse_decimal_comma(s, x) != Parsed::No;
}

// A number as the reader reads it back to the same double: shortest round-trip digits,
// all digits when those are an integer literal the reader would not take as exact, the
// decimal mark of the separator (',' with ';').
std::string number_text(double x, char decimal) {
  if (std::isnan(x)) return "NaN";
  std::string t = fmt::format("{}", x);
  if (inexact_integer(t, x)) t = fmt::format("{:.0f}", x);
  if (decimal == ',') std::replace(t.begin(), t.end(), '.', ',');
  return t;
}

std::string cell_text(const Column& c, std::size_t i, const std::string& na, char decimal) {
  if (c.is_missing(i)) return na;
  switch (c.type()) {
    case ColumnType::Number: return number_text(c.number(i), decimal);
    case ColumnType::String: return c.string(i);
    case ColumnType::Bool: return c.boolean(i) ? "true" : "false";
  }
  return {};
}

}  // namespace

std::string format_delimited(const Table& table, char sep) {
  check_separator(sep);
  if (table.ncols() == 0) throw ValueError("cannot write a table without columns");
  // A lone empty field would be a blank line, which readers skip: a one-column table
  // marks its missing cells NA.
  const std::string na = sep == '\t' ? "n/a" : table.ncols() == 1 ? "NA" : "";
  const char decimal = sep == ';' ? ',' : '.';  // what the reader assumes (ReadOptions::decimal)
  const auto& cols = table.columns();
  std::string out;
  for (std::size_t j = 0; j < cols.size(); ++j) {
    if (j) out += sep;
    append_field(out, cols[j]->name(), sep, j == 0);
  }
  out += '\n';
  for (std::size_t i = 0; i < table.nrows(); ++i) {
    for (std::size_t j = 0; j < cols.size(); ++j) {
      if (j) out += sep;
      const Column& c = *cols[j];
      const std::string text = cell_text(c, i, na, decimal);
      append_field(out, text, sep, false,
                   c.type() == ColumnType::String && !c.is_missing(i) && reads_as_other_than_text(text));
    }
    out += '\n';
  }
  return out;
}

void write_table(const Table& table, const std::string& path, const WriteOptions& options) {
  const char sep = options.sep ? options.sep : (is_tab_extension(extension(path)) ? '\t' : ',');
  write_file_atomic(path, format_delimited(table, sep));
}

}  // namespace nl

// fuzz_table.cpp: the CSV/TSV reader (nl::parse_table) on arbitrary bytes.
//
// The first byte picks the options (separator sniffed or forced, a forced column
// type); the rest is the file. A table that parses must survive a round trip: written
// with format_delimited and read again, it keeps its shape, column names, types and
// every value.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_common.hpp"
#include "nl/core/core.hpp"
#include "nl/table/table.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nl::fuzz::setup();
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  nl::ReadOptions options;
  constexpr char kSeps[] = {0, ',', '\t', ';'};
  options.sep = kSeps[mode & 3];
  // Force the type of a column named "a" (the file may or may not have one).
  if (mode & 4) options.types["a"] = (mode & 8) ? nl::ColumnType::Number : nl::ColumnType::Bool;
  nl::Table t;
  try {
    t = nl::parse_table(text, "<fuzz>", options);
  } catch (const nl::Error&) {
    return 0;
  }
  // Matrix conversion of whatever parsed: only nl::Error may come out.
  try {
    (void)nl::to_matrix(t, {}, true);
  } catch (const nl::Error&) {
  }
  const char sep = options.sep ? options.sep : ',';
  const std::string again = nl::format_delimited(t, sep);
  nl::ReadOptions plain;
  plain.sep = sep;
  const nl::Table u = nl::parse_table(again, "<round trip>", plain);
  nl::fuzz::require(u.ncols() == t.ncols(), "round trip keeps the number of columns");
  nl::fuzz::require(u.nrows() == t.nrows(), "round trip keeps the number of rows");
  nl::fuzz::require(u.names() == t.names(), "round trip keeps the column names");
  // ... and every cell with its type (issue 17: "12" and "NA" written as text stay
  // text). A column without any value has no type to keep; the reader makes it numbers.
  for (std::size_t j = 0; j < t.ncols(); ++j) {
    const nl::Column& a = *t.columns()[j];
    const nl::Column& b = *u.columns()[j];
    if (a.missing_count() == a.size()) {
      nl::fuzz::require(b.missing_count() == b.size(), "round trip keeps an empty column empty");
      continue;
    }
    nl::fuzz::require(a.type() == b.type(), "round trip keeps the column types");
    for (std::size_t i = 0; i < t.nrows(); ++i) {
      nl::fuzz::require(a.is_missing(i) == b.is_missing(i), "round trip keeps missing cells");
      if (a.is_missing(i)) continue;
      if (a.type() == nl::ColumnType::Number && a.number(i) != a.number(i))
        nl::fuzz::require(b.number(i) != b.number(i), "round trip keeps NaN");
      else
        nl::fuzz::require(a.cell(i) == b.cell(i), "round trip keeps every value");
    }
  }
  return 0;
}

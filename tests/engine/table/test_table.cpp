// tests/engine/table/test_table.cpp: nl::Table, CSV/TSV reading and writing, table operations.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/core/warnings.hpp"
#include "nl/table/table.hpp"

using nl::Cell;
using nl::Column;
using nl::ColumnType;
using nl::Table;

namespace {

const std::string data_dir = std::string(NL_TEST_DATA) + "/csv/";

// The message of the nl::FileError thrown by f (fails the test if none is thrown).
template <class F>
std::string file_error(F&& f) {
  try {
    f();
  } catch (const nl::FileError& e) {
    return e.what();
  }
  FAIL("no FileError thrown");
  return {};
}

template <class F>
std::string value_error(F&& f) {
  try {
    f();
  } catch (const nl::ValueError& e) {
    return e.what();
  }
  FAIL("no ValueError thrown");
  return {};
}

Table parse(const std::string& text, const nl::ReadOptions& o = {}) { return nl::parse_table(text, "t.csv", o); }

const Column& col(const Table& t, const std::string& name) { return *t.column(name); }

// A fresh empty directory, removed (with its files) when the test ends.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/nl_table_test_XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    for (const auto& f : files()) std::remove((path + "/" + f).c_str());
    rmdir(path.c_str());
  }
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    if (DIR* d = opendir(path.c_str())) {
      while (dirent* e = readdir(d))
        if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") out.push_back(e->d_name);
      closedir(d);
    }
    return out;
  }
};

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

Table people() {
  Table t;
  t.set(std::make_shared<const Column>(Column::numbers("id", {1, 2, 3, 4, 5})));
  t.set(std::make_shared<const Column>(
      Column::strings("group", {"a", "b", "a", "", "b"}, {0, 0, 0, 1, 0})));
  t.set(std::make_shared<const Column>(Column::numbers("age", {30, 25, 30, 40, 0}, {0, 0, 0, 0, 1})));
  return t;
}

}  // namespace

// ---------------------------------------------------------------- parsing

TEST_CASE("quoted fields hold separators, doubled quotes and newlines", "[table]") {
  const Table t = parse("id,name,note\n1,\"Smith, John\",\"said \"\"hi\"\"\"\n2,\"two\nlines\",x\n3,a,\"\"\"\"\n");
  REQUIRE(t.nrows() == 3);
  REQUIRE(t.ncols() == 3);
  CHECK(col(t, "name").string(0) == "Smith, John");
  CHECK(col(t, "note").string(0) == "said \"hi\"");
  CHECK(col(t, "name").string(1) == "two\nlines");
  CHECK(col(t, "note").string(2) == "\"");
  // A line count that includes the newline inside quotes: the ragged row is on line 4.
  CHECK(file_error([] { parse("a,b\n\"x\ny\",1\n1,2,3\n"); }) == "t.csv:4: row has 3 fields, header has 2");
}

TEST_CASE("text after a closing quote and stray quotes are kept", "[table]") {
  const Table t = parse("a,b\n\"ab\"c,x\"y\n");
  CHECK(col(t, "a").string(0) == "abc");
  CHECK(col(t, "b").string(0) == "x\"y");
}

TEST_CASE("BOM, CRLF, lone CR, no final newline, blank lines", "[table]") {
  const Table t = parse("\xEF\xBB\xBFx,y\r\n1,a\r\n\r\n2,b\r3,c");
  REQUIRE(t.names() == std::vector<std::string>{"x", "y"});
  REQUIRE(t.nrows() == 3);
  CHECK(col(t, "x").number(2) == 3);
  CHECK(col(t, "y").string(2) == "c");
  const Table u = parse("x\n1\n2\n\n\n\n");
  CHECK(u.nrows() == 2);
  // The fixture: BOM + CRLF + quotes + no final newline.
  const Table q = nl::read_table(data_dir + "quoted.csv");
  REQUIRE(q.nrows() == 3);
  CHECK(q.names() == std::vector<std::string>{"id", "name", "note"});
  CHECK(col(q, "name").string(0) == "Smith, John");
  CHECK(col(q, "note").string(1) == "two\r\nlines");
  // A quoted "" is the empty string, an unquoted NA is missing (issue 17).
  CHECK_FALSE(col(q, "name").is_missing(2));
  CHECK(col(q, "name").string(2) == "");
  CHECK(col(q, "note").is_missing(2));
}

TEST_CASE("missing markers, NaN and inf are numbers", "[table]") {
  const Table t = parse("v,w\n1,NA\nNaN,n/a\n,N/A\ninf,\n-inf,x\nnan,y\n");
  const Column& v = col(t, "v");
  REQUIRE(v.type() == ColumnType::Number);
  CHECK(v.missing_count() == 1);
  CHECK(std::isnan(v.number(1)));
  CHECK_FALSE(v.is_missing(1));
  CHECK(v.is_missing(2));
  CHECK(v.number(3) == std::numeric_limits<double>::infinity());
  CHECK(v.number(4) == -std::numeric_limits<double>::infinity());
  CHECK(col(t, "w").missing_count() == 4);

  nl::ReadOptions o;
  o.na = {"-9999"};
  const Table u = parse("a,b\n-9999,NA\n2,\n", o);
  CHECK(col(u, "a").type() == ColumnType::Number);
  CHECK(col(u, "a").is_missing(0));
  CHECK(col(u, "b").type() == ColumnType::String);  // "NA" is text now
  CHECK(col(u, "b").string(0) == "NA");
  CHECK(col(u, "b").string(1) == "");
}

TEST_CASE("type inference", "[table]") {
  const Table t = parse(
      "b,n,s,m,e,z\n"
      "true,+1.5, x ,1,,1\n"
      "FALSE, 2 ,y,two,,0\n"
      "True,-3e2,z,3,NA,1\n");
  CHECK(col(t, "b").type() == ColumnType::Bool);
  CHECK(col(t, "b").boolean(0));
  CHECK_FALSE(col(t, "b").boolean(1));
  CHECK(col(t, "n").type() == ColumnType::Number);
  CHECK(col(t, "n").number(0) == 1.5);
  CHECK(col(t, "n").number(1) == 2);
  CHECK(col(t, "n").number(2) == -300);
  CHECK(col(t, "s").type() == ColumnType::String);
  CHECK(col(t, "s").string(0) == " x ");  // strings keep their spaces
  CHECK(col(t, "m").type() == ColumnType::String);
  CHECK(col(t, "e").type() == ColumnType::Number);  // all missing
  CHECK(col(t, "e").missing_count() == 3);
  CHECK(col(t, "z").type() == ColumnType::Number);  // 0/1 are numbers, not booleans
  // Not numbers: "++1", "1e", "0x10", "1,5".
  for (const char* cell : {"++1", "+-1", "1e", "0x10", "1 2", "+"}) {
    const Table u = parse(std::string("a\n") + cell + "\n");
    CHECK(col(u, "a").type() == ColumnType::String);
  }
  // Overflow is an error (issue 17: infinity is not the number the file holds);
  // underflow reads as the nearest double, as pandas and R read it.
  CHECK(file_error([] { nl::parse_table("id,a\n1,2\n2,1e999\n", "x.csv"); }) ==
        "x.csv:3: column 'a': '1e999' is too large for a number (beyond +-1.8e308; it would read as infinity)");
  CHECK(file_error([] { nl::parse_table("a\n-1e400\n", "x.csv"); }).find("'-1e400' is too large") !=
        std::string::npos);
  CHECK(col(parse("a\n1e-999\n"), "a").number(0) == 0.0);
  // In a column of text it is text.
  CHECK(col(parse("a\n1e999\nxyz\n"), "a").string(0) == "1e999");
}

TEST_CASE("forced column types", "[table]") {
  nl::ReadOptions o;
  o.types = {{"id", ColumnType::String}, {"flag", ColumnType::Bool}};
  const Table t = parse("id,flag,x\n007,true,1\n010,,2\n", o);
  CHECK(col(t, "id").type() == ColumnType::String);
  CHECK(col(t, "id").string(0) == "007");
  CHECK(col(t, "flag").type() == ColumnType::Bool);
  CHECK(col(t, "flag").is_missing(1));

  nl::ReadOptions num;
  num.types = {{"age", ColumnType::Number}};
  CHECK(file_error([&] { nl::parse_table("id,age\n1,30\n2,thirty\n", "x.csv", num); }) ==
        "x.csv:3: column 'age': 'thirty' is not a number");
  nl::ReadOptions bad;
  bad.types = {{"agee", ColumnType::Number}};
  CHECK(file_error([&] { nl::parse_table("id,age\n1,30\n", "x.csv", bad); }) ==
        "x.csv: option types names column 'agee', which is not in the header");
}

TEST_CASE("malformed files raise FileError naming file, line and column", "[table]") {
  CHECK(file_error([] { nl::read_table(data_dir + "ragged.tsv"); }) ==
        data_dir + "ragged.tsv:3: row has 4 fields, header has 5");
  CHECK(file_error([] { nl::read_table(data_dir + "unterminated.csv"); }) ==
        data_dir + "unterminated.csv:2: unterminated quoted field starting in column 'name'");
  CHECK(file_error([] { nl::read_table(data_dir + "duplicate.csv"); }) ==
        data_dir + "duplicate.csv: duplicate column name 'age' (columns 2 and 5)");
  CHECK(file_error([] { nl::read_table(data_dir + "empty.csv"); }) == data_dir + "empty.csv: empty file");
  CHECK(file_error([] { nl::read_table(data_dir + "missing.csv"); }) ==
        data_dir + "missing.csv: cannot open file (No such file or directory)");
  CHECK(file_error([] { nl::parse_table("\n1,2\n", "x.csv"); }) == "x.csv: empty header");
  CHECK(file_error([] { nl::parse_table("\xEF\xBB\xBF", "x.csv"); }) == "x.csv: empty file");
  CHECK(file_error([] { nl::parse_table("a,\"b\n", "x.csv"); }) ==
        "x.csv:1: unterminated quoted field starting in column 2 of the header");
  CHECK(file_error([] { nl::parse_table("a,b\n1\n", "x.csv"); }) == "x.csv:2: row has 1 field, header has 2");
  CHECK(file_error([] { nl::read_table(data_dir); }).find("is a directory, not a file") != std::string::npos);
}

TEST_CASE("empty header names are numbered", "[table]") {
  const Table t = parse("\"\",a\n1,2\n");
  CHECK(t.names() == std::vector<std::string>{"column1", "a"});
}

TEST_CASE("separator from extension, option or sniffing", "[table]") {
  const Table tsv = nl::read_table(data_dir + "participants.tsv");
  CHECK(tsv.ncols() == 5);
  CHECK(tsv.nrows() == 5);
  CHECK(col(tsv, "age").is_missing(1));
  CHECK(col(tsv, "responder").type() == ColumnType::Bool);
  const Table semi = nl::read_table(data_dir + "semicolon.txt");
  REQUIRE(semi.names() == std::vector<std::string>{"x", "y"});
  // with ';' the decimal mark is ',' (issue 16: spreadsheets of decimal-comma locales)
  REQUIRE(col(semi, "x").type() == ColumnType::Number);
  CHECK(col(semi, "x").number(0) == 1.5);
  CHECK(col(semi, "x").number(1) == 2.0);
  nl::ReadOptions point;
  point.decimal = '.';
  const Table text = nl::read_table(data_dir + "semicolon.txt", point);
  REQUIRE(col(text, "x").type() == ColumnType::String);
  CHECK(col(text, "x").string(0) == "1,5");  // decimal commas stay text when '.' is asked
  nl::ReadOptions o;
  o.sep = '|';
  CHECK(parse("a|b\n1|2\n", o).ncols() == 2);
  CHECK(parse("a\tb,c\n1\t2,3\n").names() == std::vector<std::string>{"a", "b,c"});
}

TEST_CASE("line_column: the file line each row starts on", "[table]") {
  nl::ReadOptions o;
  o.line_column = "line";
  // blank lines and a quoted line break are counted
  const Table t = parse("id,note\n\na,x\nb,\"two\nlines\"\n\r\nc,y\n", o);
  REQUIRE(t.names() == std::vector<std::string>{"id", "note", "line"});
  CHECK(col(t, "line").number(0) == 3);
  CHECK(col(t, "line").number(1) == 4);
  CHECK(col(t, "line").number(2) == 7);
  o.line_column = "note";
  CHECK_THROWS_WITH(parse("id,note\na,x\n", o), Catch::Contains("already in the header"));
}

TEST_CASE("parsing arbitrary bytes never crashes", "[table]") {
  // Deterministic fuzzing over an alphabet of the characters the parser cares about.
  const char alphabet[] = {',', '\t', ';', '"', '\n', '\r', 'a', '1', '.', '-', '+', 'e', ' ', '\0', '\xEF',
                           '\xBB', '\xBF', 'N', 'A', 'n'};
  nl::Rng rng(7);
  int parsed = 0, rejected = 0;
  for (int k = 0; k < 20000; ++k) {
    std::string s(rng.below(40), ' ');
    for (char& c : s) c = alphabet[rng.below(sizeof alphabet)];
    try {
      const Table t = nl::parse_table(s, "fuzz.csv");
      for (const auto& c : t.columns()) REQUIRE(c->size() == t.nrows());
      (void)nl::format_table(t);
      ++parsed;
    } catch (const nl::FileError&) {
      ++rejected;
    }
  }
  CHECK(parsed > 1000);
  CHECK(rejected > 1000);
}

// ---------------------------------------------------------------- writing

TEST_CASE("write then read gives the same table", "[table]") {
  Table t;
  t.set(std::make_shared<const Column>(Column::numbers(
      "x", {0.1, 1e300, -0.0, std::nan(""), std::numeric_limits<double>::infinity(), 42}, {0, 0, 0, 0, 0, 0})));
  t.set(std::make_shared<const Column>(
      Column::strings("s, with \"quotes\"", {"a,b", "say \"hi\"", "two\nlines", "tab\there", "", "plain"},
                      {0, 0, 0, 0, 1, 0})));
  t.set(std::make_shared<const Column>(Column::bools("b", {1, 0, 1, 0, 1, 0}, {0, 0, 1, 0, 0, 0})));
  TempDir dir;
  for (const char* name : {"/out.csv", "/out.tsv"}) {
    const std::string path = dir.path + name;
    nl::write_table(t, path);
    const Table u = nl::read_table(path);
    REQUIRE(u.names() == t.names());
    REQUIRE(u.nrows() == t.nrows());
    for (std::size_t j = 0; j < t.ncols(); ++j) {
      const Column& a = *t.columns()[j];
      const Column& b = *u.columns()[j];
      REQUIRE(a.type() == b.type());
      for (std::size_t i = 0; i < t.nrows(); ++i) {
        REQUIRE(a.is_missing(i) == b.is_missing(i));
        if (a.is_missing(i)) continue;
        if (a.type() == ColumnType::Number) {
          if (std::isnan(a.number(i))) CHECK(std::isnan(b.number(i)));
          else CHECK(a.number(i) == b.number(i));
        } else {
          CHECK(nl::format_cell(a, i) == nl::format_cell(b, i));
        }
      }
    }
  }
  CHECK(std::signbit(col(nl::read_table(dir.path + "/out.csv"), "x").number(2)));
  // The text itself: BIDS n/a in TSV, empty in CSV, NaN spelled out.
  const std::string tsv = slurp(dir.path + "/out.tsv");
  CHECK(tsv.find("\tn/a\n") != std::string::npos);
  CHECK(tsv.find("NaN\t") != std::string::npos);
  CHECK(slurp(dir.path + "/out.csv").find("0.1,\"a,b\",true\n") != std::string::npos);
  // Atomic write: only the two tables remain in the directory, no temporary files.
  auto files = dir.files();
  std::sort(files.begin(), files.end());
  CHECK(files == std::vector<std::string>{"out.csv", "out.tsv"});
}

TEST_CASE("a one-column table with an empty cell round-trips", "[table]") {
  Table t;
  t.set(std::make_shared<const Column>(Column::numbers("x", {1, 0, 3}, {0, 1, 0})));
  const std::string text = nl::format_delimited(t, ',');
  CHECK(text == "x\n1\nNA\n3\n");
  const Table u = nl::parse_table(text, "x.csv");
  CHECK(u.nrows() == 3);
  CHECK(col(u, "x").is_missing(1));
}

TEST_CASE("a first column name starting with a byte order mark round-trips", "[table]") {
  // Found by fuzz_table: the reader strips one BOM, so a name that still starts with
  // one must be quoted when written, or it would lose it on reading.
  const Table t = nl::parse_table("\xEF\xBB\xBF\xEF\xBB\xBFid,age\n1,30\n", "x.csv");
  REQUIRE(t.names()[0] == "\xEF\xBB\xBFid");
  const std::string text = nl::format_delimited(t, ',');
  CHECK(text == "\"\xEF\xBB\xBFid\",age\n1,30\n");
  CHECK(nl::parse_table(text, "y.csv").names() == t.names());
}

TEST_CASE("write failures name the path and leave nothing behind", "[table]") {
  TempDir dir;
  const std::string bad = dir.path + "/no/such/dir/out.csv";
  const std::string msg = file_error([&] { nl::write_table(people(), bad); });
  CHECK(msg == bad + ": cannot create file (No such file or directory)");
  // A directory in the way is refused before anything is written.
  const std::string sub = dir.path + "/sub.csv";
  REQUIRE(mkdir(sub.c_str(), 0700) == 0);
  CHECK(file_error([&] { nl::write_table(people(), sub); }) == sub + ": is a directory, not a file");
  CHECK(file_error([&] { nl::write_table(people(), ""); }) == "cannot write a file with an empty name");
  CHECK(dir.files() == std::vector<std::string>{"sub.csv"});
  rmdir(sub.c_str());
  CHECK(value_error([] { nl::format_delimited(Table(), ','); }) == "cannot write a table without columns");
}

TEST_CASE("overwriting keeps the old file's permissions", "[table]") {
  TempDir dir;
  const std::string path = dir.path + "/t.csv";
  nl::write_table(people(), path);
  REQUIRE(chmod(path.c_str(), 0640) == 0);
  nl::write_table(people(), path);
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
}

// ---------------------------------------------------------------- columns and tables

TEST_CASE("column arithmetic, comparison and summaries", "[table]") {
  const Table t = people();
  const Column& age = col(t, "age");
  const Column older = nl::arith(age, 1.0, nl::ArithOp::Add);
  CHECK(older.number(0) == 31);
  CHECK(older.is_missing(4));
  CHECK(nl::arith(10.0, age, nl::ArithOp::Sub).number(1) == -15);
  CHECK(nl::arith(age, age, nl::ArithOp::Mul).number(3) == 1600);
  CHECK(nl::negate(age).number(0) == -30);
  CHECK(value_error([&] { nl::arith(col(t, "group"), 1.0, nl::ArithOp::Add); }) ==
        "arithmetic needs a number column, but column 'group' holds strings");

  const Column gt = nl::compare(age, Cell(28.0), nl::CompareOp::Gt);
  CHECK(gt.type() == ColumnType::Bool);
  CHECK(gt.boolean(0));
  CHECK_FALSE(gt.boolean(1));
  CHECK(gt.is_missing(4));
  CHECK(nl::compare(col(t, "group"), Cell(std::string("a")), nl::CompareOp::Eq).boolean(2));
  CHECK(value_error([&] { nl::compare(age, Cell(std::string("a")), nl::CompareOp::Eq); }) ==
        "cannot compare column 'age' of numbers with a string");
  // Kleene logic: false & NA = false, true | NA = true.
  const Column na = nl::missing_mask(age);
  const Column mixed = Column::bools("m", {0, 1, 0}, {0, 0, 1});
  const Column t3 = Column::bools("t", {1, 1, 1});
  const Column f3 = Column::bools("f", {0, 0, 0});
  CHECK(nl::logical_and(mixed, f3).missing_count() == 0);
  CHECK(nl::logical_and(mixed, t3).is_missing(2));
  CHECK(nl::logical_or(mixed, t3).missing_count() == 0);
  CHECK(nl::logical_not(mixed).boolean(0));
  CHECK(na.boolean(4));

  CHECK(nl::reduce(age, nl::Reduction::Mean) == Approx(31.25));
  CHECK(nl::reduce(age, nl::Reduction::Sum) == 125);
  CHECK(nl::reduce(age, nl::Reduction::Std) == Approx(6.291528696058958));  // sd(c(30,25,30,40)) in R
  CHECK(nl::reduce(age, nl::Reduction::Min) == 25);
  CHECK(nl::reduce(age, nl::Reduction::Max) == 40);
  const auto u = nl::unique(col(t, "group"));
  REQUIRE(u.size() == 2);
  CHECK(std::get<std::string>(u[0]) == "a");
  const auto counts = nl::value_counts(age);
  REQUIRE(counts.size() == 4);  // 25, 30, 40, missing
  CHECK(counts[1].second == 2);
  CHECK(std::holds_alternative<std::monostate>(counts[3].first));
}

TEST_CASE("column assignment, select, take, filter", "[table]") {
  Table t = people();
  CHECK(value_error([&] { t.set(std::make_shared<const Column>(Column::numbers("z", {1, 2}))); }) ==
        "column 'z' has 2 rows, but the table has 5");
  t.set(std::make_shared<const Column>(Column::numbers("age", {1, 2, 3, 4, 5})));
  CHECK(t.names() == std::vector<std::string>{"id", "group", "age"});  // replaced in place
  CHECK(t.select({"age", "id"}).names() == std::vector<std::string>{"age", "id"});
  CHECK(value_error([&] { t.select({"id", "agee"}); }) ==
        "no column 'agee' in table (columns: id, group, age); did you mean 'age'?");
  const Table s = t.take({4, 0, 0});
  CHECK(col(s, "id").number(0) == 5);
  CHECK(col(s, "id").number(2) == 1);
  CHECK(value_error([&] { t.take({5}); }) == "row 6 out of range [1, 5]");
  const Table f = t.filter(nl::compare(col(t, "group"), Cell(std::string("b")), nl::CompareOp::Eq));
  CHECK(f.nrows() == 2);
  t.remove("group");
  CHECK(t.ncols() == 2);
}

TEST_CASE("where: equality, membership, missing, conditions are ANDed", "[table]") {
  const Table t = people();
  CHECK(t.where({{"group", {Cell(std::string("a"))}}}).nrows() == 2);
  CHECK(t.where({{"group", {Cell(std::string("a")), Cell(std::string("b"))}}}).nrows() == 4);
  CHECK(t.where({{"group", {Cell(std::string("a"))}}, {"id", {Cell(3.0)}}}).nrows() == 1);
  CHECK(t.where({{"group", {Cell()}}}).nrows() == 1);
  CHECK(value_error([&] { t.where({{"group", {Cell(1.0)}}}); }) ==
        "where: column 'group' holds strings, got number 1");
}

TEST_CASE("sort is stable, multi-key, missing last", "[table]") {
  const Table t = people();
  const Table a = t.sort({{"age", false}});
  CHECK(col(a, "id").number(0) == 2);
  CHECK(col(a, "id").number(1) == 1);  // ties keep their order
  CHECK(col(a, "id").number(2) == 3);
  CHECK(col(a, "id").number(4) == 5);  // missing last
  const Table d = t.sort({{"age", true}});
  CHECK(col(d, "id").number(0) == 4);
  CHECK(col(d, "id").number(4) == 5);  // still last when descending
  const Table g = t.sort({{"group", false}, {"id", true}});
  CHECK(col(g, "id").number(0) == 3);
  CHECK(col(g, "id").number(1) == 1);
  CHECK(col(g, "id").number(4) == 4);
  Table n;
  n.set(std::make_shared<const Column>(Column::numbers("x", {2, std::nan(""), 1, 0}, {0, 0, 0, 1})));
  const Table ns = n.sort({{"x", true}});
  CHECK(col(ns, "x").number(0) == 2);
  CHECK(std::isnan(col(ns, "x").number(2)));
  CHECK(col(ns, "x").is_missing(3));
}

TEST_CASE("join: many-to-one, inner and left, suffix, key checks", "[table]") {
  const Table left = people();
  Table right;
  right.set(std::make_shared<const Column>(Column::strings("group", {"a", "b", "c"})));
  right.set(std::make_shared<const Column>(Column::numbers("age", {1, 2, 3})));
  right.set(std::make_shared<const Column>(Column::strings("label", {"A", "B", "C"})));
  const Table inner = left.join(right, {"group", "", nl::JoinHow::Inner, "_2"});
  CHECK(inner.nrows() == 4);  // the row with a missing group has no match
  CHECK(inner.names() == std::vector<std::string>{"id", "group", "age", "age_2", "label"});
  CHECK(col(inner, "label").string(1) == "B");
  CHECK(col(inner, "age_2").number(2) == 1);
  const Table lj = left.join(right, {"group", "", nl::JoinHow::Left, "_right"});
  CHECK(lj.nrows() == 5);
  CHECK(col(lj, "label").is_missing(3));
  CHECK(col(lj, "age_right").number(4) == 2);

  Table dup;
  dup.set(std::make_shared<const Column>(Column::strings("g", {"a", "b", "a"})));
  CHECK(value_error([&] { left.join(dup, {"group", "g"}); }) ==
        "join: key 'g' is not unique in the right table (value a in rows 1 and 3)");
  CHECK(value_error([&] { left.join(right, {"id", "group"}); }) ==
        "join: key 'id' holds numbers in the left table but key 'group' holds strings in the right table");
  // Number keys: 1 and 1.0 from a file are the same key.
  const Table r2 = parse("id,score\n1.0,10\n3,30\n");
  const Table j2 = left.join(r2, {"id", ""});
  CHECK(j2.nrows() == 2);
  CHECK(col(j2, "score").number(1) == 30);
}

TEST_CASE("to_matrix: bools as 0/1, strings and missing cells rejected", "[table]") {
  Table t = people();
  t.set(std::make_shared<const Column>(Column::bools("flag", {1, 0, 1, 0, 1})));
  const auto m = nl::to_matrix(t, {"id", "flag"}, false);
  CHECK(m.X.rows() == 5);
  CHECK(m.X(0, 1) == 1.0);
  CHECK(m.X(1, 1) == 0.0);
  CHECK(value_error([&] { nl::to_matrix(t, {"group"}, false); }) ==
        "column 'group' holds strings and cannot go into a matrix");
  CHECK(value_error([&] { nl::to_matrix(t, {"id", "age"}, false); }) ==
        "column 'age' has a missing value in row 5");
  const auto d = nl::to_matrix(t, {"id", "age"}, true);
  CHECK(d.X.rows() == 4);
  CHECK(d.rows == std::vector<std::size_t>{0, 1, 2, 3});
}

TEST_CASE("format_table elides rows and columns", "[table]") {
  Table t;
  std::vector<double> v(99);
  for (int i = 0; i < 99; ++i) v[i] = i;
  for (int j = 0; j < 10; ++j)
    t.set(std::make_shared<const Column>(Column::numbers(fmt::format("column_number_{}", j), v)));
  const std::string s = nl::format_table(t, 10, 100);
  CHECK(s.substr(s.rfind('\n') + 1) == "[Table 99 rows x 10 columns]");
  CHECK(s.find("<num>") != std::string::npos);
  CHECK(s.find("\n...\n") != std::string::npos);
  CHECK(s.find("  ...") != std::string::npos);
  CHECK(s.find("column_number_0") != std::string::npos);
  CHECK(s.find("column_number_9") != std::string::npos);
  CHECK(s.find("column_number_5") == std::string::npos);
  std::size_t start = 0, widest = 0;
  for (std::size_t nl_at; (nl_at = s.find('\n', start)) != std::string::npos; start = nl_at + 1)
    widest = std::max(widest, nl_at - start);
  CHECK(widest <= 100);
  CHECK(nl::format_table(Table()) == "[Table 0 rows x 0 columns]");
  CHECK(nl::format_column(col(people(), "group")) == "Column 'group' <str>: 5 rows, 1 missing\n  \"a\", \"b\", \"a\", NA, \"b\"");
}

TEST_CASE("the real ABIDE phenotype table", "[table][shared]") {
  const std::string path = std::string(NL_SHARED_DATA) + "/abide_fs6/phenotypes.csv";
  if (access(path.c_str(), R_OK) != 0) {
    WARN("skipped: " << path << " is absent");
    return;
  }
  // Reference values from Python's csv module.
  const Table t = nl::read_table(path);
  CHECK(t.nrows() == 1112);
  CHECK(t.ncols() == 8);
  CHECK(col(t, "SUB_ID").number(0) == 50002);
  CHECK(col(t, "SITE_ID").type() == ColumnType::String);
  CHECK(nl::unique(col(t, "SITE_ID")).size() == 20);
  CHECK(col(t, "FIQ").missing_count() == 35);
  CHECK(nl::reduce(col(t, "AGE_AT_SCAN"), nl::Reduction::Mean) == Approx(17.048864208633095).epsilon(1e-12));
  CHECK(t.where({{"DX_GROUP", {Cell(1.0)}}}).nrows() == 539);
}

// ---------------------------------------------------------------- issue 17: exact reading

namespace {
// The warnings sent while f runs.
template <class F>
std::vector<std::string> warnings_of(F&& f) {
  std::vector<std::string> seen;
  nl::set_warning_sink([&](const std::string& m) { seen.push_back(m); });
  try {
    f();
  } catch (...) {
    nl::set_warning_sink({});
    throw;
  }
  nl::set_warning_sink({});
  return seen;
}
}  // namespace

TEST_CASE("identifiers stay exact: leading zeros and integers beyond 2^53 keep a column text", "[table]") {
  Table t;
  const auto warned = warnings_of([&] {
    t = nl::parse_table(
        "participant_id,big,fine,exact,score\n"
        "007,9007199254740993,9007199254740992,18014398509481984,1.5\n"
        "008,9007199254740992,1,18014398509481988,2\n",
        "ids.csv");
  });
  // pandas reads 007 as 7 and 9007199254740993 as ...992 (colliding with the next id).
  CHECK(col(t, "participant_id").type() == ColumnType::String);
  CHECK(col(t, "participant_id").string(0) == "007");
  CHECK(col(t, "big").type() == ColumnType::String);
  CHECK(col(t, "big").string(0) == "9007199254740993");
  CHECK(col(t, "big").string(1) != col(t, "big").string(0));
  // Integers a double holds exactly stay numbers, even above 2^53.
  CHECK(col(t, "fine").type() == ColumnType::Number);
  CHECK(col(t, "exact").type() == ColumnType::Number);
  CHECK(col(t, "exact").number(1) == 18014398509481988.0);
  CHECK(col(t, "score").type() == ColumnType::Number);
  REQUIRE(warned.size() == 1);
  CHECK(warned[0] ==
        "ids.csv: 2 columns are read as text, not numbers, to keep them exact: column 'participant_id': '007' "
        "(line 2) has a leading zero, which a number would drop; column 'big': '9007199254740993' (line 2) is an "
        "integer above 2^53 that a number (a double) cannot hold exactly. To read numbers anyway, force the type: "
        "types = {[\"participant_id\"] = \"number\"}");
  // Not integer literals, or a lone zero: numbers as before, and no warning.
  const auto none = warnings_of([&] { t = parse("a,b,c\n0,0.5,-0\n1e3,007.5,+0\n"); });
  CHECK(none.empty());
  CHECK(col(t, "a").type() == ColumnType::Number);
  CHECK(col(t, "b").type() == ColumnType::Number);
  CHECK(col(t, "c").type() == ColumnType::Number);
  // Forced numbers: the user's choice.
  nl::ReadOptions o;
  o.types = {{"id", ColumnType::Number}};
  CHECK(col(parse("id\n007\n", o), "id").number(0) == 7);
}

TEST_CASE("a quoted cell is text: never a number, a boolean or missing", "[table]") {
  const Table t = parse("a,b,c,d,e\n\"12\",\"NA\",\"\",\"true\",5\n3,x,y,false,\"6\"\n");
  CHECK(col(t, "a").type() == ColumnType::String);
  CHECK(col(t, "a").string(0) == "12");
  CHECK(col(t, "b").type() == ColumnType::String);
  CHECK_FALSE(col(t, "b").is_missing(0));
  CHECK(col(t, "b").string(0) == "NA");
  CHECK(col(t, "c").string(0) == "");
  CHECK_FALSE(col(t, "c").is_missing(0));
  CHECK(col(t, "d").type() == ColumnType::String);
  CHECK(col(t, "e").type() == ColumnType::String);
  // An unquoted NA in a text column is still missing.
  CHECK(col(parse("s\n\"x\"\nNA\n"), "s").is_missing(1));
  // A file that quotes every field (header included) says nothing with its quotes.
  const Table all = parse("\"id\",\"age\",\"ok\"\n\"s1\",\"30\",\"true\"\n\"s2\",\"31.5\",\"\"\n");
  CHECK(col(all, "age").type() == ColumnType::Number);
  CHECK(col(all, "age").number(1) == 31.5);
  CHECK(col(all, "ok").type() == ColumnType::Bool);
  CHECK(col(all, "ok").is_missing(1));
  CHECK(col(all, "id").type() == ColumnType::String);
}

TEST_CASE("every table written reads back with the same types and values", "[table]") {
  Table t;
  t.set(std::make_shared<const Column>(Column::strings(
      "text", {"12", "NA", "", "true", "007", " 5", "n/a", "1,5", "NaN", "inf", "plain", "x"},
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})));
  t.set(std::make_shared<const Column>(Column::numbers(
      "num", {9500000000000000.0, 9007199254740994.0, 1.5, -2.25, 1e300, std::nan(""),
              -std::numeric_limits<double>::infinity(), 0.1, 123456789012345678.0, 5e-324, 0, 7},
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0})));
  t.set(std::make_shared<const Column>(Column::strings("only_numbers", {"1", "2", "3", "4", "5", "6", "7", "8",
                                                                       "9", "10", "11", "12"})));
  t.set(std::make_shared<const Column>(Column::bools("flag", {1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0})));
  for (const char sep : {',', '\t', ';'}) {
    INFO("separator " << sep);
    const std::string text = nl::format_delimited(t, sep);
    Table u;
    const auto warned = warnings_of([&] { u = nl::parse_table(text, "round.csv"); });
    CHECK(warned.empty());
    REQUIRE(u.names() == t.names());
    for (std::size_t j = 0; j < t.ncols(); ++j) {
      const Column& a = *t.columns()[j];
      const Column& b = *u.columns()[j];
      INFO("column " << a.name());
      REQUIRE(a.type() == b.type());
      for (std::size_t i = 0; i < t.nrows(); ++i) {
        REQUIRE(a.is_missing(i) == b.is_missing(i));
        if (a.is_missing(i)) continue;
        if (a.type() == ColumnType::Number && std::isnan(a.number(i))) CHECK(std::isnan(b.number(i)));
        else if (a.type() == ColumnType::Number) CHECK(a.number(i) == b.number(i));
        else CHECK(a.cell(i) == b.cell(i));
      }
    }
  }
  // Text that needs no quotes gets none; numbers never do.
  const std::string csv = nl::format_delimited(t, ',');
  CHECK(csv.find("\n\"12\",9500000000000000,\"1\",true\n") != std::string::npos);
  CHECK(csv.find("\nplain,") != std::string::npos);
  // With ';' the numbers carry a decimal comma, as the reader expects.
  CHECK(nl::format_delimited(t, ';').find(";1,5;") != std::string::npos);
}

TEST_CASE("a 200,000-column file reads in linear time", "[table]") {
  // Column lookup was a scan per column: 200,000 columns took minutes.
  std::string text;
  const int n = 200000;
  for (int j = 0; j < n; ++j) text += fmt::format("{}c{}", j ? "," : "", j);
  text += '\n';
  for (int j = 0; j < n; ++j) text += j ? ",1" : "1";
  text += '\n';
  const auto t0 = std::chrono::steady_clock::now();
  const Table t = nl::parse_table(text, "wide.csv");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(t.ncols() == static_cast<std::size_t>(n));
  CHECK(t.find("c199999") != nullptr);
  CHECK(seconds < 15);  // about 0.3 s in Release; the old reader took over a minute
  // Replacing and removing keep the name index right.
  Table u = t;
  u.set(std::make_shared<const Column>(Column::numbers("c5", {42})));
  u.remove("c3");
  CHECK(u.column("c5")->number(0) == 42);
  CHECK(t.column("c5")->number(0) == 1);
  CHECK(u.find("c3") == nullptr);
  CHECK(u.column("c199999") == u.columns().back());
  CHECK(u.columns()[3]->name() == "c4");
  CHECK(u.find("c4") == &u.columns()[3]);
}

TEST_CASE("reading a FIFO or a device is refused, not a hang", "[table]") {
  TempDir dir;
  const std::string fifo = dir.path + "/pipe.csv";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(file_error([&] { nl::read_table(fifo); }).rfind(fifo + ": is a FIFO", 0) == 0);
  CHECK(file_error([] { nl::read_table("/dev/zero"); }).rfind("/dev/zero: is a character device", 0) == 0);
  std::remove(fifo.c_str());
}

TEST_CASE("reading a table polls for Ctrl-C per record and while building columns", "[table]") {
  // A request pending when the reader reaches a record stops it ...
  nl::request_interrupt();
  CHECK_THROWS_AS(nl::parse_table("a,b\n1,2\n", "t.csv"), nl::Interrupted);
  nl::clear_interrupt();
  // ... and so does one pending while the columns of a wide header are built.
  std::string header;
  for (int j = 0; j < 300; ++j) header += fmt::format("{}c{}", j ? "," : "", j);
  nl::request_interrupt();
  CHECK_THROWS_AS(nl::parse_table(header + "\n", "t.csv"), nl::Interrupted);
  nl::clear_interrupt();
  CHECK(nl::parse_table(header + "\n", "t.csv").ncols() == 300);
}

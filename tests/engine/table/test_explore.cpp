// tests/engine/table/test_explore.cpp: describe, value counts, group_by/aggregate,
// pivot and melt against pandas and numpy (tests/data/table/make_fixtures.py).
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/table/explore.hpp"
#include "nl/table/table.hpp"

using nl::Cell;
using nl::Column;
using nl::Table;

namespace {

const std::string dir = std::string(NL_TEST_DATA) + "/table/";

Table fixture(const std::string& name) { return nl::read_table(dir + name); }

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

// Cell (r, name) of got equals that of want: both missing, numbers within a relative
// tolerance, or the same text.
void require_same(const Table& got, const Table& want, double tol = 1e-12) {
  REQUIRE(got.names() == want.names());
  REQUIRE(got.nrows() == want.nrows());
  for (const auto& w : want.columns()) {
    const Column& g = *got.column(w->name());
    for (std::size_t i = 0; i < want.nrows(); ++i) {
      INFO("column " << w->name() << ", row " << i + 1 << ": got " << nl::format_cell(g, i) << ", want "
                     << nl::format_cell(*w, i));
      REQUIRE(g.is_missing(i) == w->is_missing(i));
      if (w->is_missing(i)) continue;
      if (w->type() == nl::ColumnType::Number && g.type() == nl::ColumnType::Number) {
        const double x = g.number(i), y = w->number(i);
        REQUIRE(std::fabs(x - y) <= tol * std::max(1.0, std::fabs(y)));
      } else {
        REQUIRE(nl::format_cell(g, i) == nl::format_cell(*w, i));
      }
    }
  }
}

}  // namespace

TEST_CASE("quantiles are numpy's default (linear, type 7)", "[table][explore]") {
  std::ifstream xs(dir + "quantiles_x.txt");
  std::vector<double> x;
  for (double v; xs >> v;) x.push_back(v);
  REQUIRE(x.size() == 11);
  std::sort(x.begin(), x.end());
  const Table q = fixture("quantiles.tsv");
  for (std::size_t i = 0; i < q.nrows(); ++i) {
    INFO("p = " << q.column("p")->number(i));
    REQUIRE(nl::quantile_sorted(x, q.column("p")->number(i)) == Approx(q.column("q")->number(i)).epsilon(1e-14));
  }
  REQUIRE(nl::quantile_sorted({7.0}, 0.3) == 7.0);
  REQUIRE(std::isnan(nl::quantile_sorted({1.0, NAN}, 0.0)));
  REQUIRE_THAT(value_error([] { nl::quantile_sorted({}, 0.5); }), Catch::Contains("no values"));
  REQUIRE_THAT(value_error([] { nl::quantile_sorted({1.0}, 1.5); }), Catch::Contains("outside [0, 1]"));
}

TEST_CASE("describe matches pandas describe(include='all')", "[table][explore]") {
  const Table t = fixture("participants.tsv");
  require_same(nl::describe(t), fixture("describe.tsv"), 1e-12);
}

TEST_CASE("describe: percentiles, empty and NaN columns", "[table][explore]") {
  Table t;
  t.set(std::make_shared<const Column>(Column::numbers("x", {1, 2, 3, 4}, {0, 0, 0, 1})));
  t.set(std::make_shared<const Column>(Column::numbers("none", {0, 0, 0, 0}, {1, 1, 1, 1})));
  t.set(std::make_shared<const Column>(Column::numbers("nan", {1, NAN, 3, 4})));
  const Table d = nl::describe(t, {0.1, 0.025});
  REQUIRE(d.names() == std::vector<std::string>{"name", "type", "n", "missing", "mean", "std", "min", "10%", "2.5%",
                                                "max", "unique", "top", "freq"});
  REQUIRE(d.column("10%")->number(0) == Approx(1.2));
  REQUIRE(d.column("n")->number(1) == 0);
  REQUIRE(d.column("mean")->is_missing(1));  // no values: missing, not NaN
  REQUIRE(std::isnan(d.column("mean")->number(2)));  // a real NaN propagates
  REQUIRE(std::isnan(d.column("max")->number(2)));
  REQUIRE_THAT(value_error([&] { nl::describe(t, {1.5}); }), Catch::Contains("percentile 1.5 is outside [0, 1]"));
  REQUIRE_THAT(value_error([&] { nl::describe(t, {0.5, 0.5}); }), Catch::Contains("given twice"));
}

TEST_CASE("group_by + aggregate match pandas named aggregation", "[table][explore]") {
  const Table t = fixture("participants.tsv");
  const nl::GroupBy g(t, {"group", "sex"});
  using nl::AggFn;
  const Table got = g.aggregate({{"n", "age", AggFn::Count},
                                 {"age_sum", "age", AggFn::Sum},
                                 {"age_mean", "age", AggFn::Mean},
                                 {"age_std", "age", AggFn::Std},
                                 {"age_min", "age", AggFn::Min},
                                 {"age_max", "age", AggFn::Max},
                                 {"age_median", "age", AggFn::Median},
                                 {"first_id", "participant_id", AggFn::First},
                                 {"age_missing", "age", AggFn::NMissing},
                                 {"madrs_mean", "madrs", AggFn::Mean}});
  require_same(got, fixture("groupby.tsv"), 1e-12);
  require_same(g.sizes(), fixture("groupby_size.tsv"));
}

TEST_CASE("group_by: first-appearance order, NA keys, errors", "[table][explore]") {
  const Table t = nl::parse_table("k,x\nb,1\na,2\n,3\nb,4\nNaN,5\n", "t.csv", {});
  const nl::GroupBy sorted(t, {"k"});
  REQUIRE(sorted.ngroups() == 4);
  REQUIRE(nl::format_cell(*sorted.key_table().column("k"), 0) == "NaN");  // a string "NaN" here
  const nl::GroupBy seen(t, {"k"}, false);
  const Table keys = seen.key_table();
  REQUIRE(nl::format_cell(*keys.column("k"), 0) == "b");
  REQUIRE(nl::format_cell(*keys.column("k"), 1) == "a");
  REQUIRE(keys.column("k")->is_missing(2));
  REQUIRE(seen.rows(0) == std::vector<std::size_t>{0, 3});
  REQUIRE(seen.group(0).nrows() == 2);
  const Table sums = seen.aggregate({{"s", "x", nl::AggFn::Sum}, {"u", "x", nl::AggFn::NUnique}});
  REQUIRE(sums.column("s")->number(0) == 5);
  REQUIRE_THAT(value_error([&] { seen.aggregate({{"m", "k", nl::AggFn::Mean}}); }),
               Catch::Contains("agg 'm': mean needs a number or bool column, but column 'k' holds strings"));
  REQUIRE_THAT(value_error([&] { seen.aggregate({{"k", "x", nl::AggFn::Sum}}); }),
               Catch::Contains("agg 'k': the name is already taken by a key column"));
  REQUIRE_THAT(value_error([&] { nl::GroupBy(t, {"kk"}); }), Catch::Contains("no column 'kk'"));
  REQUIRE_THAT(value_error([&] { nl::GroupBy(t, {"k", "k"}); }), Catch::Contains("key 'k' is given twice"));
  // min/max keep the type; strings bytewise
  const Table mm = nl::GroupBy(t, {"x"}).aggregate({{"lo", "k", nl::AggFn::Min}});
  REQUIRE(mm.column("lo")->type() == nl::ColumnType::String);
  REQUIRE(mm.column("lo")->is_missing(2));
}

TEST_CASE("value_counts_table matches pandas value_counts(dropna=False)", "[table][explore]") {
  const Table t = fixture("participants.tsv");
  require_same(nl::value_counts_table(*t.column("site"), {false, nl::CountOrder::Count}),
               fixture("value_counts_site.tsv"));
  const Table kept = nl::value_counts_table(*t.column("site"));
  REQUIRE(kept.nrows() == 3);
  REQUIRE(kept.column("proportion")->number(0) == Approx(17.0 / 28.0));
  // ties by value; order by value on request
  const Column c = Column::strings("c", {"b", "a", "b", "a", "c"});
  const Table byc = nl::value_counts_table(c);
  REQUIRE(byc.column("value")->string(0) == "a");
  REQUIRE(byc.column("value")->string(2) == "c");
}

TEST_CASE("pivot and melt match pandas pivot and melt", "[table][explore]") {
  const Table lng = fixture("fc_long.tsv");
  nl::PivotOptions o;
  o.index = {"participant_id"};
  o.columns = "run";
  o.values = "fc";
  o.prefix = "run_";
  const Table wide = nl::pivot(lng, o);
  require_same(wide, fixture("fc_wide.tsv"));
  nl::MeltOptions m;
  m.id = {"participant_id"};
  m.values = {"run_1", "run_2", "run_3"};
  m.variable = "run";
  m.value = "fc";
  require_same(nl::melt(wide, m), fixture("fc_melted.tsv"));
}

TEST_CASE("pivot names a repeated pair, agg combines it", "[table][explore]") {
  const Table t = nl::parse_table("id,run,x\ns1,1,1\ns1,2,2\ns1,1,5\ns2,1,4\n", "t.csv", {});
  nl::PivotOptions o;
  o.index = {"id"};
  o.columns = "run";
  o.values = "x";
  REQUIRE_THAT(value_error([&] { nl::pivot(t, o); }),
               Catch::Contains("id 's1', run 1 appear in rows 1 and 3; give agg to combine repeated pairs"));
  o.agg = nl::AggFn::Mean;
  const Table w = nl::pivot(t, o);
  REQUIRE(w.names() == std::vector<std::string>{"id", "1", "2"});
  REQUIRE(w.column("1")->number(0) == 3);
  REQUIRE(w.column("2")->is_missing(1));
  o.agg = nl::AggFn::Count;
  REQUIRE(nl::pivot(t, o).column("2")->is_missing(1));  // an absent pair stays missing
  const Table na = nl::parse_table("id,run,x\ns1,,1\n", "t.csv", {});
  o.agg.reset();
  REQUIRE_THAT(value_error([&] { nl::pivot(na, o); }), Catch::Contains("column 'run' is missing in row 1"));
  o.columns = "id";
  REQUIRE_THAT(value_error([&] { nl::pivot(t, o); }), Catch::Contains("column 'id' is both index and columns"));
}

TEST_CASE("melt: defaults and errors", "[table][explore]") {
  const Table t = nl::parse_table("id,a,b,s\n1,10,20,x\n2,11,,y\n", "t.csv", {});
  nl::MeltOptions m;
  m.id = {"id"};
  REQUIRE_THAT(value_error([&] { nl::melt(t, m); }),
               Catch::Contains("value columns hold one type, but 'a' holds numbers and 's' holds strings"));
  m.values = {"a", "b"};
  const Table l = nl::melt(t, m);
  REQUIRE(l.names() == std::vector<std::string>{"id", "variable", "value"});
  REQUIRE(l.nrows() == 4);
  REQUIRE(l.column("variable")->string(1) == "b");
  REQUIRE(l.column("value")->is_missing(3));
  m.variable = "id";
  REQUIRE_THAT(value_error([&] { nl::melt(t, m); }), Catch::Contains("'id' is already an id column"));
  m.variable = "variable";
  m.values = {"id"};
  REQUIRE_THAT(value_error([&] { nl::melt(t, m); }), Catch::Contains("both an id and a value column"));
}

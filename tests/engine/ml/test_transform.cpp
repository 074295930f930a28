// Tests of nl::ml transforms: scale, prune, impute (against scikit-learn), covariate coding and regress_out (against
// R's lm, tests/data/regress_out/), and regress_out's policy for a site the training rows lacked (checked by hand).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "nl/core/core.hpp"
#include "nl/io/serial.hpp"
#include "nl/ml/pipeline.hpp"
#include "nl/ml/transform.hpp"
#include "nl/table/table.hpp"

using nl::Matrix;

TEST_CASE("scale maps the training range to [lo, hi] and reuses it", "[transform]") {
  Matrix X(3, 3);
  X << 1, 5, 7,  //
      2, 5, 8,   //
      3, 5, 9;
  nl::ml::Scale s(-1, 1);
  REQUIRE_FALSE(s.fitted());
  CHECK_THROWS_WITH(s.apply(X, nullptr), "scale: not fitted (call fit first)");
  s.fit(X, nullptr);
  const Matrix Y = s.apply(X, nullptr);
  CHECK(Y(0, 0) == -1);
  CHECK(Y(2, 0) == 1);
  CHECK(Y(1, 0) == 0);
  CHECK(Y(0, 1) == 0);  // constant feature -> midpoint
  Matrix T(1, 3);
  T << 5, 1, 7;  // test data outside the training range is not clipped
  CHECK(s.apply(T, nullptr)(0, 0) == 3);
  CHECK_THROWS_WITH(s.apply(Matrix(1, 2), nullptr), "scale: fitted on 3 features, got 2");
  CHECK_THROWS_AS(nl::ml::Scale(1, 1), nl::ValueError);
  auto c = s.clone();
  CHECK_FALSE(c->fitted());
  CHECK(s.options() == "scale{range = {-1, 1}}");
}

TEST_CASE("prune drops constant and non-finite features", "[transform]") {
  Matrix X(3, 4);
  X << 1, 2, 3, 4,  //
      1, 3, 3, std::numeric_limits<double>::quiet_NaN(),  //
      1, 4, 3, 6;
  nl::ml::Prune p;
  p.fit(X, nullptr);
  REQUIRE(p.kept() == std::vector<Eigen::Index>{1});
  CHECK(p.apply(X, nullptr) == X.col(1));
  CHECK(p.state()[0].value(0, 0) == 2);  // 1-based for users
}

// The values of tests/data/ml/impute.txt (scikit-learn 1.2.1 SimpleImputer, written by
// tests/data/ml/make_impute.py; the Lua test reads the file itself).
TEST_CASE("impute fills NaN with training statistics as SimpleImputer", "[transform]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Matrix X(6, 4);
  X << 1, 10, nan, 3,  //
      2, nan, nan, 1,   //
      nan, 30, nan, 4,  //
      4, 20, nan, 1,    //
      7.5, 40, nan, nan,  //
      nan, 25, nan, 9;
  Matrix T(3, 4);
  T << nan, nan, nan, nan,  //
      3, nan, 5, 2,         //
      nan, 11, nan, -1;
  nl::ml::Impute mean(nl::ml::ImputeStrategy::Mean), median(nl::ml::ImputeStrategy::Median),
      constant(nl::ml::ImputeStrategy::Constant, 2.5);
  CHECK_THROWS_WITH(mean.apply(T, nullptr), "impute: not fitted (call fit first)");
  mean.fit(X, nullptr);
  median.fit(X, nullptr);
  constant.fit(X, nullptr);
  Matrix want(1, 4);
  want << 3.625, 25, 0, 3.6;  // an all-missing column is filled with 0
  CHECK(mean.statistics().transpose().isApprox(want, 1e-15));
  want << 3, 25, 0, 3;
  CHECK(median.statistics().transpose() == want);
  want << 2.5, 2.5, 2.5, 2.5;
  CHECK(constant.statistics().transpose() == want);
  const Matrix Y = median.apply(T, nullptr);
  Matrix want_y(3, 4);
  want_y << 3, 25, 0, 3,  //
      3, 25, 5, 2,        //
      3, 11, 0, -1;
  CHECK(Y == want_y);
  // observed values pass unchanged, so the back-projection is the identity
  CHECK(median.backproject(Matrix::Ones(4, 2)) == Matrix::Ones(4, 2));
  CHECK(mean.options() == "impute{strategy = \"mean\"}");
  CHECK(constant.options() == "impute{strategy = \"constant\", fill_value = 2.5}");
  CHECK_THROWS_AS(nl::ml::Impute(nl::ml::ImputeStrategy::Constant, nan), nl::ValueError);
}

TEST_CASE("covariate coding: dummies with the first sorted level as reference", "[transform]") {
  nl::Table t;
  t.set(std::make_shared<const nl::Column>(nl::Column::strings("site", {"B", "A", "C", "A"})));
  t.set(std::make_shared<const nl::Column>(nl::Column::numbers("age", {30, 40, 50, 60})));
  t.set(std::make_shared<const nl::Column>(nl::Column::bools("male", {1, 0, 0, 1})));
  nl::ml::CovariateCoder coder({"site", "age", "male"});
  coder.fit(t);
  CHECK(coder.design_names() == std::vector<std::string>{"site=B", "site=C", "age", "male"});
  const Matrix G = coder.apply(t);
  Matrix want(4, 4);
  want << 1, 0, 30, 1,  //
      0, 0, 40, 0,      //
      0, 1, 50, 0,      //
      0, 0, 60, 1;
  CHECK(G == want);
  nl::Table u;
  u.set(std::make_shared<const nl::Column>(nl::Column::strings("site", {"D"})));
  u.set(std::make_shared<const nl::Column>(nl::Column::numbers("age", {1})));
  u.set(std::make_shared<const nl::Column>(nl::Column::bools("male", {1})));
  CHECK_THROWS_WITH(coder.apply(u),
                    Catch::StartsWith("covariate 'site' has a level not seen in the training rows: 'D' (1 row)"));
  nl::Table m;
  m.set(std::make_shared<const nl::Column>(nl::Column::numbers("age", {1, 2}, {0, 1})));
  nl::ml::CovariateCoder c2({"age"});
  CHECK_THROWS_WITH(c2.fit(m), "covariate 'age' is missing in row 2");
  CHECK_THROWS_AS(nl::ml::CovariateCoder({"a", "a"}), nl::ValueError);
}

TEST_CASE("regress_out equals R lm residuals on training and test rows", "[transform]") {
  const nl::Table data = nl::read_table(std::string(NL_TEST_DATA) + "/regress_out/data.csv");
  const nl::Table resid = nl::read_table(std::string(NL_TEST_DATA) + "/regress_out/residuals.csv");
  const Matrix X = nl::to_matrix(data, {"f1", "f2", "f3", "f4", "f5"}, false).X;
  const Matrix R = nl::to_matrix(resid, {}, false).X;
  std::vector<std::size_t> train(20), test(10);
  for (std::size_t i = 0; i < 20; ++i) train[i] = i;
  for (std::size_t i = 0; i < 10; ++i) test[i] = 20 + i;
  const nl::Table ctrain = data.take(train), ctest = data.take(test);
  nl::ml::RegressOut r({"age", "sex", "site", "tiv"});
  r.fit(X.topRows(20), &ctrain);
  CHECK(r.beta().rows() == 6);  // intercept, age, sex=M, site=B, site=C, tiv
  const Matrix Ytrain = r.apply(X.topRows(20), &ctrain);
  const Matrix Ytest = r.apply(X.bottomRows(10), &ctest);
  CHECK((Ytrain - R.topRows(20)).cwiseAbs().maxCoeff() < 1e-10);
  CHECK((Ytest - R.bottomRows(10)).cwiseAbs().maxCoeff() < 1e-10);
  CHECK_THROWS_WITH(r.apply(X.topRows(20), nullptr), Catch::Contains("covariates are required"));
  CHECK_THROWS_WITH(r.apply(X.topRows(20), &ctest), "regress_out: covariates have 10 rows, the data have 20");
  nl::ml::RegressOut bad({"nope"});
  CHECK_THROWS_WITH(bad.fit(X, &data), Catch::Contains("no column 'nope'"));
}

// ---------------------------------------------------------------- unseen levels

namespace {

using nl::ml::UnseenAction;
using nl::ml::UnseenPolicy;

nl::ColumnPtr strings(const char* name, std::vector<std::string> v) {
  return std::make_shared<const nl::Column>(nl::Column::strings(name, std::move(v)));
}
nl::ColumnPtr numbers(const char* name, std::vector<double> v) {
  return std::make_shared<const nl::Column>(nl::Column::numbers(name, std::move(v)));
}

UnseenPolicy drop_all() {
  UnseenPolicy p;
  p.all.action = UnseenAction::Drop;
  return p;
}

UnseenPolicy as_level(const std::string& column, const std::string& level) {
  UnseenPolicy p;
  p.columns[column] = {UnseenAction::Level, level};
  return p;
}

// Six training rows whose two features are exact linear functions of the covariates,
// so that the fitted beta is known without computing it:
//   x1 = 10 + 2 age + 3 [site B] - 4 [site C]
//   x2 = 1 - age + 5 [site C]
// Sites A, A, B, B, B, C: the training proportions of B and C are 3/6 and 1/6.
struct SixRows {
  nl::Table cov;
  Matrix X{6, 2};
  SixRows() {
    const std::vector<double> age = {20, 30, 40, 50, 60, 35};
    const std::vector<std::string> site = {"A", "A", "B", "B", "B", "C"};
    cov.set(strings("participant_id", {"sub-1", "sub-2", "sub-3", "sub-4", "sub-5", "sub-6"}));
    cov.set(numbers("age", age));
    cov.set(strings("site", site));
    for (int i = 0; i < 6; ++i) {
      const auto k = static_cast<std::size_t>(i);
      X(i, 0) = 10 + 2 * age[k] + (site[k] == "B" ? 3 : 0) - (site[k] == "C" ? 4 : 0);
      X(i, 1) = 1 - age[k] + (site[k] == "C" ? 5 : 0);
    }
  }
};

// New rows: sites MD, NY, MD, B, A, all of age 45, features 100 and 7.
nl::Table new_rows(std::vector<std::string> site) {
  nl::Table t;
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < site.size(); ++i) ids.push_back("new-" + std::to_string(101 + i));
  t.set(strings("participant_id", ids));
  t.set(numbers("age", std::vector<double>(site.size(), 45)));
  t.set(strings("site", std::move(site)));
  return t;
}

Matrix new_x(Eigen::Index n) {
  Matrix X(n, 2);
  X.col(0).setConstant(100);
  X.col(1).setConstant(7);
  return X;
}

}  // namespace

TEST_CASE("regress_out refuses a site the training rows lacked by default and says why", "[transform]") {
  const SixRows d;
  nl::ml::RegressOut r({"age", "site"});
  CHECK(r.unseen().is_default());
  r.fit(d.X, &d.cov);
  const nl::Table t = new_rows({"NY", "MD", "B", "MD", "MD", "NY", "MD", "MD", "MD", "A"});
  CHECK_THROWS_WITH(
      r.apply(new_x(10), &t),
      "regress_out: covariate 'site' has levels not seen in the training rows: 'MD' (6 rows), 'NY' (2 rows), e.g. "
      "participant_id new-101, new-102, new-104, new-105, new-106; the training levels are 'A', 'B', 'C'. Choose "
      "unseen = \"drop\" (correct those rows for the other covariates and the training-average site effect), "
      "unseen = { site = \"A\" } (code them as level 'A'), or leave those participants out; or harmonize the sites "
      "before this step (nl.ml.combat with unseen = \"estimate\")");
  // One unseen row, no participant ids: singular wording, no ids.
  nl::Table u;
  u.set(numbers("age", {45}));
  u.set(strings("site", {"MD"}));
  CHECK_THROWS_WITH(r.apply(new_x(1), &u),
                    Catch::StartsWith("regress_out: covariate 'site' has a level not seen in the training rows: 'MD' "
                                      "(1 row); the training levels are 'A', 'B', 'C'. Choose"));
  // Seen levels pass as before.
  const nl::Table seen = new_rows({"A", "B", "C"});
  CHECK_NOTHROW(r.apply(new_x(3), &seen));
}

TEST_CASE("regress_out unseen = drop codes the site dummies as their training means", "[transform]") {
  const SixRows d;
  nl::ml::CovariateCoder coder({"age", "site"}, drop_all());
  coder.fit(d.cov);
  const nl::Table t = new_rows({"MD", "NY", "B"});
  const Matrix G = coder.apply(t);
  // Columns age, site=B, site=C: an unseen site gets the proportions 3/6 and 1/6.
  CHECK(G(0, 0) == 45);
  CHECK(G(0, 1) == 0.5);
  CHECK(G(0, 2) == 1.0 / 6);
  CHECK(G.row(1) == G.row(0));
  CHECK(G(2, 1) == 1);
  CHECK(G(2, 2) == 0);

  nl::ml::RegressOut r({"age", "site"}, drop_all());
  r.fit(d.X, &d.cov);
  const Matrix R = r.apply(new_x(3), &t);
  // By hand from the planted model at age 45 with site effect 3 (1/2) - 4 (1/6) for x1
  // and 5 (1/6) for x2: x1 = 100 - (10 + 90 + 3/2 - 2/3), x2 = 7 - (1 - 45 + 5/6).
  CHECK(R(0, 0) == Approx(-5.0 / 6).margin(1e-10));
  CHECK(R(0, 1) == Approx(50 + 1.0 / 6).margin(1e-10));
  CHECK(R.row(1).isApprox(R.row(0), 1e-12));
  // A seen site keeps its own effect: x1 = 100 - (100 + 3), x2 = 7 - (1 - 45).
  CHECK(R(2, 0) == Approx(-3).margin(1e-10));
  CHECK(R(2, 1) == Approx(51).margin(1e-10));
  // The training rows are fitted exactly.
  CHECK(r.apply(d.X, &d.cov).cwiseAbs().maxCoeff() < 1e-10);
  CHECK(r.options() == "regress_out{\"age\", \"site\", unseen = \"drop\"}");
  CHECK(r.clone()->options() == r.options());
}

TEST_CASE("regress_out unseen = {site = level} codes the row as that training level", "[transform]") {
  const SixRows d;
  nl::ml::RegressOut r({"age", "site"}, as_level("site", "B"));
  r.fit(d.X, &d.cov);
  CHECK(r.options() == "regress_out{\"age\", \"site\", unseen = {site = \"B\"}}");
  const nl::Table t = new_rows({"MD", "B", "NY"});
  const Matrix R = r.apply(new_x(3), &t);
  CHECK(R(0, 0) == Approx(-3).margin(1e-10));  // 100 - (10 + 90 + 3)
  CHECK(R(0, 1) == Approx(51).margin(1e-10));  // 7 - (1 - 45)
  CHECK(R.row(0) == R.row(1));                 // exactly what a row of site B gets
  CHECK(R.row(2) == R.row(1));
  // The reference level A: what the coding did silently before (all-zero dummies).
  nl::ml::RegressOut a({"age", "site"}, as_level("site", "A"));
  a.fit(d.X, &d.cov);
  const Matrix RA = a.apply(new_x(3), &t);
  CHECK(RA(0, 0) == Approx(0).margin(1e-10));   // 100 - (10 + 90)
  CHECK(RA(0, 1) == Approx(51).margin(1e-10));  // 7 - (1 - 45)
}

TEST_CASE("regress_out checks its unseen-level policy when built and when fitted", "[transform]") {
  const SixRows d;
  // A level that is not among the training levels: refused at fit.
  nl::ml::RegressOut z({"age", "site"}, as_level("site", "Z"));
  CHECK_THROWS_WITH(z.fit(d.X, &d.cov),
                    "regress_out: unseen = {site = \"Z\"}: 'Z' is not a level of covariate 'site' in the training "
                    "rows (the training levels are 'A', 'B', 'C')");
  CHECK_FALSE(z.fitted());
  // A column that is not a covariate: refused when built.
  CHECK_THROWS_WITH(nl::ml::RegressOut({"age", "site"}, as_level("sitee", "A")),
                    "regress_out: unseen names column 'sitee', which is not one of the covariates ('age', 'site')");
  // A number column has no levels.
  UnseenPolicy on_age;
  on_age.columns["age"] = {UnseenAction::Drop, ""};
  nl::ml::RegressOut age({"age", "site"}, on_age);
  CHECK_THROWS_WITH(age.fit(d.X, &d.cov), Catch::Contains("covariate 'age' is a number column"));
  // A level for every column, or `all` beside columns, is not a policy.
  UnseenPolicy bad;
  bad.all = {UnseenAction::Level, "A"};
  CHECK_THROWS_AS(nl::ml::RegressOut({"site"}, bad), nl::ValueError);
  UnseenPolicy both = drop_all();
  both.columns["site"] = {UnseenAction::Level, "A"};
  CHECK_THROWS_AS(nl::ml::RegressOut({"site"}, both), nl::ValueError);
  // set_unseen on a fitted step checks the level against its training levels and keeps
  // the old policy on refusal.
  nl::ml::RegressOut r({"age", "site"});
  r.fit(d.X, &d.cov);
  CHECK_THROWS_WITH(r.set_unseen(as_level("site", "MD")), Catch::Contains("'MD' is not a level of covariate 'site'"));
  CHECK(r.unseen().is_default());
  // Number and Bool covariates are never unseen.
  const nl::Table t = new_rows({"A"});
  CHECK_NOTHROW(r.apply(new_x(1), &t));
}

TEST_CASE("with_unseen applies a policy to copies of the fitted steps", "[transform]") {
  const SixRows d;
  nl::ml::Preprocessing pre;
  auto r = std::make_shared<nl::ml::RegressOut>(std::vector<std::string>{"age", "site"});
  r->fit(d.X, &d.cov);
  pre.steps.push_back(r);
  const nl::Table t = new_rows({"MD"});
  CHECK_THROWS_WITH(pre.apply(new_x(1), &t), Catch::Contains("has a level not seen"));
  const nl::ml::Preprocessing dropped = nl::ml::with_unseen(pre, drop_all());
  CHECK(dropped.apply(new_x(1), &t)(0, 0) == Approx(-5.0 / 6).margin(1e-10));
  CHECK(r->unseen().is_default());  // the original step is unchanged
  CHECK_THROWS_WITH(nl::ml::with_unseen(pre, as_level("tiv", "A")),
                    "unseen names column 'tiv', which regress_out does not read (its covariates: 'age', 'site')");
  nl::ml::Preprocessing none;
  none.steps.push_back(std::make_shared<nl::ml::Scale>());
  CHECK_THROWS_WITH(nl::ml::with_unseen(none, drop_all()),
                    Catch::StartsWith("unseen: the pipeline has no regress_out step"));
}

TEST_CASE("regress_out saves its unseen-level policy and dummy means bit for bit", "[transform]") {
  const SixRows d;
  UnseenPolicy p = as_level("site", "C");
  nl::ml::RegressOut r({"age", "site"}, p);
  r.fit(d.X, &d.cov);
  nl::Writer w;
  r.save(w);
  nl::Reader rd(w.bytes(), "<memory>", nl::ml::kStepFormat);
  auto back = nl::ml::read_transform(rd);
  CHECK(rd.done());
  auto* ro = dynamic_cast<nl::ml::RegressOut*>(back.get());
  REQUIRE(ro);
  CHECK(ro->unseen() == p);
  CHECK(ro->options() == r.options());
  CHECK(ro->coder().means_known());
  const nl::Table t = new_rows({"MD", "NY", "A"});
  CHECK(ro->apply(new_x(3), &t) == r.apply(new_x(3), &t));
  // The means travel too: drop after reloading gives the same numbers bit for bit.
  ro->set_unseen(drop_all());
  r.set_unseen(drop_all());
  CHECK(ro->apply(new_x(3), &t) == r.apply(new_x(3), &t));
  // Unfitted, with a per-column policy whose key is not a Lua name.
  UnseenPolicy q;
  q.columns["scan site"] = {UnseenAction::Drop, ""};
  nl::ml::RegressOut u({"age", "scan site"}, q);
  CHECK(u.options() == "regress_out{\"age\", \"scan site\", unseen = {[\"scan site\"] = \"drop\"}}");
  nl::Writer w2;
  u.save(w2);
  nl::Reader rd2(w2.bytes(), "<memory>", nl::ml::kStepFormat);
  auto back2 = nl::ml::read_transform(rd2);
  CHECK(back2->options() == u.options());
  CHECK_FALSE(back2->fitted());
}

// The record layout of model formats 1 and 2 (before the policy), written field by
// field: it reads with the policy Error, and without the means until restore_means.
TEST_CASE("a regress_out record of model format 2 loads with the policy error", "[transform]") {
  const SixRows d;
  nl::ml::RegressOut fitted({"age", "site"}, drop_all());
  fitted.fit(d.X, &d.cov);
  nl::Writer w;
  w.tag("step");
  w.str("regress_out");
  w.strings({"age", "site"});  // names
  w.boolean(true);             // fitted coding
  w.u64(2);
  w.str("age");
  w.u8(static_cast<std::uint8_t>(nl::ColumnType::Number));
  w.strings({});
  w.str("site");
  w.u8(static_cast<std::uint8_t>(nl::ColumnType::String));
  w.strings({"A", "B", "C"});
  w.boolean(true);  // the step's fitted flag and input width
  w.i64(2);
  w.matrix(fitted.beta());
  nl::Reader rd(w.bytes(), "<memory>", 2);
  auto back = nl::ml::read_transform(rd);
  CHECK(rd.done());
  auto* ro = dynamic_cast<nl::ml::RegressOut*>(back.get());
  REQUIRE(ro);
  CHECK(ro->unseen().is_default());
  CHECK(ro->options() == "regress_out{\"age\", \"site\"}");
  CHECK_FALSE(ro->coder().means_known());
  CHECK(ro->legacy_coding());
  CHECK_FALSE(fitted.legacy_coding());
  const nl::Table t = new_rows({"MD", "B"});
  CHECK_THROWS_WITH(ro->apply(new_x(2), &t), Catch::Contains("covariate 'site' has a level not seen"));
  // "drop" needs the means, which such a record lacks ...
  ro->set_unseen(drop_all());
  CHECK_THROWS_WITH(ro->apply(new_x(2), &t), Catch::Contains("needs the training proportions of its levels"));
  // ... until they are recomputed from the training rows.
  ro->restore_means(d.cov);
  CHECK(ro->apply(new_x(2), &t) == fitted.apply(new_x(2), &t));
  // Saved again as format 3, it stays a legacy coding, now with its means.
  nl::Writer w3;
  ro->save(w3);
  nl::Reader again(w3.bytes(), "<memory>", nl::ml::kStepFormat);
  auto back3 = nl::ml::read_transform(again);
  auto* ro3 = dynamic_cast<nl::ml::RegressOut*>(back3.get());
  REQUIRE(ro3);
  CHECK(ro3->legacy_coding());
  CHECK(ro3->coder().means_known());
  CHECK(ro3->unseen() == drop_all());
  CHECK(ro3->apply(new_x(2), &t) == fitted.apply(new_x(2), &t));
  // The same bytes read as format 3 are malformed, not misread.
  nl::Reader rd3(w.bytes(), "<memory>", 3);
  CHECK_THROWS_AS(nl::ml::read_transform(rd3), nl::FileError);
}

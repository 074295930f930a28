// Tests of nl::ml transforms: scale, prune, impute (against scikit-learn), covariate coding and regress_out (against
// R's lm, tests/data/regress_out/).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "nl/core/core.hpp"
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
  CHECK(coder.apply(u).row(0) == (Matrix(1, 4) << 0, 0, 1, 1).finished());  // unseen level: zeros
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

// Tests of nl/ml/filter.hpp: the scores and the kept columns against scikit-learn 1.2.1
// on ABIDE volumes (tests/data/ml/filter/, written by tests/data/ml/make_filter_fixture.py
// from tests/data/ml/estimators/data.csv, training rows 1-100: sex as the labels, age as
// the target), the rules scikit-learn does not share (constant features, ties, rounding
// of fraction), the step's contract, its record and its input checks.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/io/serial.hpp"
#include "nl/ml/filter.hpp"

namespace {

using nl::Matrix;
using nl::Vector;
using namespace nl::ml;

// ---------------------------------------------------------------- fixtures

// estimators/data.csv: age, sex, then the 20 standardized volumes; rows 1-100.
struct Data {
  Matrix X;
  Vector age, sex;
};

const Data& data() {
  static const Data d = [] {
    std::ifstream in(std::string(NL_TEST_DATA) + "/ml/estimators/data.csv");
    REQUIRE(in);
    std::string line;
    std::getline(in, line);  // header
    std::vector<std::vector<double>> rows;
    while (std::getline(in, line) && rows.size() < 100) {
      if (line.empty()) continue;
      std::vector<double> r;
      std::stringstream ss(line);
      std::string f;
      while (std::getline(ss, f, ',')) r.push_back(std::strtod(f.c_str(), nullptr));
      REQUIRE(r.size() == 22);
      rows.push_back(r);
    }
    REQUIRE(rows.size() == 100);
    Data out;
    out.X.resize(100, 20);
    out.age.resize(100);
    out.sex.resize(100);
    for (Eigen::Index i = 0; i < 100; ++i) {
      const auto& r = rows[static_cast<std::size_t>(i)];
      out.age(i) = r[0];
      out.sex(i) = r[1];
      for (Eigen::Index j = 0; j < 20; ++j) out.X(i, j) = r[static_cast<std::size_t>(j + 2)];
    }
    return out;
  }();
  return d;
}

// filter/reference.txt: "<case>.<name> v1 v2 ..." per line.
const std::vector<double>& ref(const std::string& key) {
  static const std::map<std::string, std::vector<double>> refs = [] {
    std::map<std::string, std::vector<double>> m;
    std::ifstream in(std::string(NL_TEST_DATA) + "/ml/filter/reference.txt");
    REQUIRE(in);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::stringstream ss(line);
      std::string k;
      ss >> k;
      std::vector<double> v;
      double x;
      while (ss >> x) v.push_back(x);
      m[k] = v;
    }
    return m;
  }();
  const auto it = refs.find(key);
  REQUIRE(it != refs.end());
  return it->second;
}

// The largest |ours - theirs| / max |theirs| over the vector.
double rel_diff(const Vector& ours, const std::vector<double>& theirs, bool absolute = false) {
  REQUIRE(ours.size() == static_cast<Eigen::Index>(theirs.size()));
  double d = 0, m = 0;
  for (Eigen::Index j = 0; j < ours.size(); ++j) {
    const double t = theirs[static_cast<std::size_t>(j)];
    d = std::max(d, std::abs(ours(j) - (absolute ? std::abs(t) : t)));
    m = std::max(m, std::abs(t));
  }
  return d / m;
}

std::vector<double> as_std(const Vector& v) { return {v.data(), v.data() + v.size()}; }

// 1-based kept columns of a fitted filter.
std::vector<double> kept_1based(const UnivariateFilter& f) {
  std::vector<double> out;
  for (const auto j : f.kept()) out.push_back(static_cast<double>(j + 1));
  return out;
}

UnivariateFilter fitted(FilterScore score, Eigen::Index k, double fraction, const Vector& y) {
  UnivariateFilter f({score, k, fraction});
  f.fit_labelled(data().X, y, nullptr);
  return f;
}

}  // namespace

// ---------------------------------------------------------------- against scikit-learn

TEST_CASE("filter f_classif scores and kept columns equal scikit-learn", "[filter]") {
  const Data& d = data();
  CHECK(rel_diff(univariate_scores(d.X, d.sex, FilterScore::FClassif), ref("f_classif.scores")) < 1e-13);
  CHECK(kept_1based(fitted(FilterScore::FClassif, 5, 0, d.sex)) == ref("f_classif.k5.kept"));
  CHECK(kept_1based(fitted(FilterScore::FClassif, 0, 0.10, d.sex)) == ref("f_classif.pct10.kept"));
  CHECK(kept_1based(fitted(FilterScore::FClassif, 0, 0.25, d.sex)) == ref("f_classif.pct25.kept"));
  CHECK(kept_1based(fitted(FilterScore::FClassif, 0, 0.33, d.sex)) == ref("f_classif.pct33.kept"));
}

TEST_CASE("filter t is the pooled t of SciPy and ranks as f_classif", "[filter]") {
  const Data& d = data();
  const Vector t = univariate_scores(d.X, d.sex, FilterScore::TTest);
  CHECK(rel_diff(t, ref("t.scores")) < 1e-13);
  const Vector F = univariate_scores(d.X, d.sex, FilterScore::FClassif);
  CHECK((t.array().square() - F.array()).abs().maxCoeff() < 1e-12 * F.maxCoeff());
  for (const Eigen::Index k : {1, 3, 5, 8, 20})
    CHECK(fitted(FilterScore::TTest, k, 0, d.sex).kept() == fitted(FilterScore::FClassif, k, 0, d.sex).kept());
}

TEST_CASE("filter f_regression and correlation equal scikit-learn", "[filter]") {
  const Data& d = data();
  CHECK(rel_diff(univariate_scores(d.X, d.age, FilterScore::FRegression), ref("f_regression.scores")) < 1e-13);
  CHECK(rel_diff(univariate_scores(d.X, d.age, FilterScore::Correlation), ref("r_regression.scores"), true) < 1e-14);
  CHECK(kept_1based(fitted(FilterScore::FRegression, 5, 0, d.age)) == ref("f_regression.k5.kept"));
  CHECK(kept_1based(fitted(FilterScore::FRegression, 0, 0.25, d.age)) == ref("f_regression.pct25.kept"));
  CHECK(kept_1based(fitted(FilterScore::Correlation, 5, 0, d.age)) == ref("r_regression.k5.kept"));
}

TEST_CASE("filter scores a constant feature 0 as f_regression does", "[filter]") {
  const Data& d = data();
  Matrix X = d.X;
  X.col(3).setConstant(2.5);
  const Vector F = univariate_scores(X, d.age, FilterScore::FRegression);
  CHECK(F(3) == 0.0);
  CHECK(rel_diff(F, ref("constant.scores")) < 1e-13);
  // scikit-learn's f_classif gives NaN there (and SelectKBest would keep it first); ours 0.
  for (const auto s : {FilterScore::FClassif, FilterScore::TTest, FilterScore::Correlation})
    CHECK(univariate_scores(X, s == FilterScore::Correlation ? d.age : d.sex, s)(3) == 0.0);
  UnivariateFilter f({FilterScore::FClassif, 19, 0});
  f.fit_labelled(X, d.sex, nullptr);
  CHECK(std::find(f.kept().begin(), f.kept().end(), 3) == f.kept().end());
}

TEST_CASE("filter fraction keeps ceil of fraction p where SelectPercentile differs", "[filter]") {
  const Data& d = data();
  // percentile 5.2 of p = 20: SelectPercentile keeps ceil(0.052 * 19) = 1, we ceil(1.04) = 2.
  const auto f = fitted(FilterScore::FClassif, 0, 0.052, d.sex);
  REQUIRE(f.kept().size() == 2);
  const auto& theirs = ref("f_classif.pct5_2.kept");
  REQUIRE(theirs.size() == 1);
  CHECK(static_cast<double>(f.kept()[0] + 1) == theirs[0]);
  CHECK(f.kept() == fitted(FilterScore::FClassif, 2, 0, d.sex).kept());
  // Products a rounding away from an integer count as that integer.
  CHECK(filter_count({FilterScore::FClassif, 0, 0.1}, 30) == 3);
  CHECK(filter_count({FilterScore::FClassif, 0, 0.7}, 10) == 7);
  CHECK(filter_count({FilterScore::FClassif, 0, 0.01}, 20) == 1);
  CHECK(filter_count({FilterScore::FClassif, 0, 1.0}, 20) == 20);
  CHECK(filter_count({FilterScore::FClassif, 0, 0.34}, 20) == 7);
}

// ---------------------------------------------------------------- rules of our own

TEST_CASE("filter ranks equal scores by the lower column and outputs ascending columns", "[filter]") {
  Vector s(6);
  s << 1.0, 3.0, 2.0, 3.0, 3.0, 0.5;
  CHECK(best_features(s, 2) == std::vector<Eigen::Index>{1, 3});
  CHECK(best_features(s, 4) == std::vector<Eigen::Index>{1, 2, 3, 4});
  CHECK(best_features(s, 6).size() == 6);
  // Two identical columns: the first is kept.
  Matrix X(6, 3);
  X << 1, 5, 5, 2, 4, 4, 3, 1, 1, 4, 0, 0, 5, 2, 2, 6, 7, 7;
  Vector y(6);
  y << 1, 1, 1, -1, -1, -1;
  UnivariateFilter f({FilterScore::FClassif, 1, 0});
  f.fit_labelled(X.rightCols(2), y, nullptr);
  CHECK(f.kept() == std::vector<Eigen::Index>{0});
  // Separated classes with no spread inside either: F = |t| = inf, kept first.
  Matrix Z(4, 2);
  Z << 0.3, 1, 0.1, 1, 0.9, 2, 0.2, 2;
  Vector y4(4);
  y4 << 1, 1, -1, -1;
  CHECK(std::isinf(univariate_scores(Z, y4, FilterScore::FClassif)(1)));
  CHECK(std::isinf(univariate_scores(Z, y4, FilterScore::TTest)(1)));
  // A constant target: every r is 0.
  CHECK(univariate_scores(Z, Vector::Constant(4, 3.0), FilterScore::Correlation).isZero(0));
}

TEST_CASE("filter scores do not depend on the scale of the data", "[filter]") {
  const Data& d = data();
  const Matrix big = d.X * 1e200, small = d.X * 1e-200;
  const Vector F = univariate_scores(d.X, d.age, FilterScore::FRegression);
  CHECK(rel_diff(univariate_scores(big, d.age, FilterScore::FRegression), as_std(F)) < 1e-13);
  CHECK(rel_diff(univariate_scores(small, d.age * 1e300, FilterScore::FRegression), as_std(F)) <
        1e-13);
  const Vector G = univariate_scores(d.X, d.sex, FilterScore::FClassif);
  CHECK(rel_diff(univariate_scores(big, d.sex, FilterScore::FClassif), as_std(G)) < 1e-13);
}

// ---------------------------------------------------------------- the step

TEST_CASE("filter follows the transform contract", "[filter]") {
  const Data& d = data();
  UnivariateFilter f({FilterScore::FClassif, 5, 0});
  CHECK(f.label_dependent());
  CHECK(f.name() == "filter");
  CHECK(f.options() == "filter{score = \"f_classif\", k = 5}");
  CHECK(UnivariateFilter({FilterScore::Correlation, 0, 0.2}).options() ==
        "filter{score = \"correlation\", fraction = 0.2}");
  CHECK(f.state().empty());
  CHECK_THROWS_WITH(f.fit(d.X, nullptr), Catch::Contains("filter: needs the labels"));
  CHECK_THROWS_WITH(f.apply(d.X, nullptr), Catch::Contains("filter: not fitted"));
  f.fit_labelled(d.X, d.sex, nullptr);
  REQUIRE(f.fitted());
  CHECK(f.n_features_in() == 20);
  CHECK(f.n_features_out() == 5);
  const Matrix out = f.apply(d.X, nullptr);
  REQUIRE(out.cols() == 5);
  for (Eigen::Index k = 0; k < 5; ++k) CHECK(out.col(k) == d.X.col(f.kept()[static_cast<std::size_t>(k)]));
  const auto st = f.state();
  REQUIRE(st.size() == 2);
  CHECK(st[0].name == "scores_");
  CHECK(st[0].value.rows() == 1);
  CHECK(st[0].value.cols() == 20);
  CHECK(st[1].name == "kept_");
  CHECK(st[1].value.rows() == 1);
  CHECK(std::vector<double>(st[1].value.data(), st[1].value.data() + 5) == ref("f_classif.k5.kept"));
  CHECK_THROWS_WITH(f.apply(d.X.leftCols(19), nullptr), Catch::Contains("fitted on 20 features, got 19"));
  // backproject: w' apply(x) = backproject(w)' x.
  Matrix w(5, 2);
  w.setRandom();
  const Matrix b = f.backproject(w);
  REQUIRE(b.rows() == 20);
  CHECK(((d.X * b) - out * w).cwiseAbs().maxCoeff() < 1e-12);
  CHECK(b.row(0).isZero(0));
  // clone is unfitted with the same options; copy keeps the state; refit starts over.
  CHECK_FALSE(f.clone()->fitted());
  CHECK(f.clone()->options() == f.options());
  const auto c = f.copy();
  CHECK(c->apply(d.X, nullptr) == out);
  f.fit_labelled(d.X.leftCols(10), d.sex, nullptr);
  CHECK(f.n_features_in() == 10);
  CHECK(c->n_features_in() == 20);
}

TEST_CASE("filter record reads back bit for bit", "[filter]") {
  const Data& d = data();
  for (const auto& o : {FilterOptions{FilterScore::TTest, 3, 0}, FilterOptions{FilterScore::FRegression, 0, 0.3}}) {
    UnivariateFilter f(o);
    nl::Writer w0;
    f.save(w0);
    nl::Reader r0(w0.bytes(), "<memory>", kStepFormat);
    const auto unfitted = read_transform(r0);
    CHECK(r0.done());
    CHECK_FALSE(unfitted->fitted());
    CHECK(unfitted->options() == f.options());
    CHECK(unfitted->label_dependent());

    f.fit_labelled(d.X, is_classification(o.score) ? d.sex : d.age, nullptr);
    nl::Writer w;
    f.save(w);
    nl::Reader r(w.bytes(), "<memory>", kStepFormat);
    const auto back = read_transform(r);
    CHECK(r.done());
    auto* g = dynamic_cast<UnivariateFilter*>(back.get());
    REQUIRE(g);
    CHECK(g->options() == f.options());
    CHECK(g->kept() == f.kept());
    CHECK(g->scores() == f.scores());
    CHECK(g->apply(d.X, nullptr) == f.apply(d.X, nullptr));
    // Older model formats have no filter step.
    nl::Reader old(w.bytes(), "<memory>", 3);
    CHECK_THROWS_WITH(read_transform(old), Catch::Contains("older than format 4"));
  }
}

TEST_CASE("filter checks its options and inputs", "[filter]") {
  const Data& d = data();
  CHECK_THROWS_WITH(UnivariateFilter({FilterScore::FClassif, 0, 0}), Catch::Contains("exactly one of k"));
  CHECK_THROWS_WITH(UnivariateFilter({FilterScore::FClassif, 3, 0.5}), Catch::Contains("exactly one of k"));
  CHECK_THROWS_WITH(UnivariateFilter({FilterScore::FClassif, -2, 0}), Catch::Contains("k must be at least 1"));
  CHECK_THROWS_WITH(UnivariateFilter({FilterScore::FClassif, 0, 1.5}), Catch::Contains("fraction must be in (0, 1]"));
  UnivariateFilter f({FilterScore::FClassif, 21, 0});
  CHECK_THROWS_WITH(f.fit_labelled(d.X, d.sex, nullptr), Catch::Contains("k = 21 is more than the 20 features"));
  CHECK_FALSE(f.fitted());
  UnivariateFilter g({FilterScore::FClassif, 2, 0});
  CHECK_THROWS_WITH(g.fit_labelled(d.X, d.sex.head(99), nullptr), Catch::Contains("99 labels for 100 rows"));
  Vector bad = d.sex;
  bad(6) = 0;
  CHECK_THROWS_WITH(g.fit_labelled(d.X, bad, nullptr), Catch::Contains("labels +1 or -1, got 0 at row 7"));
  CHECK_THROWS_WITH(g.fit_labelled(d.X, d.age, nullptr), Catch::Contains("got 28.8 at row 1"));
  CHECK_THROWS_WITH(g.fit_labelled(d.X, Vector::Ones(100), nullptr), Catch::Contains("every label is +1"));
  Matrix X = d.X;
  X(4, 2) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(g.fit_labelled(X, d.sex, nullptr), Catch::Contains("non-finite value (nan) at row 5, column 3"));
  UnivariateFilter r({FilterScore::FRegression, 2, 0});
  Vector age = d.age;
  age(9) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(r.fit_labelled(d.X, age, nullptr), Catch::Contains("finite targets, got inf at row 10"));
  CHECK_THROWS_WITH(r.fit_labelled(d.X.topRows(2), d.age.head(2), nullptr), Catch::Contains("at least 3 rows"));
  // Labels for a regression score are targets like any other.
  r.fit_labelled(d.X, d.sex, nullptr);
  CHECK(r.fitted());
}

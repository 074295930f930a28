// Tests of nl/stats/glm and nl/stats/distributions: t and F contrasts against statsmodels
// OLS (tests/data/glm, made by make_fixtures.py) to 1e-10 relative, rank-deficient
// designs, the design helpers, and the error messages.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>

#include "nl/core/core.hpp"
#include "nl/stats/distributions.hpp"
#include "nl/stats/glm.hpp"
#include "stats_fixture.hpp"

namespace {

using nl::Matrix;
using nl::Vector;
using nl_test::read_fixture;
using nl_test::rel_close;
namespace st = nl::stats;

constexpr double kRel = 1e-10;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const nl::ValueError& e) {
    return e.what();
  }
  return "(no error)";
}

// t rows of a fixture: effect se t p df.
void check_t(const st::TContrast& t, const Matrix& want) {
  REQUIRE(t.t.size() == want.rows());
  for (Eigen::Index j = 0; j < want.rows(); ++j) {
    INFO("response " << j + 1);
    CHECK(rel_close(t.effect(j), want(j, 0), kRel));
    CHECK(rel_close(t.se(j), want(j, 1), kRel));
    CHECK(rel_close(t.t(j), want(j, 2), kRel));
    CHECK(rel_close(t.p(j), want(j, 3), kRel));
    CHECK(t.df == want(j, 4));
  }
}

void check_f(const st::FContrast& f, const Matrix& want) {
  REQUIRE(f.F.size() == want.rows());
  for (Eigen::Index j = 0; j < want.rows(); ++j) {
    INFO("response " << j + 1);
    CHECK(rel_close(f.F(j), want(j, 0), kRel));
    CHECK(rel_close(f.p(j), want(j, 1), kRel));
    CHECK(f.df1 == want(j, 2));
    CHECK(f.df2 == want(j, 3));
  }
}

Vector row(const Matrix& m) { return m.row(0).transpose(); }

}  // namespace

TEST_CASE("distributions: tails and quantiles", "[stats][glm]") {
  // Values from scipy.stats 1.10 (t.sf, f.sf, chi2.sf, norm.ppf) and R 4.2 (qt; scipy's
  // t.ppf(0.975, 12) = 2.1788128296634177 is 2e-12 off R's and Boost's value).
  CHECK(rel_close(st::t_upper(2.0, 10), 0.036694017385370196, 1e-12));
  CHECK(rel_close(st::t_pvalue(-2.0, 10), 0.07338803477074039, 1e-12));
  CHECK(rel_close(st::t_pvalue(-2.0, 10, st::Tail::Left), 0.036694017385370196, 1e-12));
  CHECK(rel_close(st::t_pvalue(-2.0, 10, st::Tail::Right), 1 - 0.036694017385370196, 1e-12));
  CHECK(rel_close(st::t_upper(40.0, 30), 6.863022597203181e-28, 1e-10));
  CHECK(rel_close(st::f_upper(3.5, 2, 20), 0.04973502207609711, 1e-12));
  CHECK(rel_close(st::chi2_upper(3.84, 1), 0.05004352124870519, 1e-12));
  CHECK(rel_close(st::normal_quantile(0.975), 1.959963984540054, 1e-14));
  CHECK(rel_close(st::t_quantile(0.975, 12), 2.1788128296672284, 1e-14));
  CHECK(rel_close(st::f_quantile(0.999, 2, 30), 8.7733978869167011, 1e-12));  // R qf(0.999, 2, 30)
  CHECK(st::t_upper(std::numeric_limits<double>::infinity(), 5) == 0.0);
  CHECK(std::isnan(st::t_pvalue(std::nan(""), 5)));
  CHECK(st::t_pvalue(0.0, 5) == 1.0);
  CHECK_THROWS_AS(st::t_upper(1.0, 0.0), nl::ValueError);
}

TEST_CASE("GLM t and F contrasts equal statsmodels OLS", "[stats][glm]") {
  auto f = read_fixture("glm/full_rank.txt");
  const st::GlmFit fit = st::glm_fit(f["X"], f["Y"]);
  CHECK(fit.rank == 4);
  CHECK(fit.df == 36);
  check_t(st::t_contrast(fit, row(f["c1"])), f["t1"]);
  check_t(st::t_contrast(fit, row(f["c2"])), f["t2"]);
  check_f(st::f_contrast(fit, f["C3"]), f["F3"]);
  // The strongest effect has p ~ 1e-19: the tail is computed directly, not as 1 - cdf.
  CHECK(st::t_contrast(fit, row(f["c1"])).p(5) < 1e-18);

  SECTION("one-sided p-values are halves of the two-sided ones on the t's side") {
    const auto two = st::t_contrast(fit, row(f["c1"]));
    const auto right = st::t_contrast(fit, row(f["c1"]), st::Tail::Right);
    const auto left = st::t_contrast(fit, row(f["c1"]), st::Tail::Left);
    for (Eigen::Index j = 0; j < two.t.size(); ++j) {
      const double half = two.p(j) / 2;
      CHECK(rel_close(two.t(j) > 0 ? right.p(j) : left.p(j), half, 1e-12));
      CHECK(rel_close(right.p(j) + left.p(j), 1.0, 1e-12));
    }
  }
}

TEST_CASE("GLM on a rank-deficient design uses the pseudo-inverse and n - rank df", "[stats][glm]") {
  auto f = read_fixture("glm/rank_deficient.txt");
  const st::GlmFit fit = st::glm_fit(f["X"], f["Y"]);
  CHECK(fit.rank == 3);
  CHECK(fit.df == 27);
  check_t(st::t_contrast(fit, row(f["c1"])), f["t1"]);
  check_f(st::f_contrast(fit, f["C2"]), f["F2"]);
  // A group mean alone is not identified next to the intercept.
  Vector c(4);
  c << 0, 1, 0, 0;
  CHECK(error_of([&] { st::t_contrast(fit, c); }).find("not estimable") != std::string::npos);
}

TEST_CASE("design helpers build the documented designs", "[stats][glm]") {
  auto f = read_fixture("glm/designs.txt");
  const Matrix& g = f["group"];
  std::vector<int> group(static_cast<std::size_t>(g.rows()));
  for (Eigen::Index i = 0; i < g.rows(); ++i) group[static_cast<std::size_t>(i)] = static_cast<int>(g(i, 0));
  const st::Design d = st::two_sample_design(group, "A", "B", f["cov"], {"age", "sex"});
  CHECK((d.X - f["X"]).cwiseAbs().maxCoeff() < 1e-12);
  CHECK((d.contrast - f["c1"]).cwiseAbs().maxCoeff() == 0);
  CHECK(d.scheme == st::Exchange::Permute);
  CHECK(d.names == std::vector<std::string>{"A", "B", "age", "sex"});
  check_t(st::t_contrast(st::glm_fit(d.X, f["Y"]), row(d.contrast)), f["t1"]);

  const st::Design one = st::one_sample_design(26, f["cov"].leftCols(1), {"age"});
  CHECK((one.X - f["X1"]).cwiseAbs().maxCoeff() < 1e-12);
  CHECK(one.scheme == st::Exchange::SignFlip);
  check_t(st::t_contrast(st::glm_fit(one.X, f["Y1"]), row(one.contrast)), f["t_one"]);

  SECTION("paired design: its t equals the one-sample t on the differences") {
    nl::Rng rng(3);
    const int S = 9;
    Matrix Y(2 * S, 2), diff(S, 2);
    std::vector<int> subject, condition;
    for (int s = 0; s < S; ++s)
      for (int c = 0; c < 2; ++c) {
        subject.push_back(s);
        condition.push_back(c);
      }
    for (Eigen::Index i = 0; i < Y.rows(); ++i)
      for (Eigen::Index j = 0; j < 2; ++j) Y(i, j) = rng.normal() + (i % 2 == 0 ? 0.3 : 0.0) + 0.1 * (i / 2);
    for (int s = 0; s < S; ++s) diff.row(s) = Y.row(2 * s) - Y.row(2 * s + 1);
    std::vector<std::string> names;
    for (int s = 0; s < S; ++s) names.push_back(std::to_string(s + 1));
    const st::Design p = st::paired_design(subject, condition, "pre", "post", names, Matrix(2 * S, 0), {});
    CHECK(p.blocks == subject);
    const auto tp = st::t_contrast(st::glm_fit(p.X, Y), row(p.contrast));
    const st::Design o = st::one_sample_design(S, Matrix(S, 0), {});
    const auto to = st::t_contrast(st::glm_fit(o.X, diff), row(o.contrast));
    for (Eigen::Index j = 0; j < 2; ++j) {
      CHECK(rel_close(tp.t(j), to.t(j), 1e-10));
      CHECK(rel_close(tp.effect(j), to.effect(j), 1e-10));
      CHECK(tp.df == to.df);
    }
    // Unbalanced subjects are refused, naming the first such subject.
    subject.back() = 0;
    CHECK(error_of([&] { st::paired_design(subject, condition, "pre", "post", names, Matrix(2 * S, 0), {}); })
              .find("subject '1' has 1 row(s) for 'pre' and 2 for 'post'") != std::string::npos);
  }
}

TEST_CASE("GLM: exact fits give NaN, and errors name the argument", "[stats][glm]") {
  nl::Rng rng(1);
  Matrix X(6, 2), Y(6, 2);
  for (int i = 0; i < 6; ++i) {
    X(i, 0) = 1;
    X(i, 1) = i;
    Y(i, 0) = 5.0;  // constant: fitted exactly by the intercept
    Y(i, 1) = rng.normal();
  }
  const auto fit = st::glm_fit(X, Y);
  Vector c(2);
  c << 0, 1;
  const auto t = st::t_contrast(fit, c);
  CHECK(std::isnan(t.t(0)));
  CHECK(std::isnan(t.p(0)));
  CHECK(std::isfinite(t.t(1)));

  CHECK(error_of([&] { st::glm_fit(X, Matrix(5, 2)); }) == "design has 6 rows but the data have 5");
  Matrix bad = Y;
  bad(3, 1) = std::nan("");
  CHECK(error_of([&] { st::glm_fit(X, bad); }) == "data: entry (row 4, column 2) is NaN");
  CHECK(error_of([&] { st::glm_fit(X.topRows(2), Y.topRows(2)); }).find("too few observations") == 0);
  Vector c3(3);
  c3 << 0, 1, 0;
  CHECK(error_of([&] { st::t_contrast(fit, c3); }) == "contrast has 3 entries but the design has 2 columns");
  CHECK(error_of([&] { st::t_contrast(fit, Vector::Zero(2)); }) == "contrast is all zero");
  Matrix C(2, 2);
  C << 0, 1, 0, 2;
  CHECK(error_of([&] { st::f_contrast(fit, C); }).find("F contrast rows are linearly dependent") == 0);
}

// Tests of nl/stats/classical and nl/stats/roc against scipy 1.10, statsmodels 0.13
// (AnovaRM), R 4.2 (t.test, cor.test, p.adjust) and pROC 1.18 (tests/data/stats, made by
// make_fixtures.py and make_fixtures.R).
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "nl/core/core.hpp"
#include "nl/stats/classical.hpp"
#include "nl/stats/roc.hpp"
#include "stats_fixture.hpp"

namespace {

using nl::Matrix;
using nl::Vector;
using nl_test::read_fixture;
using nl_test::rel_close;
namespace st = nl::stats;

constexpr double kRel = 1e-10;
const st::Tail kTails[3] = {st::Tail::Two, st::Tail::Right, st::Tail::Left};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const nl::ValueError& e) {
    return e.what();
  }
  return "(no error)";
}

Vector col(const Matrix& m) { return m.col(0); }

// R's estimate, df, conf.low, conf.high for one tail.
void check_r(const st::TTest& t, const Matrix& r, Eigen::Index row) {
  CHECK(rel_close(t.estimate, r(row, 0), 1e-12));
  CHECK(rel_close(t.df, r(row, 1), 1e-12));
  CHECK(rel_close(t.ci_low, r(row, 2), 1e-12));
  CHECK(rel_close(t.ci_high, r(row, 3), 1e-12));
}

}  // namespace

TEST_CASE("Pearson and Spearman equal scipy (r, p, three alternatives) and R (CI)", "[stats][classical]") {
  auto f = read_fixture("stats/classical.txt");
  auto r = read_fixture("stats/r_classical.txt");
  const Matrix& ref = f["corr_ref"];
  const Vector xs[2] = {col(f["corr_x"]), col(f["corr_xt"])};
  const Vector ys[2] = {col(f["corr_y"]), col(f["corr_yt"])};
  for (int pair = 0; pair < 2; ++pair)
    for (int a = 0; a < 3; ++a) {
      INFO("pair " << pair << ", alternative " << a);
      const auto row = static_cast<Eigen::Index>(3 * pair + a);
      const auto p = st::pearson(xs[pair], ys[pair], kTails[a]);
      const auto s = st::spearman(xs[pair], ys[pair], kTails[a]);
      CHECK(rel_close(p.r, ref(row, 0), 1e-12));
      CHECK(rel_close(p.p, ref(row, 1), kRel));
      CHECK(rel_close(s.r, ref(row, 2), 1e-12));
      CHECK(rel_close(s.p, ref(row, 3), kRel));
      CHECK(p.df == 23);
      CHECK(std::isnan(s.ci_low));
      if (pair == 0) {
        CHECK(rel_close(p.ci_low, r["pearson_ci"](a, 2), 1e-12));
        CHECK(rel_close(p.ci_high, r["pearson_ci"](a, 3), 1e-12));
      }
    }
  CHECK(error_of([&] { st::pearson(xs[0], ys[0].head(5)); }) == "x has 25 values but y has 5");
  CHECK(error_of([&] { st::pearson(Vector::Ones(5), ys[0].head(5)); }) == "x is constant: the correlation is undefined");
  CHECK(error_of([&] { st::spearman(xs[0].head(2), ys[0].head(2)); }) ==
        "x has 2 observation(s); at least 3 are needed");
  Vector bad = xs[0];
  bad(3) = std::nan("");
  CHECK(error_of([&] { st::pearson(bad, ys[0]); }) == "x: entry 4 is NaN");
}

TEST_CASE("t-tests equal scipy (t, p) and R t.test (estimate, df, CI)", "[stats][classical]") {
  auto f = read_fixture("stats/classical.txt");
  auto r = read_fixture("stats/r_classical.txt");
  const Vector x = col(f["t_x"]), y = col(f["t_y"]), z = col(f["t_z"]);
  const Matrix& ref = f["t_ref"];
  for (int a = 0; a < 3; ++a) {
    INFO("alternative " << a);
    const auto student = st::ttest_two(x, y, false, kTails[a]);
    const auto welch = st::ttest_two(x, y, true, kTails[a]);
    const auto paired = st::ttest_paired(x, z, kTails[a]);
    const auto one = st::ttest_one(x, 0.3, kTails[a]);
    const st::TTest* all[4] = {&student, &welch, &paired, &one};
    for (int k = 0; k < 4; ++k) {
      INFO("test " << k);
      CHECK(rel_close(all[k]->t, ref(a, 2 * k), 1e-12));
      CHECK(rel_close(all[k]->p, ref(a, 2 * k + 1), kRel));
    }
    check_r(student, r["student"], a);
    check_r(welch, r["welch"], a);
    check_r(paired, r["paired"], a);
    check_r(one, r["one"], a);
  }
  CHECK(error_of([&] { st::ttest_paired(x, y); }) == "x has 18 values but y has 23");
  CHECK(error_of([&] { st::ttest_two(x, y.head(1), true); }) == "y has 1 observation(s); at least 2 are needed");
  CHECK(error_of([&] { st::ttest_one(Vector::Constant(4, 2.0)); }) == "x is constant: the t statistic is undefined");
  CHECK(error_of([&] { st::ttest_paired(x, x); }) == "x - y is constant: the t statistic is undefined");
}

TEST_CASE("chi-squared test of independence equals scipy with and without Yates", "[stats][classical]") {
  auto f = read_fixture("stats/classical.txt");
  const Matrix& ref = f["chi_ref"];
  const Matrix* tables[2] = {&f["chi_22"], &f["chi_34"]};
  for (int t = 0; t < 2; ++t)
    for (int c = 0; c < 2; ++c) {
      INFO("table " << t << ", correction " << (c == 0));
      const auto row = static_cast<Eigen::Index>(2 * t + c);
      const auto r = st::chi2_independence(*tables[t], c == 0);
      CHECK(rel_close(r.chi2, ref(row, 0), 1e-12));
      CHECK(rel_close(r.p, ref(row, 1), kRel));
      CHECK(r.df == ref(row, 2));
      CHECK(r.yates == (c == 0 && t == 0));
    }
  CHECK((st::chi2_independence(f["chi_22"]).expected - f["chi_22_expected"]).cwiseAbs().maxCoeff() < 1e-12);
  Matrix zero_row = f["chi_34"];
  zero_row.row(1).setZero();
  CHECK(error_of([&] { st::chi2_independence(zero_row); }) == "table: row 2 sums to 0, so its expected counts are 0");
  Matrix negative = f["chi_22"];
  negative(0, 1) = -1;
  CHECK(error_of([&] { st::chi2_independence(negative); }).find("table: entry (1, 2) is -1") == 0);
  CHECK(error_of([&] { st::chi2_independence(Matrix::Ones(1, 3)); }) == "table must be at least 2 x 2, got 1 x 3");
}

TEST_CASE("repeated-measures ANOVA equals statsmodels AnovaRM", "[stats][classical]") {
  auto f = read_fixture("stats/classical.txt");
  const auto r = st::anova_rm(f["rm_Y"]);
  const Matrix& ref = f["rm_ref"];
  CHECK(rel_close(r.F, ref(0, 0), 1e-12));
  CHECK(r.df1 == ref(0, 1));
  CHECK(r.df2 == ref(0, 2));
  CHECK(rel_close(r.p, ref(0, 3), kRel));
  Matrix bad = f["rm_Y"];
  bad(2, 1) = std::nan("");
  CHECK(error_of([&] { st::anova_rm(bad); }).find("data: entry (subject 3, condition 2) is not finite") == 0);
  CHECK(error_of([&] { st::anova_rm(f["rm_Y"].topRows(1)); }) == "data have 1 subject(s) (rows); at least 2 are needed");
}

TEST_CASE("Bonferroni equals R p.adjust, NaN left out of m", "[stats][classical]") {
  auto f = read_fixture("stats/classical.txt");
  auto r = read_fixture("stats/r_classical.txt");
  const Vector got = st::bonferroni(col(f["bonf_p"]));
  const Matrix& want = r["bonferroni"];
  for (Eigen::Index i = 0; i < got.size(); ++i) CHECK(rel_close(got(i), want(i, 0), 1e-15));
}

TEST_CASE("ROC: AUC, DeLong CI and Youden cut-offs equal pROC", "[stats][roc]") {
  auto f = read_fixture("stats/classical.txt");
  auto r = read_fixture("stats/roc.txt");
  const std::pair<std::string, st::RocDirection> cases[] = {
      {"roc1_less", st::RocDirection::Less}, {"roc1_greater", st::RocDirection::Greater},
      {"roc2_less", st::RocDirection::Less}, {"roc3_less", st::RocDirection::Less},
      {"roc4_auto", st::RocDirection::Auto}};
  for (const auto& [tag, dir] : cases) {
    INFO(tag);
    const std::string data = tag.substr(0, 4);
    const auto roc = st::roc(col(f[data + "_s"]), col(f[data + "_y"]), dir);
    const Matrix& a = r[tag + "_auc"];
    CHECK(rel_close(roc.auc, a(0, 0), 1e-12));
    CHECK(rel_close(roc.ci_low, a(0, 1), 1e-12));
    CHECK(rel_close(roc.ci_high, a(0, 2), 1e-12));
    CHECK(rel_close(roc.auc_sd, a(0, 3), 1e-12));
    CHECK((roc.direction == st::RocDirection::Less ? 1.0 : -1.0) == a(0, 4));
    const Matrix& curve = r[tag + "_curve"];
    REQUIRE(roc.thresholds.size() == curve.rows());
    for (Eigen::Index k = 0; k < curve.rows(); ++k) {
      CHECK(rel_close(roc.thresholds(k), curve(k, 0), 1e-15));
      CHECK(roc.sensitivity(k) == curve(k, 1));
      CHECK(roc.specificity(k) == curve(k, 2));
    }
    const Matrix& best = r[tag + "_youden"];
    REQUIRE(roc.best.size() == static_cast<std::size_t>(best.rows()));
    for (Eigen::Index k = 0; k < best.rows(); ++k) {
      CHECK(roc.thresholds(roc.best[static_cast<std::size_t>(k)]) == best(k, 0));
      CHECK(roc.sensitivity(roc.best[static_cast<std::size_t>(k)]) == best(k, 1));
      CHECK(roc.specificity(roc.best[static_cast<std::size_t>(k)]) == best(k, 2));
    }
    CHECK(roc.cutoff == best(0, 0));
    CHECK(roc.cutoff_sensitivity == best(0, 1));
    CHECK(roc.youden == best(0, 1) + best(0, 2) - 1);
  }
  Vector s(3), y(3);
  s << 1, 2, 3;
  y << 1, 1, 1;
  CHECK(error_of([&] { st::roc(s, y); }) == "ROC needs both classes: 3 cases (+1) and 0 controls (-1)");
  y << 1, 0, -1;
  CHECK(error_of([&] { st::roc(s, y); }) == "labels: entry 2 is 0, expected +1 or -1");
  // One case: the AUC exists, the DeLong CI does not (pROC gives NA).
  y << -1, -1, 1;
  const auto one = st::roc(s, y);
  CHECK(one.auc == 1.0);
  CHECK(std::isnan(one.ci_low));
}

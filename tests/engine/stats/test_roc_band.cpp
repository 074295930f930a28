// The ROC confidence band (nl::stats::sensitivity_at, roc_band) against pROC 1.18:
// coords(input = "specificity") exactly, ci.se within Monte-Carlo error
// (tests/data/stats/make_roc_band.R).
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "nl/core/core.hpp"
#include "nl/stats/roc.hpp"
#include "stats_fixture.hpp"

namespace st = nl::stats;
using nl::Matrix;
using nl::Vector;
using nl_test::read_fixture;

namespace {

const std::pair<std::string, st::RocDirection> kCases[] = {
    {"roc1_less", st::RocDirection::Less}, {"roc1_greater", st::RocDirection::Greater},
    {"roc2_less", st::RocDirection::Less}};

}  // namespace

TEST_CASE("sensitivity at given specificities matches pROC coords(input = 'specificity')", "[stats][roc]") {
  auto f = read_fixture("stats/classical.txt");
  auto r = read_fixture("stats/roc_band.txt");
  for (const auto& [tag, dir] : kCases) {
    INFO(tag);
    const std::string data = tag.substr(0, 4);
    const auto roc = st::roc(f[data + "_s"].col(0), f[data + "_y"].col(0), dir);
    const Matrix& ref = r[tag + "_coords"];
    const Vector se = st::sensitivity_at(roc, ref.col(0));
    for (Eigen::Index k = 0; k < ref.rows(); ++k) {
      INFO("specificity " << ref(k, 0));
      CHECK(std::fabs(se(k) - ref(k, 1)) < 1e-12);
    }
  }
}

TEST_CASE("the ROC band agrees with pROC ci.se within Monte-Carlo error", "[stats][roc]") {
  auto f = read_fixture("stats/classical.txt");
  auto r = read_fixture("stats/roc_band.txt");
  for (const auto& [tag, dir] : kCases) {
    INFO(tag);
    const std::string data = tag.substr(0, 4);
    const Vector s = f[data + "_s"].col(0), y = f[data + "_y"].col(0);
    const auto roc = st::roc(s, y, dir);
    const Matrix& ref = r[tag + "_cise"];
    const st::RocBand b = st::roc_band(s, y, roc, ref.col(0), 20000, 0.95, 7);
    // Both sides use 20000 replicates. The sensitivity is discrete (steps of one case),
    // so a quantile that sits on a jump may move by one step between random streams;
    // on average the two bands must be much closer than that.
    const double step = 1.0 / static_cast<double>(roc.n_cases);
    double total = 0;
    for (Eigen::Index k = 0; k < ref.rows(); ++k) {
      INFO("specificity " << ref(k, 0) << ": " << b.lower(k) << " " << b.median(k) << " " << b.upper(k) << " vs "
                          << ref(k, 1) << " " << ref(k, 2) << " " << ref(k, 3));
      CHECK(std::fabs(b.lower(k) - ref(k, 1)) <= step + 1e-12);
      CHECK(std::fabs(b.median(k) - ref(k, 2)) <= step + 1e-12);
      CHECK(std::fabs(b.upper(k) - ref(k, 3)) <= step + 1e-12);
      total += std::fabs(b.lower(k) - ref(k, 1)) + std::fabs(b.median(k) - ref(k, 2)) + std::fabs(b.upper(k) - ref(k, 3));
      CHECK(b.lower(k) <= b.median(k));
      CHECK(b.median(k) <= b.upper(k));
    }
    CHECK(total / static_cast<double>(3 * ref.rows()) < 0.2 * step);
  }
}

TEST_CASE("the ROC band depends on the seed only, and checks its arguments", "[stats][roc]") {
  auto f = read_fixture("stats/classical.txt");
  const Vector s = f["roc1_s"].col(0), y = f["roc1_y"].col(0);
  const auto roc = st::roc(s, y);
  const Vector sp = Vector::LinSpaced(11, 0, 1);
  const auto a = st::roc_band(s, y, roc, sp, 500, 0.95, 3), b = st::roc_band(s, y, roc, sp, 500, 0.95, 3);
  CHECK(a.lower == b.lower);
  CHECK(a.upper == b.upper);
  const auto c = st::roc_band(s, y, roc, sp, 500, 0.95, 4);
  CHECK(c.lower != a.lower);
  CHECK_THROWS_WITH(st::roc_band(s, y, roc, sp, 1, 0.95, 3), Catch::Contains("boot must be at least 2"));
  Vector bad = sp;
  bad(2) = 1.5;
  CHECK_THROWS_WITH(st::roc_band(s, y, roc, bad, 100, 0.95, 3), Catch::Contains("entry 3 is 1.5"));
  CHECK_THROWS_WITH(st::sensitivity_at(roc, bad), Catch::Contains("entry 3 is 1.5"));
}

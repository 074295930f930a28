// Tests of nl/ml/metrics against scikit-learn and R's pROC (tests/data/metrics, made by
// make_fixtures.py / make_fixtures.R), against the brute-force pair count that defines
// the Mann-Whitney AUC, and of the NaN and error conventions.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/ml/metrics.hpp"

namespace {

using nl::Vector;

// ---------------------------------------------------------------- fixtures

// Rows of a comma-separated file with a header line.
std::vector<std::vector<std::string>> read_csv(const std::string& name) {
  const std::string path = std::string(NL_TEST_DATA) + "/metrics/" + name;
  std::ifstream in(path);
  if (!in) FAIL("cannot open " << path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> fields;
    std::stringstream ss(line);
    std::string f;
    while (std::getline(ss, f, ',')) fields.push_back(f);
    rows.push_back(fields);
  }
  return rows;
}

// strtod reads "nan" as well.
double number(const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str()) FAIL("not a number: " << s);
  return v;
}

struct Scored {
  Vector scores, labels;
};

// scores.csv: case, label, score; in file order per case.
std::map<std::string, Scored> load_cases() {
  std::map<std::string, std::vector<std::pair<double, double>>> rows;
  for (const auto& r : read_csv("scores.csv")) rows[r[0]].emplace_back(number(r[1]), number(r[2]));
  std::map<std::string, Scored> out;
  for (const auto& [name, v] : rows) {
    Scored s{Vector(static_cast<Eigen::Index>(v.size())), Vector(static_cast<Eigen::Index>(v.size()))};
    for (std::size_t i = 0; i < v.size(); ++i) {
      s.labels[static_cast<Eigen::Index>(i)] = v[i].first;
      s.scores[static_cast<Eigen::Index>(i)] = v[i].second;
    }
    out[name] = s;
  }
  return out;
}

// Equal to 1e-12, or both NaN.
bool same(double a, double b) { return std::isnan(b) ? std::isnan(a) : std::fabs(a - b) <= 1e-12; }

// The definition: P(s_pos > s_neg) + P(s_pos = s_neg) / 2 over all pairs.
double auc_by_pairs(const Vector& s, const Vector& y) {
  double wins = 0;
  double pairs = 0;
  for (Eigen::Index i = 0; i < s.size(); ++i)
    for (Eigen::Index j = 0; j < s.size(); ++j)
      if (y[i] > 0 && y[j] < 0) {
        pairs += 1;
        wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
      }
  return wins / pairs;
}

}  // namespace

// ---------------------------------------------------------------- references

TEST_CASE("confusion and AUC match scikit-learn and pROC", "[metrics]") {
  const auto cases = load_cases();
  std::map<std::string, double> proc;
  for (const auto& r : read_csv("proc_auc.csv")) proc[r[0]] = number(r[1]);
  const auto rows = read_csv("sklearn_metrics.csv");
  REQUIRE(rows.size() == cases.size());
  for (const auto& r : rows) {
    INFO("case " << r[0]);
    const Scored& d = cases.at(r[0]);
    const auto c = nl::ml::confusion(d.scores, d.labels);
    CHECK(c.TP == std::stoll(r[1]));
    CHECK(c.TN == std::stoll(r[2]));
    CHECK(c.FP == std::stoll(r[3]));
    CHECK(c.FN == std::stoll(r[4]));
    CHECK(c.undecided == std::stoll(r[5]));
    CHECK(same(c.sensitivity, number(r[6])));
    CHECK(same(c.specificity, number(r[7])));
    CHECK(same(c.BAC, number(r[8])));
    CHECK(same(c.PPV, number(r[9])));
    CHECK(same(c.NPV, number(r[10])));
    CHECK(same(c.accuracy, number(r[11])));
    const double a = nl::ml::auc(d.scores, d.labels);
    CHECK(same(a, number(r[12])));
    REQUIRE(proc.count(r[0]));
    CHECK(same(a, proc.at(r[0])));
  }
}

TEST_CASE("roc_curve matches scikit-learn's roc_curve(drop_intermediate=False)", "[metrics]") {
  const auto cases = load_cases();
  std::map<std::string, std::vector<std::vector<std::string>>> ref;
  for (const auto& r : read_csv("sklearn_roc.csv")) ref[r[0]].push_back(r);
  REQUIRE(ref.size() == cases.size());
  for (const auto& [name, rows] : ref) {
    INFO("case " << name);
    const Scored& d = cases.at(name);
    const auto roc = nl::ml::roc_curve(d.scores, d.labels);
    REQUIRE(roc.thresholds.size() == static_cast<Eigen::Index>(rows.size()));
    REQUIRE(roc.fpr.size() == roc.thresholds.size());
    REQUIRE(roc.tpr.size() == roc.thresholds.size());
    // scikit-learn 1.2 starts at max(score) + 1; neurolua (like sklearn >= 1.3) at +inf.
    CHECK(roc.thresholds[0] == std::numeric_limits<double>::infinity());
    CHECK(number(rows[0][1]) == Approx(d.scores.maxCoeff() + 1));
    for (std::size_t k = 0; k < rows.size(); ++k) {
      const auto i = static_cast<Eigen::Index>(k);
      if (k > 0) CHECK(same(roc.thresholds[i], number(rows[k][1])));
      CHECK(same(roc.fpr[i], number(rows[k][2])));
      CHECK(same(roc.tpr[i], number(rows[k][3])));
    }
  }
}

// ---------------------------------------------------------------- definitions

TEST_CASE("AUC is the Mann-Whitney pair count and the area under the ROC curve", "[metrics]") {
  nl::Rng rng(11);
  for (int rep = 0; rep < 20; ++rep) {
    const Eigen::Index n = 5 + static_cast<Eigen::Index>(rng.below(200));
    Vector s(n), y(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      y[i] = rng.uniform() < 0.4 ? 1.0 : -1.0;
      // Coarse rounding makes many ties, within and across classes.
      s[i] = std::round((rng.normal() + 0.7 * y[i]) * 4) / 4;
    }
    y[0] = 1;
    y[1] = -1;
    const double a = nl::ml::auc(s, y);
    CHECK(std::fabs(a - auc_by_pairs(s, y)) <= 1e-14);
    const auto roc = nl::ml::roc_curve(s, y);
    double area = 0;
    for (Eigen::Index k = 1; k < roc.fpr.size(); ++k)
      area += (roc.fpr[k] - roc.fpr[k - 1]) * (roc.tpr[k] + roc.tpr[k - 1]) / 2;
    CHECK(std::fabs(a - area) <= 1e-12);
    CHECK(roc.fpr[roc.fpr.size() - 1] == 1.0);
    CHECK(roc.tpr[roc.tpr.size() - 1] == 1.0);
    // Rank-based: a monotone transform changes nothing; reversing the order gives 1 - AUC.
    // (std::atan per element: Eigen's vectorized exp can map equal inputs to different
    // outputs in SIMD lanes and the scalar tail, which would break ties.)
    CHECK(nl::ml::auc(s.unaryExpr([](double v) { return std::atan(v); }), y) == a);
    CHECK(std::fabs(nl::ml::auc(-s, y) - (1 - a)) <= 1e-15);
  }
}

TEST_CASE("confusion: zero scores count nowhere, empty denominators give NaN", "[metrics]") {
  Vector s(4), y(4);
  s << 0, 0, 0, 0;
  y << 1, -1, 1, -1;
  auto c = nl::ml::confusion(s, y);
  CHECK(c.undecided == 4);
  CHECK(c.TP + c.TN + c.FP + c.FN == 0);
  CHECK(std::isnan(c.sensitivity));
  CHECK(std::isnan(c.specificity));
  CHECK(std::isnan(c.BAC));
  CHECK(std::isnan(c.PPV));
  CHECK(std::isnan(c.NPV));
  CHECK(std::isnan(c.accuracy));
  // One class only: sensitivity is defined, specificity is not, so neither is BAC.
  s << 1, -1, 2, 0.5;
  y << 1, 1, 1, 1;
  c = nl::ml::confusion(s, y);
  CHECK(c.TP == 3);
  CHECK(c.FN == 1);
  CHECK(c.sensitivity == 0.75);
  CHECK(std::isnan(c.specificity));
  CHECK(std::isnan(c.BAC));
  CHECK(c.PPV == 1.0);
  CHECK(c.NPV == 0.0);
  CHECK(c.accuracy == 0.75);
  // -0.0 is a zero score.
  s << -0.0, 1, 1, 1;
  CHECK(nl::ml::confusion(s, y).undecided == 1);
  // No samples at all: all counts 0.
  CHECK(nl::ml::confusion(Vector(0), Vector(0)).undecided == 0);
}

// ---------------------------------------------------------------- errors

TEST_CASE("metrics: input validation", "[metrics]") {
  Vector s(3), y(3);
  s << 0.5, -1, 2;
  y << 1, -1, 1;
  CHECK_THROWS_AS(nl::ml::auc(s, y.head(2)), nl::ValueError);
  CHECK_THROWS_WITH(nl::ml::auc(s, y.head(2)), "AUC: 3 scores but 2 labels");
  CHECK_THROWS_WITH(nl::ml::confusion(s.head(1), y), "confusion: 1 scores but 3 labels");
  Vector y01 = y;
  y01[1] = 0;
  CHECK_THROWS_WITH(nl::ml::confusion(s, y01), "confusion: label 0 at position 2 is not +1 or -1");
  CHECK_THROWS_WITH(nl::ml::roc_curve(s, y01), "ROC curve: label 0 at position 2 is not +1 or -1");
  Vector sn = s;
  sn[2] = std::nan("");
  CHECK_THROWS_WITH(nl::ml::auc(sn, y), "AUC: score 3 is not finite (nan)");
  sn[2] = HUGE_VAL;
  CHECK_THROWS_WITH(nl::ml::confusion(sn, y), "confusion: score 3 is not finite (inf)");
  const Vector pos = Vector::Ones(3);
  CHECK_THROWS_WITH(nl::ml::auc(s, pos), "AUC needs both classes, but all 3 labels are +1");
  CHECK_THROWS_WITH(nl::ml::roc_curve(s, -pos), "ROC curve needs both classes, but all 3 labels are -1");
  CHECK_THROWS_WITH(nl::ml::auc(Vector(0), Vector(0)), "AUC needs both classes, but all 0 labels are -1");
  CHECK_NOTHROW(nl::ml::confusion(s, pos));
}

// Tests of external validation, interpretation, persistence and leakage for nested CV
// (nl/ml/nested_cv.hpp, nl/ml/interpret.hpp, nl/stats/multiple.hpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <unistd.h>
#include <sstream>

#include "nl/core/core.hpp"
#include "nl/io/fileio.hpp"
#include "nl/ml/components.hpp"
#include "nl/ml/interpret.hpp"
#include "nl/ml/nested_cv.hpp"
#include "nl/stats/multiple.hpp"
#include "nl/table/table.hpp"

using nl::Matrix;
using nl::Vector;

namespace {

// n subjects, p features; the first three carry +/- effect; a covariate "age" adds a
// shared trend to every feature.
void make_data(int n, int p, double effect, std::uint64_t seed, Matrix& X, Vector& y, nl::Table& cov) {
  nl::Rng rng(seed);
  X.resize(n, p);
  y.resize(n);
  std::vector<double> age(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    y(i) = rng.uniform() < 0.5 ? 1 : -1;
    age[static_cast<std::size_t>(i)] = 20 + 40 * rng.uniform();
    for (int j = 0; j < p; ++j)
      X(i, j) = rng.normal() + 0.05 * age[static_cast<std::size_t>(i)] + (j < 3 ? (j == 1 ? -effect : effect) * y(i) : 0.0);
  }
  cov = nl::Table();
  cov.set(std::make_shared<nl::Column>(nl::Column::numbers("age", age)));
}

nl::ml::PipelineSpec paper_spec(bool wrapper) {
  nl::ml::PipelineSpec spec;
  spec.steps.push_back(std::make_shared<nl::ml::Scale>(-1, 1));
  spec.steps.push_back(std::make_shared<nl::ml::Prune>());
  spec.steps.push_back(std::make_shared<nl::ml::RegressOut>(std::vector<std::string>{"age"}));
  nl::ml::RobpcaOptions ro;
  ro.k = 4;
  spec.steps.push_back(std::make_shared<nl::ml::Robpca>(ro));
  spec.steps.push_back(std::make_shared<nl::ml::Scale>(-1, 1));
  if (wrapper) spec.select = nl::ml::ForwardSelectOptions{};
  return spec;
}

nl::ml::NestedCvOptions small_cv(std::uint64_t seed) {
  nl::ml::NestedCvOptions o;
  o.outer_folds = 3;
  o.outer_repeats = 2;
  o.inner_folds = 3;
  o.inner_repeats = 2;
  o.seed = seed;
  return o;
}

std::string temp_path(const char* name) { return std::string("/tmp/nl_test_") + std::to_string(::getpid()) + name; }

}  // namespace

TEST_CASE("Benjamini-Hochberg equals R's p.adjust", "[interpret]") {
  std::ifstream in(std::string(NL_TEST_DATA) + "/fdr/bh.tsv");
  REQUIRE(in);
  std::string line;
  std::getline(in, line);
  std::vector<double> p, q;
  while (std::getline(in, line)) {
    std::istringstream s(line);
    double a, b;
    s >> a >> b;
    p.push_back(a);
    q.push_back(b);
  }
  REQUIRE(p.size() == 25);
  const Vector got = nl::stats::fdr_bh(Eigen::Map<Vector>(p.data(), static_cast<Eigen::Index>(p.size())));
  for (std::size_t k = 0; k < p.size(); ++k) CHECK(got(static_cast<Eigen::Index>(k)) == Approx(q[k]).epsilon(1e-14));
  Vector withnan(3);
  withnan << 0.01, std::nan(""), 0.04;
  const Vector g = nl::stats::fdr_bh(withnan);
  CHECK(std::isnan(g(1)));
  CHECK(g(0) == Approx(0.02));
  CHECK(g(2) == Approx(0.04));
}

TEST_CASE("back-projection is the gradient of each base model's decision", "[interpret]") {
  Matrix X;
  Vector y;
  nl::Table cov;
  make_data(72, 24, 0.8, 5, X, y, cov);
  for (bool wrapper : {false, true}) {
    const auto spec = paper_spec(wrapper);
    const auto r = nl::ml::nested_cv(spec, {0.25, 1}, X, y, &cov, small_cv(3));
    // Two subjects with equal covariates: the decision difference equals
    // w' (s(x1) - s(x2)) with s the leading scale step (the default "scaled" space) and
    // w' (x1 - x2) in raw units. (Covariates shift the decision by a term of their own.)
    for (std::size_t m = 0; m < r.models.size(); m += 7) {
      const auto& b = r.models[m];
      const Vector w = nl::ml::backproject_model(b, X.cols(), false);
      const Vector wr = nl::ml::backproject_model(b, X.cols(), true);
      const Matrix rows = X.topRows(2);
      nl::Table c2;
      c2.set(std::make_shared<nl::Column>(nl::Column::numbers("age", {41.5, 41.5})));
      const Vector d = nl::ml::model_decision(b.model, b.pre.apply(rows, &c2));
      const Matrix s = b.pre.steps.front()->apply(rows, &c2);
      CHECK((s.row(0) - s.row(1)).dot(w) == Approx(d(0) - d(1)).margin(1e-9));
      CHECK((rows.row(0) - rows.row(1)).dot(wr) == Approx(d(0) - d(1)).margin(1e-9));
    }
  }
}

TEST_CASE("interpretation: CVR, sign consistency and the planted features", "[interpret]") {
  Matrix X;
  Vector y;
  nl::Table cov;
  make_data(90, 30, 0.9, 11, X, y, cov);
  const auto r = nl::ml::nested_cv(paper_spec(false), {0.25, 1}, X, y, &cov, small_cv(4));
  const auto in = nl::ml::interpret(r);
  // refit_preprocessing: the base models of a CV2 fold share their rows; without a
  // wrapper they are one fit, counted once (one row per CV2 fold).
  REQUIRE(in.weights.rows() == static_cast<Eigen::Index>(r.chosen.size()));
  REQUIRE(in.models.size() == r.chosen.size());
  REQUIRE(in.weights.cols() == 30);
  // The planted features: 0 and 2 positive, 1 negative, and the largest |mean| weights.
  CHECK(in.mean(0) > 0);
  CHECK(in.mean(1) < 0);
  CHECK(in.mean(2) > 0);
  std::vector<int> order(30);
  for (int j = 0; j < 30; ++j) order[static_cast<std::size_t>(j)] = j;
  std::sort(order.begin(), order.end(), [&](int a, int b) { return std::abs(in.mean(a)) > std::abs(in.mean(b)); });
  std::set<int> top(order.begin(), order.begin() + 5);
  CHECK(top.count(0) == 1);
  CHECK(top.count(1) == 1);
  CHECK(top.count(2) == 1);
  CHECK(in.significant[0]);
  CHECK(in.significant[1]);
  // Hand check of the formulas on column 0.
  const auto col = in.weights.col(0).array();
  const double M = static_cast<double>(col.size());
  const double mean = col.sum() / M;
  const double sd = std::sqrt((col - mean).square().sum() / (M - 1));
  CHECK(in.cvr(0) == Approx(mean / sd));
  const double pos = (col > 0).cast<double>().sum() / M, neg = (col < 0).cast<double>().sum() / M;
  CHECK(in.consistency(0) == Approx(std::abs(pos - neg)));
  const double sdi = std::sqrt((in.consistency.array() - in.consistency.mean()).square().sum() / 29.0);
  CHECK(in.z(0) == Approx(in.consistency(0) / sdi));
  CHECK(in.p(0) == Approx(0.5 * std::erfc(in.z(0) / std::sqrt(2.0))));
  nl::ml::InterpretOptions se;
  se.cvr = nl::ml::CvrKind::StandardError;
  CHECK(nl::ml::interpret(r, se).cvr(0) == Approx(mean / (1.96 * sd / std::sqrt(M))));
  se.fdr = 1.5;
  CHECK_THROWS_WITH(nl::ml::interpret(r, se), Catch::Contains("FDR level"));
}

TEST_CASE("external validation: every base model, medians, permutations", "[oocv]") {
  Matrix X, Xn;
  Vector y, yn;
  nl::Table cov, covn;
  make_data(80, 20, 0.8, 21, X, y, cov);
  make_data(40, 20, 0.8, 22, Xn, yn, covn);
  const auto spec = paper_spec(false);
  const auto r = nl::ml::nested_cv(spec, {0.25, 1}, X, y, &cov, small_cv(6));
  const auto ext = nl::ml::apply_models(r, Xn, &covn);
  REQUIRE(ext.scores.size() == 40);
  for (const auto& s : ext.scores) REQUIRE(s.size() == r.models.size());
  // Subject 3's scores, computed model by model.
  const Matrix row = Xn.row(3);
  const nl::Table c = covn.take({3});
  for (std::size_t m = 0; m < r.models.size(); ++m)
    CHECK(ext.scores[3][m] == Approx(nl::ml::model_decision(r.models[m].model, r.models[m].pre.apply(row, &c))(0)).epsilon(1e-12));
  CHECK(ext.median(3) == nl::ml::median_of(ext.scores[3]));
  const double bac = nl::ml::score_bac(ext.median, yn);
  CHECK(bac > 0.7);
  nl::set_threads(1);
  const auto p1 = nl::ml::external_permutation_test(spec, r, Xn, yn, &covn, 30);
  nl::set_threads(2);
  const auto p2 = nl::ml::external_permutation_test(spec, r, Xn, yn, &covn, 30);
  CHECK(p1.bac == p2.bac);
  CHECK(p1.observed == bac);
  CHECK(p1.count <= 2);
  // Errors: wrong width, missing covariates.
  CHECK_THROWS_WITH(nl::ml::apply_models(r, Xn.leftCols(19), &covn), Catch::Contains("19 features"));
  CHECK_THROWS_WITH(nl::ml::apply_models(r, Xn, nullptr), Catch::Contains("reads covariate 'age', but no covariates were given"));
}

namespace {

// make_data plus a text covariate: training sites A, B, C in turn, and the new rows'
// sites given.
nl::Table with_site(const nl::Table& cov, const std::vector<std::string>& cycle) {
  nl::Table t = cov;
  std::vector<std::string> site;
  for (std::size_t i = 0; i < t.nrows(); ++i) site.push_back(cycle[i % cycle.size()]);
  t.set(std::make_shared<nl::Column>(nl::Column::strings("site", site)));
  return t;
}

nl::ml::PipelineSpec site_spec(nl::ml::UnseenPolicy unseen = {}) {
  nl::ml::PipelineSpec spec;
  spec.steps.push_back(std::make_shared<nl::ml::Scale>(-1, 1));
  spec.steps.push_back(std::make_shared<nl::ml::RegressOut>(std::vector<std::string>{"age", "site"}, unseen));
  return spec;
}

}  // namespace

TEST_CASE("external validation: a site the training lacked raises unless the call gives a policy", "[oocv]") {
  Matrix X, Xn;
  Vector y, yn;
  nl::Table cov0, covn0;
  make_data(60, 8, 0.8, 41, X, y, cov0);
  make_data(30, 8, 0.8, 42, Xn, yn, covn0);
  const nl::Table cov = with_site(cov0, {"A", "B", "C"});
  const nl::Table covn = with_site(covn0, {"MD", "NY", "A"});
  const nl::Table as_a = with_site(covn0, {"A", "A", "A"});  // the new sites replaced by A
  const auto spec = site_spec();
  const auto r = nl::ml::nested_cv(spec, {0.25, 1}, X, y, &cov, small_cv(8));
  CHECK_THROWS_WITH(nl::ml::apply_models(r, Xn, &covn),
                    "apply (base model of CV2 fold 1, CV1 partition 1): regress_out: covariate 'site' has levels not "
                    "seen in the training rows: 'MD' (10 rows), 'NY' (10 rows); the training levels are 'A', 'B', "
                    "'C'. Choose unseen = \"drop\" (correct those rows for the other covariates and the "
                    "training-average site effect), unseen = { site = \"A\" } (code them as level 'A'), or leave "
                    "those participants out; or harmonize the sites before this step (nl.ml.combat with unseen = "
                        "\"estimate\")");
  // Coding the new sites as A equals replacing them by A in the table.
  nl::ml::UnseenPolicy a;
  a.columns["site"] = {nl::ml::UnseenAction::Level, "A"};
  CHECK(nl::ml::apply_models(r, Xn, &covn, &a).median == nl::ml::apply_models(r, Xn, &as_a).median);
  CHECK(nl::ml::external_permutation_test(spec, r, Xn, yn, &covn, 6, {}, &a).bac ==
        nl::ml::external_permutation_test(spec, r, Xn, yn, &as_a, 6).bac);
  // "drop": every base model's scores from copies of its steps with that policy.
  nl::ml::UnseenPolicy drop;
  drop.all.action = nl::ml::UnseenAction::Drop;
  const auto ext = nl::ml::apply_models(r, Xn, &covn, &drop);
  const nl::Table c0 = covn.take({0});
  for (std::size_t m = 0; m < r.models.size(); ++m) {
    const Matrix row = nl::ml::with_unseen(r.models[m].pre, drop).apply(Xn.topRows(1), &c0);
    CHECK(ext.scores[0][m] == nl::ml::model_decision(r.models[m].model, row)(0));
  }
  CHECK(ext.median != nl::ml::apply_models(r, Xn, &as_a).median);
  // The stored models keep their own policy.
  for (const auto& m : r.models)
    CHECK(dynamic_cast<const nl::ml::RegressOut&>(*m.pre.steps[1]).unseen().is_default());
  CHECK_THROWS_WITH(nl::ml::apply_models(r, Xn, &covn), Catch::Contains("has levels not seen"));
  // A level no base model was trained on is refused, naming the model.
  nl::ml::UnseenPolicy md;
  md.columns["site"] = {nl::ml::UnseenAction::Level, "MD"};
  CHECK_THROWS_WITH(nl::ml::apply_models(r, Xn, &covn, &md),
                    Catch::StartsWith("apply (base model of CV2 fold 1, CV1 partition 1): regress_out: unseen = {site "
                                      "= \"MD\"}: 'MD' is not a level of covariate 'site'"));

  // A policy given to the pipeline's step is saved with the result and reloaded.
  const auto spec_drop = site_spec(drop);
  const auto rd = nl::ml::nested_cv(spec_drop, {0.25, 1}, X, y, &cov, small_cv(8));
  CHECK(rd.median == r.median);  // every training level is seen inside the CV
  const std::string path = temp_path("unseen.nlm");
  nl::ml::save_result(path, spec_drop, rd, std::nullopt, nl::ml::PermutationMode::NeuroMiner);
  const auto loaded = nl::ml::load_result(path);
  std::remove(path.c_str());
  CHECK(loaded.spec.steps[1]->options() == "regress_out{\"age\", \"site\", unseen = \"drop\"}");
  CHECK(nl::ml::apply_models(loaded.result, Xn, &covn).median == nl::ml::apply_models(rd, Xn, &covn).median);
  CHECK(nl::ml::apply_models(rd, Xn, &covn).median == ext.median);
}

TEST_CASE("saved and reloaded results predict and permute identically", "[persist]") {
  Matrix X, Xn;
  Vector y, yn;
  nl::Table cov, covn;
  make_data(60, 16, 0.8, 31, X, y, cov);
  make_data(30, 16, 0.8, 32, Xn, yn, covn);
  const auto spec = paper_spec(true);
  auto r = nl::ml::nested_cv(spec, {0.25, 1}, X, y, &cov, small_cv(7));
  r.feature_names = {};
  for (int j = 0; j < 16; ++j) r.feature_names.push_back("region " + std::to_string(j));
  const auto perm = nl::ml::permutation_test(spec, r, X, y, &cov, r.options, 12, nl::ml::PermutationMode::NeuroMiner);
  const std::string path = temp_path("model.nlm");
  nl::ml::save_result(path, spec, r, perm, nl::ml::PermutationMode::NeuroMiner);
  const auto loaded = nl::ml::load_result(path);
  const auto& r2 = loaded.result;
  CHECK(r2.feature_names == r.feature_names);
  CHECK(r2.median == r.median);
  CHECK(r2.chosen == r.chosen);
  CHECK(r2.metrics.BAC == r.metrics.BAC);
  REQUIRE(loaded.permutations);
  CHECK(loaded.permutations->bac == perm.bac);
  CHECK(loaded.permutations->p_count == perm.p_count);
  CHECK(loaded.spec.select.has_value());
  // External predictions and permutations: bit for bit.
  CHECK(nl::ml::apply_models(r2, Xn, &covn).median == nl::ml::apply_models(r, Xn, &covn).median);
  CHECK(nl::ml::external_permutation_test(loaded.spec, r2, Xn, yn, &covn, 8).bac ==
        nl::ml::external_permutation_test(spec, r, Xn, yn, &covn, 8).bac);
  // The CV permutation test re-run from the reloaded plan gives the same null.
  CHECK(nl::ml::permutation_test(loaded.spec, r2, X, y, &cov, r2.options, 12, nl::ml::PermutationMode::NeuroMiner).bac ==
        perm.bac);
  // Interpretation survives too.
  CHECK(nl::ml::interpret(r2).weights == nl::ml::interpret(r).weights);

  // Damaged and foreign files: clear errors naming the file.
  std::string bytes = nl::read_file(path);
  const std::string bad = temp_path("bad.nlm");
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x10;
  nl::write_file_atomic(bad, flipped);
  CHECK_THROWS_WITH(nl::ml::load_result(bad), Catch::Contains(bad) && Catch::Contains("checksum mismatch"));
  nl::write_file_atomic(bad, bytes.substr(0, bytes.size() - 100));
  CHECK_THROWS_WITH(nl::ml::load_result(bad), Catch::Contains("truncated"));
  nl::write_file_atomic(bad, bytes.substr(0, 20));
  CHECK_THROWS_WITH(nl::ml::load_result(bad), Catch::Contains("truncated"));
  nl::write_file_atomic(bad, "participant_id\tage\nsub-01\t30\n");
  CHECK_THROWS_WITH(nl::ml::load_result(bad), Catch::Contains("not a neurolua model file"));
  std::string newer = bytes;
  newer[16] = 9;  // the version field
  nl::write_file_atomic(bad, newer);
  CHECK_THROWS_WITH(nl::ml::load_result(bad), Catch::Contains("version 9 is not supported"));
  CHECK_THROWS_WITH(nl::ml::load_result(temp_path("missing.nlm")), Catch::Contains("cannot open"));
  std::remove(path.c_str());
  std::remove(bad.c_str());
}

TEST_CASE("leakage: a test fold's labels and features never reach its models", "[leakage]") {
  Matrix X;
  Vector y;
  nl::Table cov;
  make_data(60, 12, 0.8, 41, X, y, cov);
  auto o = small_cv(8);
  o.outer_repeats = 1;
  o.outer_assignment = {std::vector<int>(60)};
  for (int i = 0; i < 60; ++i) o.outer_assignment[0][static_cast<std::size_t>(i)] = i % 3;
  const auto spec = paper_spec(true);
  const auto a = nl::ml::nested_cv(spec, {0.25, 1}, X, y, &cov, o);
  // Change everything about outer fold 0's test subjects (i % 3 == 0): flip their
  // labels and replace their features and covariates with extreme values.
  Vector y2 = y;
  Matrix X2 = X;
  std::vector<double> age2;
  for (int i = 0; i < 60; ++i) {
    age2.push_back(cov.column("age")->number(static_cast<std::size_t>(i)));
    if (i % 3 == 0) {
      y2(i) = -y2(i);
      X2.row(i).setConstant(1000.0 * (i + 1));
      age2.back() = -500;
    }
  }
  nl::Table cov2;
  cov2.set(std::make_shared<nl::Column>(nl::Column::numbers("age", age2)));
  const auto b = nl::ml::nested_cv(spec, {0.25, 1}, X2, y2, &cov2, o);
  // Outer fold 0's base models are the same: same preprocessing state, weights, C.
  CHECK(a.chosen[0] == b.chosen[0]);
  const std::size_t P = a.models.size() / 3;
  for (std::size_t m = 0; m < P; ++m) {
    REQUIRE(a.models[m].outer == 0);
    CHECK(a.models[m].model.svc.w == b.models[m].model.svc.w);
    CHECK(a.models[m].model.features == b.models[m].model.features);
    const auto sa = a.models[m].pre.steps[3]->state(), sb = b.models[m].pre.steps[3]->state();
    CHECK(sa[1].value == sb[1].value);  // robpca loadings
  }
}

TEST_CASE("leakage: pure noise through the wrapper stays at chance", "[leakage]") {
  // 200 noise features, random labels: with selection inside the folds the BAC is at
  // chance; selecting the 10 features most correlated with the labels on all subjects
  // before the CV (the classic leak) lifts it well above chance, which shows that this
  // test can fail.
  nl::Rng rng(51);
  const int n = 60, p = 200;
  Matrix X(n, p);
  Vector y(n);
  for (int i = 0; i < n; ++i) {
    y(i) = i % 2 ? 1 : -1;
    for (int j = 0; j < p; ++j) X(i, j) = rng.normal();
  }
  nl::ml::PipelineSpec spec;
  spec.steps.push_back(std::make_shared<nl::ml::Scale>(-1, 1));
  spec.select = nl::ml::ForwardSelectOptions{};
  double honest = 0;
  const int seeds = 3;
  for (int s = 0; s < seeds; ++s) honest += nl::ml::nested_cv(spec, {1}, X, y, nullptr, small_cv(60 + s)).metrics.BAC;
  honest /= seeds;
  CHECK(honest > 0.3);
  CHECK(honest < 0.65);
  // The leak: a label-based filter on all subjects.
  std::vector<std::pair<double, int>> corr;
  for (int j = 0; j < p; ++j) {
    const Vector c = X.col(j).array() - X.col(j).mean();
    corr.emplace_back(-std::abs(c.dot(y)) / c.norm(), j);
  }
  std::sort(corr.begin(), corr.end());
  std::vector<Eigen::Index> best;
  for (int k = 0; k < 10; ++k) best.push_back(corr[static_cast<std::size_t>(k)].second);
  const Matrix leaked = X(Eigen::all, best);
  nl::ml::PipelineSpec plain;
  plain.steps.push_back(std::make_shared<nl::ml::Scale>(-1, 1));
  CHECK(nl::ml::nested_cv(plain, {1}, leaked, y, nullptr, small_cv(60)).metrics.BAC > 0.7);
}

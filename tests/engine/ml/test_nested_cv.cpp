// Tests of nl/ml/nested_cv: folds, the structure of a nested-CV result, determinism
// across thread counts, permutation p-values.
#include <catch2/catch.hpp>

#include <set>

#include "nl/core/core.hpp"
#include "nl/ml/components.hpp"
#include "nl/ml/nested_cv.hpp"

using nl::Matrix;
using nl::Vector;

namespace {
void make_data(int n, int p, double effect, std::uint64_t seed, Matrix& X, Vector& y) {
  nl::Rng rng(seed);
  X.resize(n, p);
  y.resize(n);
  for (int i = 0; i < n; ++i) {
    y(i) = i < n / 2 + 3 ? 1 : -1;
    for (int j = 0; j < p; ++j) X(i, j) = rng.normal() + (j < 3 ? effect * y(i) : 0.0);
  }
}

nl::ml::PipelineSpec simple_spec() {
  nl::ml::PipelineSpec spec;
  spec.steps.push_back(std::make_shared<nl::ml::Scale>(-1, 1));
  spec.steps.push_back(std::make_shared<nl::ml::Prune>());
  return spec;
}
}  // namespace

TEST_CASE("stratified folds keep class proportions and sizes", "[nested_cv]") {
  Vector y(20);
  for (int i = 0; i < 20; ++i) y(i) = i < 8 ? 1 : -1;
  nl::Rng rng(3);
  const auto folds = nl::ml::stratified_folds(y, 3, 4, rng);
  REQUIRE(folds.size() == 4);
  for (const auto& a : folds) {
    int size[3] = {0, 0, 0}, pos[3] = {0, 0, 0};
    for (int i = 0; i < 20; ++i) {
      ++size[a[i]];
      if (y(i) > 0) ++pos[a[i]];
    }
    for (int f = 0; f < 3; ++f) {
      CHECK(size[f] >= 6);
      CHECK(size[f] <= 7);
      CHECK(pos[f] >= 2);
      CHECK(pos[f] <= 3);
    }
  }
  CHECK(folds[0] != folds[1]);
  Vector few(5);
  few << 1, 1, -1, -1, -1;
  CHECK_THROWS_WITH(nl::ml::stratified_folds(few, 3, 1, rng), Catch::Contains("positive class has 2 subjects"));
}

TEST_CASE("p-value formulas", "[nested_cv]") {
  nl::ml::PermutationResult r;
  r.observed = 0.7;
  r.bac = {0.5, 0.7, 0.72, 0.4, 0.6, 0.55, 0.5, 0.45, 0.6, 0.69};
  nl::ml::finish_pvalues(r);
  CHECK(r.count == 2);  // ties count as at least as good
  CHECK(r.p_count == Approx(0.2));
  CHECK(r.p_plus_one == Approx(3.0 / 11.0));
  CHECK(nl::ml::median_of({3, 1, 2}) == 2);
  CHECK(nl::ml::median_of({4, 1, 2, 3}) == 2.5);
}

TEST_CASE("nested CV: structure, signal and determinism", "[nested_cv]") {
  Matrix X;
  Vector y;
  make_data(60, 8, 1.0, 11, X, y);
  const auto spec = simple_spec();
  const std::vector<double> grid = {0.25, 1.0, 4.0};
  nl::ml::NestedCvOptions o;
  nl::set_threads(1);
  const auto r1 = nl::ml::nested_cv(spec, grid, X, y, nullptr, o);
  REQUIRE(r1.models.size() == 225);
  REQUIRE(r1.chosen.size() == 15);
  for (const auto& s : r1.scores) CHECK(s.size() == 75);
  CHECK(r1.metrics.BAC > 0.8);
  CHECK(r1.auc > 0.85);
  nl::set_threads(2);
  const auto r2 = nl::ml::nested_cv(spec, grid, X, y, nullptr, o);
  CHECK(r1.scores == r2.scores);  // bit-identical on 1 and 2 threads
  CHECK(r1.chosen == r2.chosen);
  o.seed = 2;
  const auto r3 = nl::ml::nested_cv(spec, grid, X, y, nullptr, o);
  CHECK(r3.scores != r1.scores);
}

TEST_CASE("nested CV: null data are at chance, permutations", "[nested_cv]") {
  Matrix X;
  Vector y;
  make_data(60, 8, 0.0, 12, X, y);
  const auto spec = simple_spec();
  nl::ml::NestedCvOptions o;
  o.outer_repeats = 2;
  o.inner_repeats = 2;
  const auto r = nl::ml::nested_cv(spec, {1.0}, X, y, nullptr, o);
  CHECK(r.metrics.BAC < 0.7);
  Matrix Xs;
  Vector ys;
  make_data(60, 8, 1.2, 13, Xs, ys);
  const auto rs = nl::ml::nested_cv(spec, {1.0}, Xs, ys, nullptr, o);
  nl::set_threads(1);
  const auto p1 = nl::ml::permutation_test(spec, rs, Xs, ys, nullptr, o, 19, nl::ml::PermutationMode::NeuroMiner);
  nl::set_threads(2);
  const auto p2 = nl::ml::permutation_test(spec, rs, Xs, ys, nullptr, o, 19, nl::ml::PermutationMode::NeuroMiner);
  CHECK(p1.bac == p2.bac);
  CHECK(p1.count == 0);
  CHECK(p1.p_plus_one == Approx(1.0 / 20));
  const auto pf = nl::ml::permutation_test(spec, rs, Xs, ys, nullptr, o, 5, nl::ml::PermutationMode::Full);
  CHECK(pf.bac.size() == 5);
  for (double b : pf.bac) CHECK(b < rs.metrics.BAC);
}

TEST_CASE("nested CV: user folds and input errors", "[nested_cv]") {
  Matrix X;
  Vector y;
  make_data(30, 4, 1.0, 14, X, y);
  nl::ml::NestedCvOptions o;
  o.outer_repeats = 1;
  o.inner_repeats = 1;
  o.outer_assignment = {std::vector<int>(30)};
  for (int i = 0; i < 30; ++i) o.outer_assignment[0][i] = i % 3;
  const auto r = nl::ml::nested_cv(simple_spec(), {1.0}, X, y, nullptr, o);
  CHECK(r.outer_assignment == o.outer_assignment);
  o.outer_assignment[0][4] = 7;
  CHECK_THROWS_WITH(nl::ml::nested_cv(simple_spec(), {1.0}, X, y, nullptr, o),
                    "nested CV: fold assignment 1 gives subject 5 fold 8 (expected 1..3)");
  o.outer_assignment.clear();
  CHECK_THROWS_AS(nl::ml::nested_cv(simple_spec(), {}, X, y, nullptr, o), nl::ValueError);
  CHECK_THROWS_AS(nl::ml::nested_cv(simple_spec(), {1.0}, X, y.head(10), nullptr, o), nl::ValueError);
}

// ---------------------------------------------------------------- issue 18

namespace {
nl::ml::PipelineSpec wrapper_spec() {
  nl::ml::PipelineSpec spec = simple_spec();
  spec.steps.push_back(std::make_shared<nl::ml::Pca>(4));
  spec.steps.push_back(std::make_shared<nl::ml::Scale>(-1, 1));
  spec.select = nl::ml::ForwardSelectOptions{};
  return spec;
}
}  // namespace

// Observed and permuted models are solved alike (same stream, both cold): retraining on
// the observed labels gives the observed base models bit for bit, with and without
// refit, with and without a wrapper, on 1 and 2 threads.
TEST_CASE("retraining on the observed labels reproduces the observed base models", "[nested_cv]") {
  Matrix X;
  Vector y;
  make_data(48, 8, 0.8, 21, X, y);
  for (const bool refit : {true, false})
    for (const bool wrapper : {false, true}) {
      const auto spec = wrapper ? wrapper_spec() : simple_spec();
      nl::ml::NestedCvOptions o;
      o.outer_folds = 3;
      o.outer_repeats = 2;
      o.inner_folds = 3;
      o.inner_repeats = 1;
      o.seed = 4;
      o.refit_preprocessing = refit;
      const auto r = nl::ml::nested_cv(spec, {0.25, 1.0}, X, y, nullptr, o);
      CHECK(r.solver_start == nl::ml::SolverStart::Cold);
      for (const int threads : {1, 2}) {
        nl::set_threads(threads);
        const auto again = nl::ml::retrain_models(spec, r, y);
        REQUIRE(again.size() == r.models.size());
        for (std::size_t m = 0; m < again.size(); ++m) {
          REQUIRE(again[m].has_value());
          CHECK(again[m]->features == r.models[m].model.features);
          CHECK(again[m]->svc.w == r.models[m].model.svc.w);
          CHECK(again[m]->svc.b == r.models[m].model.svc.b);
        }
      }
      nl::set_threads(2);
    }
}

// refit_preprocessing: a retrained base model's preprocessing is fitted on its training
// rows, CV1-train + CV1-test = the CV2 training set (checked on the scale step's learned
// minimum and maximum, by hand); without it, on CV1-train. Model selection always uses
// the CV1-train fit.
TEST_CASE("refit_preprocessing fits the retrained models' preprocessing on their rows", "[nested_cv]") {
  Matrix X;
  Vector y;
  make_data(36, 5, 0.8, 5, X, y);
  for (const bool refit : {true, false}) {
    nl::ml::NestedCvOptions o;
    o.outer_folds = 3;
    o.outer_repeats = 1;
    o.inner_folds = 2;
    o.inner_repeats = 1;
    o.refit_preprocessing = refit;
    const auto r = nl::ml::nested_cv(simple_spec(), {1.0}, X, y, nullptr, o);
    for (std::size_t m = 0; m < r.models.size(); ++m) {
      const auto& bm = r.models[m];
      const auto folds = nl::ml::inner_folds(r, static_cast<std::size_t>(bm.outer));
      std::vector<Eigen::Index> rows;
      for (std::size_t k = 0; k < folds.rows.size(); ++k)
        if (refit || folds.assignment[0][k] != bm.inner) rows.push_back(folds.rows[k]);
      const auto state = bm.pre.steps.front()->state();  // scale: min_, max_
      for (Eigen::Index j = 0; j < X.cols(); ++j) {
        double lo = 1e300, hi = -1e300;
        for (Eigen::Index i : rows) lo = std::min(lo, X(i, j)), hi = std::max(hi, X(i, j));
        CHECK(state[0].value(0, j) == lo);
        CHECK(state[1].value(0, j) == hi);
      }
    }
  }
}

// A NeuroMiner-mode permutation's BAC is that of its median scores against the original
// labels by default (NeuroMiner 1.3), or against the labels it was trained on.
TEST_CASE("permutation scoring: original and permuted labels", "[nested_cv]") {
  Matrix X;
  Vector y;
  make_data(40, 6, 1.0, 8, X, y);
  nl::ml::NestedCvOptions o;
  o.outer_repeats = 1;
  o.inner_repeats = 1;
  const auto spec = simple_spec();
  const auto r = nl::ml::nested_cv(spec, {1.0}, X, y, nullptr, o);
  CHECK(nl::ml::resolve_scoring(nl::ml::PermutationMode::NeuroMiner, nl::ml::PermutationScoring::Default) ==
        nl::ml::PermutationScoring::Original);
  CHECK(nl::ml::resolve_scoring(nl::ml::PermutationMode::Full, nl::ml::PermutationScoring::Default) ==
        nl::ml::PermutationScoring::Permuted);
  for (const auto scoring : {nl::ml::PermutationScoring::Original, nl::ml::PermutationScoring::Permuted}) {
    nl::ml::PermutationSettings s;
    s.scoring = scoring;
    s.keep_null = true;
    const auto p = nl::ml::permutation_test(spec, r, X, y, nullptr, o, 5, nl::ml::PermutationMode::NeuroMiner, {}, s);
    CHECK(p.scoring == scoring);
    for (std::size_t k = 0; k < 5; ++k) {
      const Vector& truth = scoring == nl::ml::PermutationScoring::Original ? y : p.null_labels[k];
      CHECK(p.bac[k] == nl::ml::score_bac(p.null_medians[k], truth));
      CHECK(p.null_labels[k].sum() == y.sum());  // a permutation of y
    }
  }
}

// draw_folds (issue 19, CV schemes): groups stay together; a fold whose training rows
// would hold one class only is refused with the fold named.
TEST_CASE("draw_folds keeps groups together and refuses one-class training rows", "[nested_cv]") {
  Vector y(12);
  y << 1, 1, 1, 1, -1, -1, -1, -1, 1, -1, 1, -1;
  std::vector<int> g = {0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5};
  nl::Rng rng(2, 0);
  const auto f = nl::ml::draw_folds(y, &g, 3, 4, true, rng);
  REQUIRE(f.size() == 4);
  for (const auto& a : f)
    for (std::size_t i = 0; i + 1 < a.size(); i += 2) CHECK(a[i] == a[i + 1]);
  // All positives in one group: its fold's training rows have none.
  Vector z(6);
  z << 1, 1, -1, -1, -1, -1;
  std::vector<int> h = {0, 0, 1, 1, 2, 2};
  nl::Rng r2(1, 0);
  CHECK_THROWS_WITH(nl::ml::draw_folds(z, &h, 3, 1, true, r2), Catch::Contains("hold only the negative class"));
  CHECK(nl::ml::leave_one_group_out({5, 2, 5, 9}) == std::vector<int>{1, 0, 1, 2});
}

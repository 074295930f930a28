// Tests of nl/ml/pipeline: the forward wrapper's cycle and block rules, fit_model with
// and without validation rows, and fit_pipeline's use of training rows only.
#include <catch2/catch.hpp>

#include <cmath>

#include "nl/core/core.hpp"
#include "nl/ml/components.hpp"
#include "nl/ml/pipeline.hpp"

using nl::Matrix;
using nl::Vector;

namespace {
// n samples, p features; only feature `signal` carries the class.
void make_data(int n, int p, int signal, std::uint64_t seed, Matrix& X, Vector& y) {
  nl::Rng rng(seed);
  X.resize(n, p);
  y.resize(n);
  for (int i = 0; i < n; ++i) {
    y(i) = i % 2 == 0 ? 1 : -1;
    for (int j = 0; j < p; ++j) X(i, j) = rng.normal() + (j == signal ? 2.0 * y(i) : 0.0);
  }
}
}  // namespace

TEST_CASE("score_bac counts zero scores in no cell", "[pipeline]") {
  Vector s(4), y(4);
  s << 1, -1, 0, 1;
  y << 1, -1, 1, -1;
  CHECK(nl::ml::score_bac(s, y) == Approx(0.5 * (1.0 + 0.5)));
  Vector z = Vector::Zero(4);
  CHECK(nl::ml::score_bac(z, y) == 0);
}

TEST_CASE("forward_select: cycles, block sizes and the stop rule", "[pipeline]") {
  Matrix Xtr, Xval;
  Vector ytr, yval;
  make_data(60, 10, 3, 1, Xtr, ytr);
  make_data(30, 10, 3, 2, Xval, yval);
  nl::ml::SvcSpec svc;
  nl::Rng rng(0);
  // p = 10, step 0.1: one feature per block; stop 0.8: pools of 10, 9, 8 are searched.
  const auto sel = nl::ml::forward_select(Xtr, ytr, Xval, yval, svc, {0.10, 0.80}, rng);
  CHECK(sel.cycles == 3);
  REQUIRE(!sel.features.empty());
  CHECK(sel.features.size() <= 3);
  CHECK(sel.features[0] == 3);  // the informative feature wins the first cycle alone
  CHECK(sel.bac > 0.75);
  // step 0.25: blocks of ceil(2.5) = 3, then ceil(1.75) = 2; stop 0.6 -> pool 10, 7 (< 6? no), 5 (< 6): 2 cycles.
  const auto sel2 = nl::ml::forward_select(Xtr, ytr, Xval, yval, svc, {0.25, 0.60}, rng);
  CHECK(sel2.cycles == 2);
  CHECK((sel2.features.size() == 3 || sel2.features.size() == 5));
  CHECK_THROWS_AS(nl::ml::forward_select(Xtr, ytr, Xval, yval, svc, {0.0, 0.8}, rng), nl::ValueError);
}

TEST_CASE("fit_model retrains on training + validation rows", "[pipeline]") {
  Matrix Xtr, Xval;
  Vector ytr, yval;
  make_data(40, 4, 0, 3, Xtr, ytr);
  make_data(20, 4, 0, 4, Xval, yval);
  nl::ml::PipelineSpec spec;
  nl::Rng rng(0);
  const auto m = nl::ml::fit_model(Xtr, ytr, &Xval, &yval, spec, rng);
  Matrix A(60, 4);
  A << Xtr, Xval;
  Vector y(60);
  y << ytr, yval;
  nl::Rng rng2(0);
  const auto direct = nl::ml::train_svc(A, y, spec.svc, rng2);
  CHECK((m.svc.w - direct.w).norm() < 1e-12);
  spec.select = nl::ml::ForwardSelectOptions{};
  CHECK_THROWS_WITH(nl::ml::fit_model(Xtr, ytr, nullptr, nullptr, spec, rng),
                    "fit: forward_select needs validation rows (an inner split)");
  Vector bad = ytr;
  bad(2) = 0;
  CHECK_THROWS_WITH(nl::ml::fit_model(Xtr, bad, nullptr, nullptr, spec, rng), "fit: label 0 in row 3 is not +1 or -1");
}

TEST_CASE("fit_pipeline: preprocessing sees training rows only", "[pipeline]") {
  Matrix X;
  Vector y;
  make_data(30, 3, 1, 5, X, y);
  nl::ml::PipelineSpec spec;
  spec.steps.push_back(std::make_shared<nl::ml::Scale>(-1, 1));
  const auto f = nl::ml::fit_pipeline(spec, X.topRows(20), y.head(20), nullptr, nullptr, nullptr, nullptr);
  const auto st = f.pre.steps[0]->state();
  CHECK(st[0].value(0, 0) == X.topRows(20).col(0).minCoeff());
  CHECK_FALSE(spec.steps[0]->fitted());  // the prototype stays unfitted
  const Vector d = nl::ml::pipeline_decision(f, X.bottomRows(10), nullptr);
  CHECK(d.size() == 10);
}

// carry_features (issue 18): a feature chosen on one fit of the preprocessing names the
// same column of another fit on more rows: an input column through prune (which keeps
// more columns on more rows), a component by its rank through PCA.
TEST_CASE("carry_features maps features between two fits by their origin", "[pipeline]") {
  nl::ml::PipelineSpec spec;
  spec.steps.push_back(std::make_shared<nl::ml::Scale>(-1, 1));
  spec.steps.push_back(std::make_shared<nl::ml::Prune>());
  nl::Matrix X(6, 4);
  // Column 2 is constant on the first 4 rows only.
  X << 1, 2, 5, 7,
       2, 1, 5, 3,
       3, 4, 5, 1,
       4, 3, 5, 2,
       5, 6, 9, 4,
       6, 5, 1, 8;
  const auto few = nl::ml::fit_preprocessing(spec, X.topRows(4), nullptr);
  const auto all = nl::ml::fit_preprocessing(spec, X, nullptr);
  REQUIRE(few.steps[1]->n_features_out() == 3);  // input columns 0, 1, 3
  REQUIRE(all.steps[1]->n_features_out() == 4);
  // Outputs 1 and 2 of `few` are input columns 1 and 3: outputs 1 and 3 of `all`.
  CHECK(nl::ml::carry_features(few, all, 4, {1, 2}) == std::vector<Eigen::Index>{1, 3});
  CHECK(nl::ml::carry_features(few, all, 4, {0}) == std::vector<Eigen::Index>{0});
  // Going the other way, input column 2 has no column in `few`.
  CHECK_THROWS_WITH(nl::ml::carry_features(all, few, 4, {2}), Catch::Contains("feature 3 selected by the wrapper"));
  // After a PCA, component k is component k.
  spec.steps.push_back(std::make_shared<nl::ml::Pca>(2));
  const auto pf = nl::ml::fit_preprocessing(spec, X.topRows(5), nullptr);
  const auto pa = nl::ml::fit_preprocessing(spec, X, nullptr);
  CHECK(nl::ml::carry_features(pf, pa, 4, {1}) == std::vector<Eigen::Index>{1});
}

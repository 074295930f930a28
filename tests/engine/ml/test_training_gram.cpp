// Tests of ml/training_gram: a PCA's cross-product from the cross-product of the raw
// training rows (the nested CV's per-fold blocks) equals the direct one, through scale,
// prune and regress_out, and the nested CV gives the same results either way.
#include <catch2/catch.hpp>

#include <cmath>

#include "../../../engine/src/ml/training_gram.hpp"
#include "nl/core/core.hpp"
#include "nl/ml/components.hpp"
#include "nl/ml/nested_cv.hpp"
#include "nl/ml/pipeline.hpp"

using nl::Matrix;
using nl::Vector;
namespace ml = nl::ml;

namespace {

// Tall data with covariates (a numeric age with a large mean, a site with 3 levels)
// that explain much of every feature, a constant feature (pruned) and a planted signal.
struct Cohort {
  Matrix X;
  Vector y;
  nl::Table cov;
};

Cohort cohort(int n, int p, std::uint64_t seed) {
  nl::Rng rng(seed);
  Cohort c;
  c.X.resize(n, p);
  c.y.resize(n);
  std::vector<double> age;
  std::vector<std::string> site;
  for (int i = 0; i < n; ++i) {
    c.y(i) = i % 5 < 2 ? -1 : 1;  // not confounded with site (i % 3)
    age.push_back(40 + 10 * rng.normal());
    site.push_back(std::string(1, static_cast<char>('A' + i % 3)));
    for (int j = 0; j < p; ++j)
      c.X(i, j) = 100 + 0.2 * age.back() * (1 + j % 4) + 3.0 * (i % 3) + rng.normal() + (j < 4 ? 1.2 * c.y(i) : 0.0);
    c.X(i, 5) = 7.0;  // constant: pruned
  }
  c.cov.set(std::make_shared<const nl::Column>(nl::Column::numbers("age", age)));
  c.cov.set(std::make_shared<const nl::Column>(nl::Column::strings("site", site)));
  return c;
}

ml::PipelineSpec spec_of(std::vector<std::shared_ptr<const ml::Transform>> steps) {
  ml::PipelineSpec s;
  s.steps = std::move(steps);
  return s;
}

std::shared_ptr<const ml::Transform> scale() { return std::make_shared<ml::Scale>(-1, 1); }
std::shared_ptr<const ml::Transform> prune() { return std::make_shared<ml::Prune>(); }
std::shared_ptr<const ml::Transform> regress() {
  return std::make_shared<ml::RegressOut>(std::vector<std::string>{"age", "site"});
}
std::shared_ptr<const ml::Transform> pca(int k) { return std::make_shared<ml::Pca>(k); }

double rel(const Matrix& a, const Matrix& b) { return (a - b).cwiseAbs().maxCoeff() / b.cwiseAbs().maxCoeff(); }

}  // namespace

TEST_CASE("training gram: a PCA's cross-product from the raw rows' equals the direct one", "[training_gram]") {
  const Cohort c0 = cohort(90, 12, 3);
  const Cohort& c = c0;
  std::vector<Eigen::Index> rows(90);
  for (Eigen::Index i = 0; i < 90; ++i) rows[static_cast<std::size_t>(i)] = i;
  // A centre other than these rows' mean (the nested CV uses the CV2 training mean).
  const Vector m = c.X.colwise().mean().transpose() + Vector::Constant(12, 0.5);
  const Matrix G = ml::detail::centred_cross(c.X, rows, m);
  const ml::TrainingGram tg0{&G, &m};
  const std::vector<ml::PipelineSpec> specs = {
      spec_of({scale(), prune(), regress(), pca(4), scale()}),  // the ketamine study's
      spec_of({pca(3)}),
      spec_of({scale(), pca(3)}),
      spec_of({regress(), scale(), prune(), pca(5)}),
      spec_of({prune(), regress(), pca(4)}),
  };
  // Without the constant feature, for the pipeline that regresses before it prunes: the
  // residual of a constant is rounding noise, which scale would blow up to [-1, 1] on
  // either path (a pipeline to avoid; the study's prunes first).
  Cohort v = c;
  nl::Rng rng(5);
  for (Eigen::Index i = 0; i < v.X.rows(); ++i) v.X(i, 5) = rng.normal();
  const Matrix Gv = ml::detail::centred_cross(v.X, rows, m);
  const ml::TrainingGram tgv{&Gv, &m};
  for (std::size_t s = 0; s < specs.size(); ++s) {
    CAPTURE(s);
    const Cohort& c = s == 3 ? v : c0;
    const ml::TrainingGram& tg = s == 3 ? tgv : tg0;
    REQUIRE(ml::detail::uses_training_gram(specs[s]));
    Matrix direct, shared;
    const auto a = ml::fit_preprocessing(specs[s], c.X, &c.cov, &direct);
    const auto b = ml::fit_preprocessing(specs[s], c.X, &c.cov, &shared, &tg);
    REQUIRE(direct.rows() == shared.rows());
    REQUIRE(direct.cols() == shared.cols());
    CHECK(rel(shared, direct) < 1e-9);
    // The loadings themselves (sign-fixed), and test rows through both.
    const Matrix t = c.X.topRows(7);
    const nl::Table ct = c.cov.take({0, 1, 2, 3, 4, 5, 6});
    CHECK(rel(b.apply(t, &ct), a.apply(t, &ct)) < 1e-9);
    // Without the gram the results are those of the direct path bit for bit.
    Matrix again;
    ml::fit_preprocessing(specs[s], c.X, &c.cov, &again);
    CHECK(again == direct);
  }
}

TEST_CASE("training gram: which pipelines use it", "[training_gram]") {
  CHECK(ml::detail::uses_training_gram(spec_of({scale(), prune(), regress(), pca(4)})));
  CHECK_FALSE(ml::detail::uses_training_gram(spec_of({scale(), prune()})));                    // no PCA
  CHECK_FALSE(ml::detail::uses_training_gram(spec_of({regress(), regress(), pca(4)})));        // two projections
  CHECK_FALSE(ml::detail::uses_training_gram(spec_of({std::make_shared<ml::Impute>(), pca(4)})));  // not affine
}

TEST_CASE("training gram: the nested CV gives the same results with and without it", "[training_gram][nested_cv]") {
  const Cohort c = cohort(150, 10, 8);
  ml::PipelineSpec spec = spec_of({scale(), prune(), regress(), pca(4), scale()});
  const std::vector<double> grid = {0.0625, 1.0, 16.0};
  ml::NestedCvOptions o;
  o.outer_repeats = 2;
  o.inner_repeats = 2;
  o.refit_preprocessing = false;
  nl::set_threads(1);
  const auto shared = ml::nested_cv(spec, grid, c.X, c.y, &c.cov, o);
  o.share_training_gram = false;
  const auto direct = ml::nested_cv(spec, grid, c.X, c.y, &c.cov, o);
  nl::set_threads(2);
  o.share_training_gram = true;
  const auto shared2 = ml::nested_cv(spec, grid, c.X, c.y, &c.cov, o);
  CHECK(shared2.scores == shared.scores);  // bit-identical on 1 and 2 threads
  CHECK(shared.chosen == direct.chosen);
  CHECK(shared.metrics.BAC == direct.metrics.BAC);
  REQUIRE(shared.scores.size() == direct.scores.size());
  double worst = 0.0;
  for (std::size_t i = 0; i < shared.scores.size(); ++i)
    for (std::size_t k = 0; k < shared.scores[i].size(); ++k)
      worst = std::max(worst, std::abs(shared.scores[i][k] - direct.scores[i][k]));
  CHECK(worst < 1e-6);  // the SVC's tolerance, not the cross-product's rounding, bounds this
  CHECK(shared.metrics.BAC > 0.7);
}

// Tests of ml/fused_chain: a CV1 partition's preprocessing fitted and applied as one
// affine map of the centred raw rows equals fit_preprocessing + apply, step by step
// (each step's learned state) and in the rows it gives, for every chain it accepts, on
// tall partitions (through the cross-product) and wide ones (the PCA's rows formed); the
// kernels give the same bits with and without AVX; errors are those of the direct path.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "../../../engine/src/ml/fused_chain.hpp"
#include "../../../engine/src/ml/training_gram.hpp"
#include "nl/core/core.hpp"
#include "nl/ml/components.hpp"
#include "nl/ml/pipeline.hpp"

using nl::Matrix;
using nl::Vector;
namespace ml = nl::ml;
using Rows = std::vector<Eigen::Index>;

namespace {

// Covariates (age with a large mean, a 3-level site) that explain much of every
// feature, a constant feature (5), a feature constant on the training rows only (7), a
// planted signal.
struct Cohort {
  Matrix X;
  nl::Table cov;
};

Cohort cohort(int n, int p, std::uint64_t seed) {
  nl::Rng rng(seed);
  Cohort c;
  c.X.resize(n, p);
  std::vector<double> age;
  std::vector<std::string> site;
  for (int i = 0; i < n; ++i) {
    age.push_back(40 + 10 * rng.normal());
    site.push_back(std::string(1, static_cast<char>('A' + i % 3)));
    for (int j = 0; j < p; ++j)
      c.X(i, j) = 100 + 0.2 * age.back() * (1 + j % 4) + 3.0 * (i % 3) + rng.normal() * (1 + j) + (j < 4 ? 1.2 * (i % 2) : 0.0);
    c.X(i, 5) = 7.0;
    c.X(i, 7) = i < 60 ? -3.5 : rng.normal();  // rows 0..59 are the training rows
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

double rel(const Matrix& a, const Matrix& b) {
  const double s = b.cwiseAbs().maxCoeff();
  return (a - b).cwiseAbs().maxCoeff() / (s > 0 ? s : 1.0);
}

Rows range(Eigen::Index from, Eigen::Index to) {
  Rows r;
  for (Eigen::Index i = from; i < to; ++i) r.push_back(i);
  return r;
}

struct Fused {
  ml::Preprocessing pre;
  Matrix tr, val, test;
};

// fit_fused on rows tr (validation: val, test: test) about the centre m.
// wide: without the cross-product (the PCA's input rows formed, as for wide partitions).
Fused fused(const ml::PipelineSpec& spec, const Cohort& c, const Rows& tr, const Rows& val, const Rows& test,
            const Vector& m, bool wide = false) {
  const ml::detail::CentredRows xc = ml::detail::centred_rows(c.X, m);
  const Matrix G = wide ? Matrix() : ml::detail::centred_cross(c.X, tr, m);
  const Matrix Xtr = c.X(tr, Eigen::all);
  const Vector lo = Xtr.colwise().minCoeff().transpose(), hi = Xtr.colwise().maxCoeff().transpose();
  const std::vector<std::size_t> t(tr.begin(), tr.end()), v(val.begin(), val.end()), s(test.begin(), test.end());
  const nl::Table ctr = c.cov.take(t), cval = c.cov.take(v), ctest = c.cov.take(s);
  Fused f;
  f.pre = ml::detail::fit_fused(spec, xc, m, G, lo, hi, {&tr, &ctr, &f.tr},
                                {{&val, &cval, &f.val}, {&test, &ctest, &f.test}});
  return f;
}

// fit_fused against fit_preprocessing + apply on the cohort's rows 0-59 (training),
// 60-79 and 80-99, for each spec: the rows they give and each step's learned state.
void check_against_direct(const Cohort& c, const std::vector<ml::PipelineSpec>& specs, bool wide) {
  const Rows tr = range(0, 60), val = range(60, 80), test = range(80, 100);
  // A centre other than the training rows' mean (the nested CV's: the CV2 training mean).
  const Vector m = c.X.colwise().mean().transpose() + Vector::Constant(c.X.cols(), 0.5);
  for (std::size_t s = 0; s < specs.size(); ++s) {
    CAPTURE(s);
    REQUIRE(ml::detail::fusable(specs[s]));
    const Fused f = fused(specs[s], c, tr, val, test, m, wide);
    const std::vector<std::size_t> t(tr.begin(), tr.end()), v(val.begin(), val.end()), u(test.begin(), test.end());
    const nl::Table ctr = c.cov.take(t), cval = c.cov.take(v), ctest = c.cov.take(u);
    Matrix direct;
    const ml::Preprocessing d = ml::fit_preprocessing(specs[s], c.X(tr, Eigen::all), &ctr, &direct);
    REQUIRE(f.tr.rows() == direct.rows());
    REQUIRE(f.tr.cols() == direct.cols());
    CHECK(rel(f.tr, direct) < 1e-9);
    CHECK(rel(f.val, d.apply(c.X(val, Eigen::all), &cval)) < 1e-9);
    CHECK(rel(f.test, d.apply(c.X(test, Eigen::all), &ctest)) < 1e-9);
    // The same steps with the same learned state: the fitted model is an ordinary one.
    REQUIRE(f.pre.steps.size() == d.steps.size());
    for (std::size_t k = 0; k < d.steps.size(); ++k) {
      CAPTURE(k);
      CHECK(f.pre.steps[k]->name() == d.steps[k]->name());
      CHECK(f.pre.steps[k]->n_features_in() == d.steps[k]->n_features_in());
      CHECK(f.pre.steps[k]->n_features_out() == d.steps[k]->n_features_out());
      const auto a = f.pre.steps[k]->state(), b = d.steps[k]->state();
      REQUIRE(a.size() == b.size());
      for (std::size_t i = 0; i < a.size(); ++i) {
        CAPTURE(a[i].name);
        CHECK(a[i].name == b[i].name);
        REQUIRE(a[i].value.rows() == b[i].value.rows());
        REQUIRE(a[i].value.cols() == b[i].value.cols());
        // The PCA's centre after regress_out is rounding noise about 0 on both paths.
        if (a[i].name == "center_") CHECK((a[i].value - b[i].value).cwiseAbs().maxCoeff() < 1e-9);
        else CHECK(rel(a[i].value, b[i].value) < 1e-9);
      }
    }
    // Applied to new rows, the fused fit's steps give what the direct fit's give.
    CHECK(rel(f.pre.apply(c.X(test, Eigen::all), &ctest), d.apply(c.X(test, Eigen::all), &ctest)) < 1e-9);
  }
}

std::vector<ml::PipelineSpec> chains() {
  return {
      spec_of({scale(), prune(), regress(), pca(4), scale()}),  // the ketamine study's
      spec_of({pca(3)}),
      spec_of({scale(), pca(3)}),                // constant columns kept at the mid-range
      spec_of({prune(), regress(), pca(4)}),
      spec_of({scale(), regress(), pca(5), scale(), prune()}),
      spec_of({regress(), pca(2)}),
  };
}

}  // namespace

TEST_CASE("fused chain: equals fit_preprocessing and apply, step by step", "[fused_chain]") {
  check_against_direct(cohort(100, 12, 3), chains(), false);
}

TEST_CASE("fused chain: wide partitions, the PCA fitted on the formed rows", "[fused_chain]") {
  // 60 training rows of 75 columns: the direct path's PCA goes through the Gram matrix.
  check_against_direct(cohort(100, 75, 5), chains(), true);
  // And the same rows with a cross-product are refused (fewer rows than columns).
  const Cohort c = cohort(100, 75, 5);
  const Rows tr = range(0, 60), val = range(60, 80);
  const Vector m = c.X.colwise().mean().transpose();
  const ml::detail::CentredRows xc = ml::detail::centred_rows(c.X, m);
  const Matrix G = ml::detail::centred_cross(c.X, tr, m);
  const Vector lo = c.X(tr, Eigen::all).colwise().minCoeff().transpose(), hi = c.X(tr, Eigen::all).colwise().maxCoeff().transpose();
  Matrix out, o2;
  CHECK_THROWS_AS(ml::detail::fit_fused(chains()[0], xc, m, G, lo, hi, {&tr, nullptr, &out}, {{&val, nullptr, &o2}}),
                  nl::Error);
}

TEST_CASE("fused chain: which pipelines it takes", "[fused_chain]") {
  CHECK(ml::detail::fusable(spec_of({scale(), prune(), regress(), pca(4), scale()})));
  CHECK(ml::detail::fusable(spec_of({pca(4)})));
  CHECK_FALSE(ml::detail::fusable(spec_of({scale(), prune()})));                       // no PCA
  CHECK_FALSE(ml::detail::fusable(spec_of({regress(), scale(), prune(), pca(4)})));    // out of order
  CHECK_FALSE(ml::detail::fusable(spec_of({scale(), scale(), pca(4)})));               // a step twice
  CHECK_FALSE(ml::detail::fusable(spec_of({std::make_shared<ml::Impute>(), pca(4)})));  // not affine
}

TEST_CASE("fused chain: the same bits with and without AVX", "[fused_chain]") {
  const Cohort c = cohort(100, 13, 9);  // 13 columns: a padded row
  const Rows tr = range(0, 60), val = range(60, 80), test = range(80, 100);
  const Vector m = c.X.colwise().mean().transpose();
  const auto spec = spec_of({scale(), prune(), regress(), pca(6), scale()});
  const bool had = nl::simd_avx();
  const Fused a = fused(spec, c, tr, val, test, m);
  nl::set_simd_avx(false);
  const Fused b = fused(spec, c, tr, val, test, m);
  nl::set_simd_avx(had);
  CHECK(a.tr == b.tr);
  CHECK(a.val == b.val);
  CHECK(a.test == b.test);
}

TEST_CASE("fused chain: errors are the direct path's", "[fused_chain]") {
  Cohort c = cohort(100, 12, 4);
  const Rows tr = range(0, 60), val = range(60, 80), test = range(80, 100);
  const Vector m = c.X.colwise().mean().transpose();
  // A site the training rows never had, in a test row.
  std::vector<std::string> site;
  for (int i = 0; i < 100; ++i) site.push_back(i == 90 ? "Z" : std::string(1, static_cast<char>('A' + i % 3)));
  c.cov.set(std::make_shared<const nl::Column>(nl::Column::strings("site", site)));
  const auto spec = spec_of({scale(), prune(), regress(), pca(4)});
  CHECK_THROWS_WITH(fused(spec, c, tr, val, test, m), Catch::Contains("regress_out") && Catch::Contains("'Z'"));
  // k above what the training rows support.
  CHECK_THROWS_WITH(fused(spec_of({scale(), prune(), pca(11)}), c, tr, val, test, m),
                    Catch::Contains("k = 11 is out of range"));
  // Covariates missing for regress_out.
  const ml::detail::CentredRows xc = ml::detail::centred_rows(c.X, m);
  const Matrix G = ml::detail::centred_cross(c.X, tr, m);
  Matrix out, o2;
  const Vector lo = c.X(tr, Eigen::all).colwise().minCoeff().transpose(), hi = c.X(tr, Eigen::all).colwise().maxCoeff().transpose();
  CHECK_THROWS_WITH(ml::detail::fit_fused(spec, xc, m, G, lo, hi, {&tr, nullptr, &out}, {{&val, nullptr, &o2}}),
                    Catch::Contains("covariates are required"));
}

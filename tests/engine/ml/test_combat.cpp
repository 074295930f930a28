// Tests of nl::ml::Combat: sva::ComBat's output on ABIDE volumes (tests/data/ml/combat/,
// written by tests/data/ml/make_combat_fixture.R with R 4.2.2 and sva 3.46.0), a new
// site's estimate (against sva's own it.sol, and by its defining property), the model
// record, the errors, and fitting on the training rows only inside a nested CV.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/core/warnings.hpp"
#include "nl/io/serial.hpp"
#include "nl/ml/combat.hpp"
#include "nl/ml/nested_cv.hpp"
#include "nl/table/table.hpp"

using nl::Matrix;
using nl::Vector;

namespace {

const std::string kDir = std::string(NL_TEST_DATA) + "/ml/combat/";

struct Fixture {
  nl::Table input;
  std::vector<std::string> features;
  std::vector<std::size_t> train, test;  // table rows of the training sites and of the new site
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture out;
    out.input = nl::read_table(kDir + "input.csv");
    for (const auto& n : out.input.names())
      if (n != "participant_id" && n != "site" && n != "age" && n != "sex") out.features.push_back(n);
    const nl::Column& site = *out.input.column("site");
    for (std::size_t i = 0; i < site.size(); ++i) (site.string(i) == "CMU" ? out.test : out.train).push_back(i);
    return out;
  }();
  return f;
}

Matrix features(const nl::Table& t) { return nl::to_matrix(t, fixture().features, false).X; }

Matrix reference(const std::string& file) { return features(nl::read_table(kDir + file)); }

nl::ml::Combat make(bool parametric = true, bool mean_only = false,
                    nl::ml::CombatUnseen unseen = nl::ml::CombatUnseen::Error) {
  return nl::ml::Combat({"site", {"age", "sex"}, parametric, mean_only, unseen});
}

// Largest absolute and relative difference (shown when a check fails).
void compare(const Matrix& got, const Matrix& want, const char* what) {
  REQUIRE(got.rows() == want.rows());
  REQUIRE(got.cols() == want.cols());
  const double abs_diff = (got - want).cwiseAbs().maxCoeff();
  const double rel_diff = ((got - want).array() / want.array().abs()).abs().maxCoeff();
  INFO(what << ": max abs difference " << abs_diff << ", max relative difference " << rel_diff);
  CHECK(abs_diff <= 1e-6);
  CHECK(rel_diff <= 1e-9);
}

Matrix state(const nl::ml::Transform& t, const std::string& name) {
  for (const auto& s : t.state())
    if (s.name == name) return s.value;
  FAIL("no state " << name);
  return {};
}

}  // namespace

TEST_CASE("combat equals sva ComBat on ABIDE volumes", "[combat]") {
  const Fixture& f = fixture();
  const nl::Table tr = f.input.take(f.train);
  const Matrix X = features(tr);
  struct Case {
    bool parametric, mean_only;
    const char* file;
  };
  for (const Case c : {Case{true, false, "parametric.csv"}, Case{true, true, "mean_only.csv"},
                       Case{false, false, "nonparametric.csv"}}) {
    auto cb = make(c.parametric, c.mean_only);
    cb.fit(X, &tr);
    compare(cb.apply(X, &tr), reference(c.file), c.file);
    // Rows of seen sites are mapped one by one: a subset gives the same rows.
    const std::vector<std::size_t> some{0, 5, 40, 41, 90};
    const nl::Table sub = tr.take(some);
    const Matrix Ys = cb.apply(features(sub), &sub), Y = cb.apply(X, &tr);
    for (std::size_t k = 0; k < some.size(); ++k)
      CHECK((Ys.row(static_cast<Eigen::Index>(k)) - Y.row(static_cast<Eigen::Index>(some[k]))).cwiseAbs().maxCoeff() <
            1e-9);
  }
  // Without covariates the grand mean is the mean of the training rows.
  nl::ml::Combat plain({"site", {}, true, false, nl::ml::CombatUnseen::Error});
  plain.fit(X, &tr);
  CHECK((state(plain, "grand_mean_") - X.colwise().mean()).cwiseAbs().maxCoeff() < 1e-9);
}

TEST_CASE("combat estimates a new site's location and scale from its own rows", "[combat]") {
  const Fixture& f = fixture();
  const nl::Table tr = f.input.take(f.train), te = f.input.take(f.test);
  const Matrix X = features(tr), T = features(te);
  auto refuse = make();
  refuse.fit(X, &tr);
  CHECK_THROWS_WITH(refuse.apply(T, &te), Catch::Contains("combat: site column 'site' has a site not seen in the "
                                                          "training rows: 'CMU' (27 rows: sub-0050642") &&
                                              Catch::Contains("unseen = \"estimate\""));
  auto cb = make(true, false, nl::ml::CombatUnseen::Estimate);
  cb.fit(X, &tr);
  const Matrix Y = cb.apply(T, &te);
  compare(Y, reference("new_site.csv"), "new_site.csv");
  // The defining property: the new site's gamma*, delta* are what fit() estimates for a
  // site from its standardized rows (here computed by hand from the stored state).
  const Matrix C = [&] {
    Matrix c(T.rows(), 2);
    const nl::Column& sex = *te.column("sex");
    for (Eigen::Index i = 0; i < T.rows(); ++i) {
      c(i, 0) = te.column("age")->number(static_cast<std::size_t>(i));
      c(i, 1) = sex.string(static_cast<std::size_t>(i)) == "M" ? 1 : 0;  // levels F, M: dummy sex=M
    }
    return c;
  }();
  const Vector gm = state(cb, "grand_mean_").transpose(), sd = state(cb, "var_pooled_").transpose().cwiseSqrt();
  Matrix S = T - C * state(cb, "beta_");
  S.rowwise() -= gm.transpose();
  S.array().rowwise() /= sd.transpose().array();
  std::vector<Eigen::Index> all(static_cast<std::size_t>(T.cols()));
  for (std::size_t j = 0; j < all.size(); ++j) all[j] = static_cast<Eigen::Index>(j);
  const nl::ml::CombatSite e = nl::ml::combat_site(S, all, true, false);
  Matrix want = S;
  for (Eigen::Index i = 0; i < S.rows(); ++i)
    want.row(i) = ((S.row(i) - e.gamma_star.transpose()).array() / e.delta_star.transpose().array().sqrt()).matrix();
  want.array().rowwise() *= sd.transpose().array();
  want.rowwise() += gm.transpose();
  want += C * state(cb, "beta_");
  CHECK((Y - want).cwiseAbs().maxCoeff() < 1e-9);
  // A training site's parameters do not change with the new site beside it.
  const nl::Table both = f.input;
  const Matrix Yb = cb.apply(features(both), &both);
  const Matrix Yt = cb.apply(X, &tr);
  for (std::size_t k = 0; k < f.train.size(); ++k)
    CHECK((Yb.row(static_cast<Eigen::Index>(f.train[k])) - Yt.row(static_cast<Eigen::Index>(k))).cwiseAbs().maxCoeff() <
          1e-9);
}

TEST_CASE("combat saves and loads bit for bit", "[combat]") {
  const Fixture& f = fixture();
  const nl::Table tr = f.input.take(f.train);
  const Matrix X = features(tr);
  for (const bool parametric : {true, false}) {
    auto cb = make(parametric, false, nl::ml::CombatUnseen::Estimate);
    nl::Writer w0;
    cb.save(w0);  // unfitted
    nl::Reader r0(w0.bytes(), "<memory>", nl::ml::kStepFormat);
    const auto u = nl::ml::read_transform(r0);
    CHECK_FALSE(u->fitted());
    CHECK(u->options() == cb.options());
    cb.fit(X, &tr);
    nl::Writer w;
    cb.save(w);
    nl::Reader r(w.bytes(), "<memory>", nl::ml::kStepFormat);
    const auto back = nl::ml::read_transform(r);
    CHECK(r.done());
    CHECK(back->name() == "combat");
    CHECK(back->options() == cb.options());
    const nl::Table all = f.input;
    const Matrix A = features(all);
    CHECK(back->apply(A, &all) == cb.apply(A, &all));
    const auto s1 = cb.state(), s2 = back->state();
    REQUIRE(s1.size() == s2.size());
    for (std::size_t k = 0; k < s1.size(); ++k) {
      CHECK(s1[k].name == s2[k].name);
      // bit for bit, NaN (unused priors) included
      CHECK(std::equal(s1[k].value.data(), s1[k].value.data() + s1[k].value.size(), s2[k].value.data(),
                       [](double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }));
    }
  }
}

TEST_CASE("combat errors name the problem", "[combat]") {
  const Fixture& f = fixture();
  const nl::Table tr = f.input.take(f.train);
  const Matrix X = features(tr);
  CHECK_THROWS_WITH(nl::ml::Combat({"", {}, true, false, nl::ml::CombatUnseen::Error}),
                    Catch::Contains("name the site column"));
  CHECK_THROWS_WITH(nl::ml::Combat({"site", {"age", "site"}, true, false, nl::ml::CombatUnseen::Error}),
                    Catch::Contains("also listed among the covariates"));
  nl::ml::Combat wrong({"scanner", {"age"}, true, false, nl::ml::CombatUnseen::Error});
  CHECK_THROWS_WITH(wrong.fit(X, &tr), Catch::Contains("the site column 'scanner' is not among the covariates"));
  CHECK_THROWS_WITH(make().fit(X, nullptr), Catch::Contains("covariates are required"));
  // One site.
  std::vector<std::size_t> first;
  for (std::size_t i = 0; i < tr.nrows(); ++i)
    if (tr.column("site")->string(i) == "CALTECH") first.push_back(i);
  const nl::Table one = tr.take(first);
  CHECK_THROWS_WITH(make().fit(features(one), &one),
                    Catch::Contains("the training rows come from one site ('CALTECH')"));
  // A site with one row: mean-only, as sva, with a warning.
  std::vector<std::size_t> rows = first;
  for (std::size_t i = 0; i < tr.nrows(); ++i)
    if (tr.column("site")->string(i) == "UM_2") {
      rows.push_back(i);  // one UM_2 row
      break;
    }
  const nl::Table lone = tr.take(rows);
  std::vector<std::string> warned;
  nl::set_warning_sink([&](const std::string& m) { warned.push_back(m); });
  auto cb = make();
  cb.fit(features(lone), &lone);
  nl::set_warning_sink({});
  CHECK(cb.mean_only_used());
  REQUIRE(warned.size() == 1);
  CHECK_THAT(warned[0], Catch::Contains("site 'UM_2' has one training row, so the fit is mean-only"));
  // Interpretation: defined (the identity) only when mean-only.
  CHECK(cb.backproject(Matrix::Ones(X.cols(), 1)) == Matrix::Ones(X.cols(), 1));
  auto full = make();
  full.fit(X, &tr);
  CHECK_THROWS_WITH(full.backproject(Matrix::Ones(X.cols(), 1)),
                    Catch::Contains("interpretation through ComBat is not defined"));
  // A covariate confounded with the sites.
  nl::Table conf = tr;
  std::vector<double> code(tr.nrows());
  for (std::size_t i = 0; i < tr.nrows(); ++i) code[i] = tr.column("site")->string(i) == "CALTECH" ? 1 : 0;
  conf.set(std::make_shared<nl::Column>(nl::Column::numbers("caltech", code)));
  nl::ml::Combat c2({"site", {"caltech"}, true, false, nl::ml::CombatUnseen::Error});
  CHECK_THROWS_WITH(c2.fit(X, &conf), Catch::Contains("are confounded with the site column 'site'"));
}

TEST_CASE("combat inside nested CV is fitted on the training rows only", "[combat]") {
  const Fixture& f = fixture();
  const nl::Table tr = f.input.take(f.train);
  const Matrix X = features(tr);
  Vector y(X.rows());
  for (Eigen::Index i = 0; i < y.size(); ++i) y(i) = i % 2 ? 1 : -1;  // labels do not matter here
  nl::ml::PipelineSpec spec;
  spec.steps.push_back(std::make_shared<nl::ml::Combat>(
      nl::ml::CombatOptions{"site", {}, true, false, nl::ml::CombatUnseen::Error}));
  nl::ml::NestedCvOptions o;
  o.outer_folds = 3;
  o.outer_repeats = 1;
  o.inner_folds = 2;
  o.inner_repeats = 1;
  const auto r = nl::ml::nested_cv(spec, {1.0}, X, y, &tr, o);
  REQUIRE(r.models.size() == 6);
  for (const auto& bm : r.models) {
    // refit_preprocessing (the default): fitted on the CV2 training rows.
    const auto folds = nl::ml::inner_folds(r, static_cast<std::size_t>(bm.outer));
    Vector mean = Vector::Zero(X.cols());
    for (const Eigen::Index i : folds.rows) mean += X.row(i).transpose();
    mean /= static_cast<double>(folds.rows.size());
    CHECK((state(*bm.pre.steps.front(), "grand_mean_").transpose() - mean).cwiseAbs().maxCoeff() < 1e-8);
    CHECK(state(*bm.pre.steps.front(), "n_").sum() == static_cast<double>(folds.rows.size()));
  }
}

// tests/engine/stats/test_lmm_multi.cpp: linear mixed models with several random-effect
// terms, factor random slopes and ||, against lme4 1.1 and lmerTest 3.1 on lme4's own data
// sets (Penicillin: crossed; Pastes and cake: nested; sleepstudy: || and factor slopes):
// fits, Satterthwaite t and F tests (anova types 3 and 1), likelihood-ratio tests,
// profile and Wald intervals, prediction; and the formula parser.
//
// References: tests/data/lmm/multi.txt and multi_names.txt from make_fixtures2.R (see
// tests/data/lmm/README for the versions).
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/stats/lmm.hpp"
#include "nl/table/table.hpp"

namespace {

using nl::Matrix;
using nl::Vector;
using Index = Eigen::Index;

const std::string dir = std::string(NL_TEST_DATA) + "/lmm/";

template <class T>
std::map<std::string, std::vector<T>> read_keys(const std::string& file) {
  std::map<std::string, std::vector<T>> out;
  std::ifstream in(dir + file);
  REQUIRE(in.good());
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    std::string key, tok;
    ss >> key;
    auto& v = out[key];
    while (ss >> tok) {
      if constexpr (std::is_same_v<T, double>) v.push_back(std::stod(tok));
      else v.push_back(tok);
    }
  }
  return out;
}

Vector R(const std::string& key) {
  static const auto m = read_keys<double>("multi.txt");
  const auto it = m.find(key);
  INFO("fixture key " << key);
  REQUIRE(it != m.end());
  return Eigen::Map<const Vector>(it->second.data(), static_cast<Index>(it->second.size()));
}

std::vector<std::string> names(const std::string& key) {
  static const auto m = read_keys<std::string>("multi_names.txt");
  const auto it = m.find(key);
  INFO("fixture key " << key);
  REQUIRE(it != m.end());
  return it->second;
}

double rel(const Vector& a, const Vector& b, double floor = 1e-8) {
  REQUIRE(a.size() == b.size());
  double d = 0;
  for (Index i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a(i) - b(i)) / std::max(std::abs(b(i)), floor));
  return d;
}

const nl::Table& table(const std::string& file) {
  static std::map<std::string, nl::Table> cache;
  auto it = cache.find(file);
  if (it == cache.end()) it = cache.emplace(file, nl::read_table(dir + file)).first;
  return it->second;
}

nl::stats::Lmm fit(const std::string& file, const std::string& formula, bool reml = true,
                   nl::stats::DfMethod df = nl::stats::DfMethod::Satterthwaite) {
  nl::stats::LmmOptions o;
  o.reml = reml;
  o.df = df;
  return nl::stats::lmm(table(file), nl::stats::parse_lmm_formula(formula), o);
}

// lme4's as.data.frame(VarCorr()) order: per term, variances then covariances; the residual last.
Vector vcov_random(const nl::stats::LmmFit& f) {
  std::vector<double> v;
  for (const Matrix& C : f.random_cov) {
    for (Index j = 0; j < C.rows(); ++j) v.push_back(C(j, j));
    for (Index j = 0; j < C.rows(); ++j)
      for (Index i = j + 1; i < C.rows(); ++i) v.push_back(C(i, j));
  }
  v.push_back(f.sigma * f.sigma);
  return Eigen::Map<const Vector>(v.data(), static_cast<Index>(v.size()));
}

// The fit against lme4 (tight optimiser) at 1e-5 (variance parameters: 1e-5 with a floor).
void check_fit(const nl::stats::Lmm& m, const std::string& name, bool satterthwaite = true) {
  const auto& f = m.fit;
  INFO("model " << name);
  CHECK(f.converged);
  CHECK(static_cast<double>(f.n) == R(name + ".n")(0));
  CHECK(m.model.fixed_names.size() == names(name + ".fixef_names").size());
  CHECK(rel(f.beta, R(name + ".beta")) < 1e-5);
  CHECK(rel(f.se, R(name + ".se")) < 1e-5);
  CHECK(rel(f.t, R(name + ".t")) < 1e-5);
  CHECK(rel(f.theta, R(name + ".theta"), 1e-3) < 1e-5);
  CHECK(std::abs(f.sigma / R(name + ".sigma")(0) - 1) < 1e-5);
  CHECK(rel(vcov_random(f), R(name + ".vcov_random"), 1e-3) < 1e-5);
  CHECK(std::abs(f.criterion - R(name + ".criterion")(0)) < 1e-6);
  CHECK(std::abs(f.loglik - R(name + ".loglik")(0)) < 1e-6);
  CHECK(std::abs(f.aic - R(name + ".aic")(0)) < 1e-6);
  CHECK(std::abs(f.bic - R(name + ".bic")(0)) < 1e-6);
  CHECK(rel(f.fitted, R(name + ".fitted")) < 1e-5);
  if (satterthwaite) {
    CHECK(rel(f.df, R(name + ".df_satterthwaite")) < 1e-5);
    CHECK(rel(f.p_value, R(name + ".p_satterthwaite"), 1e-300) < 1e-5);
  }
}

// lme4's ranef() of grouping factor k (column-major) from our terms of that group,
// levels matched by name (`swap`: lme4 names a nested level "a:A" where we say "A:a").
void check_ranef(const nl::stats::Lmm& m, const std::string& name, int k, const std::string& group, bool swap = false) {
  INFO("model " << name << ", ranef " << k);
  const auto levels = names(name + ".ranef_levels." + std::to_string(k));
  const Vector want = R(name + ".ranef." + std::to_string(k));
  std::vector<double> got;
  for (std::size_t t = 0; t < m.model.term_groups.size(); ++t) {
    if (m.model.term_groups[t] != group) continue;
    const auto& ours = m.model.group_levels[t];
    for (Index c = 0; c < m.fit.ranef[t].cols(); ++c)
      for (const auto& level : levels) {
        std::string l = level;
        if (swap) {
          const auto colon = l.find(':');
          l = l.substr(colon + 1) + ":" + l.substr(0, colon);
        }
        const auto it = std::find(ours.begin(), ours.end(), l);
        REQUIRE(it != ours.end());
        got.push_back(m.fit.ranef[t](it - ours.begin(), c));
      }
  }
  CHECK(rel(Eigen::Map<const Vector>(got.data(), static_cast<Index>(got.size())), want, 1e-2) < 1e-4);
}

void check_anova(const nl::stats::Lmm& m, const std::string& name, int type) {
  const std::string key = name + ".anova" + std::to_string(type);
  INFO(key);
  const auto a = nl::stats::lmm_anova(m, type);
  const auto terms = names(key + ".terms");
  REQUIRE(a.size() == terms.size());
  Vector F(static_cast<Index>(a.size())), num(F.size()), den(F.size()), p(F.size()), ss(F.size());
  for (std::size_t t = 0; t < a.size(); ++t) {
    CHECK(a[t].term == terms[t]);
    // The contrast matrices themselves, as lmerTest's show_tests() prints them.
    const Vector L = R(key + ".L." + std::to_string(t + 1));
    const Matrix Lt = a[t].L.transpose();  // row-major = column-major of the transpose
    REQUIRE(Lt.size() == L.size());
    CHECK((Eigen::Map<const Vector>(Lt.data(), Lt.size()) - L).cwiseAbs().maxCoeff() < 1e-6);
    const auto i = static_cast<Index>(t);
    F(i) = a[t].F, num(i) = a[t].numdf, den(i) = a[t].dendf, p(i) = a[t].p, ss(i) = a[t].sum_sq;
  }
  CHECK(rel(F, R(key + ".F")) < 1e-5);
  CHECK(num == R(key + ".numdf"));
  CHECK(rel(den, R(key + ".dendf")) < 1e-5);
  CHECK(rel(p, R(key + ".p"), 1e-300) < 1e-5);
  CHECK(rel(ss, R(key + ".sumsq")) < 1e-5);
}

}  // namespace

TEST_CASE("crossed random effects (Penicillin) equal lme4, REML and ML", "[lmm][multi]") {
  const auto reml = fit("penicillin.csv", "diameter ~ 1 + (1 | plate) + (1 | sample)");
  check_fit(reml, "pen_reml");
  CHECK(reml.model.term_labels == std::vector<std::string>{"plate", "sample"});
  check_ranef(reml, "pen_reml", 1, "plate");
  check_ranef(reml, "pen_reml", 2, "sample");
  const auto ml = fit("penicillin.csv", "diameter ~ (1 | sample) + (1 | plate)", false);  // lme4 orders the terms
  check_fit(ml, "pen_ml");
  check_ranef(ml, "pen_ml", 1, "plate");
}

TEST_CASE("nested random effects (Pastes, batch/cask) equal lme4", "[lmm][multi]") {
  const auto reml = fit("pastes.csv", "strength ~ 1 + (1 | batch/cask)");
  check_fit(reml, "pastes_reml");
  CHECK(reml.model.term_groups == std::vector<std::string>{"batch:cask", "batch"});
  check_ranef(reml, "pastes_reml", 1, "batch:cask", true);
  check_ranef(reml, "pastes_reml", 2, "batch");
  check_fit(fit("pastes.csv", "strength ~ (1 | batch) + (1 | batch:cask)", false), "pastes_ml");
}

TEST_CASE("uncorrelated (||) and factor random slopes equal lme4", "[lmm][multi]") {
  const auto unc = fit("sleepstudy.csv", "Reaction ~ Days + (Days || Subject)");
  check_fit(unc, "ss_uncorr");
  CHECK(unc.model.term_labels == std::vector<std::string>{"Subject", "Subject.1"});
  check_ranef(unc, "ss_uncorr", 1, "Subject");
  const auto fs = fit("sleep_phase.csv", "Reaction ~ phase + (1 + phase | Subject)");
  check_fit(fs, "ss_fslope");
  CHECK(fs.model.random_names[0] == std::vector<std::string>{"(Intercept)", "phase[late]"});
  check_ranef(fs, "ss_fslope", 1, "Subject");
  // (1 + phase || Subject) is (1 | Subject) + (0 + phase | Subject): one parameter too
  // many (the intercept is the sum of the indicators), so only the optimum is unique.
  const auto fu = fit("sleep_phase.csv", "Reaction ~ phase + (1 + phase || Subject)");
  CHECK(fu.model.random_names[1] == std::vector<std::string>{"phase[early]", "phase[late]"});
  CHECK(std::abs(fu.fit.criterion - R("ss_fslope_uncorr.criterion")(0)) < 1e-6);
  CHECK(rel(fu.fit.beta, R("ss_fslope_uncorr.beta")) < 1e-5);
  CHECK(rel(fu.fit.fitted, R("ss_fslope_uncorr.fitted")) < 1e-5);
}

TEST_CASE("F tests with Satterthwaite df equal lmerTest's anova, types 3 and 1", "[lmm][multi][anova]") {
  const auto f3 = fit("sleep_phase.csv", "Reaction ~ Days + phase3 + (1 | Subject)");
  check_fit(f3, "ss_f3");
  check_anova(f3, "ss_f3", 3);
  check_anova(f3, "ss_f3", 1);
  const auto cake = fit("cake.csv", "angle ~ recipe * temp + (1 | recipe:replicate)");
  check_fit(cake, "cake_nested");
  check_anova(cake, "cake_nested", 3);
  check_anova(cake, "cake_nested", 1);
  // Residual-df fits give the same F tests (anova always uses Satterthwaite's df).
  const auto sim = fit("sim.csv", "score ~ time * group + site + (1 + time | subject)", true,
                       nl::stats::DfMethod::Residual);
  CHECK(sim.fit.n == 147);
  check_anova(sim, "sim_b_f", 3);
  check_anova(sim, "sim_b_f", 1);
  // A one-row contrast is the t-test of that combination: F = t^2 on the same df.
  Matrix days = Matrix::Zero(1, 4);
  days(0, 1) = 1;
  const auto one = nl::stats::lmm_contrast(f3, days);
  CHECK(one.F == Approx(f3.fit.t(1) * f3.fit.t(1)).epsilon(1e-12));
  CHECK(one.dendf == Approx(f3.fit.df(1)).epsilon(1e-10));
  CHECK_THROWS_WITH(nl::stats::lmm_contrast(f3, Matrix::Ones(1, 3)), Catch::Contains("3 columns; the model has 4"));
  CHECK_THROWS_WITH(nl::stats::lmm_anova(f3, 2), Catch::Contains("type must be 1 or 3"));
}

TEST_CASE("likelihood-ratio tests equal lme4's anova(m0, m1)", "[lmm][multi][lrt]") {
  const auto check = [](const nl::stats::LmmLrt& r, const std::string& key) {
    INFO(key);
    CHECK(r.refitted);
    CHECK(std::abs(r.loglik0 - R(key + ".loglik_tight")(0)) < 1e-6);
    CHECK(std::abs(r.loglik1 - R(key + ".loglik_tight")(1)) < 1e-6);
    CHECK(std::abs(r.aic1 - R(key + ".aic")(1)) < 1e-5);
    CHECK(std::abs(r.bic0 - R(key + ".bic")(0)) < 1e-5);
    CHECK(r.npar0 == R(key + ".npar")(0));
    CHECK(r.npar1 == R(key + ".npar")(1));
    CHECK(r.df == R(key + ".df")(0));
    CHECK(std::abs(r.chisq - R(key + ".chisq")(0)) < 1e-5);
    CHECK(std::abs(r.p / R(key + ".p")(0) - 1) < 1e-5);
  };
  const auto a0 = fit("sleepstudy.csv", "Reaction ~ Days + (1 | Subject)");
  const auto a1 = fit("sleepstudy.csv", "Reaction ~ Days + (1 + Days | Subject)");
  check(nl::stats::lmm_lrt(a0, a1), "lrt_a");
  const auto swapped = nl::stats::lmm_lrt(a1, a0);  // either order
  CHECK(swapped.swapped);
  CHECK(swapped.chisq == Approx(nl::stats::lmm_lrt(a0, a1).chisq));
  const auto b0 = fit("penicillin.csv", "diameter ~ 1 + (1 | plate)");
  check(nl::stats::lmm_lrt(b0, fit("penicillin.csv", "diameter ~ 1 + (1 | plate) + (1 | sample)")), "lrt_b");
  // Different observations: an error, not a number.
  const auto other = fit("sleep_phase.csv", "Reaction ~ Days + (1 | Subject)");
  CHECK_NOTHROW(nl::stats::lmm_lrt(a0, other));  // the same rows and response
  CHECK_THROWS_WITH(nl::stats::lmm_lrt(a0, b0), Catch::Contains("fitted to different observations"));
}

TEST_CASE("profile and Wald intervals equal lme4's confint", "[lmm][multi][confint]") {
  for (const auto& [file, formula, reml, key] :
       std::vector<std::tuple<std::string, std::string, bool, std::string>>{
           {"penicillin.csv", "diameter ~ 1 + (1 | plate) + (1 | sample)", false, "pen_ml"},
           {"sleepstudy.csv", "Reaction ~ Days + (1 | Subject)", false, "ss_int_ml"},
           {"sleepstudy.csv", "Reaction ~ Days + (1 | Subject)", true, "ss_int"}}) {
    INFO(key);
    const auto m = fit(file, formula, reml);
    const auto pr = nl::stats::lmm_confint(m, "profile", 0.95);
    CHECK(pr.names == names(key + ".confint.names"));
    // lme4 interpolates a spline through ~20 profile points per side; the roots here are
    // exact, so the two agree to the spline's accuracy.
    CHECK(rel(pr.lower, R(key + ".confint.lower")) < 2e-4);
    CHECK(rel(pr.upper, R(key + ".confint.upper")) < 2e-4);
    const auto w = nl::stats::lmm_confint(m, "Wald", 0.95);
    const Vector wl = R(key + ".confint_wald.lower");
    for (Index i = 0; i < wl.size(); ++i) {
      if (std::isnan(wl(i))) CHECK(std::isnan(w.lower(i)));
      else CHECK(w.lower(i) == Approx(wl(i)).epsilon(1e-6));
    }
  }
}

TEST_CASE("predictions equal lme4's predict, with new levels and without random effects", "[lmm][multi][predict]") {
  const auto fs = fit("sleep_phase.csv", "Reaction ~ phase + (1 + phase | Subject)");
  CHECK(rel(nl::stats::lmm_predict(fs, table("predict_ss.csv"), true), R("ss_fslope.predict")) < 1e-5);
  CHECK(rel(nl::stats::lmm_predict(fs, table("predict_ss.csv"), false), R("ss_fslope.predict_pop")) < 1e-5);
  const auto pen = fit("penicillin.csv", "diameter ~ 1 + (1 | plate) + (1 | sample)");
  CHECK(rel(nl::stats::lmm_predict(pen, table("predict_pen.csv"), true), R("pen_reml.predict")) < 1e-5);
  CHECK(rel(nl::stats::lmm_predict(pen, table("predict_pen.csv"), false), R("pen_reml.predict_pop")) < 1e-5);
  // The fit's own rows reproduce the fitted values.
  CHECK(rel(nl::stats::lmm_predict(fs, table("sleep_phase.csv"), true), fs.fit.fitted) < 1e-12);
  // A level of a fixed factor the fit never saw raises, naming the column and row.
  nl::Table bad = table("predict_ss.csv");
  bad.set(std::make_shared<const nl::Column>(nl::Column::strings("phase", {"early", "late", "mid", "late"})));
  CHECK_THROWS_WITH(nl::stats::lmm_predict(fs, bad, false),
                    Catch::Contains("column 'phase' row 3: level 'mid' is not a level of the fit"));
}

TEST_CASE("formulas expand as R's terms and lme4's findbars", "[lmm][formula]") {
  using nl::stats::parse_lmm_formula;
  auto fixed = [](const std::string& f) { return parse_lmm_formula(f).fixed; };
  CHECK(fixed("y ~ a * b + (1 | g)") == std::vector<std::string>{"a", "b", "a:b"});
  CHECK(fixed("y ~ a * b * c + (1 | g)") ==
        std::vector<std::string>{"a", "b", "a:b", "c", "a:c", "b:c", "a:b:c"});
  CHECK(fixed("y ~ a/b + (1 | g)") == std::vector<std::string>{"a", "a:b"});
  CHECK(fixed("y ~ (a + b):c + (1 | g)") == std::vector<std::string>{"a:c", "b:c"});
  CHECK(fixed("y ~ a*b - a:b + (1 | g)") == std::vector<std::string>{"a", "b"});
  CHECK(fixed("y ~ `odd name` + (1 | g)") == std::vector<std::string>{"odd name"});
  CHECK(!parse_lmm_formula("y ~ 0 + a + (1 | g)").intercept);
  CHECK(!parse_lmm_formula("y ~ a - 1 + (1 | g)").intercept);
  CHECK(parse_lmm_formula("y ~ a + (1 | g)").intercept);
  const auto s = parse_lmm_formula("fc ~ time * group + (1 + time | subject) + (1 | site/scanner)");
  REQUIRE(s.random_terms.size() == 3);
  CHECK(s.random_terms[0].effects == std::vector<std::string>{"time"});
  CHECK(s.random_terms[0].intercept);
  CHECK(s.random_terms[1].group == "site");
  CHECK(s.random_terms[2].group == "site:scanner");
  const auto u = parse_lmm_formula("y ~ x + (x + z || g)");
  REQUIRE(u.random_terms.size() == 3);
  CHECK(u.random_terms[0].effects.empty());
  CHECK(u.random_terms[1].effects == std::vector<std::string>{"x"});
  CHECK(!u.random_terms[1].intercept);
  CHECK(u.random_terms[2].effects == std::vector<std::string>{"z"});
  const auto nz = parse_lmm_formula("y ~ x + (0 + x | g)");
  CHECK(!nz.random_terms[0].intercept);
  // Errors name the position.
  CHECK_THROWS_WITH(parse_lmm_formula("y ~ x"), Catch::Contains("expected a random-effect term"));
  CHECK_THROWS_WITH(parse_lmm_formula("y ~ x + (1 | )"), Catch::Contains("a grouping column name at character 14"));
  CHECK_THROWS_WITH(parse_lmm_formula("~ x + (1 | g)"), Catch::Contains("a response column name"));
  CHECK_THROWS_WITH(parse_lmm_formula("y ~ x + 2 + (1 | g)"), Catch::Contains("0 or 1 (the intercept) at character 9"));
  CHECK_THROWS_WITH(parse_lmm_formula("y ~ x + (1 | g"), Catch::Contains("expected ')'"));
  CHECK_THROWS_WITH(parse_lmm_formula("y ~ x % z + (1 | g)"), Catch::Contains("not '%'"));
  CHECK_THROWS_WITH(parse_lmm_formula("y ~ x:(1 | g)"), Catch::Contains("may only be added"));
}

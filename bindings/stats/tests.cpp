// bindings/stats/tests.cpp: the classical tests of nl.stats (pearson, spearman, ttest_one,
// ttest_two, ttest_paired, chi2, anova_rm), ROC analysis (roc) and the multiple-testing
// corrections (bonferroni, fdr).
//
//   local r = nl.stats.ttest_two(patients.madrs, controls.madrs, { welch = true })
//   print(r)   -- Welch two-sample t-test: t(37.97) = 1.06, p = 0.297; ...
//   r.p
//
// Each test returns a plain table of its numbers with the metatable
// "neurolua.TestResult" (a record, bindings/core/fields.hpp), whose __tostring prints a
// one-line report chosen by the table's `method` field.
#include <fmt/format.h>

#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "ml/args.hpp"
#include "core/fields.hpp"
#include "stats/args.hpp"
#include "nl/stats/classical.hpp"
#include "nl/stats/multiple.hpp"
#include "nl/stats/roc.hpp"

namespace nl::bind {

namespace {

using nl::Matrix;
using nl::Vector;
namespace st = nl::stats;

constexpr const char* kTest = "neurolua.TestResult";
constexpr const char* kCurve = "neurolua.ROCCurve";
constexpr const char* kBand = "neurolua.ROCBand";

lua_Integer check_vector(lua_State* L, int idx, const char* what) { return validate_scores(L, idx, what); }

Vector read_vector(lua_State* L, int idx, lua_Integer n) {
  Vector v(n);
  read_scores(L, idx, v);
  return v;
}

// The engine names the argument ("x: entry 3 is NaN"); report it at its position.
template <class F>
auto with_args(F&& f, std::initializer_list<std::pair<const char*, int>> args) -> decltype(f()) {
  try {
    return f();
  } catch (const nl::ValueError& e) {
    const std::string_view msg = e.what();
    for (const auto& [name, pos] : args)
      if (msg.substr(0, std::string_view(name).size()) == name) throw ArgError(pos, std::string(msg));
    throw;
  }
}

void set_ci(lua_State* L, double lo, double hi) {
  lua_createtable(L, 2, 0);
  lua_pushnumber(L, lo);
  lua_rawseti(L, -2, 1);
  lua_pushnumber(L, hi);
  lua_rawseti(L, -2, 2);
  lua_setfield(L, -2, "ci");
}

// ---------------------------------------------------------------- correlation

int correlation(lua_State* L, bool spearman) {
  const char* fname = spearman ? "spearman" : "pearson";
  const lua_Integer n = check_vector(L, 1, "x");
  const lua_Integer m = check_vector(L, 2, "y");
  check_options(L, 3, fname, {"tail"});
  const st::Tail tail = opt_tail(L, 3);
  if (n != m) luaL_argerror(L, 2, lua_pushfstring(L, "x has %I values but y has %I", n, m));
  lua_settop(L, 3);
  lua_createtable(L, 0, 10);
  return protect(L, [&] {
    const Vector x = read_vector(L, 1, n), y = read_vector(L, 2, n);
    const st::Correlation c = with_args([&] { return spearman ? st::spearman(x, y, tail) : st::pearson(x, y, tail); },
                                        {{"x", 1}, {"y", 2}});
    set_string(L, "method", fname);
    set_number(L, "r", c.r);
    set_number(L, "t", c.t);
    set_number(L, "df", c.df);
    set_number(L, "p", c.p);
    set_integer(L, "n", c.n);
    set_string(L, "tail", tail_name(tail));
    if (!spearman) set_ci(L, c.ci_low, c.ci_high);
    luaL_setmetatable(L, kTest);
    return 1;
  });
}

int pearson(lua_State* L) { return correlation(L, false); }
int spearman(lua_State* L) { return correlation(L, true); }

// ---------------------------------------------------------------- t-tests

void push_ttest(lua_State* L, const char* method, const st::TTest& r, st::Tail tail) {
  set_string(L, "method", method);
  set_number(L, "t", r.t);
  set_number(L, "df", r.df);
  set_number(L, "p", r.p);
  set_number(L, "estimate", r.estimate);
  set_number(L, "se", r.se);
  set_ci(L, r.ci_low, r.ci_high);
  set_number(L, "mean_x", r.mean_x);
  set_integer(L, "n_x", r.n_x);
  set_string(L, "tail", tail_name(tail));
  luaL_setmetatable(L, kTest);
}

// nl.stats.ttest_one(x [, {mu = 0, tail = "two"}])
int ttest_one(lua_State* L) {
  const lua_Integer n = check_vector(L, 1, "x");
  check_options(L, 2, "ttest_one", {"mu", "tail"});
  const double mu = opt_number(L, 2, "mu", -HUGE_VAL, HUGE_VAL, 0.0);
  const st::Tail tail = opt_tail(L, 2);
  lua_settop(L, 2);
  lua_createtable(L, 0, 12);
  return protect(L, [&] {
    const Vector x = read_vector(L, 1, n);
    const st::TTest r = with_args([&] { return st::ttest_one(x, mu, tail); }, {{"x", 1}, {"mu", 2}});
    push_ttest(L, "one-sample t-test", r, tail);
    set_number(L, "mu", mu);
    return 1;
  });
}

// nl.stats.ttest_two(x, y [, {welch = false, tail = "two"}])
int ttest_two(lua_State* L) {
  const lua_Integer nx = check_vector(L, 1, "x");
  const lua_Integer ny = check_vector(L, 2, "y");
  check_options(L, 3, "ttest_two", {"welch", "tail"});
  const bool welch = opt_boolean(L, 3, "welch", false);
  const st::Tail tail = opt_tail(L, 3);
  lua_settop(L, 3);
  lua_createtable(L, 0, 14);
  return protect(L, [&] {
    const Vector x = read_vector(L, 1, nx), y = read_vector(L, 2, ny);
    const st::TTest r = with_args([&] { return st::ttest_two(x, y, welch, tail); }, {{"x", 1}, {"y", 2}});
    push_ttest(L, welch ? "Welch two-sample t-test" : "Student two-sample t-test", r, tail);
    set_number(L, "mean_y", r.mean_y);
    set_integer(L, "n_y", r.n_y);
    return 1;
  });
}

// nl.stats.ttest_paired(x, y [, {tail = "two"}])
int ttest_paired(lua_State* L) {
  const lua_Integer nx = check_vector(L, 1, "x");
  const lua_Integer ny = check_vector(L, 2, "y");
  check_options(L, 3, "ttest_paired", {"tail"});
  const st::Tail tail = opt_tail(L, 3);
  if (nx != ny) luaL_argerror(L, 2, lua_pushfstring(L, "x has %I values but y has %I (pairs must align)", nx, ny));
  lua_settop(L, 3);
  lua_createtable(L, 0, 14);
  return protect(L, [&] {
    const Vector x = read_vector(L, 1, nx), y = read_vector(L, 2, ny);
    const st::TTest r = with_args([&] { return st::ttest_paired(x, y, tail); }, {{"x", 1}, {"y", 2}});
    push_ttest(L, "paired t-test", r, tail);
    set_number(L, "mean_y", r.mean_y);
    set_integer(L, "n_y", r.n_y);
    return 1;
  });
}

// ---------------------------------------------------------------- chi-squared

// nl.stats.chi2(table [, {correction = true}]) | nl.stats.chi2(a, b [, options])
int chi2(lua_State* L) {
  // Two label vectors (a Column, or a list whose first entry is not a row) or a table.
  bool crosstab = test<const nl::Column>(L, 1) != nullptr;
  if (!crosstab && lua_type(L, 1) == LUA_TTABLE && lua_rawlen(L, 1) > 0) {
    crosstab = lua_rawgeti(L, 1, 1) != LUA_TTABLE;
    lua_pop(L, 1);
  }
  const int oi = crosstab ? 3 : 2;
  MatArg table;
  CatArg a, b;
  if (crosstab) {
    a = validate_categories(L, 1, "a");
    b = validate_categories(L, 2, "b");
    if (a.n != b.n) luaL_argerror(L, 2, lua_pushfstring(L, "a has %I values but b has %I", a.n, b.n));
  } else {
    table = validate_matrix_arg(L, 1, "table");
    if (table.kind == MatKind::Flat || table.kind == MatKind::Column)
      luaL_argerror(L, 1, "table must be a Matrix or a list of rows (or give two label vectors)");
  }
  check_options(L, oi, "chi2", {"correction"});
  const bool correction = opt_boolean(L, oi, "correction", true);
  lua_settop(L, oi);
  lua_createtable(L, 0, 10);
  return protect(L, [&] {
    Matrix T;
    if (crosstab) {
      std::vector<int> ca, cb;
      std::vector<std::string> la, lb;
      read_categories(L, a, true, ca, la);
      read_categories(L, b, true, cb, lb);
      T = Matrix::Zero(static_cast<Eigen::Index>(la.size()), static_cast<Eigen::Index>(lb.size()));
      for (std::size_t i = 0; i < ca.size(); ++i) T(ca[i], cb[i]) += 1;
      push_strings(L, la);
      lua_setfield(L, -2, "rows");
      push_strings(L, lb);
      lua_setfield(L, -2, "columns");
    } else {
      T = read_matrix_arg(L, table);
    }
    const st::Chi2Test r = with_args([&] { return st::chi2_independence(T, correction); },
                                     {{"table", crosstab ? 0 : 1}});
    set_string(L, "method", "chi-squared test of independence");
    set_number(L, "chi2", r.chi2);
    set_number(L, "df", r.df);
    set_number(L, "p", r.p);
    lua_pushboolean(L, r.yates);
    lua_setfield(L, -2, "correction");
    push_matrix(L, T);
    lua_setfield(L, -2, "observed");
    push_matrix(L, r.expected);
    lua_setfield(L, -2, "expected");
    luaL_setmetatable(L, kTest);
    return 1;
  });
}

// ---------------------------------------------------------------- repeated measures

// nl.stats.anova_rm(Y): subjects x conditions (a Matrix, a Table of condition columns
// or a list of rows).
int anova_rm(lua_State* L) {
  const MatArg y = validate_matrix_arg(L, 1, "data");
  lua_settop(L, 1);
  lua_createtable(L, 0, 12);
  return protect(L, [&] {
    std::vector<std::string> names;
    const Matrix Y = with_args([&] { return read_matrix_arg(L, y, &names); }, {{"", 1}});
    const st::RmAnova r = with_args([&] { return st::anova_rm(Y); }, {{"data", 1}});
    set_string(L, "method", "repeated-measures ANOVA");
    set_number(L, "F", r.F);
    set_number(L, "df1", r.df1);
    set_number(L, "df2", r.df2);
    set_number(L, "p", r.p);
    set_number(L, "ss_conditions", r.ss_conditions);
    set_number(L, "ss_subjects", r.ss_subjects);
    set_number(L, "ss_error", r.ss_error);
    set_integer(L, "subjects", Y.rows());
    set_integer(L, "conditions", Y.cols());
    push_matrix(L, r.means);
    lua_setfield(L, -2, "means");
    luaL_setmetatable(L, kTest);
    return 1;
  });
}

// ---------------------------------------------------------------- corrections

// nl.stats.bonferroni(p) / nl.stats.fdr(p): adjusted p-values as a Matrix shaped like p
// (a column for a list or a Column).
int adjust(lua_State* L, bool fdr) {
  const lua_Integer n = check_vector(L, 1, "p");
  const Matrix* shape = test<Matrix>(L, 1);
  return protect(L, [&] {
    const Vector p = read_vector(L, 1, n);
    for (Eigen::Index i = 0; i < p.size(); ++i)
      if (!(p(i) >= 0 && p(i) <= 1) && !std::isnan(p(i)))
        throw ArgError(1, fmt::format("p: entry {} is {}, not a probability", i + 1, p(i)));
    Matrix q = fdr ? st::fdr_bh(p) : st::bonferroni(p);
    if (shape) q.resize(shape->rows(), shape->cols());
    push_matrix(L, std::move(q));
    return 1;
  });
}

int bonferroni(lua_State* L) { return adjust(L, false); }
int fdr(lua_State* L) { return adjust(L, true); }

// ---------------------------------------------------------------- ROC

// nl.stats.roc(scores, labels [, {direction = "<", level = 0.95, band = false, boot = 2000, seed, positive}])
int roc(lua_State* L) {
  check_options(L, 3, "roc", {"direction", "level", "band", "boot", "seed", "positive"});
  lua_settop(L, 3);
  // The positive class (cases) of text or other two-valued labels, kept on the stack.
  LabelOptions lo;
  if (lua_istable(L, 3)) lua_getfield(L, 3, "positive");
  else lua_pushnil(L);
  if (!lua_isnil(L, 4)) lo.positive = 4;
  const lua_Integer n = validate_scores(L, 1, "scores");
  const lua_Integer m = validate_labels(L, 2, "labels", lo);
  if (n != m) luaL_argerror(L, 2, lua_pushfstring(L, "%I labels for %I scores", m, n));
  const st::RocDirection dirs[] = {st::RocDirection::Less, st::RocDirection::Greater, st::RocDirection::Auto};
  const st::RocDirection dir = dirs[opt_choice(L, 3, "direction", {"<", ">", "auto"}, 0)];
  const double level = opt_number(L, 3, "level", 0.5, 0.999999, 0.95);
  // band = true: pROC's ci.se at specificities 0, 0.02, ..., 1; or a list of specificities
  // (left on the stack and read inside protect(): no C++ object may be alive when
  // a Lua error unwinds this frame).
  int band = 0;  // 0: none, 1: the default specificities, 2: the list at band_index
  lua_Integer band_n = 0;
  if (lua_istable(L, 3)) lua_getfield(L, 3, "band");
  else lua_pushnil(L);
  if (lua_isboolean(L, -1)) {
    band = lua_toboolean(L, -1) ? 1 : 0;
  } else if (!lua_isnil(L, -1)) {
    band_n = validate_scores(L, lua_gettop(L), "option 'band' (true or a list of specificities)");
    band = 2;
  }
  const int band_index = lua_gettop(L);
  const int boot = static_cast<int>(opt_integer(L, 3, "boot", 2, 10000000, 2000));
  const lua_Integer seed_given = opt_integer(L, 3, "seed", 0, LUA_MAXINTEGER, -1);
  if (band == 0 && lua_istable(L, 3)) {
    for (const char* k : {"boot", "seed"}) {
      lua_getfield(L, 3, k);
      const bool given = !lua_isnil(L, -1);
      lua_pop(L, 1);
      if (given) luaL_argerror(L, 3, lua_pushfstring(L, "option '%s' applies to the band: add band = true", k));
    }
  }
  const std::uint64_t seed =
      band == 0 ? 0 : seed_given >= 0 ? static_cast<std::uint64_t>(seed_given) : (session_rng().next() >> 1);
  lua_settop(L, band_index);
  lua_createtable(L, 0, 16);
  return protect(L, [&] {
    Vector s(n), y(n);
    read_scores(L, 1, s);
    read_labels(L, 2, y, lo);
    Vector band_sp;
    if (band == 1) band_sp = Vector::LinSpaced(51, 0.0, 1.0);
    if (band == 2) {
      band_sp.resize(band_n);
      read_scores(L, band_index, band_sp);
      for (Eigen::Index i = 0; i < band_n; ++i)
        if (!(band_sp(i) >= 0 && band_sp(i) <= 1))
          throw ArgError(3, fmt::format("option 'band': entry {} is {}, expected a specificity in [0, 1]", i + 1,
                                        band_sp(i)));
    }
    const st::Roc r = with_args([&] { return st::roc(s, y, dir, level); }, {{"scores", 1}, {"labels", 2}});
    if (band != 0) {
      const st::RocBand b = st::roc_band(s, y, r, band_sp, boot, level, seed);
      lua_createtable(L, 0, 7);
      push_matrix(L, b.specificity);
      lua_setfield(L, -2, "specificity");
      push_matrix(L, b.lower);
      lua_setfield(L, -2, "lower");
      push_matrix(L, b.median);
      lua_setfield(L, -2, "median");
      push_matrix(L, b.upper);
      lua_setfield(L, -2, "upper");
      set_integer(L, "boot", b.boot);
      set_number(L, "level", b.level);
      set_integer(L, "seed", static_cast<lua_Integer>(b.seed));
      luaL_setmetatable(L, kBand);
      lua_setfield(L, -2, "band");
    }
    set_string(L, "method", "ROC");
    set_number(L, "auc", r.auc);
    set_ci(L, r.ci_low, r.ci_high);
    set_number(L, "level", r.level);
    set_number(L, "sd", r.auc_sd);
    set_string(L, "direction", r.direction == st::RocDirection::Less ? "<" : ">");
    set_integer(L, "cases", r.n_cases);
    set_integer(L, "controls", r.n_controls);
    set_number(L, "threshold", r.cutoff);
    set_number(L, "sensitivity", r.cutoff_sensitivity);
    set_number(L, "specificity", r.cutoff_specificity);
    set_number(L, "youden", r.youden);
    lua_createtable(L, static_cast<int>(r.best.size()), 0);
    for (std::size_t k = 0; k < r.best.size(); ++k) {
      lua_pushnumber(L, r.thresholds(r.best[k]));
      lua_rawseti(L, -2, static_cast<lua_Integer>(k + 1));
    }
    lua_setfield(L, -2, "thresholds");
    lua_createtable(L, 0, 3);
    push_matrix(L, r.thresholds);
    lua_setfield(L, -2, "thresholds");
    push_matrix(L, r.sensitivity);
    lua_setfield(L, -2, "sensitivity");
    push_matrix(L, r.specificity);
    lua_setfield(L, -2, "specificity");
    luaL_setmetatable(L, kCurve);
    lua_setfield(L, -2, "curve");
    luaL_setmetatable(L, kTest);
    return 1;
  });
}

// ---------------------------------------------------------------- printing

std::string field_string(lua_State* L, const char* key) {
  raw_field(L, 1, key);  // raw: no std::string may be alive if a metamethod raised
  std::string s = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
  lua_pop(L, 1);
  return s;
}

// "[lo, hi]" from the ci field, or "" when absent or NaN.
std::string ci_text(lua_State* L, const char* label) {
  std::string s;
  if (raw_field(L, 1, "ci") == LUA_TTABLE) {
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    const double lo = lua_tonumber(L, -2), hi = lua_tonumber(L, -1);
    if (!std::isnan(lo)) s = fmt::format("{}[{}, {}]", label, short_number(lo), short_number(hi));
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  return s;
}

std::string tail_text(lua_State* L) {
  const std::string t = field_string(L, "tail");
  return t.empty() || t == "two" ? "" : " (" + t + " tail)";
}

// The ROC curve of nl.stats.roc: one line.
int curve_tostring(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  raw_field(L, 1, "thresholds");
  const auto* t = test<Matrix>(L, -1);
  lua_pushfstring(L, "[ROC curve: %d thresholds (fields thresholds, sensitivity, specificity)]",
                  t ? static_cast<int>(t->size()) : 0);
  return 1;
}

// The band of nl.stats.roc: one line.
int band_tostring(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  raw_field(L, 1, "specificity");
  const auto* t = test<Matrix>(L, -1);
  const std::string s = fmt::format(
      "[ROC band: sensitivity {:g} % CI at {} specificities, {} stratified bootstrap replicates, seed {} (fields "
      "specificity, lower, median, upper)]",
      100 * get_number(L, 1, "level"), t ? t->size() : 0, short_number(get_number(L, 1, "boot")),
      short_number(get_number(L, 1, "seed")));
  lua_pushlstring(L, s.data(), s.size());
  return 1;
}

int test_tostring(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  const std::string method = field_string(L, "method");
  auto num = [&](const char* k) { return short_number(get_number(L, 1, k)); };
  std::string s;
  if (method == "pearson" || method == "spearman") {
    s = fmt::format("{} {} = {}{}, t({}) = {}, p = {}{} (n = {})", method == "pearson" ? "Pearson" : "Spearman",
                    method == "pearson" ? "r" : "rho", num("r"), ci_text(L, ", 95 % CI "), num("df"), num("t"),
                    num("p"), tail_text(L), num("n"));
  } else if (method.find("t-test") != std::string::npos) {
    const bool two = method.find("two-sample") != std::string::npos;
    const std::string what = method == "one-sample t-test" ? "mean" : method == "paired t-test" ? "mean difference"
                                                                                                 : "difference";
    s = fmt::format("{}: t({}) = {}, p = {}{}; {} {}{}", method, num("df"), num("t"), num("p"), tail_text(L), what,
                    num("estimate"), ci_text(L, ", 95 % CI "));
    if (two) s += fmt::format(" (mean x {}, mean y {}; n {} and {})", num("mean_x"), num("mean_y"), num("n_x"), num("n_y"));
    if (method == "one-sample t-test") s += fmt::format(" (mu = {}, n = {})", num("mu"), num("n_x"));
  } else if (method == "chi-squared test of independence") {
    raw_field(L, 1, "correction");  // raw: method and s are alive
    const bool yates = lua_toboolean(L, -1);
    lua_pop(L, 1);
    s = fmt::format("chi-squared test of independence{}: X-squared({}) = {}, p = {}",
                    yates ? " with Yates' correction" : "", num("df"), num("chi2"), num("p"));
  } else if (method == "repeated-measures ANOVA") {
    s = fmt::format("repeated-measures ANOVA: F({}, {}) = {}, p = {} ({} subjects x {} conditions)", num("df1"),
                    num("df2"), num("F"), num("p"), num("subjects"), num("conditions"));
  } else if (method == "ROC") {
    s = fmt::format(
        "ROC ({} cases, {} controls, direction {}): AUC {}{} (DeLong); Youden cut-off {}: sensitivity {:.1f} %, "
        "specificity {:.1f} %",
        num("cases"), num("controls"), field_string(L, "direction"), num("auc"),
        ci_text(L, fmt::format(", {:g} % CI ", 100 * get_number(L, 1, "level")).c_str()), num("threshold"),
        100 * get_number(L, 1, "sensitivity"), 100 * get_number(L, 1, "specificity"));
  } else {
    s = "TestResult";
  }
  lua_pushlstring(L, s.data(), s.size());
  return 1;
}

const luaL_Reg functions[] = {
    {"pearson", pearson},         {"spearman", spearman},       {"ttest_one", ttest_one},
    {"ttest_two", ttest_two},     {"ttest_paired", ttest_paired}, {"chi2", chi2},
    {"anova_rm", anova_rm},       {"bonferroni", bonferroni},   {"fdr", fdr},
    {"roc", roc},                 {nullptr, nullptr},
};

}  // namespace

// Adds the classical tests, ROC and corrections to the nl.stats table on top.
void open_stats_tests(lua_State* L) {
  // Every field any test sets; each result has those of its test.
  register_record(L, kCurve, {"thresholds", "sensitivity", "specificity"}, curve_tostring);
  register_record(L, kBand, {"specificity", "lower", "median", "upper", "boot", "level", "seed"}, band_tostring);
  register_record(L, kTest,
                  {"method", "r", "t", "F", "chi2", "df", "df1", "df2", "p", "n", "tail", "ci", "estimate", "se",
                   "mean_x", "mean_y", "n_x", "n_y", "mu", "correction", "observed", "expected", "rows", "columns",
                   "ss_conditions", "ss_subjects", "ss_error", "subjects", "conditions", "means", "auc", "level", "sd",
                   "direction", "cases", "controls", "threshold", "sensitivity", "specificity", "youden",
                   "thresholds", "curve", "band"},
                  test_tostring);
  set_bindings(L, functions);
}

}  // namespace nl::bind

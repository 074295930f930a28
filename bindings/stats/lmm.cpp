// lmm.cpp: nl.stats.lmm, linear mixed models ("neurolua.LMM").
//
//   local m = nl.stats.lmm{ y = "fc", fixed = {"time", "time:response"}, group = "subject",
//                           data = t }                    -- REML, residual df
//   local m = nl.stats.lmm("fc ~ time * group + (1 + time | subject)", t, { df = "satterthwaite" })
//   print(m)                  -- an R-like summary
//   m.coefficients_           -- Table: term, estimate, se, df, t, p
//   m:anova(), m:lrt(m0), m:confint(), m:predict(new), m:contrast(L)
//
// nl.stats is shared with other binding files: open_lmm adds `lmm` to the `stats` field
// of the nl table, creating the table when it is not there yet, so the order in which
// the files register does not matter.
#include <fmt/format.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/common.hpp"
#include "core/fields.hpp"
#include "ml/args.hpp"
#include "stats/args.hpp"
#include "core/types.hpp"
#include "nl/stats/lmm.hpp"
#include "nl/table/table.hpp"

namespace nl::bind {

template <>
struct TypeName<nl::stats::Lmm> {
  static constexpr const char* value = "neurolua.LMM";
};

namespace {

using nl::Matrix;
using nl::Table;
using nl::stats::Lmm;

constexpr int kOpts = 1;

// Option `key`: a non-empty string (required) or absent (returns nullptr).
const char* opt_string(lua_State* L, const char* key, bool required) {
  const int t = raw_field(L, kOpts, key);
  const char* s = nullptr;
  if (t == LUA_TSTRING && lua_rawlen(L, -1) > 0) s = lua_tostring(L, -1);
  else if (t != LUA_TNIL || required)
    luaL_argerror(L, kOpts, lua_pushfstring(L, "option '%s' must be a column name (a non-empty string)%s", key,
                                            required ? " and is required" : ""));
  keep_alive(L, -1);  // for the rest of the call, whatever happens to the options
  lua_pop(L, 1);
  return s;
}

// Option `key`: a list of non-empty strings, or one string (a one-element list).
// Returns the count; read_names fetches them.
lua_Integer check_names(lua_State* L, const char* key) {
  const int t = raw_field(L, kOpts, key);
  lua_Integer n = 0;
  if (t == LUA_TSTRING) {
    n = 1;
  } else if (t == LUA_TTABLE) {
    n = static_cast<lua_Integer>(lua_rawlen(L, -1));
    for (lua_Integer i = 1; i <= n; ++i) {
      if (lua_rawgeti(L, -1, i) != LUA_TSTRING || lua_rawlen(L, -1) == 0)
        luaL_argerror(L, kOpts, lua_pushfstring(L, "%s[%I] must be a term (a non-empty string)", key, i));
      lua_pop(L, 1);
    }
  } else if (t != LUA_TNIL) {
    luaL_argerror(L, kOpts, lua_pushfstring(L, "option '%s' must be a list of terms, got %s", key, luaL_typename(L, -1)));
  }
  lua_pop(L, 1);
  return n;
}

// Raw reads only (runs inside protect).
std::vector<std::string> read_names(lua_State* L, const char* key) {
  std::vector<std::string> out;
  if (raw_field(L, kOpts, key) == LUA_TSTRING) {
    out.emplace_back(lua_tostring(L, -1));
  } else if (lua_istable(L, -1)) {
    const auto n = static_cast<lua_Integer>(lua_rawlen(L, -1));
    for (lua_Integer i = 1; i <= n; ++i) {
      const bool ok = lua_rawgeti(L, -1, i) == LUA_TSTRING;  // checked by check_names, unless Lua code ran since
      if (ok) out.emplace_back(lua_tostring(L, -1));
      lua_pop(L, 1);
      if (!ok) {
        lua_pop(L, 1);
        throw ArgError(kOpts, fmt::format("option '{}' changed while it was being read", key));
      }
    }
  }
  lua_pop(L, 1);
  return out;
}

// nl.stats.lmm{y, fixed, group, random, data, reml = true, df = "residual", intercept = true}
// nl.stats.lmm{formula = "y ~ ...", data, reml, df}
// nl.stats.lmm("y ~ ...", data [, {reml, df}])
int lmm(lua_State* L) {
  int opts = kOpts;
  if (lua_type(L, 1) == LUA_TSTRING) {  // the positional form: formula, data, options
    if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 3);
    check_options(L, 3, "lmm", {"reml", "df"});
    if (!test<Table>(L, 2))
      luaL_argerror(L, 2, lua_pushfstring(L, "the data must be a neurolua.Table, got %s", luaL_typename(L, 2)));
    // Rebuild as the options form: {formula = arg1, data = arg2, reml = ..., df = ...}.
    lua_createtable(L, 0, 4);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "formula");
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "data");
    if (lua_istable(L, 3)) {
      for (const char* k : {"reml", "df"}) {
        raw_field(L, 3, k);
        lua_setfield(L, -2, k);
      }
    }
    lua_replace(L, 1);
    lua_settop(L, 1);
  }
  luaL_checktype(L, opts, LUA_TTABLE);
  lua_settop(L, opts);
  check_options(L, opts, "lmm", {"formula", "y", "fixed", "group", "random", "data", "reml", "df", "intercept"});
  const char* formula = nullptr;
  if (raw_field(L, opts, "formula") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_argerror(L, opts, lua_pushfstring(L, "option 'formula' must be a string, got %s", luaL_typename(L, -1)));
    formula = lua_tostring(L, -1);
    keep_alive(L, -1);
    for (const char* k : {"y", "fixed", "group", "random", "intercept"}) {
      if (raw_field(L, opts, k) != LUA_TNIL)
        luaL_argerror(L, opts, lua_pushfstring(L, "option '%s' cannot be given with a formula (write it in the formula)", k));
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  const char* y = formula ? nullptr : opt_string(L, "y", true);
  const char* group = formula ? nullptr : opt_string(L, "group", true);
  check_names(L, "fixed");
  check_names(L, "random");
  lua_getfield(L, kOpts, "data");
  const Table* data = test<Table>(L, -1);
  if (!data)
    luaL_argerror(L, kOpts, lua_pushfstring(L, "option 'data' must be a neurolua.Table, got %s", luaL_typename(L, -1)));
  lua_pop(L, 1);  // the Table stays referenced by the options table
  nl::stats::LmmOptions o;
  bool intercept = true;
  for (const char* key : {"reml", "intercept"}) {
    if (lua_getfield(L, kOpts, key) != LUA_TNIL) {
      if (!lua_isboolean(L, -1)) luaL_argerror(L, kOpts, lua_pushfstring(L, "option '%s' must be true or false", key));
      (std::strcmp(key, "reml") == 0 ? o.reml : intercept) = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
  }
  if (lua_getfield(L, kOpts, "df") != LUA_TNIL) {
    static const char* const kinds[] = {"residual", "satterthwaite", nullptr};
    const char* s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
    if (std::strcmp(s, kinds[0]) != 0 && std::strcmp(s, kinds[1]) != 0)
      luaL_argerror(L, kOpts, lua_pushfstring(L, "option 'df' must be \"residual\" or \"satterthwaite\", got %s",
                                              luaL_tolstring(L, -1, nullptr)));
    o.df = std::strcmp(s, kinds[1]) == 0 ? nl::stats::DfMethod::Satterthwaite : nl::stats::DfMethod::Residual;
  }
  lua_pop(L, 1);

  auto* slot = new_object<Lmm>(L);
  return protect(L, [&] {
    nl::stats::LmmSpec spec;
    if (formula) {
      spec = nl::stats::parse_lmm_formula(formula);
    } else {
      spec.y = y;
      spec.group = group;
      spec.fixed = read_names(L, "fixed");
      spec.random = read_names(L, "random");
      spec.intercept = intercept;
    }
    *slot = std::make_shared<Lmm>(nl::stats::lmm(*data, spec, o));
    return 1;
  });
}

// ---------------------------------------------------------------- the result object

const char* const kFields[] = {"coefficients_", "variance_", "ranef_", "beta_", "vcov_", "theta_", "random_cov_",
                               "fitted_", "residuals_", "sigma_", "criterion_", "loglik_", "aic_", "bic_", "n_",
                               "groups_", "reml", "df_method", "converged_", "singular_", "terms_", "formula",
                               "notices_", "rows_", nullptr};

// The names of neurolua 0.1, before learned values took a trailing underscore
// (docs/reference/neurolua.md, "Conventions"): readable until 0.3, with a warning.
const Renamed kRenames[] = {{"coefficients", "coefficients_"}, {"variance", "variance_"}, {"ranef", "ranef_"},
                            {"beta", "beta_"}, {"vcov", "vcov_"}, {"theta", "theta_"}, {"random_cov", "random_cov_"},
                            {"fitted", "fitted_"}, {"residuals", "residuals_"}, {"sigma", "sigma_"},
                            {"criterion", "criterion_"}, {"loglik", "loglik_"}, {"aic", "aic_"}, {"bic", "bic_"},
                            {"n", "n_"}, {"groups", "groups_"}, {"converged", "converged_"},
                            {"singular", "singular_"}, {"terms", "terms_"}, {"notices", "notices_"},
                            {"rows", "rows_"}};

// A table keyed by the random terms' labels ("plate", "Subject.1"), each value pushed by push(k).
template <class F>
int per_term(lua_State* L, const Lmm& m, F&& push) {
  lua_createtable(L, 0, static_cast<int>(m.model.term_labels.size()));
  for (std::size_t k = 0; k < m.model.term_labels.size(); ++k) {
    push(k);
    lua_setfield(L, -2, m.model.term_labels[k].c_str());
  }
  return 1;
}

nl::ColumnPtr number_column(const char* name, std::vector<double> v, std::vector<std::uint8_t> missing = {}) {
  return std::make_shared<const nl::Column>(missing.empty() ? nl::Column::numbers(name, std::move(v))
                                                            : nl::Column::numbers(name, std::move(v), std::move(missing)));
}

Table ftest_table(const std::vector<nl::stats::LmmFTest>& tests) {
  std::vector<std::string> term;
  std::vector<double> ss, ms, num, den, F, p;
  for (const auto& t : tests) {
    term.push_back(t.term);
    ss.push_back(t.sum_sq), ms.push_back(t.mean_sq), num.push_back(t.numdf), den.push_back(t.dendf);
    F.push_back(t.F), p.push_back(t.p);
  }
  Table out;
  out.set(std::make_shared<const nl::Column>(nl::Column::strings("term", term)));
  out.set(number_column("sum_sq", ss));
  out.set(number_column("mean_sq", ms));
  out.set(number_column("numdf", num));
  out.set(number_column("dendf", den));
  out.set(number_column("F", F));
  out.set(number_column("p", p));
  return out;
}

// m:anova([type = 3])
int m_anova(lua_State* L) {
  const Lmm& m = check<Lmm>(L, 1);
  const lua_Integer type = luaL_optinteger(L, 2, 3);
  if (type != 1 && type != 3) luaL_argerror(L, 2, lua_pushfstring(L, "type must be 1 or 3, got %I", type));
  return push_new<Table>(L, [&] { return ftest_table(nl::stats::lmm_anova(m, static_cast<int>(type))); });
}

// m:contrast(L): a Matrix or list of rows (p columns), or one flat list (one row).
int m_contrast(lua_State* L) {
  const Lmm& m = check<Lmm>(L, 1);
  const MatArg a = validate_matrix_arg(L, 2, "contrast");
  return push_new<Table>(L, [&] {
    Matrix C = read_matrix_arg(L, a);
    if (a.kind == MatKind::Flat || a.kind == MatKind::Column) C.transposeInPlace();
    auto t = nl::stats::lmm_contrast(m, C);
    t.term = "contrast";
    return ftest_table({t});
  });
}

// m:lrt(other): lme4's anova(m0, m1).
int m_lrt(lua_State* L) {
  const Lmm& a = check<Lmm>(L, 1);
  const Lmm& b = check<Lmm>(L, 2);
  return push_new<Table>(L, [&] {
    const auto r = nl::stats::lmm_lrt(a, b);
    const Lmm& small = r.swapped ? b : a;
    const Lmm& large = r.swapped ? a : b;
    Table out;
    out.set(std::make_shared<const nl::Column>(nl::Column::strings(
        "model", {nl::stats::lmm_formula(small.model.spec), nl::stats::lmm_formula(large.model.spec)})));
    out.set(number_column("npar", {static_cast<double>(r.npar0), static_cast<double>(r.npar1)}));
    out.set(number_column("aic", {r.aic0, r.aic1}));
    out.set(number_column("bic", {r.bic0, r.bic1}));
    out.set(number_column("loglik", {r.loglik0, r.loglik1}));
    out.set(number_column("deviance", {-2 * r.loglik0, -2 * r.loglik1}));
    out.set(number_column("chisq", {0.0, r.chisq}, {1, 0}));
    out.set(number_column("df", {0.0, r.df}, {1, 0}));
    out.set(number_column("p", {0.0, r.p}, {1, 0}));
    return out;
  });
}

// m:confint([{method = "profile", level = 0.95}])
int m_confint(lua_State* L) {
  const Lmm& m = check<Lmm>(L, 1);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  check_options(L, 2, "confint", {"method", "level"});
  const int method = opt_choice(L, 2, "method", {"profile", "Wald"}, 0);
  const double level = opt_number(L, 2, "level", 1e-9, 1 - 1e-9, 0.95);
  return push_new<Table>(L, [&] {
    const auto ci = nl::stats::lmm_confint(m, method == 0 ? "profile" : "Wald", level);
    Table out;
    out.set(std::make_shared<const nl::Column>(nl::Column::strings("parameter", ci.names)));
    out.set(number_column("lower", std::vector<double>(ci.lower.data(), ci.lower.data() + ci.lower.size())));
    out.set(number_column("upper", std::vector<double>(ci.upper.data(), ci.upper.data() + ci.upper.size())));
    return out;
  });
}

// m:predict(data [, {random = true}])
int m_predict(lua_State* L) {
  const Lmm& m = check<Lmm>(L, 1);
  const Table& data = check<Table>(L, 2);
  if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 3);
  check_options(L, 3, "predict", {"random"});
  const bool random = opt_boolean(L, 3, "random", true);
  return push_new<Matrix>(L, [&] { return Matrix(nl::stats::lmm_predict(m, data, random)); });
}

// m.<field>; an old name reads with a deprecation warning; an unknown field raises,
// listing the fields (no_field).
int m_index(lua_State* L) {
  const Lmm& m = check<Lmm>(L, 1);
  if (push_method(L, 2)) return 1;  // methods added in Lua (LMM:plot_effects)
  if (lua_type(L, 2) != LUA_TSTRING) return no_field(L, 1, 2);
  const char* key = renamed(L, "LMM", lua_tostring(L, 2), kRenames);
  lua_pushstring(L, key);
  const int k = field_index(L, -1, kFields);
  lua_pop(L, 1);
  const auto& f = m.fit;
  switch (k) {
    case 0: return push_new<Table>(L, [&] { return nl::stats::lmm_coefficients(m); });
    case 1: return push_new<Table>(L, [&] { return nl::stats::lmm_variance(m); });
    case 2:
      if (m.fit.ranef.size() == 1) return push_new<Table>(L, [&] { return nl::stats::lmm_ranef(m, 0); });
      return per_term(L, m, [&](std::size_t k) { return push_new<Table>(L, [&] { return nl::stats::lmm_ranef(m, k); }); });
    case 3: return push_new<Matrix>(L, [&] { return f.beta; });
    case 4: return push_new<Matrix>(L, [&] { return f.vcov; });
    case 5: return push_new<Matrix>(L, [&] { return f.theta; });
    case 6:
      if (f.random_cov.size() == 1) return push_new<Matrix>(L, [&] { return f.random_cov[0]; });
      return per_term(L, m, [&](std::size_t k) { return push_new<Matrix>(L, [&] { return f.random_cov[k]; }); });
    case 7: return push_new<Matrix>(L, [&] { return f.fitted; });
    case 8: return push_new<Matrix>(L, [&] { return f.residuals; });
    case 9: lua_pushnumber(L, f.sigma); return 1;
    case 10: lua_pushnumber(L, f.criterion); return 1;
    case 11: lua_pushnumber(L, f.loglik); return 1;
    case 12: lua_pushnumber(L, f.aic); return 1;
    case 13: lua_pushnumber(L, f.bic); return 1;
    case 14: lua_pushinteger(L, static_cast<lua_Integer>(f.n)); return 1;
    case 15:
      if (f.levels.size() == 1) return lua_pushinteger(L, static_cast<lua_Integer>(f.levels[0])), 1;
      return per_term(L, m, [&](std::size_t k) { return lua_pushinteger(L, static_cast<lua_Integer>(f.levels[k])), 1; });
    case 16: lua_pushboolean(L, f.reml); return 1;
    case 17: lua_pushstring(L, f.df_method == nl::stats::DfMethod::Satterthwaite ? "satterthwaite" : "residual"); return 1;
    case 18: lua_pushboolean(L, f.converged); return 1;
    case 19: lua_pushboolean(L, f.singular); return 1;
    case 20: return protect(L, [&] { push_strings(L, m.model.fixed_names); return 1; });
    case 21: return protect(L, [&] {
      const std::string s = nl::stats::lmm_formula(m.model.spec);
      lua_pushlstring(L, s.data(), s.size());
      return 1;
    });
    case 22: return protect(L, [&] { push_strings(L, f.notices); return 1; });
    case 23:
      lua_createtable(L, static_cast<int>(m.model.rows.size()), 0);
      for (std::size_t i = 0; i < m.model.rows.size(); ++i) {
        lua_pushinteger(L, static_cast<lua_Integer>(m.model.rows[i] + 1));
        lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
      }
      return 1;
    default: break;
  }
  return no_field(L, 1, 2);
}

int m_fields(lua_State* L) { return push_names(L, kFields); }

int m_tostring(lua_State* L) {
  const Lmm& m = check<Lmm>(L, 1);
  return protect(L, [&] {
    const std::string s = nl::stats::format_lmm(m);
    lua_pushlstring(L, s.data(), s.size());
    return 1;
  });
}

const luaL_Reg methods[] = {
    {"anova", m_anova}, {"contrast", m_contrast}, {"lrt", m_lrt},
    {"confint", m_confint}, {"predict", m_predict}, {nullptr, nullptr},
};

const luaL_Reg metamethods[] = {
    {"__index", m_index},
    {"__fields", m_fields},
    {"__tostring", m_tostring},
    {nullptr, nullptr},
};

}  // namespace

void open_lmm(lua_State* L) {
  register_type<Lmm>(L, methods, metamethods);
  if (lua_getfield(L, -1, "stats") != LUA_TTABLE) {  // nl.stats absent: create it
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "stats");
  }
  push_binding(L, lmm);
  lua_setfield(L, -2, "lmm");
  lua_pop(L, 1);  // nl.stats
}

}  // namespace nl::bind

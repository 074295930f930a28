// lmm.cpp: nl.stats.lmm, linear mixed models ("neurolua.LMM").
//
//   local m = nl.stats.lmm{ y = "fc", fixed = {"time", "time:response"}, group = "subject",
//                           data = t }                    -- REML, residual df
//   print(m)                  -- an R-like summary
//   m.coefficients            -- Table: term, estimate, se, df, t, p
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
int lmm(lua_State* L) {
  luaL_checktype(L, kOpts, LUA_TTABLE);
  lua_settop(L, kOpts);
  check_options(L, kOpts, "lmm", {"y", "fixed", "group", "random", "data", "reml", "df", "intercept"});
  const char* y = opt_string(L, "y", true);
  const char* group = opt_string(L, "group", true);
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
    spec.y = y;
    spec.group = group;
    spec.fixed = read_names(L, "fixed");
    spec.random = read_names(L, "random");
    spec.intercept = intercept;
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
    case 2: return push_new<Table>(L, [&] { return nl::stats::lmm_ranef(m); });
    case 3: return push_new<Matrix>(L, [&] { return f.beta; });
    case 4: return push_new<Matrix>(L, [&] { return f.vcov; });
    case 5: return push_new<Matrix>(L, [&] { return f.theta; });
    case 6: return push_new<Matrix>(L, [&] { return f.random_cov; });
    case 7: return push_new<Matrix>(L, [&] { return f.fitted; });
    case 8: return push_new<Matrix>(L, [&] { return f.residuals; });
    case 9: lua_pushnumber(L, f.sigma); return 1;
    case 10: lua_pushnumber(L, f.criterion); return 1;
    case 11: lua_pushnumber(L, f.loglik); return 1;
    case 12: lua_pushnumber(L, f.aic); return 1;
    case 13: lua_pushnumber(L, f.bic); return 1;
    case 14: lua_pushinteger(L, static_cast<lua_Integer>(f.n)); return 1;
    case 15: lua_pushinteger(L, static_cast<lua_Integer>(f.groups)); return 1;
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
    {nullptr, nullptr},
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

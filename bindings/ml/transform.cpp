// bindings/ml/transform.cpp: nl.ml preprocessing steps as "neurolua.Transform" objects.
//
// One Lua type for every step (scale, prune, impute, regress_out, combat, pca, robpca and
// the label-dependent filter): the engine's nl::ml::Transform contract is uniform, so is
// the Lua face.
//   local s = nl.ml.scale{ range = {-1, 1} }
//   s:fit(X)                 -- returns s
//   s:transform(Xtest)       -- Matrix
//   s.min_                   -- learned state as a Matrix (nil before fit)
// Covariates are passed as an options table: s:fit(X, { covariates = t }).
// regress_out also takes its unseen-level policy (nl/ml/transform.hpp, UnseenAction):
//   nl.ml.regress_out{ "age", "site", unseen = "drop" }; r:transform(X, { covariates = t, unseen = { site = "A" } })
// A label-dependent step is fitted with the labels (or targets) after X:
//   nl.ml.filter{ score = "f_classif", k = 10 }:fit(X, y [, { covariates = t, positive = "M" }])
#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include <string>
#include <vector>

#include "core/common.hpp"
#include "core/fields.hpp"
#include "ml/args.hpp"
#include "nl/ml/combat.hpp"
#include "nl/ml/components.hpp"
#include "nl/ml/filter.hpp"
#include "nl/ml/transform.hpp"

namespace nl::bind {

namespace {

using nl::Matrix;
using nl::ml::Transform;

// ---------------------------------------------------------------- constructors

// nl.ml.scale{range = {lo, hi}}
int new_scale(lua_State* L) {
  check_options(L, 1, "scale", {"range"});
  double lo = -1, hi = 1;
  if (lua_getfield(L, 1, "range") != LUA_TNIL) {
    if (!lua_istable(L, -1) || lua_rawlen(L, -1) != 2)
      luaL_argerror(L, 1, "option 'range' must be a table {lo, hi}");
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    if (!lua_isnumber(L, -2) || !lua_isnumber(L, -1)) luaL_argerror(L, 1, "option 'range' must hold two numbers");
    lo = lua_tonumber(L, -2);
    hi = lua_tonumber(L, -1);
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  if (!(lo < hi)) luaL_argerror(L, 1, "option 'range' needs lo < hi");
  auto* slot = new_object<Transform>(L);
  return protect(L, [&] {
    *slot = std::make_shared<nl::ml::Scale>(lo, hi);
    return 1;
  });
}

// nl.ml.prune{}
int new_prune(lua_State* L) {
  check_options(L, 1, "prune", {});
  auto* slot = new_object<Transform>(L);
  return protect(L, [&] {
    *slot = std::make_shared<nl::ml::Prune>();
    return 1;
  });
}

// nl.ml.impute{strategy = "median" | "mean" | "constant", fill_value = 0}
int new_impute(lua_State* L) {
  check_options(L, 1, "impute", {"strategy", "fill_value", "n_neighbors"});
  const auto strategy =
      static_cast<nl::ml::ImputeStrategy>(opt_choice(L, 1, "strategy", {"mean", "median", "constant", "knn"}, 1));
  const int k = static_cast<int>(opt_integer(L, 1, "n_neighbors", 1, 100000, 5));
  if (strategy != nl::ml::ImputeStrategy::Knn && lua_istable(L, 1)) {
    if (lua_getfield(L, 1, "n_neighbors") != LUA_TNIL)
      luaL_argerror(L, 1, "option 'n_neighbors' applies to strategy = \"knn\" only");
    lua_pop(L, 1);
  }
  double fill = 0;
  if (lua_istable(L, 1) && lua_getfield(L, 1, "fill_value") != LUA_TNIL) {
    if (!lua_isnumber(L, -1) || !std::isfinite(lua_tonumber(L, -1)))
      luaL_argerror(L, 1, "option 'fill_value' must be a finite number");
    if (strategy != nl::ml::ImputeStrategy::Constant)
      luaL_argerror(L, 1, "option 'fill_value' applies to strategy = \"constant\" only");
    fill = lua_tonumber(L, -1);
  }
  auto* slot = new_object<Transform>(L);
  return protect(L, [&] {
    *slot = std::make_shared<nl::ml::Impute>(strategy, fill, k);
    return 1;
  });
}

// nl.ml.regress_out{"age", "sex", ... [, unseen = "error" | "drop" | {site = "A", ...}]}
int new_regress_out(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const lua_Integer n = luaL_len(L, 1);
  if (n == 0) luaL_argerror(L, 1, "name at least one covariate column, e.g. {\"age\", \"sex\"}");
  for (lua_Integer k = 1; k <= n; ++k) {
    if (lua_rawgeti(L, 1, k) != LUA_TSTRING)
      luaL_argerror(L, 1, lua_pushfstring(L, "entry %I is a %s, not a column name", k, luaL_typename(L, -1)));
    lua_pop(L, 1);
  }
  check_options(L, 1, "regress_out", {"unseen"});
  const bool unseen = validate_unseen(L, 1);
  if (unseen && lua_getfield(L, 1, "unseen") == LUA_TTABLE) {
    // Every column the policy names must be one of the listed covariates.
    const int u = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, u) != 0) {
      lua_pop(L, 1);
      bool listed = false;
      for (lua_Integer k = 1; k <= n && !listed; ++k) {
        lua_rawgeti(L, 1, k);
        listed = lua_rawequal(L, -1, -2);
        lua_pop(L, 1);
      }
      if (listed) continue;
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      for (lua_Integer k = 1; k <= n; ++k) {
        luaL_addstring(&b, k > 1 ? "', '" : "'");
        lua_rawgeti(L, 1, k);
        luaL_addvalue(&b);
      }
      luaL_addstring(&b, "'");
      luaL_pushresult(&b);
      luaL_argerror(L, 1, lua_pushfstring(L, "option 'unseen' names column '%s', which is not one of the covariates "
                                             "(%s)",
                                          lua_tostring(L, -2), lua_tostring(L, -1)));
    }
  }
  lua_settop(L, 1);
  auto* slot = new_object<Transform>(L);
  return protect(L, [&] {
    std::vector<std::string> names;
    for (lua_Integer k = 1; k <= n; ++k) {
      lua_rawgeti(L, 1, k);
      names.emplace_back(lua_tostring(L, -1));
      lua_pop(L, 1);
    }
    *slot = std::make_shared<nl::ml::RegressOut>(std::move(names), unseen ? read_unseen(L, 1) : nl::ml::UnseenPolicy());
    return 1;
  });
}

// nl.ml.combat{batch = "site" [, covariates = {"age", "sex"}, parametric = true,
//              mean_only = false, unseen = "error" | "estimate"]}
int new_combat(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  check_options(L, 1, "combat", {"batch", "covariates", "parametric", "mean_only", "unseen"});
  if (lua_getfield(L, 1, "batch") != LUA_TSTRING || lua_rawlen(L, -1) == 0)
    luaL_argerror(L, 1, "option 'batch' must name the site column, e.g. batch = \"site\"");
  lua_pop(L, 1);
  lua_Integer ncov = 0;
  if (lua_getfield(L, 1, "covariates") != LUA_TNIL) {
    if (!lua_istable(L, -1)) luaL_argerror(L, 1, "option 'covariates' must be a list of column names, e.g. {\"age\", \"sex\"}");
    ncov = luaL_len(L, -1);
    for (lua_Integer k = 1; k <= ncov; ++k) {
      if (lua_rawgeti(L, -1, k) != LUA_TSTRING)
        luaL_argerror(L, 1, lua_pushfstring(L, "option 'covariates': entry %I is a %s, not a column name", k,
                                            luaL_typename(L, -1)));
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  const bool parametric = opt_boolean(L, 1, "parametric", true);
  const bool mean_only = opt_boolean(L, 1, "mean_only", false);
  const auto unseen = static_cast<nl::ml::CombatUnseen>(opt_choice(L, 1, "unseen", {"error", "estimate"}, 0));
  lua_settop(L, 1);
  auto* slot = new_object<Transform>(L);
  return protect(L, [&] {
    nl::ml::CombatOptions o;
    lua_getfield(L, 1, "batch");
    o.batch = lua_tostring(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, 1, "covariates");
    for (lua_Integer k = 1; k <= ncov; ++k) {
      lua_rawgeti(L, -1, k);
      o.covariates.emplace_back(lua_tostring(L, -1));
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    o.parametric = parametric;
    o.mean_only = mean_only;
    o.unseen = unseen;
    *slot = std::make_shared<nl::ml::Combat>(std::move(o));
    return 1;
  });
}

// nl.ml.pca{k = 13}
int new_pca(lua_State* L) {
  check_options(L, 1, "pca", {"k"});
  const lua_Integer k = lua_isnoneornil(L, 1) ? 0 : opt_integer(L, 1, "k", 0, LUA_MAXINTEGER, 0);
  auto* slot = new_object<Transform>(L);
  return protect(L, [&] {
    *slot = std::make_shared<nl::ml::Pca>(static_cast<Eigen::Index>(k));
    return 1;
  });
}

// nl.ml.robpca{k = 13, alpha = 0.75, directions = 250, seed = ..., random_directions = false}
int new_robpca(lua_State* L) {
  check_options(L, 1, "robpca", {"k", "alpha", "directions", "seed", "random_directions"});
  nl::ml::RobpcaOptions o;
  if (!lua_isnoneornil(L, 1)) {
    o.k = static_cast<Eigen::Index>(opt_integer(L, 1, "k", 0, LUA_MAXINTEGER, 0));
    o.ndir = static_cast<Eigen::Index>(opt_integer(L, 1, "directions", 0, LUA_MAXINTEGER, o.ndir));
    o.seed = static_cast<std::uint64_t>(opt_integer(L, 1, "seed", 0, LUA_MAXINTEGER, static_cast<lua_Integer>(o.seed)));
    if (lua_getfield(L, 1, "alpha") != LUA_TNIL) {
      if (!lua_isnumber(L, -1)) luaL_argerror(L, 1, "option 'alpha' must be a number in [0.5, 1]");
      o.alpha = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, 1, "random_directions") != LUA_TNIL && lua_toboolean(L, -1))
      o.directions = nl::ml::Directions::Random;
    lua_pop(L, 1);
  }
  auto* slot = new_object<Transform>(L);
  return protect(L, [&] {
    *slot = std::make_shared<nl::ml::Robpca>(o);
    return 1;
  });
}

// nl.ml.filter{score = "f_classif" | "t" | "f_regression" | "correlation", k = 10 | fraction = 0.2}
int new_filter(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  check_options(L, 1, "filter", {"score", "k", "fraction"});
  const auto score = static_cast<nl::ml::FilterScore>(
      opt_choice(L, 1, "score", {"f_classif", "t", "f_regression", "correlation"}, 0));
  const lua_Integer k = opt_integer(L, 1, "k", 1, LUA_MAXINTEGER, 0);
  double fraction = 0;
  if (lua_getfield(L, 1, "fraction") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TNUMBER)
      luaL_argerror(L, 1, lua_pushfstring(L, "option 'fraction' must be a number in (0, 1], got %s",
                                          luaL_typename(L, -1)));
    fraction = lua_tonumber(L, -1);
    if (!(fraction > 0 && fraction <= 1))
      luaL_argerror(L, 1, lua_pushfstring(L, "option 'fraction' must be in (0, 1], got %s",
                                          luaL_tolstring(L, -1, nullptr)));
  }
  lua_pop(L, 1);
  if ((k > 0) == (fraction > 0))
    luaL_argerror(L, 1, "give exactly one of options 'k' (the number of features kept, e.g. k = 10) and 'fraction' "
                        "(the share kept, e.g. fraction = 0.2)");
  auto* slot = new_object<Transform>(L);
  return protect(L, [&] {
    *slot = std::make_shared<nl::ml::UnivariateFilter>(
        nl::ml::FilterOptions{score, static_cast<Eigen::Index>(k), fraction});
    return 1;
  });
}

// ---------------------------------------------------------------- methods

// Whether a label-dependent step reads its labels as two classes (+1/-1, read with
// read_labels: booleans, 1/0, text with `positive`) rather than as numbers taken as
// they are (a regression's targets): the filter's classification scores only.
bool wants_classes(const Transform& t) {
  const auto* f = dynamic_cast<const nl::ml::UnivariateFilter*>(&t);
  return f && nl::ml::is_classification(f->filter_options().score);
}

// The arguments of a label-dependent step's fit or fit_transform: the labels at 3, the
// options {covariates = Table, positive = value} at 4. Raises (before any C++ object
// lives); returns the number of labels and sets *cov.
lua_Integer check_labelled_args(lua_State* L, const Transform& t, const char* what, const nl::Table** cov,
                                LabelOptions& lo) {
  lua_settop(L, 4);
  // The step's name and options live on the Lua stack (no std::string alive at a raise).
  lua_pushstring(L, t.name().c_str());
  lua_pushstring(L, t.options().c_str());
  const int name = lua_gettop(L) - 1;
  if (lua_isnil(L, 3) || (lua_istable(L, 3) && lua_getfield(L, 3, "covariates") != LUA_TNIL))
    luaL_argerror(L, 3, lua_pushfstring(L, "%s learns from the labels: give them after X, t:%s(X, y [, options])",
                                        lua_tostring(L, name), what));
  lua_settop(L, name + 1);
  check_options(L, 4, what, {"covariates", "positive"});
  *cov = nullptr;
  lo.positive = 0;
  if (lua_istable(L, 4)) {
    if (lua_getfield(L, 4, "covariates") != LUA_TNIL) {
      *cov = test<nl::Table>(L, -1);
      if (!*cov)
        luaL_argerror(L, 4, lua_pushfstring(L, "option 'covariates' must be a neurolua.Table, got %s",
                                            luaL_typename(L, -1)));
    }
    lua_pop(L, 1);
    lua_getfield(L, 4, "positive");  // stays on the stack for read_labels
    if (!lua_isnil(L, -1)) lo.positive = lua_gettop(L);
  }
  if (wants_classes(t)) return validate_labels(L, 3, "labels", lo);
  if (lo.positive)
    luaL_argerror(L, 4, lua_pushfstring(L, "option 'positive' names a class, but %s scores continuous targets",
                                        lua_tostring(L, name + 1)));
  const lua_Integer n = validate_scores(L, 3, "targets");
  if (n == 0) luaL_argerror(L, 3, "targets are empty");
  return n;
}

// Reads the labels checked by check_labelled_args (inside protect()).
nl::Vector read_step_labels(lua_State* L, const Transform& t, lua_Integer n, const LabelOptions& lo) {
  nl::Vector y(n);
  if (wants_classes(t)) read_labels(L, 3, y, lo);
  else read_scores(L, 3, y);
  return y;
}

// t:fit(X [, {covariates = Table}]) -> t; a label-dependent step (filter):
// t:fit(X, y [, {covariates = Table, positive = value}]) -> t
int t_fit(lua_State* L) {
  forbid_reentrant_change(L, "Transform");
  Transform& t = check<Transform>(L, 1);
  const Matrix& X = check<Matrix>(L, 2);
  if (t.label_dependent()) {
    const nl::Table* cov = nullptr;
    LabelOptions lo;
    const lua_Integer n = check_labelled_args(L, t, "fit", &cov, lo);
    return protect(L, [&] {
      t.fit_labelled(X, read_step_labels(L, t, n, lo), cov);
      lua_pushvalue(L, 1);
      return 1;
    });
  }
  const nl::Table* cov = opt_covariates(L, 3, "fit");
  return protect(L, [&] {
    t.fit(X, cov);
    lua_pushvalue(L, 1);
    return 1;
  });
}

// t:transform(X [, {covariates = Table, unseen = ...}]) -> Matrix. unseen (regress_out
// only) replaces the step's unseen-level policy for this call, on a copy of the step.
int t_transform(lua_State* L) {
  Transform& t = check<Transform>(L, 1);
  const Matrix& X = check<Matrix>(L, 2);
  const nl::Table* cov = opt_covariates(L, 3, "transform", true);
  const bool unseen = validate_unseen(L, 3);
  auto* ro = dynamic_cast<nl::ml::RegressOut*>(&t);
  if (unseen && !ro)
    luaL_argerror(L, 3, "option 'unseen' applies to regress_out's text covariates, and this step is not a regress_out");
  auto* slot = new_object<Matrix>(L);
  return protect(L, [&] {
    if (!unseen) {
      *slot = std::make_shared<Matrix>(t.apply(X, cov));
      return 1;
    }
    nl::ml::RegressOut step(*ro);
    try {
      step.set_unseen(read_unseen(L, 3));
    } catch (const nl::ValueError& e) {
      throw ArgError(3, e.what());
    }
    *slot = std::make_shared<Matrix>(step.apply(X, cov));
    return 1;
  });
}

// t:fit_transform(X [, opts]) -> Matrix; a label-dependent step: t:fit_transform(X, y [, opts])
int t_fit_transform(lua_State* L) {
  forbid_reentrant_change(L, "Transform");
  Transform& t = check<Transform>(L, 1);
  const Matrix& X = check<Matrix>(L, 2);
  if (t.label_dependent()) {
    const nl::Table* cov = nullptr;
    LabelOptions lo;
    const lua_Integer n = check_labelled_args(L, t, "fit_transform", &cov, lo);
    auto* slot = new_object<Matrix>(L);
    return protect(L, [&] {
      t.fit_labelled(X, read_step_labels(L, t, n, lo), cov);
      *slot = std::make_shared<Matrix>(t.apply(X, cov));
      return 1;
    });
  }
  const nl::Table* cov = opt_covariates(L, 3, "fit_transform");
  auto* slot = new_object<Matrix>(L);
  return protect(L, [&] {
    t.fit(X, cov);
    *slot = std::make_shared<Matrix>(t.apply(X, cov));
    return 1;
  });
}

int t_fitted(lua_State* L) {
  lua_pushboolean(L, check<Transform>(L, 1).fitted());
  return 1;
}

int t_clone(lua_State* L) {
  Transform& t = check<Transform>(L, 1);
  auto* slot = new_object<Transform>(L);
  return protect(L, [&] {
    *slot = std::shared_ptr<Transform>(t.clone());
    return 1;
  });
}

int t_name(lua_State* L) {
  Transform& t = check<Transform>(L, 1);
  return protect(L, [&] {
    const std::string s = t.name();
    lua_pushlstring(L, s.data(), s.size());
    return 1;
  });
}

// t:state() -> {name = Matrix, ...} (empty before fit)
int t_state(lua_State* L) {
  Transform& t = check<Transform>(L, 1);
  lua_newtable(L);
  return protect(L, [&] {
    for (auto& item : t.state()) {
      auto* slot = new_object<Matrix>(L);
      *slot = std::make_shared<Matrix>(std::move(item.value));
      lua_setfield(L, -2, item.name.c_str());
    }
    return 1;
  });
}

// t.name_ -> a learned-state Matrix; other keys -> methods. A learned name (ending in
// "_") read before fit raises "not fitted"; any other unknown key raises no_field.
int t_index(lua_State* L) {
  Transform& t = check<Transform>(L, 1);
  if (push_method(L, 2)) return 1;
  if (lua_type(L, 2) == LUA_TSTRING) {
    const char* key = lua_tostring(L, 2);
    const std::size_t len = std::strlen(key);
    if (!t.fitted() && len > 1 && key[len - 1] == '_') {
      lua_pushfstring(L, "%s", t.name().c_str());  // the name lives on the Lua stack
      return not_fitted(L, lua_tostring(L, -1), key);
    }
    bool found = false;
    auto* slot = new_object<Matrix>(L);
    protect(L, [&] {
      for (auto& item : t.state())
        if (item.name == key) {
          *slot = std::make_shared<Matrix>(std::move(item.value));
          found = true;
          break;
        }
      return 0;
    });
    if (found) return 1;
    lua_pop(L, 1);
  }
  return no_field(L, 1, 2);
}

// The names of the learned state, for REPL completion.
int t_fields(lua_State* L) {
  Transform& t = check<Transform>(L, 1);
  lua_newtable(L);
  return protect(L, [&] {
    int k = 0;
    for (const auto& item : t.state()) {
      lua_pushlstring(L, item.name.data(), item.name.size());
      lua_rawseti(L, -2, ++k);
    }
    return 1;
  });
}

int t_tostring(lua_State* L) {
  Transform& t = check<Transform>(L, 1);
  return protect(L, [&] {
    std::string s = t.options();
    if (t.fitted()) {
      s += fmt::format("  -- fitted on {} features", t.n_features_in());
      const auto st = t.state();
      for (std::size_t k = 0; k < st.size(); ++k)
        s += fmt::format("{}{} {}x{}", k ? ", " : ": ", st[k].name, st[k].value.rows(), st[k].value.cols());
    } else {
      s += "  -- not fitted";
    }
    lua_pushlstring(L, s.data(), s.size());
    return 1;
  });
}

const luaL_Reg methods[] = {
    {"fit", t_fit},
    {"transform", t_transform},
    {"fit_transform", t_fit_transform},
    {"fitted", t_fitted},
    {"clone", t_clone},
    {"name", t_name},
    {"state", t_state},
    {nullptr, nullptr},
};

const luaL_Reg metamethods[] = {
    {"__index", t_index},
    {"__fields", t_fields},
    {"__tostring", t_tostring},
    {nullptr, nullptr},
};

}  // namespace

// Adds the transform constructors to the nl.ml table on top of the stack.
void open_ml_transforms(lua_State* L) {
  register_type<Transform>(L, methods, metamethods);
  const luaL_Reg constructors[] = {
      {"scale", new_scale},
      {"prune", new_prune},
      {"impute", new_impute},
      {"regress_out", new_regress_out},
      {"combat", new_combat},
      {"pca", new_pca},
      {"robpca", new_robpca},
      {"filter", new_filter},
      {nullptr, nullptr},
  };
  set_bindings(L, constructors);
}

}  // namespace nl::bind

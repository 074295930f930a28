// cv.cpp: nl.cv.nested, repeated nested cross-validation of a pipeline, and its result
// ("neurolua.CVResult").
//
//   local r = nl.cv.nested(pipe, X, y, { covariates = t, outer = {3, 5}, inner = {3, 5},
//                                        permutations = 1000, seed = 1 })
//   print(r)            -- the paper's Table 2 row
//   r.median_           -- per-subject median decision scores
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>

#include "common.hpp"
#include "ml_common.hpp"
#include "nl/ml/nested_cv.hpp"

namespace nl::bind {

// Defined in ml_model.cpp: the spec and C grid of a neurolua.Pipeline argument.
const nl::ml::PipelineSpec* pipeline_spec(lua_State* L, int idx, const std::vector<double>** grid);

struct CvObject {
  nl::ml::PipelineSpec spec;
  nl::ml::NestedCvResult result;
  std::optional<nl::ml::PermutationResult> permutations;
  nl::ml::PermutationMode mode = nl::ml::PermutationMode::NeuroMiner;
};

template <>
struct TypeName<CvObject> {
  static constexpr const char* value = "neurolua.CVResult";
};

namespace {

using nl::Matrix;
using nl::Vector;

// Reads {folds, repeats} from field `key` of the options at idx.
void opt_pair(lua_State* L, int idx, const char* key, int& folds, int& repeats) {
  if (lua_getfield(L, idx, key) != LUA_TNIL) {
    if (!lua_istable(L, -1) || lua_rawlen(L, -1) != 2)
      luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be {folds, repeats}", key));
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    if (!lua_isinteger(L, -2) || !lua_isinteger(L, -1) || lua_tointeger(L, -2) < 2 || lua_tointeger(L, -2) > 100 ||
        lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > 1000)
      luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must hold folds >= 2 and repeats >= 1", key));
    folds = static_cast<int>(lua_tointeger(L, -2));
    repeats = static_cast<int>(lua_tointeger(L, -1));
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
}

// Validates option `folds` (a list of repeats, each a list of 1-based fold numbers
// per subject); returns the number of repeats (0 when absent).
int validate_user_folds(lua_State* L, int idx, lua_Integer n, int k) {
  if (lua_getfield(L, idx, "folds") == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  if (!lua_istable(L, -1)) luaL_argerror(L, idx, "option 'folds' must be a list of fold lists");
  const int f = lua_gettop(L);
  const auto reps = static_cast<lua_Integer>(lua_rawlen(L, f));
  if (reps == 0) luaL_argerror(L, idx, "option 'folds' is empty");
  for (lua_Integer r = 1; r <= reps; ++r) {
    lua_rawgeti(L, f, r);
    if (!lua_istable(L, -1) || static_cast<lua_Integer>(lua_rawlen(L, -1)) != n)
      luaL_argerror(L, idx, lua_pushfstring(L, "folds[%I] must list one fold number per subject (%I)", r, n));
    for (lua_Integer i = 1; i <= n; ++i) {
      lua_rawgeti(L, -1, i);
      if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > k)
        luaL_argerror(L, idx, lua_pushfstring(L, "folds[%I][%I] must be a fold number in 1..%d", r, i, k));
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return static_cast<int>(reps);
}

void read_user_folds(lua_State* L, int idx, std::vector<std::vector<int>>& out) {
  lua_getfield(L, idx, "folds");
  for (std::size_t r = 0; r < out.size(); ++r) {
    lua_rawgeti(L, -1, static_cast<lua_Integer>(r + 1));
    for (std::size_t i = 0; i < out[r].size(); ++i) {
      lua_rawgeti(L, -1, static_cast<lua_Integer>(i + 1));
      out[r][i] = static_cast<int>(lua_tointeger(L, -1)) - 1;
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

// nl.cv.nested(pipeline, X, y [, options])
int nested(lua_State* L) {
  const std::vector<double>* grid = nullptr;
  const nl::ml::PipelineSpec* spec = pipeline_spec(L, 1, &grid);
  const Matrix& X = check<Matrix>(L, 2);
  const lua_Integer n = validate_labels(L, 3, "labels");
  if (n != X.rows()) luaL_argerror(L, 3, lua_pushfstring(L, "%d labels for %d rows of data", (int)n, (int)X.rows()));
  nl::ml::NestedCvOptions o;
  int permutations = 0;
  auto mode = nl::ml::PermutationMode::NeuroMiner;
  const nl::Table* cov = nullptr;
  int user_reps = 0;
  if (!lua_isnoneornil(L, 4)) {
    check_options(L, 4, "nested", {"covariates", "outer", "inner", "seed", "permutations", "mode", "folds"});
    lua_getfield(L, 4, "covariates");
    if (!lua_isnil(L, -1) && !(cov = test<nl::Table>(L, -1)))
      luaL_argerror(L, 4, "option 'covariates' must be a neurolua.Table");
    opt_pair(L, 4, "outer", o.outer_folds, o.outer_repeats);
    opt_pair(L, 4, "inner", o.inner_folds, o.inner_repeats);
    if (lua_getfield(L, 4, "seed") != LUA_TNIL) {
      if (!lua_isinteger(L, -1)) luaL_argerror(L, 4, "option 'seed' must be an integer");
      o.seed = static_cast<std::uint64_t>(lua_tointeger(L, -1));
    }
    if (lua_getfield(L, 4, "permutations") != LUA_TNIL) {
      if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0 || lua_tointeger(L, -1) > 1000000)
        luaL_argerror(L, 4, "option 'permutations' must be an integer in 0..1000000");
      permutations = static_cast<int>(lua_tointeger(L, -1));
    }
    if (lua_getfield(L, 4, "mode") != LUA_TNIL) {
      const char* m = lua_tostring(L, -1);
      if (m && std::string_view(m) == "neurominer") mode = nl::ml::PermutationMode::NeuroMiner;
      else if (m && std::string_view(m) == "full") mode = nl::ml::PermutationMode::Full;
      else luaL_argerror(L, 4, "option 'mode' must be \"neurominer\" or \"full\"");
    }
    lua_settop(L, 4);
    user_reps = validate_user_folds(L, 4, n, o.outer_folds);
  }
  const bool tty = isatty(2) != 0;
  auto* slot = new_object<CvObject>(L);
  return protect(L, [&] {
    Vector y(n);
    read_labels(L, 3, y);
    if (user_reps > 0) {
      o.outer_assignment.assign(static_cast<std::size_t>(user_reps), std::vector<int>(static_cast<std::size_t>(n)));
      read_user_folds(L, 4, o.outer_assignment);
      o.outer_repeats = user_reps;
    }
    auto cv = std::make_shared<CvObject>();
    cv->spec = *spec;
    cv->mode = mode;
    cv->result = nl::ml::nested_cv(*spec, *grid, X, y, cov, o);
    if (permutations > 0) {
      auto progress = [&](int done) {
        if (tty && (done % 10 == 0 || done == permutations))
          std::fprintf(stderr, "\rpermutations %d/%d%s", done, permutations, done == permutations ? "\n" : "");
      };
      cv->permutations = nl::ml::permutation_test(*spec, cv->result, X, y, cov, o, permutations, mode, progress);
    }
    *slot = std::move(cv);
    return 1;
  });
}

// ---------------------------------------------------------------- result

void push_matrix(lua_State* L, Matrix&& m) {
  auto* slot = new_object<Matrix>(L);
  protect(L, [&] {
    *slot = std::make_shared<Matrix>(std::move(m));
    return 0;
  });
}

int r_index(lua_State* L) {
  CvObject& cv = check<CvObject>(L, 1);
  if (push_method(L, 2)) return 1;
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  const std::string_view key = lua_tostring(L, 2);
  const auto& r = cv.result;
  if (key == "median_") {
    push_matrix(L, Matrix(r.median));
  } else if (key == "chosen_C_") {
    lua_createtable(L, static_cast<int>(r.chosen.size()), 0);
    for (std::size_t k = 0; k < r.chosen.size(); ++k) {
      lua_pushnumber(L, r.grid[static_cast<std::size_t>(r.chosen[k])]);
      lua_rawseti(L, -2, static_cast<lua_Integer>(k + 1));
    }
  } else if (key == "inner_bac_") {
    Matrix m(static_cast<Eigen::Index>(r.inner_bac.size()), static_cast<Eigen::Index>(r.grid.size()));
    for (std::size_t o = 0; o < r.inner_bac.size(); ++o)
      for (std::size_t g = 0; g < r.grid.size(); ++g) m(static_cast<Eigen::Index>(o), static_cast<Eigen::Index>(g)) = r.inner_bac[o][g];
    push_matrix(L, std::move(m));
  } else if (key == "models_") {
    lua_pushinteger(L, static_cast<lua_Integer>(r.models.size()));
  } else if (key == "metrics_") {
    lua_newtable(L);
    const auto& c = r.metrics;
    const std::pair<const char*, double> items[] = {
        {"TP", double(c.TP)}, {"TN", double(c.TN)}, {"FP", double(c.FP)}, {"FN", double(c.FN)},
        {"sensitivity", c.sensitivity}, {"specificity", c.specificity}, {"BAC", c.BAC}, {"PPV", c.PPV},
        {"NPV", c.NPV}, {"accuracy", c.accuracy}, {"AUC", r.auc}};
    for (const auto& [k, v] : items) {
      lua_pushnumber(L, v);
      lua_setfield(L, -2, k);
    }
    luaL_setmetatable(L, "neurolua.Metrics");
  } else if (key == "p_" || key == "p_plus_one_" || key == "permutation_bac_") {
    if (!cv.permutations) return 0;
    if (key == "p_") lua_pushnumber(L, cv.permutations->p_count);
    else if (key == "p_plus_one_") lua_pushnumber(L, cv.permutations->p_plus_one);
    else push_matrix(L, Eigen::Map<const Vector>(cv.permutations->bac.data(), static_cast<Eigen::Index>(cv.permutations->bac.size())));
  } else {
    return 0;
  }
  return 1;
}

// r:scores(i) -> list of all decision scores of subject i
int r_scores(lua_State* L) {
  CvObject& cv = check<CvObject>(L, 1);
  const auto i = static_cast<std::size_t>(check_range(L, 2, 1, static_cast<lua_Integer>(cv.result.scores.size()), "subject"));
  const auto& s = cv.result.scores[i - 1];
  lua_createtable(L, static_cast<int>(s.size()), 0);
  for (std::size_t k = 0; k < s.size(); ++k) {
    lua_pushnumber(L, s[k]);
    lua_rawseti(L, -2, static_cast<lua_Integer>(k + 1));
  }
  return 1;
}

int r_fields(lua_State* L) {
  lua_newtable(L);
  const char* names[] = {"median_", "chosen_C_", "inner_bac_", "models_", "metrics_", "p_", "p_plus_one_", "permutation_bac_"};
  for (int k = 0; k < 8; ++k) {
    lua_pushstring(L, names[k]);
    lua_rawseti(L, -2, k + 1);
  }
  return 1;
}

int r_tostring(lua_State* L) {
  CvObject& cv = check<CvObject>(L, 1);
  return protect(L, [&] {
    const auto& c = cv.result.metrics;
    std::string p = "p n/a";
    if (cv.permutations) {
      const auto& pr = *cv.permutations;
      p = pr.count == 0 ? fmt::format("p < {:.3g} ((count+1)/(n+1) = {:.4f})", 1.0 / pr.bac.size(), pr.p_plus_one)
                        : fmt::format("p = {:.4f} ((count+1)/(n+1) = {:.4f})", pr.p_count, pr.p_plus_one);
    }
    const std::string s = fmt::format(
        "nested CV: {} base models, {} subjects\n"
        "  TP {}  TN {}  FP {}  FN {}  sensitivity {:.1f} %  specificity {:.1f} %  BAC {:.1f} %  "
        "PPV {:.1f} %  NPV {:.1f} %  AUC {:.3f}  {}",
        cv.result.models.size(), cv.result.scores.size(), c.TP, c.TN, c.FP, c.FN, 100 * c.sensitivity,
        100 * c.specificity, 100 * c.BAC, 100 * c.PPV, 100 * c.NPV, cv.result.auc, p);
    lua_pushlstring(L, s.data(), s.size());
    return 1;
  });
}

const luaL_Reg methods[] = {{"scores", r_scores}, {nullptr, nullptr}};
const luaL_Reg metamethods[] = {
    {"__index", r_index}, {"__fields", r_fields}, {"__tostring", r_tostring}, {nullptr, nullptr}};

}  // namespace

int open_cv(lua_State* L) {
  register_type<CvObject>(L, methods, metamethods);
  lua_newtable(L);
  lua_pushcfunction(L, nested);
  lua_setfield(L, -2, "nested");
  return 1;
}

}  // namespace nl::bind

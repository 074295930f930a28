// sim.cpp: nl.sim, the cohort simulators with known ground truth.
//
//   local p, truth, vols = nl.sim.ketamine{ seed = 1, atlas = "aal", resolution = 3,
//                                           dir = "ketamine_sim" }
//
// Every option is read and checked before the engine runs; strings stay owned by the
// options table (on the stack) until protect() copies them.
#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common.hpp"
#include "ml_common.hpp"
#include "types.hpp"
#include "nl/atlas.hpp"
#include "nl/sim/ketamine.hpp"
#include "nl/table.hpp"

namespace nl::bind {

namespace {

using nl::Table;

constexpr int kOpts = 1;

// Field `key` of the options, a number in [lo, hi] (default when absent).
double opt_number(lua_State* L, const char* key, double def, double lo, double hi) {
  double v = def;
  if (lua_getfield(L, kOpts, key) != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TNUMBER)
      luaL_argerror(L, kOpts, lua_pushfstring(L, "option '%s' must be a number, got %s", key, luaL_typename(L, -1)));
    v = lua_tonumber(L, -1);
    if (!(v >= lo && v <= hi))
      luaL_argerror(L, kOpts, lua_pushfstring(L, "option '%s' must be between %f and %f, got %f", key, lo, hi, v));
  }
  lua_pop(L, 1);
  return v;
}

// Checks option `planted` = {responders = {names}, nonresponders = {names}}; returns
// true when given. Names are read later by read_names.
bool check_planted(lua_State* L) {
  if (lua_getfield(L, kOpts, "planted") == LUA_TNIL) {
    lua_pop(L, 1);
    return false;
  }
  if (!lua_istable(L, -1))
    luaL_argerror(L, kOpts, "option 'planted' must be a table {responders = {...}, nonresponders = {...}}");
  const int t = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, t) != 0) {
    lua_pop(L, 1);
    const char* key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : nullptr;
    if (!key || (std::strcmp(key, "responders") != 0 && std::strcmp(key, "nonresponders") != 0))
      luaL_argerror(L, kOpts, lua_pushfstring(L, "unknown key '%s' in option 'planted'; expected responders, nonresponders",
                                              luaL_tolstring(L, -1, nullptr)));
  }
  lua_Integer total = 0;
  for (const char* key : {"responders", "nonresponders"}) {
    if (lua_getfield(L, t, key) != LUA_TNIL) {
      if (!lua_istable(L, -1))
        luaL_argerror(L, kOpts, lua_pushfstring(L, "planted.%s must be a list of region names", key));
      const auto n = static_cast<lua_Integer>(lua_rawlen(L, -1));
      for (lua_Integer i = 1; i <= n; ++i) {
        if (lua_rawgeti(L, -1, i) != LUA_TSTRING)
          luaL_argerror(L, kOpts, lua_pushfstring(L, "planted.%s[%I] must be a region name (a string)", key, i));
        lua_pop(L, 1);
      }
      total += n;
    }
    lua_pop(L, 1);
  }
  if (total == 0) luaL_argerror(L, kOpts, "option 'planted' names no region");
  lua_pop(L, 1);
  return true;
}

// planted.<key> as strings; raw accessors only (runs inside protect).
std::vector<std::string> read_names(lua_State* L, const char* key) {
  std::vector<std::string> out;
  lua_getfield(L, kOpts, "planted");
  if (lua_getfield(L, -1, key) == LUA_TTABLE) {
    const auto n = static_cast<lua_Integer>(lua_rawlen(L, -1));
    for (lua_Integer i = 1; i <= n; ++i) {
      lua_rawgeti(L, -1, i);
      out.emplace_back(lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 2);
  return out;
}

// Option `cohorts`: a list of cohort names; fills keep[c] (all true when absent).
void check_cohorts(lua_State* L, bool keep[nl::sim::kCohorts]) {
  if (lua_getfield(L, kOpts, "cohorts") == LUA_TNIL) {
    for (std::size_t c = 0; c < nl::sim::kCohorts; ++c) keep[c] = true;
    lua_pop(L, 1);
    return;
  }
  for (std::size_t c = 0; c < nl::sim::kCohorts; ++c) keep[c] = false;
  if (!lua_istable(L, -1) || lua_rawlen(L, -1) == 0)
    luaL_argerror(L, kOpts, "option 'cohorts' must be a non-empty list of cohort names");
  const auto n = static_cast<lua_Integer>(lua_rawlen(L, -1));
  for (lua_Integer i = 1; i <= n; ++i) {
    lua_rawgeti(L, -1, i);
    const char* name = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : nullptr;
    std::size_t found = nl::sim::kCohorts;
    for (std::size_t c = 0; c < nl::sim::kCohorts && name; ++c)
      if (std::strcmp(name, nl::sim::cohort_name(static_cast<nl::sim::Cohort>(c))) == 0) found = c;
    if (found == nl::sim::kCohorts)
      luaL_argerror(L, kOpts, lua_pushfstring(L, "cohorts[%I] is '%s'; expected discovery, saline, external_md or external_ny",
                                              i, luaL_tolstring(L, -1, nullptr)));
    if (keep[found]) luaL_argerror(L, kOpts, lua_pushfstring(L, "cohort '%s' is listed twice in option 'cohorts'", name));
    keep[found] = true;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

void print_notices(const std::vector<std::string>& notices) {
  for (const auto& n : notices) std::fprintf(stderr, "notice: %s\n", n.c_str());
  std::fflush(stderr);
}

// nl.sim.ketamine{dir = ..., seed = 1, atlas = "aal", resolution = 3, overwrite = false,
//                 effect = 1, cohorts = {...}, planted = {...}}
//   -> participants Table, ground-truth Table, regional volumes Table
int ketamine(lua_State* L) {
  luaL_checktype(L, kOpts, LUA_TTABLE);
  lua_settop(L, kOpts);
  check_options(L, kOpts, "ketamine",
                {"dir", "seed", "atlas", "resolution", "overwrite", "effect", "cohorts", "planted"});

  if (lua_getfield(L, kOpts, "dir") != LUA_TSTRING || lua_rawlen(L, -1) == 0)
    luaL_argerror(L, kOpts, "option 'dir' (the output directory, a non-empty string) is required");
  const char* dir = lua_tostring(L, -1);  // kept alive by the options table
  lua_pop(L, 1);

  nl::sim::KetamineOptions o;
  if (lua_getfield(L, kOpts, "seed") != LUA_TNIL) {
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0)
      luaL_argerror(L, kOpts, "option 'seed' must be a non-negative integer");
    o.seed = static_cast<std::uint64_t>(lua_tointeger(L, -1));
  }
  lua_pop(L, 1);
  o.resolution = opt_number(L, "resolution", 3.0, 1.0, 4.0);
  o.effect = opt_number(L, "effect", 1.0, 0.0, 10.0);

  bool overwrite = false;
  if (lua_getfield(L, kOpts, "overwrite") != LUA_TNIL) {
    if (!lua_isboolean(L, -1)) luaL_argerror(L, kOpts, "option 'overwrite' must be true or false");
    overwrite = lua_toboolean(L, -1);
  }
  lua_pop(L, 1);

  // The atlas: a neurolua.Atlas, or a name / path loaded inside protect().
  const char* atlas_name = "aal";
  const int atype = lua_getfield(L, kOpts, "atlas");
  if (atype == LUA_TSTRING) atlas_name = lua_tostring(L, -1);
  else if (atype != LUA_TNIL && !test<nl::Atlas>(L, -1))
    luaL_argerror(L, kOpts, lua_pushfstring(L, "option 'atlas' must be an atlas name, a path or a neurolua.Atlas, got %s",
                                            luaL_typename(L, -1)));
  const bool atlas_object = atype != LUA_TNIL && atype != LUA_TSTRING;
  lua_pop(L, 1);

  bool keep[nl::sim::kCohorts];
  check_cohorts(L, keep);
  const bool planted = check_planted(L);

  auto* participants = new_object<Table>(L);
  auto* truth = new_object<Table>(L);
  auto* volumes = new_object<Table>(L);
  return protect(L, [&] {
    std::shared_ptr<const nl::Atlas> atlas;
    if (atlas_object) {
      lua_getfield(L, kOpts, "atlas");
      auto* box = static_cast<Box<nl::Atlas>*>(luaL_testudata(L, -1, TypeName<nl::Atlas>::value));
      atlas = box->ptr;
      lua_pop(L, 1);
    } else {
      const auto loaded = nl::load_atlas(atlas_name, "", {});
      print_notices(loaded->notices());
      atlas = loaded;
    }
    if (planted) {
      o.responder_regions = read_names(L, "responders");
      o.nonresponder_regions = read_names(L, "nonresponders");
    }
    const nl::sim::KetamineCohort cohort = nl::sim::simulate_ketamine(atlas, o);
    print_notices(cohort.notices);
    std::vector<std::size_t> subjects;
    for (std::size_t i = 0; i < cohort.subjects.size(); ++i)
      if (keep[static_cast<std::size_t>(cohort.subjects[i].cohort)]) subjects.push_back(i);
    nl::sim::OutputOptions out;
    out.overwrite = overwrite;
    nl::sim::write_ketamine(cohort, subjects, dir, out);

    // The returned participants resolve gm_path against dir, as nl.study.participants does.
    Table p = nl::sim::participants_table(cohort, subjects);
    const nl::Column& rel = *p.column("gm_path");
    std::vector<std::string> full(rel.size());
    const std::string prefix = std::string(dir) + (std::string(dir).back() == '/' ? "" : "/");
    for (std::size_t i = 0; i < rel.size(); ++i) full[i] = prefix + rel.string(i);
    p.set(std::make_shared<const nl::Column>(nl::Column::strings("gm_path", std::move(full))));
    *participants = std::make_shared<Table>(std::move(p));
    *truth = std::make_shared<Table>(nl::sim::ground_truth_table(cohort));
    *volumes = std::make_shared<Table>(nl::sim::volumes_table(cohort, subjects));
    return 3;
  });
}

// ---------------------------------------------------------------- registration

const luaL_Reg functions[] = {
    {"ketamine", ketamine},
    {nullptr, nullptr},
};

}  // namespace

// Pushes the nl.sim module table.
int open_sim(lua_State* L) {
  lua_newtable(L);
  luaL_setfuncs(L, functions, 0);
  return 1;
}

}  // namespace nl::bind

// sim.cpp: nl.sim, the cohort simulators with known ground truth.
//
//   local p, truth, vols = nl.sim.ketamine{ seed = 1, atlas = "aal", resolution = 3,
//                                           dir = "ketamine_sim" }
//   local p, sessions, truth = nl.sim.fmri{ seed = 1, dir = "fmri_sim" }
//
// Every option is read and checked before the engine runs; strings stay owned by the
// options table (on the stack) until protect() copies them.
#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/args.hpp"
#include "core/common.hpp"
#include "core/types.hpp"
#include "core/fields.hpp"
#include "nl/atlas/atlas.hpp"
#include "nl/sim/fmri.hpp"
#include "nl/sim/ketamine.hpp"
#include "nl/table/table.hpp"

namespace nl::bind {

namespace {

using nl::Table;

constexpr int kOpts = 1;

// Option `dir`, the output directory (required). The string stays owned by the options
// table.
const char* opt_dir(lua_State* L) {
  if (lua_getfield(L, kOpts, "dir") != LUA_TSTRING || lua_rawlen(L, -1) == 0)
    luaL_argerror(L, kOpts, "option 'dir' (the output directory, a non-empty string) is required");
  const char* dir = lua_tostring(L, -1);
  keep_alive(L, -1);  // for the rest of the call, whatever happens to the options
  lua_pop(L, 1);
  return dir;
}

// Option `seed`: a non-negative integer, or def.
std::uint64_t opt_seed(lua_State* L, std::uint64_t def) {
  return static_cast<std::uint64_t>(opt_integer(L, kOpts, "seed", 0, LUA_MAXINTEGER, static_cast<lua_Integer>(def)));
}

// Checks option `planted` = {responders = {names}, nonresponders = {names}}; returns
// true when given. Names are read later by read_names.
bool check_planted(lua_State* L) {
  if (raw_field(L, kOpts, "planted") == LUA_TNIL) {
    lua_pop(L, 1);
    return false;
  }
  if (!lua_istable(L, -1))
    luaL_argerror(L, kOpts, "option 'planted' must be a table {responders = {...}, nonresponders = {...}}");
  const int t = lua_gettop(L);
  at_argument(L, kOpts, t, [&] {
    check_options(L, kOpts, "option 'planted'", {"responders", "nonresponders"});
    return 0;
  });
  lua_Integer total = 0;
  for (const char* key : {"responders", "nonresponders"}) {
    if (raw_field(L, t, key) != LUA_TNIL) {
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
  raw_field(L, kOpts, "planted");
  if (raw_field(L, -1, key) == LUA_TTABLE) {
    const auto n = static_cast<lua_Integer>(lua_rawlen(L, -1));
    for (lua_Integer i = 1; i <= n; ++i) {
      const bool ok = lua_rawgeti(L, -1, i) == LUA_TSTRING;
      if (ok) out.emplace_back(lua_tostring(L, -1));
      lua_pop(L, 1);
      if (!ok) {
        lua_pop(L, 2);
        throw ArgError(kOpts, "option 'planted' changed while it was being read");
      }
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

// The atlas option: a neurolua.Atlas (its userdata returned through `object`), or a
// name / path. Both stay alive for the rest of the call (keep_alive), whatever Lua code
// run later does to the options table.
const char* opt_atlas(lua_State* L, Box<nl::Atlas>*& object) {
  const char* name = "aal";
  object = nullptr;
  const int atype = lua_getfield(L, kOpts, "atlas");
  if (atype == LUA_TSTRING) name = lua_tostring(L, -1);
  else if (atype != LUA_TNIL && !(object = box_at<nl::Atlas>(L, -1)))
    luaL_argerror(L, kOpts, lua_pushfstring(L, "option 'atlas' must be an atlas name, a path or a neurolua.Atlas, got %s",
                                            luaL_typename(L, -1)));
  if (object) check<nl::Atlas>(L, -1);  // raises if freed
  keep_alive(L, -1);
  lua_pop(L, 1);
  return name;
}

// The atlas `name` (a name or a path), its notices printed.
std::shared_ptr<const nl::Atlas> load_named_atlas(const char* name) {
  const auto loaded = nl::load_atlas(name, "", {});
  print_notices(loaded->notices());
  return loaded;
}

// The Atlas of the options (inside protect): the one opt_atlas checked, or the named one.
std::shared_ptr<const nl::Atlas> get_atlas(Box<nl::Atlas>* object, const char* name) {
  if (!object) return load_named_atlas(name);
  return object->ptr;  // alive: a box freed during the call keeps its object until it ends
}

// Replaces the String column `name` of t by its values joined to dir.
void join_paths(Table& t, const char* name, const std::string& dir) {
  const nl::Column& rel = *t.column(name);
  std::vector<std::string> full(rel.size());
  const std::string prefix = dir + (dir.back() == '/' ? "" : "/");
  for (std::size_t i = 0; i < rel.size(); ++i) full[i] = prefix + rel.string(i);
  t.set(std::make_shared<const nl::Column>(nl::Column::strings(name, std::move(full))));
}

// nl.sim.ketamine{dir = ..., seed = 1, atlas = "aal", resolution = 3, overwrite = false,
//                 effect = 1, cohorts = {...}, planted = {...}}
//   -> participants Table, ground-truth Table, regional volumes Table
int ketamine(lua_State* L) {
  luaL_checktype(L, kOpts, LUA_TTABLE);
  lua_settop(L, kOpts);
  check_options(L, kOpts, "ketamine",
                {"dir", "seed", "atlas", "resolution", "overwrite", "effect", "cohorts", "planted"});

  const char* dir = opt_dir(L);
  // Plain values only: KetamineOptions holds vectors of names, so it is built inside
  // protect(), where no Lua error can skip its destructor (STYLE.md item 4).
  const std::uint64_t seed = opt_seed(L, nl::sim::KetamineOptions{}.seed);
  const double resolution = opt_number(L, kOpts, "resolution", 1.0, 4.0, 3.0);
  const double effect = opt_number(L, kOpts, "effect", 0.0, 10.0, 1.0);
  const bool overwrite = opt_boolean(L, kOpts, "overwrite", false);
  Box<nl::Atlas>* atlas_object = nullptr;
  const char* atlas_name = opt_atlas(L, atlas_object);

  bool keep[nl::sim::kCohorts];
  check_cohorts(L, keep);
  const bool planted = check_planted(L);

  auto* participants = new_object<Table>(L);
  auto* truth = new_object<Table>(L);
  auto* volumes = new_object<Table>(L);
  return protect(L, [&] {
    nl::sim::KetamineOptions o;
    o.seed = seed;
    o.resolution = resolution;
    o.effect = effect;
    const auto atlas = get_atlas(atlas_object, atlas_name);
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
    join_paths(p, "gm_path", dir);
    *participants = std::make_shared<Table>(std::move(p));
    *truth = std::make_shared<Table>(nl::sim::ground_truth_table(cohort));
    *volumes = std::make_shared<Table>(nl::sim::volumes_table(cohort, subjects));
    return 3;
  });
}

// ---------------------------------------------------------------- nl.sim.fmri

// Option `key` of the options table at idx (the options or a sub-table of them), an
// integer (default when absent); the engine checks its range (check_fmri_options).
int opt_count(lua_State* L, int idx, const char* key, int def) {
  return at_argument(L, kOpts, idx, [&] {
    return static_cast<int>(opt_integer(L, kOpts, key, -1000000000, 1000000000, def));
  });
}

// Option `key` as a sub-table with only the keys `allowed`; returns its stack index or
// 0 when absent.
int opt_subtable(lua_State* L, const char* key, std::initializer_list<const char*> allowed, const char* shape) {
  if (lua_getfield(L, kOpts, key) == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  if (!lua_istable(L, -1))
    luaL_argerror(L, kOpts, lua_pushfstring(L, "option '%s' must be a table %s", key, shape));
  const int t = lua_gettop(L);
  lua_pushfstring(L, "option '%s'", key);  // stays on the stack: check_options' `what`
  const char* what = lua_tostring(L, -1);
  at_argument(L, kOpts, t, [&] {
    check_options(L, kOpts, what, allowed);
    return 0;
  });
  lua_pop(L, 1);
  return t;
}

// nl.sim.fmri{dir = ..., seed = 1, atlas = "aal", resolution = 3, tr = 2, frames = 240,
//             runs = 1, subjects = {...}, sessions = {...}, motion_outliers = 1,
//             effect = 1, compression = 1, overwrite = false}
//   -> participants Table, sessions Table, ground-truth Table
int fmri(lua_State* L) {
  luaL_checktype(L, kOpts, LUA_TTABLE);
  lua_settop(L, kOpts);
  check_options(L, kOpts, "fmri",
                {"dir", "seed", "atlas", "resolution", "tr", "frames", "runs", "subjects", "sessions",
                 "motion_outliers", "effect", "compression", "overwrite"});
  const char* dir = opt_dir(L);
  nl::sim::FmriOptions o;
  o.seed = opt_seed(L, o.seed);
  o.resolution = opt_number(L, kOpts, "resolution", 2.0, 8.0, 3.0);
  o.tr = opt_number(L, kOpts, "tr", 0.5, 4.0, 2.0);
  o.effect = opt_number(L, kOpts, "effect", 0.0, 2.0, 1.0);
  o.frames = opt_count(L, kOpts, "frames", o.frames);
  o.runs = opt_count(L, kOpts, "runs", o.runs);
  nl::sim::FmriOutputOptions out;
  out.compression = static_cast<int>(opt_integer(L, kOpts, "compression", 1, 9, out.compression));
  out.overwrite = opt_boolean(L, kOpts, "overwrite", false);

  // Cohort: the paper's when `subjects` is absent; otherwise patients and controls are
  // required and the other counts default to no dropouts, half responders, one scan
  // per session, a post scan for every patient with an outcome and no motion outlier.
  const int subj = opt_subtable(L, "subjects", {"patients", "controls", "responders", "dropouts"},
                                "{patients = n, controls = n, responders = n, dropouts = n}");
  if (subj) {
    for (const char* key : {"patients", "controls"})
      if (lua_getfield(L, subj, key) == LUA_TNIL)
        luaL_argerror(L, kOpts, lua_pushfstring(L, "option 'subjects' needs '%s' (a count)", key));
      else
        lua_pop(L, 1);
    o.patients = opt_count(L, subj, "patients", 0);
    o.controls = opt_count(L, subj, "controls", 0);
    o.dropouts = opt_count(L, subj, "dropouts", 0);
    o.responders = opt_count(L, subj, "responders", (o.patients - o.dropouts + 1) / 2);
    o.pre2 = 0;
    o.post = o.patients - o.dropouts;
    o.control_repeat = 0;
    o.motion_outliers = 0;
  }
  const int ses = opt_subtable(L, "sessions", {"pre2", "post", "control_repeat"},
                               "{pre2 = n, post = n, control_repeat = n}");
  if (ses) {
    o.pre2 = opt_count(L, ses, "pre2", o.pre2);
    o.post = opt_count(L, ses, "post", o.post);
    o.control_repeat = opt_count(L, ses, "control_repeat", o.control_repeat);
  }
  o.motion_outliers = opt_count(L, kOpts, "motion_outliers", o.motion_outliers);
  char bad[512] = {0};
  {
    try {
      nl::sim::check_fmri_options(o);
    } catch (const std::exception& e) {
      const char* m = e.what();
      if (std::strncmp(m, "nl.sim.fmri: ", 13) == 0) m += 13;
      std::snprintf(bad, sizeof bad, "%s", m);
    }
  }
  if (bad[0]) luaL_argerror(L, kOpts, bad);
  Box<nl::Atlas>* atlas_object = nullptr;
  const char* atlas_name = opt_atlas(L, atlas_object);

  auto* participants = new_object<Table>(L);
  auto* sessions = new_object<Table>(L);
  auto* truth = new_object<Table>(L);
  return protect(L, [&] {
    const auto atlas = get_atlas(atlas_object, atlas_name);
    const nl::sim::FmriCohort cohort = nl::sim::simulate_fmri(atlas, o);
    print_notices(cohort.notices);
    nl::sim::write_fmri(cohort, dir, out);
    Table st = nl::sim::fmri_sessions_table(cohort);
    join_paths(st, "func_path", dir);
    join_paths(st, "motion_path", dir);
    *participants = std::make_shared<Table>(nl::sim::fmri_participants_table(cohort));
    *sessions = std::make_shared<Table>(std::move(st));
    *truth = std::make_shared<Table>(nl::sim::fmri_ground_truth_table(cohort));
    return 3;
  });
}

// nl.sim.fmri_networks([atlas]) -> Table index, name, network
int fmri_networks(lua_State* L) {
  const char* name = "aal";
  const int type = lua_type(L, 1);
  if (type == LUA_TSTRING) name = lua_tostring(L, 1);
  else if (type != LUA_TNONE && type != LUA_TNIL && !test<nl::Atlas>(L, 1))
    luaL_argerror(L, 1, lua_pushfstring(L, "an atlas name, a path or a neurolua.Atlas expected, got %s",
                                        luaL_typename(L, 1)));
  const bool object = type != LUA_TNONE && type != LUA_TNIL && type != LUA_TSTRING;
  return push_new<Table>(L, [&] {
    if (object) return nl::sim::fmri_networks_table(*static_cast<Box<nl::Atlas>*>(lua_touserdata(L, 1))->ptr);
    return nl::sim::fmri_networks_table(*load_named_atlas(name));
  });
}

// ---------------------------------------------------------------- registration

const luaL_Reg functions[] = {
    {"ketamine", ketamine},
    {"fmri", fmri},
    {"fmri_networks", fmri_networks},
    {nullptr, nullptr},
};

}  // namespace

// Pushes the nl.sim module table.
int open_sim(lua_State* L) {
  lua_newtable(L);
  set_bindings(L, functions);
  return 1;
}

}  // namespace nl::bind

// module.cpp: luaopen_neurolua, the entry point of `require "neurolua"`.
//
// Assembles the `nl` table from the per-type openers, installs a package searcher for
// the embedded Lua standard library (`require "neurolua.help"` etc.), then runs
// stdlib/neurolua/init.lua, which adds the Lua-side sugar (help, ...).
#include <chrono>
#include <cstring>
#include <string>

#include "core/args.hpp"
#include "core/common.hpp"
#include "core/embedded.hpp"
#include "core/fields.hpp"
#include "core/terminal.hpp"
#include "nl/io/fileio.hpp"
#include "nl/core/memory.hpp"
#include "nl/core/mpi.hpp"
#include "nl/core/warnings.hpp"

namespace nl::bind {

nl::Rng& session_rng() {
  static nl::Rng rng(0);
  return rng;
}

namespace {

const embedded::File* find_embedded(const char* path) {
  for (std::size_t i = 0; i < embedded::file_count; ++i)
    if (std::strcmp(embedded::files[i].path, path) == 0) return &embedded::files[i];
  return nullptr;
}

// package.searchers entry: "neurolua.x.y" -> embedded stdlib/neurolua/x/y.lua.
int search_embedded(lua_State* L) {
  const char* name = luaL_checkstring(L, 1);
  if (std::strncmp(name, "neurolua.", 9) != 0) {
    lua_pushfstring(L, "no embedded module '%s'", name);
    return 1;
  }
  char path[256];
  std::snprintf(path, sizeof path, "stdlib/%s.lua", name);
  for (char* p = path + 7; *p && std::strcmp(p, ".lua") != 0; ++p)
    if (*p == '.') *p = '/';
  const embedded::File* f = find_embedded(path);
  if (!f) {
    lua_pushfstring(L, "no embedded module '%s'", name);
    return 1;
  }
  char chunkname[300];
  std::snprintf(chunkname, sizeof chunkname, "@%s", path);
  if (luaL_loadbufferx(L, reinterpret_cast<const char*>(f->data), f->size, chunkname, "t") != LUA_OK)
    return lua_error(L);
  lua_pushstring(L, path);
  return 2;
}

// nl._files(prefix) -> {path = contents} of the embedded files under prefix
// (used by help() to read the reference pages).
int embedded_files(lua_State* L) {
  const char* prefix = luaL_optstring(L, 1, "");
  const std::size_t n = std::strlen(prefix);
  lua_newtable(L);
  for (std::size_t i = 0; i < embedded::file_count; ++i) {
    const auto& f = embedded::files[i];
    if (std::strncmp(f.path, prefix, n) != 0) continue;
    lua_pushlstring(L, reinterpret_cast<const char*>(f.data), f.size);
    lua_setfield(L, -2, f.path);
  }
  return 1;
}

// nl.threads([n]) -> the number of worker threads (after setting it to n).
int threads(lua_State* L) {
  if (!lua_isnoneornil(L, 1)) {
    const lua_Integer n = check_range(L, 1, 1, 1024, "thread count");
    nl::set_threads(static_cast<int>(n));
  }
  lua_pushinteger(L, nl::threads());
  return 1;
}

// nl.memory_budget([bytes]) -> bytes (after setting it; 0 restores the default): what a
// single image or table load may allocate. Also nl.volume.memory_budget.
int memory_budget(lua_State* L) {
  if (!lua_isnoneornil(L, 1)) {
    const lua_Integer b = luaL_checkinteger(L, 1);
    luaL_argcheck(L, b >= 0, 1, "the budget must be >= 0 bytes");
    if (const std::uint64_t c = nl::memory_ceiling(); c > 0 && static_cast<std::uint64_t>(b) > c) {
      const std::string limit = nl::format_bytes(static_cast<double>(c));
      return luaL_error(L, "nl.memory_budget: %I bytes is above the limit of %s set with --max-memory", b,
                        limit.c_str());
    }
    nl::set_memory_budget(static_cast<std::uint64_t>(b));
  }
  lua_pushinteger(L, static_cast<lua_Integer>(nl::memory_budget()));
  return 1;
}

// nl.seed(n): restarts the session random stream from seed n.
int seed(lua_State* L) {
  const lua_Integer s = luaL_checkinteger(L, 1);
  session_rng() = nl::Rng(static_cast<std::uint64_t>(s));
  return 0;
}

// nl.mkdir(path): creates the folder and its missing parents (mkdir -p).
int mkdir(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  return protect(L, [&] {
    nl::make_directories(path);
    return 0;
  });
}

// nl.clock() -> seconds on a monotonic wall clock (for timing; os.clock is CPU time,
// which counts every thread of a parallel computation).
int clock(lua_State* L) {
  const auto t = std::chrono::steady_clock::now().time_since_epoch();
  lua_pushnumber(L, std::chrono::duration<double>(t).count());
  return 1;
}

// nl._methods(type) -> the methods table of neurolua.<type> (internal: lets the Lua
// standard library add methods written in Lua, e.g. CVResult:plot_roc).
int methods(lua_State* L) {
  const char* name = luaL_checkstring(L, 1);
  lua_pushfstring(L, "neurolua.%s", name);
  if (luaL_getmetatable(L, lua_tostring(L, -1)) != LUA_TTABLE) return luaL_error(L, "no type named '%s'", name);
  if (lua_getfield(L, -1, "__methods") != LUA_TTABLE) return luaL_error(L, "type '%s' has no methods table", name);
  return 1;
}

// nl.mpi: this process's place in an MPI run (nl/core/mpi.hpp); rank 0 of 1 without one.
int mpi_rank(lua_State* L) {
  lua_pushinteger(L, nl::mpi::rank());
  return 1;
}
int mpi_size(lua_State* L) {
  lua_pushinteger(L, nl::mpi::size());
  return 1;
}
int mpi_root(lua_State* L) {
  lua_pushboolean(L, nl::mpi::root());
  return 1;
}
int mpi_built(lua_State* L) {
  lua_pushboolean(L, nl::mpi::built());
  return 1;
}
int mpi_info(lua_State* L) {
  return protect(L, [&] {
    const std::string s = nl::mpi::describe();
    lua_pushlstring(L, s.data(), s.size());
    return 1;
  });
}
int mpi_counts(lua_State* L) {
  const nl::mpi::Counts c = nl::mpi::counts();
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, static_cast<lua_Integer>(c.loops));
  lua_setfield(L, -2, "loops");
  lua_pushinteger(L, static_cast<lua_Integer>(c.units_here));
  lua_setfield(L, -2, "units_here");
  lua_pushinteger(L, static_cast<lua_Integer>(c.units_total));
  lua_setfield(L, -2, "units_total");
  return 1;
}
int mpi_barrier(lua_State* L) {
  return protect(L, [&] {
    nl::mpi::barrier();
    return 0;
  });
}

const luaL_Reg mpi_functions[] = {
    {"rank", mpi_rank}, {"size", mpi_size},       {"root", mpi_root},
    {"built", mpi_built}, {"info", mpi_info}, {"barrier", mpi_barrier}, {"counts", mpi_counts},
    {nullptr, nullptr},
};

const luaL_Reg functions[] = {
    {"clock", clock},
    {"_methods", methods},
    {"threads", threads},
    {"memory_budget", memory_budget},
    {"mkdir", mkdir},
    {"seed", seed},
    {"terminal_size", lua_terminal_size},
    {"deprecations", deprecations},
    {"progress", l_progress},
    {"progress_line", l_progress_line},
    {"warnings", l_warnings},
    {"_files", embedded_files},
    {nullptr, nullptr},
};

}  // namespace
}  // namespace nl::bind

extern "C" int luaopen_neurolua(lua_State* L) {
  using namespace nl::bind;
  open_lifetime(L);  // before any function is registered (core/lifetime.hpp)
  // Install the embedded-module searcher right after package.preload's.
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchers");
  const lua_Integer n = luaL_len(L, -1);
  for (lua_Integer i = n; i >= 2; --i) {
    lua_rawgeti(L, -1, i);
    lua_rawseti(L, -2, i + 1);
  }
  push_binding(L, search_embedded);
  lua_rawseti(L, -2, 2);
  lua_pop(L, 2);

  install_warning_sink();
  // a bad NEUROLUA_THREADS, read before any sink existed (shown once per process)
  if (const std::string w = nl::take_threads_env_warning(); !w.empty()) nl::warn(w);
  lua_newtable(L);
  set_bindings(L, functions);
  lua_pushstring(L, NL_VERSION);
  lua_setfield(L, -2, "version");
  open_matrix(L);
  lua_setfield(L, -2, "matrix");
  open_table(L);
  lua_setfield(L, -2, "table");
  open_volume(L);
  lua_getfield(L, -2, "memory_budget");  // the same function, where image users look for it
  lua_setfield(L, -2, "memory_budget");
  lua_setfield(L, -2, "volume");
  open_atlas(L);
  lua_setfield(L, -2, "atlas");
  lua_newtable(L);
  open_ml_transforms(L);
  open_ml_models(L);
  lua_setfield(L, -2, "ml");
  open_cv(L);
  lua_setfield(L, -2, "cv");
  open_sim(L);
  lua_setfield(L, -2, "sim");
  open_stats(L);
  lua_setfield(L, -2, "stats");
  open_fc(L);
  lua_setfield(L, -2, "fc");
  open_lmm(L);
  open_provenance(L);
  open_store(L);        // nl.store, the out-of-core voxel store (bindings/image/store.cpp)
  open_plot(L);         // the charts (bindings/plot/plot.cpp)
  open_plot_slices(L);  // adds nl.plot.brain (bindings/plot/slices.cpp)
  lua_setfield(L, -2, "plot");
  lua_newtable(L);
  set_bindings(L, mpi_functions);
  lua_setfield(L, -2, "mpi");

  // init.lua receives the nl table and decorates it.
  lua_getglobal(L, "require");
  lua_pushstring(L, "neurolua.init");
  lua_call(L, 1, 1);
  lua_pushvalue(L, -2);
  lua_call(L, 1, 0);

  // Function names in argument errors: luaL_argerror names a function its call site
  // does not name (a tail call, such as the REPL's "return <line>", or a call through
  // pcall) by finding it in package.loaded, two levels deep, and says '?' otherwise.
  // Each sub-table is listed there as "nl.<name>", so an error of nl.stats.glm typed at
  // the prompt reads "bad argument #3 to 'nl.stats.glm' (...)".
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushnil(L);
  while (lua_next(L, -3)) {
    if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TTABLE) {
      lua_pushfstring(L, "nl.%s", lua_tostring(L, -2));
      lua_pushvalue(L, -2);
      lua_rawset(L, -5);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return 1;
}

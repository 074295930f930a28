// args.cpp: the shared argument and option readers and result writers (args.hpp).
#include "core/args.hpp"

#include <fmt/format.h>


#include <cmath>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "core/fields.hpp"

namespace nl::bind {

namespace {

// Appends "a, b, c" to the buffer.
void add_list(luaL_Buffer* b, std::initializer_list<const char*> names) {
  bool first = true;
  for (const char* n : names) {
    if (!first) luaL_addstring(b, ", ");
    luaL_addstring(b, n);
    first = false;
  }
}

// Appends "; did you mean 'x'?" when there is a suggestion.
void add_suggestion(luaL_Buffer* b, const char* best) {
  if (!*best) return;
  luaL_addstring(b, "; did you mean '");
  luaL_addstring(b, best);
  luaL_addstring(b, "'?");
}

}  // namespace

void check_options(lua_State* L, int idx, const char* what, std::initializer_list<const char*> allowed) {
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    lua_pop(L, 1);  // value
    if (lua_type(L, -1) != LUA_TSTRING) continue;
    const char* key = lua_tostring(L, -1);
    bool ok = false;
    for (const char* a : allowed) ok = ok || std::string_view(a) == key;
    if (ok) continue;
    {  // the suggestion goes onto the Lua stack: nothing of C++ is alive at the raise
      const std::string best = closest_name(key, std::vector<std::string_view>(allowed.begin(), allowed.end()));
      lua_pushlstring(L, best.data(), best.size());
    }
    const char* best = lua_tostring(L, -1);  // stays referenced by the stack below the buffer
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "unknown option '");
    luaL_addstring(&b, key);
    luaL_addstring(&b, "' for ");
    luaL_addstring(&b, what);
    if (allowed.size() == 0) {
      luaL_addstring(&b, " (it takes no options)");
    } else {
      luaL_addstring(&b, "; expected one of: ");
      add_list(&b, allowed);
      add_suggestion(&b, best);
    }
    luaL_pushresult(&b);
    luaL_argerror(L, idx, lua_tostring(L, -1));
  }
}

int opt_choice(lua_State* L, int idx, const char* key, std::initializer_list<const char*> names, int def) {
  if (lua_isnoneornil(L, idx)) return def;
  int out = def;
  if (lua_getfield(L, idx, key) != LUA_TNIL) {
    const char* v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : nullptr;
    int k = 0;
    out = -1;
    for (const char* n : names) {
      if (v && std::strcmp(v, n) == 0) out = k;
      ++k;
    }
    if (out < 0) {
      // Everything is built on the Lua stack: no std::string may be alive when
      // luaL_argerror jumps (STYLE.md item 4).
      {
        const std::string best =
            v ? closest_name(v, std::vector<std::string_view>(names.begin(), names.end())) : std::string();
        lua_pushlstring(L, best.data(), best.size());
      }
      const char* best = lua_tostring(L, -1);
      const char* got = luaL_tolstring(L, -2, nullptr);
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      luaL_addstring(&b, "option '");
      luaL_addstring(&b, key);
      luaL_addstring(&b, "' must be one of ");
      add_list(&b, names);
      luaL_addstring(&b, ", got ");
      luaL_addstring(&b, got);
      add_suggestion(&b, best);
      luaL_pushresult(&b);
      luaL_argerror(L, idx, lua_tostring(L, -1));
    }
  }
  lua_pop(L, 1);
  return out;
}

lua_Integer opt_integer(lua_State* L, int idx, const char* key, lua_Integer lo, lua_Integer hi, lua_Integer def) {
  if (lua_isnoneornil(L, idx)) return def;
  lua_Integer v = def;
  if (lua_getfield(L, idx, key) != LUA_TNIL) {
    if (!lua_isinteger(L, -1))
      luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be an integer, got %s", key,
                                            lua_type(L, -1) == LUA_TNUMBER ? luaL_tolstring(L, -1, nullptr)
                                                                            : luaL_typename(L, -1)));
    v = lua_tointeger(L, -1);
    if (v < lo || v > hi) {
      if (hi == LUA_MAXINTEGER && lo == 0)
        luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be a non-negative integer, got %I", key, v));
      if (hi == LUA_MAXINTEGER)
        luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be an integer >= %I, got %I", key, lo, v));
      luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be between %I and %I, got %I", key, lo, hi, v));
    }
  }
  lua_pop(L, 1);
  return v;
}

bool opt_boolean(lua_State* L, int idx, const char* key, bool def) {
  if (lua_isnoneornil(L, idx)) return def;
  bool v = def;
  if (lua_getfield(L, idx, key) != LUA_TNIL) {
    if (!lua_isboolean(L, -1))
      luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be true or false, got %s", key,
                                            luaL_tolstring(L, -1, nullptr)));
    v = lua_toboolean(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

double opt_number(lua_State* L, int idx, const char* key, double lo, double hi, double def) {
  if (lua_isnoneornil(L, idx)) return def;
  double v = def;
  if (lua_getfield(L, idx, key) != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TNUMBER)
      luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be a number, got %s", key, luaL_typename(L, -1)));
    v = lua_tonumber(L, -1);
    if (!(v >= lo && v <= hi))
      luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be between %f and %f, got %f", key, lo, hi, v));
  }
  lua_pop(L, 1);
  return v;
}

CheckpointArgs opt_checkpoint(lua_State* L, int idx) {
  CheckpointArgs a;
  if (lua_isnoneornil(L, idx)) return a;
  if (lua_getfield(L, idx, "checkpoint") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) == 0)
      luaL_argerror(L, idx, lua_pushfstring(L, "option 'checkpoint' must be a file path (a non-empty string), got %s",
                                            luaL_typename(L, -1)));
    a.path = lua_tostring(L, -1);
  }
  lua_pop(L, 1);
  a.every = opt_number(L, idx, "checkpoint_every", 1e-3, 1e9, a.every);
  if (!a.path) {
    if (raw_field(L, idx, "checkpoint_every") != LUA_TNIL)
      luaL_argerror(L, idx, "option 'checkpoint_every' needs option 'checkpoint' (the file to save to)");
    lua_pop(L, 1);
  }
  return a;
}

// ---------------------------------------------------------------- volumes

int check_volume_list(lua_State* L, int idx, const char* what) {
  if (test<nl::Volume>(L, idx)) return 1;
  if (lua_type(L, idx) != LUA_TTABLE)
    luaL_argerror(L, idx, lua_pushfstring(L, "%s: a neurolua.Volume or a list of them expected", what));
  const lua_Integer n = luaL_len(L, idx);
  if (n == 0) luaL_argerror(L, idx, lua_pushfstring(L, "%s: the list is empty", what));
  for (lua_Integer k = 1; k <= n; ++k) {
    lua_rawgeti(L, idx, k);
    if (!test<nl::Volume>(L, -1))
      luaL_argerror(L, idx, lua_pushfstring(L, "%s: entry %I is not a neurolua.Volume", what, k));
    lua_pop(L, 1);
  }
  return static_cast<int>(n);
}

const nl::Volume* volume_at(lua_State* L, int idx, int k) {
  if (const nl::Volume* v = test<nl::Volume>(L, idx)) return v;
  lua_rawgeti(L, idx, k + 1);
  const nl::Volume* v = test<nl::Volume>(L, -1);
  lua_pop(L, 1);
  return v;
}

// ---------------------------------------------------------------- results

void push_matrix(lua_State* L, Matrix m) {
  auto* slot = new_object<Matrix>(L);
  *slot = std::make_shared<Matrix>(std::move(m));
}

void set_number(lua_State* L, const char* key, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, key);
}

void set_integer(lua_State* L, const char* key, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, key);
}

void set_string(lua_State* L, const char* key, const std::string& v) {
  lua_pushlstring(L, v.data(), v.size());
  lua_setfield(L, -2, key);
}

double get_number(lua_State* L, int idx, const char* key) {
  raw_field(L, idx, key);  // raw: callers hold std::strings, which a raising __index would leak
  const double v = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : std::nan("");
  lua_pop(L, 1);
  return v;
}

std::string short_number(double x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  if (x != 0 && std::fabs(x) < 1e-3) return fmt::format("{:.2e}", x);
  return fmt::format("{:.4g}", x);
}

void push_strings(lua_State* L, const std::vector<std::string>& v) {
  lua_createtable(L, static_cast<int>(v.size()), 0);
  for (std::size_t i = 0; i < v.size(); ++i) {
    lua_pushlstring(L, v[i].data(), v[i].size());
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
}

}  // namespace nl::bind

// args.cpp: the shared argument and option readers and result writers (args.hpp).
#include "core/args.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <string_view>

#include "core/fields.hpp"

namespace nl::bind {

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
      bool first = true;
      for (const char* a : allowed) {
        if (!first) luaL_addstring(&b, ", ");
        luaL_addstring(&b, a);
        first = false;
      }
      if (*best) {
        luaL_addstring(&b, "; did you mean '");
        luaL_addstring(&b, best);
        luaL_addstring(&b, "'?");
      }
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
      bool first = true;
      for (const char* n : names) {
        if (!first) luaL_addstring(&b, ", ");
        luaL_addstring(&b, n);
        first = false;
      }
      luaL_addstring(&b, ", got ");
      luaL_addstring(&b, got);
      if (*best) {
        luaL_addstring(&b, "; did you mean '");
        luaL_addstring(&b, best);
        luaL_addstring(&b, "'?");
      }
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
  lua_getfield(L, idx, key);
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

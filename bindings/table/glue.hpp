// glue.hpp: the helpers shared by the binding files of nl.table (table.cpp and
// explore.cpp): Lua values <-> cells, error helpers, option and name readers.
//
// Readers of Lua values here use raw accessors only (lua_rawgeti, lua_next, lua_type,
// lua_to*), which cannot raise, so they may run inside protect(); a bad value throws
// ArgError instead.
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "core/common.hpp"
#include "core/types.hpp"
#include "nl/table/table.hpp"

namespace nl::bind::table_glue {

using nl::Cell;
using nl::Column;

inline constexpr const char* kNAType = "neurolua.NA";
inline constexpr const char* kNAValue = "neurolua.NA.value";

// ---------------------------------------------------------------- Lua values <-> cells

inline bool is_na(lua_State* L, int idx) { return luaL_testudata(L, idx, kNAType) != nullptr; }

inline void push_na(lua_State* L) { lua_getfield(L, LUA_REGISTRYINDEX, kNAValue); }

// Why integers: ids, counts and codes are whole numbers, and Lua prints a float 3.0
// as "3.0"; a whole value within +-2^53 (where doubles are exact) is pushed as an
// integer, anything else (including -0.0) as a float. Both are Lua numbers and
// compare equal.
inline void push_number(lua_State* L, double x) {
  constexpr double exact = 9007199254740992.0;  // 2^53
  if (x == std::floor(x) && std::fabs(x) <= exact && !(x == 0.0 && std::signbit(x)))
    lua_pushinteger(L, static_cast<lua_Integer>(x));
  else
    lua_pushnumber(L, x);
}

// Pushes row i of c; a missing cell is NA when na_value, else nil.
inline void push_cell(lua_State* L, const Column& c, std::size_t i, bool na_value) {
  if (c.is_missing(i)) {
    if (na_value) push_na(L);
    else lua_pushnil(L);
    return;
  }
  switch (c.type()) {
    case nl::ColumnType::Number: push_number(L, c.number(i)); break;
    case nl::ColumnType::String: lua_pushlstring(L, c.string(i).data(), c.string(i).size()); break;
    case nl::ColumnType::Bool: lua_pushboolean(L, c.boolean(i)); break;
  }
}

inline void push_cell_value(lua_State* L, const Cell& v) {
  if (const double* x = std::get_if<double>(&v)) push_number(L, *x);
  else if (const std::string* s = std::get_if<std::string>(&v)) lua_pushlstring(L, s->data(), s->size());
  else if (const bool* b = std::get_if<bool>(&v)) lua_pushboolean(L, *b);
  else push_na(L);
}

// The value at idx as a cell (nil and NA are missing); false for other Lua types.
inline bool to_cell(lua_State* L, int idx, Cell& out) {
  switch (lua_type(L, idx)) {
    case LUA_TNIL: out = std::monostate{}; return true;
    case LUA_TNUMBER: out = static_cast<double>(lua_tonumber(L, idx)); return true;
    case LUA_TBOOLEAN: out = lua_toboolean(L, idx) != 0; return true;
    case LUA_TSTRING: {
      std::size_t n = 0;
      const char* s = lua_tolstring(L, idx, &n);
      out = std::string(s, n);
      return true;
    }
    default:
      if (!is_na(L, idx)) return false;
      out = std::monostate{};
      return true;
  }
}

// The type of the value at idx for messages: the metatable's __name for userdata
// (e.g. "neurolua.Table"), else the Lua type name.
inline std::string type_label(lua_State* L, int idx) {
  std::string label = luaL_typename(L, idx);
  if (luaL_getmetafield(L, idx, "__name") != LUA_TNIL) {
    if (lua_type(L, -1) == LUA_TSTRING) label = lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  return label;
}

inline std::string lua_string(lua_State* L, int idx) {
  std::size_t n = 0;
  const char* s = lua_tolstring(L, idx, &n);
  return std::string(s, n);
}

// ---------------------------------------------------------------- errors and options

// An error at argument `arg`, or a plain error when arg is 0 (metamethods, which have
// no useful argument numbers).
[[noreturn]] inline void fail(int arg, std::string message) {
  if (arg > 0) throw ArgError(arg, std::move(message));
  throw nl::ValueError(std::move(message));
}

// Runs f(), reporting an engine ValueError as a bad argument `arg`.
template <class F>
inline decltype(auto) blame(int arg, F&& f) {
  try {
    return f();
  } catch (const nl::ValueError& e) {
    throw ArgError(arg, e.what());
  }
}

// Pushes options[name] without metamethods and returns its Lua type.
inline int push_option(lua_State* L, int idx, const char* name) {
  lua_pushstring(L, name);
  return lua_rawget(L, idx);
}

// Column names: a list at idx, or the string arguments idx..last.
inline std::vector<std::string> read_names(lua_State* L, int idx, int last, int arg) {
  std::vector<std::string> names;
  if (lua_type(L, idx) == LUA_TTABLE) {
    for (lua_Integer k = 1, n = static_cast<lua_Integer>(lua_rawlen(L, idx)); k <= n; ++k) {
      if (lua_rawgeti(L, idx, k) != LUA_TSTRING)
        fail(arg, fmt::format("entry {} is a {}, expected a column name", k, luaL_typename(L, -1)));
      names.push_back(lua_string(L, -1));
      lua_pop(L, 1);
    }
    return names;
  }
  for (int i = idx; i <= last; ++i) {
    if (lua_type(L, i) != LUA_TSTRING)
      fail(i, fmt::format("column name expected, got {}", luaL_typename(L, i)));
    names.push_back(lua_string(L, i));
  }
  return names;
}

}  // namespace nl::bind::table_glue

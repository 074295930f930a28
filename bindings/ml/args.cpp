// bindings/ml/args.cpp: reading label and score vectors from Lua values (see bindings/ml/args.hpp).
#include <cmath>

#include "ml/args.hpp"

namespace nl::bind {

namespace {

// A vector argument: its kind and, for userdata, the object (looked up once: a lookup
// checks the metatable by name, which costs more than reading the element).
struct VecSrc {
  VecKind kind = VecKind::Array;
  const nl::Matrix* m = nullptr;
  const nl::Column* c = nullptr;
};

// The element count of a vector argument and its kind; raises for other values.
lua_Integer vector_length(lua_State* L, int idx, const char* what, VecSrc& src) {
  VecKind& kind = src.kind;
  if (const auto* m = test<nl::Matrix>(L, idx)) {
    if (m->rows() != 1 && m->cols() != 1)
      luaL_argerror(L, idx, lua_pushfstring(L, "%s must be a vector, got a %dx%d matrix", what, (int)m->rows(),
                                            (int)m->cols()));
    kind = VecKind::Matrix;
    src.m = m;
    return static_cast<lua_Integer>(m->size());
  }
  if (const auto* c = test<const nl::Column>(L, idx)) {
    kind = VecKind::Column;
    src.c = c;
    return static_cast<lua_Integer>(c->size());
  }
  if (lua_type(L, idx) == LUA_TTABLE) {
    kind = VecKind::Array;
    return static_cast<lua_Integer>(lua_rawlen(L, idx));
  }
  return luaL_argerror(L, idx, lua_pushfstring(L, "%s must be a Matrix, a Column or a table, got %s", what,
                                               luaL_typename(L, idx)));
}

// Element k (0-based) as a number (booleans: 1/0); *ok false when it is neither.
double element(lua_State* L, int idx, const VecSrc& src, lua_Integer k, bool& ok, bool& is_bool) {
  ok = true;
  is_bool = false;
  switch (src.kind) {
    case VecKind::Matrix: return src.m->data()[k];
    case VecKind::Column: {
      const nl::Column& c = *src.c;
      const auto i = static_cast<std::size_t>(k);
      if (c.is_missing(i) || c.type() == nl::ColumnType::String) {
        ok = false;
        return 0;
      }
      is_bool = c.type() == nl::ColumnType::Bool;
      return c.numeric(i);
    }
    case VecKind::Array: {
      const int t = lua_rawgeti(L, idx, k + 1);
      double v = 0;
      if (t == LUA_TNUMBER) v = lua_tonumber(L, -1);
      else if (t == LUA_TBOOLEAN) v = lua_toboolean(L, -1), is_bool = true;
      else ok = false;
      lua_pop(L, 1);
      return v;
    }
  }
  ok = false;
  return 0;
}

// Which number coding the labels use: true when {1, 0}.
bool zero_one_coding(lua_State* L, int idx, const VecSrc& kind, lua_Integer n) {
  bool ok, is_bool;
  for (lua_Integer k = 0; k < n; ++k) {
    const double v = element(L, idx, kind, k, ok, is_bool);
    if (ok && !is_bool && v == 0) return true;
  }
  return false;
}

}  // namespace

lua_Integer validate_labels(lua_State* L, int idx, const char* what) {
  VecSrc kind;
  const lua_Integer n = vector_length(L, idx, what, kind);
  if (n == 0) luaL_argerror(L, idx, lua_pushfstring(L, "%s are empty", what));
  const bool zero_one = zero_one_coding(L, idx, kind, n);
  for (lua_Integer k = 0; k < n; ++k) {
    bool ok, is_bool;
    const double v = element(L, idx, kind, k, ok, is_bool);
    if (!ok)
      luaL_argerror(L, idx, lua_pushfstring(L, "%s: entry %I is missing or not a number/boolean", what, k + 1));
    if (is_bool) continue;
    const bool valid = zero_one ? (v == 0 || v == 1) : (v == 1 || v == -1);
    if (!valid)
      luaL_argerror(L, idx, lua_pushfstring(L, "%s: entry %I is %f; labels must be +1/-1, 1/0 or true/false", what,
                                            k + 1, v));
  }
  return n;
}

void read_labels(lua_State* L, int idx, nl::Vector& y) {
  VecSrc kind;
  bool ok, is_bool;
  // Validated before: vector_length cannot raise here.
  vector_length(L, idx, "labels", kind);
  const auto n = static_cast<lua_Integer>(y.size());
  const bool zero_one = zero_one_coding(L, idx, kind, n);
  for (lua_Integer k = 0; k < n; ++k) {
    const double v = element(L, idx, kind, k, ok, is_bool);
    y(k) = (is_bool || zero_one) ? (v != 0 ? 1.0 : -1.0) : v;
  }
}

lua_Integer validate_scores(lua_State* L, int idx, const char* what) {
  VecSrc kind;
  const lua_Integer n = vector_length(L, idx, what, kind);
  for (lua_Integer k = 0; k < n; ++k) {
    bool ok, is_bool;
    element(L, idx, kind, k, ok, is_bool);
    if (!ok || is_bool)
      luaL_argerror(L, idx, lua_pushfstring(L, "%s: entry %I is missing or not a number", what, k + 1));
  }
  return n;
}

void read_scores(lua_State* L, int idx, nl::Vector& s) {
  VecSrc kind;
  bool ok, is_bool;
  vector_length(L, idx, "scores", kind);
  for (lua_Integer k = 0; k < static_cast<lua_Integer>(s.size()); ++k) s(k) = element(L, idx, kind, k, ok, is_bool);
}

}  // namespace nl::bind

// stats.cpp: the nl.stats module table and the argument readers its binding files share.
// The functions themselves live in
// bindings/stats/glm.cpp (GLM, designs, permutation inference) and bindings/stats/tests.cpp
// (classical tests, ROC, corrections).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <string_view>

#include "stats/args.hpp"
#include "core/fields.hpp"
#include "nl/table/table.hpp"

namespace nl::bind {

using nl::Matrix;

// ---------------------------------------------------------------- numeric arguments

MatArg validate_matrix_arg(lua_State* L, int idx, const char* what) {
  MatArg a;
  a.idx = idx;
  if (const Matrix* m = test<Matrix>(L, idx)) {
    a.kind = MatKind::Matrix;
    a.rows = m->rows();
    a.cols = m->cols();
    return a;
  }
  if (const nl::Table* t = test<nl::Table>(L, idx)) {
    a.kind = MatKind::Table;
    a.rows = static_cast<lua_Integer>(t->nrows());
    a.cols = static_cast<lua_Integer>(t->ncols());
    return a;
  }
  if (const nl::Column* c = test<const nl::Column>(L, idx)) {
    if (c->type() == nl::ColumnType::String)
      luaL_argerror(L, idx, lua_pushfstring(L, "%s: column '%s' holds strings, not numbers", what, c->name().c_str()));
    for (std::size_t i = 0; i < c->size(); ++i)
      if (c->is_missing(i))
        luaL_argerror(L, idx, lua_pushfstring(L, "%s: entry %d is missing", what, static_cast<int>(i + 1)));
    a.kind = MatKind::Column;
    a.rows = static_cast<lua_Integer>(c->size());
    a.cols = 1;
    return a;
  }
  if (lua_type(L, idx) != LUA_TTABLE)
    luaL_argerror(L, idx, lua_pushfstring(L, "%s must be a Matrix, a Table, a Column or a list, got %s", what,
                                          luaL_typename(L, idx)));
  const auto n = static_cast<lua_Integer>(lua_rawlen(L, idx));
  if (n == 0) luaL_argerror(L, idx, lua_pushfstring(L, "%s is empty", what));
  const bool nested = lua_rawgeti(L, idx, 1) == LUA_TTABLE;
  lua_pop(L, 1);
  a.kind = nested ? MatKind::Rows : MatKind::Flat;
  a.rows = n;
  a.cols = 1;
  for (lua_Integer i = 1; i <= n; ++i) {
    const int t = lua_rawgeti(L, idx, i);
    if (!nested) {
      if (t != LUA_TNUMBER)
        luaL_argerror(L, idx, lua_pushfstring(L, "%s: entry %I is a %s, not a number", what, i, luaL_typename(L, -1)));
    } else {
      if (t != LUA_TTABLE)
        luaL_argerror(L, idx, lua_pushfstring(L, "%s: row %I is a %s, not a list of numbers", what, i,
                                              luaL_typename(L, -1)));
      const auto len = static_cast<lua_Integer>(lua_rawlen(L, -1));
      if (i == 1) a.cols = len;
      if (len != a.cols || len == 0)
        luaL_argerror(L, idx, lua_pushfstring(L, "%s: row %I has %I values, row 1 has %I", what, i, len, a.cols));
      for (lua_Integer j = 1; j <= len; ++j) {
        if (lua_rawgeti(L, -1, j) != LUA_TNUMBER)
          luaL_argerror(L, idx, lua_pushfstring(L, "%s: entry (%I, %I) is a %s, not a number", what, i, j,
                                                luaL_typename(L, -1)));
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 1);
  }
  return a;
}

Matrix read_matrix_arg(lua_State* L, const MatArg& a, std::vector<std::string>* names) {
  switch (a.kind) {
    case MatKind::Matrix: return *test<Matrix>(L, a.idx);
    case MatKind::Table: {
      const nl::Table& t = *test<nl::Table>(L, a.idx);
      if (names) *names = t.names();
      return nl::to_matrix(t, t.names(), false).X;
    }
    case MatKind::Column: {
      const nl::Column& c = *test<const nl::Column>(L, a.idx);
      Matrix m(a.rows, 1);
      for (lua_Integer i = 0; i < a.rows; ++i) m(i, 0) = c.numeric(static_cast<std::size_t>(i));
      if (names) *names = {c.name()};
      return m;
    }
    // The lists are checked again as they are read: Lua code run since the check (an
    // option's __index, a __gc finalizer) may have changed them.
    case MatKind::Flat: {
      Matrix m(a.rows, 1);
      for (lua_Integer i = 0; i < a.rows; ++i) {
        const int t = lua_rawgeti(L, a.idx, i + 1);
        m(i, 0) = lua_tonumber(L, -1);
        lua_pop(L, 1);
        if (t != LUA_TNUMBER) throw ArgError(a.idx, "the list changed while it was being read");
      }
      return m;
    }
    case MatKind::Rows: {
      Matrix m(a.rows, a.cols);
      for (lua_Integer i = 0; i < a.rows; ++i) {
        if (lua_rawgeti(L, a.idx, i + 1) != LUA_TTABLE) {
          lua_pop(L, 1);
          throw ArgError(a.idx, "the rows changed while they were being read");
        }
        for (lua_Integer j = 0; j < a.cols; ++j) {
          const int t = lua_rawgeti(L, -1, j + 1);
          m(i, j) = lua_tonumber(L, -1);
          lua_pop(L, 1);
          if (t != LUA_TNUMBER) {
            lua_pop(L, 1);
            throw ArgError(a.idx, "the rows changed while they were being read");
          }
        }
        lua_pop(L, 1);
      }
      return m;
    }
  }
  return Matrix();
}

// ---------------------------------------------------------------- categorical arguments

namespace {

// Kind of a categorical value: 0 boolean, 1 number, 2 string; -1 anything else.
int value_kind(lua_State* L, int idx) {
  switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN: return 0;
    case LUA_TNUMBER: return 1;
    case LUA_TSTRING: return 2;
    default: return -1;
  }
}

// A level: its kind, number (booleans 0/1) and text.
struct Level {
  int kind = 1;
  double number = 0;
  std::string text;
};

Level level_at(lua_State* L, int idx) {
  Level v;
  v.kind = value_kind(L, idx);
  if (v.kind == 0) {
    v.number = lua_toboolean(L, idx);
    v.text = v.number != 0 ? "true" : "false";
  } else if (v.kind == 1) {
    v.number = lua_tonumber(L, idx);
    v.text = nl::format_number(v.number);
  } else if (v.kind == 2) {
    v.text = lua_tostring(L, idx);
  } else {
    v.text = luaL_typename(L, idx);  // never a level (callers check the kind)
  }
  return v;
}

// Entry i (0-based) of a validated categorical argument.
Level category(lua_State* L, const CatArg& a, lua_Integer i) {
  if (const nl::Column* c = test<const nl::Column>(L, a.idx)) {
    const auto k = static_cast<std::size_t>(i);
    Level v;
    switch (c->type()) {
      case nl::ColumnType::Bool:
        v.kind = 0;
        v.number = c->boolean(k);
        v.text = c->boolean(k) ? "true" : "false";
        break;
      case nl::ColumnType::Number:
        v.kind = 1;
        v.number = c->number(k);
        v.text = nl::format_number(v.number);
        break;
      case nl::ColumnType::String:
        v.kind = 2;
        v.text = c->string(k);
        break;
    }
    return v;
  }
  if (const Matrix* m = test<Matrix>(L, a.idx)) {
    Level v;
    v.number = m->data()[i];
    v.text = nl::format_number(v.number);
    return v;
  }
  lua_rawgeti(L, a.idx, i + 1);
  if (value_kind(L, -1) < 0) {  // changed since validate_categories (Lua code ran since)
    lua_pop(L, 1);
    throw ArgError(a.idx, "the list changed while it was being read");
  }
  Level v = level_at(L, -1);
  lua_pop(L, 1);
  return v;
}

}  // namespace

CatArg validate_categories(lua_State* L, int idx, const char* what) {
  CatArg a;
  a.idx = idx;
  if (const nl::Column* c = test<const nl::Column>(L, idx)) {
    for (std::size_t i = 0; i < c->size(); ++i)
      if (c->is_missing(i))
        luaL_argerror(L, idx, lua_pushfstring(L, "%s: entry %d is missing", what, static_cast<int>(i + 1)));
    a.n = static_cast<lua_Integer>(c->size());
  } else if (const Matrix* m = test<Matrix>(L, idx)) {
    if (m->cols() != 1 && m->rows() != 1)
      luaL_argerror(L, idx, lua_pushfstring(L, "%s must be a vector, got a %dx%d matrix", what, (int)m->rows(),
                                            (int)m->cols()));
    for (Eigen::Index i = 0; i < m->size(); ++i)
      if (!std::isfinite(m->data()[i]))
        luaL_argerror(L, idx, lua_pushfstring(L, "%s: entry %d is not finite", what, static_cast<int>(i + 1)));
    a.n = static_cast<lua_Integer>(m->size());
  } else if (lua_type(L, idx) == LUA_TTABLE) {
    a.n = static_cast<lua_Integer>(lua_rawlen(L, idx));
    int kind = -2;
    for (lua_Integer i = 1; i <= a.n; ++i) {
      lua_rawgeti(L, idx, i);
      const int k = value_kind(L, -1);
      if (k < 0)
        luaL_argerror(L, idx, lua_pushfstring(L, "%s: entry %I is a %s; expected booleans, numbers or strings", what,
                                              i, luaL_typename(L, -1)));
      if (kind != -2 && k != kind)
        luaL_argerror(L, idx, lua_pushfstring(L, "%s: entry %I is a %s but entry 1 is not; use one type", what, i,
                                              luaL_typename(L, -1)));
      if (k == 1 && !std::isfinite(lua_tonumber(L, -1)))
        luaL_argerror(L, idx, lua_pushfstring(L, "%s: entry %I is not finite", what, i));
      kind = k;
      lua_pop(L, 1);
    }
  } else {
    luaL_argerror(L, idx, lua_pushfstring(L, "%s must be a Column, a list or a one-column Matrix, got %s", what,
                                          luaL_typename(L, idx)));
  }
  if (a.n == 0) luaL_argerror(L, idx, lua_pushfstring(L, "%s is empty", what));
  return a;
}

void read_categories(lua_State* L, const CatArg& a, bool sorted, std::vector<int>& codes,
                     std::vector<std::string>& levels) {
  std::vector<Level> seen;
  std::map<std::string, int> index;
  codes.assign(static_cast<std::size_t>(a.n), 0);
  for (lua_Integer i = 0; i < a.n; ++i) {
    Level v = category(L, a, i);
    const auto [it, fresh] = index.emplace(v.text, static_cast<int>(seen.size()));
    if (fresh) seen.push_back(std::move(v));
    codes[static_cast<std::size_t>(i)] = it->second;
  }
  std::vector<int> order(seen.size());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = static_cast<int>(k);
  if (sorted)
    std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
      const Level &a1 = seen[static_cast<std::size_t>(x)], &b1 = seen[static_cast<std::size_t>(y)];
      return a1.kind == 2 ? a1.text < b1.text : a1.number < b1.number;
    });
  std::vector<int> rank(seen.size());
  levels.clear();
  for (std::size_t k = 0; k < order.size(); ++k) {
    rank[static_cast<std::size_t>(order[k])] = static_cast<int>(k);
    levels.push_back(seen[static_cast<std::size_t>(order[k])].text);
  }
  for (auto& c : codes) c = rank[static_cast<std::size_t>(c)];
}

std::string category_text(lua_State* L, int idx) { return level_at(L, idx).text; }

// ---------------------------------------------------------------- options

nl::stats::Tail opt_tail(lua_State* L, int idx) {
  const nl::stats::Tail tails[] = {nl::stats::Tail::Two, nl::stats::Tail::Right, nl::stats::Tail::Left};
  return tails[opt_choice(L, idx, "tail", {"two", "right", "left"}, 0)];
}

const char* tail_name(nl::stats::Tail t) {
  switch (t) {
    case nl::stats::Tail::Right: return "right";
    case nl::stats::Tail::Left: return "left";
    case nl::stats::Tail::Two: break;
  }
  return "two";
}

// ---------------------------------------------------------------- module

// Pushes the nl.stats table.
int open_stats(lua_State* L) {
  lua_newtable(L);
  open_stats_glm(L);
  open_stats_tfce(L);
  open_stats_tests(L);
  return 1;
}

}  // namespace nl::bind

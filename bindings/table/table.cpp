// table.cpp: nl.table, the Lua face of nl::Table ("neurolua.Table") and its columns
// ("neurolua.Column").
//
// Tables are immutable from Lua except for column assignment (t.x = ..., t.x = nil);
// every other method returns a new Table. Columns are immutable and shared. Missing
// cells are nil in row tables and nl.table.NA (a unique userdata) where a value must
// keep its place in a list. Rows are 1-based here and 0-based in the engine.
//
// Reading Lua values into C++ containers happens inside protect() with raw accessors
// only (lua_rawgeti, lua_next, lua_type, lua_to*), which cannot raise; a bad value
// throws ArgError instead.
#include <fmt/format.h>

#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "core/args.hpp"
#include "core/common.hpp"
#include "core/fields.hpp"
#include "core/terminal.hpp"
#include "core/types.hpp"
#include "explore.hpp"
#include "glue.hpp"
#include "nl/core/linalg.hpp"
#include "nl/table/table.hpp"

namespace nl::bind {

namespace {

using nl::Cell;
using nl::Column;
using nl::ColumnPtr;
using nl::Matrix;
using nl::Table;
using namespace table_glue;

// The `sep` option: absent (0) or a one-character string.
char sep_option(lua_State* L, int idx, int arg) {
  const int t = push_option(L, idx, "sep");
  char sep = 0;
  if (t != LUA_TNIL) {
    if (t != LUA_TSTRING || lua_rawlen(L, -1) != 1) fail(arg, "option 'sep' must be a one-character string");
    sep = lua_tostring(L, -1)[0];
    if (sep == '"' || sep == '\n' || sep == '\r' || sep == '\0')
      fail(arg, "option 'sep' cannot be a quote, a line break or NUL");
  }
  lua_pop(L, 1);
  return sep;
}

// The options argument of read/parse (argument 2): its stack index after checking its
// keys, or 0 when none is given.
int check_read_options(lua_State* L, const char* what) {
  if (lua_isnoneornil(L, 2)) return 0;
  luaL_checktype(L, 2, LUA_TTABLE);
  check_options(L, 2, what, {"sep", "decimal", "types", "na", "line_column"});
  return 2;
}

// Options of read/parse from the table at idx (0: none given), checked by
// check_read_options.
nl::ReadOptions read_options(lua_State* L, int idx, int arg) {
  nl::ReadOptions o;
  if (idx == 0) return o;
  o.sep = sep_option(L, idx, arg);
  if (const int t = push_option(L, idx, "decimal"); t != LUA_TNIL) {
    const char* d = t == LUA_TSTRING ? lua_tostring(L, -1) : nullptr;
    if (!d || (std::string_view(d) != "." && std::string_view(d) != ","))
      fail(arg, "option 'decimal' must be \".\" or \",\"");
    o.decimal = d[0];
  }
  lua_pop(L, 1);
  if (const int t = push_option(L, idx, "line_column"); t != LUA_TNIL) {
    if (t != LUA_TSTRING || lua_rawlen(L, -1) == 0) fail(arg, "option 'line_column' must be a column name");
    o.line_column = lua_string(L, -1);
  }
  lua_pop(L, 1);
  if (const int t = push_option(L, idx, "types"); t != LUA_TNIL) {
    if (t != LUA_TTABLE) fail(arg, "option 'types' must be a table {column = 'number'|'string'|'bool'}");
    const int types = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, types) != 0) {
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
        fail(arg, "option 'types' must map column names to 'number', 'string' or 'bool'");
      const std::string type = lua_string(L, -1);
      nl::ColumnType ct;
      if (type == "number") ct = nl::ColumnType::Number;
      else if (type == "string") ct = nl::ColumnType::String;
      else if (type == "bool") ct = nl::ColumnType::Bool;
      else fail(arg, fmt::format("invalid type {} in option 'types' (number, string or bool)", nl::detail::quoted(type)));
      o.types[lua_string(L, -2)] = ct;
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  if (const int t = push_option(L, idx, "na"); t != LUA_TNIL) {
    if (t != LUA_TTABLE) fail(arg, "option 'na' must be a list of strings");
    const int list = lua_gettop(L);
    o.na.clear();
    for (lua_Integer k = 1, n = static_cast<lua_Integer>(lua_rawlen(L, list)); k <= n; ++k) {
      if (lua_rawgeti(L, list, k) != LUA_TSTRING) fail(arg, "option 'na' must be a list of strings");
      o.na.push_back(lua_string(L, -1));
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  return o;
}

// ---------------------------------------------------------------- building columns

// A column named `name` from the value at idx: a Column, a Matrix with one row or one
// column, a Lua list (length from its `n` field, else #; nil and NA are missing) or a
// single value repeated for every row of t.
Column column_from_value(lua_State* L, int idx, const std::string& name, const Table& t, int arg) {
  if (const Column* c = test<const Column>(L, idx)) return c->renamed(name);
  if (const Matrix* m = test<Matrix>(L, idx)) {
    if (m->rows() != 1 && m->cols() != 1)
      fail(arg, fmt::format("column {}: a matrix must have one row or one column, got {}x{}",
                            nl::detail::quoted(name), m->rows(), m->cols()));
    return Column::numbers(name, std::vector<double>(m->data(), m->data() + m->size()));
  }
  Cell value;
  if (lua_type(L, idx) == LUA_TTABLE) {
    lua_Integer n = static_cast<lua_Integer>(lua_rawlen(L, idx));
    if (push_option(L, idx, "n") == LUA_TNUMBER && lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0)
      n = lua_tointeger(L, -1);
    lua_pop(L, 1);
    std::vector<Cell> cells(static_cast<std::size_t>(n));
    for (lua_Integer k = 1; k <= n; ++k) {
      lua_rawgeti(L, idx, k);
      if (!to_cell(L, -1, cells[static_cast<std::size_t>(k - 1)]))
        fail(arg, fmt::format("column {}: value {} is a {} (expected number, string, boolean or nl.table.NA)",
                              nl::detail::quoted(name), k, type_label(L, -1)));
      lua_pop(L, 1);
    }
    try {
      return Column::from_cells(name, cells);
    } catch (const nl::ValueError& e) {
      fail(arg, e.what());
    }
  }
  if (!to_cell(L, idx, value))
    fail(arg, fmt::format("column {}: cannot make a column from a {}", nl::detail::quoted(name),
                          type_label(L, idx)));
  if (t.ncols() == 0)
    fail(arg, fmt::format("column {}: a single value needs a table with rows to fill (give a list)",
                          nl::detail::quoted(name)));
  return Column::filled(name, value, t.nrows());
}

// Pushes {column = value} for row i (missing cells left out, so they read as nil).
void push_row(lua_State* L, const Table& t, std::size_t i) {
  lua_createtable(L, 0, static_cast<int>(t.ncols()));
  for (const auto& c : t.columns()) {
    if (c->is_missing(i)) continue;
    lua_pushlstring(L, c->name().data(), c->name().size());
    push_cell(L, *c, i, false);
    lua_rawset(L, -3);
  }
}

// ---------------------------------------------------------------- module functions

// nl.table.read(path [, options]) -> Table; raises on a missing or malformed file.
int read(lua_State* L) {
  std::size_t n = 0;
  const char* path = luaL_checklstring(L, 1, &n);
  const int opts = check_read_options(L, "read");
  return push_new<Table>(L, [&] { return nl::read_table(std::string(path, n), read_options(L, opts, 2)); });
}

// nl.table.parse(text [, options]) -> Table, from CSV/TSV text in memory.
int parse(lua_State* L) {
  std::size_t n = 0;
  const char* text = luaL_checklstring(L, 1, &n);
  const int opts = check_read_options(L, "parse");
  return push_new<Table>(L, [&] {
    return nl::parse_table(std::string_view(text, n), "<text>", read_options(L, opts, 2));
  });
}

// nl.table.new([{ {name, values}, ... }]) -> Table.
int make(lua_State* L) {
  const bool spec = !lua_isnoneornil(L, 1);
  if (spec) {
    luaL_checktype(L, 1, LUA_TTABLE);
    // A map {subject = {...}} would otherwise give an empty Table without a word.
    lua_pushnil(L);
    while (lua_next(L, 1)) {
      lua_pop(L, 1);
      if (lua_type(L, -1) == LUA_TSTRING)
        luaL_argerror(L, 1, lua_pushfstring(L, "expected a list of {name, values} pairs, got the key '%s' (write "
                                               "{ {\"%s\", values}, ... }: a list keeps the columns' order)",
                                            lua_tostring(L, -1), lua_tostring(L, -1)));
      if (!lua_isinteger(L, -1))
        luaL_argerror(L, 1, lua_pushfstring(L, "expected a list of {name, values} pairs, got a %s key",
                                            luaL_typename(L, -1)));
    }
  }
  return push_new<Table>(L, [&] {
    Table t;
    const lua_Integer n = spec ? static_cast<lua_Integer>(lua_rawlen(L, 1)) : 0;
    for (lua_Integer k = 1; k <= n; ++k) {
      if (lua_rawgeti(L, 1, k) != LUA_TTABLE)
        fail(1, fmt::format("entry {} is a {}, expected a {{name, values}} pair", k, luaL_typename(L, -1)));
      const int pair = lua_gettop(L);
      if (lua_rawgeti(L, pair, 1) != LUA_TSTRING)
        fail(1, fmt::format("entry {}: the first element must be a column name", k));
      const std::string name = lua_string(L, -1);
      if (t.find(name)) fail(1, fmt::format("duplicate column name {}", nl::detail::quoted(name)));
      lua_rawgeti(L, pair, 2);
      Column c = column_from_value(L, lua_gettop(L), name, t, 1);
      blame(1, [&] { t.set(std::make_shared<const Column>(std::move(c))); });
      lua_pop(L, 3);
    }
    return t;
  });
}

// ---------------------------------------------------------------- Table: metamethods

// t.name: a method if there is one by that name, else the column; an unknown name
// raises with a did-you-mean over the columns and methods.
int t_index(lua_State* L) {
  const Table& t = check<Table>(L, 1);
  if (push_method(L, 2)) return 1;
  if (lua_type(L, 2) != LUA_TSTRING)
    return luaL_error(L, "a Table is indexed by column name, got %s (t:row(i) gives row i)", luaL_typename(L, 2));
  std::size_t n = 0;
  const char* name = lua_tolstring(L, 2, &n);
  const ColumnPtr* c = t.find(std::string_view(name, n));
  if (!c) return no_field(L, 1, 2);
  *new_object<const Column>(L) = *c;
  return 1;
}

// t.name = value adds or replaces a column; t.name = nil removes it.
int t_newindex(lua_State* L) {
  forbid_reentrant_change(L, "Table");
  Table& t = check<Table>(L, 1);
  if (lua_type(L, 2) != LUA_TSTRING)
    return luaL_error(L, "column names are strings, got %s", luaL_typename(L, 2));
  return protect(L, [&] {
    const std::string name = lua_string(L, 2);
    if (lua_isnil(L, 3)) t.remove(name);
    else t.set(std::make_shared<const Column>(column_from_value(L, 3, name, t, 0)));
    return 0;
  });
}

int t_len(lua_State* L) {
  lua_pushinteger(L, static_cast<lua_Integer>(check<Table>(L, 1).nrows()));
  return 1;
}

// The preview fits the terminal's width (bindings/core/terminal.hpp); t:print{all =
// true} shows every column.
int t_tostring(lua_State* L) {
  const Table& t = check<Table>(L, 1);
  const int width = terminal_size().columns;
  return protect(L, [&] {
    const std::string s = nl::format_table(t, 10, width);
    lua_pushlstring(L, s.data(), s.size());
    return 1;
  });
}

// ---------------------------------------------------------------- Table: methods

int t_nrows(lua_State* L) { return t_len(L); }

int t_ncols(lua_State* L) {
  lua_pushinteger(L, static_cast<lua_Integer>(check<Table>(L, 1).ncols()));
  return 1;
}

int t_columns(lua_State* L) {
  const Table& t = check<Table>(L, 1);
  return protect(L, [&] {
    push_strings(L, t.names());
    return 1;
  });
}

int t_types(lua_State* L) {
  const Table& t = check<Table>(L, 1);
  lua_createtable(L, 0, static_cast<int>(t.ncols()));
  for (const auto& c : t.columns()) {
    lua_pushlstring(L, c->name().data(), c->name().size());
    lua_pushstring(L, nl::type_name(c->type()));
    lua_rawset(L, -3);
  }
  return 1;
}

// t:column(name): the column even when a method has the same name.
int t_column(lua_State* L) {
  const Table& t = check<Table>(L, 1);
  std::size_t n = 0;
  const char* name = luaL_checklstring(L, 2, &n);
  auto* slot = new_object<const Column>(L);
  return protect(L, [&] {
    *slot = blame(2, [&] { return t.column(std::string_view(name, n)); });
    return 1;
  });
}

int t_select(lua_State* L) {
  const Table& t = check<Table>(L, 1);
  const int last = lua_gettop(L);
  if (lua_type(L, 2) != LUA_TTABLE) luaL_checkstring(L, 2);
  return push_new<Table>(L, [&] {
    const auto names = read_names(L, 2, last, 2);
    return blame(2, [&] { return t.select(names); });
  });
}

// t:filter(fn | mask). Why the flags live in a Lua userdata: fn is called with
// lua_call, which may raise, so no C++ object with a destructor may be alive here.
int t_filter(lua_State* L) {
  const Table& t = check<Table>(L, 1);
  if (const Column* mask = test<const Column>(L, 2))
    return push_new<Table>(L, [&] { return blame(2, [&] { return t.filter(*mask); }); });
  luaL_argexpected(L, lua_type(L, 2) == LUA_TFUNCTION, 2, "function or bool Column");
  const std::size_t n = t.nrows();
  // Stays on the stack (so it is not collected) until the result is built.
  auto* keep = static_cast<unsigned char*>(lua_newuserdatauv(L, n > 0 ? n : 1, 0));
  for (std::size_t i = 0; i < n; ++i) {
    const Table* now = test<Table>(L, 1);
    if (!now || now->nrows() != n) return luaL_error(L, "filter: the table changed while being filtered");
    lua_pushvalue(L, 2);
    push_row(L, *now, i);
    lua_call(L, 1, 1);
    keep[i] = lua_toboolean(L, -1) ? 1 : 0;
    lua_pop(L, 1);
  }
  const Table* now = test<Table>(L, 1);
  if (!now || now->nrows() != n) return luaL_error(L, "filter: the table changed while being filtered");
  return push_new<Table>(L, [&] {
    const Column mask = Column::bools("filter", std::vector<std::uint8_t>(keep, keep + n));
    return now->filter(mask);
  });
}

// t:where{col = value | {v1, v2, ...}, ...}
int t_where(lua_State* L) {
  const Table& t = check<Table>(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  return push_new<Table>(L, [&] {
    std::vector<nl::Condition> conditions;
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
      if (lua_type(L, -2) != LUA_TSTRING) fail(2, "conditions must be keyed by column name");
      nl::Condition cond{lua_string(L, -2), {}};
      const int v = lua_gettop(L);
      const bool list = lua_type(L, v) == LUA_TTABLE;
      const lua_Integer n = list ? static_cast<lua_Integer>(lua_rawlen(L, v)) : 1;
      for (lua_Integer k = 1; k <= n; ++k) {
        if (list) lua_rawgeti(L, v, k);
        Cell c;
        if (!to_cell(L, list ? -1 : v, c))
          fail(2, fmt::format("condition on {}: cannot compare with a {}", nl::detail::quoted(cond.column),
                              type_label(L, list ? -1 : v)));
        cond.values.push_back(std::move(c));
        if (list) lua_pop(L, 1);
      }
      conditions.push_back(std::move(cond));
      lua_pop(L, 1);
    }
    return blame(2, [&] { return t.where(conditions); });
  });
}

// t:sort(key | {keys}): "-name" sorts name descending, unless a column is literally
// called "-name".
int t_sort(lua_State* L) {
  const Table& t = check<Table>(L, 1);
  const int last = lua_gettop(L);
  if (lua_type(L, 2) != LUA_TTABLE) luaL_checkstring(L, 2);
  return push_new<Table>(L, [&] {
    std::vector<nl::SortKey> keys;
    for (auto& name : read_names(L, 2, last, 2)) {
      if (name.size() > 1 && name[0] == '-' && !t.find(name)) keys.push_back({name.substr(1), true});
      else keys.push_back({std::move(name), false});
    }
    return blame(2, [&] { return t.sort(keys); });
  });
}

// t:join(other, key | {left_key, right_key} [, {how = "inner"|"left", suffix = "_2"}])
int t_join(lua_State* L) {
  const Table& t = check<Table>(L, 1);
  const Table& other = check<Table>(L, 2);
  if (lua_type(L, 3) != LUA_TTABLE) luaL_checkstring(L, 3);
  check_options(L, 4, "join", {"how", "suffix"});
  const auto how = opt_choice(L, 4, "how", {"inner", "left"}, 0) == 1 ? nl::JoinHow::Left : nl::JoinHow::Inner;
  const char* suffix = nullptr;  // stays owned by the options table
  if (!lua_isnoneornil(L, 4)) {
    if (lua_getfield(L, 4, "suffix") != LUA_TNIL) {
      if (lua_type(L, -1) != LUA_TSTRING) luaL_argerror(L, 4, "option 'suffix' must be a string");
      suffix = lua_tostring(L, -1);
    }
    lua_pop(L, 1);
  }
  return push_new<Table>(L, [&] {
    nl::JoinOptions o;
    const auto keys = read_names(L, 3, 3, 3);
    if (keys.empty() || keys.size() > 2) fail(3, "key must be a column name or a pair {left_key, right_key}");
    o.left_key = keys[0];
    o.right_key = keys.back();
    o.how = how;
    if (suffix) o.suffix = suffix;
    return blame(3, [&] { return t.join(other, o); });
  });
}

// t:matrix([names...] [, {drop_missing = true}]) -> Matrix [, kept rows]
int t_matrix(lua_State* L) {
  const Table& t = check<Table>(L, 1);
  const bool list = lua_type(L, 2) == LUA_TTABLE;
  const bool has_opts = list && !lua_isnoneornil(L, 3);
  if (has_opts) luaL_checktype(L, 3, LUA_TTABLE);
  if (list) lua_settop(L, 3);
  const int last = lua_gettop(L);
  for (int i = 2; !list && i <= last; ++i) luaL_checkstring(L, i);
  bool drop = false;
  if (has_opts) {
    check_options(L, 3, "matrix", {"drop_missing"});
    drop = opt_boolean(L, 3, "drop_missing", false);
  }
  auto* slot = new_object<Matrix>(L);
  return protect(L, [&] {
    const auto names = list ? read_names(L, 2, 2, 2) : read_names(L, 2, last, 2);
    auto m = blame(2, [&] { return nl::to_matrix(t, names, drop); });
    *slot = std::make_shared<Matrix>(std::move(m.X));
    if (!drop) return 1;
    lua_createtable(L, static_cast<int>(m.rows.size()), 0);
    for (std::size_t k = 0; k < m.rows.size(); ++k) {
      lua_pushinteger(L, static_cast<lua_Integer>(m.rows[k] + 1));
      lua_rawseti(L, -2, static_cast<lua_Integer>(k + 1));
    }
    return 2;
  });
}

// t:write(path [, {sep = ","}]); raises on failure.
int t_write(lua_State* L) {
  const Table& t = check<Table>(L, 1);
  std::size_t n = 0;
  const char* path = luaL_checklstring(L, 2, &n);
  check_options(L, 3, "write", {"sep"});
  return protect(L, [&] {
    nl::WriteOptions o;
    if (!lua_isnoneornil(L, 3)) o.sep = sep_option(L, 3, 3);
    blame(1, [&] { nl::write_table(t, std::string(path, n), o); });
    return 0;
  });
}

int t_head(lua_State* L) {
  const Table& t = check<Table>(L, 1);
  const lua_Integer n = luaL_optinteger(L, 2, 5);
  luaL_argcheck(L, n >= 0, 2, "row count must not be negative");
  return push_new<Table>(L, [&] { return t.head(static_cast<std::size_t>(n)); });
}

// t:take{rows...}: 1-based rows in the given order (repeats allowed).
int t_take(lua_State* L) {
  const Table& t = check<Table>(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  return push_new<Table>(L, [&] {
    std::vector<std::size_t> rows;
    for (lua_Integer k = 1, n = static_cast<lua_Integer>(lua_rawlen(L, 2)); k <= n; ++k) {
      lua_rawgeti(L, 2, k);
      int ok = 0;
      const lua_Integer r = lua_tointegerx(L, -1, &ok);
      if (!ok || lua_type(L, -1) != LUA_TNUMBER || r < 1 || static_cast<std::size_t>(r) > t.nrows())
        fail(2, fmt::format("entry {} is not a row number in [1, {}]", k, t.nrows()));
      rows.push_back(static_cast<std::size_t>(r - 1));
      lua_pop(L, 1);
    }
    return t.take(rows);
  });
}

int t_row(lua_State* L) {
  const Table& t = check<Table>(L, 1);
  const lua_Integer i = check_range(L, 2, 1, static_cast<lua_Integer>(t.nrows()), "row");
  push_row(L, t, static_cast<std::size_t>(i - 1));
  return 1;
}

// Iterator of t:rows(): (t, i) -> i + 1, row.
int rows_next(lua_State* L) {
  const Table* t = test<Table>(L, 1);
  const lua_Integer i = luaL_checkinteger(L, 2);
  if (!t || i < 0 || static_cast<std::size_t>(i) >= t->nrows()) return 0;
  lua_pushinteger(L, i + 1);
  push_row(L, *t, static_cast<std::size_t>(i));
  return 2;
}

int t_rows(lua_State* L) {
  check<Table>(L, 1);
  push_binding(L, rows_next);
  lua_pushvalue(L, 1);
  lua_pushinteger(L, 0);
  return 3;
}

// ---------------------------------------------------------------- Column: metamethods

const Column& check_column(lua_State* L, int idx) { return check<const Column>(L, idx); }

// c[i]: the value (nil if missing or out of range); c.name: a method; any other name
// raises.
int c_index(lua_State* L) {
  const Column& c = check_column(L, 1);
  if (push_method(L, 2)) return 1;
  if (lua_type(L, 2) != LUA_TNUMBER) return no_field(L, 1, 2);
  int ok = 0;
  const lua_Integer i = lua_tointegerx(L, 2, &ok);
  if (!ok || i < 1 || static_cast<std::size_t>(i) > c.size()) return 0;
  push_cell(L, c, static_cast<std::size_t>(i - 1), false);
  return 1;
}

int c_newindex(lua_State* L) {
  return luaL_error(L, "columns are read-only: build a new column and assign it to the table");
}

int c_len(lua_State* L) {
  lua_pushinteger(L, static_cast<lua_Integer>(check_column(L, 1).size()));
  return 1;
}

int c_tostring(lua_State* L) {
  const Column& c = check_column(L, 1);
  return protect(L, [&] {
    const std::string s = nl::format_column(c);
    lua_pushlstring(L, s.data(), s.size());
    return 1;
  });
}

// Shared body of + - * /: a Column with a number or with another Column.
int arith(lua_State* L, nl::ArithOp op) {
  const Column* a = test<const Column>(L, 1);
  const Column* b = test<const Column>(L, 2);
  for (int i = 1; i <= 2; ++i)
    if (!test<const Column>(L, i) && lua_type(L, i) != LUA_TNUMBER)
      return luaL_error(L, "arithmetic on a Column needs a number or a number Column, got %s", luaL_typename(L, i));
  if (!a && !b) return luaL_error(L, "arithmetic on a Column needs a Column");  // the metamethod called with two numbers
  const double sa = a ? 0.0 : lua_tonumber(L, 1);
  const double sb = b ? 0.0 : lua_tonumber(L, 2);
  return push_new<const Column>(L, [&] {
    if (a && b) return nl::arith(*a, *b, op);
    return a ? nl::arith(*a, sb, op) : nl::arith(sa, *b, op);
  });
}

int c_add(lua_State* L) { return arith(L, nl::ArithOp::Add); }
int c_sub(lua_State* L) { return arith(L, nl::ArithOp::Sub); }
int c_mul(lua_State* L) { return arith(L, nl::ArithOp::Mul); }
int c_div(lua_State* L) { return arith(L, nl::ArithOp::Div); }

int c_unm(lua_State* L) {
  const Column& a = check_column(L, 1);
  return push_new<const Column>(L, [&] { return nl::negate(a); });
}

// a & b, a | b: Kleene logic on bool Columns.
int logic(lua_State* L, bool is_and) {
  const Column* a = test<const Column>(L, 1);
  const Column* b = test<const Column>(L, 2);
  if (!a || !b) return luaL_error(L, "'%s' needs two bool Columns", is_and ? "&" : "|");
  return push_new<const Column>(L, [&] { return is_and ? nl::logical_and(*a, *b) : nl::logical_or(*a, *b); });
}

int c_band(lua_State* L) { return logic(L, true); }
int c_bor(lua_State* L) { return logic(L, false); }

int c_bnot(lua_State* L) {
  const Column& a = check_column(L, 1);
  return push_new<const Column>(L, [&] { return nl::logical_not(a); });
}

// ---------------------------------------------------------------- Column: methods

int c_name(lua_State* L) {
  const Column& c = check_column(L, 1);
  lua_pushlstring(L, c.name().data(), c.name().size());
  return 1;
}

int c_type(lua_State* L) {
  lua_pushstring(L, nl::type_name(check_column(L, 1).type()));
  return 1;
}

int c_missing(lua_State* L) {
  lua_pushinteger(L, static_cast<lua_Integer>(check_column(L, 1).missing_count()));
  return 1;
}

int c_isna(lua_State* L) {
  const Column& c = check_column(L, 1);
  return push_new<const Column>(L, [&] { return nl::missing_mask(c); });
}

int c_to_table(lua_State* L) {
  const Column& c = check_column(L, 1);
  lua_createtable(L, static_cast<int>(c.size()), 0);
  for (std::size_t i = 0; i < c.size(); ++i) {
    push_cell(L, c, i, true);
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  return 1;
}

int c_matrix(lua_State* L) {
  const ColumnPtr& c = check_shared<const Column>(L, 1);
  auto* slot = new_object<Matrix>(L);
  return protect(L, [&] {
    Table t;
    t.set(c);
    *slot = std::make_shared<Matrix>(nl::to_matrix(t, {}, false).X);
    return 1;
  });
}

int c_unique(lua_State* L) {
  const Column& c = check_column(L, 1);
  return protect(L, [&] {
    const auto values = nl::unique(c);
    lua_createtable(L, static_cast<int>(values.size()), 0);
    for (std::size_t k = 0; k < values.size(); ++k) {
      push_cell_value(L, values[k]);
      lua_rawseti(L, -2, static_cast<lua_Integer>(k + 1));
    }
    return 1;
  });
}

// c:count() -> {value = count}; missing cells under nl.table.NA, NaN under "NaN"
// (a Lua table cannot have a NaN key).
int c_count(lua_State* L) {
  const Column& c = check_column(L, 1);
  return protect(L, [&] {
    const auto counts = nl::value_counts(c);
    lua_createtable(L, 0, static_cast<int>(counts.size()));
    for (const auto& [value, n] : counts) {
      const double* x = std::get_if<double>(&value);
      if (x && *x != *x) lua_pushliteral(L, "NaN");
      else push_cell_value(L, value);
      lua_pushinteger(L, static_cast<lua_Integer>(n));
      lua_rawset(L, -3);
    }
    return 1;
  });
}

int reduction(lua_State* L, nl::Reduction r) {
  const Column& c = check_column(L, 1);
  return protect(L, [&] {
    push_number(L, nl::reduce(c, r));
    return 1;
  });
}

int c_sum(lua_State* L) { return reduction(L, nl::Reduction::Sum); }
int c_mean(lua_State* L) { return reduction(L, nl::Reduction::Mean); }
int c_std(lua_State* L) { return reduction(L, nl::Reduction::Std); }
int c_min(lua_State* L) { return reduction(L, nl::Reduction::Min); }
int c_max(lua_State* L) { return reduction(L, nl::Reduction::Max); }

// Shared body of c:eq(v) ... c:ge(v): v is a value or a Column of the same length.
int compare(lua_State* L, nl::CompareOp op) {
  const Column& c = check_column(L, 1);
  luaL_checkany(L, 2);
  const Column* other = test<const Column>(L, 2);
  return push_new<const Column>(L, [&] {
    if (other) return blame(2, [&] { return nl::compare(c, *other, op); });
    Cell v;
    if (!to_cell(L, 2, v)) fail(2, fmt::format("cannot compare a Column with a {}", type_label(L, 2)));
    return blame(2, [&] { return nl::compare(c, v, op); });
  });
}

int c_eq(lua_State* L) { return compare(L, nl::CompareOp::Eq); }
int c_ne(lua_State* L) { return compare(L, nl::CompareOp::Ne); }
int c_lt(lua_State* L) { return compare(L, nl::CompareOp::Lt); }
int c_le(lua_State* L) { return compare(L, nl::CompareOp::Le); }
int c_gt(lua_State* L) { return compare(L, nl::CompareOp::Gt); }
int c_ge(lua_State* L) { return compare(L, nl::CompareOp::Ge); }

int na_tostring(lua_State* L) {
  lua_pushliteral(L, "NA");
  return 1;
}

// ---------------------------------------------------------------- registration

const luaL_Reg functions[] = {
    {"read", read},
    {"parse", parse},
    {"new", make},
    {nullptr, nullptr},
};

const luaL_Reg table_methods[] = {
    {"nrows", t_nrows},   {"ncols", t_ncols}, {"columns", t_columns}, {"types", t_types},
    {"column", t_column}, {"select", t_select}, {"filter", t_filter}, {"where", t_where},
    {"sort", t_sort},     {"join", t_join},   {"matrix", t_matrix},   {"write", t_write},
    {"head", t_head},     {"take", t_take},   {"row", t_row},         {"rows", t_rows},
    {nullptr, nullptr},
};

const luaL_Reg table_metamethods[] = {
    {"__index", t_index}, {"__newindex", t_newindex}, {"__len", t_len}, {"__tostring", t_tostring},
    {"__fields", t_columns},  // the fields of a Table are its columns
    {nullptr, nullptr},
};

const luaL_Reg column_methods[] = {
    {"name", c_name},     {"type", c_type},       {"to_table", c_to_table}, {"matrix", c_matrix},
    {"missing", c_missing}, {"isna", c_isna},     {"unique", c_unique},     {"count", c_count},
    {"sum", c_sum},       {"mean", c_mean},       {"std", c_std},           {"min", c_min},
    {"max", c_max},       {"eq", c_eq},           {"ne", c_ne},             {"lt", c_lt},
    {"le", c_le},         {"gt", c_gt},           {"ge", c_ge},             {nullptr, nullptr},
};

const luaL_Reg column_metamethods[] = {
    {"__index", c_index}, {"__fields", no_fields}, {"__newindex", c_newindex}, {"__len", c_len}, {"__tostring", c_tostring},
    {"__add", c_add},     {"__sub", c_sub},           {"__mul", c_mul}, {"__div", c_div},
    {"__unm", c_unm},     {"__band", c_band},         {"__bor", c_bor}, {"__bnot", c_bnot},
    {nullptr, nullptr},
};

}  // namespace

int open_table(lua_State* L) {
  register_type<Table>(L, table_methods, table_metamethods);
  register_type<const Column>(L, column_methods, column_metamethods);
  open_table_explore(L);

  // The NA sentinel: one zero-size userdata per state, printed as "NA", without fields
  // or methods.
  luaL_newmetatable(L, kNAType);
  const luaL_Reg na_metamethods[] = {
      {"__tostring", na_tostring}, {"__index", methods_only_index}, {"__fields", no_fields}, {nullptr, nullptr}};
  set_bindings(L, na_metamethods);
  lua_newtable(L);
  lua_setfield(L, -2, "__methods");
  protect_metatable(L);
  lua_pop(L, 1);
  lua_newuserdatauv(L, 0, 0);
  luaL_setmetatable(L, kNAType);
  lua_setfield(L, LUA_REGISTRYINDEX, kNAValue);

  lua_newtable(L);
  set_bindings(L, functions);
  push_na(L);
  lua_setfield(L, -2, "NA");
  return 1;
}

}  // namespace nl::bind

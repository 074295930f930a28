// explore.cpp: the data-exploration methods of nl.table: Table:describe, group_by,
// pivot, melt, format and print, Column:value_counts, and the GroupBy type
// ("neurolua.GroupBy"). The engine side is nl/table/explore.hpp.
//
// As in table.cpp, Lua values are read inside protect() with raw accessors only; a bad
// value throws ArgError.
#include "explore.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "core/args.hpp"
#include "core/common.hpp"
#include "core/fields.hpp"
#include "core/terminal.hpp"
#include "core/types.hpp"
#include "glue.hpp"
#include "nl/table/explore.hpp"
#include "nl/table/table.hpp"

namespace nl::bind {

template <>
struct TypeName<nl::GroupBy> {
  static constexpr const char* value = "neurolua.GroupBy";
};

namespace {

using nl::Column;
using nl::Table;
using namespace table_glue;

// ---------------------------------------------------------------- option readers

// The names at field `key` of the options table at idx: a string or a list of strings
// (an empty vector when absent).
std::vector<std::string> names_option(lua_State* L, int idx, const char* key, int arg) {
  std::vector<std::string> names;
  const int t = push_option(L, idx, key);
  if (t == LUA_TSTRING) {
    names.push_back(lua_string(L, -1));
  } else if (t == LUA_TTABLE) {
    const int list = lua_gettop(L);
    for (lua_Integer k = 1, n = static_cast<lua_Integer>(lua_rawlen(L, list)); k <= n; ++k) {
      if (lua_rawgeti(L, list, k) != LUA_TSTRING)
        fail(arg, fmt::format("option '{}': entry {} is a {}, expected a column name", key, k, luaL_typename(L, -1)));
      names.push_back(lua_string(L, -1));
      lua_pop(L, 1);
    }
  } else if (t != LUA_TNIL) {
    fail(arg, fmt::format("option '{}' must be a column name or a list of names, got {}", key, luaL_typename(L, -1)));
  }
  lua_pop(L, 1);
  return names;
}

// Field `key`: a string, or def when absent (required: absent is an error).
std::string string_option(lua_State* L, int idx, const char* key, int arg, const char* def, bool required = false) {
  const int t = push_option(L, idx, key);
  std::string s = def;
  if (t == LUA_TSTRING) s = lua_string(L, -1);
  else if (t == LUA_TNIL && required) fail(arg, fmt::format("option '{}' is required", key));
  else if (t != LUA_TNIL) fail(arg, fmt::format("option '{}' must be a string, got {}", key, luaL_typename(L, -1)));
  lua_pop(L, 1);
  return s;
}

constexpr const char* kAggNames[] = {"count", "sum", "mean", "std", "var", "min", "max",
                                     "median", "first", "last", "n_missing", "n_unique"};

// The aggregation function called `name`; an unknown name throws ArgError at `arg`,
// starting with `what`, with a did-you-mean and the list of functions.
nl::AggFn agg_function(const std::string& name, const std::string& what, int arg) {
  if (const auto fn = nl::agg_from_name(name)) return *fn;
  std::vector<std::string_view> all(std::begin(kAggNames), std::end(kAggNames));
  const std::string best = closest_name(name, all);
  std::string list;
  for (const char* a : kAggNames) list += (list.empty() ? "" : ", ") + std::string(a);
  fail(arg, fmt::format("{}: unknown function {}{} (one of: {})", what, nl::detail::quoted(name),
                        best.empty() ? "" : "; did you mean '" + best + "'?", list));
}

// The width and row limits of t:format / t:print from the options at idx (0: none).
struct FormatLimits {
  int width;
  int rows;
};

int limit_of(double x) { return std::isinf(x) ? INT_MAX : static_cast<int>(std::min(x, double(INT_MAX))); }

FormatLimits format_limits(lua_State* L, int idx) {
  FormatLimits f{terminal_size().columns, 10};
  if (idx == 0) return f;
  check_options(L, idx, "format", {"width", "rows", "all"});
  if (opt_boolean(L, idx, "all", false)) f = {INT_MAX, INT_MAX};
  f.width = limit_of(opt_number(L, idx, "width", 20, HUGE_VAL, f.width));
  f.rows = limit_of(opt_number(L, idx, "rows", 2, HUGE_VAL, f.rows));
  return f;
}

// ---------------------------------------------------------------- Table methods

// t:describe([{percentiles = {0.25, 0.5, 0.75}}])
int t_describe(lua_State* L) {
  const Table& t = check<Table>(L, 1);
  check_options(L, 2, "describe", {"percentiles"});
  const int opts = lua_isnoneornil(L, 2) ? 0 : 2;
  return push_new<Table>(L, [&] {
    std::vector<double> ps = {0.25, 0.5, 0.75};
    if (opts && push_option(L, opts, "percentiles") != LUA_TNIL) {
      const int list = lua_gettop(L);
      if (lua_type(L, list) != LUA_TTABLE) fail(2, "option 'percentiles' must be a list of numbers in [0, 1]");
      ps.clear();
      for (lua_Integer k = 1, n = static_cast<lua_Integer>(lua_rawlen(L, list)); k <= n; ++k) {
        if (lua_rawgeti(L, list, k) != LUA_TNUMBER)
          fail(2, fmt::format("option 'percentiles': entry {} is a {}, expected a number in [0, 1]", k,
                              luaL_typename(L, -1)));
        ps.push_back(lua_tonumber(L, -1));
        lua_pop(L, 1);
      }
    }
    if (opts) lua_pop(L, 1);  // the option's value: the new Table must be on top
    return blame(2, [&] { return nl::describe(t, ps); });
  });
}

// t:group_by(key, ... | {keys} [, {sort = true}])
int t_group_by(lua_State* L) {
  const Table& t = check<Table>(L, 1);
  int last = lua_gettop(L), opts = 0;
  if (lua_type(L, 2) == LUA_TTABLE) {
    if (last >= 3) opts = 3;
    last = 2;
  } else {
    luaL_checkstring(L, 2);
    if (lua_type(L, last) == LUA_TTABLE) opts = last--;
  }
  if (opts) check_options(L, opts, "group_by", {"sort"});
  const bool sorted = opts ? opt_boolean(L, opts, "sort", true) : true;
  return push_new<nl::GroupBy>(L, [&] {
    const auto keys = read_names(L, 2, last, 2);
    return blame(2, [&] { return nl::GroupBy(t, keys, sorted); });
  });
}

// t:pivot{index = ..., columns = ..., values = ... [, agg = "mean"] [, prefix = ""]}
int t_pivot(lua_State* L) {
  const Table& t = check<Table>(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  check_options(L, 2, "pivot", {"index", "columns", "values", "agg", "prefix"});
  return push_new<Table>(L, [&] {
    nl::PivotOptions o;
    o.index = names_option(L, 2, "index", 2);
    if (o.index.empty()) fail(2, "option 'index' is required (the column(s) that identify a row of the result)");
    o.columns = string_option(L, 2, "columns", 2, "", true);
    o.values = string_option(L, 2, "values", 2, "", true);
    o.prefix = string_option(L, 2, "prefix", 2, "");
    const std::string agg = string_option(L, 2, "agg", 2, "");
    if (!agg.empty()) o.agg = agg_function(agg, "pivot: option 'agg'", 2);
    return blame(2, [&] { return nl::pivot(t, o); });
  });
}

// t:melt{id = ... [, values = ...] [, variable = "variable"] [, value = "value"]}
int t_melt(lua_State* L) {
  const Table& t = check<Table>(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  check_options(L, 2, "melt", {"id", "values", "variable", "value"});
  return push_new<Table>(L, [&] {
    nl::MeltOptions o;
    o.id = names_option(L, 2, "id", 2);
    o.values = names_option(L, 2, "values", 2);
    o.variable = string_option(L, 2, "variable", 2, "variable");
    o.value = string_option(L, 2, "value", 2, "value");
    return blame(2, [&] { return nl::melt(t, o); });
  });
}

// t:format([{width =, rows =, all =}]) -> the preview text.
int t_format(lua_State* L) {
  const Table& t = check<Table>(L, 1);
  const FormatLimits f = format_limits(L, lua_isnoneornil(L, 2) ? 0 : 2);
  return protect(L, [&] {
    const std::string s = nl::format_table(t, f.rows, f.width);
    lua_pushlstring(L, s.data(), s.size());
    return 1;
  });
}

// t:print([options]): print(t:format(options)), through the global print.
int t_print(lua_State* L) {
  check<Table>(L, 1);
  lua_settop(L, 2);
  lua_getglobal(L, "print");
  push_binding(L, t_format);
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  lua_call(L, 2, 1);
  lua_call(L, 1, 0);
  return 0;
}

// ---------------------------------------------------------------- Column methods

// c:value_counts([{dropna = true, sort = "count" | "value"}])
int c_value_counts(lua_State* L) {
  const Column& c = check<const Column>(L, 1);
  check_options(L, 2, "value_counts", {"dropna", "sort"});
  nl::ValueCountOptions o;
  if (!lua_isnoneornil(L, 2)) {
    o.dropna = opt_boolean(L, 2, "dropna", true);
    o.order = opt_choice(L, 2, "sort", {"count", "value"}, 0) == 1 ? nl::CountOrder::Value : nl::CountOrder::Count;
  }
  return push_new<Table>(L, [&] { return nl::value_counts_table(c, o); });
}

// ---------------------------------------------------------------- GroupBy

const nl::GroupBy& check_groups(lua_State* L) { return check<nl::GroupBy>(L, 1); }

int g_ngroups(lua_State* L) {
  lua_pushinteger(L, static_cast<lua_Integer>(check_groups(L).ngroups()));
  return 1;
}

int g_keys(lua_State* L) {
  const nl::GroupBy& g = check_groups(L);
  return push_new<Table>(L, [&] { return g.key_table(); });
}

int g_size(lua_State* L) {
  const nl::GroupBy& g = check_groups(L);
  return push_new<Table>(L, [&] { return g.sizes(); });
}

int g_count(lua_State* L) {
  const nl::GroupBy& g = check_groups(L);
  return push_new<Table>(L, [&] { return g.counts(); });
}

// g:group(i) -> the rows of group i (1-based, in the order of g:keys()).
int g_group(lua_State* L) {
  const nl::GroupBy& g = check_groups(L);
  const lua_Integer i = check_range(L, 2, 1, static_cast<lua_Integer>(g.ngroups()), "group");
  return push_new<Table>(L, [&] { return g.group(static_cast<std::size_t>(i - 1)); });
}

// One {column, fn} pair at stack index v, for the output `name`.
nl::Aggregation read_aggregation(lua_State* L, int v, std::string name, int first) {
  const std::string what = fmt::format("agg {}", nl::detail::quoted(name));
  nl::Aggregation a;
  a.name = std::move(name);
  if (lua_rawgeti(L, v, first) != LUA_TSTRING || lua_rawgeti(L, v, first + 1) != LUA_TSTRING ||
      static_cast<lua_Integer>(lua_rawlen(L, v)) != first + 1)
    fail(2, fmt::format("{}: expected {{column, function}}, e.g. {{\"age\", \"mean\"}}", what));
  a.column = lua_string(L, -2);
  a.fn = agg_function(lua_string(L, -1), what, 2);
  lua_pop(L, 2);
  return a;
}

// g:agg{ {name, column, fn}, ..., name = {column, fn}, ... }: the listed outputs in
// order, then the named ones sorted by name (a Lua table does not keep their order).
int g_agg(lua_State* L) {
  const nl::GroupBy& g = check_groups(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  return push_new<Table>(L, [&] {
    std::vector<nl::Aggregation> listed, named;
    const auto n = static_cast<lua_Integer>(lua_rawlen(L, 2));
    for (lua_Integer k = 1; k <= n; ++k) {
      if (lua_rawgeti(L, 2, k) != LUA_TTABLE || lua_rawgeti(L, -1, 1) != LUA_TSTRING)
        fail(2, fmt::format("entry {}: expected {{name, column, function}}, e.g. {{\"mean_age\", \"age\", \"mean\"}}",
                            k));
      std::string name = lua_string(L, -1);
      lua_pop(L, 1);
      listed.push_back(read_aggregation(L, lua_gettop(L), std::move(name), 2));
      lua_pop(L, 1);
    }
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
      if (lua_type(L, -2) == LUA_TSTRING) {
        if (lua_type(L, -1) != LUA_TTABLE)
          fail(2, fmt::format("agg {}: expected {{column, function}}, e.g. {{\"age\", \"mean\"}}, got {}",
                              nl::detail::quoted(lua_string(L, -2)), luaL_typename(L, -1)));
        named.push_back(read_aggregation(L, lua_gettop(L), lua_string(L, -2), 1));
      } else if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1 || lua_tointeger(L, -2) > n) {
        fail(2, "keys must be output names or list positions");
      }
      lua_pop(L, 1);
    }
    if (listed.empty() && named.empty()) fail(2, "no aggregations given");
    std::sort(named.begin(), named.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    listed.insert(listed.end(), named.begin(), named.end());
    return blame(2, [&] { return g.aggregate(listed); });
  });
}

int g_len(lua_State* L) { return g_ngroups(L); }

// "GroupBy by group, sex: 6 groups, 1 to 9 rows each" and the sizes table.
int g_tostring(lua_State* L) {
  const nl::GroupBy& g = check_groups(L);
  const int width = terminal_size().columns;
  return protect(L, [&] {
    std::string keys;
    for (const auto& k : g.keys()) keys += (keys.empty() ? "" : ", ") + k;
    std::size_t lo = 0, hi = 0;
    for (std::size_t i = 0; i < g.ngroups(); ++i) {
      const std::size_t s = g.rows(i).size();
      lo = i == 0 ? s : std::min(lo, s);
      hi = std::max(hi, s);
    }
    std::string s = fmt::format("GroupBy by {}: {} group{}", keys, g.ngroups(), g.ngroups() == 1 ? "" : "s");
    if (g.ngroups() > 0) s += lo == hi ? fmt::format(" of {} rows", lo) : fmt::format(", {} to {} rows each", lo, hi);
    s += g.sorted() ? " (sorted by key)" : " (in order of appearance)";
    if (g.ngroups() > 0) {
      std::string sizes = nl::format_table(g.sizes(), 10, width);
      sizes.erase(sizes.rfind('\n'));  // the sizes table's own [Table ...] line
      s += "\n" + sizes;
    }
    s += fmt::format("\n[GroupBy {} group{} by {}]", g.ngroups(), g.ngroups() == 1 ? "" : "s", keys);
    lua_pushlstring(L, s.data(), s.size());
    return 1;
  });
}

const luaL_Reg table_methods[] = {
    {"describe", t_describe}, {"group_by", t_group_by}, {"pivot", t_pivot}, {"melt", t_melt},
    {"format", t_format},     {"print", t_print},       {nullptr, nullptr},
};

const luaL_Reg column_methods[] = {
    {"value_counts", c_value_counts},
    {nullptr, nullptr},
};

const luaL_Reg groupby_methods[] = {
    {"ngroups", g_ngroups}, {"keys", g_keys}, {"size", g_size}, {"count", g_count},
    {"agg", g_agg},         {"group", g_group}, {nullptr, nullptr},
};

const luaL_Reg groupby_metamethods[] = {
    {"__index", methods_only_index}, {"__fields", no_fields}, {"__len", g_len}, {"__tostring", g_tostring},
    {nullptr, nullptr},
};

// Adds `methods` to the __methods table of the metatable `type`.
void add_methods(lua_State* L, const char* type, const luaL_Reg* methods) {
  luaL_getmetatable(L, type);
  lua_getfield(L, -1, "__methods");
  set_bindings(L, methods);
  lua_pop(L, 2);
}

}  // namespace

void open_table_explore(lua_State* L) {
  add_methods(L, TypeName<Table>::value, table_methods);
  add_methods(L, TypeName<const Column>::value, column_methods);
  register_type<nl::GroupBy>(L, groupby_methods, groupby_metamethods);
}

}  // namespace nl::bind

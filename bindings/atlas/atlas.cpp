// atlas.cpp: nl.atlas, the Lua face of nl::Atlas ("neurolua.Atlas"), plus the readers
// of regional-value tables.
//
// Regions are numbered 1..#atlas in label-table order. Notices from the engine (the
// atlas resampled to an image grid, regions without voxels) are printed to stderr as
// one line each, prefixed "notice: ".
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/args.hpp"
#include "core/common.hpp"
#include "core/fields.hpp"
#include "core/types.hpp"
#include "nl/atlas/atlas.hpp"
#include "nl/image/image.hpp"
#include "nl/core/linalg.hpp"
#include "nl/table/table.hpp"

namespace nl::bind {

namespace {

using nl::Atlas;
using nl::Matrix;
using nl::Table;
using nl::Volume;

// ---------------------------------------------------------------- helpers

void print_notices(const std::vector<std::string>& notices) {
  for (const auto& n : notices) std::fprintf(stderr, "notice: %s\n", n.c_str());
  std::fflush(stderr);
}

// ---------------------------------------------------------------- module functions

// nl.atlas.load(name_or_path [, labels_path] [, {strict = true}]) -> Atlas
int load(lua_State* L) {
  const char* what = luaL_checkstring(L, 1);
  int opts = 0;
  const char* labels = "";
  if (lua_type(L, 2) == LUA_TTABLE) {
    opts = 2;
  } else {
    if (!lua_isnoneornil(L, 2)) labels = luaL_checkstring(L, 2);
    if (!lua_isnoneornil(L, 3)) {
      luaL_checktype(L, 3, LUA_TTABLE);
      opts = 3;
    }
  }
  nl::AtlasOptions o;
  if (opts) {
    check_options(L, opts, "load", {"strict"});
    o.strict = opt_boolean(L, opts, "strict", o.strict);
  }
  auto* slot = new_object<Atlas>(L);
  return protect(L, [&] {
    *slot = nl::load_atlas(what, labels, o);
    print_notices((*slot)->notices());
    return 1;
  });
}

// nl.atlas.available() -> Table (name, installed, image, labels, description)
int available(lua_State* L) {
  return push_new<Table>(L, [] {
    std::vector<std::string> names, images, labels, descriptions;
    std::vector<std::uint8_t> installed;
    for (const auto& e : nl::known_atlases()) {
      names.push_back(e.name);
      installed.push_back(e.installed);
      images.push_back(e.image);
      labels.push_back(e.labels.empty() ? "(built in)" : e.labels);
      descriptions.push_back(e.description);
    }
    Table t;
    t.set(std::make_shared<const nl::Column>(nl::Column::strings("name", names)));
    t.set(std::make_shared<const nl::Column>(nl::Column::bools("installed", installed)));
    t.set(std::make_shared<const nl::Column>(nl::Column::strings("image", images)));
    t.set(std::make_shared<const nl::Column>(nl::Column::strings("labels", labels)));
    t.set(std::make_shared<const nl::Column>(nl::Column::strings("description", descriptions)));
    return t;
  });
}

// nl.atlas.read_roi_table(path) -> Table (subject, region columns...)
int read_roi_table(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  return push_new<Table>(L, [&] { return nl::read_roi_table(path); });
}

// nl.atlas.read_labels(path) -> Table (index, name)
int read_labels(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  return push_new<Table>(L, [&] {
    std::vector<double> index;
    std::vector<std::string> names;
    for (const auto& r : nl::read_labels(path)) {
      index.push_back(static_cast<double>(r.index));
      names.push_back(r.name);
    }
    Table t;
    t.set(std::make_shared<const nl::Column>(nl::Column::numbers("index", index)));
    t.set(std::make_shared<const nl::Column>(nl::Column::strings("name", names)));
    return t;
  });
}

// ---------------------------------------------------------------- methods

int a_regions(lua_State* L) {
  const Atlas& a = check<Atlas>(L, 1);
  return push_new<Table>(L, [&] { return nl::regions_table(a); });
}

int a_names(lua_State* L) {
  const Atlas& a = check<Atlas>(L, 1);
  return protect(L, [&] {
    std::vector<std::string> names;
    for (const auto& r : a.regions()) names.push_back(r.name);
    push_strings(L, names);
    return 1;
  });
}

// atlas:find(pattern) -> Table of the regions whose name matches the Lua pattern,
// ignoring case. Matching runs through string.find before any C++ object exists.
int a_find(lua_State* L) {
  const Atlas& a = check<Atlas>(L, 1);
  std::size_t plen = 0;
  const char* pattern = luaL_checklstring(L, 2, &plen);
  // The pattern in lower case, except the letter after '%' (a class like %S).
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (std::size_t i = 0; i < plen; ++i) {
    luaL_addchar(&b, static_cast<char>(std::tolower(static_cast<unsigned char>(pattern[i]))));
    if (pattern[i] == '%' && i + 1 < plen) luaL_addchar(&b, pattern[++i]);
  }
  luaL_pushresult(&b);
  const int lowered = lua_gettop(L);
  lua_newtable(L);  // matching positions (0-based)
  const int hits = lua_gettop(L);
  lua_Integer n = 0;
  for (std::size_t r = 0; r < a.size(); ++r) {
    lua_getglobal(L, "string");
    lua_getfield(L, -1, "find");
    lua_getfield(L, -2, "lower");
    lua_pushstring(L, a.regions()[r].name.c_str());
    lua_call(L, 1, 1);  // string.lower(name)
    lua_pushvalue(L, lowered);
    lua_call(L, 2, 1);  // string.find(lower(name), pattern)
    if (!lua_isnil(L, -1)) {
      lua_pushinteger(L, static_cast<lua_Integer>(r));
      lua_rawseti(L, hits, ++n);
    }
    lua_pop(L, 2);
  }
  return push_new<Table>(L, [&] {
    std::vector<std::size_t> positions(static_cast<std::size_t>(n));
    for (lua_Integer k = 1; k <= n; ++k) {
      lua_rawgeti(L, hits, k);
      positions[static_cast<std::size_t>(k - 1)] = static_cast<std::size_t>(lua_tointeger(L, -1));
      lua_pop(L, 1);
    }
    return nl::regions_table(a, positions);
  });
}

// atlas:summarize(volumes [, stat]) -> Table (one row per volume, one column per region)
int a_summarize(lua_State* L) {
  const nl::SummaryStat codes[] = {nl::SummaryStat::Mean, nl::SummaryStat::Sum, nl::SummaryStat::Median,
                                   nl::SummaryStat::VolumeMl};
  const Atlas& a = check<Atlas>(L, 1);
  const int n = check_volume_list(L, 2, "summarize");
  const nl::SummaryStat stat =
      codes[as_option(L, 3, "stat", [&] { return opt_choice(L, 3, "stat", {"mean", "sum", "median", "volume_ml"}, 0); })];
  return push_new<Table>(L, [&] {
    std::vector<const Volume*> vols(static_cast<std::size_t>(n));
    for (int k = 0; k < n; ++k)
      if (!(vols[static_cast<std::size_t>(k)] = volume_at(L, 2, k)))
        throw ArgError(2, "the list of volumes changed while it was being read");
    nl::Summary s = nl::summarize(a, vols, stat);
    print_notices(s.notices);
    return std::move(s.table);
  });
}

// atlas:timeseries(v) -> frames x regions Matrix of region means
int a_timeseries(lua_State* L) {
  const Atlas& a = check<Atlas>(L, 1);
  const Volume& v = check<Volume>(L, 2);
  return push_new<Matrix>(L, [&] {
    std::vector<std::string> notices;
    Matrix m = nl::region_timeseries(a, v, notices);
    print_notices(notices);
    return m;
  });
}

// atlas:paint(values [, background]) -> Volume. values: a list of #atlas numbers, a
// Matrix with #atlas entries, a {name = value} map, or a one-row Table whose columns are
// region names (as atlas:summarize returns). Regions not given get the background.
int a_paint(lua_State* L) {
  const Atlas& a = check<Atlas>(L, 1);
  const double background = luaL_optnumber(L, 3, 0.0);
  const auto R = static_cast<lua_Integer>(a.size());
  enum { List, Map, FromMatrix, FromTable } kind;
  const Matrix* m = test<Matrix>(L, 2);
  const Table* t = test<Table>(L, 2);
  if (m) {
    kind = FromMatrix;
    if (m->size() != R)
      luaL_argerror(L, 2, lua_pushfstring(L, "the Matrix has %I entries, the atlas %I regions", (lua_Integer)m->size(), R));
  } else if (t) {
    kind = FromTable;
    if (t->nrows() != 1) luaL_argerror(L, 2, lua_pushfstring(L, "a one-row Table expected, got %I rows", (lua_Integer)t->nrows()));
  } else {
    luaL_checktype(L, 2, LUA_TTABLE);
    const lua_Integer len = luaL_len(L, 2);
    kind = len > 0 ? List : Map;
    if (kind == List) {
      if (len != R) luaL_argerror(L, 2, lua_pushfstring(L, "%I values given, the atlas has %I regions", len, R));
      for (lua_Integer k = 1; k <= len; ++k) {
        lua_rawgeti(L, 2, k);
        if (!lua_isnumber(L, -1)) luaL_argerror(L, 2, lua_pushfstring(L, "value %I is not a number", k));
        lua_pop(L, 1);
      }
    } else {
      lua_pushnil(L);
      while (lua_next(L, 2) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING || !lua_isnumber(L, -1))
          luaL_argerror(L, 2, "a {region_name = number} map expected");
        bool known = false;
        for (const auto& r : a.regions()) known = known || r.name == lua_tostring(L, -2);
        if (!known) luaL_argerror(L, 2, lua_pushfstring(L, "no region named '%s' (see atlas:find)", lua_tostring(L, -2)));
        lua_pop(L, 1);
      }
    }
  }
  return push_new<Volume>(L, [&] {
    std::vector<double> values(a.size(), background);
    const std::vector<std::string> columns = nl::region_column_names(a);
    for (std::size_t r = 0; r < a.size(); ++r) {
      switch (kind) {
        case FromMatrix: values[r] = m->data()[r]; break;
        case List:
          lua_rawgeti(L, 2, static_cast<lua_Integer>(r + 1));
          values[r] = lua_tonumber(L, -1);
          lua_pop(L, 1);
          break;
        case Map:
          lua_pushstring(L, a.regions()[r].name.c_str());
          if (lua_rawget(L, 2) != LUA_TNIL) values[r] = lua_tonumber(L, -1);
          lua_pop(L, 1);
          break;
        case FromTable:
          if (const auto* c = t->find(columns[r]); c && !(*c)->is_missing(0)) values[r] = (*c)->numeric(0);
          break;
      }
    }
    return nl::paint(a, values, background);
  });
}

// atlas:volume() -> the label image as a Volume (a copy).
int a_volume(lua_State* L) {
  const Atlas& a = check<Atlas>(L, 1);
  return push_new<Volume>(L, [&] { return a.label_volume(); });
}

int a_name(lua_State* L) {
  lua_pushstring(L, check<Atlas>(L, 1).name().c_str());
  return 1;
}

int a_len(lua_State* L) {
  lua_pushinteger(L, static_cast<lua_Integer>(check<Atlas>(L, 1).size()));
  return 1;
}

int a_tostring(lua_State* L) {
  const Atlas& a = check<Atlas>(L, 1);
  return protect(L, [&] {
    const std::string s = fmt::format("[Atlas {}: {} regions, {}, {}]", a.name(), a.size(), a.labels().grid().describe(),
                                      a.labels().grid().orientation());
    lua_pushlstring(L, s.data(), s.size());
    return 1;
  });
}

// ---------------------------------------------------------------- registration

const luaL_Reg functions[] = {
    {"load", load},
    {"available", available},
    {"read_roi_table", read_roi_table},
    {"read_labels", read_labels},
    {nullptr, nullptr},
};

const luaL_Reg methods[] = {
    {"regions", a_regions},
    {"names", a_names},
    {"find", a_find},
    {"summarize", a_summarize},
    {"timeseries", a_timeseries},
    {"paint", a_paint},
    {"volume", a_volume},
    {"name", a_name},
    {"plot", atlas_plot},
    {nullptr, nullptr},
};

const luaL_Reg metamethods[] = {
    {"__index", methods_only_index},
    {"__fields", no_fields},
    {"__len", a_len},
    {"__tostring", a_tostring},
    {nullptr, nullptr},
};

}  // namespace

// Pushes the nl.atlas module table.
int open_atlas(lua_State* L) {
  register_type<Atlas>(L, methods, metamethods);
  lua_newtable(L);
  set_bindings(L, functions);
  return 1;
}

}  // namespace nl::bind

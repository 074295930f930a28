// plot/slices.cpp: brain-slice figures, nl.plot.brain and the methods Volume:plot and
// Atlas:plot (engine: nl/plot/slices.hpp).
//
// The options are read and checked first into a trivially destructible record (Args),
// so every Lua error is raised before a C++ object exists; the engine's BrainOptions is
// built inside protect(), where the lists (slices, peaks) are read with calls that do
// not raise.
#include <cmath>
#include <cstdlib>
#include <string>

#include "core/args.hpp"
#include "core/common.hpp"
#include "core/types.hpp"
#include "nl/plot/slices.hpp"

namespace nl::bind {

namespace {

using nl::Volume;
namespace plot = nl::plot;

// ---------------------------------------------------------------- reading the options

struct Args {
  int path = 1, map = 2, opts = 3;  // stack positions
  const Volume* map_volume = nullptr;
  const char* map_path = nullptr;
  bool labels = false;

  int display = 0;
  bool has_coords = false;
  double coords[3] = {0, 0, 0};
  lua_Integer n_slices = 12;
  int slices_list = 0;  // 1: opts.slices is a list of z
  lua_Integer columns = 0;
  lua_Integer frame = 0;  // 1-based; 0: none

  double threshold = 0;
  bool has_vmin = false, has_vmax = false;
  double vmin = 0, vmax = 0;
  const char* cmap = nullptr;
  bool colorbar = true;
  double alpha = 1;

  plot::Background bg = plot::Background::Template;
  const Volume* bg_volume = nullptr;
  const char* bg_path = nullptr;
  bool has_bg_vmin = false, has_bg_vmax = false;
  double bg_vmin = 0, bg_vmax = 0;

  const char* title = nullptr;
  double width = 0, height = 0, dpi = 100, font_size = 9;
  bool annotate = true;

  int peaks = 0;  // 0 none, 1 a list of {x, y, z}, 2 a Table with columns x, y, z
  const nl::Table* peaks_table = nullptr;
  const Volume* contours = nullptr;
};

// Raises "bad argument #opts to 'f' (option 'key' must be ...)".
[[noreturn]] void bad_option(lua_State* L, const Args& a, const char* key, const char* must) {
  luaL_argerror(L, a.opts, lua_pushfstring(L, "option '%s' must be %s, got %s", key, must, luaL_typename(L, -1)));
  std::abort();  // not reached: luaL_argerror longjmps
}

// Pushes opts[key] (nil when there are no options).
int field(lua_State* L, const Args& a, const char* key) {
  if (lua_isnoneornil(L, a.opts)) {
    lua_pushnil(L);
    return LUA_TNIL;
  }
  return lua_getfield(L, a.opts, key);
}

// An optional number field: sets *out and returns true when present.
bool opt_present_number(lua_State* L, const Args& a, const char* key, double* out) {
  const int t = field(L, a, key);
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return false;
  }
  if (t != LUA_TNUMBER || !std::isfinite(lua_tonumber(L, -1))) bad_option(L, a, key, "a finite number");
  *out = lua_tonumber(L, -1);
  lua_pop(L, 1);
  return true;
}

// A string field, or nullptr. The string is kept alive for the rest of the call.
const char* opt_string(lua_State* L, const Args& a, const char* key) {
  const int t = field(L, a, key);
  const char* s = nullptr;
  if (t == LUA_TSTRING)
    s = lua_tostring(L, -1);
  else if (t != LUA_TNIL)
    bad_option(L, a, key, "a string");
  keep_alive(L, -1);
  lua_pop(L, 1);
  return s;
}

// Reads three numbers from the list at idx; false when it is not such a list.
bool read_xyz(lua_State* L, int idx, double out[3]) {
  if (!lua_istable(L, idx) || luaL_len(L, idx) != 3) return false;
  for (int k = 0; k < 3; ++k) {
    const int t = lua_rawgeti(L, idx, k + 1);
    out[k] = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (t != LUA_TNUMBER || !std::isfinite(out[k])) return false;
  }
  return true;
}

void read_options(lua_State* L, Args& a, const char* what) {
  if (!lua_isnoneornil(L, a.opts)) luaL_checktype(L, a.opts, LUA_TTABLE);
  check_options(L, a.opts, what,
                {"display", "coords", "slices", "columns", "frame", "threshold", "vmin", "vmax", "cmap", "colorbar",
                 "bg", "bg_vmin", "bg_vmax", "alpha", "title", "width", "height", "dpi", "font_size", "annotate",
                 "peaks", "contours"});
  a.display = opt_choice(L, a.opts, "display", {"ortho", "x", "y", "z", "lightbox", "glass"}, 0);

  // coords: {x, y, z}; a single number for the one-view displays.
  int t = field(L, a, "coords");
  if (t == LUA_TNUMBER && a.display >= 1 && a.display <= 3) {
    a.has_coords = true;
    a.coords[a.display - 1] = lua_tonumber(L, -1);
  } else if (t != LUA_TNIL) {
    if (!read_xyz(L, -1, a.coords))
      bad_option(L, a, "coords", a.display >= 1 && a.display <= 3 ? "{x, y, z} or a number (mm)" : "{x, y, z} (mm)");
    a.has_coords = true;
  }
  lua_pop(L, 1);

  // slices: a count or a list of z (lightbox only).
  t = field(L, a, "slices");
  if (t != LUA_TNIL && a.display != 4)
    luaL_argerror(L, a.opts, "option 'slices' applies to display = \"lightbox\"");
  if (t == LUA_TNUMBER) {
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > 400)
      bad_option(L, a, "slices", "a count between 1 and 400 or a list of z (mm)");
    a.n_slices = lua_tointeger(L, -1);
  } else if (t == LUA_TTABLE) {
    const lua_Integer n = luaL_len(L, -1);
    if (n < 1 || n > 400) bad_option(L, a, "slices", "a count between 1 and 400 or a list of z (mm)");
    for (lua_Integer k = 1; k <= n; ++k) {
      const int e = lua_rawgeti(L, -1, k);
      if (e != LUA_TNUMBER || !std::isfinite(lua_tonumber(L, -1)))
        bad_option(L, a, "slices", "a count or a list of z coordinates (numbers, mm)");
      lua_pop(L, 1);
    }
    a.slices_list = 1;
  } else if (t != LUA_TNIL) {
    bad_option(L, a, "slices", "a count or a list of z (mm)");
  }
  lua_pop(L, 1);
  a.columns = opt_integer(L, a.opts, "columns", 1, 100, 0);
  a.frame = opt_integer(L, a.opts, "frame", 1, LUA_MAXINTEGER, 0);

  a.threshold = opt_number(L, a.opts, "threshold", 0, HUGE_VAL, 0);
  a.has_vmin = opt_present_number(L, a, "vmin", &a.vmin);
  a.has_vmax = opt_present_number(L, a, "vmax", &a.vmax);
  a.cmap = opt_string(L, a, "cmap");
  a.colorbar = opt_boolean(L, a.opts, "colorbar", true);
  a.alpha = opt_number(L, a.opts, "alpha", 0, 1, 1);

  // bg: "template", a path, a Volume, or false.
  t = field(L, a, "bg");
  if (t == LUA_TBOOLEAN && !lua_toboolean(L, -1)) {
    a.bg = plot::Background::None;
  } else if (t == LUA_TSTRING) {
    if (std::string_view(lua_tostring(L, -1)) != "template") {
      a.bg = plot::Background::Image;
      a.bg_path = lua_tostring(L, -1);
    }
  } else if (t == LUA_TUSERDATA && test<Volume>(L, -1)) {
    a.bg = plot::Background::Image;
    a.bg_volume = test<Volume>(L, -1);
  } else if (t != LUA_TNIL) {
    bad_option(L, a, "bg", "\"template\", a Volume, a file name or false");
  }
  lua_pop(L, 1);
  a.has_bg_vmin = opt_present_number(L, a, "bg_vmin", &a.bg_vmin);
  a.has_bg_vmax = opt_present_number(L, a, "bg_vmax", &a.bg_vmax);

  a.title = opt_string(L, a, "title");
  a.width = opt_number(L, a.opts, "width", 0.5, 100, 0);
  a.height = opt_number(L, a.opts, "height", 0.5, 100, 0);
  a.dpi = opt_number(L, a.opts, "dpi", 10, 1200, 100);
  a.font_size = opt_number(L, a.opts, "font_size", 1, 200, 9);
  a.annotate = opt_boolean(L, a.opts, "annotate", true);

  // peaks: a list of {x, y, z}, or a Table with number columns x, y, z (cluster tables).
  t = field(L, a, "peaks");
  if (const nl::Table* tab = t == LUA_TUSERDATA ? test<nl::Table>(L, -1) : nullptr) {
    for (const char* c : {"x", "y", "z"}) {
      const nl::ColumnPtr* col = tab->find(c);
      if (!col || (*col)->type() != nl::ColumnType::Number)
        luaL_argerror(L, a.opts,
                      lua_pushfstring(L, "option 'peaks': the Table needs number columns x, y and z (mm); '%s' is %s", c,
                                      col ? "not a number column" : "missing"));
    }
    a.peaks = 2;
    a.peaks_table = tab;
  } else if (t == LUA_TTABLE) {
    const lua_Integer n = luaL_len(L, -1);
    for (lua_Integer k = 1; k <= n; ++k) {
      lua_rawgeti(L, -1, k);
      double xyz[3];
      const bool ok = read_xyz(L, -1, xyz);
      lua_pop(L, 1);
      if (!ok)
        luaL_argerror(L, a.opts,
                      lua_pushfstring(L, "option 'peaks': entry %I must be {x, y, z} (mm)", k));
    }
    a.peaks = 1;
  } else if (t != LUA_TNIL) {
    bad_option(L, a, "peaks", "a list of {x, y, z} or a Table with columns x, y, z");
  }
  lua_pop(L, 1);

  // contours: an Atlas or a label Volume.
  t = field(L, a, "contours");
  if (t == LUA_TUSERDATA && test<nl::Atlas>(L, -1)) {
    a.contours = &test<nl::Atlas>(L, -1)->labels();
  } else if (t == LUA_TUSERDATA && test<Volume>(L, -1)) {
    a.contours = test<Volume>(L, -1);
  } else if (t != LUA_TNIL) {
    bad_option(L, a, "contours", "an Atlas or a label Volume");
  }
  lua_pop(L, 1);
}

// ---------------------------------------------------------------- drawing

// Builds the engine's options from a (inside protect: reads lists without raising).
plot::BrainOptions brain_options(lua_State* L, const Args& a) {
  plot::BrainOptions o;
  o.display = static_cast<plot::SliceDisplay>(a.display);
  if (a.has_coords) o.coords = Eigen::Vector3d(a.coords[0], a.coords[1], a.coords[2]);
  o.n_slices = static_cast<int>(a.n_slices);
  if (a.slices_list) {
    lua_pushliteral(L, "slices");  // raw: no metamethod may raise inside protect()
    lua_rawget(L, a.opts);
    const auto n = static_cast<lua_Integer>(lua_rawlen(L, -1));
    for (lua_Integer k = 1; k <= n; ++k) {
      lua_rawgeti(L, -1, k);
      o.slices.push_back(lua_tonumber(L, -1));
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  o.columns = static_cast<int>(a.columns);
  if (a.frame > 0) o.frame = a.frame - 1;
  o.threshold = a.threshold;
  if (a.has_vmin) o.vmin = a.vmin;
  if (a.has_vmax) o.vmax = a.vmax;
  if (a.cmap) o.cmap = a.cmap;
  o.labels = a.labels;
  o.alpha = a.alpha;
  o.colorbar = a.colorbar;
  o.bg = a.bg;
  o.bg_volume = a.bg_volume;
  if (a.bg_path) o.bg_path = a.bg_path;
  if (a.has_bg_vmin) o.bg_vmin = a.bg_vmin;
  if (a.has_bg_vmax) o.bg_vmax = a.bg_vmax;
  if (a.title) o.title = a.title;
  o.width = a.width;
  o.height = a.height;
  o.dpi = a.dpi;
  o.font_size = a.font_size;
  o.annotate = a.annotate;
  if (a.peaks == 1) {
    lua_pushliteral(L, "peaks");
    lua_rawget(L, a.opts);
    const auto n = static_cast<lua_Integer>(lua_rawlen(L, -1));
    for (lua_Integer k = 1; k <= n; ++k) {
      lua_rawgeti(L, -1, k);
      Eigen::Vector3d p;
      for (int c = 0; c < 3; ++c) {
        lua_rawgeti(L, -1, c + 1);
        p(c) = lua_tonumber(L, -1);
        lua_pop(L, 1);
      }
      o.peaks.push_back(p);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  } else if (a.peaks == 2) {
    const nl::Column& x = *a.peaks_table->column("x");
    const nl::Column& y = *a.peaks_table->column("y");
    const nl::Column& z = *a.peaks_table->column("z");
    for (std::size_t r = 0; r < a.peaks_table->nrows(); ++r)
      if (!x.is_missing(r) && !y.is_missing(r) && !z.is_missing(r))
        o.peaks.emplace_back(x.number(r), y.number(r), z.number(r));
  }
  o.contours = a.contours;
  return o;
}

int draw(lua_State* L, const Args& a) {
  return protect(L, [&] {
    const plot::BrainOptions o = brain_options(L, a);
    const std::string path = lua_tostring(L, a.path);
    if (a.map_volume) {
      plot::plot_brain(path, *a.map_volume, o);
    } else {
      const Volume map = nl::load_volume(a.map_path);
      plot::plot_brain(path, map, o);
    }
    lua_pushvalue(L, a.path);
    return 1;
  });
}

// nl.plot.brain(path, map [, options]) -> path; map is a Volume or a NIfTI file name.
int brain(lua_State* L) {
  Args a;
  luaL_checkstring(L, 1);
  if (!(a.map_volume = test<Volume>(L, 2))) {
    if (lua_type(L, 2) != LUA_TSTRING) luaL_typeerror(L, 2, "neurolua.Volume or file name");
    a.map_path = lua_tostring(L, 2);
  }
  read_options(L, a, "brain");
  return draw(L, a);
}

}  // namespace

// Volume:plot(path [, options]) -> path
int volume_plot(lua_State* L) {
  Args a;
  a.map_volume = &check<Volume>(L, 1);
  a.map = 1;
  a.path = 2;
  luaL_checkstring(L, 2);
  read_options(L, a, "plot");
  return draw(L, a);
}

// Atlas:plot(path [, options]) -> path: the regions in colours (one per label, cycling
// through the category palette) over the template, without a colour bar.
int atlas_plot(lua_State* L) {
  Args a;
  a.map_volume = &check<nl::Atlas>(L, 1).labels();
  a.map = 1;
  a.path = 2;
  a.labels = true;
  luaL_checkstring(L, 2);
  read_options(L, a, "plot");
  return draw(L, a);
}

// Adds brain to the nl.plot table on the top of the stack.
void open_plot_slices(lua_State* L) {
  push_binding(L, brain);
  lua_setfield(L, -2, "brain");
}

}  // namespace nl::bind

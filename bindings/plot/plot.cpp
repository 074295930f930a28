// bindings/plot/plot.cpp: nl.plot, statistical charts written to PNG, SVG or PDF.
//
//   nl.plot.roc("roc.png", { fpr = r.fpr, tpr = r.tpr, auc = 0.72, ci = { 0.60, 0.84 } })
//   nl.plot.bars("fig2.svg", names, weights, { sign_colours = true, marks = significant })
//   nl.plot.figure{ path = "f.pdf", rows = 1, cols = 2, panels = { { kind = "histogram", values = null }, ... } }
//
// Every function writes one file and returns its path. Two phases, as everywhere in
// bindings/ (STYLE.md item 4): first the option keys of every table (check_options, with
// did-you-mean; raises Lua errors while nothing of C++ is alive), then, inside
// protect(), the values are read with raw accessors only (no metamethods, no luaL_*
// calls) into an nl::plot::Figure, and a bad value throws ArgError naming the argument.
#include <cmath>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/args.hpp"
#include "core/common.hpp"
#include "core/fields.hpp"
#include "core/types.hpp"
#include "nl/plot/chart.hpp"
#include "nl/plot/colormap.hpp"

namespace nl::bind {
namespace {

namespace pl = nl::plot;
using nl::Matrix;
using nl::Vector;

// The style options every function takes; panels of a figure take the per-panel ones.
#define NL_PANEL_STYLE "title", "xlabel", "ylabel", "cmap", "xlim", "ylim", "legend"
#define NL_STYLE NL_PANEL_STYLE, "width", "height", "dpi", "font_size"
#define NL_LINES_OPTS "diagonal"
#define NL_HIST_OPTS "bins", "observed", "p", "label_observed", "label_values"
#define NL_BARS_OPTS "horizontal", "sign_colours", "sign_labels", "errors", "marks"
#define NL_SCATTER_OPTS "fit", "groups", "annotate"
#define NL_BOX_OPTS "x", "y", "hue", "seed"
#define NL_HEAT_OPTS "labels", "row_labels", "col_labels", "vmin", "vmax", "colorbar_label", "order", "dendrogram"

// ---------------------------------------------------------------- phase 1: option keys

// check_options on the table at stack index `value`, reported as argument `arg`.
#define CHECK_AT(L, arg, value, what, ...) \
  at_argument(L, arg, value, [&] {         \
    check_options(L, arg, what, {__VA_ARGS__}); \
    return 0;                              \
  })

// Each entry of the list at idx that is a plain table (no metatable: records such as an
// nl.stats.roc result carry their own fields) is checked by check(entry_index).
template <class F>
void each_plain_entry(lua_State* L, int idx, F&& check) {
  if (lua_type(L, idx) != LUA_TTABLE) return;
  const lua_Integer n = static_cast<lua_Integer>(lua_rawlen(L, idx));
  for (lua_Integer i = 1; i <= n; ++i) {
    if (lua_rawgeti(L, idx, i) == LUA_TTABLE && !lua_getmetatable(L, -1)) check(lua_gettop(L));
    else if (lua_type(L, -1) == LUA_TTABLE) lua_pop(L, 1);  // the metatable
    lua_pop(L, 1);
  }
}

// Field key of the plain table at idx is a plain table: check it.
template <class F>
void plain_field(lua_State* L, int idx, const char* key, F&& check) {
  if (lua_type(L, idx) != LUA_TTABLE) return;
  lua_pushstring(L, key);
  if (lua_rawget(L, idx) == LUA_TTABLE && !lua_getmetatable(L, -1)) check(lua_gettop(L));
  else if (lua_type(L, -1) == LUA_TTABLE) lua_pop(L, 1);
  lua_pop(L, 1);
}

// Whether the table at idx is one series ({x =, y =}) rather than a list of them.
bool single_series(lua_State* L, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE) return false;
  lua_pushstring(L, "x");
  const bool one = lua_rawget(L, idx) != LUA_TNIL;
  lua_pop(L, 1);
  return one;
}

void check_series_keys(lua_State* L, int arg, int list) {
  auto one = [&](int e) {
    CHECK_AT(L, arg, e, "a series", "x", "y", "label", "colour", "color", "style", "width", "band", "step");
    plain_field(L, e, "band", [&](int b) { CHECK_AT(L, arg, b, "a band", "lo", "hi"); });
  };
  if (single_series(L, list)) one(list);
  else each_plain_entry(L, list, one);
}

void check_curve_keys(lua_State* L, int arg, int curves) {
  auto one = [&](int e) {
    CHECK_AT(L, arg, e, "a ROC curve", "fpr", "tpr", "curve", "auc", "ci", "band", "label");
    plain_field(L, e, "band", [&](int b) { CHECK_AT(L, arg, b, "a ROC band", "fpr", "lo", "hi"); });
  };
  if (lua_type(L, curves) != LUA_TTABLE || lua_getmetatable(L, curves)) {
    if (lua_type(L, curves) == LUA_TTABLE) lua_pop(L, 1);
    return;
  }
  lua_pushstring(L, "fpr");
  const bool single = lua_rawget(L, curves) != LUA_TNIL;
  lua_pop(L, 1);
  if (single) one(curves);
  else each_plain_entry(L, curves, one);
}

void check_box_keys(lua_State* L, int arg, int data) {
  if (test<nl::Table>(L, data)) return;
  each_plain_entry(L, data, [&](int e) { CHECK_AT(L, arg, e, "a box group", "label", "values"); });
}

// ---------------------------------------------------------------- phase 2: reading values

std::string type_of(lua_State* L, int idx) {
  if (test<Matrix>(L, idx)) return "neurolua.Matrix";
  if (test<const nl::Column>(L, idx)) return "neurolua.Column";
  if (test<nl::Table>(L, idx)) return "neurolua.Table";
  return lua_typename(L, lua_type(L, idx));
}

// Pushes field key of the table at idx (raw: no metamethod runs); returns its type.
int field(lua_State* L, int idx, const char* key) {
  if (lua_type(L, idx) != LUA_TTABLE) {
    lua_pushnil(L);
    return LUA_TNIL;
  }
  lua_pushstring(L, key);
  return lua_rawget(L, idx);
}

// Pops the value on top when the guard ends (the readers below push one field each).
struct Popper {
  lua_State* L;
  ~Popper() { lua_pop(L, 1); }
};

// A vector: a Lua array of numbers, a Matrix with one column or row, or a Column.
// Missing cells and non-numbers are errors naming `what`; NaN is checked by the engine.
Vector read_vector(lua_State* L, int idx, int arg, const std::string& what) {
  if (const auto* m = test<Matrix>(L, idx)) {
    if (m->rows() != 1 && m->cols() != 1)
      throw ArgError(arg, what + " must be a vector, got a " + std::to_string(m->rows()) + "x" +
                              std::to_string(m->cols()) + " Matrix");
    return Eigen::Map<const Vector>(m->data(), m->size());
  }
  if (const auto* c = test<const nl::Column>(L, idx)) {
    if (c->type() == nl::ColumnType::String) throw ArgError(arg, what + ": a string Column is not numbers");
    Vector v(static_cast<Eigen::Index>(c->size()));
    for (std::size_t i = 0; i < c->size(); ++i) {
      if (c->is_missing(i)) throw ArgError(arg, what + ": entry " + std::to_string(i + 1) + " is missing (NA)");
      v(static_cast<Eigen::Index>(i)) = c->numeric(i);
    }
    return v;
  }
  if (lua_type(L, idx) == LUA_TTABLE && !lua_getmetatable(L, idx)) {
    const auto n = static_cast<Eigen::Index>(lua_rawlen(L, idx));
    Vector v(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      const int t = lua_rawgeti(L, idx, i + 1);
      const double x = lua_tonumber(L, -1);
      lua_pop(L, 1);
      if (t != LUA_TNUMBER)
        throw ArgError(arg, what + ": entry " + std::to_string(i + 1) + " is " + (t == LUA_TNIL ? "missing" : "not a number"));
      v(i) = x;
    }
    return v;
  }
  if (lua_type(L, idx) == LUA_TTABLE) lua_pop(L, 1);  // the metatable
  throw ArgError(arg, what + " must be a list of numbers, a Matrix or a Column, got " + type_of(L, idx));
}

Vector vector_field(lua_State* L, int t, const char* key, int arg, const std::string& what, bool required) {
  const int type = field(L, t, key);
  Popper p{L};
  if (type == LUA_TNIL) {
    if (required) throw ArgError(arg, what + " is missing");
    return Vector();
  }
  return read_vector(L, lua_gettop(L), arg, what);
}

// A cell or list entry as text.
std::string text_of(lua_State* L, int idx) {
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: return lua_tostring(L, idx);
    case LUA_TNUMBER: {
      lua_pushvalue(L, idx);
      std::string s = lua_tostring(L, -1);  // a copy: the original stays a number
      lua_pop(L, 1);
      return s;
    }
    case LUA_TBOOLEAN: return lua_toboolean(L, idx) ? "true" : "false";
    default: return "";
  }
}

std::string cell_text(const nl::Column& c, std::size_t i) {
  if (c.is_missing(i)) return "NA";
  switch (c.type()) {
    case nl::ColumnType::String: return c.string(i);
    case nl::ColumnType::Bool: return c.boolean(i) ? "true" : "false";
    case nl::ColumnType::Number: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.15g", c.number(i));
      return buf;
    }
  }
  return "";
}

// Labels: a list of strings (numbers and booleans print as text) or a Column.
std::vector<std::string> read_strings(lua_State* L, int idx, int arg, const std::string& what) {
  std::vector<std::string> out;
  if (const auto* c = test<const nl::Column>(L, idx)) {
    for (std::size_t i = 0; i < c->size(); ++i) {
      if (c->is_missing(i)) throw ArgError(arg, what + ": entry " + std::to_string(i + 1) + " is missing (NA)");
      out.push_back(cell_text(*c, i));
    }
    return out;
  }
  if (lua_type(L, idx) != LUA_TTABLE)
    throw ArgError(arg, what + " must be a list of strings or a Column, got " + type_of(L, idx));
  const auto n = static_cast<lua_Integer>(lua_rawlen(L, idx));
  for (lua_Integer i = 1; i <= n; ++i) {
    const int t = lua_rawgeti(L, idx, i);
    if (t != LUA_TSTRING && t != LUA_TNUMBER && t != LUA_TBOOLEAN) {
      lua_pop(L, 1);
      throw ArgError(arg, what + ": entry " + std::to_string(i) + " is not a string");
    }
    out.push_back(text_of(L, -1));
    lua_pop(L, 1);
  }
  return out;
}

std::vector<std::string> strings_field(lua_State* L, int t, const char* key, int arg, const std::string& what) {
  const int type = field(L, t, key);
  Popper p{L};
  if (type == LUA_TNIL) return {};
  return read_strings(L, lua_gettop(L), arg, what);
}

std::string string_field(lua_State* L, int t, const char* key, int arg, const std::string& what) {
  const int type = field(L, t, key);
  Popper p{L};
  if (type == LUA_TNIL) return "";
  if (type != LUA_TSTRING && type != LUA_TNUMBER)
    throw ArgError(arg, what + " must be a string, got " + type_of(L, -1));
  return text_of(L, -1);
}

double number_field(lua_State* L, int t, const char* key, int arg, const std::string& what, double def) {
  const int type = field(L, t, key);
  Popper p{L};
  if (type == LUA_TNIL) return def;
  if (type != LUA_TNUMBER) throw ArgError(arg, what + " must be a number, got " + type_of(L, -1));
  return lua_tonumber(L, -1);
}

bool bool_field(lua_State* L, int t, const char* key, int arg, const std::string& what, bool def) {
  const int type = field(L, t, key);
  Popper p{L};
  if (type == LUA_TNIL) return def;
  if (type != LUA_TBOOLEAN) throw ArgError(arg, what + " must be true or false, got " + type_of(L, -1));
  return lua_toboolean(L, -1);
}

// A choice among names ("option 'style' must be one of solid, dashed, dotted, got
// dashd; did you mean 'dashed'?", as opt_choice says it).
int choice(const std::string& got, std::initializer_list<const char*> names, int arg, const std::string& what) {
  int k = 0;
  std::string list;
  for (const char* n : names) {
    if (got == n) return k;
    list += (k++ ? ", " : "") + std::string(n);
  }
  const std::string best = closest_name(got, std::vector<std::string_view>(names.begin(), names.end()));
  throw ArgError(arg, "option '" + what + "' must be one of " + list + ", got " + got +
                          (best.empty() ? "" : "; did you mean '" + best + "'?"));
}

// {lo, hi}
std::optional<std::array<double, 2>> pair_field(lua_State* L, int t, const char* key, int arg, const std::string& what) {
  const int type = field(L, t, key);
  Popper p{L};
  if (type == LUA_TNIL) return std::nullopt;
  const int v = lua_gettop(L);
  if (type == LUA_TTABLE && lua_rawlen(L, v) == 2) {
    std::array<double, 2> out{};
    bool ok = true;
    for (int i = 0; i < 2; ++i) {
      ok = lua_rawgeti(L, v, i + 1) == LUA_TNUMBER && ok;
      out[i] = lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
    if (ok) return out;
  }
  throw ArgError(arg, what + " must be {lo, hi}, two numbers");
}

// "#rrggbb", "C0".."C9", or a name of the tab10 palette / black, white, gray.
pl::RGB parse_colour(const std::string& s, int arg, const std::string& what) {
  if (s.size() == 7 && s[0] == '#' && s.find_first_not_of("0123456789abcdefABCDEF", 1) == std::string::npos) {
    const unsigned v = static_cast<unsigned>(std::stoul(s.substr(1), nullptr, 16));
    return {((v >> 16) & 255) / 255.0, ((v >> 8) & 255) / 255.0, (v & 255) / 255.0};
  }
  if (s.size() == 2 && s[0] == 'C' && s[1] >= '0' && s[1] <= '9') return pl::category_colour(static_cast<std::size_t>(s[1] - '0'));
  static const char* const tab[] = {"blue", "orange", "green", "red", "purple", "brown", "pink", "gray", "olive", "cyan"};
  for (std::size_t i = 0; i < 10; ++i)
    if (s == tab[i]) return pl::category_colour(i);
  if (s == "grey") return pl::category_colour(7);
  if (s == "black") return {0, 0, 0};
  if (s == "white") return {1, 1, 1};
  throw ArgError(arg, what + ": unknown colour '" + s +
                          "'; expected \"#rrggbb\", C0..C9 or one of blue, orange, green, red, purple, brown, pink, "
                          "gray, olive, cyan, black, white");
}

// ---------------------------------------------------------------- style

pl::Axes read_axes(lua_State* L, int o, int arg, const pl::Axes& defaults = {}) {
  pl::Axes a = defaults;
  auto str = [&](const char* k, std::string& out) {
    const std::string v = string_field(L, o, k, arg, std::string("option '") + k + "'");
    if (!v.empty()) out = v;
  };
  str("title", a.title);
  str("xlabel", a.xlabel);
  str("ylabel", a.ylabel);
  str("cmap", a.cmap);
  if (!a.cmap.empty()) {
    try {
      pl::Colormap::get(a.cmap);
    } catch (const nl::ValueError& e) {
      throw ArgError(arg, std::string("option 'cmap': ") + e.what());
    }
  }
  if (auto v = pair_field(L, o, "xlim", arg, "option 'xlim'")) a.xlim = v;
  if (auto v = pair_field(L, o, "ylim", arg, "option 'ylim'")) a.ylim = v;
  const int t = field(L, o, "legend");
  {
    Popper p{L};
    if (t == LUA_TBOOLEAN) a.legend = lua_toboolean(L, -1) ? pl::Legend::Auto : pl::Legend::Off;
    else if (t == LUA_TSTRING)
      a.legend = static_cast<pl::Legend>(
          2 + choice(lua_tostring(L, -1), {"upper right", "lower right", "upper left", "lower left"}, arg, "legend"));
    else if (t != LUA_TNIL)
      throw ArgError(arg, "option 'legend' must be true, false or a corner such as \"upper right\"");
  }
  return a;
}

void read_page(lua_State* L, int o, int arg, pl::Figure& f) {
  f.width = number_field(L, o, "width", arg, "option 'width'", f.width);
  f.height = number_field(L, o, "height", arg, "option 'height'", f.height);
  f.dpi = number_field(L, o, "dpi", arg, "option 'dpi'", f.dpi);
  f.font_size = number_field(L, o, "font_size", arg, "option 'font_size'", f.font_size);
  if (!(f.width >= 1 && f.width <= 100)) throw ArgError(arg, "option 'width' must be between 1 and 100 inches");
  if (!(f.height >= 1 && f.height <= 100)) throw ArgError(arg, "option 'height' must be between 1 and 100 inches");
  if (!(f.dpi >= 10 && f.dpi <= 1200)) throw ArgError(arg, "option 'dpi' must be between 10 and 1200");
  if (!(f.font_size >= 2 && f.font_size <= 72)) throw ArgError(arg, "option 'font_size' must be between 2 and 72 points");
}

// ---------------------------------------------------------------- charts

// Where a chart's inputs are: stack indices and the argument positions errors name.
struct In {
  int idx;
  int arg;
  std::string name;
};

pl::LinesChart read_lines(lua_State* L, const In& s, int o, int oarg) {
  pl::LinesChart ch;
  ch.diagonal = bool_field(L, o, "diagonal", oarg, "option 'diagonal'", false);
  if (lua_type(L, s.idx) != LUA_TTABLE) throw ArgError(s.arg, s.name + " must be a list of series, got " + type_of(L, s.idx));
  const bool one = single_series(L, s.idx);
  const auto n = one ? 1 : static_cast<lua_Integer>(lua_rawlen(L, s.idx));
  if (n == 0) throw ArgError(s.arg, s.name + ": no series to plot");
  for (lua_Integer i = 1; i <= n; ++i) {
    if (one) lua_pushvalue(L, s.idx);
    else lua_rawgeti(L, s.idx, i);
    Popper p{L};
    const int e = lua_gettop(L);
    const std::string w = one ? s.name : s.name + "[" + std::to_string(i) + "]";
    if (lua_type(L, e) != LUA_TTABLE) throw ArgError(s.arg, w + " must be a table {x =, y =, ...}");
    pl::Series se;
    se.x = vector_field(L, e, "x", s.arg, w + ".x", true);
    se.y = vector_field(L, e, "y", s.arg, w + ".y", true);
    se.label = string_field(L, e, "label", s.arg, w + ".label");
    std::string col = string_field(L, e, "colour", s.arg, w + ".colour");
    if (col.empty()) col = string_field(L, e, "color", s.arg, w + ".color");
    if (!col.empty()) se.colour = parse_colour(col, s.arg, w + ".colour");
    const std::string st = string_field(L, e, "style", s.arg, w + ".style");
    if (!st.empty()) se.style = static_cast<pl::LineStyle>(choice(st, {"solid", "dashed", "dotted"}, s.arg, "style"));
    se.width = number_field(L, e, "width", s.arg, w + ".width", 1.5);
    se.step = bool_field(L, e, "step", s.arg, w + ".step", false);
    if (field(L, e, "band") != LUA_TNIL) {
      Popper pb{L};
      const int b = lua_gettop(L);
      se.band_lo = vector_field(L, b, "lo", s.arg, w + ".band.lo", true);
      se.band_hi = vector_field(L, b, "hi", s.arg, w + ".band.hi", true);
    } else {
      lua_pop(L, 1);
    }
    ch.series.push_back(std::move(se));
  }
  return ch;
}

pl::RocCurve read_curve(lua_State* L, int e, int arg, const std::string& w) {
  pl::RocCurve r;
  // an nl.stats.roc result: its curve record holds sensitivity and specificity
  if (field(L, e, "curve") == LUA_TTABLE) {
    Popper p{L};
    const int cv = lua_gettop(L);
    const Vector sens = vector_field(L, cv, "sensitivity", arg, w + ".curve.sensitivity", true);
    const Vector spec = vector_field(L, cv, "specificity", arg, w + ".curve.specificity", true);
    r.tpr = sens;
    r.fpr = (1.0 - spec.array()).matrix();
  } else {
    lua_pop(L, 1);
    r.fpr = vector_field(L, e, "fpr", arg, w + ".fpr", true);
    r.tpr = vector_field(L, e, "tpr", arg, w + ".tpr", true);
  }
  r.auc = number_field(L, e, "auc", arg, w + ".auc", pl::kNaN);
  if (auto ci = pair_field(L, e, "ci", arg, w + ".ci")) r.ci_lo = (*ci)[0], r.ci_hi = (*ci)[1];
  r.label = string_field(L, e, "label", arg, w + ".label");
  if (field(L, e, "band") == LUA_TTABLE) {
    Popper p{L};
    const int b = lua_gettop(L);
    r.band_fpr = vector_field(L, b, "fpr", arg, w + ".band.fpr", true);
    r.band_lo = vector_field(L, b, "lo", arg, w + ".band.lo", true);
    r.band_hi = vector_field(L, b, "hi", arg, w + ".band.hi", true);
  } else {
    lua_pop(L, 1);
  }
  return r;
}

pl::RocChart read_roc(lua_State* L, const In& s) {
  pl::RocChart ch;
  if (lua_type(L, s.idx) != LUA_TTABLE) throw ArgError(s.arg, s.name + " must be a curve or a list of curves, got " + type_of(L, s.idx));
  const bool has_fpr = field(L, s.idx, "fpr") != LUA_TNIL;
  const bool has_curve = field(L, s.idx, "curve") != LUA_TNIL;
  lua_pop(L, 2);
  const bool single = has_fpr || has_curve;
  if (single) {
    ch.curves.push_back(read_curve(L, s.idx, s.arg, s.name));
    return ch;
  }
  const auto n = static_cast<lua_Integer>(lua_rawlen(L, s.idx));
  if (n == 0) throw ArgError(s.arg, s.name + ": no curve to plot");
  for (lua_Integer i = 1; i <= n; ++i) {
    lua_rawgeti(L, s.idx, i);
    Popper p{L};
    const std::string w = s.name + "[" + std::to_string(i) + "]";
    if (!lua_istable(L, -1)) throw ArgError(s.arg, w + " must be a table {fpr =, tpr =, ...}");
    ch.curves.push_back(read_curve(L, lua_gettop(L), s.arg, w));
  }
  return ch;
}

pl::HistogramChart read_histogram(lua_State* L, const In& s, int o, int oarg) {
  pl::HistogramChart ch;
  ch.values = read_vector(L, s.idx, s.arg, s.name);
  const double bins = number_field(L, o, "bins", oarg, "option 'bins'", 0);
  if (bins != 0 && (bins != std::floor(bins) || bins < 1 || bins > 1000))
    throw ArgError(oarg, "option 'bins' must be an integer between 1 and 1000");
  ch.bins = static_cast<int>(bins);
  ch.observed = number_field(L, o, "observed", oarg, "option 'observed'", pl::kNaN);
  ch.p = number_field(L, o, "p", oarg, "option 'p'", pl::kNaN);
  ch.observed_label = string_field(L, o, "label_observed", oarg, "option 'label_observed'");
  if (const std::string v = string_field(L, o, "label_values", oarg, "option 'label_values'"); !v.empty())
    ch.values_label = v;
  return ch;
}

std::vector<bool> read_flags(lua_State* L, int t, const char* key, int arg, const std::string& what) {
  std::vector<bool> out;
  const int type = field(L, t, key);
  Popper p{L};
  if (type == LUA_TNIL) return out;
  const int v = lua_gettop(L);
  if (const auto* c = test<const nl::Column>(L, v)) {
    for (std::size_t i = 0; i < c->size(); ++i) out.push_back(!c->is_missing(i) && c->numeric(i) != 0);
    return out;
  }
  if (type != LUA_TTABLE) throw ArgError(arg, what + " must be a list of booleans");
  const auto n = static_cast<lua_Integer>(lua_rawlen(L, v));
  for (lua_Integer i = 1; i <= n; ++i) {
    const int et = lua_rawgeti(L, v, i);
    const bool b = et == LUA_TBOOLEAN ? lua_toboolean(L, -1) : (et == LUA_TNUMBER && lua_tonumber(L, -1) != 0);
    lua_pop(L, 1);
    if (et != LUA_TBOOLEAN && et != LUA_TNUMBER) throw ArgError(arg, what + ": entry " + std::to_string(i) + " is not a boolean");
    out.push_back(b);
  }
  return out;
}

pl::BarsChart read_bars(lua_State* L, const In& names, const In& values, int o, int oarg) {
  pl::BarsChart ch;
  ch.names = read_strings(L, names.idx, names.arg, names.name);
  ch.values = read_vector(L, values.idx, values.arg, values.name);
  if (ch.names.empty()) throw ArgError(names.arg, names.name + ": no bars to plot");
  if (static_cast<std::size_t>(ch.values.size()) != ch.names.size())
    throw ArgError(values.arg, values.name + ": length " + std::to_string(ch.values.size()) + " differs from " +
                                   names.name + " (" + std::to_string(ch.names.size()) + ")");
  ch.horizontal = bool_field(L, o, "horizontal", oarg, "option 'horizontal'", true);
  ch.sign_colours = bool_field(L, o, "sign_colours", oarg, "option 'sign_colours'", false);
  const auto labels = strings_field(L, o, "sign_labels", oarg, "option 'sign_labels'");
  if (!labels.empty()) {
    if (labels.size() != 2) throw ArgError(oarg, "option 'sign_labels' must be {positive, negative}, two strings");
    ch.positive_label = labels[0], ch.negative_label = labels[1];
  }
  ch.errors = vector_field(L, o, "errors", oarg, "option 'errors'", false);
  ch.marks = read_flags(L, o, "marks", oarg, "option 'marks'");
  return ch;
}

pl::ScatterChart read_scatter(lua_State* L, const In& x, const In& y, int o, int oarg) {
  pl::ScatterChart ch;
  ch.x = read_vector(L, x.idx, x.arg, x.name);
  ch.y = read_vector(L, y.idx, y.arg, y.name);
  if (ch.y.size() != ch.x.size())
    throw ArgError(y.arg, y.name + ": length " + std::to_string(ch.y.size()) + " differs from " + x.name + " (" +
                              std::to_string(ch.x.size()) + ")");
  const int ft = field(L, o, "fit");
  {
    Popper p{L};
    if (ft == LUA_TSTRING) ch.fit = choice(lua_tostring(L, -1), {"linear"}, oarg, "fit") == 0;
    else if (ft == LUA_TBOOLEAN) ch.fit = lua_toboolean(L, -1);
    else if (ft != LUA_TNIL) throw ArgError(oarg, "option 'fit' must be \"linear\"");
  }
  ch.groups = strings_field(L, o, "groups", oarg, "option 'groups'");
  ch.annotate = bool_field(L, o, "annotate", oarg, "option 'annotate'", false);
  return ch;
}

// Levels in order of first appearance.
std::vector<std::string> levels_of(const std::vector<std::string>& v, std::vector<int>& code) {
  std::vector<std::string> lv;
  code.clear();
  for (const auto& s : v) {
    auto it = std::find(lv.begin(), lv.end(), s);
    code.push_back(static_cast<int>(it - lv.begin()));
    if (it == lv.end()) lv.push_back(s);
  }
  return lv;
}

pl::BoxChart read_box(lua_State* L, const In& d, int o, int oarg) {
  pl::BoxChart ch;
  const double seed = number_field(L, o, "seed", oarg, "option 'seed'", 0);
  if (seed < 0 || seed != std::floor(seed)) throw ArgError(oarg, "option 'seed' must be an integer >= 0");
  ch.seed = static_cast<std::uint64_t>(seed);
  if (const auto* t = test<nl::Table>(L, d.idx)) {
    const std::string y = string_field(L, o, "y", oarg, "option 'y'");
    if (y.empty()) throw ArgError(oarg, "option 'y' (the value column) is required when data is a Table");
    const std::string x = string_field(L, o, "x", oarg, "option 'x'");
    const std::string hue = string_field(L, o, "hue", oarg, "option 'hue'");
    auto col = [&](const std::string& name, const char* opt) -> const nl::Column& {
      const auto* c = t->find(name);
      if (!c) {
        std::string list;
        for (const auto& n : t->names()) list += (list.empty() ? "" : ", ") + n;
        throw ArgError(oarg, std::string("option '") + opt + "': no column '" + name + "' in the table (columns: " + list + ")");
      }
      return **c;
    };
    const nl::Column& yc = col(y, "y");
    if (yc.type() == nl::ColumnType::String) throw ArgError(oarg, "option 'y': column '" + y + "' holds strings, not numbers");
    const std::size_t n = t->nrows();
    std::vector<std::string> xs(n, ""), hs(n, "");
    if (!x.empty()) {
      const nl::Column& xc = col(x, "x");
      for (std::size_t i = 0; i < n; ++i) xs[i] = cell_text(xc, i);
    }
    if (!hue.empty()) {
      const nl::Column& hc = col(hue, "hue");
      for (std::size_t i = 0; i < n; ++i) hs[i] = cell_text(hc, i);
    }
    std::vector<int> xcode, hcode;
    ch.categories = levels_of(xs, xcode);
    ch.hues = levels_of(hs, hcode);
    std::vector<std::vector<std::vector<double>>> vals(ch.categories.size(),
                                                       std::vector<std::vector<double>>(ch.hues.size()));
    for (std::size_t i = 0; i < n; ++i) {
      if (yc.is_missing(i)) continue;  // a missing outcome is not an observation
      vals[xcode[i]][hcode[i]].push_back(yc.numeric(i));
    }
    ch.values.resize(ch.categories.size());
    for (std::size_t k = 0; k < vals.size(); ++k)
      for (auto& v : vals[k]) ch.values[k].push_back(Eigen::Map<const Vector>(v.data(), static_cast<Eigen::Index>(v.size())));
    if (n == 0) throw ArgError(d.arg, d.name + ": the table has no rows");
    return ch;
  }
  if (lua_type(L, d.idx) != LUA_TTABLE)
    throw ArgError(d.arg, d.name + " must be a Table or a list of {label =, values =}, got " + type_of(L, d.idx));
  const auto n = static_cast<lua_Integer>(lua_rawlen(L, d.idx));
  if (n == 0) throw ArgError(d.arg, d.name + ": no groups to plot");
  ch.hues = {""};
  for (lua_Integer i = 1; i <= n; ++i) {
    lua_rawgeti(L, d.idx, i);
    Popper p{L};
    const std::string w = d.name + "[" + std::to_string(i) + "]";
    if (!lua_istable(L, -1)) throw ArgError(d.arg, w + " must be a table {label =, values =}");
    const int e = lua_gettop(L);
    std::string label = string_field(L, e, "label", d.arg, w + ".label");
    if (label.empty()) label = std::to_string(i);
    ch.categories.push_back(label);
    ch.values.push_back({vector_field(L, e, "values", d.arg, w + ".values", true)});
  }
  return ch;
}

pl::HeatmapChart read_heatmap(lua_State* L, const In& m, int o, int oarg, bool netmat) {
  pl::HeatmapChart ch;
  ch.netmat = netmat;
  const auto* M = test<Matrix>(L, m.idx);
  if (!M) throw ArgError(m.arg, m.name + " must be a neurolua.Matrix, got " + type_of(L, m.idx));
  ch.M = *M;
  if (netmat && ch.M.rows() != ch.M.cols())
    throw ArgError(m.arg, m.name + ": a netmat must be square, got " + std::to_string(ch.M.rows()) + "x" +
                              std::to_string(ch.M.cols()));
  const auto labels = strings_field(L, o, "labels", oarg, "option 'labels'");
  ch.row_labels = strings_field(L, o, "row_labels", oarg, "option 'row_labels'");
  ch.col_labels = strings_field(L, o, "col_labels", oarg, "option 'col_labels'");
  if (!labels.empty()) {
    if (ch.M.rows() != ch.M.cols()) throw ArgError(oarg, "option 'labels' needs a square matrix; use row_labels and col_labels");
    if (labels.size() != static_cast<std::size_t>(ch.M.rows()))
      throw ArgError(oarg, "option 'labels': " + std::to_string(labels.size()) + " labels for " +
                               std::to_string(ch.M.rows()) + " rows");
    ch.row_labels = ch.col_labels = labels;
  }
  ch.vmin = number_field(L, o, "vmin", oarg, "option 'vmin'", pl::kNaN);
  ch.vmax = number_field(L, o, "vmax", oarg, "option 'vmax'", pl::kNaN);
  ch.colorbar_label = string_field(L, o, "colorbar_label", oarg, "option 'colorbar_label'");
  ch.ordering = netmat ? pl::Ordering::Hierarchy : pl::Ordering::None;
  const int ot = field(L, o, "order");
  {
    Popper p{L};
    if (ot == LUA_TSTRING) {
      choice(lua_tostring(L, -1), {"hierarchy"}, oarg, "order");
      ch.ordering = pl::Ordering::Hierarchy;
    } else if (ot == LUA_TBOOLEAN && !lua_toboolean(L, -1)) {
      ch.ordering = pl::Ordering::None;
    } else if (ot != LUA_TNIL) {
      const Vector v = read_vector(L, lua_gettop(L), oarg, "option 'order'");
      ch.ordering = pl::Ordering::Given;
      for (Eigen::Index i = 0; i < v.size(); ++i) {
        if (v(i) != std::floor(v(i))) throw ArgError(oarg, "option 'order': entry " + std::to_string(i + 1) + " is not an integer");
        ch.order.push_back(static_cast<int>(v(i)) - 1);
      }
    }
  }
  ch.dendrogram = bool_field(L, o, "dendrogram", oarg, "option 'dendrogram'", netmat && ch.ordering == pl::Ordering::Hierarchy);
  return ch;
}

// ---------------------------------------------------------------- rendering

// Renders inside protect(); engine ValueErrors that name an input are reported at its
// position (the engine's messages start with the argument's name).
void render_to(lua_State* L, const pl::Figure& f, const char* path, int path_arg,
               std::initializer_list<std::pair<const char*, int>> names) {
  try {
    pl::render(f, path);
  } catch (const nl::ValueError& e) {
    const std::string_view msg = e.what();
    if (msg.substr(0, 5) == "path:") throw ArgError(path_arg, std::string(msg.substr(6)));
    for (const auto& [name, pos] : names)
      if (msg.substr(0, std::strlen(name)) == name) throw ArgError(pos, std::string(msg));
    throw;
  }
  lua_pushstring(L, path);
}

pl::Figure one_panel(lua_State* L, int o, int oarg, pl::Chart chart) {
  pl::Figure f;
  read_page(L, o, oarg, f);
  f.panels.push_back({std::move(chart), read_axes(L, o, oarg)});
  return f;
}

// ---------------------------------------------------------------- functions

int lines(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  check_options(L, 3, "lines", {NL_STYLE, NL_LINES_OPTS});
  check_series_keys(L, 2, 2);
  return protect(L, [&] {
    pl::Figure f = one_panel(L, 3, 3, read_lines(L, {2, 2, "series"}, 3, 3));
    render_to(L, f, path, 1, {{"series", 2}});
    return 1;
  });
}

int roc(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  check_options(L, 3, "roc", {NL_STYLE});
  check_curve_keys(L, 2, 2);
  return protect(L, [&] {
    pl::Figure f = one_panel(L, 3, 3, read_roc(L, {2, 2, "curves"}));
    render_to(L, f, path, 1, {{"curve", 2}});
    return 1;
  });
}

int histogram(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  luaL_checkany(L, 2);
  check_options(L, 3, "histogram", {NL_STYLE, NL_HIST_OPTS});
  return protect(L, [&] {
    pl::Figure f = one_panel(L, 3, 3, read_histogram(L, {2, 2, "values"}, 3, 3));
    render_to(L, f, path, 1, {{"values", 2}, {"bins", 3}, {"observed", 3}});
    return 1;
  });
}

int bars(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  luaL_checkany(L, 2);
  luaL_checkany(L, 3);
  check_options(L, 4, "bars", {NL_STYLE, NL_BARS_OPTS});
  return protect(L, [&] {
    pl::Figure f = one_panel(L, 4, 4, read_bars(L, {2, 2, "names"}, {3, 3, "values"}, 4, 4));
    render_to(L, f, path, 1, {{"names", 2}, {"values", 3}, {"errors", 4}, {"marks", 4}});
    return 1;
  });
}

int scatter(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  luaL_checkany(L, 2);
  luaL_checkany(L, 3);
  check_options(L, 4, "scatter", {NL_STYLE, NL_SCATTER_OPTS});
  return protect(L, [&] {
    pl::Figure f = one_panel(L, 4, 4, read_scatter(L, {2, 2, "x"}, {3, 3, "y"}, 4, 4));
    render_to(L, f, path, 1, {{"x", 2}, {"y", 3}, {"groups", 4}, {"fit", 4}, {"annotate", 4}});
    return 1;
  });
}

int box(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  luaL_checkany(L, 2);
  check_options(L, 3, "box", {NL_STYLE, NL_BOX_OPTS});
  check_box_keys(L, 2, 2);
  return protect(L, [&] {
    pl::Figure f = one_panel(L, 3, 3, read_box(L, {2, 2, "data"}, 3, 3));
    render_to(L, f, path, 1, {{"data", 2}});
    return 1;
  });
}

int heatmap_impl(lua_State* L, bool netmat) {
  const char* path = luaL_checkstring(L, 1);
  luaL_checkany(L, 2);
  if (netmat) check_options(L, 3, "netmat", {NL_STYLE, NL_HEAT_OPTS});
  else check_options(L, 3, "heatmap", {NL_STYLE, NL_HEAT_OPTS});
  return protect(L, [&] {
    pl::Figure f = one_panel(L, 3, 3, read_heatmap(L, {2, 2, netmat ? "Z" : "M"}, 3, 3, netmat));
    render_to(L, f, path, 1,
              {{"M", 2}, {"Z", 2}, {"order", 3}, {"row_labels", 3}, {"col_labels", 3}, {"dendrogram", 3}, {"vmax", 3}});
    return 1;
  });
}
int heatmap(lua_State* L) { return heatmap_impl(L, false); }
int netmat(lua_State* L) { return heatmap_impl(L, true); }

// ---------------------------------------------------------------- figure

// Phase 1 for one panel: its kind, then the keys that kind takes.
void check_panel_keys(lua_State* L, int p) {
  const int kind = at_argument(L, 1, p, [&] {
    return opt_choice(L, 1, "kind", {"lines", "roc", "histogram", "bars", "scatter", "box", "heatmap", "netmat"}, -1);
  });
  switch (kind) {
    case 0:
      CHECK_AT(L, 1, p, "a lines panel", "kind", "series", NL_PANEL_STYLE, NL_LINES_OPTS);
      plain_field(L, p, "series", [&](int s) { check_series_keys(L, 1, s); });
      break;
    case 1:
      CHECK_AT(L, 1, p, "a roc panel", "kind", "curves", NL_PANEL_STYLE);
      plain_field(L, p, "curves", [&](int s) { check_curve_keys(L, 1, s); });
      break;
    case 2: CHECK_AT(L, 1, p, "a histogram panel", "kind", "values", NL_PANEL_STYLE, NL_HIST_OPTS); break;
    case 3: CHECK_AT(L, 1, p, "a bars panel", "kind", "names", "values", NL_PANEL_STYLE, NL_BARS_OPTS); break;
    case 4: CHECK_AT(L, 1, p, "a scatter panel", "kind", "x", "y", NL_PANEL_STYLE, NL_SCATTER_OPTS); break;
    case 5:
      CHECK_AT(L, 1, p, "a box panel", "kind", "data", NL_PANEL_STYLE, NL_BOX_OPTS);
      plain_field(L, p, "data", [&](int d) { check_box_keys(L, 1, d); });
      break;
    case 6: CHECK_AT(L, 1, p, "a heatmap panel", "kind", "M", NL_PANEL_STYLE, NL_HEAT_OPTS); break;
    case 7: CHECK_AT(L, 1, p, "a netmat panel", "kind", "Z", "M", NL_PANEL_STYLE, NL_HEAT_OPTS); break;
    default: luaL_argerror(L, 1, "each panel needs a kind (lines, roc, histogram, bars, scatter, box, heatmap, netmat)");
  }
}

pl::Chart read_panel(lua_State* L, int p, const std::string& w) {
  lua_pushstring(L, "kind");
  lua_rawget(L, p);
  const std::string kind = lua_tostring(L, -1);
  lua_pop(L, 1);
  // the data fields go on the stack, so the readers see them like positional arguments
  auto data = [&](const char* key, bool required) {
    if (field(L, p, key) == LUA_TNIL && required) throw ArgError(1, w + "." + key + " is missing");
    return In{lua_gettop(L), 1, w + "." + key};
  };
  const int top = lua_gettop(L);
  struct Restore {
    lua_State* L;
    int top;
    ~Restore() { lua_settop(L, top); }
  } restore{L, top};
  if (kind == "lines") return read_lines(L, data("series", true), p, 1);
  if (kind == "roc") return read_roc(L, data("curves", true));
  if (kind == "histogram") return read_histogram(L, data("values", true), p, 1);
  if (kind == "bars") {
    const In n = data("names", true), v = data("values", true);
    return read_bars(L, n, v, p, 1);
  }
  if (kind == "scatter") {
    const In x = data("x", true), y = data("y", true);
    return read_scatter(L, x, y, p, 1);
  }
  if (kind == "box") return read_box(L, data("data", true), p, 1);
  if (kind == "heatmap") return read_heatmap(L, data("M", true), p, 1, false);
  In z = data("Z", false);
  if (lua_isnil(L, z.idx)) z = data("M", true);
  return read_heatmap(L, z, p, 1, true);
}

int figure(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  check_options(L, 1, "figure", {"path", "rows", "cols", "panels", NL_STYLE});
  lua_getfield(L, 1, "path");
  if (lua_type(L, -1) != LUA_TSTRING) luaL_argerror(L, 1, "field 'path' (a file name ending in .png, .svg or .pdf) is required");
  const char* path = lua_tostring(L, -1);  // stays on the stack
  const lua_Integer rows = opt_integer(L, 1, "rows", 1, 20, 1);
  const lua_Integer cols = opt_integer(L, 1, "cols", 1, 20, 1);
  lua_getfield(L, 1, "panels");
  if (!lua_istable(L, -1) || lua_rawlen(L, -1) == 0) luaL_argerror(L, 1, "field 'panels' must be a non-empty list of panels");
  const int panels = lua_gettop(L);
  const auto n = static_cast<lua_Integer>(lua_rawlen(L, panels));
  if (n > rows * cols)
    luaL_argerror(L, 1, lua_pushfstring(L, "%I panels do not fit a %Ix%I grid (set rows and cols)", n, rows, cols));
  for (lua_Integer i = 1; i <= n; ++i) {
    if (lua_rawgeti(L, panels, i) != LUA_TTABLE) luaL_argerror(L, 1, lua_pushfstring(L, "panels[%I] must be a table", i));
    check_panel_keys(L, lua_gettop(L));
    lua_pop(L, 1);
  }
  return protect(L, [&] {
    pl::Figure f;
    f.rows = static_cast<int>(rows);
    f.cols = static_cast<int>(cols);
    read_page(L, 1, 1, f);
    const pl::Axes defaults = read_axes(L, 1, 1);
    f.title = defaults.title;
    pl::Axes base = defaults;
    base.title.clear();
    for (lua_Integer i = 1; i <= n; ++i) {
      lua_rawgeti(L, panels, i);
      Popper pop{L};
      const int p = lua_gettop(L);
      const std::string w = "panels[" + std::to_string(i) + "]";
      pl::Chart chart = read_panel(L, p, w);
      f.panels.push_back({std::move(chart), read_axes(L, p, 1, base)});
    }
    if (n == 1) f.panels[0].axes.title = f.panels[0].axes.title.empty() ? f.title : f.panels[0].axes.title;
    render_to(L, f, path, 1, {{"", 1}});
    return 1;
  });
}

// nl.plot.colormaps() -> the names of the colour maps ("_r" reverses any of them).
int colormaps(lua_State* L) {
  return protect(L, [&] {
    push_strings(L, pl::Colormap::names());
    return 1;
  });
}

const luaL_Reg functions[] = {
    {"lines", lines},     {"roc", roc},         {"histogram", histogram}, {"bars", bars},
    {"scatter", scatter}, {"box", box},         {"heatmap", heatmap},     {"netmat", netmat},
    {"figure", figure},   {"colormaps", colormaps}, {nullptr, nullptr},
};

}  // namespace

int open_plot(lua_State* L) {
  lua_newtable(L);
  set_bindings(L, functions);
  return 1;
}

}  // namespace nl::bind

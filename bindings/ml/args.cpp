// bindings/ml/args.cpp: reading label and score vectors from Lua values, and the
// metrics and ROC records (see bindings/ml/args.hpp).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include <string>
#include <vector>

#include "core/fields.hpp"
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

// ---------------------------------------------------------------- labels

// One label as read: its kind and value (Boolean as 1/0 in num).
enum class LKind { Number, Boolean, Text, Missing, Other };
struct LabelCell {
  LKind kind = LKind::Other;
  double num = 0;
  std::string text;
  const char* type = "";  // Other: the Lua type name (a static string)
};

// Element k (0-based) of the labels at idx. Pushes and pops only: cannot raise.
LabelCell label_cell(lua_State* L, int idx, const VecSrc& src, lua_Integer k) {
  LabelCell c;
  const auto number = [&](double v) {
    c.kind = std::isnan(v) ? LKind::Missing : LKind::Number;
    c.num = v;
  };
  switch (src.kind) {
    case VecKind::Matrix: number(src.m->data()[k]); break;
    case VecKind::Column: {
      const nl::Column& col = *src.c;
      const auto i = static_cast<std::size_t>(k);
      if (col.is_missing(i)) {
        c.kind = LKind::Missing;
      } else if (col.type() == nl::ColumnType::String) {
        c.kind = LKind::Text;
        c.text = col.string(i);
      } else if (col.type() == nl::ColumnType::Bool) {
        c.kind = LKind::Boolean;
        c.num = col.boolean(i) ? 1 : 0;
      } else {
        number(col.number(i));
      }
      break;
    }
    case VecKind::Array: {
      const int t = lua_rawgeti(L, idx, k + 1);
      if (t == LUA_TNUMBER) {
        number(lua_tonumber(L, -1));
      } else if (t == LUA_TBOOLEAN) {
        c.kind = LKind::Boolean;
        c.num = lua_toboolean(L, -1) ? 1 : 0;
      } else if (t == LUA_TSTRING) {
        std::size_t len = 0;
        const char* str = lua_tolstring(L, -1, &len);
        c.kind = LKind::Text;
        c.text.assign(str, len);
      } else if (t == LUA_TNIL || luaL_testudata(L, -1, "neurolua.NA")) {
        c.kind = LKind::Missing;
      } else {
        c.type = luaL_typename(L, -1);
      }
      lua_pop(L, 1);
      break;
    }
  }
  return c;
}

bool same_label(const LabelCell& a, const LabelCell& b) {
  return a.kind == b.kind && (a.kind == LKind::Text ? a.text == b.text : a.num == b.num);
}

// A label as written in messages: 'responder', 2, true.
std::string show_label(const LabelCell& c) {
  if (c.kind == LKind::Text) return fmt::format("'{}'", c.text);
  if (c.kind == LKind::Boolean) return c.num != 0 ? "true" : "false";
  return fmt::format("{}", c.num);
}

// The value as stored in ClassLabels (text unquoted).
std::string raw_label(const LabelCell& c) { return c.kind == LKind::Text ? c.text : show_label(c); }

const char* kind_name(LKind k) {
  switch (k) {
    case LKind::Number: return "numbers";
    case LKind::Boolean: return "booleans";
    case LKind::Text: return "text";
    default: return "values";
  }
}

// "entry 7", with the participant when the caller's covariates have participant_id.
std::string row_name(const LabelOptions& o, lua_Integer k) {
  std::string s = fmt::format("entry {}", k + 1);
  if (o.ids) {
    const nl::ColumnPtr* c = o.ids->find("participant_id");
    const auto i = static_cast<std::size_t>(k);
    if (c && i < (*c)->size() && !(*c)->is_missing(i))
      s += fmt::format(" (participant_id {})", nl::format_cell(**c, i));
  }
  return s;
}

struct Distinct {
  LabelCell value;
  lua_Integer count = 0;
};

// "'responder' (52) and 'nonresponder' (47)", or a comma list for more values.
std::string list_values(const std::vector<Distinct>& v, bool more) {
  std::string s;
  for (std::size_t j = 0; j < v.size(); ++j) {
    if (j > 0) s += (v.size() == 2 && !more) ? " and " : ", ";
    s += fmt::format("{} ({})", show_label(v[j].value), v[j].count);
  }
  if (more) s += ", and more";
  return s;
}

struct Decoded {
  std::vector<int> cls;  // index into values, per entry
  std::vector<Distinct> values;
  int positive = -1;  // index into values; -1: the positive class is absent
  nl::ml::ClassLabels classes;
};

// Reads, checks and codes the labels; throws ArgError(idx, ...) naming what is wrong.
Decoded decode_labels(lua_State* L, int idx, const char* what, const LabelOptions& o, const VecSrc& src,
                      lua_Integer n) {
  constexpr std::size_t kMaxListed = 12;
  Decoded d;
  d.cls.assign(static_cast<std::size_t>(n), -1);
  bool more = false;
  LabelCell first;
  lua_Integer first_at = -1;
  for (lua_Integer k = 0; k < n; ++k) {
    LabelCell c = label_cell(L, idx, src, k);
    if (c.kind == LKind::Missing)
      throw ArgError(idx, fmt::format("{}: {} is missing; give every participant a class label or leave the "
                                      "participant out",
                                      what, row_name(o, k)));
    if (c.kind == LKind::Other)
      throw ArgError(idx, fmt::format("{}: {} is a {}, not a class label (text, a number or a boolean)", what,
                                      row_name(o, k), c.type));
    if (first_at < 0) {
      first = c;
      first_at = k;
    } else if (c.kind != first.kind) {
      throw ArgError(idx, fmt::format("{}: {} is {} but {} is {}; the labels must all be {} or all be {}", what,
                                      row_name(o, first_at), show_label(first), row_name(o, k), show_label(c),
                                      kind_name(first.kind), kind_name(c.kind)));
    }
    std::size_t j = 0;
    while (j < d.values.size() && !same_label(d.values[j].value, c)) ++j;
    if (j == d.values.size()) {
      if (d.values.size() == kMaxListed) {
        more = true;
        continue;
      }
      d.values.push_back(Distinct{std::move(c), 0});
    }
    ++d.values[j].count;
    d.cls[static_cast<std::size_t>(k)] = static_cast<int>(j);
  }
  const LKind kind = first.kind;
  if (d.values.size() > 2 || more)
    throw ArgError(idx, fmt::format("{}: {} distinct values ({}); a classifier needs exactly two classes: recode the "
                                    "labels into two groups",
                                    what, more ? fmt::format("more than {}", kMaxListed) : std::to_string(d.values.size()),
                                    list_values(d.values, more)));
  if (o.known && kind == LKind::Text && o.known->kind == nl::ml::ClassLabels::Kind::Text)
    for (const auto& v : d.values)
      if (v.value.text != o.known->positive && v.value.text != o.known->negative)
        throw ArgError(idx, fmt::format("{}: {} ({} entries) is not a class of the trained model ('{}' = +1, '{}' = "
                                        "-1)",
                                        what, show_label(v.value), v.count, o.known->positive, o.known->negative));
  // The positive class: the option, else the default coding of booleans and numbers.
  LabelCell want;
  want.kind = kind;
  if (o.positive) {
    const int t = lua_type(L, o.positive);
    if (t == LUA_TSTRING) {
      want.kind = LKind::Text;
      want.text = lua_tostring(L, o.positive);
    } else if (t == LUA_TNUMBER) {
      want.kind = LKind::Number;
      want.num = lua_tonumber(L, o.positive);
      // true/1 = positive: a number names a boolean class as 1 (true) or 0 (false).
      if (kind == LKind::Boolean && (want.num == 1 || want.num == 0)) want.kind = LKind::Boolean;
    } else if (t == LUA_TBOOLEAN) {
      want.kind = LKind::Boolean;
      want.num = lua_toboolean(L, o.positive) ? 1 : 0;
      if (kind == LKind::Number && want.num == 1) want.kind = LKind::Number;
    } else {
      throw ArgError(idx, fmt::format("{}: option 'positive' must be one of the two label values (text, a number or "
                                      "a boolean), got a {}",
                                      what, lua_typename(L, t)));
    }
    if (want.kind != kind)
      throw ArgError(idx, fmt::format("{}: positive = {} but the labels are {}: {}", what, show_label(want),
                                      kind_name(kind), list_values(d.values, false)));
  } else if (kind == LKind::Boolean) {
    want.num = 1;
  } else if (kind == LKind::Number) {
    bool pm = true, zo = true;
    for (const auto& v : d.values) {
      pm = pm && (v.value.num == 1 || v.value.num == -1);
      zo = zo && (v.value.num == 1 || v.value.num == 0);
    }
    if (!pm && !zo)
      throw ArgError(idx, fmt::format("{}: the labels are the numbers {}; labels must be +1/-1, 1/0 or true/false{}",
                                      what, list_values(d.values, false),
                                      o.takes_positive ? fmt::format(", or name the positive class, e.g. positive = {}",
                                                                     show_label(d.values.back().value))
                                                       : std::string()));
    want.num = 1;
  } else {
    throw ArgError(idx, fmt::format("{}: the labels are text, {}; say which class is the positive one (+1){}", what,
                                    list_values(d.values, false),
                                    o.takes_positive
                                        ? fmt::format(", e.g. {{ positive = \"{}\" }}", d.values.front().value.text)
                                        : std::string(": this function takes true/false, +1/-1 or 1/0, so recode them")));
  }
  for (std::size_t j = 0; j < d.values.size(); ++j)
    if (same_label(d.values[j].value, want)) d.positive = static_cast<int>(j);
  if (o.positive && d.positive < 0 && d.values.size() == 2)
    throw ArgError(idx, fmt::format("{}: positive = {} is not one of the labels, which are {}", what,
                                    show_label(want), list_values(d.values, false)));
  d.classes.kind = kind == LKind::Text      ? nl::ml::ClassLabels::Kind::Text
                   : kind == LKind::Boolean ? nl::ml::ClassLabels::Kind::Boolean
                                            : nl::ml::ClassLabels::Kind::Number;
  d.classes.positive = raw_label(want);
  d.classes.negative.clear();
  for (std::size_t j = 0; j < d.values.size(); ++j)
    if (static_cast<int>(j) != d.positive) d.classes.negative = raw_label(d.values[j].value);
  if (o.known && o.known->kind == d.classes.kind && d.classes.negative.empty()) d.classes.negative = o.known->negative;
  return d;
}

}  // namespace

lua_Integer validate_labels(lua_State* L, int idx, const char* what, const LabelOptions& o) {
  VecSrc src;
  const lua_Integer n = vector_length(L, idx, what, src);
  if (n == 0) luaL_argerror(L, idx, lua_pushfstring(L, "%s are empty", what));
  protect(L, [&] {
    decode_labels(L, idx, what, o, src, n);
    return 0;
  });
  return n;
}

void read_labels(lua_State* L, int idx, nl::Vector& y, const LabelOptions& o, nl::ml::ClassLabels* classes) {
  VecSrc src;
  // Validated before: vector_length cannot raise here.
  vector_length(L, idx, "labels", src);
  const Decoded d = decode_labels(L, idx, "labels", o, src, static_cast<lua_Integer>(y.size()));
  for (Eigen::Index k = 0; k < y.size(); ++k) y(k) = d.cls[static_cast<std::size_t>(k)] == d.positive ? 1.0 : -1.0;
  if (classes) *classes = d.classes;
}

void push_positive(lua_State* L, const nl::ml::ClassLabels& c) {
  switch (c.kind) {
    case nl::ml::ClassLabels::Kind::Text: lua_pushlstring(L, c.positive.data(), c.positive.size()); break;
    case nl::ml::ClassLabels::Kind::Boolean: lua_pushboolean(L, c.positive == "true"); break;
    case nl::ml::ClassLabels::Kind::Number:
      if (lua_stringtonumber(L, c.positive.c_str()) == 0) lua_pushinteger(L, 1);
      break;
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

// ---------------------------------------------------------------- metrics records

namespace {

constexpr const char* kMetrics = "neurolua.Metrics";
constexpr const char* kRoc = "neurolua.ROC";
constexpr const char* kRegression = "neurolua.RegressionMetrics";

// "n 40  r 0.712  R^2 0.498  MAE 3.21  RMSE 4.05"
int regression_tostring(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  auto num = [&](const char* k) {
    lua_getfield(L, 1, k);
    const double v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
  };
  char buf[256];
  std::snprintf(buf, sizeof buf, "n %.0f  r %.3f  R^2 %.3f  MAE %.4g  RMSE %.4g", num("n"), num("r"), num("r2"),
                num("mae"), num("rmse"));
  lua_pushstring(L, buf);
  return 1;
}

// One line, ratios as percentages: "TP 12  TN 30 ... BAC 72.7 % ... AUC 0.801".
int metrics_tostring(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  auto num = [&](const char* k) {
    lua_getfield(L, 1, k);  // rawget semantics for present keys; __index raises for absent ones
    const double v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
  };
  const double tp = num("tp"), tn = num("tn"), fp = num("fp"), fn = num("fn");
  const double sens = num("sensitivity"), spec = num("specificity"), bac = num("bac"), ppv = num("ppv"),
               npv = num("npv"), acc = num("accuracy"), auc = num("auc");
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "TP %.0f  TN %.0f  FP %.0f  FN %.0f  sensitivity %.1f %%  specificity %.1f %%  BAC %.1f %%  "
                "PPV %.1f %%  NPV %.1f %%  accuracy %.1f %%  AUC %.3f",
                tp, tn, fp, fn, 100 * sens, 100 * spec, 100 * bac, 100 * ppv, 100 * npv, 100 * acc, auc);
  lua_pushstring(L, buf);
  return 1;
}


int roc_tostring(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "fpr");
  const auto* fpr = test<nl::Matrix>(L, -1);
  lua_pushfstring(L, "ROC curve: %d points (fields fpr, tpr, thresholds; nl.ml.metrics.auc gives the area)",
                  fpr ? static_cast<int>(fpr->size()) : 0);
  return 1;
}

// An n x 1 Matrix holding v (inside protect: raises only when Lua is out of memory).
void push_column_vector(lua_State* L, const nl::Vector& v) {
  *new_object<nl::Matrix>(L) = std::make_shared<nl::Matrix>(v);
}

}  // namespace

void push_metrics(lua_State* L, const nl::ml::Confusion& c, double auc) {
  lua_createtable(L, 0, 12);
  set_integer(L, "tp", c.TP);
  set_integer(L, "tn", c.TN);
  set_integer(L, "fp", c.FP);
  set_integer(L, "fn", c.FN);
  set_integer(L, "undecided", c.undecided);
  set_number(L, "sensitivity", c.sensitivity);
  set_number(L, "specificity", c.specificity);
  set_number(L, "bac", c.BAC);
  set_number(L, "ppv", c.PPV);
  set_number(L, "npv", c.NPV);
  set_number(L, "accuracy", c.accuracy);
  set_number(L, "auc", auc);
  luaL_setmetatable(L, kMetrics);
}

void push_regression_metrics(lua_State* L, const nl::ml::RegressionMetrics& m) {
  lua_createtable(L, 0, 5);
  set_integer(L, "n", m.n);
  set_number(L, "r", m.r);
  set_number(L, "r2", m.r2);
  set_number(L, "mae", m.mae);
  set_number(L, "rmse", m.rmse);
  luaL_setmetatable(L, kRegression);
}

void push_roc(lua_State* L, const nl::ml::RocCurve& r) {
  lua_createtable(L, 0, 3);
  push_column_vector(L, r.fpr);
  lua_setfield(L, -2, "fpr");
  push_column_vector(L, r.tpr);
  lua_setfield(L, -2, "tpr");
  push_column_vector(L, r.thresholds);
  lua_setfield(L, -2, "thresholds");
  luaL_setmetatable(L, kRoc);
}

void register_ml_records(lua_State* L) {
  // Metrics keys in one case (docs/reference/neurolua.md); the upper-case names of
  // neurolua 0.1 stay readable until 0.3.
  register_record(L, kMetrics,
                  {"tp", "tn", "fp", "fn", "undecided", "sensitivity", "specificity", "bac", "ppv", "npv", "accuracy",
                   "auc"},
                  metrics_tostring,
                  {{"TP", "tp"}, {"TN", "tn"}, {"FP", "fp"}, {"FN", "fn"}, {"BAC", "bac"}, {"PPV", "ppv"},
                   {"NPV", "npv"}, {"AUC", "auc"}});
  register_record(L, kRoc, {"fpr", "tpr", "thresholds"}, roc_tostring);
  register_record(L, kRegression, {"n", "r", "r2", "mae", "rmse"}, regression_tostring);
}

// ---------------------------------------------------------------- unseen levels

namespace {

constexpr const char* kUnseenShape = "option 'unseen' must be \"error\", \"drop\" or a table such as { site = \"A\" }";

// The action of a string value: 0 error, 1 drop, 2 a level.
int unseen_action(const char* v) {
  if (std::strcmp(v, "error") == 0) return 0;
  if (std::strcmp(v, "drop") == 0) return 1;
  return 2;
}

nl::ml::UnseenRule unseen_rule(const char* v) {
  switch (unseen_action(v)) {
    case 0: return {nl::ml::UnseenAction::Error, ""};
    case 1: return {nl::ml::UnseenAction::Drop, ""};
    default: return {nl::ml::UnseenAction::Level, v};
  }
}

}  // namespace

bool validate_unseen(lua_State* L, int opts) {
  if (!lua_istable(L, opts)) return false;
  const int t = lua_getfield(L, opts, "unseen");
  const int v = lua_gettop(L);
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return false;
  }
  if (t == LUA_TSTRING) {
    if (unseen_action(lua_tostring(L, v)) == 2)
      luaL_argerror(L, opts, lua_pushfstring(L, "%s, got \"%s\" (a level is chosen per column)", kUnseenShape,
                                             lua_tostring(L, v)));
    lua_pop(L, 1);
    return true;
  }
  if (t != LUA_TTABLE) luaL_argerror(L, opts, lua_pushfstring(L, "%s, got %s", kUnseenShape, luaL_typename(L, v)));
  bool any = false;
  lua_pushnil(L);
  while (lua_next(L, v) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_argerror(L, opts, lua_pushfstring(L, "option 'unseen' must map column names to a level or to \"drop\" / "
                                                "\"error\", e.g. { site = \"A\" }; got a %s key",
                                             luaL_typename(L, -2)));
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_argerror(L, opts, lua_pushfstring(L, "option 'unseen': the entry for column '%s' must be a level (a "
                                                "string) or \"drop\" / \"error\", got %s",
                                             lua_tostring(L, -2), luaL_typename(L, -1)));
    any = true;
    lua_pop(L, 1);
  }
  if (!any) luaL_argerror(L, opts, "option 'unseen' is an empty table; name a column, e.g. { site = \"A\" }");
  lua_pop(L, 1);
  return true;
}

nl::ml::UnseenPolicy read_unseen(lua_State* L, int opts) {
  nl::ml::UnseenPolicy p;
  lua_getfield(L, opts, "unseen");
  if (lua_type(L, -1) == LUA_TSTRING) {
    p.all = unseen_rule(lua_tostring(L, -1));
  } else {
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {  // keys and values are strings (validate_unseen)
      p.columns[lua_tostring(L, -2)] = unseen_rule(lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  return p;
}

void check_unseen_steps(const nl::ml::UnseenPolicy& unseen,
                        const std::vector<std::shared_ptr<const nl::ml::Transform>>& steps, int opts) {
  std::vector<std::string> read;
  bool any = false;
  for (const auto& s : steps)
    if (s->name() == "regress_out") {
      any = true;
      for (auto& c : s->covariates_used()) read.push_back(std::move(c));
    }
  if (!any)
    throw ArgError(opts, "option 'unseen' applies to regress_out's text covariates, and the pipeline has no "
                         "regress_out step");
  for (const auto& [column, rule] : unseen.columns)
    if (std::find(read.begin(), read.end(), column) == read.end())
      throw ArgError(opts, fmt::format("option 'unseen' names column '{}', which is not one of regress_out's "
                                       "covariates ('{}')",
                                       column, fmt::join(read, "', '")));
}

}  // namespace nl::bind

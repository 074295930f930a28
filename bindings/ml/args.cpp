// bindings/ml/args.cpp: reading label and score vectors from Lua values, and the
// metrics and ROC records (see bindings/ml/args.hpp).
#include <cmath>
#include <cstdio>
#include <cstring>

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

// ---------------------------------------------------------------- metrics records

namespace {

constexpr const char* kMetrics = "neurolua.Metrics";
constexpr const char* kRoc = "neurolua.ROC";

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
}

}  // namespace nl::bind

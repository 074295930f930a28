// bindings/ml/args.hpp: pieces shared by the nl.ml binding files: the type names of the
// objects they exchange and the checks of option tables.
#pragma once

#include <initializer_list>
#include <string_view>

#include "core/args.hpp"
#include "core/common.hpp"
#include "core/types.hpp"
#include "nl/core/linalg.hpp"
#include "nl/ml/metrics.hpp"
#include "nl/ml/transform.hpp"
#include "nl/table/table.hpp"

namespace nl::bind {

// The Table in the `covariates` field of the options table at idx, or nullptr when the
// options or the field are absent. The Table stays referenced by the options table.
inline const nl::Table* opt_covariates(lua_State* L, int idx, const char* what) {
  if (lua_isnoneornil(L, idx)) return nullptr;
  check_options(L, idx, what, {"covariates"});
  lua_getfield(L, idx, "covariates");
  const nl::Table* t = nullptr;
  if (!lua_isnil(L, -1)) {
    t = test<nl::Table>(L, -1);
    if (!t) luaL_argerror(L, idx, lua_pushfstring(L, "option 'covariates' must be a neurolua.Table, got %s",
                                                  luaL_typename(L, -1)));
  }
  lua_pop(L, 1);
  return t;
}

// ---------------------------------------------------------------- labels and scores

// A vector argument: a Matrix with one row or one column, a Column, or a Lua array.
// Validation and reading are split (validate_* raises, read_* cannot), so no C++ object
// is alive in a frame that may longjmp.
enum class VecKind { Matrix, Column, Array };

// Labels: booleans (true = +1), numbers all in {+1, -1}, or numbers all in {1, 0}
// (1 = +1). Missing values and anything else raise, naming the position. Returns n.
lua_Integer validate_labels(lua_State* L, int idx, const char* what);
// Fills y (already sized n) with +1/-1.
void read_labels(lua_State* L, int idx, nl::Vector& y);

// Scores: finite or not, numbers only (a Bool column is refused). Returns n.
lua_Integer validate_scores(lua_State* L, int idx, const char* what);
void read_scores(lua_State* L, int idx, nl::Vector& s);

// ---------------------------------------------------------------- metrics records

// Pushes a neurolua.Metrics record: tp, tn, fp, fn, undecided (counts) and sensitivity,
// specificity, bac, ppv, npv, accuracy, auc (ratios in [0, 1]; printing shows them as
// percentages). The old upper-case keys (BAC, AUC, TP, ...) read as deprecated aliases.
// Raises only when Lua is out of memory (may run inside protect()).
void push_metrics(lua_State* L, const nl::ml::Confusion& c, double auc);

// Pushes a neurolua.ROC record {fpr = Matrix, tpr = Matrix, thresholds = Matrix}.
void push_roc(lua_State* L, const nl::ml::RocCurve& r);

// Registers the metatables of the records above (once, from open_ml_models).
void register_ml_records(lua_State* L);

}  // namespace nl::bind

// bindings/ml/args.hpp: pieces shared by the nl.ml binding files: the type names of the
// objects they exchange and the checks of option tables.
#pragma once

#include <initializer_list>
#include <memory>
#include <string_view>
#include <vector>

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
// with_unseen: the options may also hold `unseen` (read with the helpers below).
inline const nl::Table* opt_covariates(lua_State* L, int idx, const char* what, bool with_unseen = false) {
  if (lua_isnoneornil(L, idx)) return nullptr;
  if (with_unseen) check_options(L, idx, what, {"covariates", "unseen"});
  else check_options(L, idx, what, {"covariates"});
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

// ---------------------------------------------------------------- unseen levels

// The `unseen` field of the options table at opts (nl/ml/transform.hpp, UnseenPolicy):
// "error", "drop", or a table mapping column names to a training level or to "drop" /
// "error" ({ site = "A" }). A level literally named "drop" or "error" is read as that
// action. validate_unseen raises naming argument `opts` for any other value and
// returns whether the field is set; read_unseen (inside protect(), after
// validate_unseen) builds the policy and cannot raise.
bool validate_unseen(lua_State* L, int opts);
nl::ml::UnseenPolicy read_unseen(lua_State* L, int opts);
// Throws ArgError(opts) unless `unseen` can apply to `steps`: some step is a
// regress_out and every column it names is read by one (call inside protect()).
void check_unseen_steps(const nl::ml::UnseenPolicy& unseen,
                        const std::vector<std::shared_ptr<const nl::ml::Transform>>& steps, int opts);

// ---------------------------------------------------------------- labels and scores

// A vector argument: a Matrix with one row or one column, a Column, or a Lua array.
// Validation and reading are split (validate_* raises, read_* cannot), so no C++ object
// is alive in a frame that may longjmp.
enum class VecKind { Matrix, Column, Array };

// Labels: two classes, given as booleans, numbers or text (a Lua list, a Column or a
// one-column Matrix), mapped to +1 (the positive class) and -1. Without a positive
// class: booleans (true = +1), numbers all in {+1, -1} or all in {1, 0} (1 = +1); text
// or other numbers raise, listing the values found and how to choose (positive =
// "responder"). More than two distinct values, a missing entry (naming the row and,
// with `ids`, the participant) or a mix of kinds raise too.
struct LabelOptions {
  int positive = 0;                            // stack index of the `positive` value; 0: none
  const nl::Table* ids = nullptr;              // its participant_id column names rows in messages
  const nl::ml::ClassLabels* known = nullptr;  // text labels must be one of these classes
  bool takes_positive = true;                  // the caller has option `positive` (for hints)
};

// Validates the labels at idx (raises naming the argument); returns their number.
lua_Integer validate_labels(lua_State* L, int idx, const char* what, const LabelOptions& o = {});
// Fills y (already sized n) with +1/-1 and, when given, classes with the coding. Call
// inside protect() after validate_labels (it throws ArgError, it does not raise).
void read_labels(lua_State* L, int idx, nl::Vector& y, const LabelOptions& o = {},
                 nl::ml::ClassLabels* classes = nullptr);
// Pushes the positive class of `c` as a Lua value (a string, number or boolean), to
// serve as the default `positive` of new labels.
void push_positive(lua_State* L, const nl::ml::ClassLabels& c);

// Scores: finite or not, numbers only (a Bool column is refused). Returns n.
lua_Integer validate_scores(lua_State* L, int idx, const char* what);
void read_scores(lua_State* L, int idx, nl::Vector& s);

// ---------------------------------------------------------------- metrics records

// Pushes a neurolua.Metrics record: tp, tn, fp, fn, undecided (counts) and sensitivity,
// specificity, bac, ppv, npv, accuracy, auc (ratios in [0, 1]; printing shows them as
// percentages). The old upper-case keys (BAC, AUC, TP, ...) read as deprecated aliases.
// Raises only when Lua is out of memory (may run inside protect()).
void push_metrics(lua_State* L, const nl::ml::Confusion& c, double auc);

// Pushes a neurolua.RegressionMetrics record: n, r, r2, mae, rmse (nl/ml/metrics.hpp).
void push_regression_metrics(lua_State* L, const nl::ml::RegressionMetrics& m);

// Pushes a neurolua.ROC record {fpr = Matrix, tpr = Matrix, thresholds = Matrix}.
void push_roc(lua_State* L, const nl::ml::RocCurve& r);

// Registers the metatables of the records above (once, from open_ml_models).
void register_ml_records(lua_State* L);

}  // namespace nl::bind

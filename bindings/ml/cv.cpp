// cv.cpp: nl.cv.nested, repeated nested cross-validation of a pipeline, and its result
// ("neurolua.CVResult").
//
//   local r = nl.cv.nested(pipe, X, y, { covariates = t, outer = {3, 5}, inner = {3, 5},
//                                        permutations = 1000, seed = 1 })
//   print(r)            -- the paper's Table 2 row
//   r.median_           -- per-subject median decision scores
#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>

#include "core/common.hpp"
#include "core/fields.hpp"
#include "ml/args.hpp"
#include "ml/cv_folds.hpp"
#include "ml/lua_step.hpp"
#include "ml/objects.hpp"
#include "nl/ml/interpret.hpp"
#include "nl/ml/nested_cv.hpp"
#include "core/types.hpp"

namespace nl::bind {

// Defined in bindings/ml/model.cpp: the spec and C grid of a neurolua.Pipeline argument.
const nl::ml::PipelineSpec* pipeline_spec(lua_State* L, int idx, const std::vector<double>** grid);

struct CvObject {
  nl::ml::PipelineSpec spec;
  nl::ml::NestedCvResult result;
  std::optional<nl::ml::PermutationResult> permutations;
  nl::ml::PermutationMode mode = nl::ml::PermutationMode::NeuroMiner;
};

template <>
struct TypeName<CvObject> {
  static constexpr const char* value = "neurolua.CVResult";
};

// The result of CVResult:apply: external ("OOCV") predictions.
struct PredictionObject {
  nl::ml::ExternalScores scores;
  std::size_t n_models = 0;
  bool labelled = false;
  Vector labels;  // +1/-1 (a regressor: the targets), when labelled
  nl::ml::Confusion metrics;
  double auc = 0.0;
  std::optional<nl::ml::RegressionMetrics> regression;  // a regressor's, when labelled
  std::optional<nl::ml::PermutationResult> permutations;
  nl::ml::ClassLabels classes;  // the training's coding of +1 / -1
};

template <>
struct TypeName<PredictionObject> {
  static constexpr const char* value = "neurolua.Prediction";
};

namespace {

using nl::Matrix;
using nl::Vector;

// Features at idx: a Matrix, or a Table of number columns (whose names are kept).
struct Features {
  const Matrix* matrix = nullptr;
  const nl::Table* table = nullptr;
  lua_Integer rows() const { return matrix ? matrix->rows() : static_cast<lua_Integer>(table->nrows()); }
  // Call inside protect(): the Table's columns may be the wrong type. A missing or
  // non-finite value in a Table is reported here by column name (the engine names a
  // Matrix column by number); missing values (NA, NaN) pass when the pipeline's first
  // step imputes them. `what` starts the message ("nested CV").
  template <class Steps>
  Matrix get(std::vector<std::string>* names, const char* what, const Steps& steps) const {
    if (matrix) return *matrix;
    if (names) *names = table->names();
    const auto n = static_cast<Eigen::Index>(table->nrows());
    Matrix X(n, static_cast<Eigen::Index>(table->ncols()));
    const bool imputes = !steps.empty() && steps.front()->name() == "impute";
    for (Eigen::Index j = 0; j < X.cols(); ++j) {
      const nl::Column& col = *table->columns()[static_cast<std::size_t>(j)];
      if (col.type() == nl::ColumnType::String)
        throw nl::ValueError(fmt::format("{}: feature column '{}' holds strings; features must be numbers", what,
                                         col.name()));
      for (Eigen::Index i = 0; i < X.rows(); ++i) {
        const auto r = static_cast<std::size_t>(i);
        X(i, j) = col.is_missing(r) ? std::numeric_limits<double>::quiet_NaN() : col.numeric(r);
        const bool missing = col.is_missing(r) || std::isnan(X(i, j));
        if (std::isfinite(X(i, j)) || (missing && imputes)) continue;
        if (missing)
          throw nl::ValueError(fmt::format(
              "{}: feature column '{}' has a missing value ({}) in row {}; add nl.ml.impute{{}} as the first "
              "pipeline step (fitted on each training fold) or leave the participant out",
              what, col.name(), col.is_missing(static_cast<std::size_t>(i)) ? "NA" : "NaN", i + 1));
        throw nl::ValueError(fmt::format("{}: feature column '{}' has a non-finite value ({}) in row {}", what,
                                         col.name(), X(i, j), i + 1));
      }
    }
    return X;
  }
};

Features check_features(lua_State* L, int idx) {
  Features f;
  f.matrix = test<Matrix>(L, idx);
  if (!f.matrix) f.table = test<nl::Table>(L, idx);
  if (!f.matrix && !f.table)
    luaL_argerror(L, idx, lua_pushfstring(L, "features must be a neurolua.Matrix or a neurolua.Table, got %s",
                                          luaL_typename(L, idx)));
  return f;
}

// nl.cv.nested(pipeline, X, y [, options])
int nested(lua_State* L) {
  const std::vector<double>* grid = nullptr;
  const nl::ml::PipelineSpec* spec = pipeline_spec(L, 1, &grid);
  const Features features = check_features(L, 2);
  nl::ml::NestedCvOptions o;
  int permutations = 0;
  auto mode = nl::ml::PermutationMode::NeuroMiner;
  const nl::Table* cov = nullptr;
  int user_reps = 0;
  // Stack: 4 options, 5 their `positive` value (kept there for reading the labels).
  nl::ml::PermutationSettings settings;
  check_options(L, 4, "nested",
                {"covariates", "outer", "inner", "seed", "permutations", "mode", "folds", "positive",
                 "refit_preprocessing", "permutation_scoring", "keep_null", "groups", "criterion", "checkpoint",
                 "checkpoint_every"});
  CheckpointArgs checkpoint;
  bool logo = false;
  const bool regression = nl::ml::is_regression(spec->svc.estimator);
  // A regression's folds are plain k-fold (no classes to stratify by) unless asked.
  if (regression) o.stratify_outer = o.stratify_inner = false;
  nl::ml::Criterion criterion = nl::ml::Criterion::Default;
  lua_settop(L, 4);
  LabelOptions lo;
  if (lua_istable(L, 4)) lua_getfield(L, 4, "positive");
  else lua_pushnil(L);
  if (!lua_isnil(L, 5)) lo.positive = 5;
  if (!lua_isnoneornil(L, 4)) {
    lua_getfield(L, 4, "covariates");
    if (!lua_isnil(L, -1) && !(cov = test<nl::Table>(L, -1)))
      luaL_argerror(L, 4, "option 'covariates' must be a neurolua.Table");
    lo.ids = cov;
    lua_getfield(L, 4, "outer");
    const bool outer_given = !lua_isnil(L, -1);
    lua_pop(L, 1);
    opt_pair(L, 4, "outer", o.outer_folds, o.outer_repeats, &o.stratify_outer, &logo);
    opt_pair(L, 4, "inner", o.inner_folds, o.inner_repeats, &o.stratify_inner);
    // Your own folds without `outer`: as many folds as their largest number.
    if (!outer_given)
      if (const int k = max_user_fold(L, 4); k >= 2) o.outer_folds = k;
    o.seed = static_cast<std::uint64_t>(
        opt_integer(L, 4, "seed", LUA_MININTEGER, LUA_MAXINTEGER, static_cast<lua_Integer>(o.seed)));
    permutations = static_cast<int>(opt_integer(L, 4, "permutations", 0, 1000000, 0));
    mode = opt_choice(L, 4, "mode", {"neurominer", "full"}, 0) == 1 ? nl::ml::PermutationMode::Full
                                                                     : nl::ml::PermutationMode::NeuroMiner;
    o.refit_preprocessing = opt_boolean(L, 4, "refit_preprocessing", true);
    const int scoring = opt_choice(L, 4, "permutation_scoring", {"original", "permuted"}, -1);
    if (scoring >= 0) settings.scoring = static_cast<nl::ml::PermutationScoring>(scoring);
    settings.keep_null = opt_boolean(L, 4, "keep_null", false);
    checkpoint = opt_checkpoint(L, 4);
    if (checkpoint.path && permutations == 0)
      luaL_argerror(L, 4, "option 'checkpoint' saves a permutation test: it needs 'permutations'");
    const int c = opt_choice(L, 4, "criterion", {"bac", "mae", "rmse", "r", "r2"}, -1);
    if (c >= 0) {
      criterion = static_cast<nl::ml::Criterion>(c + 1);
      if (regression == (criterion == nl::ml::Criterion::Bac))
        luaL_argerror(L, 4, lua_pushfstring(L, "criterion '%s' does not apply to %s, a %s (%s)",
                                            nl::ml::criterion_name(criterion), nl::ml::estimator_name(spec->svc.estimator),
                                            regression ? "regression" : "classifier",
                                            regression ? "\"mae\", \"rmse\", \"r\" or \"r2\"" : "\"bac\""));
    }
    lua_settop(L, 5);
  }
  const lua_Integer n = validate_targets(L, 3, "labels", spec->svc, lo);
  if (n != features.rows())
    luaL_argerror(L, 3, lua_pushfstring(L, "%d %s for %d rows of data", (int)n, regression ? "targets" : "labels",
                                        (int)features.rows()));
  if (logo) {
    if (raw_field(L, 4, "groups") == LUA_TNIL)
      luaL_argerror(L, 4, "outer = \"leave_one_group_out\" needs option 'groups' (e.g. groups = t.site)");
    lua_pop(L, 1);
    if (raw_field(L, 4, "folds") != LUA_TNIL)
      luaL_argerror(L, 4, "options 'folds' and outer = \"leave_one_group_out\" exclude each other");
    lua_pop(L, 1);
  }
  if (!lua_isnoneornil(L, 4)) user_reps = validate_user_folds(L, 4, n, o.outer_folds);
  auto* slot = new_object<CvObject>(L);
  return protect(L, [&] {
    // Everything that owns memory lives in here: a Lua error raised after protect()
    // returns skips no destructor.
    nl::ml::NestedCvOptions opts = o;
    Vector y(n);
    nl::ml::ClassLabels classes;
    read_targets(L, 3, y, spec->svc, lo, &classes);
    if (!lua_isnoneornil(L, 4)) {
      const std::size_t n_groups = read_groups(L, 4, n, cov, opts.groups);
      if (logo) {
        if (n_groups < 2) throw ArgError(4, "outer = \"leave_one_group_out\" needs at least 2 groups, got 1");
        // One fold per group, one repeat; the groups keep the inner folds grouped too.
        opts.outer_assignment = {nl::ml::leave_one_group_out(opts.groups)};
        opts.outer_folds = static_cast<int>(n_groups);
        opts.outer_repeats = 1;
      }
    }
    if (user_reps > 0) {
      opts.outer_assignment.assign(static_cast<std::size_t>(user_reps), std::vector<int>(static_cast<std::size_t>(n)));
      read_user_folds(L, 4, opts.outer_folds, opts.outer_assignment);
      opts.outer_repeats = user_reps;
    }
    auto cv = std::make_shared<CvObject>();
    std::vector<std::string> names;
    const Matrix X = features.get(&names, "nested CV", spec->steps);
    cv->spec = *spec;
    cv->spec.svc.criterion = criterion;
    cv->mode = mode;
    const LuaStepScope lua_steps(has_lua_steps(cv->spec));
    cv->result = nl::ml::nested_cv(cv->spec, *grid, X, y, cov, opts, progress_reporter("nested CV", " fits"));
    cv->result.feature_names = std::move(names);
    cv->result.classes = std::move(classes);
    if (permutations > 0) {
      nl::ml::PermutationSettings s = settings;
      if (checkpoint.path) s.checkpoint = {checkpoint.path, checkpoint.every};
      cv->permutations = nl::ml::permutation_test(cv->spec, cv->result, X, y, cov, opts, permutations, mode,
                                                  progress_reporter("permutations", "", permutations), s);
    }
    *slot = std::move(cv);
    return 1;
  });
}

// ---------------------------------------------------------------- result

// The permutation p as printed everywhere: (count + 1) / (n + 1), with the count and n
// ("p = 0.0010 (0 of 1000 permutations reached the observed BAC)").
std::string p_text(const nl::ml::PermutationResult& pr) {
  return fmt::format("p = {:.4f} ({} of {} permutations reached the observed {})", pr.p_plus_one, pr.count,
                     pr.bac.size(), pr.statistic);
}

// The paper's Table 2 row: counts, rates, AUC and the permutation p.
std::string table2_row(const nl::ml::Confusion& c, double auc, const std::optional<nl::ml::PermutationResult>& perm) {
  const std::string p = perm ? p_text(*perm) : std::string("p n/a");
  return fmt::format(
      "  TP {}  TN {}  FP {}  FN {}  sensitivity {:.1f} %  specificity {:.1f} %  BAC {:.1f} %  "
      "PPV {:.1f} %  NPV {:.1f} %  AUC {:.3f}  {}",
      c.TP, c.TN, c.FP, c.FN, 100 * c.sensitivity, 100 * c.specificity, 100 * c.BAC, 100 * c.PPV, 100 * c.NPV, auc, p);
}

// A regression's line: "n 40  r 0.712  R^2 0.498  MAE 3.21  RMSE 4.05  p = ...".
std::string regression_row(const nl::ml::RegressionMetrics& m, const std::optional<nl::ml::PermutationResult>& perm) {
  return fmt::format("  n {}  r {:.3f}  R^2 {:.3f}  MAE {:.4g}  RMSE {:.4g}  {}", m.n, m.r, m.r2, m.mae, m.rmse,
                     perm ? p_text(*perm) : std::string("p n/a"));
}

// The fields of a permutation result (nil without one: is_perm_field).
bool is_perm_field(std::string_view key) {
  return key == "p_" || key == "p_plus_one_" || key == "p_count_" || key == "permutation_count_" ||
         key == "n_permutations_" || key == "permutation_bac_" || key == "permutation_scoring_" ||
         key == "null_labels_" || key == "null_scores_" || key == "permutation_statistic_";
}

// A list of per-permutation vectors as an n_permutations x n Matrix (nil when not kept).
void push_rows(lua_State* L, const std::vector<Vector>& rows) {
  if (rows.empty()) {
    lua_pushnil(L);
    return;
  }
  push_new<Matrix>(L, [&] {
    Matrix m(static_cast<Eigen::Index>(rows.size()), rows.front().size());
    for (std::size_t k = 0; k < rows.size(); ++k) m.row(static_cast<Eigen::Index>(k)) = rows[k].transpose();
    return m;
  });
}

void push_perm_field(lua_State* L, const nl::ml::PermutationResult& pr, std::string_view key) {
  if (key == "p_" || key == "p_plus_one_") lua_pushnumber(L, pr.p_plus_one);
  else if (key == "p_count_") lua_pushnumber(L, pr.p_count);
  else if (key == "permutation_count_") lua_pushinteger(L, pr.count);
  else if (key == "n_permutations_") lua_pushinteger(L, static_cast<lua_Integer>(pr.bac.size()));
  else if (key == "permutation_scoring_")
    lua_pushstring(L, pr.scoring == nl::ml::PermutationScoring::Original ? "original" : "permuted");
  else if (key == "null_labels_") push_rows(L, pr.null_labels);
  else if (key == "permutation_statistic_") lua_pushlstring(L, pr.statistic.data(), pr.statistic.size());
  else if (key == "null_scores_") push_rows(L, pr.null_medians);
  else push_new<Matrix>(L, [&] { return Matrix(Eigen::Map<const Vector>(pr.bac.data(), static_cast<Eigen::Index>(pr.bac.size()))); });
}

// The class line of a printed result: "classes: +1 = 'responder' (52), -1 = 'nonresponder' (47)".
std::string classes_line(const nl::ml::ClassLabels& c, const Vector& y) {
  const auto pos = (y.array() > 0).count(), neg = (y.array() < 0).count();
  const auto show = [&](const std::string& v) {
    return c.kind == nl::ml::ClassLabels::Kind::Text ? fmt::format("'{}'", v) : v;
  };
  return fmt::format("  classes: +1 = {} ({}), -1 = {} ({})", show(c.positive), pos,
                     c.negative.empty() ? std::string("(none)") : show(c.negative), neg);
}

// Pushes a class value as the caller gave it (text, number or boolean); nil when empty.
void push_class(lua_State* L, const nl::ml::ClassLabels& c, const std::string& v) {
  if (v.empty()) lua_pushnil(L);
  else if (c.kind == nl::ml::ClassLabels::Kind::Text) lua_pushlstring(L, v.data(), v.size());
  else if (c.kind == nl::ml::ClassLabels::Kind::Boolean) lua_pushboolean(L, v == "true");
  else if (lua_stringtonumber(L, v.c_str()) == 0) lua_pushnil(L);
}

// r.<field>: a learned field, a method, or an error naming the fields (no_field).
// p_, p_plus_one_ and permutation_bac_ are nil when the CV ran no permutations.
int r_index(lua_State* L) {
  CvObject& cv = check<CvObject>(L, 1);
  if (push_method(L, 2)) return 1;
  if (lua_type(L, 2) != LUA_TSTRING) return no_field(L, 1, 2);
  const std::string_view key = lua_tostring(L, 2);
  const auto& r = cv.result;
  if (key == "median_") {
    push_new<Matrix>(L, [&] { return Matrix(r.median); });
  } else if (key == "chosen_C_" || key == "chosen_gamma_") {
    if (key == "chosen_gamma_" && cv.spec.svc.gamma_grid.empty()) {
      lua_pushnil(L);
      return 1;
    }
    lua_createtable(L, static_cast<int>(r.chosen.size()), 0);
    for (std::size_t k = 0; k < r.chosen.size(); ++k) {
      const auto at = nl::ml::at_grid_point(cv.spec.svc, r.grid, static_cast<std::size_t>(r.chosen[k]));
      lua_pushnumber(L, key == "chosen_C_" ? at.C : at.gamma);
      lua_rawseti(L, -2, static_cast<lua_Integer>(k + 1));
    }
  } else if (key == "inner_bac_") {
    const std::size_t G = r.inner_bac.empty() ? 0 : r.inner_bac.front().size();
    return push_new<Matrix>(L, [&] {
      Matrix m(static_cast<Eigen::Index>(r.inner_bac.size()), static_cast<Eigen::Index>(G));
      for (std::size_t o = 0; o < r.inner_bac.size(); ++o)
        for (std::size_t g = 0; g < G; ++g) m(static_cast<Eigen::Index>(o), static_cast<Eigen::Index>(g)) = r.inner_bac[o][g];
      return m;
    });
  } else if (key == "models_") {
    lua_pushinteger(L, static_cast<lua_Integer>(r.models.size()));
  } else if (key == "metrics_") {
    if (r.regression) push_regression_metrics(L, *r.regression);
    else push_metrics(L, r.metrics, r.auc);
  } else if (key == "criterion_") {
    const nl::ml::Criterion c = nl::ml::resolve_criterion(cv.spec.svc);
    lua_pushstring(L, nl::ml::criterion_name(c));
  } else if (key == "feature_names_") {
    push_strings(L, r.feature_names);
  } else if (key == "seed_") {
    lua_pushinteger(L, static_cast<lua_Integer>(r.options.seed));
  } else if (key == "y_") {
    push_new<Matrix>(L, [&] { return Matrix(r.data->y); });
  } else if (key == "positive_") {
    push_positive(L, r.classes);
  } else if (key == "negative_") {
    push_class(L, r.classes, r.classes.negative);
  } else if (key == "folds_") {
    auto* slot = new_object<nl::Table>(L);
    return protect(L, [&] {
      std::vector<Eigen::Index> rows(r.scores.size());
      for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<Eigen::Index>(i);
      *slot = folds_table(rows, r.outer_assignment);
      return 1;
    });
  } else if (key == "refit_preprocessing_") {
    lua_pushboolean(L, r.options.refit_preprocessing);
  } else if (key == "solver_start_") {
    lua_pushstring(L, r.solver_start == nl::ml::SolverStart::Cold ? "cold" : "warm from CV1-train");
  } else if (is_perm_field(key)) {
    if (!cv.permutations) {
      lua_pushnil(L);
      return 1;
    }
    push_perm_field(L, *cv.permutations, key);
  } else {
    return no_field(L, 1, 2);
  }
  return 1;
}

// r:scores(i) -> list of all decision scores of subject i
void push_scores(lua_State* L, const std::vector<std::vector<double>>& scores, int idx) {
  const auto i = static_cast<std::size_t>(check_range(L, idx, 1, static_cast<lua_Integer>(scores.size()), "subject"));
  const auto& s = scores[i - 1];
  lua_createtable(L, static_cast<int>(s.size()), 0);
  for (std::size_t k = 0; k < s.size(); ++k) {
    lua_pushnumber(L, s[k]);
    lua_rawseti(L, -2, static_cast<lua_Integer>(k + 1));
  }
}

int r_scores(lua_State* L) {
  push_scores(L, check<CvObject>(L, 1).result.scores, 2);
  return 1;
}

int r_fields(lua_State* L) {
  return push_names(L, {"median_", "y_", "positive_", "negative_", "folds_", "chosen_C_", "chosen_gamma_",
                        "inner_bac_", "criterion_", "models_", "metrics_", "feature_names_", "seed_", "refit_preprocessing_", "solver_start_", "p_",
                        "p_plus_one_", "p_count_", "permutation_count_", "n_permutations_", "permutation_bac_",
                        "permutation_scoring_", "permutation_statistic_", "null_labels_", "null_scores_"});
}

// How the result was computed, where neurolua offers a choice (docs/methods-notes.md).
std::string methods_line(const CvObject& cv) {
  std::string s = cv.result.options.refit_preprocessing
                      ? "  methods: retrained base models with preprocessing refitted on CV1-train + CV1-test"
                      : "  methods: retrained base models with the CV1-train preprocessing (NeuroMiner 1.3)";
  if (cv.result.solver_start == nl::ml::SolverStart::WarmFromCv1) s += ", warm-started (saved by an earlier version)";
  if (cv.permutations)
    s += fmt::format("; {} permutations ({} mode) scored against the {} labels", cv.permutations->bac.size(),
                     cv.mode == nl::ml::PermutationMode::Full ? "full" : "NeuroMiner",
                     cv.permutations->scoring == nl::ml::PermutationScoring::Original ? "original" : "permuted");
  return s;
}

int r_tostring(lua_State* L) {
  CvObject& cv = check<CvObject>(L, 1);
  return protect(L, [&] {
    const auto& r = cv.result;
    const std::string head =
        fmt::format("nested CV ({}): {} base models, {} subjects, {} features", nl::ml::estimator_name(cv.spec.svc.estimator),
                    r.models.size(), r.scores.size(), r.data ? r.data->X.cols() : 0);
    const std::string s =
        r.regression
            ? fmt::format("{}\n{}\n  CV1 criterion: {}\n{}", head, regression_row(*r.regression, cv.permutations),
                          nl::ml::criterion_name(nl::ml::resolve_criterion(cv.spec.svc)), methods_line(cv))
            : fmt::format("{}\n{}\n{}\n{}", head,
                          r.data ? classes_line(r.classes, r.data->y) : std::string("  classes: unknown"),
                          table2_row(r.metrics, r.auc, cv.permutations), methods_line(cv));
    lua_pushlstring(L, s.data(), s.size());
    return 1;
  });
}

// r:inner_folds(repeat, fold) -> Table: the CV1 folds inside CV2 fold `fold` of outer
// repeat `repeat`: one row per subject of that CV2 training set (`subject`, its row in X)
// and one column per inner repeat giving its CV1 test fold (1-based).
int r_inner_folds(lua_State* L) {
  CvObject& cv = check<CvObject>(L, 1);
  const auto& res = cv.result;
  const int k = res.options.outer_folds;
  const auto reps = static_cast<lua_Integer>(res.outer_assignment.size());
  const lua_Integer rep = check_range(L, 2, 1, reps, "outer repeat");
  const lua_Integer fold = check_range(L, 3, 1, k, "outer fold");
  auto* slot = new_object<nl::Table>(L);
  return protect(L, [&] {
    const nl::ml::InnerFolds f = nl::ml::inner_folds(res, static_cast<std::size_t>((rep - 1) * k + (fold - 1)));
    *slot = folds_table(f.rows, f.assignment);
    return 1;
  });
}

constexpr const char* kBaseModel = "neurolua.BaseModel";

// r:model(i) -> {outer, inner, C, features, w, b, validation_bac, steps}: base model i
// (outer-major order), its fitted preprocessing as copies of its Transform steps.
int r_model(lua_State* L) {
  CvObject& cv = check<CvObject>(L, 1);
  const auto& models = cv.result.models;
  const auto i = static_cast<std::size_t>(check_range(L, 2, 1, static_cast<lua_Integer>(models.size()), "base model"));
  const nl::ml::BaseModel& b = models[i - 1];
  lua_createtable(L, 0, 8);
  lua_pushinteger(L, b.outer + 1);
  lua_setfield(L, -2, "outer");
  lua_pushinteger(L, b.inner + 1);
  lua_setfield(L, -2, "inner");
  const auto at = nl::ml::at_grid_point(cv.spec.svc, cv.result.grid,
                                        static_cast<std::size_t>(cv.result.chosen[static_cast<std::size_t>(b.outer)]));
  lua_pushnumber(L, at.C);
  lua_setfield(L, -2, "C");
  if (b.model.svc.kernel) {
    lua_pushnumber(L, b.model.svc.kernel->gamma);
    lua_setfield(L, -2, "gamma");
  }
  lua_createtable(L, static_cast<int>(b.model.features.size()), 0);
  for (std::size_t k = 0; k < b.model.features.size(); ++k) {
    lua_pushinteger(L, static_cast<lua_Integer>(b.model.features[k] + 1));
    lua_rawseti(L, -2, static_cast<lua_Integer>(k + 1));
  }
  lua_setfield(L, -2, "features");
  // w: nil for an rbf kernel model (no weight per feature).
  if (b.model.svc.kernel && b.model.svc.kernel->kernel == nl::ml::Kernel::Rbf) lua_pushnil(L);
  else push_new<Matrix>(L, [&] { return Matrix(nl::ml::model_weights(b.model.svc)); });
  lua_setfield(L, -2, "w");
  lua_pushnumber(L, b.model.svc.b);
  lua_setfield(L, -2, "b");
  lua_pushnumber(L, b.model.validation_bac);
  lua_setfield(L, -2, "validation_bac");
  lua_createtable(L, static_cast<int>(b.pre.steps.size()), 0);
  for (std::size_t k = 0; k < b.pre.steps.size(); ++k) {
    auto* slot = new_object<nl::ml::Transform>(L);
    protect(L, [&] {
      *slot = std::shared_ptr<nl::ml::Transform>(b.pre.steps[k]->copy());
      return 0;
    });
    lua_rawseti(L, -2, static_cast<lua_Integer>(k + 1));
  }
  lua_setfield(L, -2, "steps");
  luaL_setmetatable(L, kBaseModel);
  return 1;
}

int base_model_tostring(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "outer");
  lua_getfield(L, 1, "inner");
  lua_getfield(L, 1, "C");
  lua_getfield(L, 1, "features");
  lua_getfield(L, 1, "b");
  lua_pushfstring(L, "base model of CV2 fold %d, CV1 partition %d: C = %f, %d features, b = %f",
                  static_cast<int>(lua_tointeger(L, -5)), static_cast<int>(lua_tointeger(L, -4)), lua_tonumber(L, -3),
                  static_cast<int>(lua_rawlen(L, -2)), lua_tonumber(L, -1));
  return 1;
}

// ---------------------------------------------------------------- external validation

// r:apply(X_new [, y_new] [, {covariates = t, permutations = n, positive = v, unseen = ...}]) -> Prediction
// (unseen: the unseen-level policy of regress_out for these subjects; docs/reference/cv.md)
int r_apply(lua_State* L) {
  CvObject& cv = check<CvObject>(L, 1);
  const Features features = check_features(L, 2);
  // y_new is optional: nil, or a last argument that is a Lua table without array part
  // (the options), means no labels.
  int labels = 3, opts = 4;
  if (lua_isnoneornil(L, 3)) {
    labels = 0;
  } else if (lua_gettop(L) == 3 && lua_type(L, 3) == LUA_TTABLE && lua_rawlen(L, 3) == 0) {
    labels = 0;
    opts = 3;
  }
  lua_settop(L, 4);
  lua_Integer n = features.rows();
  check_options(L, opts, "apply", {"covariates", "permutations", "positive", "unseen"});
  const bool unseen = validate_unseen(L, opts);
  const nl::Table* cov = nullptr;
  int permutations = 0;
  if (!lua_isnoneornil(L, opts)) {
    lua_getfield(L, opts, "covariates");
    if (!lua_isnil(L, -1) && !(cov = test<nl::Table>(L, -1)))
      luaL_argerror(L, opts, "option 'covariates' must be a neurolua.Table");
    lua_pop(L, 1);
    permutations = static_cast<int>(opt_integer(L, opts, "permutations", 0, 1000000, 0));
  }
  // The positive class at 5: the option, else the training's, so that the new labels
  // are read as the training labels were (text must name the training classes).
  LabelOptions lo;
  lo.ids = cov;
  lo.known = &cv.result.classes;
  if (lua_istable(L, opts)) lua_getfield(L, opts, "positive");
  else lua_pushnil(L);
  if (lua_isnil(L, 5)) {
    lua_pop(L, 1);
    push_positive(L, cv.result.classes);
  }
  lo.positive = 5;
  if (nl::ml::is_regression(cv.spec.svc.estimator)) lo.positive = 0;  // no classes
  if (labels) {
    const lua_Integer m = validate_targets(L, labels, "labels", cv.spec.svc, lo);
    if (m != n) luaL_argerror(L, labels, lua_pushfstring(L, "%d labels for %d rows of data", (int)m, (int)n));
  }
  if (permutations > 0 && !labels) luaL_argerror(L, opts, "permutations need the new subjects' labels");
  auto* slot = new_object<PredictionObject>(L);
  return protect(L, [&] {
    std::vector<std::string> names;
    const Matrix X = features.get(&names, "apply", cv.spec.steps);
    const auto& trained = cv.result.feature_names;
    if (!names.empty() && !trained.empty()) {
      if (names.size() != trained.size())
        throw nl::ValueError(fmt::format("apply: the new data have {} feature columns, the model was trained on {}",
                                         names.size(), trained.size()));
      for (std::size_t k = 0; k < names.size(); ++k)
        if (names[k] != trained[k])
          throw nl::ValueError(fmt::format("apply: feature column {} is '{}' in the new data but '{}' in training",
                                           k + 1, names[k], trained[k]));
    }
    // unseen: the unseen-level policy of regress_out for these subjects, on copies of
    // the base models' steps (the stored model keeps its own).
    std::optional<nl::ml::UnseenPolicy> policy;
    if (unseen) {
      policy = read_unseen(L, opts);
      check_unseen_steps(*policy, cv.spec.steps, opts);
    }
    const nl::ml::UnseenPolicy* up = policy ? &*policy : nullptr;
    const LuaStepScope lua_steps(has_lua_steps(cv.spec));
    auto out = std::make_shared<PredictionObject>();
    out->scores = nl::ml::apply_models(cv.result, X, cov, up);
    out->n_models = cv.result.models.size();
    out->classes = cv.result.classes;
    if (labels) {
      Vector y(n);
      read_targets(L, labels, y, cv.spec.svc, lo);
      nl::ml::check_targets(cv.spec.svc, y, n, "apply");
      out->labelled = true;
      out->labels = y;
      if (nl::ml::is_regression(cv.spec.svc.estimator)) {
        out->regression = nl::ml::regression_metrics(out->scores.median, y);
      } else {
        out->metrics = nl::ml::confusion(out->scores.median, y);
        out->auc = nl::ml::auc(out->scores.median, y);
      }
      if (permutations > 0)
        out->permutations = nl::ml::external_permutation_test(cv.spec, cv.result, X, y, cov, permutations,
                                                              progress_reporter("permutations", "", permutations), up);
    }
    *slot = std::move(out);
    return 1;
  });
}

// p.<field>: as r_index; metrics_ is nil without labels, the permutation fields nil
// without permutations.
int p_index(lua_State* L) {
  PredictionObject& pr = check<PredictionObject>(L, 1);
  if (push_method(L, 2)) return 1;
  if (lua_type(L, 2) != LUA_TSTRING) return no_field(L, 1, 2);
  const std::string_view key = lua_tostring(L, 2);
  if (key == "median_") {
    push_new<Matrix>(L, [&] { return Matrix(pr.scores.median); });
  } else if (key == "metrics_") {
    if (!pr.labelled) {
      lua_pushnil(L);
      return 1;
    }
    if (pr.regression) push_regression_metrics(L, *pr.regression);
    else push_metrics(L, pr.metrics, pr.auc);
  } else if (key == "y_") {
    if (!pr.labelled) {
      lua_pushnil(L);
      return 1;
    }
    push_new<Matrix>(L, [&] { return Matrix(pr.labels); });
  } else if (key == "models_") {
    lua_pushinteger(L, static_cast<lua_Integer>(pr.n_models));
  } else if (is_perm_field(key)) {
    if (!pr.permutations) {
      lua_pushnil(L);
      return 1;
    }
    push_perm_field(L, *pr.permutations, key);
  } else {
    return no_field(L, 1, 2);
  }
  return 1;
}

int p_scores(lua_State* L) {
  push_scores(L, check<PredictionObject>(L, 1).scores.scores, 2);
  return 1;
}

int p_fields(lua_State* L) {
  return push_names(L, {"median_", "y_", "metrics_", "models_", "p_", "p_plus_one_", "p_count_", "permutation_count_",
                        "n_permutations_", "permutation_bac_", "permutation_scoring_", "permutation_statistic_"});
}

int p_tostring(lua_State* L) {
  PredictionObject& pr = check<PredictionObject>(L, 1);
  return protect(L, [&] {
    std::string s = fmt::format("external validation: {} base models, {} subjects", pr.n_models, pr.scores.scores.size());
    if (pr.labelled && pr.regression) s += fmt::format("\n{}", regression_row(*pr.regression, pr.permutations));
    else if (pr.labelled) s += fmt::format("\n{}\n{}", table2_row(pr.metrics, pr.auc, pr.permutations),
                                           classes_line(pr.classes, pr.labels));
    else s += " (no labels: see median_ for the scores)";
    lua_pushlstring(L, s.data(), s.size());
    return 1;
  });
}

// ---------------------------------------------------------------- interpretation

struct InterpretArgs {
  nl::ml::InterpretOptions options;
  lua_Integer top = 0;  // 0: all
};

// Reads {cvr, fdr, units, top} from the options at idx (allowed keys checked by caller).
InterpretArgs interpret_args(lua_State* L, int idx) {
  InterpretArgs a;
  if (lua_isnoneornil(L, idx)) return a;
  if (lua_getfield(L, idx, "cvr") != LUA_TNIL) {
    const char* v = lua_tostring(L, -1);
    if (v && std::string_view(v) == "sd") a.options.cvr = nl::ml::CvrKind::Sd;
    else if (v && std::string_view(v) == "se") a.options.cvr = nl::ml::CvrKind::StandardError;
    else luaL_argerror(L, idx, "option 'cvr' must be \"sd\" or \"se\"");
  }
  lua_pop(L, 1);
  if (lua_getfield(L, idx, "fdr") != LUA_TNIL) {
    const double q = lua_tonumber(L, -1);
    if (!lua_isnumber(L, -1) || !(q > 0 && q < 1)) luaL_argerror(L, idx, "option 'fdr' must be a number in (0, 1)");
    a.options.fdr = q;
  }
  lua_pop(L, 1);
  if (lua_getfield(L, idx, "units") != LUA_TNIL) {
    const char* v = lua_tostring(L, -1);
    if (v && std::string_view(v) == "scaled") a.options.raw_units = false;
    else if (v && std::string_view(v) == "raw") a.options.raw_units = true;
    else luaL_argerror(L, idx, "option 'units' must be \"scaled\" or \"raw\"");
  }
  lua_pop(L, 1);
  if (lua_getfield(L, idx, "top") != LUA_TNIL) {
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1) luaL_argerror(L, idx, "option 'top' must be a positive integer");
    a.top = lua_tointeger(L, -1);
  }
  lua_pop(L, 1);
  return a;
}

// Feature names: the result's, else "feature_1", ...
std::vector<std::string> feature_names(const nl::ml::NestedCvResult& r, Eigen::Index p) {
  if (static_cast<Eigen::Index>(r.feature_names.size()) == p) return r.feature_names;
  std::vector<std::string> out;
  for (Eigen::Index j = 0; j < p; ++j) out.push_back(fmt::format("feature_{}", j + 1));
  return out;
}

// Features ordered by |mean weight|, largest first (ties: feature order).
std::vector<Eigen::Index> by_magnitude(const Vector& mean) {
  std::vector<Eigen::Index> order(static_cast<std::size_t>(mean.size()));
  for (Eigen::Index j = 0; j < mean.size(); ++j) order[static_cast<std::size_t>(j)] = j;
  std::stable_sort(order.begin(), order.end(),
                   [&](Eigen::Index a, Eigen::Index b) { return std::abs(mean(a)) > std::abs(mean(b)); });
  return order;
}

// The caveat for the interpretation of a model that is not shown to beat chance: its
// permutation p ((count + 1) / (n + 1)) is not below 0.05, or no permutations were run.
// Empty when the model is significant.
std::string weights_caveat(const CvObject& cv) {
  constexpr const char* tail = "sign consistency describes the fitted models, not a reliable effect";
  if (!cv.permutations)
    return fmt::format("no permutation test (run nl.cv.nested with permutations = 1000): {}", tail);
  const double p = cv.permutations->p_plus_one;
  if (p < 0.05) return {};
  return fmt::format("model not better than chance ({}): {}", p_text(*cv.permutations), tail);
}

// r:weights_caveat() -> the caveat string, or nil when the model beats chance (p < 0.05)
int r_weights_caveat(lua_State* L) {
  CvObject& cv = check<CvObject>(L, 1);
  return protect(L, [&] {
    const std::string c = weights_caveat(cv);
    if (c.empty()) lua_pushnil(L);
    else lua_pushlstring(L, c.data(), c.size());
    return 1;
  });
}

// r:weights([{top, cvr, fdr, units}]) -> Table, one row per feature by |mean weight|
int r_weights(lua_State* L) {
  CvObject& cv = check<CvObject>(L, 1);
  check_options(L, 2, "weights", {"top", "cvr", "fdr", "units"});
  const InterpretArgs args = interpret_args(L, 2);
  auto* slot = new_object<nl::Table>(L);
  return protect(L, [&] {
    const LuaStepScope lua_steps(has_lua_steps(cv.spec));
    const nl::ml::Interpretation in = nl::ml::interpret(cv.result, args.options);
    const auto p = in.mean.size();
    const std::vector<std::string> names = feature_names(cv.result, p);
    std::vector<Eigen::Index> order = by_magnitude(in.mean);
    if (args.top > 0 && static_cast<std::size_t>(args.top) < order.size()) order.resize(static_cast<std::size_t>(args.top));
    std::vector<double> rank, index;
    std::vector<std::string> name;
    std::vector<std::uint8_t> sig;
    const auto pick = [&](const Vector& v) {
      std::vector<double> out;
      for (Eigen::Index j : order) out.push_back(v(j));
      return out;
    };
    for (std::size_t k = 0; k < order.size(); ++k) {
      rank.push_back(static_cast<double>(k + 1));
      index.push_back(static_cast<double>(order[k] + 1));
      name.push_back(names[static_cast<std::size_t>(order[k])]);
      sig.push_back(in.significant[static_cast<std::size_t>(order[k])] ? 1 : 0);
    }
    auto t = std::make_shared<nl::Table>();
    const auto add = [&](nl::Column c) { t->set(std::make_shared<nl::Column>(std::move(c))); };
    add(nl::Column::numbers("rank", rank));
    add(nl::Column::numbers("index", index));
    add(nl::Column::strings("name", name));
    add(nl::Column::numbers("mean", pick(in.mean)));
    add(nl::Column::numbers("sd", pick(in.sd)));
    add(nl::Column::numbers("cvr", pick(in.cvr)));
    add(nl::Column::numbers("frac_pos", pick(in.frac_pos)));
    add(nl::Column::numbers("frac_neg", pick(in.frac_neg)));
    add(nl::Column::numbers("consistency", pick(in.consistency)));
    add(nl::Column::numbers("z", pick(in.z)));
    add(nl::Column::numbers("p", pick(in.p)));
    add(nl::Column::numbers("q", pick(in.q)));
    add(nl::Column::bools("significant", sig));
    // The model's permutation p on every row, so that the sign-consistency marks are
    // never read (or written to a file) without it; NA without permutations.
    add(nl::Column::numbers("model_p",
                            std::vector<double>(order.size(), cv.permutations ? cv.permutations->p_plus_one : 0.0),
                            std::vector<std::uint8_t>(order.size(), cv.permutations ? 0 : 1)));
    *slot = std::move(t);
    return 1;
  });
}

// r:weight_matrix([{units}]) -> Matrix, base models x features
int r_weight_matrix(lua_State* L) {
  CvObject& cv = check<CvObject>(L, 1);
  check_options(L, 2, "weight_matrix", {"units"});
  const InterpretArgs args = interpret_args(L, 2);
  auto* slot = new_object<Matrix>(L);
  return protect(L, [&] {
    const LuaStepScope lua_steps(has_lua_steps(cv.spec));
    *slot = std::make_shared<Matrix>(nl::ml::interpret(cv.result, args.options).weights);
    return 1;
  });
}

// r:weight_map(atlas [, {top = 25, value = "mean" | "cvr", units}]) -> Volume
int r_weight_map(lua_State* L) {
  CvObject& cv = check<CvObject>(L, 1);
  const nl::Atlas& atlas = check<nl::Atlas>(L, 2);
  check_options(L, 3, "weight_map", {"top", "value", "units"});
  InterpretArgs args = interpret_args(L, 3);
  bool cvr = false;
  if (!lua_isnoneornil(L, 3)) {
    if (lua_getfield(L, 3, "value") != LUA_TNIL) {
      const char* v = lua_tostring(L, -1);
      if (v && std::string_view(v) == "cvr") cvr = true;
      else if (!v || std::string_view(v) != "mean") luaL_argerror(L, 3, "option 'value' must be \"mean\" or \"cvr\"");
    }
    lua_pop(L, 1);
  }
  auto* slot = new_object<nl::Volume>(L);
  return protect(L, [&] {
    const LuaStepScope lua_steps(has_lua_steps(cv.spec));
    const nl::ml::Interpretation in = nl::ml::interpret(cv.result, args.options);
    const auto p = in.mean.size();
    // Features map to regions by name when the result knows its feature names (as
    // when X came from atlas:summarize), else by position.
    const std::vector<std::string> regions = nl::region_column_names(atlas);
    std::vector<std::ptrdiff_t> region_of(static_cast<std::size_t>(p), -1);
    if (static_cast<Eigen::Index>(cv.result.feature_names.size()) == p) {
      for (Eigen::Index j = 0; j < p; ++j) {
        const auto it = std::find(regions.begin(), regions.end(), cv.result.feature_names[static_cast<std::size_t>(j)]);
        if (it == regions.end())
          throw nl::ValueError(fmt::format("weight_map: feature '{}' is not a region of the atlas",
                                           cv.result.feature_names[static_cast<std::size_t>(j)]));
        region_of[static_cast<std::size_t>(j)] = it - regions.begin();
      }
    } else {
      if (static_cast<std::size_t>(p) != regions.size())
        throw nl::ValueError(fmt::format("weight_map: the model has {} features, the atlas {} regions", p, regions.size()));
      for (Eigen::Index j = 0; j < p; ++j) region_of[static_cast<std::size_t>(j)] = j;
    }
    std::vector<Eigen::Index> order = by_magnitude(in.mean);
    if (args.top > 0 && static_cast<std::size_t>(args.top) < order.size()) order.resize(static_cast<std::size_t>(args.top));
    std::vector<double> values(regions.size(), 0.0);
    for (Eigen::Index j : order)
      values[static_cast<std::size_t>(region_of[static_cast<std::size_t>(j)])] = cvr ? in.cvr(j) : in.mean(j);
    *slot = std::make_shared<nl::Volume>(nl::paint(atlas, values, 0.0));
    return 1;
  });
}

// ---------------------------------------------------------------- persistence

// r:save(path)
int r_save(lua_State* L) {
  CvObject& cv = check<CvObject>(L, 1);
  const char* path = luaL_checkstring(L, 2);
  return protect(L, [&] {
    nl::ml::save_result(path, cv.spec, cv.result, cv.permutations, cv.mode);
    return 0;
  });
}

// nl.cv.load(path [, {steps = {name = definition, ...}}]) -> CVResult
int load(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  check_options(L, 2, "load", {"steps"});
  lua_settop(L, 2);
  int steps = 0;
  if (!lua_isnil(L, 2)) {
    lua_getfield(L, 2, "steps");
    if (!lua_isnil(L, -1)) {
      if (!lua_istable(L, -1)) luaL_argerror(L, 2, "option 'steps' must be a table {name = definition, ...}");
      lua_pushnil(L);
      while (lua_next(L, -2)) {
        if (lua_type(L, -2) != LUA_TSTRING || !is_lua_step(L, -1))
          luaL_argerror(L, 2, "option 'steps' maps step names to Lua step definitions (tables with fit and transform)");
        lua_pop(L, 1);
      }
      steps = lua_gettop(L);
    }
  }
  auto* slot = new_object<CvObject>(L);
  return protect(L, [&] {
    // Lua steps are rebuilt from their definitions and rerun while the plan is rebuilt:
    // on this thread.
    const nl::ml::ForeignStepResolver resolver(lua_step_resolver(L, steps, path));
    const LuaStepScope lua_steps(steps != 0);
    nl::ml::LoadedResult loaded = nl::ml::load_result(path);
    auto cv = std::make_shared<CvObject>();
    cv->spec = std::move(loaded.spec);
    cv->result = std::move(loaded.result);
    cv->permutations = std::move(loaded.permutations);
    cv->mode = loaded.mode;
    *slot = std::move(cv);
    return 1;
  });
}

const luaL_Reg methods[] = {{"scores", r_scores},
                            {"model", r_model},
                            {"inner_folds", r_inner_folds},
                            {"apply", r_apply},
                            {"weights", r_weights},
                            {"weights_caveat", r_weights_caveat},
                            {"weight_matrix", r_weight_matrix},
                            {"weight_map", r_weight_map},
                            {"save", r_save},
                            {nullptr, nullptr}};
const luaL_Reg metamethods[] = {
    {"__index", r_index}, {"__fields", r_fields}, {"__tostring", r_tostring}, {nullptr, nullptr}};
const luaL_Reg p_methods[] = {{"scores", p_scores}, {nullptr, nullptr}};
const luaL_Reg p_metamethods[] = {
    {"__index", p_index}, {"__fields", p_fields}, {"__tostring", p_tostring}, {nullptr, nullptr}};

}  // namespace

int open_cv(lua_State* L) {
  register_type<CvObject>(L, methods, metamethods);
  register_type<PredictionObject>(L, p_methods, p_metamethods);
  register_record(L, kBaseModel, {"outer", "inner", "C", "gamma", "features", "w", "b", "validation_bac", "steps"},
                  base_model_tostring);
  lua_newtable(L);
  push_binding(L, nested);
  lua_setfield(L, -2, "nested");
  push_binding(L, load);
  lua_setfield(L, -2, "load");
  push_binding(L, cv_folds);
  lua_setfield(L, -2, "folds");
  return 1;
}

}  // namespace nl::bind

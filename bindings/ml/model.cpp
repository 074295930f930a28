// bindings/ml/model.cpp: the label-dependent side of nl.ml (the estimators are in
// bindings/ml/estimator.cpp): the forward wrapper ("neurolua.ForwardSelect"), the pipeline ("neurolua.Pipeline"),
// the metrics, and nl.ml.pow2.
//
//   local svc = nl.ml.svc{ C = 1, weighting = "balanced" }
//   svc:fit(X, y); svc:decision(Xtest)
//   local pipe = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.prune{}, nl.ml.svc{ C = 1 } }
//   pipe:fit(X, y, { covariates = t }); pipe:decision(Xtest, { covariates = ttest })
#include <fmt/format.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "core/common.hpp"
#include "core/fields.hpp"
#include "ml/args.hpp"
#include "ml/lua_step.hpp"
#include "ml/objects.hpp"
#include "nl/ml/filter.hpp"
#include "nl/ml/metrics.hpp"
#include "nl/ml/pipeline.hpp"

namespace nl::bind {

namespace {

using nl::Matrix;
using nl::Vector;

// ---------------------------------------------------------------- helpers

std::string select_options(const nl::ml::ForwardSelectOptions& o) {
  return fmt::format("forward_select{{step = {}, stop = {}}}", o.step, o.stop);
}

// Reads a number option that must be positive (raises naming it).
double opt_positive(lua_State* L, int idx, const char* key, double def) {
  double v = def;
  if (lua_getfield(L, idx, key) != LUA_TNIL) {
    if (!lua_isnumber(L, -1)) luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be a number", key));
    v = lua_tonumber(L, -1);
    if (!(v > 0) || !std::isfinite(v))
      luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be positive and finite, got %f", key, v));
  }
  lua_pop(L, 1);
  return v;
}

// Validates X (Matrix at xi) against labels at yi; returns n. Raises on mismatch.
lua_Integer check_xy(lua_State* L, int xi, int yi, const char* what, const nl::ml::SvcSpec& spec,
                     const LabelOptions& lo = {}) {
  const Matrix& X = check<Matrix>(L, xi);
  const lua_Integer n = validate_targets(L, yi, "labels", spec, lo);
  if (n != X.rows())
    luaL_argerror(L, yi, lua_pushfstring(L, "%d labels for %d rows of data in '%s'", (int)n, (int)X.rows(), what));
  return n;
}

// Pushes the `positive` field of the options at idx (nil when idx holds none) and
// returns its stack index, or 0 when it is nil.
int push_positive_option(lua_State* L, int idx) {
  if (lua_istable(L, idx)) lua_getfield(L, idx, "positive");
  else lua_pushnil(L);
  return lua_isnil(L, -1) ? 0 : lua_gettop(L);
}

// ---------------------------------------------------------------- forward_select

int new_select(lua_State* L) {
  check_options(L, 1, "forward_select", {"step", "stop"});
  nl::ml::ForwardSelectOptions o;
  if (!lua_isnoneornil(L, 1)) {
    o.step = opt_positive(L, 1, "step", o.step);
    o.stop = opt_positive(L, 1, "stop", o.stop);
  }
  if (o.step > 1) luaL_argerror(L, 1, "option 'step' must be in (0, 1]");
  if (o.stop > 1) luaL_argerror(L, 1, "option 'stop' must be in (0, 1]");
  auto* slot = new_object<SelectObject>(L);
  return protect(L, [&] {
    *slot = std::make_shared<SelectObject>(SelectObject{o});
    return 1;
  });
}

// fs:select(Xtrain, ytrain, Xval, yval, svc) -> features (1-based list), validation BAC
int select_run(lua_State* L) {
  SelectObject& fs = check<SelectObject>(L, 1);
  LabelOptions lo;
  lo.takes_positive = false;
  SvcObject& s = check<SvcObject>(L, 6);
  const lua_Integer ntr = check_xy(L, 2, 3, "select", s.spec, lo);
  const lua_Integer nval = check_xy(L, 4, 5, "select", s.spec, lo);
  if (s.grid.size() > 1 || !s.spec.gamma_grid.empty())
    luaL_argerror(L, 6, "the estimator holds a grid; select needs one value of each hyperparameter");
  const Matrix& Xtr = check<Matrix>(L, 2);
  const Matrix& Xval = check<Matrix>(L, 4);
  lua_settop(L, 6);
  return protect(L, [&] {
    Vector ytr(ntr), yval(nval);
    read_targets(L, 3, ytr, s.spec, lo);
    read_targets(L, 5, yval, s.spec, lo);
    nl::ml::check_targets(s.spec, ytr, Xtr.rows(), "select");
    nl::Rng rng(s.spec.seed);
    const nl::ml::Selection sel = nl::ml::forward_select(Xtr, ytr, Xval, yval, s.spec, fs.options, rng);
    lua_createtable(L, static_cast<int>(sel.features.size()), 0);
    for (std::size_t k = 0; k < sel.features.size(); ++k) {
      lua_pushinteger(L, sel.features[k] + 1);
      lua_rawseti(L, -2, static_cast<lua_Integer>(k + 1));
    }
    lua_pushnumber(L, sel.bac);
    return 2;
  });
}

// fs:fits(p) -> the number of SVC fits one run makes on p features (the cost model)
int select_fits(lua_State* L) {
  SelectObject& fs = check<SelectObject>(L, 1);
  const lua_Integer p = luaL_checkinteger(L, 2);
  if (p < 1 || p > 100000000) luaL_argerror(L, 2, "the number of features must be in 1..1e8");
  lua_pushinteger(L, static_cast<lua_Integer>(nl::ml::forward_select_fits(static_cast<Eigen::Index>(p), fs.options)));
  return 1;
}

int select_tostring(lua_State* L) {
  SelectObject& fs = check<SelectObject>(L, 1);
  return protect(L, [&] {
    const std::string s = select_options(fs.options);
    lua_pushlstring(L, s.data(), s.size());
    return 1;
  });
}

// ---------------------------------------------------------------- pipeline

// nl.ml.pipeline{ transforms..., [forward_select], svc }
int new_pipeline(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  check_options(L, 1, "pipeline", {});
  lua_settop(L, 1);
  const lua_Integer n = static_cast<lua_Integer>(lua_rawlen(L, 1));
  if (n == 0) luaL_argerror(L, 1, "a pipeline needs at least an estimator step (nl.ml.svc, svr, logistic, ...)");
  // Order: label-independent transforms, then label-dependent ones (filters, Lua steps
  // with label_dependent = true), then at most one forward_select, then exactly one
  // estimator, last. Lua steps' definitions are referenced in a table at 2 (by step).
  lua_newtable(L);
  int stage = 0;  // 0 transforms, 1 label-dependent steps, 2 after select, 3 after the estimator
  for (lua_Integer k = 1; k <= n; ++k) {
    lua_rawgeti(L, 1, k);
    bool labelled = false, transform = false;
    if (const auto* t = test<nl::ml::Transform>(L, -1)) {
      transform = true;
      labelled = t->label_dependent();
    } else if (is_lua_step(L, -1)) {
      transform = true;
      lua_pushliteral(L, "label_dependent");
      labelled = lua_rawget(L, -2) == LUA_TBOOLEAN && lua_toboolean(L, -1);
      lua_pop(L, 1);
      lua_pushinteger(L, check_lua_step(L, -1, k));
      lua_rawseti(L, 2, k);
    }
    if (transform) {
      if (stage > 1 || (stage == 1 && !labelled))
        luaL_argerror(L, 1, lua_pushfstring(L, "step %I: %s", k,
                                            stage > 1 ? "a transform must come before forward_select and the estimator"
                                                      : "a label-independent transform must come before the "
                                                        "label-dependent ones (they are refitted with every model)"));
      if (labelled) stage = 1;
    } else if (test<SelectObject>(L, -1)) {
      if (stage > 1)
        luaL_argerror(L, 1, lua_pushfstring(L, "step %I: forward_select must come once, before the estimator", k));
      if (stage == 1)
        luaL_argerror(L, 1, lua_pushfstring(L, "step %I: forward_select cannot follow a label-dependent step (the "
                                               "wrapper's features would change with every refit); use one or the other", k));
      stage = 2;
    } else if (test<SvcObject>(L, -1)) {
      if (stage == 3) luaL_argerror(L, 1, lua_pushfstring(L, "step %I: only one estimator step is allowed", k));
      stage = 3;
    } else {
      luaL_argerror(L, 1, lua_pushfstring(L, "step %I is a %s, not an nl.ml step (nor a Lua step: a table with "
                                             "fit and transform functions)",
                                          k, luaL_typename(L, -1)));
    }
    lua_pop(L, 1);
  }
  if (stage != 3) luaL_argerror(L, 1, "the last step of a pipeline must be an estimator (nl.ml.svc, svr, ...)");
  lua_rawgeti(L, 1, n);
  const SvcObject* est = test<SvcObject>(L, -1);
  if (!est) luaL_argerror(L, 1, "the last step of a pipeline must be an estimator (nl.ml.svc, svr, ...)");
  const bool regression = nl::ml::is_regression(est->spec.estimator);
  lua_pop(L, 1);
  // A filter's score must suit the targets the estimator takes.
  for (lua_Integer k = 1; k <= n; ++k) {
    lua_rawgeti(L, 1, k);
    if (const auto* f = dynamic_cast<const nl::ml::UnivariateFilter*>(test<nl::ml::Transform>(L, -1))) {
      const nl::ml::FilterScore sc = f->filter_options().score;
      if (nl::ml::is_classification(sc) == regression)
        luaL_argerror(L, 1, lua_pushfstring(L, "step %I: the filter's score '%s' is for %s, but %s is a %s (use %s)", k,
                                            nl::ml::filter_score_name(sc), regression ? "two classes" : "a continuous target",
                                            nl::ml::estimator_name(est->spec.estimator),
                                            regression ? "regression" : "classifier",
                                            regression ? "score = \"f_regression\" or \"correlation\""
                                                       : "score = \"f_classif\" or \"t\""));
    }
    lua_pop(L, 1);
  }
  auto* slot = new_object<PipelineObject>(L);
  return protect(L, [&] {
    auto p = std::make_shared<PipelineObject>();
    for (lua_Integer k = 1; k <= n; ++k) {
      lua_rawgeti(L, 1, k);
      std::shared_ptr<nl::ml::Transform> step;
      if (auto* t = test<nl::ml::Transform>(L, -1)) {
        step = t->clone();
      } else {
        const bool lua_step = lua_rawgeti(L, 2, k) == LUA_TNUMBER;
        const int ref = static_cast<int>(lua_tointeger(L, -1));
        lua_pop(L, 1);
        if (lua_step) {
          step = make_lua_step(L, ref);
          lua_pushnil(L);
          lua_rawseti(L, 2, k);  // the reference is the step's now
        }
      }
      if (step) (step->label_dependent() ? p->spec.filters : p->spec.steps).push_back(std::move(step));
      else if (auto* fs = test<SelectObject>(L, -1)) p->spec.select = fs->options;
      else if (auto* s = test<SvcObject>(L, -1)) p->spec.svc = s->spec, p->grid = s->grid;
      lua_pop(L, 1);
    }
    *slot = std::move(p);
    return 1;
  });
}

// The `validation` field of the options at idx: {X = Matrix, y = labels [, covariates = Table]}.
// Leaves X at val_x, labels at val_y (absolute stack indices) or nil; returns n (0 if absent).
lua_Integer opt_validation(lua_State* L, int idx, int& val_x, int& val_y, const nl::Table*& val_cov,
                           const LabelOptions& lo, const nl::ml::SvcSpec& spec) {
  val_cov = nullptr;
  lua_getfield(L, idx, "validation");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return 0;
  }
  if (!lua_istable(L, -1)) luaL_argerror(L, idx, "option 'validation' must be a table {X = ..., y = ...}");
  const int v = lua_gettop(L);
  check_options(L, v, "validation", {"X", "y", "covariates"});
  lua_getfield(L, v, "X");
  val_x = lua_gettop(L);
  if (!test<Matrix>(L, val_x)) luaL_argerror(L, idx, "validation.X must be a neurolua.Matrix");
  lua_getfield(L, v, "y");
  val_y = lua_gettop(L);
  lua_getfield(L, v, "covariates");
  if (!lua_isnil(L, -1)) {
    val_cov = test<nl::Table>(L, -1);
    if (!val_cov) luaL_argerror(L, idx, "validation.covariates must be a neurolua.Table");
  }
  LabelOptions vlo = lo;
  vlo.ids = val_cov;
  const lua_Integer n = validate_targets(L, val_y, "validation.y", spec, vlo);
  if (n != test<Matrix>(L, val_x)->rows())
    luaL_argerror(L, idx, lua_pushfstring(L, "validation: %d labels for %d rows", (int)n,
                                          (int)test<Matrix>(L, val_x)->rows()));
  return n;
}

// pipe:fit(X, y [, {covariates = Table, validation = {X =, y =, covariates =}, positive = label}]) -> pipe
int pipe_fit(lua_State* L) {
  forbid_reentrant_change(L, "Pipeline");
  PipelineObject& p = check<PipelineObject>(L, 1);
  const Matrix& X = check<Matrix>(L, 2);
  const nl::Table* cov = nullptr;
  int val_x = 0, val_y = 0;
  const nl::Table* val_cov = nullptr;
  lua_Integer nval = 0;
  check_options(L, 4, "fit", {"covariates", "validation", "positive", "refit_preprocessing"});
  lua_settop(L, 4);
  const bool refit = opt_boolean(L, 4, "refit_preprocessing", true);
  LabelOptions lo;
  lo.positive = push_positive_option(L, 4);
  if (!lua_isnoneornil(L, 4)) {
    lua_getfield(L, 4, "covariates");
    if (!lua_isnil(L, -1) && !(cov = test<nl::Table>(L, -1)))
      luaL_argerror(L, 4, "option 'covariates' must be a neurolua.Table");
    lo.ids = cov;
    nval = opt_validation(L, 4, val_x, val_y, val_cov, lo, p.spec.svc);
  }
  lo.ids = cov;
  const lua_Integer n = check_xy(L, 2, 3, "fit", p.spec.svc, lo);
  if (p.grid.size() > 1 || !p.spec.svc.gamma_grid.empty())
    luaL_argerror(L, 1, lua_pushfstring(L, "the pipeline's %s holds a grid; fit needs one value (tune it with nested CV)",
                                        nl::ml::estimator_name(p.spec.svc.estimator)));
  return protect(L, [&] {
    Vector y(n);
    read_targets(L, 3, y, p.spec.svc, lo);
    if (nval > 0) {
      Vector yv(nval);
      LabelOptions vlo = lo;
      vlo.ids = val_cov;
      read_targets(L, val_y, yv, p.spec.svc, vlo);
      // Only the wrapper takes long: its SVC fits are the progress.
      p.fitted = nl::ml::fit_pipeline(p.spec, X, y, cov, test<Matrix>(L, val_x), &yv, val_cov,
                                      p.spec.select ? progress_reporter("forward_select", " fits") : nl::Progress(),
                                      refit);
    } else {
      p.fitted = nl::ml::fit_pipeline(p.spec, X, y, cov, nullptr, nullptr, nullptr);
    }
    p.n_in = X.cols();
    lua_pushvalue(L, 1);
    return 1;
  });
}

// pipe:decision(X [, {covariates = Table, unseen = ...}]) -> n x 1 Matrix. unseen
// replaces the unseen-level policy of the regress_out step for this call, on a copy.
int pipe_decision(lua_State* L) {
  PipelineObject& p = check<PipelineObject>(L, 1);
  const Matrix& X = check<Matrix>(L, 2);
  const nl::Table* cov = opt_covariates(L, 3, "decision", true);
  const bool unseen = validate_unseen(L, 3);
  if (!p.fitted) luaL_argerror(L, 1, "pipeline is not fitted (call fit first)");
  auto* slot = new_object<Matrix>(L);
  return protect(L, [&] {
    if (!unseen) {
      *slot = std::make_shared<Matrix>(nl::ml::pipeline_decision(*p.fitted, X, cov));
      return 1;
    }
    const nl::ml::UnseenPolicy policy = read_unseen(L, 3);
    check_unseen_steps(policy, p.spec.steps, 3);
    nl::ml::FittedPipeline f{{}, p.fitted->model};
    try {
      f.pre = nl::ml::with_unseen(p.fitted->pre, policy);
    } catch (const nl::ValueError& e) {
      throw ArgError(3, e.what());
    }
    *slot = std::make_shared<Matrix>(nl::ml::pipeline_decision(f, X, cov));
    return 1;
  });
}

int pipe_fitted(lua_State* L) {
  lua_pushboolean(L, check<PipelineObject>(L, 1).fitted.has_value());
  return 1;
}

int pipe_clone(lua_State* L) {
  PipelineObject& p = check<PipelineObject>(L, 1);
  auto* slot = new_object<PipelineObject>(L);
  return protect(L, [&] {
    auto c = std::make_shared<PipelineObject>();
    c->spec = p.spec;
    c->grid = p.grid;
    *slot = std::move(c);
    return 1;
  });
}

// pipe:step(i) -> the i-th preprocessing Transform (fitted when the pipeline is).
int pipe_step(lua_State* L) {
  PipelineObject& p = check<PipelineObject>(L, 1);
  const std::size_t n_pre = p.spec.steps.size();
  const auto i = static_cast<std::size_t>(
      check_range(L, 2, 1, static_cast<lua_Integer>(n_pre + p.spec.filters.size()), "transform index"));
  const nl::ml::Transform& proto = i <= n_pre ? *p.spec.steps[i - 1] : *p.spec.filters[i - 1 - n_pre];
  if (proto.options().rfind("Lua step", 0) == 0)
    luaL_argerror(L, 2, lua_pushfstring(L, "step %d is the Lua step '%s', whose definition is your own table (its "
                                           "fitted state lives inside the pipeline)",
                                        static_cast<int>(i), proto.name().c_str()));
  auto* slot = new_object<nl::ml::Transform>(L);
  return protect(L, [&] {
    // A copy, learned state included: the pipeline's own state stays read-only.
    const nl::ml::Transform* fitted = nullptr;
    if (p.fitted) fitted = i <= n_pre ? p.fitted->pre.steps[i - 1].get() : p.fitted->model.filters[i - 1 - n_pre].get();
    *slot = fitted ? std::shared_ptr<nl::ml::Transform>(fitted->copy()) : std::shared_ptr<nl::ml::Transform>(proto.clone());
    return 1;
  });
}

// pipe.features_ (1-based selected features after preprocessing), w_, b_,
// validation_bac_ (learned by fit; reading one before fit raises).
constexpr const char* kPipeFields[] = {"w_", "b_", "features_", "validation_bac_", nullptr};

int pipe_index(lua_State* L) {
  PipelineObject& p = check<PipelineObject>(L, 1);
  if (push_method(L, 2)) return 1;
  const int k = field_index(L, 2, kPipeFields);
  if (k < 0) return no_field(L, 1, 2);
  if (!p.fitted) return not_fitted(L, "pipeline", kPipeFields[k]);
  const auto& m = p.fitted->model;
  switch (k) {
    case 0: return push_new<Matrix>(L, [&] { return Matrix(nl::ml::model_weights(m.svc)); });
    case 1: lua_pushnumber(L, m.svc.b); return 1;
    case 2:
      lua_createtable(L, static_cast<int>(m.features.size()), 0);
      for (std::size_t j = 0; j < m.features.size(); ++j) {
        lua_pushinteger(L, m.features[j] + 1);
        lua_rawseti(L, -2, static_cast<lua_Integer>(j + 1));
      }
      return 1;
    default: lua_pushnumber(L, m.validation_bac); return 1;
  }
}

int pipe_fields(lua_State* L) { return push_names(L, kPipeFields); }

int pipe_tostring(lua_State* L) {
  PipelineObject& p = check<PipelineObject>(L, 1);
  return protect(L, [&] {
    std::string s = fmt::format("pipeline ({} steps{})\n",
                                p.spec.steps.size() + p.spec.filters.size() + (p.spec.select ? 2 : 1),
                                p.fitted ? fmt::format(", fitted on {} features", p.n_in) : ", not fitted");
    int k = 0;
    for (std::size_t i = 0; i < p.spec.steps.size(); ++i) {
      s += fmt::format("  {}  {}", ++k, p.spec.steps[i]->options());
      if (p.fitted) {
        const auto st = p.fitted->pre.steps[i]->state();
        for (std::size_t j = 0; j < st.size(); ++j)
          s += fmt::format("{}{} {}x{}", j ? ", " : "  -- ", st[j].name, st[j].value.rows(), st[j].value.cols());
      }
      s += "\n";
    }
    for (std::size_t i = 0; i < p.spec.filters.size(); ++i) {
      s += fmt::format("  {}  {}", ++k, p.spec.filters[i]->options());
      if (p.fitted && i < p.fitted->model.filters.size())
        s += fmt::format("  -- label-dependent: {} features out", p.fitted->model.filters[i]->n_features_out());
      s += "\n";
    }
    if (p.spec.select) {
      s += fmt::format("  {}  {}", ++k, select_options(*p.spec.select));
      if (p.fitted) s += fmt::format("  -- selected {} features", p.fitted->model.features.size());
      s += "\n";
    }
    SvcObject tmp{p.spec.svc, p.grid, std::nullopt};
    s += fmt::format("  {}  {}", ++k, estimator_options(tmp));
    if (p.fitted && p.fitted->model.svc.kernel)
      s += fmt::format("  -- {} support vectors", p.fitted->model.svc.kernel->support.rows());
    else if (p.fitted)
      s += fmt::format("  -- {} weights", p.fitted->model.svc.w.size());
    lua_pushlstring(L, s.data(), s.size());
    return 1;
  });
}

// ---------------------------------------------------------------- metrics

// Reads scores (idx) and labels (idx + 1) after validating both, with the options
// {positive} at idx + 2 (the positive value is pushed; lo records it); raises on mismatch.
lua_Integer check_scores_labels(lua_State* L, int idx, const char* what, LabelOptions& lo) {
  check_options(L, idx + 2, what, {"positive"});
  lua_settop(L, idx + 2);
  lo.positive = push_positive_option(L, idx + 2);
  const lua_Integer n = validate_scores(L, idx, "scores");
  const lua_Integer m = validate_labels(L, idx + 1, "labels", lo);
  if (n != m) luaL_argerror(L, idx + 1, lua_pushfstring(L, "%d labels for %d scores", (int)m, (int)n));
  return n;
}

// nl.ml.metrics(scores, labels [, {positive = label}]) -> a Metrics record: tp, tn, fp, fn, undecided,
// sensitivity, specificity, bac, ppv, npv, accuracy, auc (printing as a one-line summary).
int metrics_call(lua_State* L) {
  lua_remove(L, 1);  // the nl.ml.metrics table (__call)
  LabelOptions lo;
  const lua_Integer n = check_scores_labels(L, 1, "metrics", lo);
  return protect(L, [&] {
    Vector s(n), y(n);
    read_scores(L, 1, s);
    read_labels(L, 2, y, lo);
    push_metrics(L, nl::ml::confusion(s, y), nl::ml::auc(s, y));
    return 1;
  });
}

// nl.ml.metrics.auc(scores, labels [, {positive}]) -> number
int metrics_auc(lua_State* L) {
  LabelOptions lo;
  const lua_Integer n = check_scores_labels(L, 1, "auc", lo);
  return protect(L, [&] {
    Vector s(n), y(n);
    read_scores(L, 1, s);
    read_labels(L, 2, y, lo);
    lua_pushnumber(L, nl::ml::auc(s, y));
    return 1;
  });
}

// nl.ml.metrics.roc(scores, labels [, {positive}]) -> {fpr = Matrix, tpr = Matrix, thresholds = Matrix}
int metrics_roc(lua_State* L) {
  LabelOptions lo;
  const lua_Integer n = check_scores_labels(L, 1, "roc", lo);
  return protect(L, [&] {
    Vector s(n), y(n);
    read_scores(L, 1, s);
    read_labels(L, 2, y, lo);
    push_roc(L, nl::ml::roc_curve(s, y));
    return 1;
  });
}

// nl.ml.metrics.regression(predictions, targets) -> a RegressionMetrics record {n, r, r2, mae, rmse}
int metrics_regression(lua_State* L) {
  const lua_Integer n = validate_scores(L, 1, "predictions");
  const lua_Integer m = validate_scores(L, 2, "targets");
  if (n != m) luaL_argerror(L, 2, lua_pushfstring(L, "%d targets for %d predictions", (int)m, (int)n));
  return protect(L, [&] {
    Vector s(n), y(n);
    read_scores(L, 1, s);
    read_scores(L, 2, y);
    push_regression_metrics(L, nl::ml::regression_metrics(s, y));
    return 1;
  });
}

// nl.ml.pow2(a, b) -> {2^a, 2^(a+1), ..., 2^b}
int pow2(lua_State* L) {
  // Exponents beyond +-2000 give 0 or inf anyway; the bound keeps a + 1000 from
  // overflowing (found by the API fuzzer under UBSan).
  const lua_Integer a = check_range(L, 1, -2000, 2000, "first exponent");
  const lua_Integer b = check_range(L, 2, a, a + 1000, "last exponent");
  lua_createtable(L, static_cast<int>(b - a + 1), 0);
  for (lua_Integer e = a; e <= b; ++e) {
    lua_pushnumber(L, std::ldexp(1.0, static_cast<int>(e)));
    lua_rawseti(L, -2, e - a + 1);
  }
  return 1;
}

// ---------------------------------------------------------------- registration

const luaL_Reg select_methods[] = {{"select", select_run}, {"fits", select_fits}, {nullptr, nullptr}};
const luaL_Reg select_meta[] = {
    {"__index", methods_only_index}, {"__fields", no_fields}, {"__tostring", select_tostring}, {nullptr, nullptr},
};
const luaL_Reg pipe_methods[] = {
    {"fit", pipe_fit}, {"decision", pipe_decision}, {"fitted", pipe_fitted},
    {"clone", pipe_clone}, {"step", pipe_step}, {nullptr, nullptr},
};
const luaL_Reg pipe_meta[] = {
    {"__index", pipe_index}, {"__fields", pipe_fields}, {"__tostring", pipe_tostring}, {nullptr, nullptr},
};

}  // namespace

// The spec and C grid of the Pipeline at idx (for nl.cv); raises if idx holds none.
const nl::ml::PipelineSpec* pipeline_spec(lua_State* L, int idx, const std::vector<double>** grid) {
  PipelineObject& p = check<PipelineObject>(L, idx);
  *grid = &p.grid;
  return &p.spec;
}

// Adds the estimators, forward_select, pipeline, metrics and pow2 to the nl.ml table on top.
void open_ml_models(lua_State* L) {
  open_ml_estimators(L);
  register_type<SelectObject>(L, select_methods, select_meta);
  register_type<PipelineObject>(L, pipe_methods, pipe_meta);
  register_ml_records(L);
  const luaL_Reg functions[] = {
      {"forward_select", new_select}, {"pipeline", new_pipeline},
      {"pow2", pow2}, {nullptr, nullptr},
  };
  set_bindings(L, functions);
  // nl.ml.metrics: callable, with auc and roc.
  lua_newtable(L);
  push_binding(L, metrics_auc);
  lua_setfield(L, -2, "auc");
  push_binding(L, metrics_roc);
  lua_setfield(L, -2, "roc");
  push_binding(L, metrics_regression);
  lua_setfield(L, -2, "regression");
  lua_newtable(L);
  push_binding(L, metrics_call);
  lua_setfield(L, -2, "__call");
  lua_setmetatable(L, -2);
  lua_setfield(L, -2, "metrics");
}

}  // namespace nl::bind

// bindings/ml/estimator.cpp: the estimators of nl.ml ("neurolua.Estimator"): the linear
// SVC of the paper and the models beside it (nl/ml/estimators.hpp).
//
//   local svc = nl.ml.svc{ C = 1, weighting = "balanced" }
//   local svr = nl.ml.svr{ C = nl.ml.pow2(-4, 4), epsilon = 0 }
//   local lr  = nl.ml.logistic{ C = 1 }            -- lr:probability(X)
//   local rr  = nl.ml.ridge{ alpha = { 0.1, 1, 10 } }
//   local kr  = nl.ml.kernel_ridge{ alpha = 1, kernel = "rbf", gamma = 0.05 }
//   local sv  = nl.ml.kernel_svc{ C = { 1, 10 }, gamma = { 0.01, 0.1 } }
//   est:fit(X, y); est:decision(Xtest)
#include <fmt/format.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/fields.hpp"
#include "ml/objects.hpp"

namespace nl::bind {

using nl::Matrix;
using nl::Vector;
using nl::ml::Estimator;

namespace {

std::string list_text(const std::vector<double>& v) {
  if (v.size() == 1) return fmt::format("{}", v[0]);
  std::string s = "{";
  for (std::size_t k = 0; k < v.size(); ++k) s += fmt::format("{}{}", k ? ", " : "", v[k]);
  return s + "}";
}

std::string weighting_text(const nl::ml::SvcSpec& s) {
  switch (s.weighting) {
    case nl::ml::Weighting::Balanced: return "\"balanced\"";
    case nl::ml::Weighting::None: return "\"none\"";
    case nl::ml::Weighting::Custom: return fmt::format("{{pos = {}, neg = {}}}", s.w_pos, s.w_neg);
  }
  return "?";
}

std::string gamma_text(const nl::ml::SvcSpec& s) {
  if (!s.gamma_grid.empty()) return list_text(s.gamma_grid);
  return s.gamma > 0 ? fmt::format("{}", s.gamma) : std::string("\"scale\"");
}

// Validates option `key` at idx: absent, a positive number or a non-empty list of them
// (raises naming the option; allocates nothing). Returns whether it is present.
bool validate_grid(lua_State* L, int idx, const char* key) {
  const int t = lua_getfield(L, idx, key);
  if (t == LUA_TTABLE) {
    const auto n = static_cast<lua_Integer>(lua_rawlen(L, -1));
    if (n == 0) luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' is an empty list", key));
    for (lua_Integer k = 1; k <= n; ++k) {
      lua_rawgeti(L, -1, k);
      const double c = lua_tonumber(L, -1);
      if (!lua_isnumber(L, -1) || !(c > 0) || !std::isfinite(c))
        luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' entry %I must be a positive number", key, k));
      lua_pop(L, 1);
    }
  } else if (t != LUA_TNIL) {
    const double c = lua_tonumber(L, -1);
    if (!lua_isnumber(L, -1) || !(c > 0) || !std::isfinite(c))
      luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be a positive number or a list of them", key));
  }
  lua_pop(L, 1);
  return t != LUA_TNIL;
}

// Reads a validated grid option into out (inside protect()).
void read_grid(lua_State* L, int idx, const char* key, std::vector<double>& out) {
  if (lua_getfield(L, idx, key) == LUA_TTABLE) {
    const auto n = static_cast<lua_Integer>(lua_rawlen(L, -1));
    for (lua_Integer k = 1; k <= n; ++k) {
      lua_rawgeti(L, -1, k);
      out.push_back(lua_tonumber(L, -1));
      lua_pop(L, 1);
    }
  } else if (!lua_isnil(L, -1)) {
    out.push_back(lua_tonumber(L, -1));
  }
  lua_pop(L, 1);
}

double opt_positive_number(lua_State* L, int idx, const char* key, double def) {
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

void opt_weighting(lua_State* L, int idx, nl::ml::SvcSpec& spec) {
  const int wt = lua_getfield(L, idx, "weighting");
  if (wt == LUA_TSTRING) {
    const std::string_view w = lua_tostring(L, -1);
    if (w == "balanced") spec.weighting = nl::ml::Weighting::Balanced;
    else if (w == "none") spec.weighting = nl::ml::Weighting::None;
    else
      luaL_argerror(L, idx,
                    lua_pushfstring(L, "invalid option '%s' for weighting; expected \"balanced\", \"none\" or {pos = "
                                       "w1, neg = w2}",
                                    lua_tostring(L, -1)));
  } else if (wt == LUA_TTABLE) {
    spec.weighting = nl::ml::Weighting::Custom;
    const int w = lua_gettop(L);
    spec.w_pos = opt_positive_number(L, w, "pos", 1.0);
    spec.w_neg = opt_positive_number(L, w, "neg", 1.0);
  } else if (wt != LUA_TNIL) {
    luaL_argerror(L, idx, "option 'weighting' must be \"balanced\", \"none\" or {pos = w1, neg = w2}");
  }
  lua_pop(L, 1);
}

void opt_bias(lua_State* L, int idx, nl::ml::SvcSpec& spec) {
  const int bt = lua_getfield(L, idx, "bias");
  if (bt == LUA_TBOOLEAN) spec.bias = lua_toboolean(L, -1) ? 1.0 : -1.0;
  else if (bt == LUA_TNUMBER) spec.bias = lua_tonumber(L, -1) >= 0 ? lua_tonumber(L, -1) : -1.0;
  else if (bt != LUA_TNIL) luaL_argerror(L, idx, "option 'bias' must be a boolean or a number");
  lua_pop(L, 1);
}

void opt_seed(lua_State* L, int idx, nl::ml::SvcSpec& spec) {
  if (lua_getfield(L, idx, "seed") != LUA_TNIL) {
    if (!lua_isinteger(L, -1)) luaL_argerror(L, idx, "option 'seed' must be an integer");
    spec.seed = static_cast<std::uint64_t>(lua_tointeger(L, -1));
  }
  lua_pop(L, 1);
}

void opt_kernel(lua_State* L, int idx, nl::ml::SvcSpec& spec) {
  const int kt = lua_getfield(L, idx, "kernel");
  if (kt == LUA_TSTRING) {
    const std::string_view k = lua_tostring(L, -1);
    if (k == "rbf") spec.kernel = nl::ml::Kernel::Rbf;
    else if (k == "linear") spec.kernel = nl::ml::Kernel::Linear;
    else luaL_argerror(L, idx, lua_pushfstring(L, "invalid kernel '%s'; expected \"rbf\" or \"linear\"", k.data()));
  } else if (kt != LUA_TNIL) {
    luaL_argerror(L, idx, "option 'kernel' must be \"rbf\" or \"linear\"");
  }
  lua_pop(L, 1);
}

// gamma: "scale" (the default: 1 / (p var(X)) of the training data, scikit-learn's
// gamma = "scale"), a positive number, or a list of them (a grid). Validation only;
// returns whether a number or list was given.
bool validate_gamma(lua_State* L, int idx) {
  if (lua_getfield(L, idx, "gamma") == LUA_TSTRING) {
    if (std::string_view(lua_tostring(L, -1)) != "scale")
      luaL_argerror(L, idx, "option 'gamma' must be \"scale\", a positive number or a list of them");
    lua_pop(L, 1);
    return false;
  }
  lua_pop(L, 1);
  return validate_grid(L, idx, "gamma");
}

int new_estimator(lua_State* L, Estimator kind) {
  const bool alpha = kind == Estimator::Ridge || kind == Estimator::KernelRidge;
  const char* what = nl::ml::estimator_name(kind);
  switch (kind) {
    case Estimator::LinearSvc: check_options(L, 1, what, {"C", "weighting", "bias", "tol", "max_iter", "seed"}); break;
    case Estimator::LinearSvr: check_options(L, 1, what, {"C", "epsilon", "bias", "tol", "max_iter", "seed"}); break;
    case Estimator::Logistic: check_options(L, 1, what, {"C", "weighting", "bias", "tol", "max_iter"}); break;
    case Estimator::Ridge: check_options(L, 1, what, {"alpha", "fit_intercept"}); break;
    case Estimator::KernelRidge: check_options(L, 1, what, {"alpha", "kernel", "gamma"}); break;
    case Estimator::KernelSvc: check_options(L, 1, what, {"C", "kernel", "gamma", "weighting", "tol", "max_iter"}); break;
  }
  if (lua_isnoneornil(L, 1)) lua_settop(L, 0), lua_newtable(L);
  nl::ml::SvcSpec spec;
  spec.estimator = kind;
  const char* param = alpha ? "alpha" : "C";
  validate_grid(L, 1, param);
  bool gamma_given = false;
  switch (kind) {
    case Estimator::LinearSvc:
      opt_weighting(L, 1, spec);
      opt_bias(L, 1, spec);
      spec.eps = opt_positive_number(L, 1, "tol", 0.01);
      spec.max_iter = static_cast<int>(opt_positive_number(L, 1, "max_iter", 1000));
      opt_seed(L, 1, spec);
      break;
    case Estimator::LinearSvr:
      opt_bias(L, 1, spec);
      spec.eps = opt_positive_number(L, 1, "tol", 0.001);
      spec.max_iter = static_cast<int>(opt_positive_number(L, 1, "max_iter", 1000));
      opt_seed(L, 1, spec);
      if (lua_getfield(L, 1, "epsilon") != LUA_TNIL) {
        const double e = lua_tonumber(L, -1);
        if (!lua_isnumber(L, -1) || !(e >= 0) || !std::isfinite(e))
          luaL_argerror(L, 1, "option 'epsilon' must be a number >= 0");
        spec.epsilon = e;
      }
      lua_pop(L, 1);
      break;
    case Estimator::Logistic:
      opt_weighting(L, 1, spec);
      opt_bias(L, 1, spec);
      spec.eps = opt_positive_number(L, 1, "tol", 0.01);
      spec.max_iter = static_cast<int>(opt_positive_number(L, 1, "max_iter", 1000));
      break;
    case Estimator::Ridge: spec.fit_intercept = opt_boolean(L, 1, "fit_intercept", true); break;
    case Estimator::KernelRidge:
      opt_kernel(L, 1, spec);
      gamma_given = validate_gamma(L, 1);
      break;
    case Estimator::KernelSvc:
      opt_kernel(L, 1, spec);
      opt_weighting(L, 1, spec);
      spec.eps = opt_positive_number(L, 1, "tol", 0.001);
      spec.max_iter = static_cast<int>(opt_positive_number(L, 1, "max_iter", 10'000'000));
      gamma_given = validate_gamma(L, 1);
      break;
  }
  if (gamma_given && spec.kernel == nl::ml::Kernel::Linear)
    luaL_argerror(L, 1, "option 'gamma' applies to the rbf kernel only");
  spec.gamma = 0;  // "scale" unless given
  auto* slot = new_object<SvcObject>(L);
  return protect(L, [&] {
    auto obj = std::make_shared<SvcObject>();
    obj->spec = spec;
    read_grid(L, 1, param, obj->grid);
    if (obj->grid.empty()) obj->grid = {1.0};
    obj->spec.C = obj->grid[0];
    if (gamma_given) {
      read_grid(L, 1, "gamma", obj->spec.gamma_grid);
      if (obj->spec.gamma_grid.size() == 1) {
        obj->spec.gamma = obj->spec.gamma_grid[0];
        obj->spec.gamma_grid.clear();
      }
    }
    *slot = std::move(obj);
    return 1;
  });
}

int new_svc(lua_State* L) { return new_estimator(L, Estimator::LinearSvc); }
int new_svr(lua_State* L) { return new_estimator(L, Estimator::LinearSvr); }
int new_logistic(lua_State* L) { return new_estimator(L, Estimator::Logistic); }
int new_ridge(lua_State* L) { return new_estimator(L, Estimator::Ridge); }
int new_kernel_ridge(lua_State* L) { return new_estimator(L, Estimator::KernelRidge); }
int new_kernel_svc(lua_State* L) { return new_estimator(L, Estimator::KernelSvc); }

// Reads X at xi and the targets at yi (raising on a mismatch); returns n.
lua_Integer check_x_targets(lua_State* L, int xi, int yi, const char* what, const nl::ml::SvcSpec& spec,
                            const LabelOptions& lo) {
  const Matrix& X = check<Matrix>(L, xi);
  const lua_Integer n = validate_targets(L, yi, "labels", spec, lo);
  if (n != X.rows())
    luaL_argerror(L, yi, lua_pushfstring(L, "%d %s for %d rows of data in '%s'", (int)n,
                                         nl::ml::is_regression(spec.estimator) ? "targets" : "labels", (int)X.rows(),
                                         what));
  return n;
}

// est:fit(X, y [, {positive = label}]) -> est
int est_fit(lua_State* L) {
  forbid_reentrant_change(L, "Estimator");
  SvcObject& s = check<SvcObject>(L, 1);
  check_options(L, 4, "fit", {"positive"});
  lua_settop(L, 4);
  LabelOptions lo;
  if (lua_istable(L, 4)) lua_getfield(L, 4, "positive");
  else lua_pushnil(L);
  lo.positive = lua_isnil(L, -1) ? 0 : lua_gettop(L);
  const lua_Integer n = check_x_targets(L, 2, 3, "fit", s.spec, lo);
  if (s.grid.size() > 1 || !s.spec.gamma_grid.empty())
    luaL_argerror(L, 1, lua_pushfstring(L, "this %s holds a grid of %s values; fit needs one value (tune it with "
                                           "nested CV)",
                                        nl::ml::estimator_name(s.spec.estimator),
                                        s.grid.size() > 1 ? grid_parameter(s.spec) : "gamma"));
  const Matrix& X = check<Matrix>(L, 2);
  return protect(L, [&] {
    Vector y(n);
    read_targets(L, 3, y, s.spec, lo);
    nl::ml::check_targets(s.spec, y, X.rows(), "fit");
    nl::Rng rng(s.spec.seed);
    s.model = nl::ml::train_svc(X, y, s.spec, rng);
    lua_pushvalue(L, 1);
    return 1;
  });
}

Eigen::Index fitted_width(const nl::ml::LinearSvcModel& m) {
  return m.kernel ? m.kernel->support.cols() : m.w.size();
}

void check_fitted_x(lua_State* L, SvcObject& s, const Matrix& X) {
  if (!s.model)
    luaL_argerror(L, 1, lua_pushfstring(L, "%s is not fitted (call fit first)", nl::ml::estimator_name(s.spec.estimator)));
  if (X.cols() != fitted_width(*s.model))
    luaL_argerror(L, 2, lua_pushfstring(L, "%s was fitted on %d features, got %d",
                                        nl::ml::estimator_name(s.spec.estimator), (int)fitted_width(*s.model),
                                        (int)X.cols()));
}

// est:decision(X) -> n x 1 Matrix: decision values (classifiers) or predictions (regressors)
int est_decision(lua_State* L) {
  SvcObject& s = check<SvcObject>(L, 1);
  const Matrix& X = check<Matrix>(L, 2);
  check_fitted_x(L, s, X);
  auto* slot = new_object<Matrix>(L);
  return protect(L, [&] {
    *slot = std::make_shared<Matrix>(nl::ml::decision(*s.model, X));
    return 1;
  });
}

// est:probability(X) -> n x 1 Matrix of P(y = +1 | x) (logistic regression only)
int est_probability(lua_State* L) {
  SvcObject& s = check<SvcObject>(L, 1);
  const Matrix& X = check<Matrix>(L, 2);
  if (s.spec.estimator != Estimator::Logistic)
    luaL_argerror(L, 1, lua_pushfstring(L, "probability: a %s gives no probabilities (nl.ml.logistic does; the "
                                           "decision values of an SVC are not calibrated)",
                                        nl::ml::estimator_name(s.spec.estimator)));
  check_fitted_x(L, s, X);
  auto* slot = new_object<Matrix>(L);
  return protect(L, [&] {
    *slot = std::make_shared<Matrix>(nl::ml::logistic_probability(*s.model, X));
    return 1;
  });
}

int est_fitted(lua_State* L) {
  lua_pushboolean(L, check<SvcObject>(L, 1).model.has_value());
  return 1;
}

int est_clone(lua_State* L) {
  SvcObject& s = check<SvcObject>(L, 1);
  auto* slot = new_object<SvcObject>(L);
  return protect(L, [&] {
    auto c = std::make_shared<SvcObject>(s);
    c->model.reset();
    *slot = std::move(c);
    return 1;
  });
}

// est:grid() -> list of C (or alpha) values
int est_grid(lua_State* L) {
  SvcObject& s = check<SvcObject>(L, 1);
  lua_createtable(L, static_cast<int>(s.grid.size()), 0);
  for (std::size_t k = 0; k < s.grid.size(); ++k) {
    lua_pushnumber(L, s.grid[k]);
    lua_rawseti(L, -2, static_cast<lua_Integer>(k + 1));
  }
  return 1;
}

// est.w_, b_, iterations_, converged_, n_support_ (learned by fit; reading one before
// fit raises). w_ of an rbf kernel model raises (no weight per feature); n_support_ is
// nil for a linear model.
constexpr const char* kEstFields[] = {"w_", "b_", "iterations_", "converged_", "n_support_", nullptr};

int est_index(lua_State* L) {
  SvcObject& s = check<SvcObject>(L, 1);
  if (push_method(L, 2)) return 1;
  const int k = field_index(L, 2, kEstFields);
  if (k >= 0 && !s.model) return not_fitted(L, nl::ml::estimator_name(s.spec.estimator), kEstFields[k]);
  switch (k) {
    case 0: return push_new<Matrix>(L, [&] { return Matrix(nl::ml::model_weights(*s.model)); });
    case 1: lua_pushnumber(L, s.model->b); return 1;
    case 2: lua_pushinteger(L, s.model->iterations); return 1;
    case 3: lua_pushboolean(L, s.model->converged); return 1;
    case 4:
      if (s.model->kernel) lua_pushinteger(L, static_cast<lua_Integer>(s.model->kernel->support.rows()));
      else lua_pushnil(L);
      return 1;
    default: return no_field(L, 1, 2);
  }
}

int est_fields(lua_State* L) { return push_names(L, kEstFields); }

int est_tostring(lua_State* L) {
  SvcObject& s = check<SvcObject>(L, 1);
  return protect(L, [&] {
    std::string str = estimator_options(s);
    if (s.model && s.model->kernel)
      str += fmt::format("  -- fitted: {} support vectors of {} features, b = {}{}", s.model->kernel->support.rows(),
                         s.model->kernel->support.cols(), s.model->b, s.model->converged ? "" : " (not converged)");
    else if (s.model)
      str += fmt::format("  -- fitted: {} weights, b = {}, {} iterations{}", s.model->w.size(), s.model->b,
                         s.model->iterations, s.model->converged ? "" : " (not converged)");
    else
      str += "  -- not fitted";
    lua_pushlstring(L, str.data(), str.size());
    return 1;
  });
}

const luaL_Reg est_methods[] = {
    {"fit", est_fit},       {"decision", est_decision}, {"probability", est_probability},
    {"fitted", est_fitted}, {"clone", est_clone},       {"grid", est_grid},
    {nullptr, nullptr},
};
const luaL_Reg est_meta[] = {
    {"__index", est_index}, {"__fields", est_fields}, {"__tostring", est_tostring}, {nullptr, nullptr},
};

}  // namespace

const char* grid_parameter(const nl::ml::SvcSpec& spec) {
  return spec.estimator == Estimator::Ridge || spec.estimator == Estimator::KernelRidge ? "alpha" : "C";
}

std::string estimator_options(const SvcObject& s) {
  const nl::ml::SvcSpec& p = s.spec;
  const std::string grid = list_text(s.grid);
  const std::string bias = p.bias < 0 ? "false" : fmt::format("{}", p.bias);
  const char* kernel = p.kernel == nl::ml::Kernel::Rbf ? "rbf" : "linear";
  switch (p.estimator) {
    case Estimator::LinearSvc:
      return fmt::format("svc{{C = {}, weighting = {}, bias = {}, tol = {}}}", grid, weighting_text(p), bias, p.eps);
    case Estimator::LinearSvr:
      return fmt::format("svr{{C = {}, epsilon = {}, bias = {}, tol = {}}}", grid, p.epsilon, bias, p.eps);
    case Estimator::Logistic:
      return fmt::format("logistic{{C = {}, weighting = {}, bias = {}, tol = {}}}", grid, weighting_text(p), bias,
                         p.eps);
    case Estimator::Ridge:
      return fmt::format("ridge{{alpha = {}, fit_intercept = {}}}", grid, p.fit_intercept ? "true" : "false");
    case Estimator::KernelRidge:
      if (p.kernel == nl::ml::Kernel::Linear) return fmt::format("kernel_ridge{{alpha = {}, kernel = \"linear\"}}", grid);
      return fmt::format("kernel_ridge{{alpha = {}, kernel = \"rbf\", gamma = {}}}", grid, gamma_text(p));
    case Estimator::KernelSvc:
      if (p.kernel == nl::ml::Kernel::Linear)
        return fmt::format("kernel_svc{{C = {}, kernel = \"linear\", weighting = {}, tol = {}}}", grid,
                           weighting_text(p), p.eps);
      return fmt::format("kernel_svc{{C = {}, kernel = \"{}\", gamma = {}, weighting = {}, tol = {}}}", grid, kernel,
                         gamma_text(p), weighting_text(p), p.eps);
  }
  return "?";
}

lua_Integer validate_targets(lua_State* L, int idx, const char* what, const nl::ml::SvcSpec& spec,
                             const LabelOptions& lo) {
  if (!nl::ml::is_regression(spec.estimator)) return validate_labels(L, idx, what, lo);
  if (lo.positive)
    luaL_argerror(L, idx, lua_pushfstring(L, "option 'positive' names a class, but %s is a regression",
                                          nl::ml::estimator_name(spec.estimator)));
  const lua_Integer n = validate_scores(L, idx, what);
  if (n == 0) luaL_argerror(L, idx, "targets are empty");
  return n;
}

void read_targets(lua_State* L, int idx, nl::Vector& y, const nl::ml::SvcSpec& spec, const LabelOptions& lo,
                  nl::ml::ClassLabels* classes) {
  if (nl::ml::is_regression(spec.estimator)) read_scores(L, idx, y);
  else read_labels(L, idx, y, lo, classes);
}

void open_ml_estimators(lua_State* L) {
  register_type<SvcObject>(L, est_methods, est_meta);
  const luaL_Reg functions[] = {
      {"svc", new_svc},     {"svr", new_svr},   {"logistic", new_logistic}, {"ridge", new_ridge},
      {"kernel_ridge", new_kernel_ridge}, {"kernel_svc", new_kernel_svc}, {nullptr, nullptr},
  };
  set_bindings(L, functions);
}

}  // namespace nl::bind

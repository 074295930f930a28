// ml/pipeline.cpp: SVC specification, the forward wrapper, and pipeline fitting.
#include "nl/ml/pipeline.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <stdexcept>

#include "nl/core/warnings.hpp"
#include "nl/ml/components.hpp"
#include "training_gram.hpp"
#include "nl/ml/metrics.hpp"

namespace nl::ml {

// ---------------------------------------------------------------- SVC

namespace {

ClassCosts costs(const SvcSpec& spec, const Vector& y) {
  switch (spec.weighting) {
    case Weighting::Balanced: return balanced_costs(spec.C, y);
    case Weighting::None: return {spec.C, spec.C};
    case Weighting::Custom: return {spec.C * spec.w_pos, spec.C * spec.w_neg};
  }
  return {spec.C, spec.C};
}

// gamma <= 0 is scikit-learn's gamma = "scale": 1 / (p var(X)) over every entry of the
// training data (1 when they are constant).
double resolve_gamma(const SvcSpec& spec, const Matrix& X) {
  if (spec.gamma > 0) return spec.gamma;
  const double n = static_cast<double>(X.size());
  const double mean = X.mean();
  const double var = n > 0 ? (X.array() - mean).square().sum() / n : 0.0;
  return var > 0 ? 1.0 / (static_cast<double>(X.cols()) * var) : 1.0;
}

}  // namespace

bool is_regression(Estimator e) {
  return e == Estimator::LinearSvr || e == Estimator::Ridge || e == Estimator::KernelRidge;
}

const char* estimator_name(Estimator e) {
  switch (e) {
    case Estimator::LinearSvc: return "svc";
    case Estimator::LinearSvr: return "svr";
    case Estimator::Logistic: return "logistic";
    case Estimator::Ridge: return "ridge";
    case Estimator::KernelRidge: return "kernel_ridge";
    case Estimator::KernelSvc: return "kernel_svc";
  }
  return "?";
}

const char* criterion_name(Criterion c) {
  switch (c) {
    case Criterion::Default: return "default";
    case Criterion::Bac: return "bac";
    case Criterion::Mae: return "mae";
    case Criterion::Rmse: return "rmse";
    case Criterion::R: return "r";
    case Criterion::R2: return "r2";
  }
  return "?";
}

bool higher_is_better(Criterion c) { return !(c == Criterion::Mae || c == Criterion::Rmse); }

double criterion_value(Criterion c, const Vector& s, const Vector& y) {
  if (c == Criterion::Bac || c == Criterion::Default) return score_bac(s, y);
  const RegressionMetrics m = regression_metrics(s, y);
  switch (c) {
    case Criterion::Mae: return m.mae;
    case Criterion::Rmse: return m.rmse;
    case Criterion::R: return std::isnan(m.r) ? 0.0 : m.r;
    default: return m.r2;
  }
}

Criterion resolve_criterion(const SvcSpec& spec) {
  if (spec.criterion != Criterion::Default) return spec.criterion;
  return is_regression(spec.estimator) ? Criterion::Mae : Criterion::Bac;
}

std::size_t grid_points(const SvcSpec& spec, const std::vector<double>& values) {
  return values.size() * std::max<std::size_t>(1, spec.gamma_grid.size());
}

SvcSpec at_grid_point(const SvcSpec& spec, const std::vector<double>& values, std::size_t g) {
  SvcSpec s = spec;
  const std::size_t ng = std::max<std::size_t>(1, spec.gamma_grid.size());
  s.C = values.at(g / ng);
  if (!spec.gamma_grid.empty()) s.gamma = spec.gamma_grid[g % ng];
  return s;
}

bool more_regularized(const SvcSpec& spec, const std::vector<double>& values, std::size_t a, std::size_t b) {
  const SvcSpec A = at_grid_point(spec, values, a), B = at_grid_point(spec, values, b);
  const bool alpha = spec.estimator == Estimator::Ridge || spec.estimator == Estimator::KernelRidge;
  if (A.C != B.C) return alpha ? A.C > B.C : A.C < B.C;
  return A.gamma < B.gamma;
}

namespace {
LinearSvcOptions svc_options(const SvcSpec& spec, const Vector& y, const Vector* alpha0) {
  LinearSvcOptions o;
  const ClassCosts c = costs(spec, y);
  o.Cp = c.Cp;
  o.Cn = c.Cn;
  o.bias = spec.bias;
  o.eps = spec.eps;
  o.max_iter = spec.max_iter;
  if (alpha0) o.alpha0 = *alpha0;
  return o;
}

void svc_outcome(const LinearSvcModel& m, const SvcSpec& spec, const std::string& limit) {
  solver_outcome(spec.estimator == Estimator::LinearSvc ? "SVC" : estimator_name(spec.estimator), m.converged, limit,
                 "raise max_iter or scale the features (nl.ml.scale)");
}
}  // namespace

LinearSvcModel train_svc(const LinearSvcProblem& problem, const Vector& y, const SvcSpec& spec, Rng& rng,
                         const Vector* alpha0) {
  if (spec.estimator != Estimator::LinearSvc)
    throw Error(fmt::format("train_svc: a prepared problem is for the linear SVC, not {}", estimator_name(spec.estimator)));
  LinearSvcModel m = fit_linear_svc(problem, svc_options(spec, y, alpha0), rng);
  svc_outcome(m, spec, fmt::format("(max_iter {})", spec.max_iter));
  return m;
}

LinearSvcModel train_svc(const Matrix& X, const Vector& y, const SvcSpec& spec, Rng& rng, const Vector* alpha0) {
  LinearSvcModel m;
  std::string limit = fmt::format("(max_iter {})", spec.max_iter);
  switch (spec.estimator) {
    case Estimator::LinearSvc:
      m = fit_linear_svc(X, y, svc_options(spec, y, alpha0), rng);
      break;
    case Estimator::LinearSvr: {
      LinearSvrOptions o;
      o.C = spec.C;
      o.epsilon = spec.epsilon;
      o.eps = spec.eps;
      o.bias = spec.bias;
      o.max_iter = spec.max_iter;
      m = fit_linear_svr(X, y, o, rng);
      break;
    }
    case Estimator::Logistic: {
      LogisticOptions o;
      const ClassCosts c = costs(spec, y);
      o.Cp = c.Cp;
      o.Cn = c.Cn;
      o.eps = spec.eps;
      o.bias = spec.bias;
      o.max_iter = spec.max_iter;
      m = fit_logistic(X, y, o);
      break;
    }
    case Estimator::Ridge: m = fit_ridge(X, y, RidgeOptions{spec.C, spec.fit_intercept}); break;
    case Estimator::KernelRidge: {
      auto k = std::make_shared<KernelModel>(fit_kernel_ridge(X, y, KernelRidgeOptions{spec.C, spec.kernel, resolve_gamma(spec, X)}));
      m.converged = k->converged;
      m.iterations = k->iterations;
      m.b = k->b;
      m.kernel = std::move(k);
      break;
    }
    case Estimator::KernelSvc: {
      KernelSvcOptions o;
      const ClassCosts c = costs(spec, y);
      o.Cp = c.Cp;
      o.Cn = c.Cn;
      o.kernel = spec.kernel;
      o.gamma = resolve_gamma(spec, X);
      o.max_iter = spec.max_iter;
      o.eps = spec.eps;
      auto k = std::make_shared<KernelModel>(fit_kernel_svc(X, y, o));
      limit = fmt::format("(max_iter {})", o.max_iter);
      m.converged = k->converged;
      m.iterations = k->iterations;
      m.b = k->b;
      m.kernel = std::move(k);
      break;
    }
  }
  svc_outcome(m, spec, limit);
  return m;
}

void check_targets(const SvcSpec& spec, const Vector& y, Eigen::Index n, const char* what) {
  if (!is_regression(spec.estimator)) return check_labels(y, n, what);
  if (y.size() != n) throw ValueError(fmt::format("{}: {} targets for {} rows", what, y.size(), n));
  for (Eigen::Index i = 0; i < y.size(); ++i)
    if (!std::isfinite(y(i)))
      throw ValueError(fmt::format("{}: the target in row {} is {}, not a finite number ({} is a regression)", what,
                                   i + 1, std::isnan(y(i)) ? std::string("NaN (missing)") : fmt::format("{}", y(i)),
                                   estimator_name(spec.estimator)));
  if (n > 0 && (y.array() == y(0)).all())
    throw ValueError(fmt::format("{}: every target equals {}; a regression needs targets that vary", what, y(0)));
}

double score_bac(const Vector& scores, const Vector& y) {
  // The wrapper compares subsets, so BAC must always be a number: a class with no
  // decided sample contributes 0 instead of NaN.
  const Confusion c = confusion(scores, y);
  const double sens = std::isnan(c.sensitivity) ? 0.0 : c.sensitivity;
  const double spec = std::isnan(c.specificity) ? 0.0 : c.specificity;
  return 0.5 * (sens + spec);
}

void check_labels(const Vector& y, Eigen::Index n, const char* what) {
  if (y.size() != n) throw ValueError(fmt::format("{}: {} labels for {} rows", what, y.size(), n));
  bool pos = false, neg = false;
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    if (y(i) == 1) pos = true;
    else if (y(i) == -1) neg = true;
    else throw ValueError(fmt::format("{}: label {} in row {} is not +1 or -1", what, y(i), i + 1));
  }
  if (!pos || !neg) throw ValueError(fmt::format("{}: labels hold only one class ({})", what, pos ? "+1" : "-1"));
}

// ---------------------------------------------------------------- forward wrapper

namespace {
double subset_bac(const Matrix& Xtr, const Vector& ytr, const Matrix& Xval, const Vector& yval,
                  const std::vector<Eigen::Index>& cols, const SvcSpec& svc, Rng& rng) {
  const Matrix A = Xtr(Eigen::all, cols);
  const LinearSvcModel m = train_svc(A, ytr, svc, rng);
  return criterion_value(resolve_criterion(svc), decision(m, Xval(Eigen::all, cols)), yval);
}
}  // namespace

std::int64_t forward_select_fits(Eigen::Index p, const ForwardSelectOptions& options) {
  // The loop of forward_select without the fits: pool.size() + 1 fits per cycle.
  std::int64_t fits = 0;
  auto pool = static_cast<std::int64_t>(p);
  const double floor_size = options.stop * static_cast<double>(p);
  while (pool > 0 && static_cast<double>(pool) >= floor_size) {
    fits += pool + 1;
    pool -= static_cast<std::int64_t>(std::ceil(options.step * static_cast<double>(pool) - 1e-12));
  }
  return fits;
}

Selection forward_select(const Matrix& Xtr, const Vector& ytr, const Matrix& Xval, const Vector& yval,
                         const SvcSpec& svc, const ForwardSelectOptions& options, Rng& rng, const Progress& progress) {
  if (!(options.step > 0 && options.step <= 1))
    throw ValueError(fmt::format("forward_select: step must be in (0, 1], got {}", options.step));
  if (!(options.stop > 0 && options.stop <= 1))
    throw ValueError(fmt::format("forward_select: stop must be in (0, 1], got {}", options.stop));
  if (Xtr.cols() != Xval.cols())
    throw ValueError(fmt::format("forward_select: {} training and {} validation features", Xtr.cols(), Xval.cols()));
  const Eigen::Index p = Xtr.cols();
  std::vector<Eigen::Index> pool(static_cast<std::size_t>(p));
  std::iota(pool.begin(), pool.end(), Eigen::Index{0});
  Selection sel;
  const Criterion crit = resolve_criterion(svc);
  // The empty set: BAC 0 (NeuroMiner), the worst value of a regression criterion.
  double best = is_regression(svc.estimator) ? -std::numeric_limits<double>::infinity() : 0.0;
  if (is_regression(svc.estimator)) sel.bac = std::numeric_limits<double>::quiet_NaN();
  const double floor_size = options.stop * static_cast<double>(p);
  std::vector<std::pair<double, Eigen::Index>> scored;
  const std::int64_t total = progress ? forward_select_fits(p, options) : 0;
  std::int64_t done = 0;
  while (!pool.empty() && static_cast<double>(pool.size()) >= floor_size) {
    check_interrupt();
    scored.clear();
    std::vector<Eigen::Index> trial = sel.features;
    trial.push_back(0);
    for (Eigen::Index f : pool) {
      check_interrupt();  // per fit: a cycle at p = 2,000 is about 2,000 fits
      trial.back() = f;
      scored.emplace_back(subset_bac(Xtr, ytr, Xval, yval, trial, svc, rng), f);
      if (progress) progress(++done, total);
    }
    std::stable_sort(scored.begin(), scored.end(), [crit](const auto& a, const auto& b) {
      return goodness(crit, a.first) > goodness(crit, b.first);
    });
    const auto block = static_cast<std::size_t>(std::ceil(options.step * static_cast<double>(pool.size()) - 1e-12));
    std::vector<Eigen::Index> candidate = sel.features;
    for (std::size_t k = 0; k < block; ++k) candidate.push_back(scored[k].second);
    std::sort(candidate.begin(), candidate.end());
    const double bac = subset_bac(Xtr, ytr, Xval, yval, candidate, svc, rng);
    if (progress) progress(++done, total);
    if (goodness(crit, bac) > best) {
      sel.features = candidate;
      sel.bac = bac;
      best = goodness(crit, bac);
    }
    for (std::size_t k = 0; k < block; ++k) pool.erase(std::find(pool.begin(), pool.end(), scored[k].second));
    ++sel.cycles;
  }
  return sel;
}

// ---------------------------------------------------------------- pipeline

namespace {
Table stack_rows(const Table& a, const Table& b);
}  // namespace

Matrix Preprocessing::apply(const Matrix& X, const Table* covariates) const {
  Matrix Y = X;
  for (const auto& s : steps) Y = s->apply(Y, covariates);
  return Y;
}

Preprocessing with_unseen(const Preprocessing& pre, const UnseenPolicy& unseen) {
  Preprocessing out;
  std::vector<std::string> read;  // the columns of every regress_out step
  bool any = false;
  for (const auto& s : pre.steps) {
    const auto* r = dynamic_cast<const RegressOut*>(s.get());
    if (!r) {
      out.steps.push_back(s);  // shared: applying does not change a step
      continue;
    }
    any = true;
    const std::vector<std::string> names = r->covariates_used();
    read.insert(read.end(), names.begin(), names.end());
    auto c = std::make_shared<RegressOut>(*r);
    c->set_unseen(unseen.restricted(names));
    out.steps.push_back(std::move(c));
  }
  if (!any)
    throw ValueError("unseen: the pipeline has no regress_out step (the unseen-level policy is regress_out's, for its "
                     "text covariates)");
  for (const auto& [column, rule] : unseen.columns)
    if (std::find(read.begin(), read.end(), column) == read.end())
      throw ValueError(fmt::format("unseen names column '{}', which regress_out does not read (its covariates: '{}')",
                                   column, fmt::join(read, "', '")));
  return out;
}

Preprocessing fit_preprocessing(const PipelineSpec& spec, const Matrix& X, const Table* covariates,
                                Matrix* transformed, const TrainingGram* gram) {
  Preprocessing pre;
  Matrix Y = X;
  std::optional<detail::GramTrack> track;
  if (gram) track.emplace(X.cols());
  for (const auto& proto : spec.steps) {
    std::shared_ptr<Transform> s = proto->clone();
    auto* pca = track && track->active() ? dynamic_cast<Pca*>(s.get()) : nullptr;
    if (pca && Y.rows() >= Y.cols()) {
      const Matrix C = track->cross(*gram, X, covariates);
      Y = pca->fit_apply(Y, covariates, &C);
    } else {
      Y = s->fit_apply(Y, covariates);
    }
    if (track && (pca || !track->follow(*s))) track.reset();
    pre.steps.push_back(std::move(s));
  }
  if (Y.cols() == 0) throw ValueError("pipeline: preprocessing left no features");
  if (transformed) *transformed = std::move(Y);
  return pre;
}

FittedModel fit_model(const Matrix& Xtr, const Vector& ytr, const Matrix* Xval, const Vector* yval,
                      const PipelineSpec& spec, Rng& rng, const Progress& progress, const Table* cov_tr,
                      const Table* cov_val) {
  check_targets(spec.svc, ytr, Xtr.rows(), "fit");
  check_spec(spec);
  if ((Xval == nullptr) != (yval == nullptr)) throw ValueError("fit: validation data needs both rows and labels");
  FittedModel m;
  m.validation_bac = std::numeric_limits<double>::quiet_NaN();
  if (Xval) {
    if (Xval->cols() != Xtr.cols())
      throw ValueError(fmt::format("fit: validation rows have {} features, training rows {}", Xval->cols(), Xtr.cols()));
    if (yval->size() != Xval->rows())
      throw ValueError(fmt::format("fit: {} validation labels for {} rows", yval->size(), Xval->rows()));
  }
  if (spec.select) {
    if (!Xval) throw ValueError("fit: forward_select needs validation rows (an inner split)");
    const Selection sel = forward_select(Xtr, ytr, *Xval, *yval, spec.svc, *spec.select, rng, progress);
    m.features = sel.features;
    m.validation_bac = sel.bac;
    if (m.features.empty()) {
      // No block improved on the empty set: keep every feature rather than none.
      m.features.resize(static_cast<std::size_t>(Xtr.cols()));
      std::iota(m.features.begin(), m.features.end(), Eigen::Index{0});
    }
    m.svc = train_union(Xtr, ytr, *Xval, *yval, m.features, spec.svc, rng);
    return m;
  }
  // No wrapper: the filters (if any) and the estimator train on every row given.
  Matrix A = Xtr;
  Vector y = ytr;
  std::optional<Table> cov;
  if (Xval) {
    A.resize(Xtr.rows() + Xval->rows(), Xtr.cols());
    A.topRows(Xtr.rows()) = Xtr;
    A.bottomRows(Xval->rows()) = *Xval;
    y.resize(ytr.size() + yval->size());
    y << ytr, *yval;
    if (cov_tr && cov_val) cov = stack_rows(*cov_tr, *cov_val);
  } else if (cov_tr) {
    cov = *cov_tr;
  }
  if (!spec.filters.empty()) A = fit_filters(spec, A, y, cov ? &*cov : nullptr, m.filters);
  m.features.resize(static_cast<std::size_t>(A.cols()));
  std::iota(m.features.begin(), m.features.end(), Eigen::Index{0});
  m.svc = train_svc(A, y, spec.svc, rng);
  return m;
}

LinearSvcModel train_union(const Matrix& Xtr, const Vector& ytr, const Matrix& Xval, const Vector& yval,
                           const std::vector<Eigen::Index>& features, const SvcSpec& svc, Rng& rng,
                           const Vector* alpha0) {
  Matrix A(Xtr.rows() + Xval.rows(), static_cast<Eigen::Index>(features.size()));
  A.topRows(Xtr.rows()) = Xtr(Eigen::all, features);
  A.bottomRows(Xval.rows()) = Xval(Eigen::all, features);
  Vector y(ytr.size() + yval.size());
  y << ytr, yval;
  return train_svc(A, y, svc, rng, alpha0);
}

Vector model_weights(const LinearSvcModel& model) {
  return model.kernel ? kernel_weights(*model.kernel) : model.w;
}

Matrix fit_filters(const PipelineSpec& spec, const Matrix& X, const Vector& y, const Table* covariates,
                   std::vector<std::shared_ptr<Transform>>& fitted) {
  fitted.clear();
  Matrix Y = X;
  for (const auto& proto : spec.filters) {
    std::shared_ptr<Transform> f = proto->clone();
    f->fit_labelled(Y, y, covariates);
    Y = f->apply(Y, covariates);
    if (Y.cols() == 0) throw ValueError(fmt::format("pipeline: the {} step left no features", f->name()));
    fitted.push_back(std::move(f));
  }
  return Y;
}

Matrix apply_filters(const std::vector<std::shared_ptr<Transform>>& filters, const Matrix& X) {
  if (filters.empty()) return X;
  Matrix Y = X;
  for (const auto& f : filters) Y = f->apply(Y, nullptr);
  return Y;
}

std::vector<std::string> covariates_read(const PipelineSpec& spec) {
  std::vector<std::string> names;
  const auto add = [&](const auto& steps) {
    for (const auto& step : steps)
      for (const auto& n : step->covariates_used())
        if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  };
  add(spec.steps);
  add(spec.filters);
  return names;
}

void check_spec(const PipelineSpec& spec) {
  if (!spec.filters.empty() && spec.select)
    throw ValueError(fmt::format("pipeline: the label-dependent {} step and forward_select cannot be combined (the "
                                 "wrapper's features would have no counterpart once the step is refitted on the "
                                 "rows of each model); use one or the other",
                                 spec.filters.front()->name()));
}

Vector model_decision(const FittedModel& model, const Matrix& Xpre) {
  const Matrix Xf = apply_filters(model.filters, Xpre);
  if (!model.features.empty() && model.features.back() >= Xf.cols())
    throw ValueError(fmt::format("decision: the model uses feature {} but the data have {}", model.features.back() + 1,
                                 Xf.cols()));
  return decision(model.svc, Xf(Eigen::all, model.features));
}

namespace {

// Where each output column of a fitted preprocessing comes from (carry_features).
std::vector<std::pair<int, Eigen::Index>> column_origins(const Preprocessing& pre, Eigen::Index p_in) {
  std::vector<std::pair<int, Eigen::Index>> keys(static_cast<std::size_t>(p_in));
  for (Eigen::Index j = 0; j < p_in; ++j) keys[static_cast<std::size_t>(j)] = {-1, j};
  for (std::size_t s = 0; s < pre.steps.size(); ++s) {
    const Transform& step = *pre.steps[s];
    if (const auto* prune = dynamic_cast<const Prune*>(&step)) {
      std::vector<std::pair<int, Eigen::Index>> kept;
      for (Eigen::Index j : prune->kept()) kept.push_back(keys[static_cast<std::size_t>(j)]);
      keys = std::move(kept);
    } else if (step.name() == "pca" || step.name() == "robpca") {
      keys.clear();
      for (Eigen::Index k = 0; k < step.n_features_out(); ++k) keys.push_back({static_cast<int>(s), k});
    } else if (step.n_features_out() != static_cast<Eigen::Index>(keys.size())) {
      throw ValueError(fmt::format("refit_preprocessing with forward_select: the {} step changes the number of "
                                   "features, so the wrapper's features cannot be carried to the preprocessing "
                                   "refitted on CV1-train + CV1-test; use refit_preprocessing = false or no wrapper",
                                   step.name()));
    }
  }
  return keys;
}

// Rows of two covariate tables one after the other (the columns of `a`, by name).
Table stack_rows(const Table& a, const Table& b) {
  Table out;
  for (const auto& name : a.names()) {
    const Column& ca = *a.column(name);
    const Column& cb = *b.column(name);
    std::vector<Cell> cells;
    cells.reserve(ca.size() + cb.size());
    for (std::size_t i = 0; i < ca.size(); ++i) cells.push_back(ca.cell(i));
    for (std::size_t i = 0; i < cb.size(); ++i) cells.push_back(cb.cell(i));
    out.set(std::make_shared<Column>(Column::from_cells(name, cells)));
  }
  return out;
}

}  // namespace

std::vector<Eigen::Index> carry_features(const Preprocessing& from, const Preprocessing& to, Eigen::Index p_in,
                                         const std::vector<Eigen::Index>& features) {
  const auto a = column_origins(from, p_in), b = column_origins(to, p_in);
  std::vector<Eigen::Index> out;
  for (Eigen::Index f : features) {
    const auto it = std::find(b.begin(), b.end(), a[static_cast<std::size_t>(f)]);
    if (it == b.end())
      throw ValueError(fmt::format("refit_preprocessing: feature {} selected by the wrapper has no counterpart in the "
                                   "preprocessing refitted on the training and validation rows",
                                   f + 1));
    out.push_back(static_cast<Eigen::Index>(it - b.begin()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

FittedPipeline fit_pipeline(const PipelineSpec& spec, const Matrix& X, const Vector& y, const Table* covariates,
                            const Matrix* Xval, const Vector* yval, const Table* covariates_val,
                            const Progress& progress, bool refit_preprocessing) {
  check_targets(spec.svc, y, X.rows(), "fit");
  check_spec(spec);
  ConvergenceTally tally("the pipeline fit");
  FittedPipeline f;
  Matrix Xtr;
  f.pre = fit_preprocessing(spec, X, covariates, &Xtr);
  Rng rng(spec.svc.seed);
  if (Xval) {
    const Matrix V = f.pre.apply(*Xval, covariates_val);
    // (Also with refit and no wrapper, where the model is then retrained: the solver
    // stream continues from this fit, as it always has.)
    f.model = fit_model(Xtr, y, &V, yval, spec, rng, progress, covariates, covariates_val);
    if (refit_preprocessing) {
      // The union's own preprocessing, and the svc retrained on it (as nested_cv does).
      Matrix U(X.rows() + Xval->rows(), X.cols());
      U.topRows(X.rows()) = X;
      U.bottomRows(Xval->rows()) = *Xval;
      Vector yu(y.size() + yval->size());
      yu << y, *yval;
      std::optional<Table> cu;
      if (covariates && covariates_val) cu = stack_rows(*covariates, *covariates_val);
      Matrix Xu;
      Preprocessing pre = fit_preprocessing(spec, U, cu ? &*cu : nullptr, &Xu);
      std::vector<Eigen::Index> features;
      if (spec.select) {
        features = carry_features(f.pre, pre, X.cols(), f.model.features);
      } else {
        f.model = FittedModel{};
        f.model.validation_bac = std::numeric_limits<double>::quiet_NaN();
        if (!spec.filters.empty()) Xu = fit_filters(spec, Xu, yu, cu ? &*cu : nullptr, f.model.filters);
        features.resize(static_cast<std::size_t>(Xu.cols()));
        std::iota(features.begin(), features.end(), Eigen::Index{0});
      }
      f.model.svc = train_svc(Xu(Eigen::all, features), yu, spec.svc, rng);
      f.model.features = std::move(features);
      f.pre = std::move(pre);
    }
  } else {
    f.model = fit_model(Xtr, y, nullptr, nullptr, spec, rng, progress, covariates);
  }
  tally.finish();
  return f;
}

// Checked twice, like sklearn's Pipeline (each estimator's check_array): the caller's X
// (a NaN is allowed only when the first step imputes it), then the preprocessed rows
// (a covariate-based step turns a missing covariate into NaN features).
Vector pipeline_decision(const FittedPipeline& fitted, const Matrix& X, const Table* covariates) {
  const bool imputes = !fitted.pre.steps.empty() && fitted.pre.steps.front()->name() == "impute";
  for (Eigen::Index j = 0; j < X.cols(); ++j)
    for (Eigen::Index i = 0; i < X.rows(); ++i) {
      const double x = X(i, j);
      if (std::isfinite(x) || (imputes && std::isnan(x))) continue;
      throw ValueError(fmt::format("decision: X has {} at row {}, column {}; {}",
                                   std::isnan(x) ? "a missing value (NaN)" : fmt::format("the value {}", x), i + 1,
                                   j + 1,
                                   std::isnan(x) ? "a pipeline whose first step is nl.ml.impute fills it, any other "
                                                   "cannot score the row"
                                                 : "a model cannot score a row with an infinite feature"));
    }
  const Matrix Xpre = fitted.pre.apply(X, covariates);
  for (Eigen::Index i = 0; i < Xpre.rows(); ++i)
    if (!Xpre.row(i).allFinite())
      throw ValueError(fmt::format("decision: row {} has a non-finite value after the pipeline's preprocessing "
                                   "(a missing or non-finite covariate?); a model cannot score it",
                                   i + 1));
  return model_decision(fitted.model, Xpre);
}

}  // namespace nl::ml

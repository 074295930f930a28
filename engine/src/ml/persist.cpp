// ml/persist.cpp: saving and loading a nested-CV result (nl/ml/nested_cv.hpp).
//
// Version 1 payload, in order: the pipeline (prototype steps, wrapper, SVC spec), the C
// grid, the CV options and folds, feature names, the training data, inner BACs and
// chosen C per CV2 fold, every base model (its CV1 rows, fitted preprocessing, features
// and SVC), the per-subject scores, and the permutation result when there is one. On
// loading, the plan (each base model's preprocessed CV1-train, CV1-test and CV2-test
// rows) is rebuilt by applying the stored preprocessing to the stored data, which
// reproduces the original matrices bit for bit, so permutation tests and external
// validation give the same numbers as before saving.
//
// Version 2 appends, before the end tag, the class labels (tag "classes": the kind of
// the caller's labels and the positive and negative values as text). A version-1 file
// has none; it loads with the numeric classes +1 = 1, -1 = -1.
//
// Version 3 (the methods of issue 18): each base model's steps are its CV1-train
// preprocessing (which the model selection used); a tag "refit" after the models holds
// whether the preprocessing was refitted on CV1-train + CV1-test and, if so, that fit
// per CV2 fold (which the retrained base models use), then the solver start of the
// retrained base models; the permutation record adds its scoring after the mode.
// Versions 1-2 load as refit_preprocessing = false, SolverStart::WarmFromCv1 and a
// permutation record scored against the permuted labels, which is what they ran.
//
// Version 3 also changes the regress_out step record (ml/serialize.cpp): it holds the
// unseen-level policy and the training means of the site-like dummies. A step of a
// version-1 or -2 file loads with the policy Error, its means are recomputed from the
// stored training rows, and it is marked legacy: the plan of a base model with a legacy
// step is rebuilt with the coding those versions used for a level missing from its
// training rows (the reference level), so that it reproduces the stored run, also when
// the result is saved again as version 3.
//
// Version 4 (issue 19: more estimators) adds, after the SVC spec's seed, the estimator,
// its kernel, gamma, gamma grid, epsilon, criterion and fit_intercept; after each base
// model's `converged`, its kernel model when it has one (flag, then kernel, gamma,
// support vectors, coefficients, training rows, support rows, b, iterations,
// converged) and its fitted label-dependent steps; after the SVC spec the prototypes of
// the label-dependent steps; and after a permutation record's observed value its
// direction and the statistic's name. Versions 1-3 load as the linear SVC scored by BAC.
#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "nested_cv_plan.hpp"
#include "nl/ml/nested_cv.hpp"
#include "nl/io/serial.hpp"

namespace nl::ml {

namespace {

using namespace detail;

constexpr std::string_view kKind = "cvresult";
constexpr std::uint32_t kVersion = 4;
static_assert(kVersion >= kStepFormat, "the container must be at least as new as its step records");

void write_svc_spec(Writer& w, const SvcSpec& s) {
  w.tag("svc");
  w.f64(s.C);
  w.u8(static_cast<std::uint8_t>(s.weighting));
  w.f64(s.w_pos);
  w.f64(s.w_neg);
  w.f64(s.bias);
  w.f64(s.eps);
  w.i64(s.max_iter);
  w.u64(s.seed);
  w.u8(static_cast<std::uint8_t>(s.estimator));
  w.u8(static_cast<std::uint8_t>(s.kernel));
  w.f64(s.gamma);
  w.doubles(s.gamma_grid);
  w.f64(s.epsilon);
  w.u8(static_cast<std::uint8_t>(s.criterion));
  w.boolean(s.fit_intercept);
}

void write_kernel(Writer& w, const LinearSvcModel& m) {
  w.boolean(m.kernel != nullptr);
  if (!m.kernel) return;
  const KernelModel& k = *m.kernel;
  w.u8(static_cast<std::uint8_t>(k.kernel));
  w.f64(k.gamma);
  w.matrix(k.support);
  w.vector(k.coef);
  w.i64(k.n_train);
  w.indices(k.support_rows);
  w.f64(k.b);
  w.i64(k.iterations);
  w.boolean(k.converged);
}

void read_kernel(Reader& r, LinearSvcModel& m) {
  if (!r.boolean()) return;
  auto k = std::make_shared<KernelModel>();
  const std::uint8_t kernel = r.u8();
  if (kernel > static_cast<std::uint8_t>(Kernel::Rbf)) r.fail("unknown kernel");
  k->kernel = static_cast<Kernel>(kernel);
  k->gamma = r.f64();
  k->support = r.matrix();
  k->coef = r.vector();
  k->n_train = r.i64();
  k->support_rows = r.indices();
  k->b = r.f64();
  k->iterations = static_cast<int>(std::clamp<std::int64_t>(r.i64(), 0, 1 << 30));
  k->converged = r.boolean();
  if (k->coef.size() != k->support.rows() || k->support_rows.size() != static_cast<std::size_t>(k->support.rows()))
    r.fail("a kernel model's coefficients do not match its support vectors");
  if (!(k->gamma > 0)) r.fail("a kernel model's gamma is not positive");
  m.kernel = std::move(k);
}

SvcSpec read_svc_spec(Reader& r) {
  r.tag("svc");
  SvcSpec s;
  s.C = r.f64();
  const std::uint8_t weighting = r.u8();
  if (weighting > static_cast<std::uint8_t>(Weighting::Custom)) r.fail("unknown SVC weighting");
  s.weighting = static_cast<Weighting>(weighting);
  s.w_pos = r.f64();
  s.w_neg = r.f64();
  s.bias = r.f64();
  s.eps = r.f64();
  const std::int64_t it = r.i64();
  if (it < 1 || it > (1 << 30)) r.fail("SVC max_iter out of range");
  s.max_iter = static_cast<int>(it);
  s.seed = r.u64();
  if (!(s.C > 0) || !(s.eps > 0)) r.fail("SVC spec out of range");
  if (r.version() >= 4) {
    const std::uint8_t e = r.u8(), k = r.u8();
    if (e > static_cast<std::uint8_t>(Estimator::KernelSvc)) r.fail("unknown estimator");
    if (k > static_cast<std::uint8_t>(Kernel::Rbf)) r.fail("unknown kernel");
    s.estimator = static_cast<Estimator>(e);
    s.kernel = static_cast<Kernel>(k);
    s.gamma = r.f64();
    s.gamma_grid = r.doubles();
    s.epsilon = r.f64();
    const std::uint8_t c = r.u8();
    if (c > static_cast<std::uint8_t>(Criterion::R2)) r.fail("unknown criterion");
    s.criterion = static_cast<Criterion>(c);
    s.fit_intercept = r.boolean();
    if (!(s.gamma >= 0) || !(s.epsilon >= 0)) r.fail("estimator spec out of range");
  }
  return s;
}

void write_steps(Writer& w, const std::vector<std::shared_ptr<Transform>>& steps) {
  w.u64(steps.size());
  for (const auto& s : steps) s->save(w);
}

std::vector<std::shared_ptr<Transform>> read_steps(Reader& r) {
  const std::size_t n = r.count(8);
  std::vector<std::shared_ptr<Transform>> steps;
  for (std::size_t k = 0; k < n; ++k) steps.push_back(read_transform(r));
  return steps;
}

void write_lists(Writer& w, const std::vector<std::vector<double>>& v) {
  w.u64(v.size());
  for (const auto& x : v) w.doubles(x);
}

std::vector<std::vector<double>> read_lists(Reader& r) {
  const std::size_t n = r.count(8);
  std::vector<std::vector<double>> v(n);
  for (auto& x : v) x = r.doubles();
  return v;
}

void check_rows(Reader& r, const Rows& rows, Index n) {
  for (Index i : rows)
    if (i < 0 || i >= n) r.fail("a row index is out of range");
}

// The steps that rebuild a base model's matrices: `pre` itself, or for a regress_out
// step fitted before version 3 (legacy) a copy that codes a level its training rows
// lacked as the reference level, as those versions did. Also restores such a step's
// dummy means from its training rows' covariates when the file did not hold them.
Preprocessing plan_steps(const Preprocessing& pre, const Table* cov_tr) {
  Preprocessing out;
  for (const auto& s : pre.steps) {
    auto* r = dynamic_cast<RegressOut*>(s.get());
    if (!r || !r->legacy_coding()) {
      out.steps.push_back(s);
      continue;
    }
    if (!cov_tr) throw ValueError("regress_out: the stored training data have no covariates");
    if (!r->coder().means_known()) r->restore_means(*cov_tr);
    UnseenPolicy reference;
    for (const auto& name : r->covariates_used())
      if (const auto* levels = r->coder().levels(name))
        reference.columns[name] = {UnseenAction::Level, levels->front()};
    auto copy = std::make_shared<RegressOut>(*r);
    copy->set_unseen(std::move(reference));
    out.steps.push_back(std::move(copy));
  }
  return out;
}

}  // namespace

namespace detail {

std::string pack_fitted(const FittedModel& m) {
  Writer w;
  w.indices(m.features);
  w.vector(m.svc.w);
  w.f64(m.svc.b);
  w.vector(m.svc.alpha);
  w.i64(m.svc.iterations);
  w.boolean(m.svc.converged);
  write_kernel(w, m.svc);
  write_steps(w, m.filters);
  w.f64(m.validation_bac);
  return w.bytes();
}

FittedModel unpack_fitted(std::string_view bytes) {
  Reader r(bytes, "a fitted model from another MPI rank", kVersion);
  FittedModel m;
  m.features = r.indices();
  m.svc.w = r.vector();
  m.svc.b = r.f64();
  m.svc.alpha = r.vector();
  m.svc.iterations = static_cast<int>(r.i64());
  m.svc.converged = r.boolean();
  read_kernel(r, m.svc);
  m.filters = read_steps(r);
  m.validation_bac = r.f64();
  if (!r.done()) r.fail("bytes left over");
  return m;
}

}  // namespace detail

void save_result(const std::string& path, const PipelineSpec& spec, const NestedCvResult& result,
                 const std::optional<PermutationResult>& permutations, PermutationMode mode) {
  if (!result.plan || !result.data || result.plan->outer.size() != result.chosen.size())
    throw ValueError("save: the nested-CV result carries no training data");
  Writer w;
  w.tag("pipeline");
  std::vector<std::shared_ptr<Transform>> protos;
  for (const auto& s : spec.steps) protos.push_back(s->clone());
  write_steps(w, protos);
  w.boolean(spec.select.has_value());
  if (spec.select) {
    w.f64(spec.select->step);
    w.f64(spec.select->stop);
  }
  write_svc_spec(w, spec.svc);
  std::vector<std::shared_ptr<Transform>> filters;
  for (const auto& s : spec.filters) filters.push_back(s->clone());
  write_steps(w, filters);

  w.tag("cv");
  w.doubles(result.grid);
  const NestedCvOptions& o = result.options;
  w.i64(o.outer_folds);
  w.i64(o.outer_repeats);
  w.i64(o.inner_folds);
  w.i64(o.inner_repeats);
  w.u64(o.seed);
  w.u64(result.outer_assignment.size());
  for (const auto& a : result.outer_assignment) w.ints(a);
  w.strings(result.feature_names);

  w.tag("data");
  w.matrix(result.data->X);
  w.vector(result.data->y);
  w.boolean(result.data->covariates.has_value());
  if (result.data->covariates) w.table(*result.data->covariates);

  w.tag("selection");
  write_lists(w, result.inner_bac);
  w.ints(result.chosen);

  w.tag("models");
  w.u64(result.models.size());
  const auto& plan = result.plan->outer;
  for (const auto& m : result.models) {
    w.tag("model");
    w.i64(m.outer);
    w.i64(m.inner);
    const Inner& in = plan[static_cast<std::size_t>(m.outer)].inner[static_cast<std::size_t>(m.inner)];
    w.indices(in.tr);
    w.indices(in.val);
    write_steps(w, in.pre.steps);
    w.indices(m.model.features);
    w.vector(m.model.svc.w);
    w.f64(m.model.svc.b);
    w.vector(m.model.svc.alpha);
    w.i64(m.model.svc.iterations);
    w.boolean(m.model.svc.converged);
    write_kernel(w, m.model.svc);
    write_steps(w, m.model.filters);
    w.f64(m.model.validation_bac);
  }

  w.tag("refit");
  w.boolean(result.options.refit_preprocessing);
  if (result.options.refit_preprocessing)
    for (const Outer& out : plan) {
      if (!out.refit) throw ValueError("save: a CV2 fold has no refitted preprocessing");
      write_steps(w, out.refit->pre.steps);
    }
  w.u8(static_cast<std::uint8_t>(result.solver_start));

  w.tag("scores");
  write_lists(w, result.scores);
  w.vector(result.median);

  w.tag("permutations");
  w.boolean(permutations.has_value());
  if (permutations) {
    w.u8(static_cast<std::uint8_t>(mode));
    w.u8(static_cast<std::uint8_t>(permutations->scoring));
    w.doubles(permutations->bac);
    w.f64(permutations->observed);
    w.boolean(permutations->higher_is_better);
    w.str(permutations->statistic);
  }
  w.tag("classes");
  w.u8(static_cast<std::uint8_t>(result.classes.kind));
  w.str(result.classes.positive);
  w.str(result.classes.negative);
  w.tag("end");
  save_container(path, kKind, kVersion, w.bytes());
}

LoadedResult load_result(const std::string& path) {
  std::uint32_t version = 0;
  const std::string payload = load_container(path, kKind, kVersion, version);
  return decode_result(payload, path, version);
}

LoadedResult decode_result(std::string_view payload, const std::string& path, std::uint32_t version) {
  Reader r(payload, path, version);
  LoadedResult out;
  // A structurally valid payload can still hold values the engine rejects (a bad
  // option, an impossible shape): report those as a corrupt file too.
  try {
    r.tag("pipeline");
    for (auto& s : read_steps(r)) out.spec.steps.push_back(std::move(s));
    if (r.boolean()) {
      ForwardSelectOptions sel;
      sel.step = r.f64();
      sel.stop = r.f64();
      out.spec.select = sel;
    }
    out.spec.svc = read_svc_spec(r);
    if (version >= 4)
      for (auto& s : read_steps(r)) {
        if (!s->label_dependent()) r.fail("a label-independent step among the label-dependent ones");
        out.spec.filters.push_back(std::move(s));
      }

    NestedCvResult& res = out.result;
    r.tag("cv");
    res.grid = r.doubles();
    NestedCvOptions& o = res.options;
    const auto small = [&](const char* what) {
      const std::int64_t v = r.i64();
      if (v < 1 || v > 100000) r.fail(fmt::format("{} out of range", what));
      return static_cast<int>(v);
    };
    o.outer_folds = small("outer folds");
    o.outer_repeats = small("outer repeats");
    o.inner_folds = small("inner folds");
    o.inner_repeats = small("inner repeats");
    o.seed = r.u64();
    const std::size_t reps = r.count(8);
    for (std::size_t k = 0; k < reps; ++k) res.outer_assignment.push_back(r.ints());
    o.outer_assignment = res.outer_assignment;
    res.feature_names = r.strings();

    r.tag("data");
    auto data = std::make_shared<TrainingData>();
    data->X = r.matrix();
    data->y = r.vector();
    if (r.boolean()) data->covariates = r.table();
    const Index n = data->X.rows();
    if (data->y.size() != n) r.fail("labels do not match the data");
    check_targets(out.spec.svc, data->y, n, "stored targets");
    if (data->covariates && data->covariates->nrows() != static_cast<std::size_t>(n))
      r.fail("covariates do not match the data");
    if (!res.feature_names.empty() && res.feature_names.size() != static_cast<std::size_t>(data->X.cols()))
      r.fail("feature names do not match the data");
    for (const auto& a : res.outer_assignment) {
      if (a.size() != static_cast<std::size_t>(n)) r.fail("a fold assignment does not match the data");
      for (int f : a)
        if (f < 0 || f >= o.outer_folds) r.fail("a fold number is out of range");
    }

    r.tag("selection");
    res.inner_bac = read_lists(r);
    res.chosen = r.ints();
    const std::size_t n_outer = res.outer_assignment.size() * static_cast<std::size_t>(o.outer_folds);
    if (res.chosen.size() != n_outer || res.inner_bac.size() != n_outer) r.fail("model selection does not match the folds");
    for (std::size_t k = 0; k < n_outer; ++k) {
      const std::size_t points = grid_points(out.spec.svc, res.grid);
      if (res.chosen[k] < 0 || static_cast<std::size_t>(res.chosen[k]) >= points) r.fail("a chosen C is out of range");
      if (res.inner_bac[k].size() != points) r.fail("inner BACs do not match the grid");
    }

    r.tag("models");
    auto plan = std::make_shared<NestedCvPlan>();
    plan->outer = outer_splits(res.outer_assignment, o.outer_folds, n);
    const std::size_t n_models = r.count(16);
    for (std::size_t k = 0; k < n_models; ++k) {
      r.tag("model");
      BaseModel m;
      const std::int64_t oi = r.i64(), pi = r.i64();
      if (oi < 0 || static_cast<std::size_t>(oi) >= n_outer || pi < 0) r.fail("a base model's fold is out of range");
      m.outer = static_cast<int>(oi);
      m.inner = static_cast<int>(pi);
      Outer& out = plan->outer[static_cast<std::size_t>(oi)];
      if (static_cast<std::size_t>(pi) != out.inner.size()) r.fail("base models are out of order");
      Inner in;
      in.tr = r.indices();
      in.val = r.indices();
      check_rows(r, in.tr, n);
      check_rows(r, in.val, n);
      m.pre.steps = read_steps(r);
      for (const auto& s : m.pre.steps)
        if (!s->fitted()) r.fail("a base model's preprocessing is not fitted");
      m.model.features = r.indices();
      m.model.svc.w = r.vector();
      m.model.svc.b = r.f64();
      m.model.svc.alpha = r.vector();
      const std::int64_t iters = r.i64();
      m.model.svc.iterations = static_cast<int>(std::clamp<std::int64_t>(iters, 0, 1 << 30));
      m.model.svc.converged = r.boolean();
      if (version >= 4) {
        read_kernel(r, m.model.svc);
        m.model.filters = read_steps(r);
        for (const auto& s : m.model.filters)
          if (!s->fitted()) r.fail("a base model's label-dependent step is not fitted");
      }
      m.model.validation_bac = r.f64();
      const Index width = m.model.svc.kernel ? m.model.svc.kernel->support.cols() : m.model.svc.w.size();
      if (m.model.features.size() != static_cast<std::size_t>(width))
        r.fail("a base model's features do not match its weights");
      in.pre = m.pre;
      out.inner.push_back(std::move(in));
      res.models.push_back(std::move(m));
    }
    o.refit_preprocessing = false;
    res.solver_start = SolverStart::WarmFromCv1;
    if (version >= 3) {
      r.tag("refit");
      o.refit_preprocessing = r.boolean();
      if (o.refit_preprocessing)
        for (Outer& out : plan->outer) {
          Refit fit;
          fit.pre.steps = read_steps(r);
          for (const auto& s : fit.pre.steps)
            if (!s->fitted()) r.fail("a refitted preprocessing is not fitted");
          out.refit = std::move(fit);
        }
      const std::uint8_t start = r.u8();
      if (start > static_cast<std::uint8_t>(SolverStart::WarmFromCv1)) r.fail("unknown solver start");
      res.solver_start = static_cast<SolverStart>(start);
    }
    for (auto& m : res.models) {
      const Outer& out = plan->outer[static_cast<std::size_t>(m.outer)];
      if (out.refit) m.pre = out.refit->pre;
    }
    // The preprocessed matrices, exactly as the original run computed them.
    const Table* cov = data->covariates ? &*data->covariates : nullptr;
    parallel_for(plan->outer.size(), [&](std::size_t oi) {
      Outer& out = plan->outer[oi];
      const Table cov_test = cov ? take(cov, out.test) : Table();
      for (Inner& in : out.inner) {
        const Table cov_tr = cov ? take(cov, in.tr) : Table();
        const Table cov_val = cov ? take(cov, in.val) : Table();
        const Preprocessing pre = plan_steps(in.pre, cov ? &cov_tr : nullptr);
        in.Xtr = pre.apply(data->X(in.tr, Eigen::all), cov ? &cov_tr : nullptr);
        in.Xval = pre.apply(data->X(in.val, Eigen::all), cov ? &cov_val : nullptr);
        if (!out.refit) in.Xtest = pre.apply(data->X(out.test, Eigen::all), cov ? &cov_test : nullptr);
      }
      if (out.refit) {
        const Table cov_train = cov ? take(cov, out.train) : Table();
        out.refit->Xtrain = out.refit->pre.apply(data->X(out.train, Eigen::all), cov ? &cov_train : nullptr);
        out.refit->Xtest = out.refit->pre.apply(data->X(out.test, Eigen::all), cov ? &cov_test : nullptr);
      }
    });
    for (const auto& m : res.models) {
      const Outer& out = plan->outer[static_cast<std::size_t>(m.outer)];
      const Index width = out.refit ? out.refit->Xtrain.cols() : out.inner[static_cast<std::size_t>(m.inner)].Xtr.cols();
      for (Index f : m.model.features)
        if (f < 0 || f >= width) r.fail("a base model's feature index is out of range");
    }

    r.tag("scores");
    res.scores = read_lists(r);
    res.median = r.vector();
    if (res.scores.size() != static_cast<std::size_t>(n) || res.median.size() != n) r.fail("scores do not match the data");
    if (is_regression(out.spec.svc.estimator)) {
      res.regression = regression_metrics(res.median, data->y);
      res.auc = std::numeric_limits<double>::quiet_NaN();
    } else {
      res.metrics = confusion(res.median, data->y);
      res.auc = auc(res.median, data->y);
    }

    r.tag("permutations");
    if (r.boolean()) {
      const std::uint8_t mode = r.u8();
      if (mode > static_cast<std::uint8_t>(PermutationMode::Full)) r.fail("unknown permutation mode");
      out.mode = static_cast<PermutationMode>(mode);
      PermutationResult p;
      p.scoring = PermutationScoring::Permuted;
      if (version >= 3) {
        const std::uint8_t scoring = r.u8();
        if (scoring > static_cast<std::uint8_t>(PermutationScoring::Permuted)) r.fail("unknown permutation scoring");
        p.scoring = static_cast<PermutationScoring>(scoring);
      }
      p.bac = r.doubles();
      p.observed = r.f64();
      if (version >= 4) {
        p.higher_is_better = r.boolean();
        p.statistic = r.str();
      }
      finish_pvalues(p);
      out.permutations = std::move(p);
    }
    if (version >= 2) {
      r.tag("classes");
      const std::uint8_t kind = r.u8();
      if (kind > static_cast<std::uint8_t>(ClassLabels::Kind::Text)) r.fail("unknown kind of class labels");
      res.classes.kind = static_cast<ClassLabels::Kind>(kind);
      res.classes.positive = r.str();
      res.classes.negative = r.str();
    }
    r.tag("end");
    if (!r.done()) r.fail("data after the end");
    res.plan = std::move(plan);
    res.data = std::move(data);
  } catch (const ValueError& e) {
    r.fail(e.what());
  }
  return out;
}

}  // namespace nl::ml

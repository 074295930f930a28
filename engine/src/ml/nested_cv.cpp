// ml/nested_cv.cpp: repeated stratified nested CV and the label-permutation test.
#include "nl/ml/nested_cv.hpp"

#include "nested_cv_plan.hpp"
#include "fused_chain.hpp"
#include "training_gram.hpp"

#include "nl/core/mpi.hpp"
#include "nl/io/checkpoint.hpp"
#include "nl/io/serial.hpp"
#include "nl/core/warnings.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>

namespace nl::ml {

namespace {

using namespace detail;

constexpr std::uint64_t kInnerStream = 1;
constexpr std::uint64_t kSolverStream = 1000;
constexpr std::uint64_t kPermutationStream = 1'000'000;
constexpr std::uint64_t kBaseModelStream = 2'000'000;

bool has_both_classes(const Vector& y) { return (y.array() > 0).any() && (y.array() < 0).any(); }

// The folds and the preprocessing of every CV1 partition: everything that does not
// depend on the labels once the folds are fixed.
// tick() (may be empty) is called once per CV1 partition fitted.
std::vector<Outer> make_plan(const PipelineSpec& spec, const Matrix& X, const Vector& y, const Table* cov,
                             const NestedCvOptions& o, std::vector<std::vector<int>>& outer_assignment,
                             const std::function<void()>& tick = {}) {
  const bool grouped = !o.groups.empty();
  const bool regression = is_regression(spec.svc.estimator);
  if (o.outer_assignment.empty()) {
    Rng rng(o.seed, 0);
    outer_assignment = draw_folds(y, grouped ? &o.groups : nullptr, o.outer_folds, o.outer_repeats, o.stratify_outer,
                                  rng, !regression);
  } else {
    outer_assignment = o.outer_assignment;
  }
  std::vector<Outer> plan = outer_splits(outer_assignment, o.outer_folds, X.rows());
  const bool use_gram = uses_training_gram(spec);
  parallel_for(plan.size(), [&](std::size_t oi) {
    Outer& out = plan[oi];
    if (out.test.empty() || out.train.empty())
      throw ValueError(fmt::format("nested CV: outer fold {} has an empty training or test set", oi + 1));
    Rng rng(o.seed, kInnerStream + oi);
    const Vector ytrain = take(y, out.train);
    std::vector<int> gtrain;
    for (Index i : out.train) if (grouped) gtrain.push_back(o.groups[static_cast<std::size_t>(i)]);
    std::vector<std::vector<int>> inner_assign;
    try {
      inner_assign = draw_folds(ytrain, grouped ? &gtrain : nullptr, o.inner_folds, o.inner_repeats, o.stratify_inner,
                                rng, !regression);
    } catch (const ValueError& e) {
      throw ValueError(fmt::format("nested CV, CV2 fold {}: the inner folds: {}", oi + 1, e.what()));
    }
    const Matrix Xtest = X(out.test, Eigen::all);
    const Table cov_test = cov ? take(cov, out.test) : Table();
    // The cross-products of the inner folds' raw rows about the CV2 training mean, for a
    // PCA fitted through scale, prune and regress_out (ml/training_gram.hpp), when every
    // partition is tall.
    const bool gram = o.share_training_gram && use_gram && X(out.train, Eigen::all).allFinite();
    const Vector centre = gram ? Vector(X(out.train, Eigen::all).colwise().mean().transpose()) : Vector();
    // Context for an error raised inside a fold (an unseen covariate level, a PCA the
    // fold's rows cannot support): which fold, and that it is the CV's doing.
    const auto in_fold = [&](const char* part, const auto& fn) {
      try {
        fn();
      } catch (const ValueError& e) {
        throw ValueError(fmt::format("nested CV, CV2 fold {} (repeat {}, fold {}), {}: {}", oi + 1,
                                     oi / static_cast<std::size_t>(o.outer_folds) + 1,
                                     oi % static_cast<std::size_t>(o.outer_folds) + 1, part, e.what()));
      }
    };
    // With a chain ml/fused_chain.hpp handles, the partitions' preprocessing is one
    // affine map of the centred rows (every row is finite), applied by one kernel.
    const bool fused = gram && fusable(spec) && Xtest.allFinite();
    const CentredRows xc = fused ? centred_rows(X, centre) : CentredRows();
    for (const auto& assign : inner_assign) {
      // Cross-product blocks where every partition is tall (else the fused chain forms rows).
      const bool tall = static_cast<Index>(out.train.size() - largest_fold(assign, o.inner_folds)) >= X.cols();
      const std::vector<Matrix> blocks = fused && tall ? fold_blocks(xc, out.train, assign, o.inner_folds)
                                         : !fused && gram ? fold_blocks(X, out.train, assign, o.inner_folds, centre)
                                                          : std::vector<Matrix>();
      const FoldRanges ranges = fused ? fold_ranges(X, out.train, assign, o.inner_folds) : FoldRanges();
      for (int f = 0; f < o.inner_folds; ++f) {
        Inner in;
        split(assign, out.train, f, in.tr, in.val);
        const Table cov_tr = cov ? take(cov, in.tr) : Table();
        const Table cov_val = cov ? take(cov, in.val) : Table();
        const Matrix G = blocks.empty() ? Matrix() : sum_except(blocks, f);
        const TrainingGram tg{&G, &centre};
        in_fold("preprocessing fitted on CV1-train", [&] {
          if (fused) {
            Vector lo = Vector::Constant(X.cols(), std::numeric_limits<double>::infinity()), hi = -lo;
            for (int g = 0; g < o.inner_folds; ++g)
              if (g != f) lo = lo.cwiseMin(ranges.lo[static_cast<std::size_t>(g)]), hi = hi.cwiseMax(ranges.hi[static_cast<std::size_t>(g)]);
            std::vector<RowSet> others{{&in.val, cov ? &cov_val : nullptr, &in.Xval}};
            if (!o.refit_preprocessing) others.push_back({&out.test, cov ? &cov_test : nullptr, &in.Xtest});
            in.pre = fit_fused(spec, xc, centre, G, lo, hi, {&in.tr, cov ? &cov_tr : nullptr, &in.Xtr}, others);
            return;
          }
          in.pre = fit_preprocessing(spec, X(in.tr, Eigen::all), cov ? &cov_tr : nullptr, &in.Xtr,
                                     blocks.empty() ? nullptr : &tg);
          in.Xval = in.pre.apply(X(in.val, Eigen::all), cov ? &cov_val : nullptr);
          if (!o.refit_preprocessing) in.Xtest = in.pre.apply(Xtest, cov ? &cov_test : nullptr);
        });
        out.inner.push_back(std::move(in));
        if (tick) tick();
      }
    }
    if (o.refit_preprocessing) {
      // CV1-train + CV1-test of every partition is the CV2 training set: one fit.
      const Table cov_train = cov ? take(cov, out.train) : Table();
      Refit r;
      in_fold("preprocessing refitted on CV1-train + CV1-test", [&] {
        r.pre = fit_preprocessing(spec, X(out.train, Eigen::all), cov ? &cov_train : nullptr, &r.Xtrain);
        r.Xtest = r.pre.apply(Xtest, cov ? &cov_test : nullptr);
      });
      out.refit = std::move(r);
      if (tick) tick();
    }
  });
  return plan;
}

// ---------------------------------------------------------------- base models

// The solver stream of base model p of outer fold o (P partitions per fold): one per
// base model, or with refit one per CV2 fold (its base models share their rows).
std::uint64_t base_stream(const Outer& out, std::size_t o, std::size_t p, std::size_t P) {
  return kBaseModelStream + (out.refit ? o : o * P + p);
}

// Columns 0..p-1.
std::vector<Index> all_features(Index p) {
  std::vector<Index> f(static_cast<std::size_t>(p));
  std::iota(f.begin(), f.end(), Index{0});
  return f;
}

// Trains base model p of outer fold o on labels y with the features m.features (columns
// of the preprocessing the base model uses), cold, on its own stream: sets m.svc. With
// the spec's filters, they are fitted first on the base model's training rows, labels
// and covariates (cov: the stored training covariates, may be null) and m.features
// becomes every column they leave.
void fit_base(const Outer& out, std::size_t o, std::size_t p, const Vector& y, const PipelineSpec& spec,
              const SvcSpec& svc, std::uint64_t seed, const Table* cov, FittedModel& m) {
  Rng rng(seed, base_stream(out, o, p, out.inner.size()));
  if (spec.filters.empty()) {
    if (out.refit) {
      m.svc = train_svc(out.refit->Xtrain(Eigen::all, m.features), take(y, out.train), svc, rng);
    } else {
      const Inner& in = out.inner[p];
      m.svc = train_union(in.Xtr, take(y, in.tr), in.Xval, take(y, in.val), m.features, svc, rng);
    }
    return;
  }
  Matrix A;
  Vector yy;
  Rows rows;
  if (out.refit) {
    A = out.refit->Xtrain;
    rows = out.train;
  } else {
    const Inner& in = out.inner[p];
    A.resize(in.Xtr.rows() + in.Xval.rows(), in.Xtr.cols());
    A.topRows(in.Xtr.rows()) = in.Xtr;
    A.bottomRows(in.Xval.rows()) = in.Xval;
    rows = in.tr;
    rows.insert(rows.end(), in.val.begin(), in.val.end());
  }
  yy = take(y, rows);
  const Table cov_rows = cov ? take(cov, rows) : Table();
  A = fit_filters(spec, A, yy, cov ? &cov_rows : nullptr, m.filters);
  m.features = all_features(A.cols());
  m.svc = train_svc(A, yy, svc, rng);
}

// Whether base model p's training rows hold both classes of y (a regressor: always).
bool trainable(const Outer& out, std::size_t p, const Vector& y, bool regression) {
  if (regression) return true;
  if (out.refit) return has_both_classes(take(y, out.train));
  const Inner& in = out.inner[p];
  const Vector ytr = take(y, in.tr), yval = take(y, in.val);
  return has_both_classes(ytr) || has_both_classes(yval) || ytr(0) != yval(0);
}

// The CV2 test rows as base model p of `out` sees them.
const Matrix& test_rows(const Outer& out, std::size_t p) { return out.refit ? out.refit->Xtest : out.inner[p].Xtest; }

// ---------------------------------------------------------------- model selection

struct OuterFit {
  std::vector<double> inner_bac;  // per grid point
  int chosen = 0;
  std::vector<FittedModel> models;  // per CV1 partition
};

// Under MPI: every rank's outer-fold fits on every rank, through the model file's records.
void share_fits(std::vector<OuterFit>& fits) {
  if (mpi::size() <= 1) return;
  const std::size_t n = fits.size();
  std::vector<std::string> units(n);
  const mpi::Block mine = mpi::my_block(n);
  for (std::size_t o = mine.begin; o < mine.end; ++o) {
    Writer w;
    w.doubles(fits[o].inner_bac);
    w.i64(fits[o].chosen);
    w.u64(fits[o].models.size());
    for (const FittedModel& m : fits[o].models) w.str(pack_fitted(m));
    units[o] = w.bytes();
  }
  mpi::share_units(n, units);
  for (std::size_t o = 0; o < n; ++o) {
    if (o >= mine.begin && o < mine.end) continue;
    Reader r(units[o], "an outer fold from another MPI rank", 0);
    OuterFit f;
    f.inner_bac = r.doubles();
    f.chosen = static_cast<int>(r.i64());
    f.models.resize(r.u64());
    for (FittedModel& m : f.models) m = unpack_fitted(r.str());
    fits[o] = std::move(f);
  }
}

// Scores every C on the CV1 partitions with labels y, picks the best, and retrains
// the CV1 models at that C on CV1-train + CV1-test (fit_base). The selection of outer
// fold o draws from Rng(seed, 1000 + o), whatever the labels. tick() (may be empty) is
// called after each (C, CV1 partition) and each final model.
OuterFit select_and_fit(const Outer& out, std::size_t o, const Vector& y, const PipelineSpec& spec,
                        const std::vector<double>& grid, std::uint64_t seed, Index p_in, const Table* cov,
                        const std::function<void()>& tick = {}) {
  Rng rng(seed, kSolverStream + o);
  const std::size_t P = out.inner.size(), G = grid_points(spec.svc, grid);
  const Criterion crit = resolve_criterion(spec.svc);
  OuterFit fit;
  fit.inner_bac.assign(G, 0.0);
  std::vector<std::vector<std::vector<Index>>> features(G, std::vector<std::vector<Index>>(P));
  if (spec.select) {
    for (std::size_t g = 0; g < G; ++g) {
      const SvcSpec svc = at_grid_point(spec.svc, grid, g);
      double sum = 0;
      for (std::size_t p = 0; p < P; ++p) {
        check_interrupt();
        const Inner& in = out.inner[p];
        const Selection sel = forward_select(in.Xtr, take(y, in.tr), in.Xval, take(y, in.val), svc, *spec.select, rng);
        features[g][p] = sel.features.empty() ? all_features(in.Xtr.cols()) : sel.features;
        sum += sel.bac;
        if (tick) tick();
      }
      fit.inner_bac[g] = sum / static_cast<double>(P);
    }
  } else {
    // Without a wrapper each CV1 partition walks the grid; the linear SVC in ascending
    // C, each solve warm-started from the previous C's dual solution scaled by
    // C_new / C_old (Chu, Hsieh & Lin 2015; LIBLINEAR -C): the same optimum, several
    // times fewer passes at the large C values; its rows are prepared once for the grid.
    // Criteria are summed per grid point in partition order.
    const bool warm = spec.svc.estimator == Estimator::LinearSvc;
    std::vector<std::size_t> order(G);
    std::iota(order.begin(), order.end(), std::size_t{0});
    if (warm) std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return grid[a] < grid[b]; });
    std::vector<double> sum(G, 0.0);
    for (std::size_t p = 0; p < P; ++p) {
      const Inner& in = out.inner[p];
      const Vector ytr = take(y, in.tr), yval = take(y, in.val);
      // Label-dependent steps: fitted on CV1-train with its labels, once per partition.
      Matrix Ftr, Fval;
      if (!spec.filters.empty()) {
        std::vector<std::shared_ptr<Transform>> fitted;
        const Table cov_tr = cov ? take(cov, in.tr) : Table();
        Ftr = fit_filters(spec, in.Xtr, ytr, cov ? &cov_tr : nullptr, fitted);
        Fval = apply_filters(fitted, in.Xval);
      }
      const Matrix& Xtr = spec.filters.empty() ? in.Xtr : Ftr;
      const Matrix& Xval = spec.filters.empty() ? in.Xval : Fval;
      Vector alpha;
      double C_prev = 0;
      const std::optional<LinearSvcProblem> problem =
          warm ? std::optional<LinearSvcProblem>(std::in_place, Xtr, ytr, spec.svc.bias) : std::nullopt;
      for (std::size_t g : order) {
        check_interrupt();
        const SvcSpec svc = at_grid_point(spec.svc, grid, g);
        if (alpha.size() > 0) alpha *= svc.C / C_prev;
        const Vector* a0 = alpha.size() > 0 ? &alpha : nullptr;
        const LinearSvcModel m = problem ? train_svc(*problem, ytr, svc, rng, a0) : train_svc(Xtr, ytr, svc, rng, a0);
        features[g][p] = all_features(in.Xtr.cols());
        sum[g] += criterion_value(crit, decision(m, Xval), yval);
        if (warm) alpha = m.alpha;
        C_prev = svc.C;
        if (tick) tick();
      }
    }
    for (std::size_t g = 0; g < G; ++g) fit.inner_bac[g] = sum[g] / static_cast<double>(P);
  }
  // Best mean criterion; ties go to the more regularized point (smaller C, larger alpha).
  for (std::size_t g = 1; g < G; ++g) {
    const auto c = static_cast<std::size_t>(fit.chosen);
    const double b = goodness(crit, fit.inner_bac[g]), best = goodness(crit, fit.inner_bac[c]);
    if (b > best || (b == best && more_regularized(spec.svc, grid, g, c))) fit.chosen = static_cast<int>(g);
  }
  const SvcSpec svc = at_grid_point(spec.svc, grid, static_cast<std::size_t>(fit.chosen));
  for (std::size_t p = 0; p < P; ++p) {
    FittedModel m;
    m.features = features[static_cast<std::size_t>(fit.chosen)][p];
    if (out.refit && spec.select) m.features = carry_features(out.inner[p].pre, out.refit->pre, p_in, m.features);
    m.validation_bac = fit.inner_bac[static_cast<std::size_t>(fit.chosen)];
    // With refit, base models of this fold with the same features are the same fit (with
    // filters: every one, as the filters are fitted on the same rows).
    const FittedModel* same = nullptr;
    if (out.refit)
      for (const FittedModel& e : fit.models)
        if (!spec.filters.empty() || e.features == m.features) same = &e;
    if (same) m = *same;
    else fit_base(out, o, p, y, spec, svc, seed, cov, m);
    fit.models.push_back(std::move(m));
    if (tick) tick();
  }
  return fit;
}

// Adds each model's decision scores of the outer test subjects to scores[subject].
void collect_scores(const Outer& out, const std::vector<FittedModel>& models, std::vector<std::vector<double>>& scores) {
  for (std::size_t p = 0; p < models.size(); ++p) {
    const Vector d = model_decision(models[p], test_rows(out, p));
    for (std::size_t j = 0; j < out.test.size(); ++j) scores[static_cast<std::size_t>(out.test[j])].push_back(d(static_cast<Index>(j)));
  }
}

// Per-subject medians; a subject without any score (every base model abstained) gets
// 0, which counts in no cell.
Vector medians(const std::vector<std::vector<double>>& scores) {
  Vector m(static_cast<Index>(scores.size()));
  for (std::size_t i = 0; i < scores.size(); ++i)
    m(static_cast<Index>(i)) = scores[i].empty() ? 0.0 : median_of(scores[i]);
  return m;
}

void check_inputs(const SvcSpec& svc, const std::vector<double>& grid, const Matrix& X, const Vector& y,
                  const Table* cov, const NestedCvOptions& o) {
  const bool alpha = svc.estimator == Estimator::Ridge || svc.estimator == Estimator::KernelRidge;
  const char* param = alpha ? "alpha" : "C";
  if (grid.empty()) throw ValueError(fmt::format("nested CV: the {} grid is empty", param));
  for (double c : grid)
    if (!(c > 0) || !std::isfinite(c)) throw ValueError(fmt::format("nested CV: {} = {} is not positive", param, c));
  for (double g : svc.gamma_grid)
    if (!(g > 0) || !std::isfinite(g)) throw ValueError(fmt::format("nested CV: gamma = {} is not positive", g));
  check_targets(svc, y, X.rows(), "nested CV");
  if (is_regression(svc.estimator) && (o.stratify_outer || o.stratify_inner))
    throw ValueError(fmt::format("nested CV: {} is a regression; its folds cannot be stratified by class "
                                 "(stratify = false)",
                                 estimator_name(svc.estimator)));
  if (cov && cov->nrows() != static_cast<std::size_t>(X.rows()))
    throw ValueError(fmt::format("nested CV: covariates have {} rows, the data have {}", cov->nrows(), X.rows()));
  if (o.outer_folds < 2 || o.inner_folds < 2 || o.outer_repeats < 1 || o.inner_repeats < 1)
    throw ValueError("nested CV: folds must be at least 2 and repeats at least 1");
  if (!o.groups.empty()) {
    if (o.groups.size() != static_cast<std::size_t>(X.rows()))
      throw ValueError(fmt::format("nested CV: {} group ids for {} subjects", o.groups.size(), X.rows()));
    for (std::size_t i = 0; i < o.groups.size(); ++i)
      if (o.groups[i] < 0) throw ValueError(fmt::format("nested CV: group id of subject {} is negative", i + 1));
  }
  for (std::size_t r = 0; r < o.outer_assignment.size(); ++r) {
    const auto& a = o.outer_assignment[r];
    if (a.size() != static_cast<std::size_t>(X.rows()))
      throw ValueError(fmt::format("nested CV: fold assignment {} has {} entries for {} subjects", r + 1, a.size(),
                                   X.rows()));
    for (std::size_t i = 0; i < a.size(); ++i)
      if (a[i] < 0 || a[i] >= o.outer_folds)
        throw ValueError(fmt::format("nested CV: fold assignment {} gives subject {} fold {} (expected 1..{})", r + 1,
                                     i + 1, a[i] + 1, o.outer_folds));
  }
}

}  // namespace

// ---------------------------------------------------------------- folds

std::vector<std::vector<int>> stratified_folds(const Vector& y, int k, int repeats, Rng& rng) {
  if (k < 2) throw ValueError(fmt::format("stratified folds: need at least 2 folds, got {}", k));
  Rows pos, neg;
  for (Index i = 0; i < y.size(); ++i) (y(i) > 0 ? pos : neg).push_back(i);
  if (static_cast<int>(pos.size()) < k || static_cast<int>(neg.size()) < k)
    throw ValueError(fmt::format("stratified folds: the {} class has {} subjects, fewer than the {} folds",
                                 pos.size() < neg.size() ? "positive" : "negative", std::min(pos.size(), neg.size()),
                                 k));
  std::vector<std::vector<int>> out;
  for (int r = 0; r < repeats; ++r) {
    std::vector<int> assign(static_cast<std::size_t>(y.size()));
    rng.shuffle(pos);
    rng.shuffle(neg);
    int next = 0;
    for (Index i : pos) assign[static_cast<std::size_t>(i)] = next++ % k;
    for (Index i : neg) assign[static_cast<std::size_t>(i)] = next++ % k;
    out.push_back(std::move(assign));
  }
  return out;
}

namespace {

// Every fold's training rows hold both classes.
void check_training_classes(const Vector& y, const std::vector<std::vector<int>>& folds, int k) {
  for (std::size_t r = 0; r < folds.size(); ++r)
    for (int f = 0; f < k; ++f) {
      bool pos = false, neg = false;
      for (Index i = 0; i < y.size(); ++i)
        if (folds[r][static_cast<std::size_t>(i)] != f) (y(i) > 0 ? pos : neg) = true;
      if (!pos || !neg)
        throw ValueError(fmt::format("folds: the training rows of fold {} (repeat {}) hold only the {} class; use "
                                     "fewer folds or groups that mix the classes",
                                     f + 1, r + 1, pos ? "positive" : "negative"));
    }
}

}  // namespace

std::vector<std::vector<int>> draw_folds(const Vector& y, const std::vector<int>* groups, int k, int repeats,
                                         bool stratify, Rng& rng, bool classes) {
  if (k < 2) throw ValueError(fmt::format("folds: need at least 2 folds, got {}", k));
  if (stratify && !classes)
    throw ValueError("folds: stratified folds need class labels; the targets are a regression's (stratify = false)");
  const auto n = static_cast<std::size_t>(y.size());
  if (!groups) {
    if (stratify) return stratified_folds(y, k, repeats, rng);
    if (n < static_cast<std::size_t>(k))
      throw ValueError(fmt::format("folds: {} subjects for {} folds", n, k));
    std::vector<std::vector<int>> out;
    for (int r = 0; r < repeats; ++r) {
      Rows order(n);
      std::iota(order.begin(), order.end(), Index{0});
      rng.shuffle(order);
      std::vector<int> assign(n);
      for (std::size_t j = 0; j < n; ++j) assign[static_cast<std::size_t>(order[j])] = static_cast<int>(j % static_cast<std::size_t>(k));
      out.push_back(std::move(assign));
    }
    if (classes) check_training_classes(y, out, k);
    return out;
  }
  if (groups->size() != n) throw ValueError(fmt::format("folds: {} group ids for {} subjects", groups->size(), n));
  // The groups: their members and class counts, in order of first appearance.
  std::vector<int> ids;
  std::vector<Rows> members;
  std::vector<std::array<int, 2>> counts;  // [negative, positive]
  for (std::size_t i = 0; i < n; ++i) {
    const int g = (*groups)[i];
    auto it = std::find(ids.begin(), ids.end(), g);
    if (it == ids.end()) {
      ids.push_back(g);
      members.emplace_back();
      counts.push_back({0, 0});
      it = ids.end() - 1;
    }
    const auto gi = static_cast<std::size_t>(it - ids.begin());
    members[gi].push_back(static_cast<Index>(i));
    ++counts[gi][y(static_cast<Index>(i)) > 0 ? 1 : 0];
  }
  if (ids.size() < static_cast<std::size_t>(k))
    throw ValueError(fmt::format("folds: {} groups for {} folds; a grouped CV needs at least one group per fold",
                                 ids.size(), k));
  const std::array<double, 2> total = {static_cast<double>((y.array() < 0).count()),
                                       static_cast<double>((y.array() > 0).count())};
  std::vector<std::vector<int>> out;
  for (int r = 0; r < repeats; ++r) {
    std::vector<std::size_t> order(ids.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    rng.shuffle(order);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return members[a].size() > members[b].size(); });
    std::vector<std::array<double, 2>> fold(static_cast<std::size_t>(k), {0.0, 0.0});
    std::vector<int> assign(n, 0);
    for (std::size_t g : order) {
      std::size_t best = 0;
      double best_cost = 0, best_size = 0;
      for (std::size_t f = 0; f < fold.size(); ++f) {
        const double size = fold[f][0] + fold[f][1];
        double cost = 0;
        if (stratify) {
          // The change of sum over folds and classes of (count - total / k)^2.
          for (std::size_t c = 0; c < 2; ++c) {
            const double gc = counts[g][c], d = fold[f][c] - total[c] / k;
            cost += gc * gc + 2 * gc * d;
          }
        } else {
          cost = size;
        }
        if (f == 0 || cost < best_cost || (cost == best_cost && size < best_size)) {
          best = f;
          best_cost = cost;
          best_size = size;
        }
      }
      fold[best][0] += counts[g][0];
      fold[best][1] += counts[g][1];
      for (Index i : members[g]) assign[static_cast<std::size_t>(i)] = static_cast<int>(best);
    }
    for (std::size_t f = 0; f < fold.size(); ++f)
      if (fold[f][0] + fold[f][1] == 0)
        throw ValueError(fmt::format("folds: fold {} of repeat {} is empty (the groups are too unequal for {} folds)",
                                     f + 1, r + 1, k));
    out.push_back(std::move(assign));
  }
  if (classes) check_training_classes(y, out, k);
  return out;
}

std::vector<int> leave_one_group_out(const std::vector<int>& groups) {
  std::vector<int> ids(groups);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<int> out(groups.size());
  for (std::size_t i = 0; i < groups.size(); ++i)
    out[i] = static_cast<int>(std::lower_bound(ids.begin(), ids.end(), groups[i]) - ids.begin());
  return out;
}

InnerFolds inner_folds(const NestedCvResult& result, std::size_t outer) {
  if (!result.plan || outer >= result.plan->outer.size())
    throw ValueError(fmt::format("inner folds: the result has no CV2 fold {}", outer + 1));
  const Outer& out = result.plan->outer[outer];
  const auto k1 = static_cast<std::size_t>(result.options.inner_folds);
  InnerFolds f;
  f.rows = out.train;
  // Position of each subject in the CV2 training set.
  std::vector<std::size_t> pos(result.scores.size(), 0);
  for (std::size_t k = 0; k < out.train.size(); ++k) pos[static_cast<std::size_t>(out.train[k])] = k;
  f.assignment.assign(out.inner.size() / k1, std::vector<int>(out.train.size(), -1));
  for (std::size_t p = 0; p < out.inner.size(); ++p)
    for (Index i : out.inner[p].val) f.assignment[p / k1][pos[static_cast<std::size_t>(i)]] = static_cast<int>(p % k1);
  return f;
}

double median_of(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  const std::size_t h = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(h), v.end());
  if (v.size() % 2 == 1) return v[h];
  const double hi = v[h];
  return 0.5 * (*std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(h)) + hi);
}

// ---------------------------------------------------------------- nested CV

namespace {

// The covariate columns the pipeline reads (and participant_id), for the stored
// training data.
std::optional<Table> needed_covariates(const PipelineSpec& spec, const Table* cov) {
  std::vector<std::string> names = covariates_read(spec);
  if (!cov || names.empty()) return std::nullopt;
  // The participant ids too, when there are: an error inside a fold (an unseen site)
  // then names the participants, not only rows of the fold.
  if (cov->find("participant_id") && std::find(names.begin(), names.end(), "participant_id") == names.end())
    names.push_back("participant_id");
  return cov->select(names);
}

// A non-finite value for a message: "NaN" whatever its sign bit, "inf", "-inf".
std::string nonfinite_text(double x) { return std::isnan(x) ? "NaN" : fmt::format("{}", x); }

// What to do about a missing feature value, for the messages.
template <class Steps>
std::string missing_feature_hint(const Steps& steps) {
  for (const auto& step : steps)
    if (step->name() == "impute") return "nl.ml.impute must be the first step of the pipeline to fill it";
  return "add nl.ml.impute{} as the first pipeline step (fitted on each training fold) or leave the participant out";
}

// X finite, and every covariate column the steps read present, complete and finite
// (rows numbered as the caller's).
template <class Steps, class Filters = std::vector<std::shared_ptr<const Transform>>>
void check_data(const Steps& steps, const Matrix& X, const Table* cov, const char* what, const Filters& filters = {}) {
  // Why up front: a NaN would otherwise surface deep inside a fold (rows renumbered
  // within the fold) or, worse, pass through preprocessing into the scores. A missing
  // value (NaN) is allowed when the first step imputes it, fitted on each training fold.
  const bool imputes = !steps.empty() && steps.front()->name() == "impute";
  for (Index j = 0; j < X.cols(); ++j)
    for (Index i = 0; i < X.rows(); ++i) {
      const double x = X(i, j);
      if (std::isfinite(x) || (imputes && std::isnan(x))) continue;
      if (std::isnan(x))
        throw ValueError(fmt::format("{}: feature column {} has a missing value (NaN) in row {}; {}", what, j + 1,
                                     i + 1, missing_feature_hint(steps)));
      throw ValueError(fmt::format("{}: feature column {} has a non-finite value ({}) in row {}", what, j + 1,
                                   nonfinite_text(x), i + 1));
    }
  const auto check_step = [&](const auto& step) {
    for (const auto& name : step->covariates_used()) {
      if (!cov)
        throw ValueError(fmt::format("{}: the pipeline's {} step reads covariate '{}', but no covariates were given",
                                     what, step->name(), name));
      const ColumnPtr* c = cov->find(name);
      if (!c)
        throw ValueError(fmt::format("{}: covariate '{}' is not a column of the covariates (columns: {})", what, name,
                                     fmt::join(cov->names(), ", ")));
      const Column& col = **c;
      // "row 32 (sub-031)" when the covariates carry participant ids.
      const ColumnPtr* ids = cov->find("participant_id");
      const auto row = [&](std::size_t i) {
        if (ids && (*ids)->type() == ColumnType::String && !(*ids)->is_missing(i))
          return fmt::format("row {} ({})", i + 1, (*ids)->string(i));
        return fmt::format("row {}", i + 1);
      };
      for (std::size_t i = 0; i < col.size(); ++i) {
        if (col.is_missing(i))
          throw ValueError(fmt::format("{}: covariate '{}' is missing in {}", what, name, row(i)));
        if (col.type() == ColumnType::Number && !std::isfinite(col.number(i)))
          throw ValueError(fmt::format("{}: covariate '{}' is not finite ({}) in {}", what, name,
                                       nonfinite_text(col.number(i)), row(i)));
      }
    }
  };
  for (const auto& step : steps) check_step(step);
  for (const auto& step : filters) check_step(step);
}

}  // namespace

NestedCvResult nested_cv(const PipelineSpec& spec, const std::vector<double>& grid, const Matrix& X, const Vector& y,
                         const Table* covariates, const NestedCvOptions& options, const Progress& progress) {
  check_inputs(spec.svc, grid, X, y, covariates, options);
  check_spec(spec);
  check_data(spec.steps, X, covariates, "nested CV", spec.filters);
  // A feature constant over all subjects carries nothing (prune drops it, the SVC gives
  // it no weight); when every one is, each model would score every subject 0 and the
  // metrics would be undefined.
  bool varies = false;
  for (Index j = 0; j < X.cols() && !varies; ++j) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;  // over the values present
    for (Index i = 0; i < X.rows(); ++i)
      if (!std::isnan(X(i, j))) lo = std::min(lo, X(i, j)), hi = std::max(hi, X(i, j));
    varies = lo < hi;
  }
  if (!varies)
    throw ValueError(fmt::format("nested CV: every feature is constant over the {} subjects; there is nothing to learn "
                                 "from",
                                 X.rows()));
  ConvergenceTally tally("the nested CV");
  // Progress in model fits: per CV1 partition its preprocessing, one per C value, and
  // its final base model.
  const std::int64_t outer_count =
      static_cast<std::int64_t>(options.outer_assignment.empty() ? static_cast<std::size_t>(options.outer_repeats)
                                                                 : options.outer_assignment.size()) *
      options.outer_folds;
  const std::int64_t total = outer_count * (options.inner_folds * options.inner_repeats *
                                               static_cast<std::int64_t>(grid_points(spec.svc, grid) + 2) +
                                           (options.refit_preprocessing ? 1 : 0));
  std::atomic<std::int64_t> done{0};
  std::function<void()> tick;
  if (progress) tick = [&] { progress(++done, total); };
  NestedCvResult res;
  res.grid = grid;
  // Only the covariate columns the pipeline reads are kept (and copied per partition).
  res.data = std::make_shared<TrainingData>(TrainingData{X, y, needed_covariates(spec, covariates)});
  const Table* cov = res.data->covariates ? &*res.data->covariates : nullptr;
  auto holder = std::make_shared<NestedCvPlan>();
  holder->outer = make_plan(spec, X, y, cov, options, res.outer_assignment, tick);
  const std::vector<Outer>& plan = holder->outer;
  res.plan = holder;
  res.options = options;
  res.options.outer_assignment = res.outer_assignment;
  res.options.outer_repeats = static_cast<int>(res.outer_assignment.size());
  std::vector<OuterFit> fits(plan.size());
  // Under MPI each rank selects and fits its block of outer folds; all get every fold.
  mpi::distributed_for(plan.size(), [&](std::size_t o) {
    fits[o] = select_and_fit(plan[o], o, y, spec, grid, options.seed, X.cols(), cov, tick);
  });
  share_fits(fits);
  res.scores.assign(static_cast<std::size_t>(X.rows()), {});
  for (std::size_t o = 0; o < plan.size(); ++o) {
    collect_scores(plan[o], fits[o].models, res.scores);
    res.inner_bac.push_back(fits[o].inner_bac);
    res.chosen.push_back(fits[o].chosen);
    for (std::size_t p = 0; p < fits[o].models.size(); ++p)
      res.models.push_back(BaseModel{static_cast<int>(o), static_cast<int>(p),
                                     plan[o].refit ? plan[o].refit->pre : plan[o].inner[p].pre,
                                     std::move(fits[o].models[p])});
  }
  res.median = medians(res.scores);
  if (is_regression(spec.svc.estimator)) {
    res.regression = regression_metrics(res.median, y);
    res.auc = std::numeric_limits<double>::quiet_NaN();
  } else {
    res.metrics = confusion(res.median, y);
    res.auc = auc(res.median, y);
  }
  tally.finish();
  return res;
}

// ---------------------------------------------------------------- permutations

void finish_pvalues(PermutationResult& r) {
  const auto n = static_cast<double>(r.bac.size());
  r.count = 0;
  for (double b : r.bac) r.count += (r.higher_is_better ? b >= r.observed : b <= r.observed) ? 1 : 0;
  r.p_count = n > 0 ? r.count / n : std::numeric_limits<double>::quiet_NaN();
  r.p_plus_one = (r.count + 1.0) / (n + 1.0);
}

namespace {

// Labels of permutation k: y shuffled with the permutation's stream (which `rng` then
// continues to use for the solver).
Vector permuted_labels(const Vector& y, Rng& rng) {
  std::vector<Index> order(static_cast<std::size_t>(y.size()));
  std::iota(order.begin(), order.end(), Index{0});
  rng.shuffle(order);
  Vector yp(y.size());
  for (Index i = 0; i < y.size(); ++i) yp(i) = y(order[static_cast<std::size_t>(i)]);
  return yp;
}

// Runs permutation(k) for k in [0, n) (ranks and threads), reporting progress; with a
// checkpoint, in rounds that resume where an earlier run of the same test stopped (the
// null labels and medians, when kept, are in `res` and `rows` long). On an interrupt,
// rethrows it with what had finished: the count, and the p-value of the longest run of
// finished permutations 1..m (a prefix, so that the same seed with permutations = m
// reproduces it exactly).
void run_permutations(PermutationResult& res, int n, const Progress& progress, const Checkpoint& ck,
                      std::size_t rows, const std::function<void(std::size_t)>& permutation) {
  res.bac.assign(static_cast<std::size_t>(n), 0.0);
  std::vector<char> finished(static_cast<std::size_t>(n), 0);
  const std::size_t first = ck.done();
  if (first > 0) {
    restore_permutations(res, ck);
    std::fill(finished.begin(), finished.begin() + static_cast<std::ptrdiff_t>(first), 1);
    warn(fmt::format("resuming the permutation test from the checkpoint {}: permutations 1-{} of {} were done",
                     ck.path(), first, n));
  }
  std::atomic<int> done{static_cast<int>(first)};
  // Under MPI each rank runs its blocks of permutations (progress counts the whole run
  // on one rank, this rank's share otherwise).
  const int total = mpi::size() > 1 ? static_cast<int>(mpi::my_block(static_cast<std::size_t>(n)).count()) : n;
  std::atomic<int> here{mpi::size() > 1 ? 0 : static_cast<int>(first)};
  try {
    ck.run(
        first, static_cast<std::size_t>(n),
        [&](std::size_t k) {
          permutation(k);
          finished[k] = 1;
          ++done;
          const int d = ++here;
          if (progress) progress(std::min(d, total), total);
        },
        [&](std::size_t begin, std::size_t end) {
          mpi::share_blocks(end - begin, 1, res.bac.data() + begin);
          share_null(res, rows, begin, end);
          for (std::size_t k = begin; k < end; ++k) finished[k] = 1;
          if (ck.due()) ck.save(end, permutation_state(res, end));
        });
  } catch (const Interrupted&) {
    std::size_t m = 0;
    while (m < finished.size() && finished[m]) ++m;
    const std::string resume =
        ck.active() ? fmt::format("; the checkpoint {} keeps the rounds saved so far: run again to resume", ck.path()) : "";
    if (m == 0) throw InterruptedAfter(fmt::format("interrupted after {} of {} permutations{}", done.load(), n, resume));
    PermutationResult part;
    part.observed = res.observed;
    part.higher_is_better = res.higher_is_better;
    part.bac.assign(res.bac.begin(), res.bac.begin() + static_cast<std::ptrdiff_t>(m));
    finish_pvalues(part);
    throw InterruptedAfter(fmt::format("interrupted after {} of {} permutations; permutations 1-{} give p = {:.4f} "
                                       "({} of {} reached the observed {}); the same seed with permutations = {} "
                                       "reproduces them{}",
                                       done.load(), n, m, part.p_plus_one, part.count, m, res.statistic, m, resume));
  }
  ck.remove();
  finish_pvalues(res);
}

// The permutation statistic: BAC for a classifier, the CV1 criterion for a regressor;
// recorded in r.
Criterion statistic_of(const SvcSpec& svc, PermutationResult& r) {
  const Criterion c = is_regression(svc.estimator) ? resolve_criterion(svc) : Criterion::Bac;
  r.higher_is_better = higher_is_better(c);
  r.statistic = criterion_name(c);
  if (r.statistic == "bac") r.statistic = "BAC";
  else if (r.statistic == "mae" || r.statistic == "rmse") r.statistic = r.statistic == "mae" ? "MAE" : "RMSE";
  else if (r.statistic == "r2") r.statistic = "R^2";
  return c;
}

void check_plan(const NestedCvResult& r, const char* what) {
  if (!r.plan || !r.data || r.plan->outer.size() != r.chosen.size())
    throw ValueError(fmt::format("{}: the nested-CV result carries no training data", what));
}

}  // namespace

PermutationScoring resolve_scoring(PermutationMode mode, PermutationScoring scoring) {
  if (scoring != PermutationScoring::Default) return scoring;
  return mode == PermutationMode::NeuroMiner ? PermutationScoring::Original : PermutationScoring::Permuted;
}

// NeuroMiner mode: every base model retrained on `labels` with its observed C, features
// and preprocessing, each from its own solver stream and cold, as the observed ones.
std::vector<std::optional<FittedModel>> retrain_models(const PipelineSpec& spec, const NestedCvResult& result,
                                                       const Vector& labels) {
  check_plan(result, "retrain");
  const std::vector<Outer>& plan = result.plan->outer;
  std::vector<std::optional<FittedModel>> out;
  out.reserve(result.models.size());
  for (std::size_t o = 0; o < plan.size(); ++o) {
    const SvcSpec svc = at_grid_point(spec.svc, result.grid, static_cast<std::size_t>(result.chosen[o]));
    const std::size_t P = plan[o].inner.size(), first = out.size();
    for (std::size_t p = 0; p < P; ++p) {
      if (!trainable(plan[o], p, labels, is_regression(spec.svc.estimator))) {
        out.emplace_back(std::nullopt);
        continue;
      }
      FittedModel m;
      m.features = result.models[o * P + p].model.features;
      m.validation_bac = result.models[o * P + p].model.validation_bac;
      const FittedModel* same = nullptr;
      if (plan[o].refit)
        for (std::size_t e = first; e < out.size(); ++e)
          if (out[e] && (!spec.filters.empty() || out[e]->features == m.features)) same = &*out[e];
      const Table* cov = result.data && result.data->covariates ? &*result.data->covariates : nullptr;
      if (same) m = *same;
      else fit_base(plan[o], o, p, labels, spec, svc, result.options.seed, cov, m);
      out.emplace_back(std::move(m));
    }
  }
  return out;
}

PermutationResult permutation_test(const PipelineSpec& spec, const NestedCvResult& observed, const Matrix& X,
                                   const Vector& y, const Table* covariates, const NestedCvOptions& options,
                                   int n_permutations, PermutationMode mode, const Progress& progress,
                                   const PermutationSettings& settings) {
  if (n_permutations < 1) throw ValueError(fmt::format("permutations must be at least 1, got {}", n_permutations));
  check_inputs(spec.svc, observed.grid, X, y, covariates, options);
  // The observed run's folds and preprocessing: label-independent, so reused as they are.
  check_plan(observed, "permutation test");
  if (observed.scores.size() != static_cast<std::size_t>(X.rows()))
    throw ValueError("permutation test: the data do not match the nested-CV result");
  const std::vector<Outer>& plan = observed.plan->outer;
  PermutationResult res;
  const Criterion crit = statistic_of(spec.svc, res);
  res.observed = criterion_value(crit, observed.median, y);
  res.scoring = resolve_scoring(mode, settings.scoring);
  if (settings.keep_null) {
    res.null_labels.resize(static_cast<std::size_t>(n_permutations));
    res.null_medians.resize(static_cast<std::size_t>(n_permutations));
  }
  // The run's fingerprint: the data, the observed result (which the pipeline, the
  // covariates and the folds determine), the seed and the test's settings.
  Fingerprint fp;
  fp.add(X.data(), static_cast<std::size_t>(X.size()) * sizeof(double))
      .add(y.data(), static_cast<std::size_t>(y.size()) * sizeof(double))
      .add(observed.median.data(), static_cast<std::size_t>(observed.median.size()) * sizeof(double))
      .value(options.seed)
      .value(observed.options.seed)
      .value(static_cast<int>(mode))
      .value(static_cast<int>(res.scoring))
      .value(settings.keep_null);
  const Checkpoint ck(settings.checkpoint, "nested-CV permutation test", fp.hex(),
                      static_cast<std::size_t>(n_permutations));
  ConvergenceTally tally("the permutation test");
  run_permutations(res, n_permutations, progress, ck, static_cast<std::size_t>(y.size()), [&](std::size_t k) {
    Rng rng(options.seed, kPermutationStream + k);
    const Vector yp = permuted_labels(y, rng);
    std::vector<std::vector<double>> scores(static_cast<std::size_t>(y.size()));
    if (mode == PermutationMode::Full) {
      // The observed run's procedure and streams, on the permuted labels.
      for (std::size_t o = 0; o < plan.size(); ++o) {
        const OuterFit fit = select_and_fit(plan[o], o, yp, spec, observed.grid, observed.options.seed, X.cols(),
                                            observed.data->covariates ? &*observed.data->covariates : nullptr);
        collect_scores(plan[o], fit.models, scores);
      }
    } else {
      const auto models = retrain_models(spec, observed, yp);
      std::size_t m = 0;
      for (const Outer& out : plan) {
        for (std::size_t p = 0; p < out.inner.size(); ++p, ++m) {
          if (!models[m]) continue;
          const Vector d = model_decision(*models[m], test_rows(out, p));
          for (std::size_t j = 0; j < out.test.size(); ++j)
            scores[static_cast<std::size_t>(out.test[j])].push_back(d(static_cast<Index>(j)));
        }
      }
    }
    const Vector med = medians(scores);
    // Original: the permuted models judged against the truth (NeuroMiner 1.3);
    // Permuted: the whole analysis run on a null data set.
    res.bac[k] = criterion_value(crit, med, res.scoring == PermutationScoring::Original ? y : yp);
    if (settings.keep_null) {
      res.null_labels[k] = yp;
      res.null_medians[k] = med;
    }
  });
  tally.finish();
  return res;
}

// ---------------------------------------------------------------- external validation

namespace {

void check_external(const NestedCvResult& r, const Matrix& X, const Table* cov) {
  if (r.models.empty()) throw ValueError("apply: the nested-CV result has no base models");
  const Index p = r.data                            ? r.data->X.cols()
                  : r.models.front().pre.steps.empty() ? X.cols()
                                                       : r.models.front().pre.steps.front()->n_features_in();
  if (X.cols() != p)
    throw ValueError(fmt::format("apply: the new data have {} features, the model was trained on {}", X.cols(), p));
  if (X.rows() == 0) throw ValueError("apply: the new data have no rows");
  if (cov && cov->nrows() != static_cast<std::size_t>(X.rows()))
    throw ValueError(fmt::format("apply: covariates have {} rows, the new data have {}", cov->nrows(), X.rows()));
  check_data(r.models.front().pre.steps, X, cov, "apply");
}

// Each base model's preprocessing applied to the new rows; with `unseen`, copies of it
// with that unseen-level policy. A ValueError names the base model: the levels a base
// model was trained on are those of its own CV1 training rows.
std::vector<Matrix> preprocess_new(const NestedCvResult& r, const Matrix& X, const Table* cov,
                                   const UnseenPolicy* unseen) {
  std::vector<Matrix> out(r.models.size());
  parallel_for(r.models.size(), [&](std::size_t m) {
    const BaseModel& b = r.models[m];
    try {
      out[m] = unseen ? with_unseen(b.pre, *unseen).apply(X, cov) : b.pre.apply(X, cov);
    } catch (const ValueError& e) {
      throw ValueError(fmt::format("apply (base model of CV2 fold {}, CV1 partition {}): {}", b.outer + 1,
                                   b.inner + 1, e.what()));
    }
  });
  return out;
}

ExternalScores collect_external(const std::vector<std::optional<FittedModel>>& models, const std::vector<Matrix>& Xpre,
                                Index n) {
  ExternalScores out;
  out.scores.assign(static_cast<std::size_t>(n), {});
  for (std::size_t m = 0; m < models.size(); ++m) {
    if (!models[m]) continue;
    const Vector d = model_decision(*models[m], Xpre[m]);
    for (Index i = 0; i < n; ++i) out.scores[static_cast<std::size_t>(i)].push_back(d(i));
  }
  out.median = medians(out.scores);
  return out;
}

std::vector<std::optional<FittedModel>> observed_models(const NestedCvResult& r) {
  std::vector<std::optional<FittedModel>> out;
  for (const auto& b : r.models) out.emplace_back(b.model);
  return out;
}

}  // namespace

ExternalScores apply_models(const NestedCvResult& result, const Matrix& X_new, const Table* covariates,
                            const UnseenPolicy* unseen) {
  check_external(result, X_new, covariates);
  return collect_external(observed_models(result), preprocess_new(result, X_new, covariates, unseen), X_new.rows());
}

PermutationResult external_permutation_test(const PipelineSpec& spec, const NestedCvResult& result,
                                            const Matrix& X_new, const Vector& y_new, const Table* covariates,
                                            int n_permutations, const Progress& progress,
                                            const UnseenPolicy* unseen) {
  if (n_permutations < 1) throw ValueError(fmt::format("permutations must be at least 1, got {}", n_permutations));
  check_external(result, X_new, covariates);
  check_plan(result, "external permutation test");
  check_targets(spec.svc, y_new, X_new.rows(), "apply");
  const std::vector<Matrix> Xpre = preprocess_new(result, X_new, covariates, unseen);
  PermutationResult res;
  const Criterion crit = statistic_of(spec.svc, res);
  res.observed = criterion_value(crit, collect_external(observed_models(result), Xpre, X_new.rows()).median, y_new);
  const Vector& y = result.data->y;
  // The new subjects' labels are never permuted: the permuted models are scored
  // against them as they are (as NeuroMiner's OOCV permutations).
  res.scoring = PermutationScoring::Original;
  ConvergenceTally tally("the external validation's permutation test");
  run_permutations(res, n_permutations, progress, Checkpoint({}, "", "", 0), 0, [&](std::size_t k) {
    Rng rng(result.options.seed, kPermutationStream + k);
    const Vector yp = permuted_labels(y, rng);
    const auto models = retrain_models(spec, result, yp);
    res.bac[k] = criterion_value(crit, collect_external(models, Xpre, X_new.rows()).median, y_new);
  });
  tally.finish();
  return res;
}

}  // namespace nl::ml

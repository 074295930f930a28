// Linear SVC by dual coordinate descent (see nl/ml/svc.hpp for the problem and contract).
#include "nl/ml/svc.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

namespace nl::ml {

namespace {

constexpr double INF = std::numeric_limits<double>::infinity();

// ---------------------------------------------------------------- validation

// Labels must be exactly +1 or -1: a 0/1 coding passed by mistake would otherwise
// train a one-class problem without a word.
void check_labels(const Eigen::Ref<const Vector>& y, const char* what) {
  for (Eigen::Index i = 0; i < y.size(); ++i)
    if (y[i] != 1.0 && y[i] != -1.0)
      throw ValueError(fmt::format("{}: label {} of row {} is not +1 or -1", what, y[i], i + 1));
}

void check_cost(double c, const char* name) {
  if (!(c > 0.0) || !std::isfinite(c))
    throw ValueError(fmt::format("linear SVC: {} must be positive and finite, got {}", name, c));
}

void check_inputs(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y,
                  const LinearSvcOptions& o) {
  if (X.rows() == 0) throw ValueError("linear SVC: no samples (X has 0 rows)");
  if (y.size() != X.rows())
    throw ValueError(fmt::format("linear SVC: X has {} rows but y has {} labels", X.rows(), y.size()));
  check_labels(y, "linear SVC");
  // Column by column, so the first bad value reported is the first in memory order.
  for (Eigen::Index j = 0; j < X.cols(); ++j)
    for (Eigen::Index i = 0; i < X.rows(); ++i)
      if (!std::isfinite(X(i, j)))
        throw ValueError(fmt::format("linear SVC: X has a non-finite value ({}) at row {}, column {}",
                                     X(i, j), i + 1, j + 1));
  check_cost(o.Cp, "Cp");
  check_cost(o.Cn, "Cn");
  if (!(o.eps > 0.0) || !std::isfinite(o.eps))
    throw ValueError(fmt::format("linear SVC: eps must be positive and finite, got {}", o.eps));
  if (!std::isfinite(o.bias)) throw ValueError(fmt::format("linear SVC: bias must be finite, got {}", o.bias));
  if (o.max_iter < 1) throw ValueError(fmt::format("linear SVC: max_iter must be at least 1, got {}", o.max_iter));
}

}  // namespace

// ---------------------------------------------------------------- solver

// LIBLINEAR 2.3's solve_l2r_l1l2_svc restricted to the L2 loss, with its variable names:
// l samples, w_size features (plus the bias feature), QD_ii = Qbar_ii, G the partial
// derivative of the dual, PG the projected gradient, PGmax/PGmin its extremes over a pass.
// Because U = infinity, the upper-bound branches of LIBLINEAR (alpha_i == U, shrinking
// with PGmin_old) can never fire and are left out; only alpha_i = 0 is a bound.
//
// Layout and arithmetic, chosen for speed on small problems (66 x 13 takes ~2300
// coordinate steps; each is a short chain of dependent floating-point operations):
//  * u_i = y_i x_i (the label folded in: exact, since y_i = +-1), zero-padded to NP pairs
//    of doubles and stored contiguously, so G_i = u_i'w - 1 + alpha_i D_ii and the update
//    w += (alpha_i' - alpha_i) u_i equal LIBLINEAR's y_i w'x_i and w += d x_i.
//  * One-step lookahead: the update of step s is added to w only during step s + 1, and
//    step s + 1 computes u'w as u'w_old + d (u'u_s). The two dot products do not wait for
//    the previous update, which takes the update off the loop's critical path (about 1.6x
//    faster on 66 x 13). Same iterates as LIBLINEAR up to rounding.
//  * Dot products reduce pairwise over the pairs of doubles (a fixed order, so results do
//    not depend on the compiler's vectorisation).
namespace {

typedef double Pair __attribute__((vector_size(16)));  // two doubles (one SSE2 register)

// Pairwise sum of a[k] * b[k], k in [lo, lo + n), split at ceil(n / 2).
template <int LO, int N>
inline __attribute__((always_inline)) Pair dot_tree(const Pair* a, const Pair* b) {
  if constexpr (N == 1) {
    return a[LO] * b[LO];
  } else {
    constexpr int H = (N + 1) / 2;
    return dot_tree<LO, H>(a, b) + dot_tree<LO + H, N - H>(a, b);
  }
}

// Compile-time length: w stays in registers for up to 16 pairs (32 features).
template <int NP>
struct FixedPairs {
  Pair w[NP];
  static constexpr int np = NP;
  explicit FixedPairs(int) {
    for (auto& v : w) v = Pair{0.0, 0.0};
  }
  static double dot(const Pair* a, const Pair* b) {
    const Pair s = dot_tree<0, NP>(a, b);
    return s[0] + s[1];
  }
  double dot_w(const Pair* a) const {
    const Pair s = dot_tree<0, NP>(a, w);
    return s[0] + s[1];
  }
  void axpy(double d, const Pair* u) {
    const Pair dd = {d, d};
#pragma GCC unroll 16
    for (int k = 0; k < NP; ++k) w[k] += dd * u[k];
  }
  const double* data() const { return reinterpret_cast<const double*>(w); }
};

// Run-time length (more than 32 features): four interleaved partial sums.
struct DynamicPairs {
  std::vector<Pair> w;
  int np;
  explicit DynamicPairs(int n) : w(static_cast<std::size_t>(n), Pair{0.0, 0.0}), np(n) {}
  static double dot(const Pair* a, const Pair* b, int n) {
    Pair s0 = {0.0, 0.0}, s1 = s0, s2 = s0, s3 = s0;
    int k = 0;
    for (; k + 4 <= n; k += 4) {
      s0 += a[k] * b[k];
      s1 += a[k + 1] * b[k + 1];
      s2 += a[k + 2] * b[k + 2];
      s3 += a[k + 3] * b[k + 3];
    }
    for (; k < n; ++k) s0 += a[k] * b[k];
    const Pair s = (s0 + s1) + (s2 + s3);
    return s[0] + s[1];
  }
  double dot(const Pair* a, const Pair* b) const { return dot(a, b, np); }
  double dot_w(const Pair* a) const { return dot(a, w.data(), np); }
  void axpy(double d, const Pair* u) {
    const Pair dd = {d, d};
    for (int k = 0; k < np; ++k) w[static_cast<std::size_t>(k)] += dd * u[k];
  }
  const double* data() const { return reinterpret_cast<const double*>(w.data()); }
};

struct Problem {
  int l = 0;
  int np = 0;              // pairs per sample
  std::vector<Pair> U;     // l + 1 rows of np pairs; row l is zero (no pending update)
  std::vector<double> D, QD_inv;
};

template <class Weights>
LinearSvcModel solve(const Problem& pb, const LinearSvcOptions& options, Rng& rng) {
  const int l = pb.l, np = pb.np;
  const Pair* U = pb.U.data();
  const Pair* zero = U + static_cast<std::size_t>(l) * static_cast<std::size_t>(np);
  const auto row = [&](int i) { return U + static_cast<std::size_t>(i) * static_cast<std::size_t>(np); };
  Weights w(np);
  std::vector<double> alpha(static_cast<std::size_t>(l), 0.0);
  // Warm start (LinearSvcOptions::alpha0, checked by the caller): w = sum alpha_i u_i.
  if (options.alpha0.size() == l) {
    for (int i = 0; i < l; ++i) {
      alpha[static_cast<std::size_t>(i)] = std::max(options.alpha0[i], 0.0);
      if (alpha[static_cast<std::size_t>(i)] != 0.0) w.axpy(alpha[static_cast<std::size_t>(i)], row(i));
    }
  }
  std::vector<int> index(static_cast<std::size_t>(l));
  std::iota(index.begin(), index.end(), 0);
  Rng r = rng;  // a local copy keeps the generator's state in registers

  int active_size = l;
  int iter = 0;
  bool converged = false;
  double PGmax_old = INF;  // samples at alpha_i = 0 with G above it are shrunk
  while (iter < options.max_iter) {
    check_interrupt();
    double PGmax_new = -INF, PGmin_new = INF;
    const Pair* u_prev = zero;  // the pending update d_prev u_prev
    double d_prev = 0.0;
    for (int s = 0; s < active_size; ++s) {
      // A random order of the active set, drawn as it is used: position s takes a sample
      // uniformly among those not yet visited in this pass.
      std::swap(index[s], index[s + static_cast<int>(r.below(static_cast<std::uint64_t>(active_size - s)))]);
      const int i = index[s];
      const Pair* ui = row(i);
      const double a_old = alpha[i];
      const double G = d_prev * w.dot(ui, u_prev) + ((w.dot_w(ui) - 1.0) + a_old * pb.D[i]);
      w.axpy(d_prev, u_prev);
      d_prev = 0.0;
      u_prev = zero;

      double PG = 0.0;
      if (a_old == 0.0) {
        if (G > PGmax_old) {
          // Shrink: at the bound and likely to stay there. Swap it out of the active
          // part and look at the sample swapped in at position s.
          --active_size;
          std::swap(index[s], index[active_size]);
          --s;
          continue;
        }
        if (G < 0.0) PG = G;
      } else {
        PG = G;
      }
      PGmax_new = std::max(PGmax_new, PG);
      PGmin_new = std::min(PGmin_new, PG);

      if (std::fabs(PG) > 1.0e-12) {
        const double a_new = std::max(a_old - G * pb.QD_inv[i], 0.0);
        alpha[i] = a_new;
        d_prev = a_new - a_old;
        u_prev = ui;
      }
    }
    w.axpy(d_prev, u_prev);
    ++iter;

    if (PGmax_new - PGmin_new <= options.eps) {
      if (active_size == l) {
        converged = true;
        break;
      }
      // Converged on the shrunk set only: restart on all samples without shrinking,
      // so the stopping rule is finally checked on the full problem.
      active_size = l;
      PGmax_old = INF;
      continue;
    }
    PGmax_old = PGmax_new <= 0.0 ? INF : PGmax_new;
  }
  rng = r;

  LinearSvcModel model;
  model.alpha = Eigen::Map<const Vector>(alpha.data(), l);
  model.iterations = iter;
  model.converged = converged;
  model.w = Eigen::Map<const Vector>(w.data(), 2 * static_cast<Eigen::Index>(np));
  return model;
}

template <int NP>
LinearSvcModel solve_fixed(const Problem& pb, const LinearSvcOptions& o, Rng& rng) {
  if constexpr (NP > 16) {
    return solve<DynamicPairs>(pb, o, rng);
  } else {
    if (pb.np == NP) return solve<FixedPairs<NP>>(pb, o, rng);
    return solve_fixed<NP + 1>(pb, o, rng);
  }
}

}  // namespace

LinearSvcModel fit_linear_svc(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y,
                              const LinearSvcOptions& options, Rng& rng) {
  check_inputs(X, y, options);
  const int l = static_cast<int>(X.rows());
  const Eigen::Index p = X.cols();
  const bool has_bias = options.bias >= 0.0;
  const Eigen::Index w_size = p + (has_bias ? 1 : 0);
  if (options.alpha0.size() > 0) {
    if (options.alpha0.size() != l)
      throw ValueError(fmt::format("linear SVC: the warm start has {} dual variables for {} samples",
                                   options.alpha0.size(), l));
    if (!options.alpha0.allFinite()) throw ValueError("linear SVC: the warm start has a non-finite value");
  }

  Problem pb;
  pb.l = l;
  pb.np = static_cast<int>((w_size + 1) / 2);
  if (pb.np == 0) pb.np = 1;
  const auto np = static_cast<std::size_t>(pb.np);
  pb.U.assign((static_cast<std::size_t>(l) + 1) * np, Pair{0.0, 0.0});
  pb.D.resize(static_cast<std::size_t>(l));
  pb.QD_inv.resize(static_cast<std::size_t>(l));
  for (int i = 0; i < l; ++i) {
    double* u = reinterpret_cast<double*>(pb.U.data() + static_cast<std::size_t>(i) * np);
    for (Eigen::Index j = 0; j < p; ++j) u[j] = y[i] * X(i, j);
    if (has_bias) u[p] = y[i] * options.bias;
    // D_ii = 1 / (2 C_i); QD_ii = x_i'x_i + D_ii. The step divides by QD_ii; multiplying
    // by a stored reciprocal keeps the divide off the loop (LIBLINEAR divides).
    pb.D[i] = 0.5 / (y[i] > 0 ? options.Cp : options.Cn);
    double sq = 0.0;
    for (Eigen::Index j = 0; j < w_size; ++j) sq += u[j] * u[j];
    pb.QD_inv[i] = 1.0 / (pb.D[i] + sq);
  }

  LinearSvcModel model = solve_fixed<1>(pb, options, rng);
  const Vector wfull = model.w;
  model.w = wfull.head(p);
  model.b = has_bias ? options.bias * wfull[p] : 0.0;
  return model;
}

LinearSvcModel fit_linear_svc(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y,
                              const LinearSvcOptions& options) {
  Rng rng(options.seed);
  return fit_linear_svc(X, y, options, rng);
}

// ---------------------------------------------------------------- prediction and weighting

Vector decision(const LinearSvcModel& model, const Eigen::Ref<const Matrix>& X) {
  if (X.cols() != model.w.size())
    throw ValueError(fmt::format("linear SVC decision: X has {} columns but the model has {} weights", X.cols(),
                                 model.w.size()));
  Vector f = X * model.w;
  f.array() += model.b;
  return f;
}

ClassCosts balanced_costs(double C, const Eigen::Ref<const Vector>& y) {
  if (!(C > 0.0) || !std::isfinite(C))
    throw ValueError(fmt::format("balanced costs: C must be positive and finite, got {}", C));
  check_labels(y, "balanced costs");
  const auto n_pos = (y.array() > 0.0).count();
  const auto n_neg = y.size() - n_pos;
  if (n_pos == 0 || n_neg == 0)
    throw ValueError(fmt::format("balanced costs need both classes, but the {} labels have no {}", y.size(),
                                 n_pos == 0 ? "+1" : "-1"));
  // C times the class weight n_pos / n_neg, as NeuroMiner passes it to LIBLINEAR (-w-1).
  return {C, C * (static_cast<double>(n_pos) / static_cast<double>(n_neg))};
}

}  // namespace nl::ml

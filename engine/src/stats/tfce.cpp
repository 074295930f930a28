// stats/tfce.cpp: threshold-free cluster enhancement by one union-find pass (see
// nl/stats/tfce.hpp).
#include "nl/stats/tfce.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "nl/core/core.hpp"

namespace nl::stats {

namespace {

// Union-find over the tests. Each test carries `add`, a value relative to its parent:
// the score of a test is the sum of `add` along its path to the root, so adding to a
// root adds to every member, and path compression keeps the sums.
struct Forest {
  std::vector<Index> parent, size;
  std::vector<double> add;
  std::vector<Index> open;  // per root: the level at which its current size started

  explicit Forest(Index m)
      : parent(static_cast<std::size_t>(m), -1), size(static_cast<std::size_t>(m), 0),
        add(static_cast<std::size_t>(m), 0.0), open(static_cast<std::size_t>(m), 0) {}

  Index find(Index v) {
    // Two passes, no recursion: first the root and the path's total, then compression.
    Index r = v;
    while (parent[static_cast<std::size_t>(r)] != r) r = parent[static_cast<std::size_t>(r)];
    // Suffix sums: the value of u relative to r is add[u] + ... up to (not incl.) r.
    Index u = v;
    double above = 0;  // sum of add over the path from u's parent up to r (excluded)
    // Collect the path once to compute relative values from the top down.
    thread_local std::vector<Index> path;
    path.clear();
    while (u != r) {
      path.push_back(u);
      u = parent[static_cast<std::size_t>(u)];
    }
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
      const auto w = static_cast<std::size_t>(*it);
      add[w] += above;
      above = add[w];
      parent[w] = r;
    }
    return r;
  }
};

}  // namespace

std::vector<double> tfce_levels(double top, double dh) {
  std::vector<double> levels;
  if (!(top > 0) || !std::isfinite(top)) return levels;
  if (dh <= 0) {
    // The last height is the maximum itself (top * 100 / 100 may round above it).
    for (int k = 1; k < 100; ++k) levels.push_back(top * k / 100.0);
    levels.push_back(top);
    return levels;
  }
  if (top / dh > 1e7)
    throw ValueError(fmt::format("tfce: a step of {} cuts the map's range (0, {}] into more than 10^7 heights", dh, top));
  for (Index k = 1;; ++k) {
    const double h = static_cast<double>(k) * dh;
    if (h > top) break;
    levels.push_back(h);
  }
  return levels;
}

Eigen::VectorXd tfce_sum(const ClusterGrid& grid, const Eigen::VectorXd& x, const std::vector<double>& levels,
                         const std::vector<double>& weights, double E, bool two_sided) {
  const Index m = grid.tests();
  if (x.size() != m) throw ValueError(fmt::format("tfce: the map has {} values for {} tests", x.size(), m));
  if (levels.size() != weights.size()) throw ValueError("tfce: levels and weights differ in length");
  const auto L = static_cast<Index>(levels.size());
  Eigen::VectorXd score = Eigen::VectorXd::Zero(m);
  if (L == 0) return score;
  // S[k] = weights[0] + ... + weights[k - 1].
  std::vector<double> S(static_cast<std::size_t>(L) + 1, 0.0);
  for (Index k = 0; k < L; ++k) S[static_cast<std::size_t>(k) + 1] = S[static_cast<std::size_t>(k)] + weights[static_cast<std::size_t>(k)];

  // top[p]: the number of levels test p reaches (0: none); sign for two-sided.
  std::vector<Index> top(static_cast<std::size_t>(m), 0);
  std::vector<signed char> sign(static_cast<std::size_t>(m), 1);
  for (Index p = 0; p < m; ++p) {
    double a = x(p);
    if (std::isnan(a)) continue;
    if (two_sided && a < 0) {
      a = -a;
      sign[static_cast<std::size_t>(p)] = -1;
    }
    top[static_cast<std::size_t>(p)] =
        static_cast<Index>(std::upper_bound(levels.begin(), levels.end(), a) - levels.begin());
  }
  // Tests by decreasing top (counting sort: stable, so ties keep test order).
  std::vector<Index> count(static_cast<std::size_t>(L) + 2, 0);
  for (Index p = 0; p < m; ++p) ++count[static_cast<std::size_t>(L - top[static_cast<std::size_t>(p)]) + 1];
  for (std::size_t k = 1; k < count.size(); ++k) count[k] += count[k - 1];
  std::vector<Index> order(static_cast<std::size_t>(m));
  for (Index p = 0; p < m; ++p) order[static_cast<std::size_t>(count[static_cast<std::size_t>(L - top[static_cast<std::size_t>(p)])]++)] = p;

  Forest f(m);
  auto power = [E](Index n) { return std::pow(static_cast<double>(n), E); };
  // Charges root r for the levels it spent at its current size above level j
  // (levels j + 1 .. open[r]), and restarts its run at level j.
  auto flush = [&](Index r, Index j) {
    const auto R = static_cast<std::size_t>(r);
    if (f.open[R] > j) f.add[R] += power(f.size[R]) * (S[static_cast<std::size_t>(f.open[R]) + 1] - S[static_cast<std::size_t>(j) + 1]);
    f.open[R] = j;
  };
  std::size_t next = 0;
  for (Index j = L - 1; j >= 0; --j) {
    // Tests that reach level j but not j + 1 join now.
    while (next < order.size() && top[static_cast<std::size_t>(order[next])] == j + 1) {
      const Index p = order[next++];
      const auto P = static_cast<std::size_t>(p);
      f.parent[P] = p;
      f.size[P] = 1;
      f.open[P] = j;
      grid.neighbours(p, [&](Index q) {
        const auto Q = static_cast<std::size_t>(q);
        if (f.parent[Q] < 0 || sign[Q] != sign[P]) return;
        Index a = f.find(p), b = f.find(q);
        if (a == b) return;
        flush(a, j);
        flush(b, j);
        if (f.size[static_cast<std::size_t>(a)] < f.size[static_cast<std::size_t>(b)]) std::swap(a, b);
        const auto A = static_cast<std::size_t>(a), B = static_cast<std::size_t>(b);
        f.parent[B] = a;
        f.add[B] -= f.add[A];
        f.size[A] += f.size[B];
      });
    }
  }
  for (Index p = 0; p < m; ++p)
    if (f.parent[static_cast<std::size_t>(p)] == p) flush(p, -1);
  for (Index p = 0; p < m; ++p) {
    const auto P = static_cast<std::size_t>(p);
    if (f.parent[P] < 0) continue;
    const Index r = f.find(p);
    score(p) = r == p ? f.add[P] : f.add[P] + f.add[static_cast<std::size_t>(r)];
  }
  return score;
}

Eigen::VectorXd tfce(const ClusterGrid& grid, const Eigen::VectorXd& x, const TfceOptions& o) {
  if (!(o.E >= 0) || !std::isfinite(o.E)) throw ValueError(fmt::format("tfce: E must be a finite number >= 0, got {}", o.E));
  if (!(o.H >= 0) || !std::isfinite(o.H)) throw ValueError(fmt::format("tfce: H must be a finite number >= 0, got {}", o.H));
  if (!std::isfinite(o.dh)) throw ValueError(fmt::format("tfce: dh must be a finite number, got {}", o.dh));
  if (x.size() != grid.tests()) throw ValueError(fmt::format("tfce: the map has {} values for {} tests", x.size(), grid.tests()));
  double top = -std::numeric_limits<double>::infinity();
  for (Index p = 0; p < x.size(); ++p)
    if (!std::isnan(x(p))) top = std::max(top, o.two_sided ? std::fabs(x(p)) : x(p));
  if (std::isinf(top) && top > 0) throw ValueError("tfce: the map holds an infinite value");
  const std::vector<double> levels = tfce_levels(top, o.dh);
  const double step = o.dh > 0 ? o.dh : top / 100.0;
  std::vector<double> weights(levels.size());
  for (std::size_t k = 0; k < levels.size(); ++k) weights[k] = std::pow(levels[k], o.H) * step;
  return tfce_sum(grid, x, levels, weights, o.E, o.two_sided);
}

}  // namespace nl::stats

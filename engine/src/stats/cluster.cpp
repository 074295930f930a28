// stats/cluster.cpp: connected components of suprathreshold tests on a grid.
#include "nl/stats/cluster.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "nl/core/core.hpp"

namespace nl::stats {

ClusterGrid::ClusterGrid(std::array<Index, 3> dims, std::vector<Index> voxel, int connectivity)
    : dims_(dims), voxel_(std::move(voxel)), connectivity_(connectivity) {
  for (const Index d : dims_)
    if (d < 1) throw ValueError(fmt::format("cluster grid: dimensions must be positive, got {}", d));
  if (connectivity != 6 && connectivity != 18 && connectivity != 26)
    throw ValueError(fmt::format("connectivity must be 6, 18 or 26, got {}", connectivity));
  const Index total = dims_[0] * dims_[1] * dims_[2];
  index_.assign(static_cast<std::size_t>(total), -1);
  for (std::size_t i = 0; i < voxel_.size(); ++i) {
    const Index v = voxel_[i];
    if (v < 0 || v >= total) throw ValueError(fmt::format("cluster grid: test {} lies outside the grid", i + 1));
    if (index_[static_cast<std::size_t>(v)] >= 0)
      throw ValueError(fmt::format("cluster grid: tests {} and {} share a voxel", index_[static_cast<std::size_t>(v)] + 1, i + 1));
    index_[static_cast<std::size_t>(v)] = static_cast<int>(i);
  }
  // Offsets with 1 (faces), 2 (edges) or 3 (corners) non-zero components.
  const int most = connectivity == 6 ? 1 : connectivity == 18 ? 2 : 3;
  for (int dz = -1; dz <= 1; ++dz)
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx) {
        const int nonzero = (dx != 0) + (dy != 0) + (dz != 0);
        if (nonzero > 0 && nonzero <= most) offsets_.push_back({dx, dy, dz});
      }
}

ClusterGrid ClusterGrid::graph(Index tests, const std::vector<std::array<Index, 2>>& links) {
  if (tests < 1) throw ValueError(fmt::format("graph: at least one node is needed, got {}", tests));
  ClusterGrid g;
  g.kind_ = Kind::Graph;
  g.dims_ = {tests, 1, 1};
  g.voxel_.resize(static_cast<std::size_t>(tests));
  std::iota(g.voxel_.begin(), g.voxel_.end(), Index{0});
  std::vector<std::vector<Index>> lists(static_cast<std::size_t>(tests));
  for (std::size_t l = 0; l < links.size(); ++l) {
    const auto [a, b] = links[l];
    if (a < 0 || b < 0 || a >= tests || b >= tests)
      throw ValueError(fmt::format("graph: link {} joins nodes {} and {}, outside 1..{}", l + 1, a + 1, b + 1, tests));
    if (a == b) continue;
    lists[static_cast<std::size_t>(a)].push_back(b);
    lists[static_cast<std::size_t>(b)].push_back(a);
  }
  g.start_.assign(1, 0);
  for (auto& v : lists) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    g.adj_.insert(g.adj_.end(), v.begin(), v.end());
    g.start_.push_back(static_cast<Index>(g.adj_.size()));
  }
  return g;
}

ClusterGrid ClusterGrid::edges(Index nodes, const std::vector<std::array<Index, 2>>& ends) {
  if (nodes < 2) throw ValueError(fmt::format("edges: a graph needs at least 2 nodes, got {}", nodes));
  if (ends.empty()) throw ValueError("edges: no edges given");
  ClusterGrid g;
  g.kind_ = Kind::Edges;
  const auto m = static_cast<Index>(ends.size());
  g.dims_ = {m, 1, 1};
  g.voxel_.resize(ends.size());
  std::iota(g.voxel_.begin(), g.voxel_.end(), Index{0});
  std::vector<std::vector<Index>> at(static_cast<std::size_t>(nodes));
  std::vector<std::array<Index, 2>> seen;
  for (Index i = 0; i < m; ++i) {
    auto [a, b] = ends[static_cast<std::size_t>(i)];
    if (a < 0 || b < 0 || a >= nodes || b >= nodes)
      throw ValueError(fmt::format("edges: edge {} joins nodes {} and {}, outside 1..{}", i + 1, a + 1, b + 1, nodes));
    if (a == b) throw ValueError(fmt::format("edges: edge {} joins node {} to itself", i + 1, a + 1));
    at[static_cast<std::size_t>(a)].push_back(i);
    at[static_cast<std::size_t>(b)].push_back(i);
    seen.push_back({std::min(a, b), std::max(a, b)});
  }
  std::vector<std::array<Index, 2>> sorted = seen;
  std::sort(sorted.begin(), sorted.end());
  const auto dup = std::adjacent_find(sorted.begin(), sorted.end());
  if (dup != sorted.end())
    throw ValueError(fmt::format("edges: the edge between nodes {} and {} is given twice", (*dup)[0] + 1, (*dup)[1] + 1));
  g.ends_ = ends;
  g.start_.assign(1, 0);
  for (const auto& v : at) {
    g.adj_.insert(g.adj_.end(), v.begin(), v.end());
    g.start_.push_back(static_cast<Index>(g.adj_.size()));
  }
  return g;
}

void ClusterGrid::sizes(const char* supra, std::vector<Index>& out, std::vector<char>& seen,
                        std::vector<Index>& stack) const {
  std::vector<double> none;
  sizes(supra, nullptr, out, none, seen, stack);
}

void ClusterGrid::sizes(const char* supra, const double* value, std::vector<Index>& out, std::vector<double>& masses,
                        std::vector<char>& seen, std::vector<Index>& stack) const {
  const Index m = tests();
  std::vector<Index> touched;
  for (Index i = 0; i < m; ++i) {
    if (!supra[i] || seen[static_cast<std::size_t>(i)]) continue;
    // Depth-first flood fill from i.
    Index size = 0;
    double mass = 0;
    stack.clear();
    stack.push_back(i);
    seen[static_cast<std::size_t>(i)] = 1;
    touched.push_back(i);
    while (!stack.empty()) {
      const Index u = stack.back();
      stack.pop_back();
      ++size;
      if (value) mass += value[u];
      neighbours(u, [&](Index w) {
        if (supra[w] && !seen[static_cast<std::size_t>(w)]) {
          seen[static_cast<std::size_t>(w)] = 1;
          touched.push_back(w);
          stack.push_back(w);
        }
      });
    }
    out.push_back(size);
    if (value) masses.push_back(mass);
  }
  for (const Index t : touched) seen[static_cast<std::size_t>(t)] = 0;
}

void ClusterGrid::label(const std::vector<char>& supra, std::vector<int>& labels, std::vector<Index>& sizes) const {
  const Index m = tests();
  if (static_cast<Index>(supra.size()) != m)
    throw ValueError(fmt::format("cluster map has {} entries for {} tests", supra.size(), m));
  std::vector<int> raw(static_cast<std::size_t>(m), 0);
  std::vector<Index> raw_size, stack;
  for (Index i = 0; i < m; ++i) {
    if (!supra[static_cast<std::size_t>(i)] || raw[static_cast<std::size_t>(i)]) continue;
    const int id = static_cast<int>(raw_size.size()) + 1;
    Index size = 0;
    stack.assign(1, i);
    raw[static_cast<std::size_t>(i)] = id;
    while (!stack.empty()) {
      const Index u = stack.back();
      stack.pop_back();
      ++size;
      neighbours(u, [&](Index w) {
        if (supra[static_cast<std::size_t>(w)] && !raw[static_cast<std::size_t>(w)]) {
          raw[static_cast<std::size_t>(w)] = id;
          stack.push_back(w);
        }
      });
    }
    raw_size.push_back(size);
  }
  // Renumber by decreasing size (clusters were found in order of their lowest test).
  std::vector<int> order(raw_size.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return raw_size[static_cast<std::size_t>(a)] > raw_size[static_cast<std::size_t>(b)];
  });
  std::vector<int> rank(order.size());
  sizes.clear();
  for (std::size_t k = 0; k < order.size(); ++k) {
    rank[static_cast<std::size_t>(order[k])] = static_cast<int>(k) + 1;
    sizes.push_back(raw_size[static_cast<std::size_t>(order[k])]);
  }
  labels.assign(static_cast<std::size_t>(m), 0);
  for (Index i = 0; i < m; ++i)
    if (raw[static_cast<std::size_t>(i)]) labels[static_cast<std::size_t>(i)] = rank[static_cast<std::size_t>(raw[static_cast<std::size_t>(i)] - 1)];
}

ClusterMap find_clusters(const ClusterGrid& grid, const Eigen::VectorXd& T, double threshold) {
  const Index m = T.size();
  if (m != grid.tests())
    throw ValueError(fmt::format("cluster grid has {} voxels but the statistic map has {}", grid.tests(), m));
  std::vector<char> supra(static_cast<std::size_t>(m), 0);
  for (Index j = 0; j < m; ++j) supra[static_cast<std::size_t>(j)] = T(j) >= threshold;  // false for NaN
  ClusterMap out;
  grid.label(supra, out.label, out.size);
  out.peak.assign(out.size.size(), -1);
  out.mass.assign(out.size.size(), 0.0);
  for (Index j = 0; j < m; ++j) {
    const int c = out.label[static_cast<std::size_t>(j)];
    if (c == 0) continue;
    out.mass[static_cast<std::size_t>(c - 1)] += T(j);
    Index& peak = out.peak[static_cast<std::size_t>(c - 1)];
    if (peak < 0 || T(j) > T(peak)) peak = j;
  }
  return out;
}

}  // namespace nl::stats

// nl/stats/cluster.hpp: connected clusters of suprathreshold tests on a voxel grid, for
// cluster-level inference on statistic maps (see permutation.hpp for the permutation
// p-values).
//
// The tests are voxels of a 3-D grid (x fastest, as NIfTI storage and Volume:values):
// test i sits at linear position voxel[i]. Two suprathreshold tests belong to the same
// cluster when a chain of suprathreshold tests joins them, each step to one of the
// voxel's 6 face neighbours, 18 face-or-edge neighbours or 26 neighbours (faces, edges
// and corners; the default, as FSL's cluster and SPM's spm_bwlabel with 26). Voxels that
// are not tests (outside the mask) never join clusters.
//
// The tests may also be the nodes of a graph (ClusterGrid::graph: two tests are
// neighbours when a link joins them) or the edges of a graph on `nodes` nodes
// (ClusterGrid::edges: two edges are neighbours when they share a node, as the
// network-based statistic and edge-level TFCE of connectomes join them).
#pragma once

#include <Eigen/Dense>
#include <array>
#include <vector>

namespace nl::stats {

using Index = Eigen::Index;

class ClusterGrid {
 public:
  // ValueError: a dimension below 1, a position outside the grid or repeated,
  // connectivity other than 6, 18, 26.
  ClusterGrid(std::array<Index, 3> dims, std::vector<Index> voxel, int connectivity = 26);

  // Tests 0..tests-1 are nodes; each link (a, b) makes a and b neighbours (a link of a
  // test to itself is ignored, repeated links count once). ValueError: a link outside
  // 0..tests-1, tests < 1.
  static ClusterGrid graph(Index tests, const std::vector<std::array<Index, 2>>& links);
  // Test i is the edge ends[i] = (a, b) of a graph on `nodes` nodes (0-based, a != b);
  // edges sharing a node are neighbours. ValueError: a node outside 0..nodes-1, a loop,
  // an edge given twice.
  static ClusterGrid edges(Index nodes, const std::vector<std::array<Index, 2>>& ends);

  enum class Kind { Grid, Graph, Edges };
  Kind kind() const noexcept { return kind_; }

  Index tests() const noexcept { return static_cast<Index>(voxel_.size()); }
  const std::array<Index, 3>& dims() const noexcept { return dims_; }
  const std::vector<Index>& voxel() const noexcept { return voxel_; }
  // 6, 18 or 26 on a grid; 0 on a graph.
  int connectivity() const noexcept { return connectivity_; }

  // Labels of the tests where supra[i] != 0: clusters numbered 1, 2, ... by
  // decreasing size (equal sizes: the cluster holding the lower test index first), 0
  // for the other tests; sizes[c - 1] is the size of cluster c.
  void label(const std::vector<char>& supra, std::vector<int>& labels, std::vector<Index>& sizes) const;

  // The sizes of all clusters of supra (tests() entries), in no particular order,
  // appended to out. `seen` (tests() zeros, left zeroed) and `stack` are scratch space
  // owned by the caller, so that threads can label maps at the same time.
  void sizes(const char* supra, std::vector<Index>& out, std::vector<char>& seen, std::vector<Index>& stack) const;
  // The same with each cluster's mass, the sum of value[i] over its tests, appended to
  // masses (in the order of out).
  void sizes(const char* supra, const double* value, std::vector<Index>& out, std::vector<double>& masses,
             std::vector<char>& seen, std::vector<Index>& stack) const;

  // Calls f(j) for every test j adjacent to test i (on Edges, a test may come twice:
  // callers skip tests already seen).
  template <class F>
  void neighbours(Index i, F&& f) const;

 private:
  ClusterGrid() = default;

  Kind kind_ = Kind::Grid;
  std::array<Index, 3> dims_{1, 1, 1};
  std::vector<Index> voxel_;
  std::vector<int> index_;  // grid position -> test, -1 outside
  std::vector<std::array<int, 3>> offsets_;
  int connectivity_ = 0;
  // Graph: the neighbours of test i are adj_[start_[i] .. start_[i + 1]).
  // Edges: the tests at node a are adj_[start_[a] .. start_[a + 1]); ends_ per test.
  std::vector<Index> start_, adj_;
  std::vector<std::array<Index, 2>> ends_;
};

template <class F>
inline void ClusterGrid::neighbours(Index i, F&& f) const {
  if (kind_ == Kind::Graph) {
    for (Index k = start_[static_cast<std::size_t>(i)]; k < start_[static_cast<std::size_t>(i) + 1]; ++k)
      f(adj_[static_cast<std::size_t>(k)]);
    return;
  }
  if (kind_ == Kind::Edges) {
    for (const Index node : ends_[static_cast<std::size_t>(i)])
      for (Index k = start_[static_cast<std::size_t>(node)]; k < start_[static_cast<std::size_t>(node) + 1]; ++k)
        if (adj_[static_cast<std::size_t>(k)] != i) f(adj_[static_cast<std::size_t>(k)]);
    return;
  }
  const Index v = voxel_[static_cast<std::size_t>(i)];
  const Index x = v % dims_[0], y = (v / dims_[0]) % dims_[1], z = v / (dims_[0] * dims_[1]);
  for (const auto& o : offsets_) {
    const Index a = x + o[0], b = y + o[1], c = z + o[2];
    if (a < 0 || b < 0 || c < 0 || a >= dims_[0] || b >= dims_[1] || c >= dims_[2]) continue;
    const int j = index_[static_cast<std::size_t>((c * dims_[1] + b) * dims_[0] + a)];
    if (j >= 0) f(static_cast<Index>(j));
  }
}

// The clusters of the tests with T >= threshold (NaN never counts), numbered as
// ClusterGrid::label, with each cluster's peak (the test with the largest T; the
// lowest index among equals) and mass (the sum of T over the cluster, the cluster-mass
// statistic of Bullmore et al. 1999, randomise -C / PALM -Cstat mass).
struct ClusterMap {
  std::vector<int> label;    // per test, 0 for none
  std::vector<Index> size;   // per cluster
  std::vector<Index> peak;   // per cluster
  std::vector<double> mass;  // per cluster: the sum of T over its tests
};
ClusterMap find_clusters(const ClusterGrid& grid, const Eigen::VectorXd& T, double threshold);

}  // namespace nl::stats

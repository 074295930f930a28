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

  Index tests() const noexcept { return static_cast<Index>(voxel_.size()); }
  const std::array<Index, 3>& dims() const noexcept { return dims_; }
  const std::vector<Index>& voxel() const noexcept { return voxel_; }
  int connectivity() const noexcept { return connectivity_; }

  // Labels of the tests where supra[i] != 0: clusters numbered 1, 2, ... by
  // decreasing size (equal sizes: the cluster holding the lower test index first), 0
  // for the other tests; sizes[c - 1] is the size of cluster c.
  void label(const std::vector<char>& supra, std::vector<int>& labels, std::vector<Index>& sizes) const;

  // The sizes of all clusters of supra (tests() entries), in no particular order,
  // appended to out. `seen` (tests() zeros, left zeroed) and `stack` are scratch space
  // owned by the caller, so that threads can label maps at the same time.
  void sizes(const char* supra, std::vector<Index>& out, std::vector<char>& seen, std::vector<Index>& stack) const;

 private:
  // Calls f(j) for every test j adjacent to test i.
  template <class F>
  void neighbours(Index i, F&& f) const;

  std::array<Index, 3> dims_;
  std::vector<Index> voxel_;
  std::vector<int> index_;  // grid position -> test, -1 outside
  std::vector<std::array<int, 3>> offsets_;
  int connectivity_;
};

// The clusters of the tests with T >= threshold (NaN never counts), numbered as
// ClusterGrid::label, with each cluster's peak (the test with the largest T; the
// lowest index among equals).
struct ClusterMap {
  std::vector<int> label;   // per test, 0 for none
  std::vector<Index> size;  // per cluster
  std::vector<Index> peak;  // per cluster
};
ClusterMap find_clusters(const ClusterGrid& grid, const Eigen::VectorXd& T, double threshold);

}  // namespace nl::stats

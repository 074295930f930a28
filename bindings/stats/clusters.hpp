// bindings/stats/clusters.hpp: the cluster fields of a GLM result, shared by nl.stats.glm
// (bindings/stats/glm.cpp) and VoxelStore:glm (bindings/image/store.cpp).
#pragma once

#include <vector>

#include "core/common.hpp"
#include "nl/image/image.hpp"
#include "nl/stats/cluster.hpp"
#include "nl/stats/permutation.hpp"

namespace nl::bind {

// Sets, in the table on top of the stack: clusters (a Table, one row per cluster by
// decreasing size), cluster_map and stat_map (Volumes on the mask's grid; voxel[j] is
// the storage index of test j) and, when permuted, max_cluster. Inside protect().
void push_cluster_results(lua_State* L, const nl::Volume& mask, const std::vector<Eigen::Index>& voxel,
                          const nl::stats::ClusterMap& c, const Vector& stat, const Vector& p,
                          const nl::stats::PermutationResult& perm, bool permuted);

}  // namespace nl::bind

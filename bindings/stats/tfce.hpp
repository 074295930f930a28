// bindings/stats/tfce.hpp: the TFCE option of nl.stats.glm and nl.stats.tfce (what the
// tests are: a mask's voxels, a connectome's edges or a graph's nodes; E, H, dh).
#pragma once

#include <memory>
#include <vector>

#include "core/common.hpp"
#include "nl/stats/cluster.hpp"
#include "nl/stats/tfce.hpp"

namespace nl::bind {

struct TfceArg {
  enum Geometry { None, Mask, Edges, Graph } geometry = None;
  int object = 0;           // stack index of the mask Volume or the adjacency Matrix
  lua_Integer nodes = 0;    // Edges: the connectome's node count
  int connectivity = 26;    // Mask only
  nl::stats::TfceOptions options;
};

// Reads the sub-table at stack index t, the value of option `name` of the options at
// oi (errors say "bad argument #oi (option 'tfce': ...)"); standalone: t is the
// options table of nl.stats.tfce itself (which also takes `tail`), and a table without
// mask, nodes or adjacency uses the Volume at default_mask (0: none). `columns` is
// the number of tests the data have (-1: not known yet). Leaves the mask or adjacency
// on the stack. Raises: call before any C++ object with a destructor is alive.
TfceArg check_tfce(lua_State* L, int oi, int t, const char* name, lua_Integer columns, bool standalone = false,
                   int default_mask = 0);

// Inside protect(): the grid of the tests; for a mask, *voxel receives the positions
// of its non-zero voxels (storage order). Throws nl::ValueError.
std::unique_ptr<nl::stats::ClusterGrid> tfce_grid(lua_State* L, const TfceArg& a, std::vector<Eigen::Index>* voxel);

// "E 0.5, H 2, dh auto, 26-connectivity" (or "..., connectome edges" / "graph nodes").
std::string tfce_description(const TfceArg& a);

void open_stats_tfce(lua_State* L);

}  // namespace nl::bind

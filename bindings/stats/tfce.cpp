// bindings/stats/tfce.cpp: nl.stats.tfce (threshold-free cluster enhancement of a
// statistic map) and the `tfce` option reader that nl.stats.glm shares.
//
//   local z = nl.stats.tfce(tmap)                          -- a Volume: its non-zero voxels
//   local e = nl.stats.tfce(edge_t, { nodes = 90 })        -- a connectome's edges
//   local r = nl.stats.glm(Y, d, { permutations = 5000, tfce = { mask = brain } })
#include "stats/tfce.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/args.hpp"
#include "core/fields.hpp"
#include "nl/image/image.hpp"
#include "stats/args.hpp"

namespace nl::bind {

namespace st = nl::stats;

// Raises "bad argument #oi (option 'tfce': <message>)", or without the prefix when
// standalone. The message is a Lua string on top of the stack: no C++ object with a
// destructor may be alive when Lua raises.
[[noreturn]] static void tfce_fail(lua_State* L, int oi, const char* name, bool standalone) {
  if (!standalone) {
    lua_pushfstring(L, "option '%s': %s", name, lua_tostring(L, -1));
    lua_remove(L, -2);
  }
  luaL_argerror(L, oi, lua_tostring(L, -1));
  std::abort();  // not reached
}

TfceArg check_tfce(lua_State* L, int oi, int t, const char* name, lua_Integer columns, bool standalone,
                   int default_mask) {
  TfceArg a;
  auto fail = [&](const char* msg) {
    lua_pushstring(L, msg);
    tfce_fail(L, oi, name, standalone);
  };
  if (!lua_istable(L, t)) fail("must be a table {mask = Volume | nodes = N | adjacency = Matrix, E, H, dh}");
  at_argument(L, oi, t, [&] {
    if (standalone) check_options(L, oi, name, {"mask", "nodes", "adjacency", "E", "H", "dh", "connectivity", "tail"});
    else check_options(L, oi, "option 'tfce'", {"mask", "nodes", "adjacency", "E", "H", "dh", "connectivity"});
    return 0;
  });
  const bool has_mask = lua_getfield(L, t, "mask") != LUA_TNIL;
  const bool has_nodes = lua_getfield(L, t, "nodes") != LUA_TNIL;
  const bool has_adj = lua_getfield(L, t, "adjacency") != LUA_TNIL;
  if (has_mask + has_nodes + has_adj > 1)
    fail("give one of 'mask' (voxels), 'nodes' (a connectome's edges) and 'adjacency' (a graph's nodes)");
  if (!has_mask && !has_nodes && !has_adj && default_mask) {
    lua_pop(L, 3);
    lua_pushvalue(L, default_mask);
    lua_pushnil(L);
    lua_pushnil(L);
  }
  if (has_mask || (!has_nodes && !has_adj && default_mask)) {
    lua_pop(L, 2);  // adjacency, nodes; the mask stays
    const nl::Volume* mask = test<nl::Volume>(L, -1);
    if (!mask) fail("'mask' must be a neurolua.Volume (the voxels of the data's columns)");
    if (mask->frames() != 1) fail("the mask must have one frame");
    lua_Integer voxels = 0;
    for (std::size_t i = 0; i < mask->voxels(); ++i) voxels += mask->data()[i] != 0;
    if (columns >= 0 && voxels != columns) {
      lua_pushfstring(L, "the mask has %I voxels but the data have %I columns", voxels, columns);
      tfce_fail(L, oi, name, standalone);
    }
    a.geometry = TfceArg::Mask;
    a.object = lua_gettop(L);
  } else if (has_nodes) {
    lua_pop(L, 1);
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 2 || lua_tointeger(L, -1) > 100000)
      fail("'nodes' must be an integer from 2 to 100000 (the connectome's node count)");
    a.nodes = lua_tointeger(L, -1);
    lua_pop(L, 2);
    const lua_Integer edges = a.nodes * (a.nodes - 1) / 2;
    if (columns >= 0 && edges != columns) {
      lua_pushfstring(L, "%I nodes have %I edges (the upper triangle, as nl.fc writes it) but the data have %I columns",
                      a.nodes, edges, columns);
      tfce_fail(L, oi, name, standalone);
    }
    a.geometry = TfceArg::Edges;
  } else if (has_adj) {
    const Matrix* A = test<Matrix>(L, -1);
    if (!A) fail("'adjacency' must be a square neurolua.Matrix (non-zero entries link two nodes)");
    if (A->rows() != A->cols()) {
      lua_pushfstring(L, "'adjacency' must be square, got %I x %I", static_cast<lua_Integer>(A->rows()),
                      static_cast<lua_Integer>(A->cols()));
      tfce_fail(L, oi, name, standalone);
    }
    if (columns >= 0 && A->rows() != columns) {
      lua_pushfstring(L, "'adjacency' has %I nodes but the data have %I columns", static_cast<lua_Integer>(A->rows()),
                      columns);
      tfce_fail(L, oi, name, standalone);
    }
    for (Eigen::Index j = 0; j < A->cols(); ++j)
      for (Eigen::Index i = 0; i < A->rows(); ++i)
        if (std::isnan((*A)(i, j))) {
          lua_pushfstring(L, "'adjacency' is NaN at row %I, column %I", static_cast<lua_Integer>(i + 1),
                          static_cast<lua_Integer>(j + 1));
          tfce_fail(L, oi, name, standalone);
        }
    a.geometry = TfceArg::Graph;
    lua_remove(L, -2);
    lua_remove(L, -2);
    a.object = lua_gettop(L);
  } else {
    fail("say what the tests are: 'mask' (a Volume), 'nodes' (a connectome's edges) or 'adjacency' (a graph's nodes)");
  }
  // Defaults: E 0.5 on images, 1 on graphs; H 2.
  const bool image = a.geometry == TfceArg::Mask;
  a.options.E = at_argument(L, oi, t, [&] { return opt_number(L, oi, "E", 0, 10, image ? 0.5 : 1.0); });
  a.options.H = at_argument(L, oi, t, [&] { return opt_number(L, oi, "H", 0, 10, 2.0); });
  if (lua_getfield(L, t, "dh") != LUA_TNIL) {
    const bool auto_dh = lua_type(L, -1) == LUA_TSTRING && std::strcmp(lua_tostring(L, -1), "auto") == 0;
    if (!auto_dh) {
      const double dh = lua_tonumber(L, -1);
      if (lua_type(L, -1) != LUA_TNUMBER || !(dh > 0) || !std::isfinite(dh))
        fail("'dh' must be \"auto\" (the map's maximum / 100) or a positive step");
      a.options.dh = dh;
    }
  }
  lua_pop(L, 1);
  if (lua_getfield(L, t, "connectivity") != LUA_TNIL) {
    const lua_Integer k = lua_tointeger(L, -1);
    if (!image) fail("'connectivity' applies to a mask (6, 18 or 26); a graph's links are its connectivity");
    if (!lua_isinteger(L, -1) || (k != 6 && k != 18 && k != 26)) fail("'connectivity' must be 6, 18 or 26");
    a.connectivity = static_cast<int>(k);
  }
  lua_pop(L, 1);
  return a;
}

std::unique_ptr<st::ClusterGrid> tfce_grid(lua_State* L, const TfceArg& a, std::vector<Eigen::Index>* voxel) {
  if (a.geometry == TfceArg::Mask) {
    const nl::Volume* mask = test<nl::Volume>(L, a.object);
    std::vector<Eigen::Index> v;
    for (std::size_t i = 0; i < mask->voxels(); ++i)
      if (mask->data()[i] != 0) v.push_back(static_cast<Eigen::Index>(i));
    if (voxel) *voxel = v;
    return std::make_unique<st::ClusterGrid>(std::array<Eigen::Index, 3>{mask->nx(), mask->ny(), mask->nz()},
                                             std::move(v), a.connectivity);
  }
  if (a.geometry == TfceArg::Edges) {
    std::vector<std::array<Eigen::Index, 2>> ends;
    for (Eigen::Index i = 0; i < a.nodes; ++i)
      for (Eigen::Index j = i + 1; j < a.nodes; ++j) ends.push_back({i, j});
    return std::make_unique<st::ClusterGrid>(st::ClusterGrid::edges(a.nodes, ends));
  }
  const Matrix* A = test<Matrix>(L, a.object);
  std::vector<std::array<Eigen::Index, 2>> links;
  for (Eigen::Index j = 0; j < A->cols(); ++j)
    for (Eigen::Index i = 0; i < A->rows(); ++i)
      if (i != j && (*A)(i, j) != 0) links.push_back({std::min(i, j), std::max(i, j)});
  return std::make_unique<st::ClusterGrid>(st::ClusterGrid::graph(A->rows(), links));
}

std::string tfce_description(const TfceArg& a) {
  const std::string dh = a.options.dh > 0 ? fmt::format("{:g}", a.options.dh) : "auto";
  const std::string where = a.geometry == TfceArg::Mask ? fmt::format("{}-connectivity", a.connectivity)
                            : a.geometry == TfceArg::Edges ? fmt::format("edges of {} nodes", a.nodes)
                                                           : "graph nodes";
  return fmt::format("E {:g}, H {:g}, dh {}, {}", a.options.E, a.options.H, dh, where);
}

namespace {

// nl.stats.tfce(x [, options])
int tfce(lua_State* L) {
  lua_settop(L, 2);
  const nl::Volume* vol = test<nl::Volume>(L, 1);
  MatArg xa;
  if (vol) {
    if (vol->frames() != 1) luaL_argerror(L, 1, "the statistic map must have one frame");
  } else {
    xa = validate_matrix_arg(L, 1, "statistic map");
    if (xa.rows != 1 && xa.cols != 1)
      luaL_argerror(L, 1, lua_pushfstring(L, "the statistic map must be a vector, got %I x %I", xa.rows, xa.cols));
  }
  if (lua_isnil(L, 2)) {
    lua_newtable(L);
    lua_replace(L, 2);
  }
  luaL_checktype(L, 2, LUA_TTABLE);
  const st::Tail tail = opt_tail(L, 2);
  TfceArg a = check_tfce(L, 2, 2, "tfce", vol ? -1 : xa.rows * xa.cols, true, vol ? 1 : 0);
  if (vol && a.geometry != TfceArg::Mask)
    luaL_argerror(L, 2, "a Volume's tests are voxels: give 'mask', not 'nodes' or 'adjacency'");
  if (vol) {
    const auto& g = test<nl::Volume>(L, a.object)->grid().dims;
    if (g[0] != vol->grid().dims[0] || g[1] != vol->grid().dims[1] || g[2] != vol->grid().dims[2])
      luaL_argerror(L, 2, "option 'mask': the mask's grid differs from the statistic map's");
  }
  a.options.two_sided = tail == st::Tail::Two;
  auto* slot = vol ? new_object<nl::Volume>(L) : nullptr;
  return protect(L, [&] {
    std::vector<Eigen::Index> voxel;
    const auto grid = tfce_grid(L, a, &voxel);
    Vector x(grid->tests());
    if (vol) {
      for (std::size_t j = 0; j < voxel.size(); ++j) x(static_cast<Eigen::Index>(j)) = vol->data()[voxel[j]];
    } else {
      const Matrix m = read_matrix_arg(L, xa);
      x = Eigen::Map<const Vector>(m.data(), m.size());
    }
    if (tail == st::Tail::Left) x = -x;
    const Vector score = st::tfce(*grid, x, a.options);
    if (!vol) {
      push_matrix(L, Matrix(score.transpose()));
      return 1;
    }
    auto v = std::make_shared<nl::Volume>(vol->grid());
    for (std::size_t j = 0; j < voxel.size(); ++j)
      v->data()[voxel[j]] = static_cast<float>(score(static_cast<Eigen::Index>(j)));
    *slot = std::move(v);
    return 1;
  });
}

const luaL_Reg functions[] = {
    {"tfce", tfce},
    {nullptr, nullptr},
};

}  // namespace

void open_stats_tfce(lua_State* L) { set_bindings(L, functions); }

}  // namespace nl::bind

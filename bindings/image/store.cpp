// bindings/image/store.cpp: nl.store, the out-of-core voxel store (nl/io/voxel_store.hpp)
// and the voxelwise GLM computed on it block by block (nl/stats/store_glm.hpp).
//
//   local s = nl.store.build("gm.h5", t.gm_path, "mask.nii.gz", { progress = true })
//   local r = s:glm(X, { 0, 1, 0 }, { permutations = 5000, seed = 1 })
//   r.p_fwe_map:save("p_fwe.nii.gz")
//
// A VoxelStore is a userdata holding the open file (shared_ptr, closed by __gc or
// __close); its data fields are read through __index. A StoreGLMResult is a record (a
// plain table with a printing metatable, bindings/core/fields.hpp).
#include <fmt/format.h>

#include <array>
#include <cmath>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/args.hpp"
#include "core/fields.hpp"
#include "core/types.hpp"
#include "stats/args.hpp"
#include "stats/clusters.hpp"
#include "stats/tfce.hpp"
#include "nl/stats/cluster.hpp"
#include "nl/stats/tfce.hpp"
#include "nl/io/voxel_store.hpp"
#include "nl/stats/store_glm.hpp"
#include "nl/table/table.hpp"

namespace nl::bind {

namespace {

using nl::Matrix;
using nl::Vector;
using nl::VoxelStore;
namespace st = nl::stats;

constexpr const char* kResult = "neurolua.StoreGLMResult";
constexpr const char* kDesign = "neurolua.Design";

// ---------------------------------------------------------------- arguments

// A list of file names (Lua strings) or a string Column at idx; returns the count.
lua_Integer check_paths(lua_State* L, int idx, const char* what) {
  if (const auto* c = test<const nl::Column>(L, idx)) {
    if (c->type() != nl::ColumnType::String)
      luaL_argerror(L, idx, lua_pushfstring(L, "%s: a Column of file names (strings) expected", what));
    if (c->missing_count() > 0) luaL_argerror(L, idx, lua_pushfstring(L, "%s: the Column has missing cells", what));
    return static_cast<lua_Integer>(c->size());
  }
  if (lua_type(L, idx) != LUA_TTABLE)
    luaL_argerror(L, idx, lua_pushfstring(L, "%s: a list of file names expected, got %s", what, luaL_typename(L, idx)));
  const lua_Integer n = static_cast<lua_Integer>(lua_rawlen(L, idx));
  if (n == 0) luaL_argerror(L, idx, lua_pushfstring(L, "%s: the list is empty", what));
  for (lua_Integer k = 1; k <= n; ++k) {
    if (lua_rawgeti(L, idx, k) != LUA_TSTRING)
      luaL_argerror(L, idx, lua_pushfstring(L, "%s: entry %I is a %s, not a file name", what, k, luaL_typename(L, -1)));
    lua_pop(L, 1);
  }
  return n;
}

// Inside protect(): the names check_paths accepted (raw reads only).
std::vector<std::string> read_paths(lua_State* L, int idx, lua_Integer n) {
  std::vector<std::string> out(static_cast<std::size_t>(n));
  if (const auto* c = test<const nl::Column>(L, idx)) {
    for (std::size_t k = 0; k < out.size(); ++k) out[k] = c->string(k);
    return out;
  }
  for (std::size_t k = 0; k < out.size(); ++k) {
    lua_rawgeti(L, idx, static_cast<lua_Integer>(k + 1));
    std::size_t len = 0;
    const char* s = lua_tolstring(L, -1, &len);
    out[k].assign(s, len);
    lua_pop(L, 1);
  }
  return out;
}

// A 1-based voxel or subject number at idx in [1, n] (default def), returned 0-based.
Index check_position(lua_State* L, int idx, Index n, lua_Integer def, const char* what) {
  const lua_Integer v = luaL_optinteger(L, idx, def);
  if (v < 1 || v > n) luaL_argerror(L, idx, lua_pushfstring(L, "%s %I out of range [1, %I]", what, v, static_cast<lua_Integer>(n)));
  return static_cast<Index>(v - 1);
}

// ---------------------------------------------------------------- module functions

// nl.store.build(path, maps, mask [, options]) -> VoxelStore
int build(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  const lua_Integer n = check_paths(L, 2, "maps");
  const nl::Volume* mask = test<nl::Volume>(L, 3);
  if (!mask && lua_type(L, 3) != LUA_TSTRING) {
    check_not_freed<nl::Volume>(L, 3);
    luaL_argerror(L, 3, lua_pushfstring(L, "mask: a Volume or a file name expected, got %s", luaL_typename(L, 3)));
  }
  const char* mask_path = mask ? nullptr : lua_tostring(L, 3);
  check_options(L, 4, "build", {"chunk", "subjects", "compress", "checksums", "progress"});
  const auto chunk = opt_integer(L, 4, "chunk", 1, lua_Integer{1} << 20, 4096);
  const auto subjects = opt_integer(L, 4, "subjects", 1, 65536, 0);
  const auto compress = opt_integer(L, 4, "compress", 0, 9, 0);
  const bool checksums = opt_boolean(L, 4, "checksums", true);
  const bool progress = opt_boolean(L, 4, "progress", true);
  auto* slot = new_object<VoxelStore>(L);
  return protect(L, [&] {
    const std::vector<std::string> maps = read_paths(L, 2, n);
    nl::VoxelStoreOptions o;
    o.chunk_voxels = chunk;
    o.chunk_subjects = subjects;
    o.compression = static_cast<int>(compress);
    o.checksums = checksums;
    if (progress) o.progress = progress_reporter("store build", " maps", n);
    try {
      if (mask) nl::build_voxel_store(path, maps, *mask, o);
      else nl::build_voxel_store(path, maps, mask_path, o);
    } catch (const nl::ValueError& e) {
      const std::string_view msg = e.what();
      if (msg.rfind("path:", 0) == 0) throw ArgError(1, std::string(msg));
      if (msg.rfind("maps:", 0) == 0) throw ArgError(2, std::string(msg));
      if (msg.rfind("mask:", 0) == 0) throw ArgError(3, std::string(msg));
      throw ArgError(4, std::string(msg));
    }
    o.progress = nullptr;  // ends the progress line before the store is opened
    *slot = std::make_shared<VoxelStore>(path);
    return 1;
  });
}

// nl.store.build_series(path, series, mask [, options]) -> VoxelStore of frames
int build_series(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  if (lua_type(L, 2) != LUA_TSTRING)
    luaL_argerror(L, 2, lua_pushfstring(L, "series: a 4-D NIfTI file name expected, got %s", luaL_typename(L, 2)));
  const char* series = lua_tostring(L, 2);
  const nl::Volume* mask = test<nl::Volume>(L, 3);
  if (!mask && lua_type(L, 3) != LUA_TSTRING) {
    check_not_freed<nl::Volume>(L, 3);
    luaL_argerror(L, 3, lua_pushfstring(L, "mask: a Volume or a file name expected, got %s", luaL_typename(L, 3)));
  }
  const char* mask_path = mask ? nullptr : lua_tostring(L, 3);
  check_options(L, 4, "build_series", {"chunk", "frames", "compress", "checksums", "progress"});
  const auto chunk = opt_integer(L, 4, "chunk", 1, lua_Integer{1} << 20, 4096);
  const auto frames = opt_integer(L, 4, "frames", 1, 65536, 0);
  const auto compress = opt_integer(L, 4, "compress", 0, 9, 0);
  const bool checksums = opt_boolean(L, 4, "checksums", true);
  const bool progress = opt_boolean(L, 4, "progress", true);
  auto* slot = new_object<VoxelStore>(L);
  return protect(L, [&] {
    nl::VoxelStoreOptions o;
    o.chunk_voxels = chunk;
    o.chunk_subjects = frames;
    o.compression = static_cast<int>(compress);
    o.checksums = checksums;
    if (progress) o.progress = progress_reporter("store build", " frames");
    try {
      if (mask) nl::build_series_store(path, series, *mask, o);
      else nl::build_series_store(path, series, mask_path, o);
    } catch (const nl::ValueError& e) {
      const std::string_view msg = e.what();
      if (msg.rfind("path:", 0) == 0) throw ArgError(1, std::string(msg));
      if (msg.rfind("series:", 0) == 0) throw ArgError(2, std::string(msg));
      if (msg.rfind("mask:", 0) == 0) throw ArgError(3, std::string(msg));
      throw ArgError(4, std::string(msg));
    }
    o.progress = nullptr;  // ends the progress line before the store is opened
    *slot = std::make_shared<VoxelStore>(path);
    return 1;
  });
}

// nl.store.open(path) -> VoxelStore
int open(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  return push_new<VoxelStore>(L, [&] { return VoxelStore(path); });
}

// ---------------------------------------------------------------- the GLM

bool is_design_at(lua_State* L, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx)) return false;
  luaL_getmetatable(L, kDesign);
  const bool same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same;
}

void set_vector(lua_State* L, const char* key, const Vector& v) {
  push_matrix(L, Matrix(v));
  lua_setfield(L, -2, key);
}

// A Volume on the store's grid holding values[q] at mask voxel q, 0 elsewhere.
void set_map(lua_State* L, const char* key, const VoxelStore& s, const Vector& values) {
  auto* slot = new_object<nl::Volume>(L);
  auto v = std::make_shared<nl::Volume>(s.grid());
  const auto& index = s.mask_indices();
  for (std::size_t q = 0; q < index.size(); ++q) v->data()[index[q]] = static_cast<float>(values(static_cast<Index>(q)));
  *slot = std::move(v);
  lua_setfield(L, -2, key);
}

const char* scheme_name(st::Exchange s) {
  return s == st::Exchange::SignFlip ? "signflip" : s == st::Exchange::Both ? "both" : "permute";
}

// Whether the options at oi have a non-nil `key` (raw get: the options are a plain table).
bool has_option(lua_State* L, int oi, const char* key) {
  if (lua_isnoneornil(L, oi)) return false;
  const bool present = lua_getfield(L, oi, key) != LUA_TNIL;
  lua_pop(L, 1);
  return present;
}

// Option `cluster = {p = p | threshold = T, connectivity = 26, statistic = "extent"}` of
// store:glm: the store's mask is the grid. Raises; call before any C++ object with a
// destructor is alive.
struct StoreClusterArg {
  bool on = false;
  double threshold = NAN, p = NAN;
  int connectivity = 26;
  bool mass = false;
};

StoreClusterArg check_store_cluster(lua_State* L, int oi) {
  StoreClusterArg c;
  if (!has_option(L, oi, "cluster")) return c;
  lua_getfield(L, oi, "cluster");
  const int t = lua_gettop(L);
  if (!lua_istable(L, t))
    luaL_argerror(L, oi, "option 'cluster' must be a table {p = ... | threshold = ..., connectivity, statistic}");
  if (lua_getfield(L, t, "mask") != LUA_TNIL)
    luaL_argerror(L, oi, "option 'cluster': the store's mask is the grid; leave out 'mask'");
  lua_pop(L, 1);
  at_argument(L, oi, t, [&] {
    check_options(L, oi, "option 'cluster'", {"p", "threshold", "connectivity", "statistic"});
    return 0;
  });
  const bool has_p = lua_getfield(L, t, "p") != LUA_TNIL, has_t = lua_getfield(L, t, "threshold") != LUA_TNIL;
  if (has_p == has_t) luaL_argerror(L, oi, "option 'cluster' needs exactly one of 'p' (cluster-forming p) and 'threshold'");
  if (has_p) {
    c.p = lua_tonumber(L, -2);
    if (lua_type(L, -2) != LUA_TNUMBER || !(c.p > 0 && c.p < 1))
      luaL_argerror(L, oi, "option 'cluster': 'p' must be a number in (0, 1)");
  } else {
    c.threshold = lua_tonumber(L, -1);
    if (lua_type(L, -1) != LUA_TNUMBER || !std::isfinite(c.threshold))
      luaL_argerror(L, oi, "option 'cluster': 'threshold' must be a finite number");
  }
  lua_pop(L, 2);
  if (lua_getfield(L, t, "connectivity") != LUA_TNIL) {
    const lua_Integer k = lua_tointeger(L, -1);
    if (!lua_isinteger(L, -1) || (k != 6 && k != 18 && k != 26))
      luaL_argerror(L, oi, "option 'cluster': 'connectivity' must be 6, 18 or 26");
    c.connectivity = static_cast<int>(k);
  }
  lua_pop(L, 1);
  c.mass = at_argument(L, oi, t, [&] { return opt_choice(L, oi, "statistic", {"extent", "mass"}, 0); }) == 1;
  c.on = true;
  lua_pop(L, 1);  // the cluster table
  return c;
}

// store:glm(X, contrast [, options]) | store:glm(design [, options]), and
// nl.store.glm(store, ...) (the same function: the store is argument 1).
int glm(lua_State* L) {
  const VoxelStore& s = check<VoxelStore>(L, 1);
  if (s.rows() == nl::StoreRows::Frames)
    luaL_argerror(L, 1, lua_pushfstring(L, "the store '%s' holds the %I frames of one series, not one map per subject; "
                                           "the GLM runs on a store of subjects' maps (nl.store.build), and a series' "
                                           "frames are read by nl.fc.seed_map",
                                        s.path().c_str(), static_cast<lua_Integer>(s.subjects())));
  const bool is_design = is_design_at(L, 2);
  int xi = 2, ci = 3, oi = 4;
  if (is_design) {
    oi = 3;
    lua_settop(L, 3);
    lua_getfield(L, 2, "X");         // 4
    lua_getfield(L, 2, "contrast");  // 5
    if (!test<Matrix>(L, 4) || !test<Matrix>(L, 5)) luaL_argerror(L, 2, "design: fields X and contrast must be Matrices");
    xi = 4;
    ci = 5;
  } else {
    lua_settop(L, 4);
  }
  const MatArg x = validate_matrix_arg(L, xi, "design");
  if (x.rows != s.subjects())
    luaL_argerror(L, is_design ? 2 : xi,
                  lua_pushfstring(L, "design has %I rows but the store has %I subjects", x.rows,
                                  static_cast<lua_Integer>(s.subjects())));
  if (lua_isnoneornil(L, ci)) luaL_argerror(L, ci, "contrast expected (a list for t, a list of rows for F)");
  const MatArg c = validate_matrix_arg(L, ci, "contrast");
  if (c.kind == MatKind::Table || c.kind == MatKind::Column)
    luaL_argerror(L, ci, "contrast must be a list, a list of rows or a Matrix");
  const bool is_t = c.kind == MatKind::Flat || (c.kind == MatKind::Matrix && (c.rows == 1 || (c.cols == 1 && c.rows == x.cols)));
  check_options(L, oi, "glm", {"permutations", "seed", "scheme", "blocks", "block_mode", "tail", "progress", "block",
                                  "tfce", "cluster", "memory", "checkpoint", "checkpoint_every"});
  int scheme = 0;
  if (is_design) {
    lua_getfield(L, 2, "scheme");
    const char* sc = lua_tostring(L, -1);
    scheme = sc && std::string_view(sc) == "signflip" ? 1 : sc && std::string_view(sc) == "both" ? 2 : 0;
    lua_pop(L, 1);
  }
  scheme = opt_choice(L, oi, "scheme", {"permute", "signflip", "both"}, scheme);
  const auto permutations = static_cast<int>(opt_integer(L, oi, "permutations", 0, 100000000, 0));
  const int block_mode = opt_choice(L, oi, "block_mode", {"within", "whole", "both"}, 0);
  const lua_Integer seed_given = opt_integer(L, oi, "seed", 0, LUA_MAXINTEGER, -1);
  const st::Tail tail = opt_tail(L, oi);
  const bool progress = opt_boolean(L, oi, "progress", true);
  const auto block = opt_integer(L, oi, "block", 0, lua_Integer{1} << 40, 0);
  const lua_Integer memory = opt_integer(L, oi, "memory", 1, LUA_MAXINTEGER, st::kStoreMapMemory);
  const CheckpointArgs checkpoint = opt_checkpoint(L, oi);
  if (checkpoint.path && permutations == 0)
    luaL_argerror(L, oi, "option 'checkpoint' saves a permutation test: it needs 'permutations'");
  if (!is_t && !lua_isnoneornil(L, oi)) {
    lua_getfield(L, oi, "tail");
    if (!lua_isnil(L, -1)) luaL_argerror(L, oi, "option 'tail' applies to t contrasts only (F is upper-tailed)");
    lua_pop(L, 1);
  }
  lua_pushnil(L);
  const int bi = lua_gettop(L);
  if (!lua_isnoneornil(L, oi)) {
    lua_getfield(L, oi, "blocks");
    lua_replace(L, bi);
  }
  if (lua_isnil(L, bi) && is_design) {
    lua_getfield(L, 2, "blocks");
    lua_replace(L, bi);
  }
  CatArg blocks;
  if (!lua_isnil(L, bi)) {
    blocks = validate_categories(L, bi, "blocks");
    if (blocks.n != s.subjects())
      luaL_argerror(L, oi, lua_pushfstring(L, "blocks has %I entries but the store has %I subjects", blocks.n,
                                           static_cast<lua_Integer>(s.subjects())));
  }
  const std::uint64_t seed =
      seed_given >= 0 ? static_cast<std::uint64_t>(seed_given) : (session_rng().next() >> 1);
  const int design_pos = is_design ? 2 : xi, contrast_pos = is_design ? 2 : ci;
  // Clusters and TFCE: on the store's mask (pushed here, for the grids and the maps).
  const StoreClusterArg cl = check_store_cluster(L, oi);
  TfceArg tf;
  int mask_pos = 0;
  if (cl.on || has_option(L, oi, "tfce")) {
    push_new<nl::Volume>(L, [&] { return s.mask(); });
    mask_pos = lua_gettop(L);
  }
  if (has_option(L, oi, "tfce")) {
    lua_getfield(L, oi, "tfce");
    const int t = lua_gettop(L);
    if (lua_isboolean(L, t) && lua_toboolean(L, t)) {
      lua_newtable(L);
      lua_replace(L, t);
    } else if (lua_istable(L, t)) {
      for (const char* key : {"mask", "nodes", "adjacency"})
        if (lua_getfield(L, t, key) != LUA_TNIL)
          luaL_argerror(L, oi, lua_pushfstring(L, "option 'tfce': the store's mask is the grid; leave out '%s'", key));
        else
          lua_pop(L, 1);
    } else if (!(lua_isboolean(L, t) && !lua_toboolean(L, t))) {
      luaL_argerror(L, oi, "option 'tfce' must be true or a table {E, H, dh, connectivity} (on the store's mask)");
    }
    if (lua_istable(L, t)) tf = check_tfce(L, oi, t, "tfce", static_cast<lua_Integer>(s.voxels()), false, mask_pos);
  }
  const bool whole_maps = permutations > 0 && (cl.on || tf.geometry != TfceArg::None);

  lua_createtable(L, 0, 40);
  return protect(L, [&] {
    Matrix X;
    try {
      X = read_matrix_arg(L, x);
    } catch (const nl::ValueError& e) {
      throw ArgError(design_pos, fmt::format("design: {}", e.what()));
    }
    Matrix C = read_matrix_arg(L, c);
    if (c.kind == MatKind::Flat || (c.kind == MatKind::Matrix && is_t && C.cols() == 1 && C.rows() > 1))
      C.transposeInPlace();
    st::PermutationOptions po;
    po.permutations = std::max(permutations, 1);
    po.seed = seed;
    po.scheme = scheme == 1 ? st::Exchange::SignFlip : scheme == 2 ? st::Exchange::Both : st::Exchange::Permute;
    po.tail = tail;
    po.block_mode = block_mode == 1 ? st::BlockMode::Whole : block_mode == 2 ? st::BlockMode::Both : st::BlockMode::Within;
    if (blocks.n > 0) {
      std::vector<std::string> levels;
      read_categories(L, blocks, false, po.blocks, levels);
    }
    if (progress && permutations > 0)
      po.progress = progress_reporter(whole_maps ? "permutations" : "permutations x blocks", "");
    if (checkpoint.path) po.checkpoint = {checkpoint.path, checkpoint.every};
    const nl::Volume* mask = mask_pos ? test<nl::Volume>(L, mask_pos) : nullptr;
    const std::vector<Eigen::Index>& voxel = s.mask_indices();
    std::unique_ptr<st::ClusterGrid> grid, tgrid;
    std::vector<Eigen::Index> tvoxel;
    double cthr = cl.threshold;
    if (cl.on) {
      const auto& d = s.grid().dims;
      grid = std::make_unique<st::ClusterGrid>(std::array<Eigen::Index, 3>{d[0], d[1], d[2]}, voxel, cl.connectivity);
      if (!std::isnan(cl.p)) {
        const double df = st::glm_fit(X, Matrix::Zero(X.rows(), 1)).df;
        cthr = !is_t ? st::f_quantile(1 - cl.p, static_cast<double>(C.rows()), df)
                     : st::t_quantile(1 - (tail == st::Tail::Two ? cl.p / 2 : cl.p), df);
      }
    }
    if (tf.geometry != TfceArg::None) tgrid = tfce_grid(L, tf, &tvoxel);
    if (whole_maps) {
      po.clusters = grid.get();
      po.cluster_threshold = cthr;
      po.cluster_stat = cl.mass ? st::ClusterStat::Mass : st::ClusterStat::Extent;
      po.tfce = tgrid.get();
      if (tgrid) po.tfce_options = tf.options;
    }
    st::StoreGlmResult r;
    try {
      r = st::freedman_lane(s, X, C, po, block, memory);
    } catch (const nl::ValueError& e) {
      const std::string_view msg = e.what();
      if (msg.rfind("design", 0) == 0) throw ArgError(design_pos, std::string(msg));
      if (msg.rfind("contrast", 0) == 0 || msg.rfind("F contrast", 0) == 0) throw ArgError(contrast_pos, std::string(msg));
      throw ArgError(oi, std::string(msg));
    }
    po.progress = nullptr;
    const char* kind = is_t ? "t" : "F";
    set_string(L, "test", kind);
    set_integer(L, "n", r.n);
    set_integer(L, "voxels", s.voxels());
    set_integer(L, "rank", r.rank);
    set_number(L, "df", r.df);
    if (!is_t) set_integer(L, "df1", C.rows());
    if (is_t) set_string(L, "tail", tail_name(tail));
    push_matrix(L, C);
    lua_setfield(L, -2, "contrast");
    set_vector(L, "stat", r.stat);
    set_vector(L, "p", r.p);
    set_map(L, "stat_map", s, r.stat);
    set_map(L, "p_map", s, r.p);
    set_integer(L, "blocks_read", r.blocks);
    set_integer(L, "block_voxels", r.block_voxels);
    if (permutations > 0) {
      set_integer(L, "permutations", r.perm.permutations);
      lua_pushboolean(L, r.perm.exhaustive);
      lua_setfield(L, -2, "exhaustive");
      set_integer(L, "seed", static_cast<lua_Integer>(seed));
      set_string(L, "scheme", scheme_name(po.scheme));
      set_vector(L, "p_perm", r.perm.p_unc);
      set_vector(L, "p_fwe", r.perm.p_fwe);
      set_vector(L, "max_stat", r.perm.max_stat);
      set_vector(L, "p_fwe_gamma", r.perm.p_fwe_gamma);
      set_map(L, "p_fwe_map", s, r.perm.p_fwe);
      set_integer(L, "passes", r.passes);
    }
    // TFCE and clusters as nl.stats.glm sets them: from the permutation run, or from the
    // parametric statistic without permutations.
    auto tested = [&](const Vector& raw) -> Vector {
      if (!is_t) return raw;
      return tail == st::Tail::Two ? Vector(raw.cwiseAbs()) : tail == st::Tail::Left ? Vector(-raw) : raw;
    };
    if (tgrid) {
      Vector tfce_obs;
      if (permutations > 0) {
        tfce_obs = r.perm.tfce;
      } else {
        st::TfceOptions o = tf.options;
        o.two_sided = is_t && tail == st::Tail::Two;
        tfce_obs = st::tfce(*tgrid, !is_t ? r.stat : tail == st::Tail::Left ? Vector(-r.stat) : r.stat, o);
        for (Eigen::Index j = 0; j < tfce_obs.size(); ++j)
          if (std::isnan(r.stat(j))) tfce_obs(j) = NAN;
      }
      set_vector(L, "tfce", tfce_obs);
      set_map(L, "tfce_map", s, tfce_obs);
      if (permutations > 0) {
        set_vector(L, "p_tfce", r.perm.tfce_p_unc);
        set_vector(L, "p_tfce_fwe", r.perm.tfce_p_fwe);
        set_vector(L, "max_tfce", r.perm.max_tfce);
        set_map(L, "p_tfce_fwe_map", s, r.perm.tfce_p_fwe);
      }
      const std::string settings = tfce_description(tf);
      set_string(L, "tfce_settings", settings.c_str());
    }
    if (grid) {
      st::ClusterMap observed;
      if (permutations > 0) {
        observed.label = r.perm.cluster_label;
        observed.size = r.perm.cluster_size;
        observed.peak = r.perm.cluster_peak;
        observed.mass = r.perm.cluster_mass;
      } else {
        observed = st::find_clusters(*grid, tested(r.stat), cthr);
      }
      push_cluster_results(L, *mask, voxel, observed, r.stat, r.p, r.perm, permutations > 0);
      set_number(L, "cluster_threshold", cthr);
      if (!std::isnan(cl.p)) set_number(L, "cluster_p", cl.p);
      set_integer(L, "connectivity", cl.connectivity);
      set_string(L, "cluster_statistic", cl.mass ? "mass" : "extent");
    }
    luaL_setmetatable(L, kResult);
    return 1;
  });
}

// ---------------------------------------------------------------- printing

double number_field(lua_State* L, const char* key) {
  raw_field(L, 1, key);
  const double v = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : std::nan("");
  lua_pop(L, 1);
  return v;
}

int result_tostring(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  // Raw reads only (a raising __index must not meet a live std::string).
  raw_field(L, 1, "test");          // 2
  raw_field(L, 1, "stat");          // 3
  raw_field(L, 1, "p");             // 4
  raw_field(L, 1, "p_fwe");         // 5
  raw_field(L, 1, "scheme");        // 6
  raw_field(L, 1, "contrast");      // 7
  raw_field(L, 1, "p_tfce_fwe");    // 8
  raw_field(L, 1, "clusters");      // 9
  raw_field(L, 1, "tfce");          // 10
  const char* kind = lua_isstring(L, 2) ? lua_tostring(L, 2) : "?";
  const Matrix* S = test<Matrix>(L, 3);
  const Matrix* P = test<Matrix>(L, 4);
  const Matrix* F = test<Matrix>(L, 5);
  const char* scheme = lua_isstring(L, 6) ? lua_tostring(L, 6) : "";
  const Matrix* C = test<Matrix>(L, 7);
  const Matrix* TF = test<Matrix>(L, 8);
  const nl::Table* CL = test<nl::Table>(L, 9);
  const bool has_tfce = test<Matrix>(L, 10) != nullptr;
  const double n = number_field(L, "n"), V = number_field(L, "voxels"), df = number_field(L, "df"),
               df1 = number_field(L, "df1"), perms = number_field(L, "permutations"), seed = number_field(L, "seed"),
               blocks = number_field(L, "blocks_read"), block = number_field(L, "block_voxels");
  return protect(L, [&] {
    std::string ctext = "?";
    if (C) {
      ctext.clear();
      for (Index i = 0; i < C->rows(); ++i) {
        ctext += i ? "; " : "[";
        for (Index j = 0; j < C->cols(); ++j) {
          if (j) ctext += ' ';
          ctext += nl::format_number((*C)(i, j));
        }
      }
      ctext += "]";
    }
    Index unc = 0, fwe = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (Index j = 0; S && j < S->size(); ++j) {
      const double v = S->data()[j];
      if (std::isnan(v)) continue;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      unc += P && j < P->size() && P->data()[j] < 0.05;
      fwe += F && j < F->size() && F->data()[j] < 0.05;
    }
    std::string out = fmt::format(
        "GLM {} contrast {} on a voxel store: {} subjects, {} voxels, df {}{} ({} blocks of {} voxels)\n", kind, ctext,
        n, V, std::isnan(df1) ? "" : nl::format_number(df1) + ", ", nl::format_number(df), blocks, block);
    if (S && S->size() > 0)
      out += fmt::format("  {} from {} to {}; parametric p < 0.05: {} voxels\n", kind, short_number(lo), short_number(hi),
                         unc);
    if (!std::isnan(perms))
      out += fmt::format("  Freedman-Lane, {} {} ({}, seed {}): voxelwise FWE p < 0.05: {} voxels\n", perms,
                         std::string_view(scheme) == "signflip" ? "sign flips" : "permutations", scheme, seed, fwe);
    if (TF) {
      Index tfwe = 0;
      for (Index j = 0; j < TF->size(); ++j) tfwe += TF->data()[j] < 0.05;
      out += fmt::format("  TFCE: FWE p < 0.05: {} voxels\n", tfwe);
    }
    if (CL) {
      const nl::ColumnPtr* found = CL->find("p_fwe");
      const nl::Column* pf = found ? found->get() : nullptr;
      Index cfwe = 0;
      for (std::size_t q = 0; pf && q < CL->nrows(); ++q) cfwe += !pf->is_missing(q) && pf->number(q) < 0.05;
      out += fmt::format("  clusters: {}{}\n", CL->nrows(),
                         std::isnan(perms) ? std::string() : fmt::format("; cluster FWE p < 0.05: {}", cfwe));
    }
    out += "  fields: stat, p, stat_map, p_map";
    out += std::isnan(perms) ? "" : ", p_perm, p_fwe, max_stat, p_fwe_gamma, p_fwe_map, passes";
    if (has_tfce) out += std::isnan(perms) ? ", tfce, tfce_map" : ", tfce, tfce_map, p_tfce, p_tfce_fwe, max_tfce, p_tfce_fwe_map";
    if (CL) out += std::isnan(perms) ? ", clusters, cluster_map" : ", clusters, cluster_map, max_cluster";
    lua_pushlstring(L, out.data(), out.size());
    return 1;
  });
}

// ---------------------------------------------------------------- VoxelStore

const char* const kFields[] = {"n",       "voxels",      "path",         "dims",   "chunk_subjects", "chunk_voxels",
                               "compression", "format_version", "created", "mask_source", "stored_bytes", "rows",
                               nullptr};

int s_index(lua_State* L) {
  const VoxelStore& s = check<VoxelStore>(L, 1);
  if (push_method(L, 2)) return 1;
  const int k = field_index(L, 2, kFields);
  switch (k) {
    case 0: lua_pushinteger(L, static_cast<lua_Integer>(s.subjects())); return 1;
    case 1: lua_pushinteger(L, static_cast<lua_Integer>(s.voxels())); return 1;
    case 2: lua_pushlstring(L, s.path().data(), s.path().size()); return 1;
    case 3:
      lua_createtable(L, 3, 0);
      for (int a = 0; a < 3; ++a) {
        lua_pushinteger(L, static_cast<lua_Integer>(s.grid().dims[static_cast<std::size_t>(a)]));
        lua_rawseti(L, -2, a + 1);
      }
      return 1;
    case 4: lua_pushinteger(L, static_cast<lua_Integer>(s.chunk_subjects())); return 1;
    case 5: lua_pushinteger(L, static_cast<lua_Integer>(s.chunk_voxels())); return 1;
    case 6: lua_pushinteger(L, s.compression()); return 1;
    case 7: lua_pushinteger(L, s.format_version()); return 1;
    case 8: lua_pushlstring(L, s.created().data(), s.created().size()); return 1;
    case 9: lua_pushlstring(L, s.mask_source().data(), s.mask_source().size()); return 1;
    case 10: return protect(L, [&] { return lua_pushinteger(L, static_cast<lua_Integer>(s.stored_bytes())), 1; });
    case 11: lua_pushstring(L, s.rows() == nl::StoreRows::Frames ? "frames" : "subjects"); return 1;
    default: break;
  }
  return no_field(L, 1, 2);
}

int s_fields(lua_State* L) { return push_names(L, kFields); }

int s_tostring(lua_State* L) {
  const VoxelStore& s = check<VoxelStore>(L, 1);
  return protect(L, [&] {
    const std::string text = nl::format_voxel_store(s);
    lua_pushlstring(L, text.data(), text.size());
    return 1;
  });
}

// store:read([first [, last [, {subjects = {first, last}}]]]) -> Matrix subjects x voxels
int s_read(lua_State* L) {
  const VoxelStore& s = check<VoxelStore>(L, 1);
  const Index v0 = check_position(L, 2, s.voxels(), 1, "voxel");
  const Index v1 = check_position(L, 3, s.voxels(), static_cast<lua_Integer>(s.voxels()), "voxel") + 1;
  if (v1 <= v0) luaL_argerror(L, 3, "last voxel before the first");
  check_options(L, 4, "read", {"subjects"});
  Index r0 = 0, r1 = s.subjects();
  if (!lua_isnoneornil(L, 4) && lua_getfield(L, 4, "subjects") != LUA_TNIL) {
    const int t = lua_gettop(L);
    const bool ok = lua_type(L, t) == LUA_TTABLE && lua_rawlen(L, t) == 2 && lua_rawgeti(L, t, 1) == LUA_TNUMBER &&
                    lua_rawgeti(L, t, 2) == LUA_TNUMBER && lua_isinteger(L, -1) && lua_isinteger(L, -2);
    const lua_Integer a = ok ? lua_tointeger(L, -2) : 0, b = ok ? lua_tointeger(L, -1) : 0;
    if (!ok || a < 1 || b > s.subjects() || a > b)
      luaL_argerror(L, 4, lua_pushfstring(L, "option 'subjects' must be {first, last} within [1, %I]",
                                          static_cast<lua_Integer>(s.subjects())));
    r0 = static_cast<Index>(a - 1);
    r1 = static_cast<Index>(b);
  }
  return push_new<Matrix>(L, [&] { return s.read(r0, r1, v0, v1); });
}

// store:map(i) -> Volume
int s_map(lua_State* L) {
  const VoxelStore& s = check<VoxelStore>(L, 1);
  const Index i = check_position(L, 2, s.subjects(), 0, "subject");
  return push_new<nl::Volume>(L, [&] { return s.map(i); });
}

// store:mask() -> Volume
int s_mask(lua_State* L) {
  const VoxelStore& s = check<VoxelStore>(L, 1);
  return push_new<nl::Volume>(L, [&] { return s.mask(); });
}

// store:affine() -> Matrix 4 x 4
int s_affine(lua_State* L) {
  const VoxelStore& s = check<VoxelStore>(L, 1);
  return push_new<Matrix>(L, [&] { return Matrix(s.grid().affine); });
}

// store:sources() -> Table (path, sha256, bytes, mtime)
int s_sources(lua_State* L) {
  const VoxelStore& s = check<VoxelStore>(L, 1);
  return push_new<nl::Table>(L, [&] {
    std::vector<std::string> path, sha;
    std::vector<double> bytes, mtime;
    for (const auto& src : s.sources()) {
      path.push_back(src.path);
      sha.push_back(src.sha256);
      bytes.push_back(static_cast<double>(src.bytes));
      mtime.push_back(static_cast<double>(src.mtime_ns) / 1e9);
    }
    nl::Table t;
    t.set(std::make_shared<const nl::Column>(nl::Column::strings("path", path)));
    t.set(std::make_shared<const nl::Column>(nl::Column::strings("sha256", sha)));
    t.set(std::make_shared<const nl::Column>(nl::Column::numbers("bytes", bytes)));
    t.set(std::make_shared<const nl::Column>(nl::Column::numbers("mtime", mtime)));
    return t;
  });
}

const luaL_Reg functions[] = {
    {"build", build},
    {"build_series", build_series},
    {"open", open},
    {"glm", glm},
    {nullptr, nullptr},
};

const luaL_Reg methods[] = {
    {"read", s_read},     {"map", s_map},         {"mask", s_mask}, {"affine", s_affine},
    {"sources", s_sources}, {"glm", glm},         {nullptr, nullptr},
};

const luaL_Reg metamethods[] = {
    {"__index", s_index},
    {"__fields", s_fields},
    {"__tostring", s_tostring},
    {nullptr, nullptr},
};

}  // namespace

// Adds nl.store to the nl table on top of the stack.
void open_store(lua_State* L) {
  register_type<VoxelStore>(L, methods, metamethods);
  register_record(L, kResult,
                  {"test", "n", "voxels", "rank", "df", "df1", "tail", "contrast", "stat", "p", "stat_map", "p_map",
                   "blocks_read", "block_voxels", "permutations", "exhaustive", "seed", "scheme", "p_perm", "p_fwe",
                   "max_stat", "p_fwe_gamma", "p_fwe_map", "passes", "tfce", "tfce_map", "p_tfce", "p_tfce_fwe",
                   "max_tfce", "p_tfce_fwe_map", "tfce_settings", "clusters", "cluster_map", "max_cluster",
                   "cluster_threshold", "cluster_p", "connectivity", "cluster_statistic"},
                  result_tostring);
  lua_newtable(L);
  set_bindings(L, functions);
  lua_setfield(L, -2, "store");
}

}  // namespace nl::bind

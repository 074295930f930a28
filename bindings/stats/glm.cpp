// bindings/stats/glm.cpp: nl.stats.glm (the GLM for many responses, t/F contrasts, Freedman-Lane
// permutation inference) and the design helpers nl.stats.design_one_sample,
// design_two_sample and design_paired.
//
//   local d = nl.stats.design_two_sample(t.group, { covariates = t:select{"age", "sex"} })
//   local r = nl.stats.glm(edges, d, { permutations = 5000, seed = 1 })
//   print(r)            -- summary and the strongest tests
//   r.p_fwe             -- FWE-corrected p per test (a tests x 1 Matrix)
//
// Results are plain Lua tables with a metatable that prints them ("neurolua.GLMResult",
// "neurolua.Design": records, bindings/core/fields.hpp); their fields are Matrices,
// numbers, strings and a Table.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include "ml/args.hpp"
#include "core/fields.hpp"
#include "stats/args.hpp"
#include "stats/clusters.hpp"
#include "stats/tfce.hpp"
#include "nl/image/image.hpp"
#include "nl/stats/cluster.hpp"
#include "nl/stats/glm.hpp"
#include "nl/stats/multiple.hpp"
#include "nl/stats/permutation.hpp"
#include "nl/stats/variance_groups.hpp"
#include "nl/table/table.hpp"

namespace nl::bind {

namespace {

using nl::Matrix;
using nl::Vector;
namespace st = nl::stats;

constexpr const char* kDesign = "neurolua.Design";
constexpr const char* kResult = "neurolua.GLMResult";

const char* scheme_name(st::Exchange s) {
  switch (s) {
    case st::Exchange::SignFlip: return "signflip";
    case st::Exchange::Both: return "both";
    case st::Exchange::Permute: break;
  }
  return "permute";
}

// An engine ValueError whose message starts with one of the given argument names
// becomes an argument error at that position ("bad argument #1 to 'glm' (data: ...)").
[[noreturn]] void rethrow_at(const nl::ValueError& e, std::initializer_list<std::pair<const char*, int>> args) {
  const std::string_view msg = e.what();
  for (const auto& [name, pos] : args)
    if (pos > 0 && msg.substr(0, std::strlen(name)) == name) throw ArgError(pos, std::string(msg));
  throw;
}

// ---------------------------------------------------------------- covariates

// Option `covariates` of the options at idx: pushes the value (or nil) and returns its
// validated shape; the value stays on the stack for the reader.
MatArg push_covariates(lua_State* L, int idx, lua_Integer n) {
  MatArg a;
  a.idx = 0;
  if (lua_isnoneornil(L, idx)) {
    lua_pushnil(L);
    return a;
  }
  lua_getfield(L, idx, "covariates");
  if (lua_isnil(L, -1)) return a;
  a = validate_matrix_arg(L, lua_gettop(L), "covariates");
  if (a.rows != n)
    luaL_argerror(L, idx, lua_pushfstring(L, "covariates have %I rows but there are %I observations", a.rows, n));
  return a;
}

// Inside protect(): a Table column that is not numeric, or a missing cell, becomes an
// argument error at the options' position.
Matrix read_covariates(lua_State* L, const MatArg& a, std::vector<std::string>& names, int opts) {
  names.clear();
  if (a.idx == 0) return Matrix();
  Matrix C;
  try {
    C = read_matrix_arg(L, a, &names);
  } catch (const nl::ValueError& e) {
    throw ArgError(opts, fmt::format("covariates: {}", e.what()));
  }
  if (names.size() != static_cast<std::size_t>(C.cols())) {
    names.clear();
    for (Eigen::Index j = 0; j < C.cols(); ++j) names.push_back(fmt::format("cov{}", j + 1));
  }
  return C;
}

// Option `levels` = {first, second}: reorders the two sorted levels (codes 0/1) so
// that the contrast is first - second. Runs inside protect(); throws ArgError.
void apply_levels(lua_State* L, int opts, std::vector<int>& codes, std::vector<std::string>& levels) {
  if (lua_isnoneornil(L, opts)) return;
  if (raw_field(L, opts, "levels") == LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  std::string want[2];
  const bool ok = lua_type(L, -1) == LUA_TTABLE && lua_rawlen(L, -1) == 2;
  for (int k = 0; ok && k < 2; ++k) {
    lua_rawgeti(L, -1, k + 1);
    want[k] = category_text(L, -1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (!ok) throw ArgError(opts, "option 'levels' must be a list of the two levels, first minus second");
  for (int k = 0; k < 2; ++k)
    if (want[k] != levels[0] && want[k] != levels[1])
      throw ArgError(opts, fmt::format("option 'levels': '{}' is not a level (levels: '{}', '{}')", want[k],
                                       levels[0], levels[1]));
  if (want[0] == want[1]) throw ArgError(opts, "option 'levels' names the same level twice");
  if (want[0] == levels[1]) {
    std::swap(levels[0], levels[1]);
    for (auto& c : codes) c = 1 - c;
  }
}

// ---------------------------------------------------------------- designs

void push_design(lua_State* L, st::Design&& d) {
  lua_createtable(L, 0, 8);
  set_string(L, "description", d.description);
  set_string(L, "scheme", scheme_name(d.scheme));
  set_integer(L, "n", d.X.rows());
  push_strings(L, d.names);
  lua_setfield(L, -2, "names");
  if (!d.blocks.empty()) {
    lua_createtable(L, static_cast<int>(d.blocks.size()), 0);
    for (std::size_t i = 0; i < d.blocks.size(); ++i) {
      lua_pushinteger(L, d.blocks[i] + 1);
      lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
    }
    lua_setfield(L, -2, "blocks");
  }
  push_matrix(L, std::move(d.X));
  lua_setfield(L, -2, "X");
  push_matrix(L, std::move(d.contrast));
  lua_setfield(L, -2, "contrast");
  luaL_setmetatable(L, kDesign);
}

// nl.stats.design_one_sample(n [, {covariates = ...}]) -> Design
int design_one_sample(lua_State* L) {
  const lua_Integer n = check_range(L, 1, 2, 1000000000, "number of observations");
  check_options(L, 2, "design_one_sample", {"covariates"});
  lua_settop(L, 2);
  const MatArg cov = push_covariates(L, 2, n);
  return protect(L, [&] {
    std::vector<std::string> names;
    const Matrix C = read_covariates(L, cov, names, 2);
    try {
      push_design(L, st::one_sample_design(n, C.cols() ? C : Matrix(n, 0), names));
    } catch (const nl::ValueError& e) {
      rethrow_at(e, {{"covariates", 2}});
    }
    return 1;
  });
}

// nl.stats.design_two_sample(group [, {covariates = ..., levels = {a, b}}]) -> Design
int design_two_sample(lua_State* L) {
  const CatArg group = validate_categories(L, 1, "group");
  check_options(L, 2, "design_two_sample", {"covariates", "levels"});
  lua_settop(L, 2);
  const MatArg cov = push_covariates(L, 2, group.n);
  return protect(L, [&] {
    std::vector<int> codes;
    std::vector<std::string> levels;
    read_categories(L, group, true, codes, levels);
    if (levels.size() != 2)
      throw ArgError(1, fmt::format("group has {} distinct value(s); a two-sample design needs exactly 2",
                                    levels.size()));
    apply_levels(L, 2, codes, levels);
    std::vector<std::string> names;
    const Matrix C = read_covariates(L, cov, names, 2);
    try {
      push_design(L, st::two_sample_design(codes, levels[0], levels[1], C.cols() ? C : Matrix(group.n, 0), names));
    } catch (const nl::ValueError& e) {
      rethrow_at(e, {{"covariates", 2}, {"group", 1}});
    }
    return 1;
  });
}

// nl.stats.design_paired(subject, condition [, options]) or design_paired(n [, options])
// -> Design. The second form: rows 1..n are the first condition and rows n+1..2n the
// second, for subjects 1..n in the same order.
int design_paired(lua_State* L) {
  const bool stacked = lua_isinteger(L, 1);
  const int opts = stacked ? 2 : 3;
  CatArg subject, condition;
  lua_Integer n = 0;
  if (stacked) {
    n = 2 * check_range(L, 1, 2, 500000000, "number of subjects");
  } else {
    subject = validate_categories(L, 1, "subject");
    condition = validate_categories(L, 2, "condition");
    if (condition.n != subject.n)
      luaL_argerror(L, 2, lua_pushfstring(L, "%I conditions for %I subjects", condition.n, subject.n));
    n = subject.n;
  }
  check_options(L, opts, "design_paired", {"covariates", "levels"});
  lua_settop(L, opts);
  const MatArg cov = push_covariates(L, opts, n);
  return protect(L, [&] {
    std::vector<int> sub, cond;
    std::vector<std::string> subjects, levels;
    if (stacked) {
      for (lua_Integer i = 0; i < n; ++i) {
        sub.push_back(static_cast<int>(i % (n / 2)));
        cond.push_back(i < n / 2 ? 0 : 1);
      }
      for (lua_Integer s = 0; s < n / 2; ++s) subjects.push_back(std::to_string(s + 1));
      levels = {"1", "2"};
    } else {
      read_categories(L, subject, false, sub, subjects);
      read_categories(L, condition, true, cond, levels);
      if (levels.size() != 2)
        throw ArgError(2, fmt::format("condition has {} distinct value(s); a paired design needs exactly 2",
                                      levels.size()));
    }
    apply_levels(L, opts, cond, levels);
    std::vector<std::string> names;
    const Matrix C = read_covariates(L, cov, names, opts);
    try {
      push_design(L, st::paired_design(sub, cond, levels[0], levels[1], subjects, C.cols() ? C : Matrix(n, 0), names));
    } catch (const nl::ValueError& e) {
      rethrow_at(e, {{"covariates", opts}, {"subject", stacked ? 0 : 1}, {"condition", stacked ? 0 : 2}});
    }
    return 1;
  });
}

std::string contrast_text(const Matrix& C) {
  std::string s = "[";
  for (Eigen::Index i = 0; i < C.rows(); ++i) {
    if (i) s += "; ";
    for (Eigen::Index j = 0; j < C.cols(); ++j) s += fmt::format("{}{}", j ? " " : "", nl::format_number(C(i, j)));
  }
  s += "]";
  return s;
}

std::string string_field(lua_State* L, int idx, const char* key) {
  raw_field(L, idx, key);
  std::string v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
  lua_pop(L, 1);
  return v;
}

int design_tostring(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  const std::string description = string_field(L, 1, "description"), scheme = string_field(L, 1, "scheme");
  lua_getfield(L, 1, "X");         // 2
  lua_getfield(L, 1, "contrast");  // 3
  lua_getfield(L, 1, "names");     // 4
  const bool blocks = lua_getfield(L, 1, "blocks") == LUA_TTABLE;
  const Matrix* X = test<Matrix>(L, 2);
  const Matrix* C = test<Matrix>(L, 3);
  std::string names;
  if (lua_istable(L, 4)) {
    const auto k = static_cast<lua_Integer>(lua_rawlen(L, 4));
    for (lua_Integer i = 1; i <= k && i <= 8; ++i) {
      lua_rawgeti(L, 4, i);
      names += fmt::format("{}{}", i > 1 ? ", " : "", lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
      lua_pop(L, 1);
    }
    if (k > 8) names += fmt::format(", ... ({} more)", k - 8);
  }
  const char* how = scheme == "signflip" ? "sign flipping" : scheme == "both" ? "permutations and sign flips"
                                                                               : "permutations";
  const std::string text =
      fmt::format("Design {}: {} rows x {} columns ({})\n  contrast {}; inference by {}{}", description,
                  X ? X->rows() : 0, X ? X->cols() : 0, names, C ? contrast_text(*C) : "?", how,
                  blocks ? " within blocks" : "");
  lua_pushlstring(L, text.data(), text.size());
  return 1;
}

// ---------------------------------------------------------------- glm

bool is_design_at(lua_State* L, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx)) return false;
  luaL_getmetatable(L, kDesign);
  const bool same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same;
}

// Reads the contrast at idx for a design with p columns: flat list or 1-row Matrix
// (or p x 1 Matrix): t; nested list or Matrix with several rows: F.
struct ContrastArg {
  MatArg arg;
  bool is_t = true;
};

ContrastArg validate_contrast(lua_State* L, int idx, lua_Integer p) {
  ContrastArg c;
  if (lua_isnoneornil(L, idx)) luaL_argerror(L, idx, "contrast expected (a list for t, a list of rows for F)");
  c.arg = validate_matrix_arg(L, idx, "contrast");
  if (c.arg.kind == MatKind::Table || c.arg.kind == MatKind::Column)
    luaL_argerror(L, idx, "contrast must be a list, a list of rows or a Matrix");
  if (c.arg.kind == MatKind::Flat) {
    c.is_t = true;
  } else if (c.arg.kind == MatKind::Rows) {
    c.is_t = false;
  } else {
    c.is_t = c.arg.rows == 1 || (c.arg.cols == 1 && c.arg.rows == p);
  }
  return c;
}

Matrix read_contrast(lua_State* L, const ContrastArg& c) {
  Matrix C = read_matrix_arg(L, c.arg);
  if (c.arg.kind == MatKind::Flat || (c.arg.kind == MatKind::Matrix && c.is_t && C.cols() == 1 && C.rows() > 1))
    C.transposeInPlace();
  return C;
}

void push_vector_field(lua_State* L, const char* key, const Vector& v) {
  push_matrix(L, Matrix(v));
  lua_setfield(L, -2, key);
}

// Option `cluster = {mask = Volume, threshold = T | p = p, connectivity = 26}` of the
// options at oi: validated here; pushes the mask (kept on the stack) and fills c.
struct ClusterArg {
  int mask = 0;               // stack index of the mask Volume, 0 without clusters
  double threshold = NAN, p = NAN;
  int connectivity = 26;
  bool mass = false;  // statistic = "mass"
  lua_Integer voxels = 0;
};

ClusterArg check_cluster(lua_State* L, int oi, lua_Integer columns) {
  ClusterArg c;
  if (lua_isnoneornil(L, oi) || lua_getfield(L, oi, "cluster") == LUA_TNIL) {
    if (!lua_isnoneornil(L, oi)) lua_pop(L, 1);
    return c;
  }
  if (!lua_istable(L, -1)) luaL_argerror(L, oi, "option 'cluster' must be a table {mask = Volume, p = ... | threshold = ...}");
  const int t = lua_gettop(L);
  at_argument(L, oi, t, [&] {
    check_options(L, oi, "option 'cluster'", {"mask", "p", "threshold", "connectivity", "statistic"});
    return 0;
  });
  lua_getfield(L, t, "mask");
  const nl::Volume* mask = test<nl::Volume>(L, -1);
  if (!mask) luaL_argerror(L, oi, "option 'cluster': 'mask' must be a neurolua.Volume (the voxels of the data's columns)");
  if (mask->frames() != 1) luaL_argerror(L, oi, "option 'cluster': the mask must have one frame");
  for (std::size_t i = 0; i < mask->voxels(); ++i) c.voxels += mask->data()[i] != 0;
  if (c.voxels != columns)
    luaL_argerror(L, oi, lua_pushfstring(L, "option 'cluster': the mask has %I voxels but the data have %I columns",
                                         c.voxels, columns));
  c.mask = lua_gettop(L);
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
  return c;  // the options' cluster table and the mask stay on the stack
}

// A Volume on the mask's grid holding values[j] at the j-th mask voxel, 0 elsewhere.
void push_masked_volume(lua_State* L, const nl::Volume& mask, const std::vector<Eigen::Index>& voxel,
                        const Vector& values) {
  auto* slot = new_object<nl::Volume>(L);
  auto v = std::make_shared<nl::Volume>(mask.grid());
  for (std::size_t j = 0; j < voxel.size(); ++j)
    v->data()[voxel[j]] = static_cast<float>(values(static_cast<Eigen::Index>(j)));
  *slot = std::move(v);
}

}  // namespace

// r.clusters (a Table, one row per cluster by decreasing size), r.cluster_map and
// r.stat_map (Volumes on the mask's grid) and, with permutations, r.max_cluster.
void push_cluster_results(lua_State* L, const nl::Volume& mask, const std::vector<Eigen::Index>& voxel,
                          const st::ClusterMap& c, const Vector& stat, const Vector& p, const st::PermutationResult& perm,
                          bool permuted) {
  const std::size_t C = c.size.size();
  std::vector<double> id(C), size(C), mm3(C), mass(C), peak(C), peak_p(C), i(C), j(C), k(C), x(C), y(C), z(C), fwe(C),
      unc(C), fdr(C);
  const double vv = mask.grid().voxel_volume();
  for (std::size_t q = 0; q < C; ++q) {
    const Eigen::Index t = c.peak[q], v = voxel[static_cast<std::size_t>(t)];
    const Eigen::Index vi = v % mask.nx(), vj = (v / mask.nx()) % mask.ny(), vk = v / (mask.nx() * mask.ny());
    const Eigen::Vector3d w = mask.grid().to_world(Eigen::Vector3d(static_cast<double>(vi), static_cast<double>(vj),
                                                                   static_cast<double>(vk)));
    id[q] = static_cast<double>(q + 1);
    size[q] = static_cast<double>(c.size[q]);
    mm3[q] = size[q] * vv;
    mass[q] = q < c.mass.size() ? c.mass[q] : NAN;
    peak[q] = stat(t);
    peak_p[q] = p(t);
    i[q] = static_cast<double>(vi + 1), j[q] = static_cast<double>(vj + 1), k[q] = static_cast<double>(vk + 1);
    x[q] = w(0), y[q] = w(1), z[q] = w(2);
    fwe[q] = permuted ? perm.cluster_p_fwe(static_cast<Eigen::Index>(q)) : NAN;
    unc[q] = permuted ? perm.cluster_p_unc(static_cast<Eigen::Index>(q)) : NAN;
    fdr[q] = permuted ? perm.cluster_p_fdr(static_cast<Eigen::Index>(q)) : NAN;
  }
  nl::Table table;
  const std::pair<const char*, std::vector<double>*> cols[] = {
      {"cluster", &id}, {"size", &size}, {"volume_mm3", &mm3}, {"mass", &mass}, {"peak", &peak}, {"peak_p", &peak_p}, {"i", &i},
      {"j", &j}, {"k", &k}, {"x", &x}, {"y", &y}, {"z", &z}, {"p_fwe", &fwe}, {"p_unc", &unc}, {"p_fdr", &fdr}};
  for (const auto& [name, v] : cols) table.set(std::make_shared<const nl::Column>(nl::Column::numbers(name, *v)));
  auto* slot = new_object<nl::Table>(L);
  *slot = std::make_shared<nl::Table>(std::move(table));
  lua_setfield(L, -2, "clusters");
  Vector labels(static_cast<Eigen::Index>(c.label.size()));
  for (std::size_t q = 0; q < c.label.size(); ++q) labels(static_cast<Eigen::Index>(q)) = c.label[q];
  push_masked_volume(L, mask, voxel, labels);
  lua_setfield(L, -2, "cluster_map");
  push_masked_volume(L, mask, voxel, stat);
  lua_setfield(L, -2, "stat_map");
  if (permuted) {
    push_vector_field(L, "max_cluster", perm.max_cluster);
  }
}

namespace {

// nl.stats.glm(Y, X, contrast [, options]) | nl.stats.glm(Y, design [, options])
int glm(lua_State* L) {
  const MatArg y = validate_matrix_arg(L, 1, "data");
  // The design: a Design table (X, contrast, scheme, blocks) or a matrix argument.
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
  if (x.rows != y.rows)
    luaL_argerror(L, is_design ? 2 : xi, lua_pushfstring(L, "design has %I rows but the data have %I", x.rows, y.rows));
  const ContrastArg con = validate_contrast(L, ci, x.cols);
  check_options(L, oi, "glm", {"permutations", "seed", "scheme", "blocks", "block_mode", "tail", "progress", "cluster",
                                  "tfce", "variance_groups", "checkpoint", "checkpoint_every"});

  // Options; the design's scheme and blocks are the defaults.
  int scheme = 0;
  if (is_design) {
    lua_getfield(L, 2, "scheme");
    const char* s = lua_tostring(L, -1);
    scheme = s && std::string_view(s) == "signflip" ? 1 : s && std::string_view(s) == "both" ? 2 : 0;
    lua_pop(L, 1);
  }
  scheme = opt_choice(L, oi, "scheme", {"permute", "signflip", "both"}, scheme);
  const auto permutations = static_cast<int>(opt_integer(L, oi, "permutations", 0, 100000000, 0));
  const int block_mode = opt_choice(L, oi, "block_mode", {"within", "whole", "both"}, 0);
  const lua_Integer seed_given = opt_integer(L, oi, "seed", 0, LUA_MAXINTEGER, -1);
  const st::Tail tail = opt_tail(L, oi);
  const bool progress = opt_boolean(L, oi, "progress", true);
  const CheckpointArgs checkpoint = opt_checkpoint(L, oi);
  if (checkpoint.path && permutations == 0)
    luaL_argerror(L, oi, "option 'checkpoint' saves a permutation test: it needs 'permutations'");
  if (!con.is_t && !lua_isnoneornil(L, oi)) {
    lua_getfield(L, oi, "tail");
    if (!lua_isnil(L, -1)) luaL_argerror(L, oi, "option 'tail' applies to t contrasts only (F is upper-tailed)");
    lua_pop(L, 1);
  }
  // Blocks: the option, else the design's.
  lua_pushnil(L);
  const int bi = lua_gettop(L);
  int block_pos = oi;
  if (!lua_isnoneornil(L, oi)) {
    lua_getfield(L, oi, "blocks");
    lua_replace(L, bi);
  }
  if (lua_isnil(L, bi) && is_design) {
    lua_getfield(L, 2, "blocks");
    lua_replace(L, bi);
    block_pos = 2;
  }
  CatArg blocks;
  if (!lua_isnil(L, bi)) {
    blocks = validate_categories(L, bi, "blocks");
    if (blocks.n != y.rows)
      luaL_argerror(L, block_pos, lua_pushfstring(L, "blocks has %I entries but the data have %I rows", blocks.n, y.rows));
  }
  // Variance groups: labels per row, as blocks.
  CatArg vgroups;
  if (!lua_isnoneornil(L, oi)) {
    if (lua_getfield(L, oi, "variance_groups") != LUA_TNIL) {
      vgroups = validate_categories(L, lua_gettop(L), "variance_groups");
      if (vgroups.n != y.rows)
        luaL_argerror(L, oi, lua_pushfstring(L, "variance_groups has %I entries but the data have %I rows", vgroups.n,
                                             y.rows));
    } else {
      lua_pop(L, 1);
    }
  }
  // A pointer into the Lua string, which stays on the stack: no C++ object with a
  // destructor may be alive here while check_cluster can raise (STYLE.md item 4).
  const char* description = nullptr;
  if (is_design) {
    lua_getfield(L, 2, "description");
    if (lua_type(L, -1) == LUA_TSTRING) description = lua_tostring(L, -1);
  }
  const std::uint64_t seed =
      seed_given >= 0 ? static_cast<std::uint64_t>(seed_given) : (session_rng().next() >> 1);
  const ClusterArg cl = check_cluster(L, oi, y.cols);
  TfceArg tf;
  if (!lua_isnoneornil(L, oi)) {
    if (lua_getfield(L, oi, "tfce") != LUA_TNIL) tf = check_tfce(L, oi, lua_gettop(L), "tfce", y.cols);
    else lua_pop(L, 1);
  }
  const int data_pos = 1, design_pos = is_design ? 2 : xi, contrast_pos = is_design ? 2 : ci;

  lua_createtable(L, 0, 24);
  return protect(L, [&] {
    std::vector<std::string> test_names;
    std::vector<std::string> design_names;
    Matrix Y, X;
    try {
      Y = read_matrix_arg(L, y, &test_names);
    } catch (const nl::ValueError& e) {
      throw ArgError(data_pos, fmt::format("data: {}", e.what()));
    }
    try {
      X = read_matrix_arg(L, x, &design_names);
    } catch (const nl::ValueError& e) {
      throw ArgError(design_pos, fmt::format("design: {}", e.what()));
    }
    const Matrix C = read_contrast(L, con);
    st::PermutationOptions po;
    po.permutations = permutations;
    po.seed = seed;
    po.scheme = scheme == 1 ? st::Exchange::SignFlip : scheme == 2 ? st::Exchange::Both : st::Exchange::Permute;
    po.tail = tail;
    po.block_mode = block_mode == 1 ? st::BlockMode::Whole : block_mode == 2 ? st::BlockMode::Both : st::BlockMode::Within;
    if (blocks.n > 0) {
      std::vector<std::string> levels;
      read_categories(L, blocks, false, po.blocks, levels);
    }
    if (progress) po.progress = progress_reporter("permutations", "", permutations);
    if (checkpoint.path) po.checkpoint = {checkpoint.path, checkpoint.every};

    st::GlmFit fit;
    st::TContrast t;
    st::FContrast f;
    st::PermutationResult perm;
    st::VarianceGroupTest vgt;
    bool use_vg = false;
    // Clusters: the mask voxels in storage order are the data's columns.
    const nl::Volume* mask = cl.mask ? test<nl::Volume>(L, cl.mask) : nullptr;
    std::vector<Eigen::Index> voxel;
    std::unique_ptr<st::ClusterGrid> grid;
    double cthr = cl.threshold;
    st::ClusterMap observed;
    std::vector<Eigen::Index> tvoxel;
    std::unique_ptr<st::ClusterGrid> tgrid;
    Vector tfce_obs;
    try {
      fit = st::glm_fit(X, Y);
      if (con.is_t) t = st::t_contrast(fit, C.row(0).transpose(), tail);
      else f = st::f_contrast(fit, C);
      if (vgroups.n > 0) {
        std::vector<std::string> vg_levels;
        read_categories(L, vgroups, true, po.variance_groups, vg_levels);
        po.variance_group_names = vg_levels;
        if (vg_levels.size() > 1) {  // one group: Student's t and F
          vgt = st::variance_group_test(Y, X, C, po.variance_groups, tail, &vg_levels);
          use_vg = true;
        }
      }
      if (mask) {
        for (std::size_t i = 0; i < mask->voxels(); ++i)
          if (mask->data()[i] != 0) voxel.push_back(static_cast<Eigen::Index>(i));
        grid = std::make_unique<st::ClusterGrid>(std::array<Eigen::Index, 3>{mask->nx(), mask->ny(), mask->nz()},
                                                 voxel, cl.connectivity);
        if (!std::isnan(cl.p))
          cthr = !con.is_t ? st::f_quantile(1 - cl.p, f.df1, f.df2)
                           : st::t_quantile(1 - (tail == st::Tail::Two ? cl.p / 2 : cl.p), fit.df);
        po.clusters = grid.get();
        po.cluster_threshold = cthr;
        po.cluster_stat = cl.mass ? st::ClusterStat::Mass : st::ClusterStat::Extent;
      }
      if (tf.geometry != TfceArg::None) {
        tgrid = tfce_grid(L, tf, &tvoxel);
        po.tfce = tgrid.get();
        po.tfce_options = tf.options;
      }
      if (permutations > 0) perm = st::freedman_lane(Y, X, C, po);
      if (tgrid && permutations > 0) tfce_obs = perm.tfce;
      if (tgrid && permutations == 0) {
        st::TfceOptions o = tf.options;
        o.two_sided = con.is_t && tail == st::Tail::Two;
        const Vector& raw = use_vg ? vgt.stat : con.is_t ? t.t : f.F;
        tfce_obs = st::tfce(*tgrid, !con.is_t ? raw : tail == st::Tail::Left ? Vector(-raw) : raw, o);
        for (Eigen::Index j = 0; j < tfce_obs.size(); ++j)  // NaN where the statistic is, as with permutations
          if (std::isnan(raw(j))) tfce_obs(j) = NAN;
      }
      if (mask && permutations == 0) {
        Vector T = use_vg ? vgt.stat : con.is_t ? t.t : f.F;
        if (con.is_t && tail == st::Tail::Two) T = T.cwiseAbs();
        if (con.is_t && tail == st::Tail::Left) T = -T;
        observed = st::find_clusters(*grid, T, cthr);
      }
    } catch (const nl::ValueError& e) {
      rethrow_at(e, {{"data", data_pos}, {"design", design_pos}, {"too few", data_pos}, {"contrast", contrast_pos},
                     {"F contrast", contrast_pos}, {"blocks", oi}, {"whole-block", oi}, {"permutations", oi},
                     {"variance group", oi}});
    }

    // ---- the result table
    const Vector& stat = use_vg ? vgt.stat : con.is_t ? t.t : f.F;
    const Vector& p = use_vg ? vgt.p : con.is_t ? t.p : f.p;
    const Vector q = st::fdr_bh(p);
    const char* kind = use_vg ? (con.is_t ? "v" : "G") : con.is_t ? "t" : "F";
    set_string(L, "test", kind);
    if (use_vg) {
      set_integer(L, "variance_groups", vgt.groups);
      push_vector_field(L, "df_vg", vgt.df);
    }
    if (description && *description) set_string(L, "description", description);
    set_integer(L, "n", fit.n);
    set_integer(L, "tests", fit.m);
    set_integer(L, "rank", fit.rank);
    set_number(L, "df", fit.df);
    if (!con.is_t) set_number(L, "df1", f.df1);
    if (con.is_t) set_string(L, "tail", tail_name(tail));
    push_matrix(L, C);
    lua_setfield(L, -2, "contrast");
    push_matrix(L, fit.beta);
    lua_setfield(L, -2, "beta");
    push_vector_field(L, "stat", stat);
    push_vector_field(L, kind, stat);
    push_vector_field(L, "p", p);
    push_vector_field(L, "p_fdr", q);
    if (con.is_t) {
      push_vector_field(L, "effect", t.effect);
      if (!use_vg) push_vector_field(L, "se", t.se);
    }
    if (test_names.size() == static_cast<std::size_t>(fit.m)) {
      push_strings(L, test_names);
      lua_setfield(L, -2, "names");
    }
    if (design_names.size() == static_cast<std::size_t>(fit.p)) {
      push_strings(L, design_names);
      lua_setfield(L, -2, "design_names");
    }
    // One row per test, for sorting, filtering and writing.
    nl::Table table;
    if (test_names.size() == static_cast<std::size_t>(fit.m))
      table.set(std::make_shared<const nl::Column>(nl::Column::strings("name", test_names)));
    else {
      std::vector<double> idx(static_cast<std::size_t>(fit.m));
      std::iota(idx.begin(), idx.end(), 1.0);
      table.set(std::make_shared<const nl::Column>(nl::Column::numbers("test", idx)));
    }
    auto add = [&](const char* name, const Vector& v) {
      table.set(std::make_shared<const nl::Column>(nl::Column::numbers(name, std::vector<double>(v.begin(), v.end()))));
    };
    if (con.is_t) {
      add("effect", t.effect);
      if (!use_vg) add("se", t.se);
    }
    add(kind, stat);
    if (use_vg) add("df_vg", vgt.df);
    add("p", p);
    add("p_fdr", q);
    if (permutations > 0) {
      const Vector qp = st::fdr_bh(perm.p_unc);
      set_integer(L, "permutations", perm.permutations);
      lua_pushboolean(L, perm.exhaustive);
      lua_setfield(L, -2, "exhaustive");
      set_integer(L, "seed", static_cast<lua_Integer>(seed));
      set_string(L, "scheme", scheme_name(po.scheme));
      if (!po.blocks.empty()) {
        set_integer(L, "blocks", *std::max_element(po.blocks.begin(), po.blocks.end()) + 1);
        set_string(L, "block_mode", block_mode == 1 ? "whole" : block_mode == 2 ? "both" : "within");
      }
      push_vector_field(L, "p_perm", perm.p_unc);
      push_vector_field(L, "p_fwe", perm.p_fwe);
      push_vector_field(L, "p_perm_fdr", qp);
      push_vector_field(L, "max_stat", perm.max_stat);
      push_vector_field(L, "p_fwe_gamma", perm.p_fwe_gamma);
      add("p_perm", perm.p_unc);
      add("p_fwe", perm.p_fwe);
      add("p_perm_fdr", qp);
      add("p_fwe_gamma", perm.p_fwe_gamma);
    }
    if (tgrid) {
      push_vector_field(L, "tfce", tfce_obs);
      add("tfce", tfce_obs);
      if (permutations > 0) {
        push_vector_field(L, "p_tfce", perm.tfce_p_unc);
        push_vector_field(L, "p_tfce_fwe", perm.tfce_p_fwe);
        push_vector_field(L, "max_tfce", perm.max_tfce);
        add("p_tfce", perm.tfce_p_unc);
        add("p_tfce_fwe", perm.tfce_p_fwe);
      }
      const std::string settings = tfce_description(tf);
      set_string(L, "tfce_settings", settings);
      if (tf.geometry == TfceArg::Mask) {
        const nl::Volume& tmask = *test<nl::Volume>(L, tf.object);
        push_masked_volume(L, tmask, tvoxel, tfce_obs);
        lua_setfield(L, -2, "tfce_map");
        if (permutations > 0) {
          push_masked_volume(L, tmask, tvoxel, perm.tfce_p_fwe);
          lua_setfield(L, -2, "p_tfce_fwe_map");
        }
      }
    }
    auto* slot = new_object<nl::Table>(L);
    *slot = std::make_shared<nl::Table>(std::move(table));
    lua_setfield(L, -2, "table");
    if (mask) {
      if (permutations > 0) {
        observed.label = perm.cluster_label;
        observed.size = perm.cluster_size;
        observed.peak = perm.cluster_peak;
        observed.mass = perm.cluster_mass;
      }
      push_cluster_results(L, *mask, voxel, observed, stat, p, perm, permutations > 0);
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

// Entry j of the vector Matrix in field key of the table at idx (NaN when absent).
double field_at(lua_State* L, int idx, const char* key, Eigen::Index j) {
  raw_field(L, idx, key);  // raw: no std::string may be alive if a metamethod raised
  const Matrix* m = test<Matrix>(L, -1);
  const double v = m && j < m->size() ? m->data()[j] : std::nan("");
  lua_pop(L, 1);
  return v;
}

int result_tostring(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  raw_field(L, 1, "test");
  const std::string kind = lua_isstring(L, -1) ? lua_tostring(L, -1) : "?";
  raw_field(L, 1, "description");
  const std::string desc = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
  raw_field(L, 1, "tail");
  const std::string tail = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
  raw_field(L, 1, "scheme");
  const std::string scheme = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
  raw_field(L, 1, "contrast");
  const Matrix* C = test<Matrix>(L, -1);
  const std::string ctext = C ? contrast_text(*C) : "?";
  raw_field(L, 1, "stat");
  const Matrix* S = test<Matrix>(L, -1);
  const Eigen::Index m = S ? S->size() : 0;
  raw_field(L, 1, "names");
  const int names = lua_gettop(L);
  const double n = get_number(L, 1, "n"), rank = get_number(L, 1, "rank"), df = get_number(L, 1, "df");
  const double df1 = get_number(L, 1, "df1"), perms = get_number(L, 1, "permutations"), seed = get_number(L, 1, "seed");
  const bool permuted = !std::isnan(perms);

  std::string out = fmt::format("GLM {} contrast {}{}: {} observations, {} test{}, design rank {}, df {}{}\n", kind,
                                ctext, desc.empty() ? "" : fmt::format(" ({})", desc), n, m, m == 1 ? "" : "s", rank,
                                kind == "F" || kind == "G" ? fmt::format("{}, ", nl::format_number(df1)) : "",
                                nl::format_number(df));
  const double vgroups = get_number(L, 1, "variance_groups");
  if (!std::isnan(vgroups))
    out += fmt::format("  {} of {} variance groups (Winkler et al. 2014): p from {} with per-test df (df_vg)\n",
                       kind == "v" ? "Aspin-Welch v" : "G", vgroups, kind == "v" ? "t" : "F");
  Eigen::Index below = 0, below_fdr = 0, below_fwe = 0;
  double lo = INFINITY, hi = -INFINITY;
  std::vector<Eigen::Index> order;
  for (Eigen::Index j = 0; j < m; ++j) {
    const double s = S->data()[j];
    if (std::isnan(s)) continue;
    lo = std::min(lo, s);
    hi = std::max(hi, s);
    below += field_at(L, 1, "p", j) < 0.05;
    below_fdr += field_at(L, 1, "p_fdr", j) < 0.05;
    if (permuted) below_fwe += field_at(L, 1, "p_fwe", j) < 0.05;
    order.push_back(j);
  }
  if (m > 1)
    out += fmt::format("  {} from {} to {}; p < 0.05: {} uncorrected, {} after BH-FDR{}\n", kind, short_number(lo),
                       short_number(hi), below, below_fdr, (kind == "t" || kind == "v") && tail != "two" ? fmt::format(" ({} tail)", tail) : "");
  if (permuted)
  {
    raw_field(L, 1, "block_mode");
    const std::string mode = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
    lua_pop(L, 1);
    const double nblocks = get_number(L, 1, "blocks");
    const std::string where = std::isnan(nblocks) ? ""
                              : mode == "whole"   ? fmt::format(", {} whole blocks", nblocks)
                              : mode == "both"    ? fmt::format(", within and of {} whole blocks", nblocks)
                                                  : fmt::format(", within {} blocks", nblocks);
    out += fmt::format("  Freedman-Lane, {} {} ({}{}, seed {}): FWE p < 0.05: {}\n", perms,
                       scheme == "signflip" ? "sign flips" : "permutations", scheme, where, seed, below_fwe);
  }
  // The strongest tests: smallest p (FWE p when permuted), then largest |statistic|.
  const char* key = permuted ? "p_fwe" : "p";
  const std::size_t top = std::min<std::size_t>(order.size(), 5);
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(top), order.end(),
                    [&](Eigen::Index a, Eigen::Index b) {
                      const double pa = field_at(L, 1, key, a), pb = field_at(L, 1, key, b);
                      if (pa != pb) return pa < pb;
                      return std::fabs(S->data()[a]) > std::fabs(S->data()[b]);
                    });
  if (top > 0 && m > 1) {
    out += fmt::format("  {:<24} {:>10} {:>10} {:>10}{}\n", "strongest", kind, "p", "p_fdr", permuted ? "      p_fwe" : "");
    for (std::size_t k = 0; k < top; ++k) {
      const Eigen::Index j = order[k];
      std::string name = fmt::format("#{}", j + 1);
      if (lua_istable(L, names)) {
        lua_rawgeti(L, names, j + 1);
        if (lua_isstring(L, -1)) name = lua_tostring(L, -1);
        lua_pop(L, 1);
      }
      out += fmt::format("  {:<24} {:>10} {:>10} {:>10}", name.substr(0, 24), short_number(S->data()[j]),
                         short_number(field_at(L, 1, "p", j)), short_number(field_at(L, 1, "p_fdr", j)));
      if (permuted) out += fmt::format(" {:>10}", short_number(field_at(L, 1, "p_fwe", j)));
      out += "\n";
    }
  } else if (m == 1) {
    out += fmt::format("  {} = {}, p = {}{}\n", kind, short_number(S->data()[0]), short_number(field_at(L, 1, "p", 0)),
                       permuted ? fmt::format(", permutation p = {}", short_number(field_at(L, 1, "p_perm", 0))) : "");
  }
  raw_field(L, 1, "clusters");
  const bool clustered = test<nl::Table>(L, -1) != nullptr;
  if (clustered) {
    const nl::Table& ct = *test<nl::Table>(L, -1);
    const nl::Column& size = *ct.column("size");
    const nl::Column& fwe = *ct.column("p_fwe");
    std::size_t sig = 0;
    for (std::size_t q = 0; q < ct.nrows(); ++q) sig += fwe.number(q) < 0.05;
    const std::string measure = kind == "F" ? "F" : tail == "two" ? "|t|" : tail == "left" ? "-t" : "t";
    raw_field(L, 1, "cluster_statistic");
    const bool by_mass = lua_isstring(L, -1) && std::string_view(lua_tostring(L, -1)) == "mass";
    lua_pop(L, 1);
    out += fmt::format("  clusters ({} >= {}, {}-connectivity{}): {}", measure,
                       short_number(get_number(L, 1, "cluster_threshold")), get_number(L, 1, "connectivity"),
                       by_mass ? ", by mass" : "", ct.nrows());
    if (ct.nrows() > 0)
      out += fmt::format(", largest {} voxels{}{}", size.number(0),
                         by_mass ? fmt::format(" (mass {})", short_number(ct.column("mass")->number(0))) : "",
                         permuted ? fmt::format(" (FWE p {}); FWE p < 0.05: {}", short_number(fwe.number(0)), sig) : "");
    out += "\n";
  }
  lua_pop(L, 1);
  raw_field(L, 1, "tfce");
  const Matrix* tfce_scores = test<Matrix>(L, -1);
  raw_field(L, 1, "tfce_settings");
  if (tfce_scores && lua_isstring(L, -1)) {
    double most = 0;
    Eigen::Index sig = 0;
    for (Eigen::Index j = 0; j < tfce_scores->size(); ++j) {
      if (!std::isnan(tfce_scores->data()[j])) most = std::max(most, tfce_scores->data()[j]);
      sig += field_at(L, 1, "p_tfce_fwe", j) < 0.05;
    }
    out += fmt::format("  TFCE ({}): largest {}{}\n", lua_tostring(L, -1), short_number(most),
                       permuted ? fmt::format("; FWE p < 0.05: {} test{}", sig, sig == 1 ? "" : "s") : "");
  }
  lua_pop(L, 2);
  const double joint = get_number(L, 1, "joint_contrasts");
  if (!std::isnan(joint)) {
    Eigen::Index sig = 0;
    for (Eigen::Index j = 0; j < m; ++j) sig += field_at(L, 1, "p_fwe_joint", j) < 0.05;
    out += fmt::format("  joint FWE over {} contrasts (same rearrangements): p < 0.05: {}\n", joint, sig);
  }
  out += "  fields: beta, stat, p, p_fdr";
  out += kind == "t" ? ", effect, se" : "";
  out += permuted ? ", p_perm, p_fwe, p_perm_fdr, max_stat, p_fwe_gamma" : "";
  out += !std::isnan(joint) ? ", p_fwe_joint" : "";
  out += ", table";
  out += clustered ? permuted ? ", clusters, cluster_map, stat_map, max_cluster" : ", clusters, cluster_map, stat_map" : "";
  if (tfce_scores) {
    raw_field(L, 1, "tfce_map");
    const bool mapped = test<nl::Volume>(L, -1) != nullptr;
    lua_pop(L, 1);
    out += permuted ? ", tfce, p_tfce, p_tfce_fwe, max_tfce" : ", tfce";
    out += mapped ? permuted ? ", tfce_map, p_tfce_fwe_map" : ", tfce_map" : "";
  }
  lua_pushlstring(L, out.data(), out.size());
  return 1;
}

const luaL_Reg functions[] = {
    {"glm", glm},
    {"design_one_sample", design_one_sample},
    {"design_two_sample", design_two_sample},
    {"design_paired", design_paired},
    {nullptr, nullptr},
};

}  // namespace

// Adds the GLM functions to the nl.stats table on top.
void open_stats_glm(lua_State* L) {
  register_record(L, kDesign, {"description", "scheme", "n", "names", "blocks", "X", "contrast"}, design_tostring);
  // Every field a GLMResult can have: t or F, the permutation and cluster fields only
  // with those options, names and design_names only for named columns.
  register_record(L, kResult,
                  {"test", "description", "n", "tests", "rank", "df", "df1", "tail", "contrast", "beta", "stat", "t",
                   "F", "p", "p_fdr", "effect", "se", "names", "design_names", "table", "permutations", "exhaustive",
                   "seed", "scheme", "blocks", "block_mode", "p_perm", "p_fwe", "p_perm_fdr", "max_stat", "p_fwe_gamma", "clusters", "cluster_map",
                   "stat_map", "max_cluster", "cluster_threshold", "cluster_p", "connectivity", "cluster_statistic", "tfce", "p_tfce",
                   "p_tfce_fwe", "max_tfce", "tfce_settings", "tfce_map", "p_tfce_fwe_map", "p_fwe_joint", "p_tfce_fwe_joint",
                   "joint_contrasts"},
                  result_tostring);
  set_bindings(L, functions);
}

}  // namespace nl::bind

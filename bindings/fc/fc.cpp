// fc.cpp: nl.fc, functional connectivity: cleaning, head motion, band-pass filters,
// node signals, netmats, the hierarchical node order and seed-to-voxel maps.
//
//   local Y = v:timeseries(brain)                         -- frames x voxels
//   local clean, info = nl.fc.clean(Y, { discard = 10, detrend = 2,
//       motion = nl.fc.read_motion("rp_run1.txt"), confounds = nl.fc.mask_means(v, {wm, csf, brain}),
//       tr = 2, bandpass = {0.01, 0.1}, scrub = true, fd_threshold = 0.5 })
//
// Frames, nodes and cluster ids are 1-based in Lua. Every option is read and checked
// before the engine runs; Matrices and Volumes stay referenced by the argument and
// option tables (on the stack) while the engine uses them.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/common.hpp"
#include "core/args.hpp"
#include "core/types.hpp"
#include "core/fields.hpp"
#include "nl/atlas/atlas.hpp"
#include "nl/fc/fc.hpp"
#include "nl/image/image.hpp"
#include "nl/core/linalg.hpp"

namespace nl::bind {

namespace {

using nl::Matrix;
using nl::Vector;
using nl::Volume;
using Index = Eigen::Index;

constexpr const char* kInfo = "neurolua.FCInfo";

// ---------------------------------------------------------------- option helpers

// A Matrix option (nullptr when absent). The options table keeps it alive.
const Matrix* opt_matrix(lua_State* L, int idx, const char* key) {
  if (lua_isnoneornil(L, idx)) return nullptr;
  const Matrix* m = nullptr;
  if (lua_getfield(L, idx, key) != LUA_TNIL) {
    m = test<Matrix>(L, -1);
    if (!m) luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be a neurolua.Matrix, got %s", key, luaL_typename(L, -1)));
  }
  lua_pop(L, 1);
  return m;
}

// Option `key` of the options at idx: the column layout of a motion Matrix.
nl::fc::MotionFormat opt_format(lua_State* L, int idx, const char* key) {
  const nl::fc::MotionFormat codes[] = {nl::fc::MotionFormat::Spm, nl::fc::MotionFormat::Fsl,
                                        nl::fc::MotionFormat::Afni};
  return codes[opt_choice(L, idx, key, {"spm", "fsl", "afni"}, 0)];
}

// The motion options shared by motion() and clean().
nl::fc::MotionOptions read_motion_options(lua_State* L, int idx) {
  nl::fc::MotionOptions o;
  o.radius = opt_number(L, idx, "radius", 1e-3, 1e3, 50.0);
  o.fd_threshold = opt_number(L, idx, "fd_threshold", 0.0, 1e6, 0.5);
  o.before = static_cast<int>(opt_integer(L, idx, "before", 0, 100, 1));
  o.after = static_cast<int>(opt_integer(L, idx, "after", 0, 100, 1));
  o.max_translation = opt_number(L, idx, "max_translation", 0.0, 1e6, 2.0);
  o.max_rotation = opt_number(L, idx, "max_rotation", 0.0, 1e6, 2.0);
  return o;
}

// A vector argument: a Matrix with one row or one column (the seed).
const Matrix& check_vector(lua_State* L, int idx, const char* what) {
  const Matrix& m = check<Matrix>(L, idx);
  if (m.rows() != 1 && m.cols() != 1)
    luaL_argerror(L, idx, lua_pushfstring(L, "%s must be a Matrix with one column (or one row), got %dx%d", what,
                                          static_cast<int>(m.rows()), static_cast<int>(m.cols())));
  return m;
}

Vector as_vector(const Matrix& m) { return Eigen::Map<const Vector>(m.data(), m.size()); }

// Pushes a list of booleans (the kept frames) and returns how many are true.
lua_Integer push_flags(lua_State* L, const nl::fc::FrameMask& flags) {
  lua_createtable(L, static_cast<int>(flags.size()), 0);
  lua_Integer n = 0;
  for (std::size_t t = 0; t < flags.size(); ++t) {
    lua_pushboolean(L, flags[t]);
    lua_rawseti(L, -2, static_cast<lua_Integer>(t + 1));
    n += flags[t];
  }
  return n;
}

// ---------------------------------------------------------------- result tables

// Sets the fields of a motion summary on the table on top (inside protect: plain pushes
// only). fd_idx holds the FD Matrix userdata.
void set_motion_fields(lua_State* L, const nl::fc::MotionSummary& s, int fd_idx, bool with_kept) {
  lua_pushvalue(L, fd_idx);
  lua_setfield(L, -2, "fd");
  set_number(L, "mean_fd", s.mean_fd);
  set_number(L, "max_fd", s.max_fd);
  set_number(L, "max_translation", s.max_translation);
  set_number(L, "max_rotation", s.max_rotation);
  lua_pushboolean(L, s.exclude);
  lua_setfield(L, -2, "exclude");
  set_integer(L, "n_scrubbed", static_cast<lua_Integer>(s.n_scrubbed));
  if (with_kept) {
    push_flags(L, s.kept);
    lua_setfield(L, -2, "kept");
    set_integer(L, "n_kept", static_cast<lua_Integer>(s.kept.size()) - static_cast<lua_Integer>(s.n_scrubbed));
  }
}

// __tostring of the info tables: one line of what is there. Formatted with snprintf
// into stack buffers, so no C++ object is alive while Lua may raise.
int info_tostring(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  auto number = [&](const char* key) {
    lua_getfield(L, 1, key);
    const double x = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return x;
  };
  auto has = [&](const char* key) {
    const bool h = lua_getfield(L, 1, key) != LUA_TNIL;
    lua_pop(L, 1);
    return h;
  };
  lua_getfield(L, 1, "exclude");
  const bool exclude = lua_toboolean(L, -1);
  lua_pop(L, 1);
  char clean[160] = "", motion[320] = "";
  if (has("regressors"))
    std::snprintf(clean, sizeof clean, "clean: %.0f of %.0f frames kept, %.0f regressors%s", number("n_kept"),
                  number("frames"), number("regressors"), has("mean_fd") ? "; " : "");
  if (has("mean_fd"))
    std::snprintf(motion, sizeof motion,
                  "motion: mean FD %.3f mm, max FD %.3f mm, max translation %.3f mm, max rotation %.3f deg, %.0f "
                  "frames scrubbed%s",
                  number("mean_fd"), number("max_fd"), number("max_translation"), number("max_rotation"),
                  number("n_scrubbed"), exclude ? ", EXCLUDE (over the motion limits)" : "");
  lua_pushfstring(L, "[%s%s]", clean, motion);
  return 1;
}


// ---------------------------------------------------------------- motion

// nl.fc.read_motion(path) -> frames x 6 Matrix
int read_motion(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  return push_new<Matrix>(L, [&] { return nl::fc::read_motion(path); });
}

// nl.fc.friston24(motion [, format]) -> frames x 24 Matrix, column names
int friston24(lua_State* L) {
  const Matrix& m = check<Matrix>(L, 1);
  const auto format = as_option(L, 2, "format", [&] { return opt_format(L, 2, "format"); });
  auto* slot = new_object<Matrix>(L);
  return protect(L, [&] {
    *slot = std::make_shared<Matrix>(nl::fc::friston24(nl::fc::canonical_motion(m, format)));
    push_strings(L, nl::fc::friston24_names());
    return 2;
  });
}

// nl.fc.fd(motion [, {format = "spm", radius = 50}]) -> frames x 1 Matrix
int fd(lua_State* L) {
  const Matrix& m = check<Matrix>(L, 1);
  check_options(L, 2, "fd", {"format", "radius"});
  const auto format = opt_format(L, 2, "format");
  const double radius = opt_number(L, 2, "radius", 1e-3, 1e3, 50.0);
  return push_new<Matrix>(L, [&] { return Matrix(nl::fc::framewise_displacement(nl::fc::canonical_motion(m, format), radius)); });
}

// nl.fc.scrub(fd, threshold [, {before = 1, after = 1}]) -> kept (list of booleans), n_kept
int scrub(lua_State* L) {
  const Matrix& f = check_vector(L, 1, "fd");
  const double threshold = luaL_checknumber(L, 2);
  check_options(L, 3, "scrub", {"before", "after"});
  const auto before = static_cast<int>(opt_integer(L, 3, "before", 0, 100, 1));
  const auto after = static_cast<int>(opt_integer(L, 3, "after", 0, 100, 1));
  return protect(L, [&] {
    lua_pushinteger(L, push_flags(L, nl::fc::scrub_mask(as_vector(f), threshold, before, after)));
    return 2;
  });
}

// nl.fc.motion(motion [, options]) -> summary table (fd, mean_fd, ..., kept, exclude)
int motion(lua_State* L) {
  const Matrix& m = check<Matrix>(L, 1);
  check_options(L, 2, "motion", {"format", "radius", "fd_threshold", "before", "after", "max_translation", "max_rotation"});
  const auto format = opt_format(L, 2, "format");
  const nl::fc::MotionOptions o = read_motion_options(L, 2);
  auto* fd_slot = new_object<Matrix>(L);
  const int fd_idx = lua_gettop(L);
  return protect(L, [&] {
    const auto s = nl::fc::motion_summary(nl::fc::canonical_motion(m, format), o);
    *fd_slot = std::make_shared<Matrix>(s.fd);
    lua_createtable(L, 0, 10);
    set_motion_fields(L, s, fd_idx, true);
    set_number(L, "fd_threshold", o.fd_threshold);
    luaL_setmetatable(L, kInfo);
    return 1;
  });
}

// ---------------------------------------------------------------- cleaning

// nl.fc.detrend(Y [, order = 1]) -> Matrix
int detrend(lua_State* L) {
  const Matrix& Y = check<Matrix>(L, 1);
  const auto order = static_cast<int>(lua_isnoneornil(L, 2) ? 1 : check_range(L, 2, 0, 10, "polynomial order"));
  return push_new<Matrix>(L, [&] { return nl::fc::detrend(Y, order); });
}

// nl.fc.residualize(Y, design) -> Matrix (Y minus its least-squares fit on design)
int residualize(lua_State* L) {
  const Matrix& Y = check<Matrix>(L, 1);
  const Matrix& D = check<Matrix>(L, 2);
  if (D.rows() != Y.rows())
    luaL_argerror(L, 2, lua_pushfstring(L, "the design has %d rows, Y has %d", static_cast<int>(D.rows()), static_cast<int>(Y.rows())));
  return push_new<Matrix>(L, [&] { return nl::fc::residualize(Y, D); });
}

// The band-pass part of an options table: tr, filter, order, and low/high.
nl::fc::BandPassOptions read_bandpass(lua_State* L, int idx) {
  nl::fc::BandPassOptions o;
  o.tr = opt_number(L, idx, "tr", 0.0, 1e4, 0.0);
  o.kind = opt_choice(L, idx, "filter", {"butterworth", "fft"}, 0) == 1 ? nl::fc::FilterKind::Fft : nl::fc::FilterKind::Butterworth;
  o.order = static_cast<int>(opt_integer(L, idx, "order", 1, 10, 5));
  return o;
}

// nl.fc.bandpass(Y, {tr = ..., low = 0.01, high = 0.1, filter = "butterworth", order = 5})
int bandpass(lua_State* L) {
  const Matrix& Y = check<Matrix>(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  check_options(L, 2, "bandpass", {"tr", "low", "high", "filter", "order"});
  nl::fc::BandPassOptions o = read_bandpass(L, 2);
  if (!(o.tr > 0)) luaL_argerror(L, 2, "option 'tr' (the repetition time in seconds) is required");
  o.low = opt_number(L, 2, "low", 0.0, 1e3, 0.01);
  o.high = opt_number(L, 2, "high", 0.0, 1e3, 0.1);
  return push_new<Matrix>(L, [&] { return nl::fc::bandpass(Y, o); });
}

// nl.fc.clean(Y, options) -> cleaned Matrix, info
int clean(lua_State* L) {
  const Matrix& Y = check<Matrix>(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  check_options(L, 2, "clean",
                {"discard", "detrend", "motion", "motion_format", "motion_model", "confounds", "tr", "bandpass",
                 "filter", "order", "scrub", "fd_threshold", "before", "after", "radius", "max_translation",
                 "max_rotation"});
  nl::fc::CleanOptions o;
  o.discard = static_cast<Index>(opt_integer(L, 2, "discard", 0, 1 << 20, 0));
  o.detrend = static_cast<int>(opt_integer(L, 2, "detrend", -1, 10, 1));
  const Matrix* motion = opt_matrix(L, 2, "motion");
  const Matrix* confounds = opt_matrix(L, 2, "confounds");
  o.motion_format = opt_format(L, 2, "motion_format");
  // motion_model: 24, 6 or "none".
  if (lua_getfield(L, 2, "motion_model") != LUA_TNIL) {
    const bool is_str = lua_type(L, -1) == LUA_TSTRING && std::strcmp(lua_tostring(L, -1), "none") == 0;
    const lua_Integer k = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : -1;
    if (!is_str && k != 24 && k != 6)
      luaL_argerror(L, 2, lua_pushfstring(L, "option 'motion_model' must be 24, 6 or \"none\", got %s",
                                          luaL_tolstring(L, -1, nullptr)));
    o.motion_model = is_str ? nl::fc::MotionModel::None : k == 6 ? nl::fc::MotionModel::Six : nl::fc::MotionModel::Friston24;
  }
  lua_pop(L, 1);
  o.motion = read_motion_options(L, 2);
  o.scrub = opt_boolean(L, 2, "scrub", false);
  if (o.scrub && !motion) luaL_argerror(L, 2, "option 'scrub' needs option 'motion' (the realignment parameters)");
  if (lua_getfield(L, 2, "bandpass") != LUA_TNIL) {
    if (!lua_istable(L, -1) || lua_rawlen(L, -1) != 2)
      luaL_argerror(L, 2, "option 'bandpass' must be {low, high} in Hz (0 for no high-pass or no low-pass)");
    nl::fc::BandPassOptions bp = read_bandpass(L, 2);
    if (!(bp.tr > 0)) luaL_argerror(L, 2, "option 'bandpass' needs option 'tr' (the repetition time in seconds)");
    for (int k = 1; k <= 2; ++k) {
      if (lua_rawgeti(L, -1, k) != LUA_TNUMBER || !(lua_tonumber(L, -1) >= 0))
        luaL_argerror(L, 2, "option 'bandpass' must be {low, high} with non-negative numbers (Hz)");
      (k == 1 ? bp.low : bp.high) = lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
    o.bandpass = bp;
  }
  lua_pop(L, 1);

  auto* out = new_object<Matrix>(L);
  auto* design = new_object<Matrix>(L);
  const int design_idx = lua_gettop(L);
  auto* fd_slot = new_object<Matrix>(L);
  const int fd_idx = lua_gettop(L);
  return protect(L, [&] {
    auto res = nl::fc::clean(Y, motion ? *motion : Matrix(), confounds ? *confounds : Matrix(), o);
    *out = std::make_shared<Matrix>(std::move(res.signals));
    *design = std::make_shared<Matrix>(std::move(res.design));
    lua_createtable(L, 0, 14);
    lua_pushvalue(L, design_idx);
    lua_setfield(L, -2, "design");
    set_integer(L, "regressors", static_cast<lua_Integer>((*design)->cols()));
    set_integer(L, "frames", static_cast<lua_Integer>(res.kept.size()));
    const lua_Integer n = push_flags(L, res.kept);
    lua_setfield(L, -2, "kept");
    set_integer(L, "n_kept", n);
    if (res.motion) {
      *fd_slot = std::make_shared<Matrix>(res.motion->fd);
      set_motion_fields(L, *res.motion, fd_idx, false);
    }
    luaL_setmetatable(L, kInfo);
    lua_remove(L, fd_idx);
    lua_remove(L, design_idx);
    return 2;
  });
}

// ---------------------------------------------------------------- node signals

// nl.fc.mask_means(v, masks) -> frames x #masks Matrix
int mask_means(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  const int n = check_volume_list(L, 2, "masks");
  return push_new<Matrix>(L, [&] {
    std::vector<const Volume*> masks(static_cast<std::size_t>(n));
    for (int k = 0; k < n; ++k)
      if (!(masks[static_cast<std::size_t>(k)] = volume_at(L, 2, k)))
        throw ArgError(2, "the list of masks changed while it was being read");
    return nl::fc::mask_means(v, masks);
  });
}

// ---------------------------------------------------------------- netmats

nl::fc::NetmatMethod read_method(lua_State* L, int idx) {
  return opt_choice(L, idx, "method", {"corr", "ridgep"}, 0) == 1 ? nl::fc::NetmatMethod::RidgeP : nl::fc::NetmatMethod::Corr;
}

// nl.fc.netmat(ts [, {method = "corr", rho = 0.1, z = false}]) -> N x N Matrix
int netmat(lua_State* L) {
  const Matrix& ts = check<Matrix>(L, 1);
  check_options(L, 2, "netmat", {"method", "rho", "z"});
  const auto method = read_method(L, 2);
  const double rho = opt_number(L, 2, "rho", 0.0, 1e6, 0.1);
  const bool z = opt_boolean(L, 2, "z", false);
  return push_new<Matrix>(L, [&] {
    const Matrix m = nl::fc::netmat(ts, method, rho);
    return z ? nl::fc::fisher_z(m) : m;
  });
}

// nl.fc.fisher_z(r) -> Matrix
int fisher_z(lua_State* L) {
  const Matrix& r = check<Matrix>(L, 1);
  return push_new<Matrix>(L, [&] { return nl::fc::fisher_z(r); });
}

// nl.fc.netmats(subjects [, {method, rho, z = true}]) -> subjects x edges Matrix.
// subjects[s] is a Matrix (one run) or a list of Matrices (runs).
int netmats(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const lua_Integer ns = luaL_len(L, 1);
  if (ns == 0) luaL_argerror(L, 1, "no subject (an empty list)");
  for (lua_Integer s = 1; s <= ns; ++s) {
    lua_rawgeti(L, 1, s);
    if (!test<Matrix>(L, -1)) {
      if (!lua_istable(L, -1) || lua_rawlen(L, -1) == 0)
        luaL_argerror(L, 1, lua_pushfstring(L, "subject %I must be a Matrix (one run) or a non-empty list of Matrices", s));
      for (lua_Integer r = 1; r <= static_cast<lua_Integer>(lua_rawlen(L, -1)); ++r) {
        lua_rawgeti(L, -1, r);
        if (!test<Matrix>(L, -1)) luaL_argerror(L, 1, lua_pushfstring(L, "subject %I run %I is not a Matrix", s, r));
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 1);
  }
  check_options(L, 2, "netmats", {"method", "rho", "z"});
  nl::fc::NetmatsOptions o;
  o.method = read_method(L, 2);
  o.rho = opt_number(L, 2, "rho", 0.0, 1e6, 0.1);
  o.z = opt_boolean(L, 2, "z", true);
  return push_new<Matrix>(L, [&] {
    std::vector<std::vector<const Matrix*>> runs(static_cast<std::size_t>(ns));
    for (lua_Integer s = 1; s <= ns; ++s) {
      lua_rawgeti(L, 1, s);
      auto& list = runs[static_cast<std::size_t>(s - 1)];
      if (const Matrix* m = test<Matrix>(L, -1)) {
        list.push_back(m);
      } else if (lua_type(L, -1) == LUA_TTABLE) {
        for (lua_Integer r = 1; r <= static_cast<lua_Integer>(lua_rawlen(L, -1)); ++r) {
          lua_rawgeti(L, -1, r);
          list.push_back(test<Matrix>(L, -1));
          lua_pop(L, 1);
        }
      }
      lua_pop(L, 1);
      // Lua code run by the options (an __index) may have changed the list since it
      // was checked above.
      if (list.empty() || std::find(list.begin(), list.end(), nullptr) != list.end())
        throw ArgError(1, fmt::format("subject {} changed while the list was being read", s));
    }
    return nl::fc::netmats(runs, o, progress_reporter("netmats", " runs"));
  });
}

// nl.fc.edges(netmat) -> 1 x N(N-1)/2 Matrix (upper triangle, row-major)
int edges(lua_State* L) {
  const Matrix& m = check<Matrix>(L, 1);
  if (m.rows() != m.cols())
    luaL_argerror(L, 1, lua_pushfstring(L, "a square netmat expected, got %dx%d", static_cast<int>(m.rows()), static_cast<int>(m.cols())));
  return push_new<Matrix>(L, [&] { return Matrix(nl::fc::upper_triangle(m).transpose()); });
}

// nl.fc.from_edges(edges, nodes [, diagonal = 0]) -> symmetric nodes x nodes Matrix
int from_edges(lua_State* L) {
  const Matrix& e = check_vector(L, 1, "edges");
  const auto nodes = static_cast<Index>(check_range(L, 2, 1, 100000, "node count"));
  const double diagonal = luaL_optnumber(L, 3, 0.0);
  return push_new<Matrix>(L, [&] { return nl::fc::from_upper_triangle(as_vector(e), nodes, diagonal); });
}

// nl.fc.edge_labels(names | atlas) -> {"A--B", ...}
int edge_labels(lua_State* L) {
  const nl::Atlas* atlas = test<nl::Atlas>(L, 1);
  if (!atlas) {
    luaL_checktype(L, 1, LUA_TTABLE);
    for (lua_Integer k = 1; k <= luaL_len(L, 1); ++k) {
      if (lua_rawgeti(L, 1, k) != LUA_TSTRING)
        luaL_argerror(L, 1, lua_pushfstring(L, "node name %I is a %s, not a string", k, luaL_typename(L, -1)));
      lua_pop(L, 1);
    }
  }
  const lua_Integer n = atlas ? static_cast<lua_Integer>(atlas->size()) : luaL_len(L, 1);
  return protect(L, [&] {
    std::vector<std::string> names;
    for (lua_Integer k = 0; k < n; ++k) {
      if (atlas) {
        names.push_back(atlas->regions()[static_cast<std::size_t>(k)].name);
      } else {
        lua_rawgeti(L, 1, k + 1);
        names.emplace_back(lua_tostring(L, -1));
        lua_pop(L, 1);
      }
    }
    push_strings(L, nl::fc::edge_labels(names));
    return 1;
  });
}

// nl.fc.hierarchy(netmat) -> order (1-based node list), linkage Matrix ((N-1) x 4, 1-based ids)
int hierarchy(lua_State* L) {
  const Matrix& m = check<Matrix>(L, 1);
  auto* linkage = new_object<Matrix>(L);
  return protect(L, [&] {
    nl::fc::Hierarchy h = nl::fc::hierarchy(m);
    h.linkage.leftCols(2).array() += 1.0;
    *linkage = std::make_shared<Matrix>(std::move(h.linkage));
    lua_createtable(L, static_cast<int>(h.order.size()), 0);
    for (std::size_t i = 0; i < h.order.size(); ++i) {
      lua_pushinteger(L, static_cast<lua_Integer>(h.order[i] + 1));
      lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
    }
    lua_insert(L, -2);  // order, linkage
    return 2;
  });
}

// ---------------------------------------------------------------- seed maps

// nl.fc.seed_corr(seed, Y [, {z = true}]) -> 1 x voxels Matrix
int seed_corr(lua_State* L) {
  const Matrix& seed = check_vector(L, 1, "seed");
  const Matrix& Y = check<Matrix>(L, 2);
  check_options(L, 3, "seed_corr", {"z"});
  const bool z = opt_boolean(L, 3, "z", true);
  return push_new<Matrix>(L, [&] { return Matrix(nl::fc::seed_correlation(as_vector(seed), Y, z).transpose()); });
}

// nl.fc.seed_map(seed, data, mask [, {z = true, outside = 0, block}]) -> Volume; data a
// 4-D Volume, a frames x voxels Matrix or a VoxelStore of frames (read by voxel block).
int seed_map(lua_State* L) {
  const Matrix& seed = check_vector(L, 1, "seed");
  const Volume* v = test<Volume>(L, 2);
  const Matrix* Y = v ? nullptr : test<Matrix>(L, 2);
  const nl::VoxelStore* store = v || Y ? nullptr : test<nl::VoxelStore>(L, 2);
  if (!v && !Y && !store)
    luaL_argerror(L, 2, lua_pushfstring(L, "a 4-D neurolua.Volume, a frames x voxels neurolua.Matrix or a "
                                           "neurolua.VoxelStore of frames expected, got %s",
                                        luaL_typename(L, 2)));
  const Volume& mask = check<Volume>(L, 3);
  check_options(L, 4, "seed_map", {"z", "outside", "block"});
  const bool z = opt_boolean(L, 4, "z", true);
  const double outside = opt_number(L, 4, "outside", -std::numeric_limits<double>::max(), std::numeric_limits<double>::max(), 0.0);
  const auto block = opt_integer(L, 4, "block", 1, lua_Integer{1} << 30, 0);
  if (block > 0 && !store) luaL_argerror(L, 4, "option 'block' applies to a VoxelStore only");
  auto* slot = new_object<Volume>(L);
  return protect(L, [&] {
    const Vector s = as_vector(seed);
    if (store) {
      try {
        *slot = std::make_shared<Volume>(nl::fc::seed_map(s, *store, mask, z, outside, static_cast<Index>(block)));
      } catch (const nl::ValueError& e) {
        const std::string_view msg = e.what();
        const int arg = msg.rfind("seed:", 0) == 0 ? 1 : msg.rfind("data:", 0) == 0 ? 2
                        : msg.rfind("mask:", 0) == 0 ? 3 : 4;
        throw ArgError(arg, std::string(msg));
      }
      return 1;
    }
    *slot = std::make_shared<Volume>(v ? nl::fc::seed_map(s, *v, mask, z, outside)
                                       : nl::fc::paint_mask(nl::fc::seed_correlation(s, *Y, z), mask, outside));
    return 1;
  });
}

// ---------------------------------------------------------------- registration

const luaL_Reg functions[] = {
    {"read_motion", read_motion},
    {"friston24", friston24},
    {"fd", fd},
    {"scrub", scrub},
    {"motion", motion},
    {"detrend", detrend},
    {"residualize", residualize},
    {"bandpass", bandpass},
    {"clean", clean},
    {"mask_means", mask_means},
    {"netmat", netmat},
    {"fisher_z", fisher_z},
    {"netmats", netmats},
    {"edges", edges},
    {"from_edges", from_edges},
    {"edge_labels", edge_labels},
    {"hierarchy", hierarchy},
    {"seed_corr", seed_corr},
    {"seed_map", seed_map},
    {nullptr, nullptr},
};

}  // namespace

// Pushes the nl.fc module table.
int open_fc(lua_State* L) {
  // The info of nl.fc.clean and nl.fc.motion: clean sets design, regressors, frames, kept
  // and n_kept, and the motion fields when given motion; motion sets fd_threshold.
  register_record(L, kInfo,
                  {"frames", "kept", "n_kept", "design", "regressors", "fd", "mean_fd", "max_fd", "max_translation",
                   "max_rotation", "exclude", "n_scrubbed", "fd_threshold"},
                  info_tostring);
  lua_newtable(L);
  set_bindings(L, functions);
  lua_pushnumber(L, nl::fc::kMaxAbsR);
  lua_setfield(L, -2, "max_abs_r");
  return 1;
}

}  // namespace nl::bind

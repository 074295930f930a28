// volume.cpp: nl.volume, the Lua face of nl::Volume ("neurolua.Volume").
//
// Voxel indices are 1-based in Lua (i, j, k[, t]) and 0-based in the engine; world
// coordinates are RAS+ mm through the image's affine. Every Lua argument is read and
// checked before the engine runs inside protect(); engine errors (file problems, grid
// mismatches) come back as Lua errors naming the file or both grids.
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/args.hpp"
#include "core/common.hpp"
#include "core/fields.hpp"
#include "core/types.hpp"
#include "nl/image/image.hpp"
#include "nl/core/linalg.hpp"
#include "nl/table/table.hpp"

namespace nl::bind {

namespace {

using nl::Matrix;
using nl::Volume;

// ---------------------------------------------------------------- helpers

void push_numbers(lua_State* L, std::initializer_list<double> xs) {
  lua_createtable(L, static_cast<int>(xs.size()), 0);
  int k = 0;
  for (double x : xs) {
    lua_pushnumber(L, x);
    lua_rawseti(L, -2, ++k);
  }
}

// Integers print as integers in the REPL (dims, counts).
void push_integers(lua_State* L, std::initializer_list<lua_Integer> xs) {
  lua_createtable(L, static_cast<int>(xs.size()), 0);
  int k = 0;
  for (lua_Integer x : xs) {
    lua_pushinteger(L, x);
    lua_rawseti(L, -2, ++k);
  }
}

// A 1-based index argument in [1, n], returned 0-based.
std::int64_t check_index(lua_State* L, int idx, std::int64_t n, const char* what) {
  return static_cast<std::int64_t>(check_range(L, idx, 1, n, what) - 1);
}

// (i, j, k[, t]) at idx.. for v: 0-based offset. `with_t` says whether a 4th index is
// present (else frame 1).
std::size_t check_voxel(lua_State* L, int idx, const Volume& v, bool with_t) {
  const auto i = check_index(L, idx, v.nx(), "index i");
  const auto j = check_index(L, idx + 1, v.ny(), "index j");
  const auto k = check_index(L, idx + 2, v.nz(), "index k");
  const auto t = with_t ? check_index(L, idx + 3, v.frames(), "frame t") : 0;
  return v.offset(i, j, k, t);
}

// ---------------------------------------------------------------- module functions

// nl.volume.load(path) -> Volume; raises naming the file on any problem.
int load(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  return push_new<Volume>(L, [&] { return nl::load_volume(path); });
}

// Validates a list of paths (Lua table of strings or a string Column); returns count.
lua_Integer check_paths(lua_State* L, int idx) {
  if (const auto* c = test<const nl::Column>(L, idx)) {
    if (c->type() != nl::ColumnType::String) luaL_argerror(L, idx, "a Column of file names (strings) expected");
    if (c->missing_count() > 0) luaL_argerror(L, idx, "the Column of file names has missing cells");
    return static_cast<lua_Integer>(c->size());
  }
  const lua_Integer n = check_list(L, idx);
  for (lua_Integer k = 1; k <= n; ++k) {
    if (lua_rawgeti(L, idx, k) != LUA_TSTRING)
      luaL_argerror(L, idx, lua_pushfstring(L, "entry %I is a %s, not a file name", k, luaL_typename(L, -1)));
    lua_pop(L, 1);
  }
  return n;
}

// nl.volume.load_all(paths) -> {Volume, ...} in the order of paths, loaded in parallel.
// The result table and its (empty) userdata are made first, so the engine call below
// only fills slots and never allocates Lua memory.
int load_all(lua_State* L) {
  const lua_Integer n = check_paths(L, 1);
  lua_createtable(L, static_cast<int>(n), 0);
  for (lua_Integer k = 1; k <= n; ++k) {
    new_object<Volume>(L);
    lua_rawseti(L, -2, k);
  }
  const int result = lua_gettop(L);
  return protect(L, [&] {
    std::vector<std::string> paths(static_cast<std::size_t>(n));
    if (const auto* c = test<const nl::Column>(L, 1)) {
      for (std::size_t k = 0; k < paths.size(); ++k) paths[k] = c->string(k);
    } else {
      for (std::size_t k = 0; k < paths.size(); ++k) {
        lua_rawgeti(L, 1, static_cast<lua_Integer>(k + 1));
        paths[k] = lua_tostring(L, -1);
        lua_pop(L, 1);
      }
    }
    auto volumes = nl::load_volumes(paths);
    for (std::size_t k = 0; k < volumes.size(); ++k) {
      lua_rawgeti(L, result, static_cast<lua_Integer>(k + 1));
      static_cast<Box<Volume>*>(lua_touserdata(L, -1))->ptr = std::move(volumes[k]);
      lua_pop(L, 1);
    }
    lua_settop(L, result);
    return 1;
  });
}

// nl.volume.new(ref [, value]) -> a float32 Volume on ref's grid (and frames).
int vnew(lua_State* L) {
  const Volume& ref = check<Volume>(L, 1);
  const float value = static_cast<float>(luaL_optnumber(L, 2, 0.0));
  return push_new<Volume>(L, [&] {
    Volume v(ref.grid(), ref.frames(), ref.ndim() == 4);
    v.info = ref.info;
    v.info.source_type = nl::DataType::Float32;
    v.info.scaled = false;
    v.info.path.clear();
    std::fill(v.data(), v.data() + v.size(), value);
    return v;
  });
}

// ---------------------------------------------------------------- saving

// v:save(path [, {datatype =, version =, compression =}]) -> v
int v_save(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  const char* path = luaL_checkstring(L, 2);
  nl::SaveOptions o;  // trivially destructible: safe across the checks below
  check_options(L, 3, "save", {"datatype", "version", "compression"});
  if (opt_choice(L, 3, "datatype",
                 {"uint8", "int8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"},
                 -1) >= 0) {
    lua_getfield(L, 3, "datatype");  // one of the names above
    o.datatype = nl::parse_datatype(lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  o.version = static_cast<int>(opt_integer(L, 3, "version", 1, 2, o.version));
  o.compression = static_cast<int>(opt_integer(L, 3, "compression", 1, 9, o.compression));
  return protect(L, [&] {
    nl::save_volume(v, path, o);
    lua_settop(L, 1);
    return 1;
  });
}

// ---------------------------------------------------------------- header

int v_dims(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  if (v.ndim() == 4)
    push_integers(L, {v.nx(), v.ny(), v.nz(), v.frames()});
  else
    push_integers(L, {v.nx(), v.ny(), v.nz()});
  return 1;
}

int v_spacing(lua_State* L) {
  const Eigen::Vector3d s = check<Volume>(L, 1).grid().spacing();
  push_numbers(L, {s(0), s(1), s(2)});
  return 1;
}

int v_origin(lua_State* L) {
  const Eigen::Vector3d o = check<Volume>(L, 1).grid().origin();
  push_numbers(L, {o(0), o(1), o(2)});
  return 1;
}

int v_direction(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  return push_new<Matrix>(L, [&] { return Matrix(v.grid().direction()); });
}

int v_affine(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  return push_new<Matrix>(L, [&] { return Matrix(v.grid().affine); });
}

int v_datatype(lua_State* L) {
  lua_pushstring(L, nl::datatype_name(check<Volume>(L, 1).info.source_type));
  return 1;
}

int v_frames(lua_State* L) {
  lua_pushinteger(L, check<Volume>(L, 1).frames());
  return 1;
}

int v_ndim(lua_State* L) {
  lua_pushinteger(L, check<Volume>(L, 1).ndim());
  return 1;
}

int v_tr(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  if (v.ndim() == 4 && v.tr() > 0)
    lua_pushnumber(L, v.tr());
  else
    lua_pushnil(L);
  return 1;
}

int v_orientation(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  return protect(L, [&] {
    lua_pushstring(L, v.grid().orientation().c_str());
    return 1;
  });
}

int v_path(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  if (v.info.path.empty())
    lua_pushnil(L);
  else
    lua_pushstring(L, v.info.path.c_str());
  return 1;
}

int v_voxel_volume(lua_State* L) {
  lua_pushnumber(L, check<Volume>(L, 1).grid().voxel_volume());
  return 1;
}

constexpr const char* kHeader = "neurolua.NiftiHeader";
constexpr const char* kStats = "neurolua.VolumeStats";

// v:header() -> a table of the NIfTI fields kept with the volume.
int v_header(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  const nl::VolumeInfo& in = v.info;
  const nl::Grid& g = v.grid();
  return protect(L, [&] {
    lua_newtable(L);
    set_integer(L, "nifti_version", in.nifti_version);
    set_string(L, "datatype", nl::datatype_name(in.source_type));
    lua_pushboolean(L, in.scaled);
    lua_setfield(L, -2, "scaled");
    set_integer(L, "qform_code", g.qform_code);
    set_integer(L, "sform_code", g.sform_code);
    set_number(L, "qfac", g.qfac);
    push_numbers(L, {g.quatern[0], g.quatern[1], g.quatern[2]});
    lua_setfield(L, -2, "quatern");
    push_numbers(L, {g.qoffset[0], g.qoffset[1], g.qoffset[2]});
    lua_setfield(L, -2, "qoffset");
    push_numbers(L, {g.pixdim[0], g.pixdim[1], g.pixdim[2], in.pixdim_t});
    lua_setfield(L, -2, "pixdim");
    set_integer(L, "xyz_units", in.xyz_units);
    set_integer(L, "time_units", in.time_units);
    set_number(L, "toffset", in.toffset);
    set_integer(L, "intent_code", in.intent_code);
    set_string(L, "intent_name", in.intent_name);
    set_string(L, "descrip", in.descrip);
    set_number(L, "cal_min", in.cal_min);
    set_number(L, "cal_max", in.cal_max);
    set_integer(L, "slice_code", in.slice_code);
    set_number(L, "slice_duration", in.slice_duration);
    luaL_setmetatable(L, kHeader);
    return 1;
  });
}

int header_tostring(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "nifti_version");
  lua_getfield(L, 1, "datatype");
  lua_getfield(L, 1, "qform_code");
  lua_getfield(L, 1, "sform_code");
  lua_getfield(L, 1, "descrip");
  lua_pushfstring(L, "[NIfTI-%d header: %s, qform_code %d, sform_code %d, descrip \"%s\"]",
                  static_cast<int>(lua_tointeger(L, -5)), lua_tostring(L, -4), static_cast<int>(lua_tointeger(L, -3)),
                  static_cast<int>(lua_tointeger(L, -2)), lua_tostring(L, -1));
  return 1;
}

// ---------------------------------------------------------------- voxel and world access

// v:get(i, j, k [, t]) -> value
int v_get(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  const std::size_t off = check_voxel(L, 2, v, !lua_isnoneornil(L, 5));
  lua_pushnumber(L, v.data()[off]);
  return 1;
}

// v:set(i, j, k, value) or v:set(i, j, k, t, value) -> v
int v_set(lua_State* L) {
  forbid_reentrant_change(L, "Volume");
  Volume& v = check<Volume>(L, 1);
  const bool with_t = lua_gettop(L) >= 6;
  const std::size_t off = check_voxel(L, 2, v, with_t);
  v.data()[off] = static_cast<float>(luaL_checknumber(L, with_t ? 6 : 5));
  lua_settop(L, 1);
  return 1;
}

// v:world(i, j, k) -> x, y, z (mm) of the (possibly fractional) 1-based voxel position.
int v_world(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  const Eigen::Vector3d ijk(luaL_checknumber(L, 2) - 1, luaL_checknumber(L, 3) - 1, luaL_checknumber(L, 4) - 1);
  const Eigen::Vector3d w = v.grid().to_world(ijk);
  for (int d = 0; d < 3; ++d) lua_pushnumber(L, w(d));
  return 3;
}

// v:voxel(x, y, z) -> i, j, k: the continuous 1-based voxel position of a world point.
int v_voxel(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  const Eigen::Vector3d xyz(luaL_checknumber(L, 2), luaL_checknumber(L, 3), luaL_checknumber(L, 4));
  const Eigen::Vector3d ijk = v.grid().to_voxel(xyz);
  for (int d = 0; d < 3; ++d) lua_pushnumber(L, ijk(d) + 1);
  return 3;
}

// v:at(x, y, z [, t]) -> the value of the voxel nearest to the world point, or nil
// when the point lies outside the image.
int v_at(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  const Eigen::Vector3d xyz(luaL_checknumber(L, 2), luaL_checknumber(L, 3), luaL_checknumber(L, 4));
  const auto t = lua_isnoneornil(L, 5) ? 0 : check_index(L, 5, v.frames(), "frame t");
  const Eigen::Vector3d ijk = v.grid().to_voxel(xyz);
  std::int64_t idx[3];
  for (int d = 0; d < 3; ++d) {
    const double r = std::floor(ijk(d) + 0.5);
    if (!(r >= 0 && r < static_cast<double>(v.grid().dims[static_cast<std::size_t>(d)]))) {
      lua_pushnil(L);
      return 1;
    }
    idx[d] = static_cast<std::int64_t>(r);
  }
  lua_pushnumber(L, v.data()[v.offset(idx[0], idx[1], idx[2], t)]);
  return 1;
}

// ---------------------------------------------------------------- extraction

// The optional mask argument at idx: a Volume or nil.
const Volume* opt_mask(lua_State* L, int idx) { return lua_isnoneornil(L, idx) ? nullptr : &check<Volume>(L, idx); }

int v_values(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  const Volume* mask = opt_mask(L, 2);
  return push_new<Matrix>(L, [&] { return nl::values(v, mask); });
}

int v_timeseries(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  const Volume& mask = check<Volume>(L, 2);
  return push_new<Matrix>(L, [&] { return nl::timeseries(v, mask); });
}

int v_frame(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  const auto t = check_index(L, 2, v.frames(), "frame t");
  return push_new<Volume>(L, [&] { return nl::frame(v, t); });
}

int v_clone(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  return push_new<Volume>(L, [&] { return v; });
}

// v:stats([mask]) -> {n, nonzero, nan, min, max, mean, std, sum}
int v_stats(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  const Volume* mask = opt_mask(L, 2);
  return protect(L, [&] {
    const nl::VolumeStats s = nl::volume_stats(v, mask);
    lua_createtable(L, 0, 8);
    const std::pair<const char*, lua_Integer> counts[] = {{"n", static_cast<lua_Integer>(s.n)},
                                                          {"nonzero", static_cast<lua_Integer>(s.nonzero)},
                                                          {"nan", static_cast<lua_Integer>(s.nan)}};
    for (const auto& [k, x] : counts) {
      lua_pushinteger(L, x);
      lua_setfield(L, -2, k);
    }
    const std::pair<const char*, double> values[] = {{"min", s.min}, {"max", s.max}, {"mean", s.mean},
                                                     {"std", s.std}, {"sum", s.sum}};
    for (const auto& [k, x] : values) {
      lua_pushnumber(L, x);
      lua_setfield(L, -2, k);
    }
    luaL_setmetatable(L, kStats);
    return 1;
  });
}

int stats_tostring(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "n");
  lua_getfield(L, 1, "mean");
  lua_getfield(L, 1, "std");
  lua_getfield(L, 1, "min");
  lua_getfield(L, 1, "max");
  lua_getfield(L, 1, "nan");
  lua_pushfstring(L, "[%d voxels: mean %f, std %f, min %f, max %f, %d NaN]", static_cast<int>(lua_tointeger(L, -6)),
                  lua_tonumber(L, -5), lua_tonumber(L, -4), lua_tonumber(L, -3), lua_tonumber(L, -2),
                  static_cast<int>(lua_tointeger(L, -1)));
  return 1;
}

// ---------------------------------------------------------------- filtering, resampling

// v:smooth{fwhm = 8} or v:smooth{fwhm = {fx, fy, fz}} (mm); v:smooth(8) also works.
int v_smooth(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  std::array<double, 3> fwhm{};
  int src = 2;
  if (lua_type(L, 2) == LUA_TTABLE) {
    check_options(L, 2, "smooth", {"fwhm"});
    lua_getfield(L, 2, "fwhm");
    src = lua_gettop(L);
    if (lua_isnil(L, src)) luaL_argerror(L, 2, "the option fwhm (mm) is required: v:smooth{fwhm = 8}");
  }
  if (lua_type(L, src) == LUA_TTABLE) {
    if (luaL_len(L, src) != 3) luaL_argerror(L, 2, "fwhm must be a number or a list of 3 numbers (mm)");
    for (int d = 0; d < 3; ++d) {
      lua_rawgeti(L, src, d + 1);
      if (!lua_isnumber(L, -1)) luaL_argerror(L, 2, "fwhm must be a number or a list of 3 numbers (mm)");
      fwhm[static_cast<std::size_t>(d)] = lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
  } else {
    if (!lua_isnumber(L, src)) luaL_argerror(L, 2, "fwhm must be a number or a list of 3 numbers (mm)");
    fwhm.fill(lua_tonumber(L, src));
  }
  // The bound (10 m, far beyond any image) keeps the kernel's radius an integer
  // (1e308 overflowed it; UBSan, found by the API fuzzer).
  for (double f : fwhm)
    if (!(f >= 0) || !(f <= 1e4)) luaL_argerror(L, 2, "fwhm must be between 0 and 10000 mm");
  return push_new<Volume>(L, [&] { return nl::smooth(v, fwhm); });
}

// v:resample_to(ref [, "linear" | "nearest"]) -> Volume on ref's grid.
int v_resample_to(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  const Volume& ref = check<Volume>(L, 2);
  const int mode = as_option(L, 3, "method", [&] { return opt_choice(L, 3, "method", {"linear", "nearest"}, 0); });
  const auto interp = mode == 0 ? nl::Interpolation::Linear : nl::Interpolation::Nearest;
  return push_new<Volume>(L, [&] { return nl::resample(v, ref.grid(), interp); });
}

// ---------------------------------------------------------------- operators

// Shared body of + - * /: a Volume with a number or a Volume on the same grid.
int arith(lua_State* L, nl::ArithOp op) {
  const Volume* a = test<Volume>(L, 1);
  const Volume* b = test<Volume>(L, 2);
  if (!a && !lua_isnumber(L, 1))
    luaL_typeerror(L, 1, "neurolua.Volume or number");
  if (!b && !lua_isnumber(L, 2))
    luaL_typeerror(L, 2, "neurolua.Volume or number");
  if (!a && !b) luaL_typeerror(L, 1, "neurolua.Volume");  // the metamethod called directly with two numbers
  const double sa = a ? 0.0 : lua_tonumber(L, 1), sb = b ? 0.0 : lua_tonumber(L, 2);
  return push_new<Volume>(L, [&] {
    if (a && b) return nl::combine(*a, *b, op);
    return a ? nl::combine(*a, sb, op, false) : nl::combine(*b, sa, op, true);
  });
}

int v_add(lua_State* L) { return arith(L, nl::ArithOp::Add); }
int v_sub(lua_State* L) { return arith(L, nl::ArithOp::Sub); }
int v_mul(lua_State* L) { return arith(L, nl::ArithOp::Mul); }
int v_div(lua_State* L) { return arith(L, nl::ArithOp::Div); }

int v_unm(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  return push_new<Volume>(L, [&] { return nl::negate(v); });
}

// v:gt(x) etc.: a mask (1 where true, 0 elsewhere); x is a number or a Volume.
template <nl::VoxelCmp Op>
int v_compare(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  const Volume* w = test<Volume>(L, 2);
  const double s = w ? 0.0 : luaL_checknumber(L, 2);
  return push_new<Volume>(L, [&] { return w ? nl::compare(v, *w, Op) : nl::compare(v, s, Op); });
}

// m1 & m2, m1 | m2, m1 ~ m2 on masks (non-zero = true).
template <nl::VoxelLogic Op>
int v_logic(lua_State* L) {
  const Volume* a = test<Volume>(L, 1);
  const Volume* b = test<Volume>(L, 2);
  if (!a || !b) return luaL_error(L, "mask logic (&, |, ~) needs two neurolua.Volume masks");
  return push_new<Volume>(L, [&] { return nl::logical(*a, *b, Op); });
}

int v_not(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  return push_new<Volume>(L, [&] { return nl::logical_not(v); });
}

int v_newindex(lua_State* L) {
  return luaL_error(L, "cannot assign to a field of a neurolua.Volume; use v:set(i, j, k, value)");
}

int v_tostring(lua_State* L) {
  const Volume& v = check<Volume>(L, 1);
  return protect(L, [&] {
    const std::string s = nl::format_volume(v);
    lua_pushlstring(L, s.data(), s.size());
    return 1;
  });
}

// ---------------------------------------------------------------- registration

const luaL_Reg functions[] = {
    {"load", load},
    {"load_all", load_all},
    {"new", vnew},
    {nullptr, nullptr},
};

const luaL_Reg methods[] = {
    {"save", v_save},
    {"dims", v_dims},
    {"spacing", v_spacing},
    {"origin", v_origin},
    {"direction", v_direction},
    {"affine", v_affine},
    {"datatype", v_datatype},
    {"frames", v_frames},
    {"ndim", v_ndim},
    {"tr", v_tr},
    {"orientation", v_orientation},
    {"path", v_path},
    {"voxel_volume", v_voxel_volume},
    {"header", v_header},
    {"get", v_get},
    {"set", v_set},
    {"world", v_world},
    {"voxel", v_voxel},
    {"at", v_at},
    {"values", v_values},
    {"timeseries", v_timeseries},
    {"frame", v_frame},
    {"clone", v_clone},
    {"stats", v_stats},
    {"smooth", v_smooth},
    {"resample_to", v_resample_to},
    {"plot", volume_plot},
    {"eq", v_compare<nl::VoxelCmp::Eq>},
    {"ne", v_compare<nl::VoxelCmp::Ne>},
    {"lt", v_compare<nl::VoxelCmp::Lt>},
    {"le", v_compare<nl::VoxelCmp::Le>},
    {"gt", v_compare<nl::VoxelCmp::Gt>},
    {"ge", v_compare<nl::VoxelCmp::Ge>},
    {nullptr, nullptr},
};

const luaL_Reg metamethods[] = {
    {"__index", methods_only_index},
    {"__fields", no_fields},
    {"__newindex", v_newindex},
    {"__add", v_add},
    {"__sub", v_sub},
    {"__mul", v_mul},
    {"__div", v_div},
    {"__unm", v_unm},
    {"__band", v_logic<nl::VoxelLogic::And>},
    {"__bor", v_logic<nl::VoxelLogic::Or>},
    {"__bxor", v_logic<nl::VoxelLogic::Xor>},
    {"__bnot", v_not},
    {"__tostring", v_tostring},
    {nullptr, nullptr},
};

}  // namespace

// Pushes the nl.volume module table.
int open_volume(lua_State* L) {
  register_type<Volume>(L, methods, metamethods);
  register_record(L, kHeader,
                  {"nifti_version", "datatype", "scaled", "qform_code", "sform_code", "qfac", "quatern", "qoffset",
                   "pixdim", "xyz_units", "time_units", "toffset", "intent_code", "intent_name", "descrip", "cal_min",
                   "cal_max", "slice_code", "slice_duration"},
                  header_tostring);
  register_record(L, kStats, {"n", "nonzero", "nan", "min", "max", "mean", "std", "sum"}, stats_tostring);
  lua_newtable(L);
  set_bindings(L, functions);
  return 1;
}

}  // namespace nl::bind

// bindings/core/types.hpp: the Lua type name of every engine object exchanged between
// binding files. One place, so that luaL_checkudata messages ("neurolua.Matrix
// expected, got neurolua.Table") and the registry keys always agree.
#pragma once

#include "core/common.hpp"
#include "nl/atlas/atlas.hpp"
#include "nl/image/image.hpp"
#include "nl/io/voxel_store.hpp"
#include "nl/core/linalg.hpp"
#include "nl/ml/transform.hpp"
#include "nl/table/table.hpp"

namespace nl::bind {

template <>
struct TypeName<nl::Matrix> {
  static constexpr const char* value = "neurolua.Matrix";
};
template <>
struct TypeName<nl::Table> {
  static constexpr const char* value = "neurolua.Table";
};
template <>
struct TypeName<const nl::Column> {
  static constexpr const char* value = "neurolua.Column";
};
template <>
struct TypeName<nl::ml::Transform> {
  static constexpr const char* value = "neurolua.Transform";
};

template <>
struct TypeName<nl::Volume> {
  static constexpr const char* value = "neurolua.Volume";
};
template <>
struct TypeName<nl::VoxelStore> {
  static constexpr const char* value = "neurolua.VoxelStore";
};
template <>
struct TypeName<nl::Atlas> {
  static constexpr const char* value = "neurolua.Atlas";
};

}  // namespace nl::bind

// bindings/core/fields.hpp: the field-access convention of every neurolua type
// (docs/reference/neurolua.md, "Conventions of the Lua surface").
//
//  * Every metatable has `__fields`, a function (obj) -> list of the names of the data
//    fields of obj (methods are listed by `__methods`). The REPL completes from it, the
//    conformance test checks that each name has a reference entry.
//  * Reading a field that does not exist raises, with a did-you-mean and the lists of
//    fields and methods: no_field() is the one place that builds that message.
//  * A renamed field stays readable under its old name for one release: renamed()
//    maps the old name to the new one and warns once per session (on standard error,
//    and in the list nl.deprecations() returns).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/common.hpp"

namespace nl::bind {

// ---------------------------------------------------------------- unknown fields

// The closest of `candidates` to `key` (case-insensitive edit distance, or the same name
// with or without a trailing underscore), or "" when none is close enough.
std::string closest_name(std::string_view key, const std::vector<std::string_view>& candidates);

// Raises "<type> has no field 'key'; did you mean 'x'? (fields: ...; methods: ...)" for
// the object at index obj (its metatable supplies __name, __fields and __methods).
// Call it from __index with nothing of C++ alive in the frame (it longjmps).
int no_field(lua_State* L, int obj, int key);

// Raises "<what> is not fitted: call fit first (<field> is learned by fit)": reading a
// learned field of a model before fit is a mistake, not a nil.
int not_fitted(lua_State* L, const char* what, const char* field);

// __index for types whose only keys are methods: the method, or no_field.
int methods_only_index(lua_State* L);

// A __fields function for types without data fields: returns an empty list.
int no_fields(lua_State* L);

// Pushes a list of the given names (for a __fields function).
int push_names(lua_State* L, std::initializer_list<const char*> names);
// The same for a nullptr-terminated list (a type's field table, shared with field_index).
int push_names(lua_State* L, const char* const* names);

// The position of the string key at idx in the nullptr-terminated list `names`, or -1
// (also when the key is not a string). For __index functions that switch on a field.
int field_index(lua_State* L, int idx, const char* const* names);

// Creates the metatable `name` ("neurolua.GLMResult") of a record type: a plain Lua table
// of results whose fields are the names in `fields`, each of which a record may lack (an
// optional field). __index reads such a missing field as nil, serves the old names in
// `renames` (with a deprecation warning) and raises no_field for any other key;
// __fields lists the fields the record has, in the order of `fields`; __all_fields lists
// every field it may have (no_field suggests and lists from it); __methods is empty;
// __tostring is `tostring`. Leaves nothing on the stack. (Renamed is declared below.)
struct Renamed;
void register_record(lua_State* L, const char* name, std::initializer_list<const char*> fields,
                     lua_CFunction tostring, std::initializer_list<Renamed> renames = {});

// ---------------------------------------------------------------- renamed fields

struct Renamed {
  const char* old_name;
  const char* new_name;
};

// If key is the old name of a renamed field of `type`, warns once per session and
// returns the new name; otherwise returns key.
const char* renamed(lua_State* L, const char* type, const char* key, const Renamed* renames, std::size_t count);
template <std::size_t N>
const char* renamed(lua_State* L, const char* type, const char* key, const Renamed (&renames)[N]) {
  return renamed(L, type, key, renames, N);
}

// Records and prints (once per message per session) a deprecation warning.
void deprecation_warning(lua_State* L, const std::string& message);

// nl.deprecations() -> list of the deprecation warnings issued so far in this session.
int deprecations(lua_State* L);

}  // namespace nl::bind

// bindings/core/common.hpp: the glue conventions every binding file follows.
//
// The only directory that sees lua.h. Rules (STYLE.md items 3-6):
//  * Each exposed type T has a named metatable (TypeName<T>::value, e.g.
//    "neurolua.Matrix"); its userdata holds a std::shared_ptr<T>, released by __gc or
//    __close (at once, or when no binding is running: lifetime.hpp). check<T>() is the
//    one accessor; it raises for a freed object.
//  * Every exposed function is registered through set_bindings/push_binding
//    (lifetime.hpp); functions that modify an engine object call
//    forbid_reentrant_change first.
//  * Lua code can run inside a binding (metamethods of arguments, callbacks, and __gc
//    finalizers at any allocation): read every Lua table argument once, and keep the
//    pointers read then (the objects stay alive); never re-read a table entry and use
//    it unchecked.
//  * A bound function reads all of its Lua arguments first (luaL_check*), then runs the
//    engine inside protect(). Engine exceptions are turned into Lua errors only after
//    the catch block has ended, so no C++ object is alive when Lua longjmps.
//  * Inside a protect() body: no luaL_check*, lua_error or lua_call. Pushing plain
//    values is allowed (those raise only when Lua itself is out of memory).
//  * New userdata are created before protect() with new_object<T>(), which returns the
//    empty shared_ptr slot that the body then fills.
#pragma once

extern "C" {
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
}

#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include "core/lifetime.hpp"
#include "nl/core/core.hpp"

namespace nl::bind {

// ---------------------------------------------------------------- type registry

// Specialize with `static constexpr const char* value = "neurolua.Name";`
template <class T>
struct TypeName;

// One address per type: the tag every Box carries (below).
template <class T>
inline constexpr char kTypeTag = 0;

// The userdata of a T. `tag` and the userdata's size are checked with the metatable,
// so that a userdata given another type's metatable (debug.setmetatable, outside the
// sandbox) is never read as a T.
template <class T>
struct Box {
  const void* tag = &kTypeTag<T>;
  bool freed = false;  // by __gc or __close: every later access raises
  std::shared_ptr<T> ptr;
};

// The box at idx if it holds a T whose object is alive, else nullptr. A box freed
// while a binding runs keeps its object until the binding ends (lifetime.hpp), so a
// pointer found here once stays valid for the whole call. Never raises.
template <class T>
Box<T>* box_at(lua_State* L, int idx) {
  void* p = luaL_testudata(L, idx, TypeName<T>::value);
  if (!p || lua_rawlen(L, idx) != sizeof(Box<T>)) return nullptr;
  auto* box = static_cast<Box<T>*>(p);
  return box->tag == &kTypeTag<T> && box->ptr ? box : nullptr;
}

// The name of the metatable a freed T gets ("freed neurolua.Matrix"), so that argument
// errors read "neurolua.Matrix expected, got freed neurolua.Matrix".
// (Built out of line: inlined, GCC 12 reports a false -Warray-bounds on the copy, PR 105651.)
[[gnu::noinline]] inline std::string freed_prefixed(const char* type) { return std::string("freed ") + type; }

template <class T>
const char* freed_name() {
  static const std::string name = freed_prefixed(TypeName<T>::value);
  return name.c_str();
}

// Raises "bad argument #idx (Matrix has been freed ...)" when idx holds a freed T;
// else returns.
template <class T>
void check_not_freed(lua_State* L, int idx) {
  bool freed = luaL_testudata(L, idx, freed_name<T>()) != nullptr;
  if (auto* p = static_cast<Box<T>*>(luaL_testudata(L, idx, TypeName<T>::value)))
    freed = lua_rawlen(L, idx) == sizeof(Box<T>) && p->tag == &kTypeTag<T> && (p->freed || !p->ptr);
  if (freed)
    luaL_argerror(L, idx,
                  lua_pushfstring(L, "%s has been freed (by <close> or __gc) and can no longer be used",
                                  TypeName<T>::value + 9));  // "Matrix"
}

// The object at idx, or a Lua argument error naming the expected type (or saying that
// the object has been freed).
template <class T>
T& check(lua_State* L, int idx) {
  Box<T>* box = box_at<T>(L, idx);
  if (!box || box->freed) {
    check_not_freed<T>(L, idx);
    luaL_checkudata(L, idx, TypeName<T>::value);
    luaL_argerror(L, idx, "not a genuine neurolua object (its metatable was replaced)");
  }
  return *box->ptr;
}

// The object at idx, or nullptr if idx does not hold a live T (an object freed during
// this call still counts). Never raises (it may be called inside a protect() body).
template <class T>
T* test(lua_State* L, int idx) {
  Box<T>* box = box_at<T>(L, idx);
  return box ? box->ptr.get() : nullptr;
}

// The shared pointer at idx (for views that must keep their parent alive).
template <class T>
std::shared_ptr<T>& check_shared(lua_State* L, int idx) {
  check<T>(L, idx);
  return box_at<T>(L, idx)->ptr;
}

// Pushes a new, empty userdata of type T with its metatable; returns its slot.
template <class T>
std::shared_ptr<T>* new_object(lua_State* L) {
  void* mem = lua_newuserdatauv(L, sizeof(Box<T>), 0);
  auto* box = new (mem) Box<T>();
  luaL_setmetatable(L, TypeName<T>::value);
  return &box->ptr;
}

// Drops the object of the freed T at idx and gives the userdata the freed metatable
// (whose __close does nothing and whose other metamethods raise).
template <class T>
void finish(lua_State* L, int idx) {
  auto* box = static_cast<Box<T>*>(lua_touserdata(L, idx));
  lua_pushvalue(L, idx);
  luaL_setmetatable(L, freed_name<T>());
  lua_pop(L, 1);
  box->ptr.reset();  // engine destructors: no Lua
}

// __gc and __close of every type. Idempotent: the first call marks the box freed
// (check<T> raises from then on) and hands it to release_object, which finishes it at
// once unless a binding is running, then as soon as none is (lifetime.hpp).
template <class T>
int gc(lua_State* L) {
  auto* box = static_cast<Box<T>*>(luaL_testudata(L, 1, TypeName<T>::value));
  if (!box) {
    if (luaL_testudata(L, 1, freed_name<T>())) return 0;  // finished before
    luaL_checkudata(L, 1, TypeName<T>::value);            // raises
  }
  if (lua_rawlen(L, 1) != sizeof(Box<T>) || box->tag != &kTypeTag<T>)
    return luaL_argerror(L, 1, "not a genuine neurolua object (its metatable was replaced)");
  if (box->freed && !box->ptr) return 0;
  // A second call (the collector's, or lua_close's, after a __close that had to wait)
  // finishes a box still waiting when no binding runs.
  box->freed = true;
  release_object(L, 1, finish<T>);
  return 0;
}

// __index, __newindex and __tostring of a freed object.
int freed_access(lua_State* L);
int freed_tostring(lua_State* L);
int freed_close(lua_State* L);

// Sets the __metatable field of the metatable on top of the stack: a copy of it without
// __gc and __close, so that getmetatable(x) still gives __name, __methods, __fields and
// the metamethods (the REPL and help read them) but never a way to free x.
void protect_metatable(lua_State* L);

// Creates the metatable TypeName<T>::value with the given metamethods, a `__methods`
// table holding `methods`, and (unless metamethods define one) __index = __methods.
// __gc and __close are added, __metatable protects it (protect_metatable), and the
// metatable of freed T objects is made too. Every function is registered as a binding
// (set_bindings). Leaves nothing on the stack.
template <class T>
void register_type(lua_State* L, const luaL_Reg* methods, const luaL_Reg* metamethods) {
  luaL_newmetatable(L, TypeName<T>::value);
  set_bindings(L, metamethods);
  lua_newtable(L);
  set_bindings(L, methods);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "__methods");
  if (lua_getfield(L, -2, "__index") == LUA_TNIL) {
    lua_pop(L, 1);
    lua_setfield(L, -2, "__index");
  } else {
    lua_pop(L, 2);
  }
  lua_pushcfunction(L, gc<T>);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, gc<T>);
  lua_setfield(L, -2, "__close");
  protect_metatable(L);
  lua_pop(L, 1);

  luaL_newmetatable(L, freed_name<T>());
  const luaL_Reg freed[] = {{"__index", freed_access}, {"__newindex", freed_access}, {"__len", freed_access},
                            {"__call", freed_access},   {"__tostring", freed_tostring}, {"__close", freed_close},
                            {nullptr, nullptr}};
  set_bindings(L, freed);
  lua_pushstring(L, freed_name<T>());
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);
}

// Looks up key (at stack index k) in the __methods table of the metatable of the
// value at index 1; pushes the method and returns true, or pushes nothing.
inline bool push_method(lua_State* L, int k) {
  if (!lua_getmetatable(L, 1)) return false;
  if (lua_getfield(L, -1, "__methods") != LUA_TTABLE) {  // not a neurolua object (an __index called directly)
    lua_pop(L, 2);
    return false;
  }
  lua_pushvalue(L, k);
  if (lua_rawget(L, -2) != LUA_TNIL) {
    lua_replace(L, -3);
    lua_pop(L, 1);
    return true;
  }
  lua_pop(L, 3);
  return false;
}

// ---------------------------------------------------------------- errors

// Thrown inside a protect() body to report a bad argument at Lua position `arg`
// (becomes "bad argument #arg to 'f' (message)").
class ArgError : public std::exception {
 public:
  ArgError(int arg, std::string msg) : arg_(arg), msg_(std::move(msg)) {}
  const char* what() const noexcept override { return msg_.c_str(); }
  int arg() const noexcept { return arg_; }

 private:
  int arg_;
  std::string msg_;
};

// Runs body() (which returns the number of results it pushed) and converts any
// exception into a Lua error after the catch block has ended.
template <class F>
int protect(lua_State* L, F&& body) {
  char message[2048];
  int arg = 0;
  {
    try {
      return body();
    } catch (const ArgError& e) {
      arg = e.arg();
      std::snprintf(message, sizeof message, "%s", e.what());
    } catch (const std::bad_alloc&) {
      nl::note_out_of_memory();
      std::snprintf(message, sizeof message, "not enough memory");
    } catch (const std::exception& e) {
      std::snprintf(message, sizeof message, "%s", e.what());
    } catch (...) {
      std::snprintf(message, sizeof message, "unknown internal error");
    }
  }
  if (arg > 0) return luaL_argerror(L, arg, message);
  return luaL_error(L, "%s", message);
}

// Pushes a new T computed by f() inside protect() (the one way to return a freshly
// computed engine object: the userdata is created first, so a failing f() leaves no
// half-made object behind).
template <class T, class F>
int push_new(lua_State* L, F&& f) {
  auto* slot = new_object<T>(L);
  return protect(L, [&] {
    *slot = std::make_shared<T>(f());
    return 1;
  });
}

// ---------------------------------------------------------------- argument helpers

// An integer argument within [lo, hi], with a message naming what it is.
inline lua_Integer check_range(lua_State* L, int idx, lua_Integer lo, lua_Integer hi, const char* what) {
  const lua_Integer v = luaL_checkinteger(L, idx);
  if (v < lo || v > hi)
    luaL_argerror(L, idx, lua_pushfstring(L, "%s %I out of range [%I, %I]", what, v, lo, hi));
  return v;
}

// Length of the sequence at idx (a Lua table), raising if idx is not a table.
inline lua_Integer check_list(lua_State* L, int idx) {
  luaL_checktype(L, idx, LUA_TTABLE);
  return luaL_len(L, idx);
}

// Pushes t[key] of the table at idx without metamethods (nil when idx is not a table)
// and returns its type: the one way to read a field inside a protect() body.
inline int raw_field(lua_State* L, int idx, const char* key) {
  if (lua_type(L, idx) != LUA_TTABLE) {
    lua_pushnil(L);
    return LUA_TNIL;
  }
  idx = lua_absindex(L, idx);
  lua_pushstring(L, key);
  return lua_rawget(L, idx);
}

// ---------------------------------------------------------------- module pieces

// The session random stream: used when a function that draws random numbers is given
// no seed. A fresh session starts from seed 0; nl.seed(n) resets it.
nl::Rng& session_rng();

// Each binding file defines one opener that pushes its module value.
int open_matrix(lua_State* L);
int open_table(lua_State* L);
int open_volume(lua_State* L);
int open_atlas(lua_State* L);
// nl.ml is assembled from several files, each adding its functions to the table on top.
void open_ml_transforms(lua_State* L);
void open_ml_models(lua_State* L);
int open_cv(lua_State* L);
int open_sim(lua_State* L);
int open_fc(lua_State* L);
// nl.stats.lmm: adds `lmm` to the `stats` field of the nl table on top (creating it
// when absent), so it works before or after whatever else builds nl.stats.
void open_lmm(lua_State* L);
int open_stats(lua_State* L);
// nl.plot: pushes the table of chart functions (bindings/plot/plot.cpp).
int open_plot(lua_State* L);
// nl.inputs, nl.commit and nl._report (the C side of nl.report): added to the nl table
// on top.
void open_provenance(lua_State* L);
// nl.plot is assembled from several files; brain slices (bindings/plot/slices.cpp) add
// nl.plot.brain to the table on top. Volume:plot and Atlas:plot are registered by
// bindings/image/volume.cpp and bindings/atlas/atlas.cpp.
void open_plot_slices(lua_State* L);
int volume_plot(lua_State* L);
// nl.store (bindings/image/store.cpp): the out-of-core voxel store, added to the nl table
// on top.
void open_store(lua_State* L);
int atlas_plot(lua_State* L);

}  // namespace nl::bind

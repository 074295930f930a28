// lifetime.cpp: binding frames, deferred release and the re-entrancy guard
// (lifetime.hpp).
#include "core/lifetime.hpp"

#include <cstddef>
#include <cstring>

namespace nl::bind {

namespace {

// Registry keys (their addresses): the lifetime record, whose __gc finishes every
// waiting object at lua_close; the table of objects freed while a binding ran
// (userdata -> its finish function, as a light userdata); the weak-keyed set of the
// coroutines that entered a binding.
const char kLifetimeKey = 0;
const char kDeferredKey = 0;
const char kThreadsKey = 0;
const char kKeepKey = 0;  // values keep_alive holds until no binding runs
constexpr const char* kLifetimeType = "nl.lifetime";

// Hints that keep the common paths free of stack walks. Lua states are used by one OS
// thread at a time and bindings never run Lua from worker threads, so thread_local is
// exact enough: t_depth is an upper bound of the binding frames active in the state
// (a binding left by a Lua error never decrements it; a walk from the main thread sets
// it back to the true count); t_pending counts the objects waiting in kDeferredKey.
thread_local long t_depth = 0;
thread_local long t_pending = 0;
thread_local bool t_keeping = false;  // kKeepKey holds something
thread_local lua_State* t_main = nullptr;  // the main thread last seen

int trampoline(lua_State* L);
thread_local lua_State* t_calling = nullptr;  // calling_state()

bool is_main(lua_State* L) {
  if (L == t_main) return true;
  const bool main = lua_pushthread(L) == 1;
  lua_pop(L, 1);
  if (main) t_main = L;
  return main;
}

// Binding frames of thread co from level `from` (stops at the first when `any`). A
// stack that cannot grow by one slot counts as holding one (the safe answer).
int count_frames(lua_State* co, int from, bool any) {
  lua_Debug ar;
  int n = 0;
  for (int level = from; lua_getstack(co, level, &ar); ++level) {
    if (!lua_checkstack(co, 1)) return n + 1;
    lua_getinfo(co, "f", &ar);  // pushes the frame's function
    const bool binding = lua_tocfunction(co, -1) == trampoline;
    lua_pop(co, 1);
    if (binding) {
      ++n;
      if (any) return n;
    }
  }
  return n;
}

// Whether a coroutine other than L that entered a binding, or the main thread, has a
// binding frame (called from a coroutine).
bool other_threads_active(lua_State* L) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  lua_State* main = lua_tothread(L, -1);
  lua_pop(L, 1);
  if (main && main != L && count_frames(main, 0, true) > 0) return true;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &kThreadsKey) != LUA_TTABLE) {
    lua_pop(L, 1);
    return false;
  }
  bool active = false;
  lua_pushnil(L);
  while (!active && lua_next(L, -2) != 0) {
    lua_pop(L, 1);  // the value (true)
    lua_State* co = lua_tothread(L, -1);
    if (co && co != L && co != main && lua_status(co) == LUA_OK && count_frames(co, 0, true) > 0) active = true;
  }
  lua_pop(L, active ? 2 : 1);  // the key left by an early stop, and the set
  return active;
}

// Records a coroutine that enters a binding (weakly: a dead coroutine is collected).
void record_thread(lua_State* L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &kThreadsKey) == LUA_TTABLE) {
    lua_pushthread(L);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
  }
  lua_pop(L, 1);
}

// Finishes every waiting object (when no binding runs, or at lua_close).
void finish_all(lua_State* L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &kDeferredKey) != LUA_TTABLE) {
    lua_pop(L, 1);
    return;
  }
  const int deferred = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, deferred) != 0) {
    const auto finish = reinterpret_cast<FinishFn>(lua_touserdata(L, -1));
    lua_pop(L, 1);  // the finish function; the key (the object) stays for lua_next
    if (finish) finish(L, lua_gettop(L));
    lua_pushvalue(L, -1);
    lua_pushnil(L);
    lua_rawset(L, deferred);  // clearing a visited field is allowed during lua_next
  }
  lua_pop(L, 1);
  t_pending = 0;
  if (t_keeping) {
    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &kKeepKey);
    t_keeping = false;
  }
}

// Every exposed function runs through here (upvalue 1: the function itself). Its frame
// is what count_frames looks for.
int trampoline(lua_State* L) {
  if (lua_type(L, lua_upvalueindex(1)) != LUA_TLIGHTUSERDATA)  // only debug.setupvalue can do this
    return luaL_error(L, "neurolua: this function's upvalue was replaced");
  const auto fn = reinterpret_cast<lua_CFunction>(lua_touserdata(L, lua_upvalueindex(1)));
  ++t_depth;
  if (!is_main(L)) record_thread(L);
  if ((t_pending > 0 || t_keeping) && !binding_active(L, 1)) finish_all(L);
  lua_State* const caller = t_calling;
  t_calling = L;
  const int results = fn(L);
  t_calling = caller;  // (not restored when fn raised: set_calling_state repairs that)
  --t_depth;
  return results;
}

int lifetime_gc(lua_State* L) {
  finish_all(L);
  t_depth = 0;
  t_main = nullptr;
  return 0;
}

}  // namespace

void open_lifetime(lua_State* L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &kLifetimeKey) != LUA_TNIL) {  // opened before
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  lua_newuserdatauv(L, 1, 0);
  luaL_newmetatable(L, kLifetimeType);
  lua_pushcfunction(L, lifetime_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushliteral(L, "nl.lifetime");
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kLifetimeKey);
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kDeferredKey);
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kKeepKey);
  lua_newtable(L);  // the coroutines that entered a binding, weak keys
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kThreadsKey);
}

lua_State* calling_state() noexcept { return t_calling; }
void set_calling_state(lua_State* L) noexcept { t_calling = L; }

void push_binding(lua_State* L, lua_CFunction fn) {
  lua_pushlightuserdata(L, reinterpret_cast<void*>(fn));
  lua_pushcclosure(L, trampoline, 1);
}

void set_bindings(lua_State* L, const luaL_Reg* l) {
  for (; l->name; ++l) {
    push_binding(L, l->func);
    lua_setfield(L, -2, l->name);
  }
}

bool binding_active(lua_State* L, int skip) {
  if (t_depth <= skip) return false;  // the hint is an upper bound
  const int here = count_frames(L, skip, false);
  if (is_main(L)) {
    t_depth = here + skip;  // exact: no coroutine can hold a binding frame now
    return here > 0;
  }
  return here > 0 || other_threads_active(L);
}

void release_object(lua_State* L, int idx, FinishFn finish) {
  idx = lua_absindex(L, idx);
  if (!binding_active(L, 0)) {
    finish(L, idx);
    if (t_pending > 0) finish_all(L);
    return;
  }
  // Keeps the userdata (and so its object) until no binding runs; a userdata the
  // collector was finalizing is resurrected by this reference until then.
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kDeferredKey);
  lua_pushvalue(L, idx);
  lua_pushlightuserdata(L, reinterpret_cast<void*>(finish));
  lua_rawset(L, -3);
  lua_pop(L, 1);
  ++t_pending;
}

void keep_alive(lua_State* L, int idx) {
  const int t = lua_type(L, idx);
  if (t != LUA_TSTRING && t != LUA_TTABLE && t != LUA_TUSERDATA && t != LUA_TFUNCTION && t != LUA_TTHREAD) return;
  idx = lua_absindex(L, idx);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kKeepKey);
  lua_pushvalue(L, idx);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  t_keeping = true;
}

void forbid_reentrant_change(lua_State* L, const char* what) {
  if (binding_active(L, 1))
    luaL_error(L,
               "cannot modify a %s while another neurolua function is running (this code was called by "
               "it: from an option's metamethod, a callback or a __gc finalizer)",
               what);
}

// ---------------------------------------------------------------- metatables

namespace {

// "Matrix" from the metatable name of the value at 1 ("freed neurolua.Matrix").
const char* freed_type(lua_State* L) {
  const char* name = "object";
  if (luaL_getmetafield(L, 1, "__name") == LUA_TSTRING) {
    name = lua_tostring(L, -1);
    if (const char* dot = std::strrchr(name, '.')) name = dot + 1;
  }
  return name;  // the string stays on the stack
}

}  // namespace

int freed_access(lua_State* L) {
  return luaL_error(L, "this %s has been freed (by <close> or __gc) and can no longer be used", freed_type(L));
}

int freed_tostring(lua_State* L) {
  lua_pushfstring(L, "[freed %s]", freed_type(L));
  return 1;
}

int freed_close(lua_State*) { return 0; }

void protect_metatable(lua_State* L) {
  const int mt = lua_gettop(L);
  lua_newtable(L);  // the public view
  lua_pushnil(L);
  while (lua_next(L, mt) != 0) {
    const char* key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
    if (std::strcmp(key, "__gc") == 0 || std::strcmp(key, "__close") == 0 || std::strcmp(key, "__metatable") == 0) {
      lua_pop(L, 1);
      continue;
    }
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, mt + 1);
  }
  lua_setfield(L, mt, "__metatable");
}

}  // namespace nl::bind

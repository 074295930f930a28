// bindings/core/lifetime.hpp: the lifetime rules that keep every engine object a
// binding uses alive and unchanged for the whole of the call (issue 17, item 2).
//
// A bound function may run Lua code in the middle of its work: an options table's
// __index, a __len or __tostring metamethod, a callback (t:filter(fn)), a library
// function the script replaced (string.lower), or, at any allocation on the Lua stack,
// a __gc finalizer. That code can reach the objects the binding holds by reference
// (a `T&` from check<T>, a pointer from a table entry) and, without these rules, free
// them (`<close>`, a __gc called through debug.getmetatable or the registry) or
// change them (t.x = ..., m[i] = ..., svc:fit(...)). The rules:
//
//  * Every function the bindings expose is registered through set_bindings() or
//    push_binding(): a trampoline that marks its stack frame as a binding frame (the
//    C function of the frame is the trampoline), so the frames of running bindings can
//    be found by walking the Lua stacks.
//  * __gc and __close mark the userdata freed at once (check<T> then raises), but its
//    object is dropped only when no binding frame is active in the state; otherwise
//    the userdata is kept in a registry table (resurrected, if the collector was
//    finalizing it) until the next point where none is (the entry of an outermost
//    binding, or a later release). Real garbage collection and manual calls are
//    treated alike, so a pointer a binding took from a table entry that Lua code then
//    dropped stays valid too, and test<T> still finds the object for the rest of the
//    call.
//  * Functions that modify an engine object call forbid_reentrant_change() first: it
//    raises if another binding frame is active, so Lua code triggered by a binding can
//    never change what that binding is reading.
//
// Threads: a binding cannot yield (bindings call Lua only with lua_call), so while the
// main thread runs, no coroutine has an active binding frame. Coroutines that ever
// entered a binding are recorded (weakly) so that a walk from a coroutine also sees
// the bindings of the threads that resumed it.
//
// What this does not cover: the debug library (absent under --sandbox) can rewrite a
// binding's stack slots (debug.setlocal on a C frame) or the upvalues of C closures;
// the type tag in every userdata (common.hpp) stops debug.setmetatable from making one
// type pass for another, and trampolines check their upvalue, but a script that uses
// debug.setlocal on a running binding is outside the memory-safety promise.
#pragma once

extern "C" {
#include <lauxlib.h>
#include <lua.h>
}

namespace nl::bind {

// Creates the per-state lifetime record (registry); called once by luaopen_neurolua
// before any type is registered.
void open_lifetime(lua_State* L);

// Pushes fn wrapped as a binding (fn must not use upvalues).
void push_binding(lua_State* L, lua_CFunction fn);

// set_bindings(L, l) with every function wrapped by push_binding.
void set_bindings(lua_State* L, const luaL_Reg* l);

// Whether a binding frame other than the innermost `skip` frames of L is active in
// the state.
bool binding_active(lua_State* L, int skip);

// Finishes a freed userdata: drops its object and gives it the freed metatable.
using FinishFn = void (*)(lua_State* L, int idx);

// Finishes the freed userdata at idx now if no binding frame is active, else keeps it
// (and its object) until none is.
void release_object(lua_State* L, int idx, FinishFn finish);

// Keeps the value at idx (a string, table, userdata, ...) referenced until no binding
// runs: for a pointer into a value read from an options table (a const char*), which
// Lua code run later in the call (another option's __index) could otherwise drop. The
// value need not stay in the table, nor have been there (an __index may make it).
void keep_alive(lua_State* L, int idx);

// The Lua thread of the innermost running binding on this OS thread (null outside any):
// where engine code called by a binding calls back into Lua (the Lua steps of a
// pipeline). A binding that raises leaves it set to its own thread; whoever ran Lua
// code that may have done so (a lua_pcall) restores it with set_calling_state.
lua_State* calling_state() noexcept;
void set_calling_state(lua_State* L) noexcept;

// Raises "cannot modify a <what> while another neurolua function is running ..." when
// the calling binding was reached from Lua code that another binding triggered.
void forbid_reentrant_change(lua_State* L, const char* what);

}  // namespace nl::bind

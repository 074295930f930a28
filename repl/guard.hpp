// guard.hpp: stopping a run that Lua code cannot keep going: Ctrl-C, --max-seconds and
// --max-memory (docs/reference/neurolua.md, docs/reliability.md "Resource limits").
//
// One mechanism serves the three. A count hook, installed on the main Lua state before
// any code runs and so inherited by every coroutine, polls a process-wide stop reason
// every 1000 instructions (and the deadline). Once a stop is requested, the hook raises
// the stop's error and re-arms itself on every instruction, so a `pcall` that catches the
// error is raised again at its caller's next instruction: no Lua code can swallow a stop,
// only the interpreter's top level ends it. The engine's long loops see the same stop
// through nl::request_interrupt. Under --sandbox the debug library is gone, so the hook
// cannot be removed either.
#pragma once

#include <cstdint>
#include <string>

extern "C" {
#include <lua.h>
}

namespace nl::repl {

enum class Stop { none = 0, interrupt = 1, time = 2, memory = 3 };

// Installs the hook and the counting allocator on a new main state (before any coroutine
// exists). `max_seconds` <= 0 and `max_bytes` == 0 mean no limit.
void install_guard(lua_State* L, double max_seconds, std::uint64_t max_bytes);

// Requests a stop (async-signal-safe; the first reason wins until clear_stop). With L, the
// hook of that state is set to fire at its next instruction.
void request_stop(Stop why, lua_State* L = nullptr) noexcept;
Stop stop_reason() noexcept;
// Ends an interrupt (the REPL goes on); a time or memory stop is final and stays.
void clear_interrupt_stop(lua_State* L) noexcept;
// The message a stop raises, e.g. "time limit of 5 s reached (--max-seconds)".
std::string stop_message(Stop why);
// The exit status of a run ended by a stop: 130 (Ctrl-C, as a shell reports SIGINT), 124
// (time, as timeout(1)), 125 (memory); 1 when there was no stop.
int stop_exit_status(Stop why) noexcept;

// A run ended by "not enough memory" (LUA_ERRMEM) at the top level: the memory limit
// counts as reached when the live Lua heap is at it.
void note_memory_error(lua_State* L) noexcept;

// Wraps the global xpcall so that its message handler is skipped during a stop. Lua runs
// a message handler where the error is raised, and the stop's error is raised inside the
// hook, where hooks are off: a looping handler would never be stopped.
void guard_xpcall(lua_State* L);

// "512M", "2G", "1.5GB", "1000000" -> bytes; false when the text is no size.
bool parse_bytes(const char* text, std::uint64_t& bytes);

}  // namespace nl::repl

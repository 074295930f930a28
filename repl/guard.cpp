// guard.cpp: see guard.hpp.
#include "guard.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "nl/core/core.hpp"
#include "nl/core/memory.hpp"

extern "C" {
#include <lauxlib.h>
}

namespace nl::repl {

namespace {

constexpr int kEvery = 1000;  // instructions between two looks at the stop reason

std::atomic<int> g_stop{0};
static_assert(std::atomic<int>::is_always_lock_free, "request_stop runs in a signal handler");

// The messages, formatted once when the limits are set: the hook raises them with no
// formatting of its own, and may run when the Lua heap is at its limit.
char g_time_message[128] = "time limit reached (--max-seconds)";
char g_memory_message[128] = "memory limit reached (--max-memory)";

const char* message_of(Stop why) {
  switch (why) {
    case Stop::time: return g_time_message;
    case Stop::memory: return g_memory_message;
    default: return "interrupted";
  }
}

bool heap_refused();
void check_heap(lua_State* L);

void guard_hook(lua_State* L, lua_Debug*) {
  if (heap_refused()) check_heap(L);
  const int s = g_stop.load(std::memory_order_relaxed);
  if (s == 0) {
    // A coroutine that ran during a stop was set to every instruction: back to the cheap rate.
    if (lua_gethookcount(L) != kEvery) lua_sethook(L, guard_hook, LUA_MASKCOUNT, kEvery);
    return;
  }
  // From now on this thread raises at every instruction: whoever catches the error runs
  // one instruction and raises again, until the interpreter's top level is reached.
  if (lua_gethookcount(L) != 1) lua_sethook(L, guard_hook, LUA_MASKCOUNT, 1);
  luaL_error(L, "%s", message_of(static_cast<Stop>(s)));
}

// ---------------------------------------------------------------- memory

// The Lua heap, counted: allocations that would take it past the limit fail (Lua then
// collects garbage and retries once, and raises "not enough memory" if that fails too,
// an error a pcall can catch). The limit counts as reached, a stop, when a refused
// request still does not fit after a full collection: the hook checks that after any
// refusal. So garbage never ends a run. After the stop a little more is allowed, for
// the error messages on the way out. When malloc itself fails, the process's data cap
// (below) is reached, which is the limit too.
struct Heap {
  lua_Alloc f = nullptr;
  void* ud = nullptr;
  std::int64_t used = 0;
  std::int64_t limit = 0;  // 0: none
  bool refused = false;    // an allocation was refused since the hook last looked
  std::int64_t wanted = 0; // the largest growth refused since then
  bool capped = false;     // malloc itself failed: the process's data cap (RLIMIT_DATA) is reached
};
Heap g_heap;
lua_State* g_main = nullptr;  // the main thread, for stops raised on it (engine out of memory)

void* guard_alloc(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
  auto* h = static_cast<Heap*>(ud);
  const std::int64_t old = ptr ? static_cast<std::int64_t>(osize) : 0;
  const std::int64_t grow = static_cast<std::int64_t>(nsize) - old;
  if (nsize > 0 && grow > 0 && h->limit > 0) {
    const std::int64_t slack = g_stop.load() == static_cast<int>(Stop::memory) ? (1 << 20) : 0;
    if (h->used + grow > h->limit + slack) {
      h->refused = true;
      h->wanted = std::max(h->wanted, grow);
      return nullptr;
    }
  }
  void* r = h->f(h->ud, ptr, osize, nsize);
  if (nsize == 0) h->used -= old;
  else if (r != nullptr) h->used += grow;
  else if (h->limit > 0) h->refused = h->capped = true;
  return r;
}

bool heap_refused() { return g_heap.refused; }

// Called from the hook after a refusal: is the live heap at the limit?
void check_heap(lua_State* L) {
  const std::int64_t wanted = g_heap.wanted;
  const bool capped = g_heap.capped;
  g_heap.refused = g_heap.capped = false;
  g_heap.wanted = 0;
  lua_gc(L, LUA_GCCOLLECT);
  if (capped || g_heap.used + wanted > g_heap.limit) request_stop(Stop::memory);
}

// VmData of this process now, in bytes (0 when /proc cannot tell).
std::uint64_t data_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmData:", 0) == 0) return std::strtoull(line.c_str() + 7, nullptr, 10) * 1024;
  return 0;
}

// The engine's share: its readers refuse loads above the budget, and (outside the
// sanitizers, whose shadow memory the kernel would count) the process's data segment is
// capped, so an engine allocation past the limit fails with std::bad_alloc, which the
// bindings turn into a stop through nl::set_out_of_memory_handler.
void limit_engine(std::uint64_t bytes) {
  nl::set_memory_ceiling(bytes);
  // (bindings run on the Lua thread: setting its hook from here is safe)
  nl::set_out_of_memory_handler([] { request_stop(Stop::memory, g_main); });
#if !defined(__SANITIZE_ADDRESS__) && !defined(NL_SANITIZED)
  struct rlimit r {};
  const std::uint64_t cap = data_bytes() + bytes;
  r.rlim_cur = r.rlim_max = static_cast<rlim_t>(cap);
  ::setrlimit(RLIMIT_DATA, &r);
#endif
}

// ---------------------------------------------------------------- time

// The deadline: a stop at max_seconds; if the run has not ended 10 s later (an engine
// call that does not poll for interrupts), the process ends with the same message and
// status. Outputs are written atomically, so no file is left half-written.
void start_watchdog(double seconds) {
  std::thread([seconds] {
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    request_stop(Stop::time);
    std::this_thread::sleep_for(std::chrono::seconds(10));
    std::fprintf(stderr, "neurolua: %s; the running computation did not stop, ending the process\n",
                 g_time_message);
    std::fflush(stderr);
    std::_Exit(stop_exit_status(Stop::time));
  }).detach();
}

}  // namespace

void install_guard(lua_State* L, double max_seconds, std::uint64_t max_bytes) {
  g_main = L;
  if (max_bytes > 0) {
    std::snprintf(g_memory_message, sizeof g_memory_message, "memory limit of %s reached (--max-memory)",
                  nl::format_bytes(static_cast<double>(max_bytes)).c_str());
    g_heap.f = lua_getallocf(L, &g_heap.ud);
    g_heap.used = lua_gc(L, LUA_GCCOUNT) * 1024LL + lua_gc(L, LUA_GCCOUNTB);
    g_heap.limit = static_cast<std::int64_t>(std::min<std::uint64_t>(max_bytes, INT64_MAX / 2));
    lua_setallocf(L, guard_alloc, &g_heap);
    limit_engine(max_bytes);
  }
  if (max_seconds > 0) {
    std::snprintf(g_time_message, sizeof g_time_message, "time limit of %g s reached (--max-seconds)", max_seconds);
    start_watchdog(max_seconds);
  }
  lua_sethook(L, guard_hook, LUA_MASKCOUNT, kEvery);
}

void request_stop(Stop why, lua_State* L) noexcept {
  int none = 0;
  g_stop.compare_exchange_strong(none, static_cast<int>(why));
  nl::request_interrupt();
  if (L) lua_sethook(L, guard_hook, LUA_MASKCOUNT, 1);
}

Stop stop_reason() noexcept { return static_cast<Stop>(g_stop.load()); }

void clear_interrupt_stop(lua_State* L) noexcept {
  int s = g_stop.load();
  if (s == static_cast<int>(Stop::time) || s == static_cast<int>(Stop::memory)) return;
  g_stop.compare_exchange_strong(s, 0);
  nl::clear_interrupt();
  if (L) lua_sethook(L, guard_hook, LUA_MASKCOUNT, kEvery);
}

std::string stop_message(Stop why) { return message_of(why); }

int stop_exit_status(Stop why) noexcept {
  switch (why) {
    case Stop::interrupt: return 130;
    case Stop::time: return 124;
    case Stop::memory: return 125;
    default: return 1;
  }
}

void note_memory_error(lua_State* L) noexcept {
  if (g_heap.limit > 0 && g_stop.load() == 0) check_heap(L);
}

void guard_xpcall(lua_State* L) {
  static const char kWrap[] = R"lua(
local raw_xpcall, stopping, type = xpcall, ...
function xpcall(f, handler, ...)
  if type(handler) ~= "function" then return raw_xpcall(f, handler, ...) end
  return raw_xpcall(f, function(e)
    if stopping() then return e end
    return handler(e)
  end, ...)
end
)lua";
  if (luaL_loadbufferx(L, kWrap, sizeof kWrap - 1, "=(guard)", "t") != LUA_OK) lua_error(L);
  lua_pushcfunction(L, [](lua_State* S) {
    lua_pushboolean(S, g_stop.load() != 0);
    return 1;
  });
  lua_pushglobaltable(L);
  lua_getfield(L, -1, "type");
  lua_remove(L, -2);
  lua_call(L, 2, 0);
}

bool parse_bytes(const char* text, std::uint64_t& bytes) {
  if (text == nullptr || *text == '\0') return false;
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (errno != 0 || end == text || !std::isfinite(v) || v <= 0) return false;
  double unit = 1;
  std::string suffix(end);
  for (auto& c : suffix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (suffix == "" || suffix == "B") unit = 1;
  else if (suffix == "K" || suffix == "KB" || suffix == "KIB") unit = 1024.0;
  else if (suffix == "M" || suffix == "MB" || suffix == "MIB") unit = 1024.0 * 1024;
  else if (suffix == "G" || suffix == "GB" || suffix == "GIB") unit = 1024.0 * 1024 * 1024;
  else if (suffix == "T" || suffix == "TB" || suffix == "TIB") unit = 1024.0 * 1024 * 1024 * 1024;
  else return false;
  const double b = v * unit;
  if (b < 1 || b > 1.8e19) return false;
  bytes = static_cast<std::uint64_t>(b);
  return true;
}

}  // namespace nl::repl

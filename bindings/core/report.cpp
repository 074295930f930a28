// report.cpp: what a long computation tells the user while it runs: the progress line
// and the engine's warnings (nl.progress, nl.warnings).
//
// Both are written by the engine's worker threads through plain C++ callbacks, never
// through Lua: the Lua state belongs to the thread that called the bound function.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <string>

#include <fmt/format.h>

#include "core/args.hpp"
#include "core/common.hpp"
#include "nl/core/warnings.hpp"

namespace nl::bind {

namespace {

using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------- switches

// nl.progress(false) or NEUROLUA_PROGRESS=0 turn progress lines off.
std::atomic<bool> g_progress{[] {
  const char* env = std::getenv("NEUROLUA_PROGRESS");
  return !(env && (std::strcmp(env, "0") == 0 || std::strcmp(env, "false") == 0 || std::strcmp(env, "off") == 0));
}()};
std::atomic<bool> g_print_warnings{true};

// NEUROLUA_PROGRESS_INTERVAL: seconds between redraws (default 0.25, four a second); a
// computation over within twice that leaves no line. 0 draws every step (the tests use
// it to see the line of a short computation).
const std::chrono::duration<double> g_interval{[] {
  const char* env = std::getenv("NEUROLUA_PROGRESS_INTERVAL");
  char* end = nullptr;
  const double v = env ? std::strtod(env, &end) : 0.25;
  return env && end != env && *end == '\0' && v >= 0 && v <= 3600 ? v : 0.25;
}()};

// Serialises everything written to standard error here. g_line_open: a progress line
// is on screen without its newline (a warning then starts a new line first).
std::mutex g_err_mu;
bool g_line_open = false;

// "0:27", "1:02:03".
std::string clock_text(double seconds) {
  if (!(seconds >= 0) || seconds > 360000) return "--:--";
  const auto s = static_cast<long long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string rate_text(double r) {
  if (r >= 10) return fmt::format("{:.0f}/s", r);
  if (r >= 0.1) return fmt::format("{:.1f}/s", r);
  return fmt::format("{:.2g}/s", r);
}

// ---------------------------------------------------------------- progress line

class ProgressLine {
 public:
  ProgressLine(std::string label, std::string unit, std::int64_t total_hint)
      : label_(std::move(label)), unit_(std::move(unit)), start_(Clock::now()) {
    if (total_hint > 0) {
      std::lock_guard<std::mutex> lock(g_err_mu);
      total_ = total_hint;
      draw(start_);
    }
  }

  // An interrupted or failed run ends its line, so the error starts on a line of its own.
  ~ProgressLine() {
    std::lock_guard<std::mutex> lock(g_err_mu);
    if (drawn_ && !finished_ && g_line_open) {
      std::fputc('\n', stderr);
      g_line_open = false;
    }
  }

  void update(std::int64_t done, std::int64_t total) {
    const auto now = Clock::now();
    std::lock_guard<std::mutex> lock(g_err_mu);
    if (finished_) return;
    total_ = total;
    if (done > done_) done_ = done;
    const bool last = done_ >= total_;
    if (!drawn_) {
      // A computation over within half a second (twice the interval) leaves no line.
      if (now - start_ < 2 * g_interval) {
        finished_ = last;
        return;
      }
    } else if (!last && now - last_draw_ < g_interval) {
      return;  // at most four redraws a second, plus the final line
    }
    draw(now);
  }

 private:
  // Called with g_err_mu held.
  void draw(Clock::time_point now) {
    constexpr int width = 20;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const bool last = total_ > 0 && done_ >= total_;
    const int filled = total_ > 0 ? static_cast<int>(width * std::min(done_, total_) / total_) : 0;
    std::string line = fmt::format("\r{}  [{}{}] {}/{}{}", label_, std::string(static_cast<std::size_t>(filled), '#'),
                                   std::string(static_cast<std::size_t>(width - filled), '.'), done_, total_, unit_);
    if (done_ > 0 && elapsed > 0) {
      const double rate = static_cast<double>(done_) / elapsed;
      line += "  " + rate_text(rate);
      line += last ? "  done in " + clock_text(elapsed)
                   : "  ETA " + clock_text(static_cast<double>(total_ - done_) / rate);
    }
    // Blank out what a longer previous line left behind.
    const std::size_t len = line.size();
    if (len < width_) line.append(width_ - len, ' ');
    width_ = len;
    if (last) line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
    g_line_open = !last;
    drawn_ = true;
    finished_ = last;
    last_draw_ = now;
  }

  std::string label_, unit_;
  Clock::time_point start_, last_draw_;
  std::int64_t done_ = 0, total_ = 0;
  std::size_t width_ = 0;
  bool drawn_ = false, finished_ = false;
};

// ---------------------------------------------------------------- warnings

constexpr std::size_t kKeptWarnings = 1000;
std::deque<std::string>& kept_warnings() {
  static std::deque<std::string> w;
  return w;
}

// The engine's warning sink (nl/core/warnings.hpp), installed by luaopen_neurolua.
void print_warning(const std::string& message) {
  std::lock_guard<std::mutex> lock(g_err_mu);
  auto& kept = kept_warnings();
  if (kept.size() == kKeptWarnings) kept.pop_front();
  kept.push_back(message);
  if (!g_print_warnings.load()) return;
  if (g_line_open) {
    std::fputc('\n', stderr);
    g_line_open = false;
  }
  std::fprintf(stderr, "neurolua: warning: %s\n", message.c_str());
  std::fflush(stderr);
}

}  // namespace

bool progress_enabled() { return g_progress.load() && isatty(2); }

nl::Progress progress_reporter(const char* label, const char* unit, std::int64_t total_hint) {
  if (!progress_enabled()) return {};
  auto line = std::make_shared<ProgressLine>(label, unit, total_hint);
  return [line](std::int64_t done, std::int64_t total) { line->update(done, total); };
}

void install_warning_sink() { nl::set_warning_sink(print_warning); }

// ---------------------------------------------------------------- progress of Lua loops

namespace {

// What a step function of nl.progress_line holds (a userdata upvalue; its __gc ends the
// line). Not a neurolua type: scripts only ever see the function.
struct LuaLine {
  nl::Progress report;
  std::int64_t done = 0, total = 0;
  bool ended = false;  // by __gc: a second call (through the registry) does nothing
};
constexpr const char* kLuaLine = "nl.progress_line";

int line_gc(lua_State* L) {
  auto* line = static_cast<LuaLine*>(luaL_checkudata(L, 1, kLuaLine));
  if (line->ended) return 0;
  line->ended = true;
  line->report = nullptr;  // ends the line
  return 0;
}

// step([done]): one more unit done, or `done` units in all.
int line_step(lua_State* L) {
  // The upvalue is checked: debug.setupvalue could have replaced it.
  auto* line = static_cast<LuaLine*>(luaL_testudata(L, lua_upvalueindex(1), kLuaLine));
  if (!line || line->ended) return luaL_error(L, "this progress line has ended");
  const lua_Integer done = luaL_optinteger(L, 1, line->done + 1);
  luaL_argcheck(L, done >= 0 && done <= line->total, 1, "the count must be between 0 and the total");
  line->done = done;
  if (line->report) line->report(done, line->total);
  return 0;
}

}  // namespace

// nl.progress_line(label, total [, unit]) -> step([done]): the progress line for a loop
// written in Lua (a script cleaning many runs one by one).
int l_progress_line(lua_State* L) {
  const char* label = luaL_checkstring(L, 1);
  const lua_Integer total = luaL_checkinteger(L, 2);
  luaL_argcheck(L, total >= 0, 2, "the total must not be negative");
  const char* unit = luaL_optstring(L, 3, "");
  auto* line = new (lua_newuserdatauv(L, sizeof(LuaLine), 0)) LuaLine{};
  line->total = total;
  if (luaL_newmetatable(L, kLuaLine)) {
    lua_pushcfunction(L, line_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushstring(L, kLuaLine);
    lua_setfield(L, -2, "__metatable");
  }
  lua_setmetatable(L, -2);
  return protect(L, [&] {
    // A loop over nothing draws nothing (a script need not guard its empty case).
    if (total > 0) line->report = progress_reporter(label, unit[0] ? (std::string(" ") + unit).c_str() : "");
    lua_pushcclosure(L, line_step, 1);
    return 1;
  });
}

// nl.progress([on]) -> whether progress lines are on (after setting it).
int l_progress(lua_State* L) {
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TBOOLEAN);
    g_progress = lua_toboolean(L, 1) != 0;
  }
  lua_pushboolean(L, g_progress.load());
  return 1;
}

// nl.warnings([on]) -> the list of warnings issued so far (printing turned on or off
// first when `on` is given). Kept also while printing is off (the last 1000).
int l_warnings(lua_State* L) {
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TBOOLEAN);
    g_print_warnings = lua_toboolean(L, 1) != 0;
  }
  return protect(L, [&] {
    std::deque<std::string> copy;
    {
      std::lock_guard<std::mutex> lock(g_err_mu);
      copy = kept_warnings();
    }
    lua_createtable(L, static_cast<int>(copy.size()), 0);
    for (std::size_t i = 0; i < copy.size(); ++i) {
      lua_pushlstring(L, copy[i].data(), copy[i].size());
      lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
    }
    return 1;
  });
}

}  // namespace nl::bind

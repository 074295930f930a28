// terminal.cpp: the size of the terminal on standard output (see terminal.hpp).
#include "core/terminal.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>

namespace nl::bind {

namespace {
// A positive integer from the environment variable, or 0.
int env_size(const char* name) {
  const char* s = std::getenv(name);
  if (!s || !*s) return 0;
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  return (*end == '\0' && v > 0 && v < 100000) ? static_cast<int>(v) : 0;
}
}  // namespace

TerminalSize terminal_size() noexcept {
  TerminalSize t;
  t.tty = isatty(STDOUT_FILENO) != 0;
  struct winsize ws {};
  if (t.tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) {
    if (ws.ws_col > 0) t.columns = ws.ws_col;
    if (ws.ws_row > 0) t.rows = ws.ws_row;
    if (ws.ws_col > 0 && ws.ws_row > 0) return t;
  }
  if (const int c = env_size("COLUMNS")) t.columns = c;
  if (const int r = env_size("LINES")) t.rows = r;
  return t;
}

int lua_terminal_size(lua_State* L) {
  const TerminalSize t = terminal_size();
  lua_pushinteger(L, t.columns);
  lua_pushinteger(L, t.rows);
  lua_pushboolean(L, t.tty);
  return 3;
}

}  // namespace nl::bind

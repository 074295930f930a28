// repl.cpp: the interactive loop of the neurolua executable.
//
// Behaves like the stock lua interpreter (expressions print their values through
// print/__tostring, incomplete statements continue on ">>" lines) and adds GNU
// readline line editing, persistent history (~/.neurolua_history, or the file named by
// NEUROLUA_HISTORY), tab completion through neurolua.repl.complete, and Ctrl-C that
// interrupts a running computation (Lua code through a hook, engine loops through
// nl::request_interrupt) or discards the line being typed, without leaving the session.
//
// Readline's callback interface is used so that a Ctrl-C at the prompt arrives as an
// EINTR from select() in our own loop rather than inside readline.
#include "repl.hpp"

#include "guard.hpp"

#include <readline/history.h>
#include <readline/readline.h>
#include <sys/select.h>
#include <unistd.h>

#include <climits>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <signal.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "nl/core/core.hpp"

extern "C" {
#include <lauxlib.h>
#include <lualib.h>
}

namespace nl::repl {

namespace {

lua_State* g_L = nullptr;                 // the state a SIGINT interrupts
volatile std::sig_atomic_t g_sigint = 0;  // Ctrl-C seen while reading a line

// ---------------------------------------------------------------- running code

volatile std::sig_atomic_t g_running = 0;  // a chunk is executing
bool g_interrupted = false;                 // the last failed docall was Ctrl-C

// The one SIGINT handler. While code runs it requests a stop (guard.hpp): the guard's
// hook raises "interrupted" at the next Lua instruction, again at every instruction a
// pcall would continue with, and engine loops stop (lua_sethook is async-signal-safe by
// design, as lua.c relies on; the stop reason and the engine's flag are atomics). While a line is being read it only notes the signal, and select() returns
// EINTR. A Ctrl-C that lands between reading a line and running it is noted too, and
// docall() honours it, so no interrupt is ever lost.
//
// Lua runs some code with hooks off (a __gc finalizer; and nothing can stop a C library
// call that never returns): if the run has still not stopped 2 s after a Ctrl-C, a second
// Ctrl-C ends the process, with status 130 (outputs are written atomically).
struct timespec g_first_sigint {};

extern "C" void on_sigint(int) {
  g_sigint = 1;
  if (!g_running) return;
  struct timespec now {};
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (stop_reason() == Stop::interrupt && g_first_sigint.tv_sec != 0 &&
      now.tv_sec - g_first_sigint.tv_sec >= 2) {
    static const char kMessage[] = "\nneurolua: interrupted again, and the run had not stopped: ending the process\n";
    [[maybe_unused]] const ssize_t k = write(2, kMessage, sizeof kMessage - 1);
    _exit(130);
  }
  if (stop_reason() == Stop::none) g_first_sigint = now;
  request_stop(Stop::interrupt, g_L);
}

void set_sigint(void (*handler)(int)) {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: select() must see EINTR
  sigaction(SIGINT, &sa, nullptr);
}

// A blocked SIGINT is inherited across exec (batch schedulers, CI runners and some
// job-control shells start children that way), and would make Ctrl-C silently do
// nothing. The REPL and scripts always want it delivered.
void unblock_sigint() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

bool g_traceback = false;    // --traceback / NEUROLUA_TRACEBACK: the traceback with every error
bool g_interactive = false;  // the REPL is running (no "--traceback" hint there)
const char* const kLastTraceback = "neurolua.last_traceback";

// Whether `chunk` (a position's file, as in "chunk:12: message") is one of neurolua's own
// Lua files: the embedded standard library or a study script under NL_SCRIPTS_DIR.
bool own_file(const std::string& chunk) {
  if (chunk.rfind("stdlib/neurolua/", 0) == 0) return true;
#ifdef NL_SCRIPTS_DIR
  static const std::string scripts = [] {
    char buf[PATH_MAX];
    return realpath(NL_SCRIPTS_DIR, buf) ? std::string(buf) + "/" : std::string();
  }();
  char buf[PATH_MAX];
  if (!scripts.empty() && realpath(chunk.c_str(), buf) && std::string(buf).rfind(scripts, 0) == 0) return true;
#endif
  return false;
}

// The message without a leading "file:line: " that points into neurolua's own files.
std::string user_message(const char* msg) {
  std::string m(msg);
  const std::size_t colon = m.find(':');
  if (colon == std::string::npos || colon == 0) return m;
  std::size_t k = colon + 1;
  while (k < m.size() && std::isdigit(static_cast<unsigned char>(m[k]))) ++k;
  if (k == colon + 1 || k + 1 >= m.size() || m[k] != ':' || m[k + 1] != ' ') return m;
  if (m.find('\n') < colon || !own_file(m.substr(0, colon))) return m;
  return m.substr(k + 2);
}

int msghandler(lua_State* L) {
  const char* msg = lua_tostring(L, 1);
  if (msg == nullptr) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, kLastTraceback);
  if (g_traceback) return 1;
  std::string shortened = user_message(msg);
  if (!g_interactive && !g_sigint && stop_reason() == Stop::none)  // (Ctrl-C or a limit is no bug: no hint)
    shortened += "\n(run with --traceback, or NEUROLUA_TRACEBACK=1, to see where in the code)";
  lua_pushlstring(L, shortened.data(), shortened.size());
  return 1;
}

// nl.traceback() -> the message and Lua traceback of the last error (nil when none).
int last_traceback(lua_State* L) {
  lua_getfield(L, LUA_REGISTRYINDEX, kLastTraceback);
  return 1;
}

}  // namespace

int docall(lua_State* L, int narg, int nres) {
  const int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  g_L = L;
  clear_interrupt_stop(L);  // a stale Ctrl-C; a time or memory limit stays
  struct sigaction old;
  sigaction(SIGINT, nullptr, &old);
  unblock_sigint();
  set_sigint(on_sigint);
  g_running = 1;
  if (g_sigint) on_sigint(SIGINT);  // pressed after the line was read: interrupt it
  const int status = lua_pcall(L, narg, nres, base);
  g_running = 0;
  g_first_sigint = {};
  if (status != LUA_OK) g_interrupted = g_sigint != 0;
  g_sigint = 0;
  sigaction(SIGINT, &old, nullptr);
  clear_interrupt_stop(L);
  lua_remove(L, base);
  return status;
}

void set_traceback(bool on) { g_traceback = on; }
void set_interactive(bool on) { g_interactive = on; }
void push_traceback_function(lua_State* L) { lua_pushcfunction(L, last_traceback); }
bool interrupted() { return g_interrupted; }

int report(lua_State* L, int status) {
  if (status == LUA_ERRMEM) note_memory_error(L);
  if (status != LUA_OK) {
    const char* msg = lua_tostring(L, -1);
    std::fprintf(stderr, "neurolua: %s\n", msg ? msg : "(error object is not a string)");
    // A limit ended the run: say so, whatever error the computation ended with.
    const Stop why = stop_reason();
    if ((why == Stop::time || why == Stop::memory) && (!msg || !std::strstr(msg, stop_message(why).c_str())))
      std::fprintf(stderr, "neurolua: %s\n", stop_message(why).c_str());
    std::fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
}

namespace {

// ---------------------------------------------------------------- reading lines

bool g_tty = false;
bool g_line_ready = false;
char* g_line = nullptr;

void on_line(char* line) {
  g_line = line;
  g_line_ready = true;
  rl_callback_handler_remove();
}

enum class Read { Line, Eof, Interrupted };

// Reads one line into out. Uses readline on a terminal, plain stdio otherwise.
Read read_line(const char* prompt, std::string& out) {
  if (!g_tty) {
    out.clear();
    int c;
    while ((c = std::getchar()) != EOF && c != '\n') out.push_back(static_cast<char>(c));
    return (c == EOF && out.empty()) ? Read::Eof : Read::Line;
  }
  g_line_ready = false;
  g_line = nullptr;
  g_sigint = 0;
  set_sigint(on_sigint);
  rl_callback_handler_install(prompt, on_line);
  while (!g_line_ready) {
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(fileno(rl_instream), &fds);
    const int r = select(fileno(rl_instream) + 1, &fds, nullptr, nullptr, nullptr);
    if (r < 0 && errno == EINTR) {
      if (g_sigint) {
        g_sigint = 0;
        rl_free_line_state();
        rl_callback_sigcleanup();
        rl_callback_handler_remove();
        std::fputs("^C\n", stdout);
        std::fflush(stdout);
        return Read::Interrupted;
      }
      continue;
    }
    if (r < 0) break;
    rl_callback_read_char();
  }
  if (!g_line) return Read::Eof;
  out = g_line;
  std::free(g_line);
  g_line = nullptr;
  return Read::Line;
}

std::string history_path() {
  if (const char* p = std::getenv("NEUROLUA_HISTORY")) return p;
  if (const char* home = std::getenv("HOME")) return std::string(home) + "/.neurolua_history";
  return {};
}

// ---------------------------------------------------------------- completion

// The word neurolua.repl.complete sees, and how it maps onto readline's text. Readline
// splits words at our break characters (which keep "." and ":") and, since quotes are
// completer quote characters, starts the text after an open quote. A bracketed name
// being typed, t["Left-H or t[, is given to complete() whole; its candidates
// (t["Left-Hippocampus"]) lose the part before readline's text, and inside an open
// quote also the closing quote and bracket, which readline then appends itself.
std::string g_word;          // what complete() is asked about
std::size_t g_prefix = 0;    // bytes of g_word before readline's text
bool g_in_quote = false;     // readline's text starts after an open quote

// Asks neurolua.repl.complete for the candidates of g_word (see above); state 0 starts
// a new list.
char* completion_generator(const char*, int state) {
  static int index = 0, count = 0;
  lua_State* L = g_L;
  if (state == 0) {
    index = 0;
    count = 0;
    lua_settop(L, 0);
    lua_getglobal(L, "require");
    lua_pushstring(L, "neurolua.repl");
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) return nullptr;
    lua_getfield(L, -1, "complete");
    lua_remove(L, -2);
    lua_pushlstring(L, g_word.data(), g_word.size());
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
      lua_settop(L, 0);
      return nullptr;
    }
    count = static_cast<int>(lua_rawlen(L, -1));
  }
  while (index < count) {
    lua_rawgeti(L, -1, ++index);
    std::size_t n = 0;
    const char* s = lua_tolstring(L, -1, &n);
    std::string match = s ? std::string(s, n) : std::string();
    lua_pop(L, 1);
    if (match.size() < g_prefix || match.compare(0, g_prefix, g_word, 0, g_prefix) != 0) continue;
    match.erase(0, g_prefix);
    if (g_in_quote) {  // Left-Hippocampus"] -> Left-Hippocampus
      if (match.size() < 2 || match.compare(match.size() - 1, 1, "]") != 0) continue;
      match.resize(match.size() - 2);
    }
    return strdup(match.c_str());
  }
  lua_settop(L, 0);
  return nullptr;
}

char** complete(const char* text, int start, int end) {
  rl_attempted_completion_over = 1;  // never fall back to file names
  rl_completion_append_character = '\0';
  const char* line = rl_line_buffer;
  g_in_quote = rl_completion_quote_character != 0;
  // A bracketed name: back over the quote and "[" to the start of the path before it.
  int from = start, p = start;
  if (g_in_quote && p > 0 && line[p - 1] == rl_completion_quote_character) --p;
  if (p > 0 && line[p - 1] == '[') {
    int q = p - 1;
    while (q > 0 && (std::isalnum(static_cast<unsigned char>(line[q - 1])) || line[q - 1] == '_' || line[q - 1] == '.'))
      --q;
    if (q < p - 1) from = q;
  }
  if (g_in_quote && from == start) return nullptr;  // inside some other string
  g_word.assign(line + from, static_cast<std::size_t>(end - from));
  g_prefix = static_cast<std::size_t>(start - from);
  if (g_in_quote) rl_completion_append_character = ']';  // after readline's closing quote
  char** matches = rl_completion_matches(text, completion_generator);
  // Candidates in two spellings (t.age, t["3rd-Ventricle"]) share only "t": keep what
  // was typed rather than let the common prefix cut it back.
  if (matches && matches[1] && std::strlen(matches[0]) < std::strlen(text)) {
    std::free(matches[0]);
    matches[0] = strdup(text);
  }
  return matches;
}

// ---------------------------------------------------------------- evaluation

// Compiles "return <line>" so that expressions print their values.
int try_expression(lua_State* L, const std::string& code) {
  const std::string ret = "return " + code;
  const int status = luaL_loadbufferx(L, ret.c_str(), ret.size(), "=stdin", "t");
  if (status != LUA_OK) lua_pop(L, 1);
  return status;
}

bool incomplete(lua_State* L, int status) {
  if (status != LUA_ERRSYNTAX) return false;
  size_t len;
  const char* msg = lua_tolstring(L, -1, &len);
  static const char kEof[] = "<eof>";
  return len >= sizeof kEof - 1 && std::strcmp(msg + len - (sizeof kEof - 1), kEof) == 0;
}

// Prints the results with neurolua.repl's print_results (plain Lua tables written out;
// nl.show), or with the global print if that module cannot be loaded.
void print_results(lua_State* L) {
  const int n = lua_gettop(L);
  if (n == 0) return;
  luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
  lua_getglobal(L, "require");
  lua_pushliteral(L, "neurolua.repl");
  if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1) && lua_getfield(L, -1, "print_results") == LUA_TFUNCTION) {
    lua_remove(L, -2);
  } else {
    lua_settop(L, n);
    lua_getglobal(L, "print");
  }
  lua_insert(L, 1);
  if (lua_pcall(L, n, 0, 0) != LUA_OK)
    std::fprintf(stderr, "neurolua: error calling 'print' (%s)\n", lua_tostring(L, -1));
}

}  // namespace

void run(lua_State* L) {
  g_L = L;
  g_interactive = true;
  g_tty = isatty(0) != 0;
  unblock_sigint();
  const std::string hist = g_tty ? history_path() : std::string();
  if (g_tty) {
    rl_readline_name = "neurolua";
    rl_catch_signals = 0;
    rl_basic_word_break_characters = const_cast<char*>(" \t\n\"\\'`@$><=;|&{}()[],+-*/%^~#");
    rl_completer_quote_characters = const_cast<char*>("\"'");  // t["Left-H: the word starts after the quote
    rl_attempted_completion_function = complete;
    using_history();
    if (!hist.empty()) read_history(hist.c_str());
  }
  std::string buffer, line;
  for (;;) {
    lua_settop(L, 0);
    const Read r = read_line(buffer.empty() ? "> " : ">> ", line);
    if (r == Read::Eof) break;
    if (r == Read::Interrupted) {
      buffer.clear();
      continue;
    }
    if (buffer.empty() && line.empty()) continue;
    buffer = buffer.empty() ? line : buffer + "\n" + line;
    int status = LUA_OK;
    if (buffer == line) status = try_expression(L, buffer);
    if (buffer != line || status != LUA_OK) {
      status = luaL_loadbufferx(L, buffer.c_str(), buffer.size(), "=stdin", "t");
      if (incomplete(L, status)) {
        lua_pop(L, 1);
        continue;
      }
    }
    if (g_tty) {
      add_history(buffer.c_str());
      if (!hist.empty()) {
        // Appending line by line keeps the history even if the session is killed.
        if (append_history(1, hist.c_str()) != 0) write_history(hist.c_str());
        history_truncate_file(hist.c_str(), 2000);
      }
    }
    buffer.clear();
    if (status == LUA_OK) status = docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK) print_results(L);
    else report(L, status);
    if (stop_reason() != Stop::none) break;  // --max-seconds or --max-memory: the session ends
  }
  lua_settop(L, 0);
  if (g_tty) std::fputc('\n', stdout);
}

}  // namespace nl::repl

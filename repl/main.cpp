// main.cpp: the neurolua executable, a Lua 5.4 interpreter with neurolua built in.
//
//   neurolua                      REPL (or run standard input when it is not a terminal)
//   neurolua script.lua [args]    run a script; `arg` as in the stock interpreter
//   neurolua -e CODE -l MODULE -i - --version --help
//   neurolua --sandbox [--out DIR] [--in DIR]... [--env NAME]... script.lua [args]
//   neurolua [--max-seconds N] [--max-memory SIZE] [--bytecode] ...
//
// Arguments follow the stock `lua` interpreter's rules (options are processed in
// order up to the script name; everything after it belongs to the script), so the
// parser is written out here rather than with CLI11: CLI11 cannot express "stop at
// the first positional and hand the rest to the script" together with ordered -e/-l.
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "guard.hpp"
#include "nl/core/mpi.hpp"
#include "repl.hpp"
#include "sandbox.hpp"

extern "C" {
#include <lauxlib.h>
#include <lualib.h>
int luaopen_neurolua(lua_State* L);
}

namespace {

const char* const kUsage =
    "usage: neurolua [options] [script [args]]\n"
    "Available options are:\n"
    "  -e stat   execute string 'stat'\n"
    "  -i        enter interactive mode after executing 'script'\n"
    "  -l mod    require library 'mod' into global 'mod'\n"
    "  -l g=mod  require library 'mod' into global 'g'\n"
    "  --sandbox      run a script from someone else: no programs, no native code,\n"
    "                 files read only from --in folders (and the script's own folder)\n"
    "                 and written only to the --out folder\n"
    "  --in dir       (with --sandbox) a folder the script may read; repeatable\n"
    "  --out dir      (with --sandbox) the folder the script may write to\n"
    "  --env name     (with --sandbox) an environment variable os.getenv may read;\n"
    "                 repeatable (by default os.getenv answers nil in the sandbox)\n"
    "  --max-seconds n  end the run after n seconds of wall time (exit status 124)\n"
    "  --max-memory size  limit memory to size (e.g. 512M, 4G): the Lua heap, every\n"
    "                 load's budget and the process's data (exit status 125)\n"
    "  --bytecode     allow a precompiled (binary) chunk as the script, -e or stdin;\n"
    "                 refused with --sandbox; by default only Lua source is run\n"
    "  --course       the course (docs/course): list the lessons and start the REPL\n"
    "                 with lesson(n), which runs lesson n step by step\n"
    "  --traceback    report an error with its position and Lua traceback (also\n"
    "                 NEUROLUA_TRACEBACK=1); by default only the message is shown\n"
    "  -v, --version  show version information\n"
    "  -h, --help     show this help\n"
    "  --        stop handling options\n"
    "  -         execute stdin and stop handling options\n"
    "With no arguments, starts the REPL when standard input is a terminal\n"
    "and runs standard input as a script otherwise.\n";

void print_version() {
#if defined(__SANITIZE_ADDRESS__)
  // (said so that tests and bug reports can tell an instrumented build: its memory
  // limit cannot cap the data segment, see repl/guard.cpp)
  std::printf("neurolua %s (%s; built with AddressSanitizer)\n", NL_VERSION, LUA_RELEASE);
#else
  std::printf("neurolua %s (%s)\n", NL_VERSION, LUA_RELEASE);
#endif
}

// Loads the standard libraries and neurolua; neurolua is also reachable through
// require, and set as the globals `nl` and `help`.
int open_all(lua_State* L) {
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_neurolua);
  lua_setfield(L, -2, "neurolua");
  lua_pop(L, 1);
  lua_getglobal(L, "require");
  lua_pushstring(L, "neurolua");
  lua_call(L, 1, 1);
  nl::repl::push_traceback_function(L);
  lua_setfield(L, -2, "traceback");
  nl::repl::guard_xpcall(L);
  lua_getfield(L, -1, "help");
  lua_setglobal(L, "help");
#ifdef NL_SCRIPTS_DIR
  // nl.course.dir: the lessons of this source tree, unless NEUROLUA_COURSE names others.
  lua_getfield(L, -1, "course");
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "dir");
    if (lua_isnil(L, -1)) {
      lua_pushstring(L, NL_SCRIPTS_DIR "/course");
      lua_setfield(L, -3, "dir");
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
#endif
  lua_setglobal(L, "nl");
  return 0;
}

int dochunk(lua_State* L, int status) {
  if (status == LUA_OK) status = nl::repl::docall(L, 0, 0);
  return nl::repl::report(L, status);
}

// How the chunks the interpreter loads itself (the script, -e, stdin) may come: Lua
// source only, unless --bytecode ("bt"). A binary chunk is not checked by Lua's loader
// and a crafted one can crash the process or run native code.
const char* g_chunk_mode = "t";

int dostring(lua_State* L, const char* s, const char* name) {
  return dochunk(L, luaL_loadbufferx(L, s, std::strlen(s), name, g_chunk_mode));
}

// -l [g=]mod
int dolibrary(lua_State* L, char* spec) {
  char* eq = std::strchr(spec, '=');
  const char* global = spec;
  const char* mod = spec;
  if (eq) {
    *eq = '\0';
    mod = eq + 1;
  }
  lua_getglobal(L, "require");
  lua_pushstring(L, mod);
  int status = nl::repl::docall(L, 1, 1);
  if (status == LUA_OK) lua_setglobal(L, global);
  return nl::repl::report(L, status);
}

// arg table: script name at 0, script arguments at 1.., interpreter and options below.
void create_arg_table(lua_State* L, char** argv, int argc, int script) {
  if (script == argc) script = 0;
  lua_createtable(L, argc - (script + 1), script + 1);
  for (int i = 0; i < argc; ++i) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

int handle_script(lua_State* L, char** argv) {
  const char* fname = argv[0];
  if (std::strcmp(fname, "-") == 0 && std::strcmp(argv[-1], "--") != 0) fname = nullptr;  // stdin
  int status = luaL_loadfilex(L, fname, g_chunk_mode);
  if (status == LUA_OK) {
    int n = 0;
    lua_getglobal(L, "arg");
    const int count = static_cast<int>(luaL_len(L, -1));
    luaL_checkstack(L, count + 3, "too many arguments to script");
    for (int i = 1; i <= count; ++i) lua_rawgeti(L, -i, i);
    n = count;
    lua_remove(L, -n - 1);
    status = nl::repl::docall(L, n, LUA_MULTRET);
  }
  return nl::repl::report(L, status);
}

struct Args {
  int script = 0;  // index of the script argument, 0 if none
  bool has_e = false, has_i = false, has_v = false, has_h = false, bad = false;
  bool sandbox = false, bytecode = false, course = false;
  double max_seconds = 0;
  std::uint64_t max_memory = 0;
  nl::repl::SandboxOptions box;
};

// First pass: validate options and find the script (like lua.c's collectargs).
Args collect(char** argv, int argc) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const char* s = argv[i];
    if (s[0] != '-') { a.script = i; return a; }
    if (std::strcmp(s, "-") == 0) { a.script = i; return a; }
    if (std::strcmp(s, "--") == 0) { if (i + 1 < argc) a.script = i + 1; return a; }
    if (std::strcmp(s, "--version") == 0 || std::strcmp(s, "-v") == 0) { a.has_v = true; continue; }
    if (std::strcmp(s, "--help") == 0 || std::strcmp(s, "-h") == 0) { a.has_h = true; continue; }
    if (std::strcmp(s, "-i") == 0) { a.has_i = a.has_v = true; continue; }
    if (std::strcmp(s, "--sandbox") == 0) { a.sandbox = true; continue; }
    if (std::strcmp(s, "--course") == 0) { a.course = a.has_i = a.has_v = true; continue; }
    if (std::strcmp(s, "--traceback") == 0) { nl::repl::set_traceback(true); continue; }
    if (std::strcmp(s, "--bytecode") == 0) { a.bytecode = true; continue; }
    if (std::strcmp(s, "--env") == 0) {
      if (i + 1 >= argc) { a.bad = true; std::fprintf(stderr, "neurolua: '--env' needs a variable name\n"); return a; }
      a.box.env.emplace_back(argv[++i]);
      continue;
    }
    if (std::strcmp(s, "--max-seconds") == 0 || std::strcmp(s, "--max-memory") == 0) {
      const bool time = s[6] == 's';
      const char* v = i + 1 < argc ? argv[++i] : nullptr;
      bool ok = v != nullptr;
      if (ok && time) {
        char* end = nullptr;
        errno = 0;
        a.max_seconds = std::strtod(v, &end);
        ok = errno == 0 && end != v && *end == '\0' && std::isfinite(a.max_seconds) && a.max_seconds > 0;
      } else if (ok) {
        ok = nl::repl::parse_bytes(v, a.max_memory);
      }
      if (!ok) {
        a.bad = true;
        std::fprintf(stderr, "neurolua: '%s' needs %s, not '%s'\n", s,
                     time ? "a positive number of seconds" : "a size such as 512M or 4G", v ? v : "");
        return a;
      }
      continue;
    }
    if (std::strcmp(s, "--in") == 0 || std::strcmp(s, "--out") == 0) {
      if (i + 1 >= argc) { a.bad = true; std::fprintf(stderr, "neurolua: '%s' needs a folder\n", s); return a; }
      if (s[2] == 'i') a.box.inputs.emplace_back(argv[++i]);
      else if (!a.box.out.empty()) { a.bad = true; std::fprintf(stderr, "neurolua: '--out' given twice\n"); return a; }
      else a.box.out = argv[++i];
      continue;
    }
    if (s[1] == 'e' || s[1] == 'l') {
      if (s[1] == 'e') a.has_e = true;
      if (s[2] == '\0') {
        ++i;
        if (i >= argc || argv[i][0] == '-') { a.bad = true; std::fprintf(stderr, "neurolua: '%s' needs argument\n", s); return a; }
      }
      continue;
    }
    std::fprintf(stderr, "neurolua: unrecognized option '%s'\n", s);
    a.bad = true;
    return a;
  }
  return a;
}

// --in/--out without --sandbox would silently confine nothing: refuse.
bool check_sandbox_args(Args& a, char** argv) {
  if (!a.sandbox && (!a.box.out.empty() || !a.box.inputs.empty() || !a.box.env.empty())) {
    std::fprintf(stderr, "neurolua: '--in', '--out' and '--env' only apply with '--sandbox'\n");
    return false;
  }
  if (a.sandbox && a.bytecode) {
    std::fprintf(stderr, "neurolua: '--bytecode' cannot be used with '--sandbox'\n");
    return false;
  }
  if (a.script > 0) a.box.script = argv[a.script];
  return true;
}

// Second pass: run -e and -l in order.
bool run_options(lua_State* L, char** argv, int end) {
  for (int i = 1; i < end; ++i) {
    const char* s = argv[i];
    if (std::strcmp(s, "--in") == 0 || std::strcmp(s, "--out") == 0 || std::strcmp(s, "--env") == 0 ||
        std::strcmp(s, "--max-seconds") == 0 || std::strcmp(s, "--max-memory") == 0) {
      ++i;  // the option's value
      continue;
    }
    if (s[0] != '-' || (s[1] != 'e' && s[1] != 'l')) continue;
    char* extra = s[2] != '\0' ? argv[i] + 2 : argv[++i];
    const int status = s[1] == 'e' ? dostring(L, extra, "=(command line)") : dolibrary(L, extra);
    if (status != LUA_OK) return false;
  }
  return true;
}

// On MPI ranks other than 0, a script's own files go nowhere, as the engine's do: Lua
// opens /dev/null for writing, io.output(name) writes there, os.remove and os.rename do
// nothing. Reading is untouched.
const char* const kQuietRankLua = R"(
local open, output = io.open, io.output
io.open = function(path, mode)
  if type(mode) == "string" and mode:find("[wa+]") then return open("/dev/null", mode) end
  return open(path, mode)
end
io.output = function(f)
  if type(f) == "string" then return output("/dev/null") end
  return output(f)
end
os.remove = function(path) return true end
os.rename = function(from, to) return true end
)";

// Under MPI, ranks other than 0 show nothing (their output is rank 0's) unless
// NEUROLUA_MPI_OUTPUT=all.
void quiet_other_ranks() {
  if (nl::mpi::size() <= 1 || nl::mpi::root()) return;
  if (const char* e = std::getenv("NEUROLUA_MPI_OUTPUT"); e && std::strcmp(e, "all") == 0) return;
  std::fflush(nullptr);
  if (std::freopen("/dev/null", "w", stdout) == nullptr || std::freopen("/dev/null", "w", stderr) == nullptr)
    nl::mpi::abort(EXIT_FAILURE);
}

struct Main {
  int argc;
  char** argv;
  bool ok = false;
};

int pmain(lua_State* L) {
  auto* m = static_cast<Main*>(lua_touserdata(L, 1));
  char** argv = m->argv;
  const int argc = m->argc;
  Args a = collect(argv, argc);
  if (!a.bad && !check_sandbox_args(a, argv)) a.bad = true;
  if (a.bad) {
    std::fputs(kUsage, stderr);
    return 0;
  }
  if (a.has_h) {
    print_version();
    std::fputs(kUsage, stdout);
    m->ok = true;
    return 0;
  }
  if (a.has_v) print_version();
  if (a.has_v && !a.has_i && a.script == 0 && !a.has_e) {
    m->ok = true;
    return 0;
  }
  if (a.bytecode) g_chunk_mode = "bt";
  nl::repl::install_guard(L, a.max_seconds, a.max_memory);
  lua_pushcfunction(L, open_all);
  if (dochunk(L, LUA_OK) != LUA_OK) return 0;
  if (nl::mpi::size() > 1) {
    // Under MPI every rank runs the script; only rank 0 writes (nl/core/mpi.hpp).
    if (a.has_i || (a.script == 0 && !a.has_e)) {
      std::fprintf(stderr, "neurolua: the REPL cannot run on %d MPI ranks; give a script (mpirun -n N neurolua "
                           "script.lua)\n", nl::mpi::size());
      return 0;
    }
    if (!nl::mpi::root() && dostring(L, kQuietRankLua, "=(mpi)") != LUA_OK) return 0;
  }
  if (a.sandbox) {
    lua_pushcfunction(L, [](lua_State* S) {
      nl::repl::install_sandbox(S, *static_cast<const nl::repl::SandboxOptions*>(lua_touserdata(S, 1)));
      return 0;
    });
    lua_pushlightuserdata(L, &a.box);
    if (nl::repl::report(L, lua_pcall(L, 1, 0, 0)) != LUA_OK) return 0;
  }
  create_arg_table(L, argv, argc, a.script);
  lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCGEN, 0, 0);
  if (!run_options(L, argv, a.script > 0 ? a.script : argc)) return 0;
  if (a.script > 0 && handle_script(L, argv + a.script) != LUA_OK) return 0;
  if (a.course && dostring(L, "nl.course.start()", "=(course)") != LUA_OK) return 0;
  if (a.has_i) {
    nl::repl::run(L);
  } else if (a.script == 0 && !a.has_e && !a.has_v) {
    if (isatty(0)) {
      print_version();
      std::printf("Type help() for the reference, Ctrl-D to leave.\n");
      nl::repl::run(L);
    } else if (dochunk(L, luaL_loadfilex(L, nullptr, g_chunk_mode)) != LUA_OK) {
      return 0;
    }
  }
  m->ok = true;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // glibc's allocator returns freed blocks above 128 KB to the kernel (munmap, trim),
  // and every later matrix of that size faults its pages in again: a nested CV
  // allocates and frees such matrices for each of its hundreds of partitions, and
  // spent a quarter of its time in the kernel's page-fault handler (perf, n = 400).
  // Blocks up to 32 MB are kept in the heap and 256 MB of free top of heap before
  // trimming (bench/cv/scaling.sh: 1.5x faster at n = 400; docs/scaling.md).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  nl::mpi::init(&argc, &argv);  // only when started by mpirun (nl/core/mpi.hpp)
  quiet_other_ranks();
  if (const char* e = std::getenv("NEUROLUA_TRACEBACK"); e && *e && std::strcmp(e, "0") != 0)
    nl::repl::set_traceback(true);
  lua_State* L = luaL_newstate();
  if (!L) {
    std::fprintf(stderr, "neurolua: cannot create state: not enough memory\n");
    return EXIT_FAILURE;
  }
  lua_gc(L, LUA_GCSTOP);
  Main m{argc, argv};
  lua_pushcfunction(L, pmain);
  lua_pushlightuserdata(L, &m);
  const int status = lua_pcall(L, 1, 0, 0);
  nl::repl::report(L, status);
  lua_close(L);
  if (status == LUA_OK && m.ok) {
    nl::mpi::finalize();
    return EXIT_SUCCESS;
  }
  // A failed rank ends the whole run: the others may wait for it (MPI_Abort). A rank
  // other than 0 first gives rank 0, which usually fails the same way, a moment to show
  // its error (the other ranks' output is silenced).
  if (nl::mpi::size() > 1) {
    if (!nl::mpi::root()) ::sleep(2);
    nl::mpi::abort(nl::repl::interrupted() ? 130 : EXIT_FAILURE);
  }
  // Stopped by Ctrl-C: 128 + SIGINT, as a shell reports it, so a batch system or a
  // calling script can tell an interrupted run from a failed one; 124 and 125 for the
  // time and memory limits.
  if (const auto why = nl::repl::stop_reason(); why != nl::repl::Stop::none) return nl::repl::stop_exit_status(why);
  return nl::repl::interrupted() ? 130 : EXIT_FAILURE;
}

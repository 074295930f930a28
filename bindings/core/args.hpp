// bindings/core/args.hpp: the argument and option readers and the result writers that
// every binding file shares (one definition each; STYLE.md items 4 and 8).
//
// Readers of an options table raise a Lua argument error naming the option and what is
// wrong ("bad argument #2 to 'scale' (option 'range' must be ...)"); call them before any
// C++ object with a destructor is alive in the calling frame. Writers (push_*, set_*)
// raise only when Lua is out of memory, so they may run inside protect().
#pragma once

#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "core/common.hpp"
#include "core/types.hpp"
#include "nl/core/linalg.hpp"
#include "nl/core/progress.hpp"

namespace nl::bind {

// ---------------------------------------------------------------- options

// The options table at idx (none or nil counts as empty) may only hold the string keys
// in `allowed` (integer keys are the caller's business). Raises "bad argument #idx to
// 'f' (unknown option 'rnage' for scale; expected one of: range; did you mean 'range'?)".
void check_options(lua_State* L, int idx, const char* what, std::initializer_list<const char*> allowed);

// Field `key` of the options table at idx, one of `names` (default when absent);
// returns its position in `names`.
int opt_choice(lua_State* L, int idx, const char* key, std::initializer_list<const char*> names, int def);
// Field `key`: an integer in [lo, hi], or def.
lua_Integer opt_integer(lua_State* L, int idx, const char* key, lua_Integer lo, lua_Integer hi, lua_Integer def);
// Field `key`: a boolean, or def.
bool opt_boolean(lua_State* L, int idx, const char* key, bool def);
// Field `key`: a number in [lo, hi], or def.
double opt_number(lua_State* L, int idx, const char* key, double lo, double hi, double def);
// Fields `checkpoint` (a file path, or nil) and `checkpoint_every` (seconds, > 0) of a
// permutation test's options (nl/io/checkpoint.hpp). The path points into the options
// table's string (alive while the table is); copy it inside protect().
struct CheckpointArgs {
  const char* path = nullptr;
  double every = 60;
};
CheckpointArgs opt_checkpoint(lua_State* L, int idx);

// ---------------------------------------------------------------- sub-tables and positional choices

// Calls read() with the value at stack index `value` standing in for argument `arg`, so
// that the shared option readers (check_options, opt_*) check a sub-table of the options
// (or a positional argument wrapped by as_option) and report "bad argument #arg".
// Argument arg is put back afterwards. read() must return a value and leave the stack
// as it found it.
template <class F>
auto at_argument(lua_State* L, int arg, int value, F&& read) {
  lua_pushvalue(L, arg);  // the argument itself, put back below
  const int saved = lua_gettop(L);
  lua_pushvalue(L, value);
  lua_replace(L, arg);
  auto result = read();
  lua_pushvalue(L, saved);
  lua_replace(L, arg);
  lua_remove(L, saved);
  return result;
}

// Reads the positional argument arg as the field `key` of an options table, through
// read() (e.g. opt_choice(L, arg, key, ...)): `friston24(m, "fls")` then raises "bad
// argument #2 to 'friston24' (option 'format' must be one of spm, fsl, afni, got fls;
// did you mean 'fsl'?)". An absent argument reads as an absent option (the stack is
// extended to arg with nil, so call it after any lua_gettop that counts arguments).
template <class F>
auto as_option(lua_State* L, int arg, const char* key, F&& read) {
  if (lua_gettop(L) < arg) lua_settop(L, arg);
  lua_createtable(L, 0, 1);  // {key = argument}
  lua_pushvalue(L, arg);
  lua_setfield(L, -2, key);
  auto result = at_argument(L, arg, lua_gettop(L), read);
  lua_pop(L, 1);
  return result;
}

// ---------------------------------------------------------------- volumes

// Volumes at idx: one Volume or a non-empty list of them. Returns the count; raises
// naming `what` and the first entry that is not a Volume.
int check_volume_list(lua_State* L, int idx, const char* what);
// Entry k (0-based) of what check_volume_list accepted; never raises.
const nl::Volume* volume_at(lua_State* L, int idx, int k);

// ---------------------------------------------------------------- progress and warnings

// The one progress reporter of long computations (bindings/core/report.cpp): a line on
// standard error such as
//   nested CV  [#########...........] 1234/2700 fits  21/s  ETA 1:10
// redrawn at most four times a second, and a final line "... done in 2:08". Returns an
// empty Progress (no report) unless standard error is a terminal and progress is on
// (nl.progress, NEUROLUA_PROGRESS=0). `unit` follows the count (" fits", "" for none);
// with total_hint > 0 the line appears at once (else at the first report). Thread-safe,
// never calls Lua: the engine calls it from its worker threads. The line is ended when
// the last copy of the Progress is destroyed (an interrupted run's error then starts on a
// line of its own).
nl::Progress progress_reporter(const char* label, const char* unit = "", std::int64_t total_hint = 0);
// Whether progress_reporter reports (nl.progress and a terminal on standard error).
bool progress_enabled();
// Hands the engine's warnings (nl/core/warnings.hpp) to standard error as
// "neurolua: warning: ..." and keeps them for nl.warnings(); called by luaopen_neurolua.
void install_warning_sink();
// nl.progress([on]), nl.progress_line(label, total [, unit]) and nl.warnings([on]).
int l_progress(lua_State* L);
int l_progress_line(lua_State* L);
int l_warnings(lua_State* L);

// ---------------------------------------------------------------- results

// Pushes a new Matrix holding m.
void push_matrix(lua_State* L, nl::Matrix m);
// Pushes a list of strings.
void push_strings(lua_State* L, const std::vector<std::string>& v);
// Sets t[key] = v on the table on top of the stack.
void set_number(lua_State* L, const char* key, double v);
void set_integer(lua_State* L, const char* key, lua_Integer v);
void set_string(lua_State* L, const char* key, const std::string& v);
// Reads a number field of the table at idx (NaN when absent).
double get_number(lua_State* L, int idx, const char* key);
// "0.0123", "3.4e-08": p-values and statistics for one-line summaries.
std::string short_number(double x);

}  // namespace nl::bind

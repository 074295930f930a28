// bindings/core/args.hpp: the argument and option readers and the result writers that
// every binding file shares (one definition each; STYLE.md items 4 and 8).
//
// Readers of an options table raise a Lua argument error naming the option and what is
// wrong ("bad argument #2 to 'scale' (option 'range' must be ...)"); call them before any
// C++ object with a destructor is alive in the calling frame. Writers (push_*, set_*)
// raise only when Lua is out of memory, so they may run inside protect().
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "core/common.hpp"
#include "core/types.hpp"
#include "nl/core/linalg.hpp"

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

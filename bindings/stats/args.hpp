// bindings/stats/args.hpp: argument readers shared by the nl.stats binding files, and the
// record types and sub-option readers that nl.fc and nl.sim use too.
//
// Every reader is split in two, following common.hpp: validate_* inspects the Lua value
// and raises a Lua argument error (so it runs before any C++ object with a destructor
// exists in the calling frame); read_* fills C++ containers using raw accessors only and
// cannot raise, so it may run inside protect().
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "core/args.hpp"
#include "core/common.hpp"
#include "core/types.hpp"
#include "nl/core/linalg.hpp"
#include "nl/stats/distributions.hpp"

namespace nl::bind {

// ---------------------------------------------------------------- numeric arguments

// A matrix argument: a neurolua.Matrix, a neurolua.Table (its number and bool columns),
// a Column or flat list (one column), or a list of rows (nested lists of numbers).
enum class MatKind { Matrix, Table, Column, Flat, Rows };
struct MatArg {
  int idx = 0;
  MatKind kind = MatKind::Matrix;
  lua_Integer rows = 0, cols = 0;
};
MatArg validate_matrix_arg(lua_State* L, int idx, const char* what);
// Inside protect(): may throw nl::ValueError (a Table with a string column or a
// missing cell), never raises. Column names of a Table go to *names when given.
nl::Matrix read_matrix_arg(lua_State* L, const MatArg& a, std::vector<std::string>* names = nullptr);

// ---------------------------------------------------------------- categorical arguments

// A vector of labels: booleans, numbers or strings (one type), as a Column, a Lua list
// or a one-column Matrix. Missing cells raise, naming the entry.
struct CatArg {
  int idx = 0;
  lua_Integer n = 0;
};
CatArg validate_categories(lua_State* L, int idx, const char* what);
// Inside protect(): codes[i] in 0..levels-1 with levels in the order of first
// appearance, or (sorted = true) in natural order (false < true, numbers ascending,
// strings bytewise). Levels print as "true", "1.5", "abc".
void read_categories(lua_State* L, const CatArg& a, bool sorted, std::vector<int>& codes,
                     std::vector<std::string>& levels);
// The text a level of the value at idx would print as (for matching an option).
std::string category_text(lua_State* L, int idx);

// ---------------------------------------------------------------- options

// Field `tail`: "two" (default), "right" or "left".
nl::stats::Tail opt_tail(lua_State* L, int idx);
const char* tail_name(nl::stats::Tail t);

// The pieces of nl.stats (each adds its functions to the table on top).
void open_stats_glm(lua_State* L);
void open_stats_tests(lua_State* L);
void open_stats_tfce(lua_State* L);

}  // namespace nl::bind

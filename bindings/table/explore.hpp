// explore.hpp: the exploration methods of nl.table (bindings/table/explore.cpp).
#pragma once

#include "core/common.hpp"

namespace nl::bind {

// Adds describe, group_by, pivot, melt, format and print to the Table methods and
// value_counts to the Column methods, and registers neurolua.GroupBy. Call it after the
// Table and Column types are registered.
void open_table_explore(lua_State* L);

}  // namespace nl::bind

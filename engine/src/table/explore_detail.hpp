// explore_detail.hpp: helpers shared by explore.cpp and reshape.cpp (not installed).
#pragma once

#include <string>
#include <vector>

#include "nl/table/explore.hpp"

namespace nl::detail {

// Three-way order of rows i and j of c, as Table::sort orders them ascending: missing
// after everything, NaN after every number (NaN equals NaN, missing equals missing).
int compare_cells_at(const Column& c, std::size_t i, std::size_t j);

// Row i as text, in full (no elision): shortest round-trip numbers, true/false, NA.
std::string cell_text(const Column& c, std::size_t i);

// A column of the given type from cells (std::monostate = missing), keeping the type
// even when every cell is missing.
Column typed_column(std::string name, ColumnType type, const std::vector<Cell>& cells);

// ValueError, starting with `what`, when fn does not apply to c's type.
void check_agg(const Column& c, AggFn fn, const std::string& what);
// The type of fn's result on c.
ColumnType agg_type(const Column& c, AggFn fn);
// fn over the given rows of c (see Aggregation).
Cell aggregate_cell(const Column& c, const std::vector<std::size_t>& rows, AggFn fn);

// Ascending, NaN last.
void sort_nan_last(std::vector<double>& x);

}  // namespace nl::detail

// reshape.cpp: pivot (long to wide) and melt (wide to long) of Tables
// (nl/table/explore.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>

#include "explore_detail.hpp"
#include "nl/core/core.hpp"
#include "nl/table/explore.hpp"

namespace nl {

using detail::quoted;

namespace {
// "participant_id 'sub-01', run 2": the values of the given columns in row r.
std::string describe_pair(const std::vector<const Column*>& cols, std::size_t r) {
  std::string out;
  for (const Column* c : cols) {
    if (!out.empty()) out += ", ";
    const std::string v = detail::cell_text(*c, r);
    out += c->name() + " " + (c->type() == ColumnType::String && !c->is_missing(r) ? quoted(v) : v);
  }
  return out;
}
}  // namespace

// ---------------------------------------------------------------- pivot

Table pivot(const Table& table, const PivotOptions& o) {
  if (o.index.empty()) throw ValueError("pivot: no index columns given");
  for (const auto& k : o.index) {
    if (k == o.columns) throw ValueError(fmt::format("pivot: column {} is both index and columns", quoted(k)));
    if (k == o.values) throw ValueError(fmt::format("pivot: column {} is both index and values", quoted(k)));
  }
  if (o.columns == o.values)
    throw ValueError(fmt::format("pivot: column {} is both columns and values", quoted(o.values)));
  const Column& spread = *table.column(o.columns);
  const Column& values = *table.column(o.values);
  if (o.agg) detail::check_agg(values, *o.agg, "pivot");
  for (std::size_t i = 0; i < spread.size(); ++i)
    if (spread.is_missing(i))
      throw ValueError(fmt::format("pivot: column {} is missing in row {}; its values name the new columns",
                                   quoted(o.columns), i + 1));
  const GroupBy rows(table, o.index, true);
  const GroupBy cols(table, {o.columns}, true);
  const std::size_t R = rows.ngroups(), C = cols.ngroups();
  // The group of each table row, for rows and for columns.
  std::vector<std::size_t> row_of(table.nrows()), col_of(table.nrows());
  for (std::size_t g = 0; g < R; ++g)
    for (std::size_t r : rows.rows(g)) row_of[r] = g;
  for (std::size_t g = 0; g < C; ++g)
    for (std::size_t r : cols.rows(g)) col_of[r] = g;
  // cells[c][r]: the table rows of output cell (r, c), in table order.
  std::vector<std::vector<std::vector<std::size_t>>> cells(C, std::vector<std::vector<std::size_t>>(R));
  std::vector<const Column*> pair_cols;
  for (const auto& k : o.index) pair_cols.push_back(table.column(k).get());
  pair_cols.push_back(&spread);
  for (std::size_t i = 0; i < table.nrows(); ++i) {
    auto& cell = cells[col_of[i]][row_of[i]];
    if (!o.agg && !cell.empty())
      throw ValueError(fmt::format("pivot: {} appear in rows {} and {}; give agg to combine repeated pairs "
                                   "(e.g. \"mean\" or \"first\")",
                                   describe_pair(pair_cols, i), cell.front() + 1, i + 1));
    cell.push_back(i);
  }
  Table out = rows.key_table();
  const AggFn fn = o.agg.value_or(AggFn::First);
  const ColumnType type = o.agg ? detail::agg_type(values, fn) : values.type();
  for (std::size_t c = 0; c < C; ++c) {
    const std::string name = o.prefix + detail::cell_text(spread, cols.rows(c).front());
    if (out.find(name))
      throw ValueError(fmt::format("pivot: the new column {} repeats an index column or another value of {} "
                                   "(give a prefix)",
                                   quoted(name), quoted(o.columns)));
    std::vector<Cell> v(R);
    for (std::size_t r = 0; r < R; ++r) {
      const auto& rs = cells[c][r];
      if (rs.empty()) continue;  // no such pair: missing, whatever the aggregation
      v[r] = o.agg ? detail::aggregate_cell(values, rs, fn) : values.cell(rs.front());
    }
    out.set(std::make_shared<const Column>(detail::typed_column(name, type, v)));
  }
  return out;
}

// ---------------------------------------------------------------- melt

Table melt(const Table& table, const MeltOptions& o) {
  std::unordered_set<std::string> ids;
  for (const auto& k : o.id) {
    table.column(k);
    if (!ids.insert(k).second) throw ValueError(fmt::format("melt: id column {} is given twice", quoted(k)));
  }
  std::vector<const Column*> vals;
  if (o.values.empty()) {
    for (const auto& c : table.columns())
      if (!ids.count(c->name())) vals.push_back(c.get());
  } else {
    std::unordered_set<std::string> seen;
    for (const auto& k : o.values) {
      const Column* c = table.column(k).get();
      if (ids.count(k)) throw ValueError(fmt::format("melt: column {} is both an id and a value column", quoted(k)));
      if (!seen.insert(k).second) throw ValueError(fmt::format("melt: value column {} is given twice", quoted(k)));
      vals.push_back(c);
    }
  }
  if (vals.empty()) throw ValueError("melt: no value columns (every column is an id)");
  for (const Column* c : vals)
    if (c->type() != vals.front()->type())
      throw ValueError(fmt::format("melt: value columns hold one type, but {} holds {}s and {} holds {}s",
                                   quoted(vals.front()->name()), type_name(vals.front()->type()), quoted(c->name()),
                                   type_name(c->type())));
  if (o.variable == o.value)
    throw ValueError(fmt::format("melt: the variable and value columns are both called {}", quoted(o.value)));
  for (const std::string* name : {&o.variable, &o.value})
    if (ids.count(*name))
      throw ValueError(fmt::format("melt: {} is already an id column (rename it with the options variable/value)",
                                   quoted(*name)));
  const std::size_t R = table.nrows(), V = vals.size();
  std::vector<std::size_t> rep;
  rep.reserve(R * V);
  std::vector<std::string> variable;
  std::vector<Cell> value;
  variable.reserve(R * V);
  value.reserve(R * V);
  for (std::size_t i = 0; i < R; ++i) {
    for (const Column* c : vals) {
      rep.push_back(i);
      variable.push_back(c->name());
      value.push_back(c->cell(i));
    }
  }
  Table out;
  for (const auto& k : o.id) out.set(std::make_shared<const Column>(table.column(k)->take(rep)));
  out.set(std::make_shared<const Column>(Column::strings(o.variable, std::move(variable))));
  out.set(std::make_shared<const Column>(detail::typed_column(o.value, vals.front()->type(), value)));
  return out;
}

}  // namespace nl

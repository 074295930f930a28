// cv_folds.cpp: the fold options of nl.cv.nested (folds, repeats, stratify, groups, your
// own folds) and nl.cv.folds, which draws a scheme's folds without running anything.
#include "ml/cv_folds.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/common.hpp"
#include "core/types.hpp"
#include "ml/args.hpp"
#include "nl/ml/nested_cv.hpp"

namespace nl::bind {

using nl::Vector;

// Reads {folds, repeats} from field `key` of the options at idx.
// One CV level: {folds, repeats [, stratify = false]}, or (with allow_logo) the text
// "leave_one_group_out" (sets *logo).
void opt_pair(lua_State* L, int idx, const char* key, int& folds, int& repeats, bool* stratify, bool* logo) {
  if (lua_getfield(L, idx, key) != LUA_TNIL) {
    if (logo && lua_type(L, -1) == LUA_TSTRING) {
      if (std::strcmp(lua_tostring(L, -1), "leave_one_group_out") != 0)
        luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be {folds, repeats} or \"leave_one_group_out\", "
                                                 "got \"%s\"", key, lua_tostring(L, -1)));
      *logo = true;
      lua_pop(L, 1);
      return;
    }
    if (!lua_istable(L, -1) || lua_rawlen(L, -1) != 2)
      luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be {folds, repeats}%s", key,
                                            logo ? " or \"leave_one_group_out\"" : ""));
    if (stratify) {
      lua_getfield(L, -1, "stratify");
      if (!lua_isnil(L, -1)) {
        if (!lua_isboolean(L, -1))
          luaL_argerror(L, idx, lua_pushfstring(L, "option '%s': stratify must be true or false", key));
        *stratify = lua_toboolean(L, -1);
      }
      lua_pop(L, 1);
    }
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    if (!lua_isinteger(L, -2) || !lua_isinteger(L, -1) || lua_tointeger(L, -2) < 2 || lua_tointeger(L, -2) > 100 ||
        lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > 1000)
      luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must hold folds >= 2 and repeats >= 1", key));
    folds = static_cast<int>(lua_tointeger(L, -2));
    repeats = static_cast<int>(lua_tointeger(L, -1));
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
}

// The largest fold number in option `folds` (0 when absent or not numbers; the
// validation that follows says what is wrong): the number of folds when `outer` is not
// given.
int max_user_fold(lua_State* L, int idx) {
  int k = 0;
  const auto see = [&](lua_Number v) {
    if (v >= 1 && v <= 1e6 && v == std::floor(v)) k = std::max(k, static_cast<int>(v));
  };
  if (raw_field(L, idx, "folds") == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  if (const nl::Table* t = test<nl::Table>(L, -1)) {
    for (const auto& c : t->columns())
      if (c->name() != "subject" && c->type() == nl::ColumnType::Number)
        for (std::size_t i = 0; i < c->size(); ++i)
          if (!c->is_missing(i)) see(c->number(i));
  } else if (lua_istable(L, -1)) {
    const auto reps = static_cast<lua_Integer>(lua_rawlen(L, -1));
    for (lua_Integer r = 1; r <= reps; ++r) {
      if (lua_rawgeti(L, -1, r) == LUA_TTABLE) {
        const auto m = static_cast<lua_Integer>(lua_rawlen(L, -1));
        for (lua_Integer i = 1; i <= m; ++i) {
          if (lua_rawgeti(L, -1, i) == LUA_TNUMBER) see(lua_tonumber(L, -1));
          lua_pop(L, 1);
        }
      }
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  return k;
}

// Option `groups` at idx: a Column or a list with one value (text, number or boolean)
// per subject; equal values are one group. Fills ids (0.. in sorted order of the
// values) and returns the number of groups (0 when absent). Inside protect(): a missing value
// throws ArgError naming the entry and, with `lo_ids`, the participant.
std::size_t read_groups(lua_State* L, int idx, lua_Integer n, const nl::Table* lo_ids, std::vector<int>& ids) {
  if (raw_field(L, idx, "groups") == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  std::vector<std::string> values;
  std::vector<char> missing;
  if (const nl::Column* c = test<const nl::Column>(L, -1)) {
    for (std::size_t i = 0; i < c->size(); ++i) {
      missing.push_back(c->is_missing(i));
      values.push_back(c->is_missing(i) ? std::string() : nl::format_cell(*c, i));
    }
  } else if (lua_istable(L, -1)) {
    const auto m = static_cast<lua_Integer>(lua_rawlen(L, -1));
    for (lua_Integer i = 1; i <= m; ++i) {
      const int t = lua_rawgeti(L, -1, i);
      const bool ok = t == LUA_TSTRING || t == LUA_TNUMBER || t == LUA_TBOOLEAN;
      missing.push_back(!ok);
      if (!ok) values.emplace_back();
      else if (t == LUA_TBOOLEAN) values.emplace_back(lua_toboolean(L, -1) ? "true" : "false");
      else values.emplace_back(lua_tostring(L, -1));  // a number is converted on the stack copy
      lua_pop(L, 1);
    }
  } else {
    throw ArgError(idx, fmt::format("option 'groups' must be a Column or a list, got {}", luaL_typename(L, -1)));
  }
  lua_pop(L, 1);
  if (static_cast<lua_Integer>(values.size()) != n)
    throw ArgError(idx, fmt::format("option 'groups' has {} entries for {} subjects", values.size(), n));
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!missing[i]) continue;
    std::string who;
    if (lo_ids)
      if (const nl::ColumnPtr* c = lo_ids->find("participant_id"); c && !(*c)->is_missing(i))
        who = " (participant_id " + nl::format_cell(**c, i) + ")";
    throw ArgError(idx, fmt::format("option 'groups': entry {}{} is missing", i + 1, who));
  }
  // Group ids in sorted order of the values (numerically when both are numbers), so that
  // leave-one-group-out's fold g is the g-th group: site "A" is fold 1.
  std::vector<std::string> names(values);
  const auto number = [](const std::string& v, double& x) {
    char* end = nullptr;
    x = std::strtod(v.c_str(), &end);
    return !v.empty() && end == v.c_str() + v.size();
  };
  std::sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
    double x = 0, z = 0;
    if (number(a, x) && number(b, z) && x != z) return x < z;
    return a < b;
  });
  names.erase(std::unique(names.begin(), names.end()), names.end());
  ids.clear();
  for (const auto& v : values) ids.push_back(static_cast<int>(std::find(names.begin(), names.end(), v) - names.begin()));
  return names.size();
}

// Validates option `folds` (a list of repeats, each a list of 1-based fold numbers
// per subject); returns the number of repeats (0 when absent).
int validate_user_folds(lua_State* L, int idx, lua_Integer n, int k) {
  if (raw_field(L, idx, "folds") == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  if (const nl::Table* t = test<nl::Table>(L, -1)) {
    // A folds_ Table: every column but `subject` is a repeat.
    int reps = 0;
    protect(L, [&] {
      if (t->nrows() != static_cast<std::size_t>(n))
        throw ArgError(idx, fmt::format("option 'folds': the Table has {} rows for {} subjects", t->nrows(), n));
      for (const auto& c : t->columns()) {
        if (c->name() == "subject") continue;
        ++reps;
        for (std::size_t i = 0; i < c->size(); ++i) {
          const double v = c->type() == nl::ColumnType::Number && !c->is_missing(i) ? c->number(i) : -1;
          if (!(v >= 1 && v <= k && v == std::floor(v)))
            throw ArgError(idx, fmt::format("option 'folds': column '{}' row {} must be a fold number in 1..{}",
                                            c->name(), i + 1, k));
        }
      }
      if (reps == 0) throw ArgError(idx, "option 'folds': the Table has no repeat column");
      return 0;
    });
    lua_pop(L, 1);
    return reps;
  }
  if (!lua_istable(L, -1)) luaL_argerror(L, idx, "option 'folds' must be a list of fold lists or a folds_ Table");
  const int f = lua_gettop(L);
  const auto reps = static_cast<lua_Integer>(lua_rawlen(L, f));
  if (reps == 0) luaL_argerror(L, idx, "option 'folds' is empty");
  for (lua_Integer r = 1; r <= reps; ++r) {
    lua_rawgeti(L, f, r);
    if (!lua_istable(L, -1) || static_cast<lua_Integer>(lua_rawlen(L, -1)) != n)
      luaL_argerror(L, idx, lua_pushfstring(L, "folds[%I] must list one fold number per subject (%I)", r, n));
    for (lua_Integer i = 1; i <= n; ++i) {
      lua_rawgeti(L, -1, i);
      if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > k)
        luaL_argerror(L, idx, lua_pushfstring(L, "folds[%I][%I] must be a fold number in 1..%d", r, i, k));
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return static_cast<int>(reps);
}

// Inside protect(): raw reads, each value checked again (Lua code run since
// validate_user_folds, an option's __index or a finalizer, may have changed the list).
void read_user_folds(lua_State* L, int idx, int k, std::vector<std::vector<int>>& out) {
  const auto changed = [&] { return ArgError(idx, "option 'folds' changed while it was being read"); };
  raw_field(L, idx, "folds");
  if (const nl::Table* t = test<nl::Table>(L, -1)) {
    std::size_t r = 0;
    for (const auto& c : t->columns()) {
      if (c->name() == "subject") continue;
      if (r >= out.size() || c->size() < out[r].size() || c->type() != nl::ColumnType::Number) throw changed();
      for (std::size_t i = 0; i < out[r].size(); ++i) {
        const double v = c->is_missing(i) ? -1 : c->number(i);
        if (!(v >= 1 && v <= k)) throw changed();
        out[r][i] = static_cast<int>(v) - 1;
      }
      ++r;
    }
    lua_pop(L, 1);
    if (r != out.size()) throw changed();
    return;
  }
  if (!lua_istable(L, -1)) throw changed();
  for (std::size_t r = 0; r < out.size(); ++r) {
    if (lua_rawgeti(L, -1, static_cast<lua_Integer>(r + 1)) != LUA_TTABLE) throw changed();
    for (std::size_t i = 0; i < out[r].size(); ++i) {
      lua_rawgeti(L, -1, static_cast<lua_Integer>(i + 1));
      const lua_Integer v = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
      lua_pop(L, 1);
      if (v < 1 || v > k) throw changed();
      out[r][i] = static_cast<int>(v) - 1;
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

// The folds as a Table: `subject` (its row in X) and one column per repeat giving each row's fold
// number (1-based); assign[r][i] is 0-based, -1 for a row outside the split.
std::shared_ptr<nl::Table> folds_table(const std::vector<Eigen::Index>& rows, const std::vector<std::vector<int>>& assign) {
  auto t = std::make_shared<nl::Table>();
  std::vector<double> row(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) row[i] = static_cast<double>(rows[i] + 1);
  t->set(std::make_shared<nl::Column>(nl::Column::numbers("subject", std::move(row))));
  for (std::size_t r = 0; r < assign.size(); ++r) {
    std::vector<double> f(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) f[i] = static_cast<double>(assign[r][i] + 1);
    t->set(std::make_shared<nl::Column>(nl::Column::numbers(fmt::format("repeat_{}", r + 1), std::move(f))));
  }
  return t;
}

// nl.cv.folds(y [, options]) -> Table: the CV2 folds nl.cv.nested would draw (or any
// level's scheme), without running anything: `subject` and one column per repeat.
int cv_folds(lua_State* L) {
  check_options(L, 2, "folds", {"folds", "repeats", "seed", "groups", "stratify", "scheme", "positive"});
  lua_settop(L, 2);
  LabelOptions lo;
  if (lua_istable(L, 2)) lua_getfield(L, 2, "positive");
  else lua_pushnil(L);
  if (!lua_isnil(L, 3)) lo.positive = 3;
  int k = 3, repeats = 1;
  std::uint64_t seed = 1;
  bool stratify = true, logo = false;
  if (!lua_isnoneornil(L, 2)) {
    k = static_cast<int>(opt_integer(L, 2, "folds", 2, 100000, 3));
    repeats = static_cast<int>(opt_integer(L, 2, "repeats", 1, 1000, 1));
    seed = static_cast<std::uint64_t>(opt_integer(L, 2, "seed", LUA_MININTEGER, LUA_MAXINTEGER, 1));
    stratify = opt_boolean(L, 2, "stratify", true);
    logo = opt_choice(L, 2, "scheme", {"kfold", "leave_one_group_out"}, 0) == 1;
    if (logo && raw_field(L, 2, "groups") == LUA_TNIL)
      luaL_argerror(L, 2, "scheme = \"leave_one_group_out\" needs option 'groups'");
    if (logo) lua_pop(L, 1);
  }
  const lua_Integer n = validate_labels(L, 1, "labels", lo);
  auto* slot = new_object<nl::Table>(L);
  return protect(L, [&] {
    Vector y(n);
    read_labels(L, 1, y, lo);
    std::vector<int> groups;
    const std::size_t n_groups = lua_isnoneornil(L, 2) ? 0 : read_groups(L, 2, n, nullptr, groups);
    std::vector<std::vector<int>> assign;
    if (logo) {
      if (n_groups < 2) throw ArgError(2, "scheme = \"leave_one_group_out\" needs at least 2 groups, got 1");
      assign = {nl::ml::leave_one_group_out(groups)};
    } else {
      nl::Rng rng(seed, 0);  // the stream of nl.cv.nested's CV2 folds
      assign = nl::ml::draw_folds(y, n_groups > 0 ? &groups : nullptr, k, repeats, stratify, rng);
    }
    std::vector<Eigen::Index> rows(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<Eigen::Index>(i);
    *slot = folds_table(rows, assign);
    return 1;
  });
}

}  // namespace nl::bind

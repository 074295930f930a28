// cv_folds.hpp: the fold options of nl.cv.nested and nl.cv.folds (bindings/ml/cv_folds.cpp).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include <Eigen/Core>
extern "C" {
#include <lua.h>
}

#include "nl/table/table.hpp"

namespace nl::bind {

// One CV level at field `key` of the options at idx: {folds, repeats [, stratify = false]}
// (stratify may be null: not accepted), or, when logo is given, the text
// "leave_one_group_out" (sets *logo). Raises on anything else.
void opt_pair(lua_State* L, int idx, const char* key, int& folds, int& repeats, bool* stratify = nullptr,
              bool* logo = nullptr);
// The largest fold number in option `folds` (0 when absent).
int max_user_fold(lua_State* L, int idx);
// Option `groups` (inside protect(): throws ArgError): group ids 0.. in sorted order of
// the values; returns the number of groups, 0 when absent.
std::size_t read_groups(lua_State* L, int idx, lua_Integer n, const nl::Table* lo_ids, std::vector<int>& ids);
// Option `folds`: validates it (raises), returns the number of repeats (0 when absent);
// read_user_folds (inside protect()) reads it into out (0-based).
int validate_user_folds(lua_State* L, int idx, lua_Integer n, int k);
void read_user_folds(lua_State* L, int idx, int k, std::vector<std::vector<int>>& out);
// The folds as a Table: `subject` (rows[i] + 1) and one column per repeat (1-based folds).
std::shared_ptr<nl::Table> folds_table(const std::vector<Eigen::Index>& rows, const std::vector<std::vector<int>>& assign);
// nl.cv.folds(y [, options]) -> Table
int cv_folds(lua_State* L);

}  // namespace nl::bind

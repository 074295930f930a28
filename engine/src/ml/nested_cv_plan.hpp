// ml/nested_cv_plan.hpp (internal): the folds and preprocessed matrices of a nested CV,
// shared by ml/nested_cv.cpp and ml/persist.cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nl/io/checkpoint.hpp"
#include "nl/ml/nested_cv.hpp"

namespace nl::ml {

namespace detail {

using Index = Eigen::Index;
using Rows = std::vector<Index>;

inline Vector take(const Vector& y, const Rows& rows) {
  Vector out(static_cast<Index>(rows.size()));
  for (std::size_t k = 0; k < rows.size(); ++k) out(static_cast<Index>(k)) = y(rows[k]);
  return out;
}

inline Table take(const Table* t, const Rows& rows) {
  std::vector<std::size_t> r(rows.begin(), rows.end());
  return t->take(r);
}

// One CV1 partition of one CV2 training set, with its preprocessing (fitted on tr)
// applied. Xtest (the CV2 test rows) only without refit: with it, the retrained base
// models score the CV2 test rows through Outer::refit.
struct Inner {
  Rows tr, val;  // subject indices
  Preprocessing pre;
  Matrix Xtr, Xval, Xtest;
};

// With refit_preprocessing: the preprocessing fitted on the CV2 training rows (the
// union of tr and val of every CV1 partition), applied to them (Xtrain, rows in the
// order of Outer::train) and to the CV2 test rows.
struct Refit {
  Preprocessing pre;
  Matrix Xtrain, Xtest;
};

struct Outer {
  Rows train, test;
  std::vector<Inner> inner;
  std::optional<Refit> refit;
};

// Splits by assignment: subjects of `subset` with assign == f go to test.
inline void split(const std::vector<int>& assign, const Rows& subset, int f, Rows& train, Rows& test) {
  for (std::size_t k = 0; k < subset.size(); ++k) (assign[k] == f ? test : train).push_back(subset[k]);
}

// The CV2 train/test rows of every outer fold, repeat-major.
inline std::vector<Outer> outer_splits(const std::vector<std::vector<int>>& assignment, int folds, Index n) {
  Rows all(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) all[static_cast<std::size_t>(i)] = i;
  std::vector<Outer> plan(assignment.size() * static_cast<std::size_t>(folds));
  for (std::size_t r = 0; r < assignment.size(); ++r)
    for (int f = 0; f < folds; ++f)
      split(assignment[r], all, f, plan[r * static_cast<std::size_t>(folds) + static_cast<std::size_t>(f)].train,
            plan[r * static_cast<std::size_t>(folds) + static_cast<std::size_t>(f)].test);
  return plan;
}

// A fitted base model as bytes and back (ml/persist.cpp: the records of the model file,
// current version), for sending fitted models between MPI ranks.
std::string pack_fitted(const FittedModel& m);
FittedModel unpack_fitted(std::string_view bytes);

// A permutation test's kept null labels and medians of permutations [begin, end),
// computed in blocks over the MPI ranks, on every rank (ml/permutation_state.cpp).
void share_null(PermutationResult& r, std::size_t rows, std::size_t begin, std::size_t end);
// The state of permutations 0..done-1 for a checkpoint, and back.
std::string permutation_state(const PermutationResult& r, std::size_t done);
void restore_permutations(PermutationResult& r, const Checkpoint& ck);

}  // namespace detail

// The cached folds and preprocessed matrices, kept by the result for permutations.
struct NestedCvPlan {
  std::vector<detail::Outer> outer;
};

}  // namespace nl::ml

// ml/estimator_checks.hpp (private): the input checks shared by ml/linear_models.cpp and
// ml/kernel_models.cpp, so every model words the same problem the same way. `what` is
// the model's name as it starts each message ("linear SVR: ...").
#pragma once

#include <fmt/format.h>

#include <cmath>

#include "nl/core/core.hpp"
#include "nl/core/linalg.hpp"

namespace nl::ml::detail {

// X has rows, and every value is finite. Column by column, so the first bad value
// reported is the first in memory order.
inline void check_X(const Eigen::Ref<const Matrix>& X, const char* what) {
  if (X.rows() == 0) throw ValueError(fmt::format("{}: no samples (X has 0 rows)", what));
  for (Eigen::Index j = 0; j < X.cols(); ++j)
    for (Eigen::Index i = 0; i < X.rows(); ++i)
      if (!std::isfinite(X(i, j)))
        throw ValueError(
            fmt::format("{}: X has a non-finite value ({}) at row {}, column {}", what, X(i, j), i + 1, j + 1));
}

// A finite target per row of X.
inline void check_targets(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y, const char* what) {
  if (y.size() != X.rows())
    throw ValueError(fmt::format("{}: X has {} rows but y has {} values", what, X.rows(), y.size()));
  for (Eigen::Index i = 0; i < y.size(); ++i)
    if (!std::isfinite(y[i]))
      throw ValueError(fmt::format("{}: y has a non-finite value ({}) at row {}", what, y[i], i + 1));
}

// Labels exactly +1 or -1 (a 0/1 coding passed by mistake would train a one-class
// problem without a word); with both_classes, each class at least once.
inline void check_labels(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y, const char* what,
                         bool both_classes) {
  if (y.size() != X.rows())
    throw ValueError(fmt::format("{}: X has {} rows but y has {} labels", what, X.rows(), y.size()));
  Eigen::Index n_pos = 0;
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    if (y[i] != 1.0 && y[i] != -1.0)
      throw ValueError(fmt::format("{}: label {} of row {} is not +1 or -1", what, y[i], i + 1));
    n_pos += y[i] > 0.0 ? 1 : 0;
  }
  if (both_classes && (n_pos == 0 || n_pos == y.size()))
    throw ValueError(fmt::format("{} needs both classes, but the {} labels have no {}", what, y.size(),
                                 n_pos == 0 ? "+1" : "-1"));
}

inline void check_positive(double v, const char* what, const char* name) {
  if (!(v > 0.0) || !std::isfinite(v))
    throw ValueError(fmt::format("{}: {} must be positive and finite, got {}", what, name, v));
}

inline void check_max_iter(int max_iter, const char* what) {
  if (max_iter < 1) throw ValueError(fmt::format("{}: max_iter must be at least 1, got {}", what, max_iter));
}

inline void check_bias(double bias, const char* what) {
  if (!std::isfinite(bias)) throw ValueError(fmt::format("{}: bias must be finite, got {}", what, bias));
}

}  // namespace nl::ml::detail

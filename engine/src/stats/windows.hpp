// stats/windows.hpp (internal): the window scan shared by the univariate MCD
// (stats/unimcd.cpp) and the p = 1 branch of cov_mcd (stats/mcd.cpp).
#pragma once

#include "nl/stats/mcd.hpp"

namespace nl::stats::detail {

// The window of h consecutive values of sorted y with the smallest sum of squared
// deviations. The running sums follow rrcov's unimcd (initial sums accumulated in long
// double as R's sum(); updates in double), so exact ties are detected as R detects them.
struct WindowScan {
  double sqmin = 0.0;
  double center = 0.0;  // mean of the middle window among exact ties
  Index first = 0;      // start of the first minimising window
};

WindowScan scan_windows(const double* y, Index n, Index h);

}  // namespace nl::stats::detail

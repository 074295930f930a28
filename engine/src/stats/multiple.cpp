// stats/multiple.cpp: Benjamini-Hochberg FDR.
#include "nl/stats/multiple.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace nl::stats {

Vector fdr_bh(const Vector& p) {
  std::vector<Eigen::Index> idx;
  for (Eigen::Index i = 0; i < p.size(); ++i)
    if (!std::isnan(p(i))) idx.push_back(i);
  std::stable_sort(idx.begin(), idx.end(), [&](Eigen::Index a, Eigen::Index b) { return p(a) < p(b); });
  Vector q = Vector::Constant(p.size(), std::numeric_limits<double>::quiet_NaN());
  const auto m = static_cast<double>(idx.size());
  double running = 1.0;
  for (std::size_t k = idx.size(); k-- > 0;) {
    running = std::min(running, m * p(idx[k]) / static_cast<double>(k + 1));
    q(idx[k]) = std::min(1.0, running);
  }
  return q;
}

}  // namespace nl::stats

// The checks of chart data before anything is drawn (nl/plot/chart.hpp): lengths agree,
// nothing is empty, every value is finite. Messages start with the argument's name.
#include <cmath>
#include <set>
#include <string>

#include "chart_draw.hpp"
#include "nl/core/core.hpp"

namespace nl::plot::detail {
namespace {

void finite(const Vector& v, const std::string& what) {
  for (Eigen::Index i = 0; i < v.size(); ++i)
    if (!std::isfinite(v(i)))
      throw ValueError(what + ": entry " + std::to_string(i + 1) + " is " + (std::isnan(v(i)) ? "NaN" : "infinite") +
                       " (remove missing values before plotting)");
}

void nonempty(const Vector& v, const std::string& what) {
  if (v.size() == 0) throw ValueError(what + ": no values to plot");
  finite(v, what);
}

void same_length(const Vector& v, Eigen::Index n, const std::string& what, const std::string& other) {
  if (v.size() != n)
    throw ValueError(what + ": length " + std::to_string(v.size()) + " differs from " + other + " (" +
                     std::to_string(n) + ")");
}

void check(const LinesChart& ch) {
  if (ch.series.empty()) throw ValueError("series: no series to plot");
  for (std::size_t i = 0; i < ch.series.size(); ++i) {
    const auto& s = ch.series[i];
    const std::string w = "series[" + std::to_string(i + 1) + "]";
    nonempty(s.x, w + ".x");
    finite(s.y, w + ".y");
    same_length(s.y, s.x.size(), w + ".y", "x");
    if (s.band_lo.size() || s.band_hi.size()) {
      same_length(s.band_lo, s.x.size(), w + ".band.lo", "x");
      same_length(s.band_hi, s.x.size(), w + ".band.hi", "x");
      finite(s.band_lo, w + ".band.lo");
      finite(s.band_hi, w + ".band.hi");
    }
    if (!(s.width > 0 && s.width <= 50)) throw ValueError(w + ".width: must be in (0, 50] points");
  }
}

void check(const RocChart& ch) {
  if (ch.curves.empty()) throw ValueError("curves: no curve to plot");
  for (std::size_t i = 0; i < ch.curves.size(); ++i) {
    const auto& r = ch.curves[i];
    const std::string w = ch.curves.size() == 1 ? "curve" : "curves[" + std::to_string(i + 1) + "]";
    nonempty(r.fpr, w + ".fpr");
    finite(r.tpr, w + ".tpr");
    same_length(r.tpr, r.fpr.size(), w + ".tpr", "fpr");
    if (r.band_fpr.size()) {
      finite(r.band_fpr, w + ".band.fpr");
      same_length(r.band_lo, r.band_fpr.size(), w + ".band.lo", "band.fpr");
      same_length(r.band_hi, r.band_fpr.size(), w + ".band.hi", "band.fpr");
      finite(r.band_lo, w + ".band.lo");
      finite(r.band_hi, w + ".band.hi");
    }
  }
}

void check(const HistogramChart& ch) {
  nonempty(ch.values, "values");
  if (ch.bins < 0 || ch.bins > 1000) throw ValueError("bins: must be between 1 and 1000");
  if (std::isinf(ch.observed)) throw ValueError("observed: must be finite");
}

void check(const BarsChart& ch) {
  if (ch.names.empty()) throw ValueError("names: no bars to plot");
  same_length(ch.values, static_cast<Eigen::Index>(ch.names.size()), "values", "names");
  finite(ch.values, "values");
  if (ch.errors.size()) {
    same_length(ch.errors, ch.values.size(), "errors", "values");
    finite(ch.errors, "errors");
    for (Eigen::Index i = 0; i < ch.errors.size(); ++i)
      if (ch.errors(i) < 0) throw ValueError("errors: entry " + std::to_string(i + 1) + " is negative");
  }
  if (!ch.marks.empty() && ch.marks.size() != ch.names.size())
    throw ValueError("marks: length " + std::to_string(ch.marks.size()) + " differs from names (" +
                     std::to_string(ch.names.size()) + ")");
}

void check(const ScatterChart& ch) {
  nonempty(ch.x, "x");
  same_length(ch.y, ch.x.size(), "y", "x");
  finite(ch.y, "y");
  if (!ch.groups.empty() && ch.groups.size() != static_cast<std::size_t>(ch.x.size()))
    throw ValueError("groups: length " + std::to_string(ch.groups.size()) + " differs from x (" +
                     std::to_string(ch.x.size()) + ")");
  if (ch.fit) {
    if (ch.x.size() < 3) throw ValueError("fit: a fitted line needs at least 3 points");
    if (!(ch.x.maxCoeff() > ch.x.minCoeff())) throw ValueError("fit: a fitted line needs two distinct x values");
  }
  if (ch.annotate && ch.x.size() < 3) throw ValueError("annotate: a correlation needs at least 3 points");
}

void check(const BoxChart& ch) {
  if (ch.categories.empty() || ch.hues.empty()) throw ValueError("data: no groups to plot");
  if (ch.values.size() != ch.categories.size()) throw ValueError("data: one list of values per category expected");
  bool any = false;
  for (std::size_t k = 0; k < ch.values.size(); ++k) {
    if (ch.values[k].size() != ch.hues.size()) throw ValueError("data: one list of values per hue expected");
    for (std::size_t h = 0; h < ch.hues.size(); ++h) {
      finite(ch.values[k][h], "data (group '" + ch.categories[k] + (ch.hues[h].empty() ? "" : "/" + ch.hues[h]) + "')");
      any = any || ch.values[k][h].size() > 0;
    }
  }
  if (!any) throw ValueError("data: no values to plot");
}

void check(const HeatmapChart& ch) {
  const Eigen::Index nr = ch.M.rows(), nc = ch.M.cols();
  if (nr == 0 || nc == 0) throw ValueError("M: the matrix is empty");
  if (nr > 2000 || nc > 2000) throw ValueError("M: at most 2000 rows and columns can be drawn");
  for (Eigen::Index i = 0; i < nr; ++i)
    for (Eigen::Index j = 0; j < nc; ++j)
      if (!std::isfinite(ch.M(i, j)) && !(ch.netmat && i == j))
        throw ValueError("M: entry (" + std::to_string(i + 1) + ", " + std::to_string(j + 1) + ") is not finite");
  if (!ch.row_labels.empty() && ch.row_labels.size() != static_cast<std::size_t>(nr))
    throw ValueError("row_labels: " + std::to_string(ch.row_labels.size()) + " labels for " + std::to_string(nr) + " rows");
  if (!ch.col_labels.empty() && ch.col_labels.size() != static_cast<std::size_t>(nc))
    throw ValueError("col_labels: " + std::to_string(ch.col_labels.size()) + " labels for " + std::to_string(nc) +
                     " columns");
  if (ch.netmat && nr != nc) throw ValueError("M: a netmat must be square, got " + std::to_string(nr) + "x" + std::to_string(nc));
  if (ch.ordering == Ordering::Given) {
    if (ch.order.size() != static_cast<std::size_t>(nr))
      throw ValueError("order: " + std::to_string(ch.order.size()) + " entries for " + std::to_string(nr) + " rows");
    std::set<int> seen;
    for (int k : ch.order)
      if (k < 0 || k >= nr || !seen.insert(k).second)
        throw ValueError("order: not a permutation of 1.." + std::to_string(nr) + " (entry " + std::to_string(k + 1) + ")");
  }
  if (ch.ordering == Ordering::Hierarchy && nr < 2) throw ValueError("order: a hierarchy needs at least 2 rows");
  if (ch.dendrogram && ch.ordering != Ordering::Hierarchy)
    throw ValueError("dendrogram: needs order = \"hierarchy\"");
  if (!std::isnan(ch.vmin) && !std::isnan(ch.vmax) && !(ch.vmax > ch.vmin))
    throw ValueError("vmax: must be greater than vmin");
}

}  // namespace

void validate(const Chart& chart) {
  std::visit([](const auto& ch) { check(ch); }, chart);
}

}  // namespace nl::plot::detail

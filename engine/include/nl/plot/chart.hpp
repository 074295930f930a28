// nl/plot/chart.hpp: statistical charts (lines, ROC, histogram, bars, scatter, box,
// heat map / netmat) drawn by PLplot through its cairo devices, one file per figure.
//
// A Figure is a grid of Panels; each Panel holds one chart and its axes style. The
// single-chart functions of nl.plot build a one-panel Figure, so every chart is drawn by
// the same panel code (engine/src/plot/chart_panels.cpp).
//
// Contract:
//  * render() writes PNG, SVG or PDF (from the path's extension) atomically: PLplot draws
//    into a temporary file in the destination folder, which is then read back and handed
//    to write_file_atomic; a failure leaves an existing file untouched. The sandbox is
//    honoured (check_write_access).
//  * Sizes are physical: width and height in inches, fonts in points; a PNG has
//    width * dpi x height * dpi pixels, SVG and PDF are vector at that size.
//  * PLplot keeps global state: render() holds a process-wide mutex, ends its stream
//    even on error, and never lets PLplot prompt, print or exit (arguments are validated
//    first; its abort and exit handlers are replaced by ones that throw).
//  * Every input is checked before drawing: ValueError messages start with the name of
//    the offending argument ("values: entry 3 is NaN"). Non-finite data are refused,
//    never silently dropped.
//  * Output is deterministic: the same figure gives the same PNG bytes.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "nl/core/linalg.hpp"
#include "nl/plot/colormap.hpp"

namespace nl::plot {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

enum class Format { Png, Svg, Pdf };
// The format from the path's extension (case-insensitive .png, .svg, .pdf); ValueError
// naming the path and listing the three otherwise.
Format format_of(const std::string& path);

// ---------------------------------------------------------------- style

enum class Legend { Auto, Off, UpperRight, LowerRight, UpperLeft, LowerLeft };
enum class LineStyle { Solid, Dashed, Dotted };

// The style of one panel's axes. Empty strings draw nothing; absent limits are chosen
// from the data.
struct Axes {
  std::string title, xlabel, ylabel;
  std::optional<std::array<double, 2>> xlim, ylim;
  Legend legend = Legend::Auto;  // Auto: a legend when some entry has a label, at the chart's usual corner
  std::string cmap;              // empty: the chart's default
};

// ---------------------------------------------------------------- charts

struct Series {
  Vector x, y;
  std::string label;
  std::optional<RGB> colour;  // default: the tab10 cycle
  LineStyle style = LineStyle::Solid;
  double width = 1.5;      // points
  Vector band_lo, band_hi;  // empty, or shaded between them at the same x
  bool step = false;        // steps-post (the value holds until the next x)
};
struct LinesChart {
  std::vector<Series> series;
  bool diagonal = false;  // the chance line y = x, dashed grey
};

struct RocCurve {
  Vector fpr, tpr;
  double auc = kNaN, ci_lo = kNaN, ci_hi = kNaN;
  Vector band_fpr, band_lo, band_hi;  // optional pointwise band of the tpr
  std::string label;
};
struct RocChart {
  std::vector<RocCurve> curves;
};

struct HistogramChart {
  Vector values;
  int bins = 0;  // 0: Freedman-Diaconis (Sturges when the IQR is 0), at most 100
  double observed = kNaN;
  double p = kNaN;
  std::string observed_label;
  std::string values_label = "null distribution";  // legend entry of the bars (with observed_label)
};

struct BarsChart {
  std::vector<std::string> names;
  Vector values;
  bool horizontal = true;
  bool sign_colours = false;
  std::string positive_label, negative_label;  // legend entries when sign_colours
  Vector errors;                              // empty or half-widths >= 0
  std::vector<bool> marks;                    // empty or one per bar ("*")
};

struct ScatterChart {
  Vector x, y;
  bool fit = false;  // OLS line and the 95 % confidence band of the mean
  std::vector<std::string> groups;  // empty or one label per point
  bool annotate = false;            // "r = 0.41, p = 0.003" (Pearson)
};

// values[c][h]: the observations of category c and hue h (may be empty).
struct BoxChart {
  std::vector<std::string> categories, hues;  // hues: one "" entry when there is no hue
  std::vector<std::vector<Vector>> values;
  std::uint64_t seed = 0;  // jitter of the strip
};

enum class Ordering { None, Given, Hierarchy };
struct HeatmapChart {
  Matrix M;
  std::vector<std::string> row_labels, col_labels;  // empty or one per row / column
  double vmin = kNaN, vmax = kNaN;                  // NaN: from the data (symmetric for signed data)
  std::string colorbar_label;
  Ordering ordering = Ordering::None;
  std::vector<int> order;  // Given: a 0-based permutation of the rows (and columns when square)
  bool dendrogram = false;
  bool netmat = false;  // FSLNets style: symmetric, diagonal blanked, dendrogram on top
};

using Chart = std::variant<LinesChart, RocChart, HistogramChart, BarsChart, ScatterChart, BoxChart, HeatmapChart>;

struct Panel {
  Chart chart;
  Axes axes;
};

struct Figure {
  int rows = 1, cols = 1;
  std::vector<Panel> panels;  // row by row; at most rows * cols
  std::string title;          // above all panels (a one-panel figure uses the panel's title)
  double width = 6.4, height = 4.8;  // inches
  double dpi = 100;
  double font_size = 10;  // points
};

// Where each panel's plot box landed, for tests and callers that annotate PNGs:
// pixel coordinates (x right, y down, in PNG pixels at the figure's dpi) of the box
// corners and the data coordinates they show.
struct PanelFrame {
  double left = 0, right = 0, top = 0, bottom = 0;
  double xmin = 0, xmax = 0, ymin = 0, ymax = 0;
  // Pixel position of a data point.
  double px(double x) const { return left + (x - xmin) / (xmax - xmin) * (right - left); }
  double py(double y) const { return bottom - (y - ymin) / (ymax - ymin) * (bottom - top); }
};
struct Rendered {
  int width_px = 0, height_px = 0;
  std::vector<PanelFrame> panels;
};

// Checks the figure (ValueError naming the panel and argument), draws it and writes
// path atomically.
Rendered render(const Figure& figure, const std::string& path);

// ---------------------------------------------------------------- statistics behind the charts

// The rows' display order of a heat map (0-based; columns follow for a square matrix)
// and, for order = Hierarchy, the linkage the dendrogram draws (scipy's layout, 0-based
// cluster ids; empty otherwise). A netmat is clustered as FSLNets' nets_hierarchy does
// (nl::fc::hierarchy: Ward on 0.5 - clamp(positive part / 99th percentile) / 2, scipy's
// optimal leaf ordering); any other matrix by Ward linkage of its rows under Euclidean
// distance with the same leaf ordering (scipy linkage(M, "ward", optimal_ordering=True)).
struct HeatmapOrder {
  std::vector<int> rows;
  Matrix linkage;
};
HeatmapOrder heatmap_order(const HeatmapChart& chart);


// Quantile of sorted values by linear interpolation (type 7: numpy's and R's default).
double quantile7(const std::vector<double>& sorted, double q);

// Tukey box: quartiles (type 7), whiskers at the most extreme values within 1.5 IQR
// of the box, the values beyond them.
struct BoxStats {
  double q1 = kNaN, median = kNaN, q3 = kNaN, whisker_lo = kNaN, whisker_hi = kNaN;
  std::vector<double> outliers;
};
BoxStats box_stats(const Vector& v);

// Bin count: Freedman-Diaconis, ceil(range / (2 IQR n^(-1/3))) as numpy's "fd", or
// Sturges (ceil(log2 n) + 1) when the IQR is 0; between 1 and 100.
int auto_bins(const Vector& v);

// The OLS line y = a + b x and the confidence band of the mean at `at`:
// fit +- t(0.975, n - 2) * s * sqrt(1/n + (x - mean x)^2 / Sxx) (statsmodels
// get_prediction().conf_int(alpha = 0.05)).
struct OlsBand {
  double intercept = kNaN, slope = kNaN;
  Vector fit, lo, hi;
};
OlsBand ols_band(const Vector& x, const Vector& y, const Vector& at, double level = 0.95);

}  // namespace nl::plot

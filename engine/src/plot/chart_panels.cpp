// The panels (nl/plot/chart.hpp): one function per chart kind, each laying out its plot
// box inside the panel's cell, drawing the data, the axes and the legend. They share
// the layout (margins from measured text) and the styling, which follows what a
// matplotlib user expects: a thin frame, outward ticks on the left and bottom, the tab10
// colours, 5 % data margins, a translucent legend in a corner.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>

#include <plplot.h>

#include "chart_draw.hpp"
#include "nl/core/core.hpp"
#include "nl/stats/classical.hpp"

namespace nl::plot::detail {
namespace {

const RGB kBlack{0, 0, 0};
const RGB kGrey{0.5, 0.5, 0.5};
const RGB kRed{0xd6 / 255.0, 0x27 / 255.0, 0x28 / 255.0};  // tab:red, the observed value

std::vector<double> vec(const Vector& v) { return {v.data(), v.data() + v.size()}; }

double widest(const Canvas& c, const std::vector<std::string>& s, double pt) {
  double w = 0;
  for (const auto& t : s) w = std::max(w, c.text_width(t, pt));
  return w;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// "p = 0.003", "p = 2.1e-05": three decimals, scientific below 0.001 (where three
// decimals would print 0.000).
std::string p_text(double p) { return p == 0 ? "p = 0" : "p = " + fmt(p < 0.001 ? "%.1e" : "%.3f", p); }

// ---------------------------------------------------------------- layout

// Room around the plot box, in mm.
// The height of one more line of text, in em.
constexpr double kLineStep = 1.15;

struct Margins {
  double left = 0, right = 0, bottom = 0, top = 0;
};

// The margins every axis chart needs: the title on top, tick labels and the axis labels
// on the left and bottom.
Margins axis_margins(const Canvas& c, const Axes& a, const Ticks& yt, bool xticks) {
  const double e = c.em();
  Margins m;
  const double tk = Canvas::kTick + Canvas::kPad;
  m.top = a.title.empty() ? 0.8 * e : 2.3 * e;
  m.bottom = 0.4 * e + (xticks ? tk + e : 0.4 * e) + (a.xlabel.empty() ? 0 : 1.5 * e);
  m.left = 0.5 * e + tk + widest(c, yt.labels, c.font()) + (a.ylabel.empty() ? 0 : 1.6 * e);
  m.right = 1.0 * e;
  return m;
}

Box inside(const Box& cell, const Margins& m) {
  Box b{cell.x0 + m.left, cell.x1 - m.right, cell.y0 + m.bottom, cell.y1 - m.top};
  if (b.w() < 5 || b.h() < 5) throw ValueError("width: the figure is too small for its labels");
  return b;
}

// Shrinks the box to a square, centred.
Box squared(const Box& b) {
  const double s = std::min(b.w(), b.h());
  const double cx = (b.x0 + b.x1) / 2, cy = (b.y0 + b.y1) / 2;
  return {cx - s / 2, cx + s / 2, cy - s / 2, cy + s / 2};
}

// The distance from the top edge to the title's centre line (mm).
double title_off(const Canvas& c) { return 0.7 * c.em() + 0.6 * 1.2 * c.em(); }

// Title and axis labels around the current viewport.
// extra_lines: x tick labels with more than one line (category names with "\n") push
// the x label down by that many lines.
void axis_labels(Canvas& c, const Axes& a, double ytick_width, int extra_lines = 0) {
  const double e = c.em();
  c.colour(kBlack);
  const double tk = Canvas::kTick + Canvas::kPad;
  if (!a.title.empty()) c.side_text('t', title_off(c), 0.5, 0.5, a.title, c.font() * 1.2);
  if (!a.xlabel.empty()) c.side_text('b', tk + (2.0 + kLineStep * extra_lines) * e, 0.5, 0.5, a.xlabel, c.font());
  if (!a.ylabel.empty()) c.side_text('l', tk + ytick_width + 1.1 * e, 0.5, 0.5, a.ylabel, c.font(), true);
}

std::array<double, 2> limits(const std::optional<std::array<double, 2>>& user, double lo, double hi, double margin = 0.05) {
  if (user) return *user;
  return padded(lo, hi, margin);
}

// Lays out and opens a standard axis chart; returns the y tick width (for the ylabel).
double open_axes(Canvas& c, const Box& cell, const Axes& a, std::array<double, 2> xr, std::array<double, 2> yr,
                 const Ticks& xt, const Ticks& yt, bool square = false) {
  const Margins m = axis_margins(c, a, yt, !xt.at.empty());
  Box b = inside(cell, m);
  if (square) b = squared(b);
  c.viewport(b, xr[0], xr[1], yr[0], yr[1]);
  return widest(c, yt.labels, c.font());
}

void finish_axes(Canvas& c, const Axes& a, const Ticks& xt, const Ticks& yt, double ytw) {
  c.axes(xt, yt);
  axis_labels(c, a, ytw);
}

RGB series_colour(const std::optional<RGB>& c, std::size_t i) { return c ? *c : category_colour(i); }

void band(Canvas& c, const Vector& x, const Vector& lo, const Vector& hi, const RGB& col, bool step) {
  std::vector<double> px, py;
  const Eigen::Index n = x.size();
  auto push = [&](Eigen::Index i, const Vector& v, bool forward) {
    px.push_back(x(i));
    py.push_back(v(i));
    if (step) {
      const Eigen::Index j = forward ? i + 1 : i - 1;
      if (forward && j < n) px.push_back(x(j)), py.push_back(v(i));
      if (!forward && j >= 0) px.push_back(x(i)), py.push_back(v(j));
    }
  };
  for (Eigen::Index i = 0; i < n; ++i) push(i, hi, true);
  for (Eigen::Index i = n - 1; i >= 0; --i) push(i, lo, false);
  c.colour(col, 0.22);
  c.polygon(px, py);
}

std::vector<double> stepped(const Vector& x, const Vector& y, std::vector<double>& sy) {
  std::vector<double> sx;
  sy.clear();
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    if (i > 0) sx.push_back(x(i)), sy.push_back(y(i - 1));
    sx.push_back(x(i)), sy.push_back(y(i));
  }
  return sx;
}

void chance_line(Canvas& c) {
  c.colour(kGrey);
  c.line_width(1.0);
  c.line_style(LineStyle::Dashed);
  const double lo = std::max(c.x0(), c.y0()), hi = std::min(c.x1(), c.y1());
  if (hi > lo) c.segment(lo, lo, hi, hi);
  c.line_style(LineStyle::Solid);
}

// ---------------------------------------------------------------- lines and ROC

PanelFrame draw_lines(Canvas& c, const LinesChart& ch, const Axes& a, const Box& cell) {
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const auto& s : ch.series) {
    xlo = std::min(xlo, s.x.minCoeff()), xhi = std::max(xhi, s.x.maxCoeff());
    ylo = std::min(ylo, s.y.minCoeff()), yhi = std::max(yhi, s.y.maxCoeff());
    if (s.band_lo.size()) ylo = std::min(ylo, s.band_lo.minCoeff()), yhi = std::max(yhi, s.band_hi.maxCoeff());
  }
  const auto xr = limits(a.xlim, xlo, xhi), yr = limits(a.ylim, ylo, yhi);
  const Ticks xt = nice_ticks(xr[0], xr[1]), yt = nice_ticks(yr[0], yr[1]);
  const double ytw = open_axes(c, cell, a, xr, yr, xt, yt);
  const PanelFrame frame = c.frame();
  if (ch.diagonal) chance_line(c);
  std::vector<LegendEntry> legend;
  for (std::size_t i = 0; i < ch.series.size(); ++i) {
    const auto& s = ch.series[i];
    const RGB col = series_colour(s.colour, i);
    if (s.band_lo.size()) band(c, s.x, s.band_lo, s.band_hi, col, s.step);
    c.colour(col);
    c.line_width(s.width);
    c.line_style(s.style);
    if (s.step) {
      std::vector<double> sy;
      const auto sx = stepped(s.x, s.y, sy);
      c.polyline(sx, sy);
    } else {
      c.polyline(vec(s.x), vec(s.y));
    }
    c.line_style(LineStyle::Solid);
    if (!s.label.empty()) legend.push_back({LegendEntry::Line, s.label, col, s.style});
  }
  finish_axes(c, a, xt, yt, ytw);
  c.legend(legend, a.legend, Legend::UpperLeft);
  return frame;
}

PanelFrame draw_roc(Canvas& c, const RocChart& ch, const Axes& a0, const Box& cell) {
  Axes a = a0;
  if (a.xlabel.empty()) a.xlabel = "1 - specificity";
  if (a.ylabel.empty()) a.ylabel = "sensitivity";
  const auto xr = a.xlim ? *a.xlim : std::array<double, 2>{-0.01, 1.01};
  const auto yr = a.ylim ? *a.ylim : std::array<double, 2>{-0.01, 1.01};
  const Ticks xt = nice_ticks(xr[0], xr[1], 5), yt = nice_ticks(yr[0], yr[1], 5);
  const double ytw = open_axes(c, cell, a, xr, yr, xt, yt, true);
  const PanelFrame frame = c.frame();
  chance_line(c);
  std::vector<LegendEntry> legend;
  for (std::size_t i = 0; i < ch.curves.size(); ++i) {
    const auto& r = ch.curves[i];
    const RGB col = category_colour(i);
    if (r.band_fpr.size()) band(c, r.band_fpr, r.band_lo, r.band_hi, col, false);
    c.colour(col);
    c.line_width(1.8);
    c.polyline(vec(r.fpr), vec(r.tpr));
    std::string label = r.label;
    if (std::isfinite(r.auc)) {
      label += (label.empty() ? "" : "  ") + fmt("AUC %.2f", r.auc);
      if (std::isfinite(r.ci_lo) && std::isfinite(r.ci_hi)) label += fmt(" [%.2f, ", r.ci_lo) + fmt("%.2f]", r.ci_hi);
    }
    if (!label.empty()) legend.push_back({LegendEntry::Line, label, col});
  }
  finish_axes(c, a, xt, yt, ytw);
  c.legend(legend, a.legend, Legend::LowerRight);
  return frame;
}

// ---------------------------------------------------------------- histogram

PanelFrame draw_histogram(Canvas& c, const HistogramChart& ch, const Axes& a0, const Box& cell) {
  Axes a = a0;
  if (a.ylabel.empty()) a.ylabel = "count";
  const int bins = ch.bins > 0 ? ch.bins : auto_bins(ch.values);
  double lo = ch.values.minCoeff(), hi = ch.values.maxCoeff();
  if (!(hi > lo)) lo -= 0.5, hi += 0.5;
  const double width = (hi - lo) / bins;
  std::vector<double> count(bins, 0.0);
  for (double v : vec(ch.values)) count[std::min(bins - 1, static_cast<int>((v - lo) / width))] += 1;
  double xlo = lo, xhi = hi;
  if (std::isfinite(ch.observed)) xlo = std::min(xlo, ch.observed), xhi = std::max(xhi, ch.observed);
  const auto xr = limits(a.xlim, xlo, xhi);
  const double cmax = *std::max_element(count.begin(), count.end());
  const auto yr = a.ylim ? *a.ylim : std::array<double, 2>{0, cmax * 1.12};
  const Ticks xt = nice_ticks(xr[0], xr[1]), yt = nice_ticks(yr[0], yr[1], 5);
  const double ytw = open_axes(c, cell, a, xr, yr, xt, yt);
  const PanelFrame frame = c.frame();
  const RGB blue = category_colour(0);
  for (int b = 0; b < bins; ++b) {
    if (count[b] == 0) continue;
    c.colour(blue, 0.75);
    c.rect(lo + b * width, lo + (b + 1) * width, 0, count[b]);
  }
  c.colour({1, 1, 1});
  c.line_width(0.6);
  for (int b = 1; b < bins; ++b) c.segment(lo + b * width, 0, lo + b * width, std::max(count[b - 1], count[b]));
  std::vector<LegendEntry> legend;
  if (std::isfinite(ch.observed)) {
    c.colour(kRed);
    c.line_width(2.0);
    c.segment(ch.observed, yr[0], ch.observed, yr[1]);
    if (std::isfinite(ch.p)) {
      // beside the line, on the side with more room
      const bool right = ch.observed < (xr[0] + xr[1]) / 2;
      const double dx = c.wx(0.8 * c.em());
      // A p of 0 from N permutations means no permuted value reached the observed one:
      // p < 1/N (as Table 2's "< .001"), not p = 0.
      const std::string text = ch.p == 0 && ch.values.size() > 0
                                   ? "p < " + fmt("%g", 1.0 / static_cast<double>(ch.values.size()))
                                   : p_text(ch.p);
      c.text(ch.observed + (right ? dx : -dx), yr[0] + 0.92 * (yr[1] - yr[0]), text, right ? 0 : 1, c.font());
    }
    if (!ch.observed_label.empty()) {
      legend.push_back({LegendEntry::Patch, ch.values_label, blue, LineStyle::Solid, 0.75});
      legend.push_back({LegendEntry::Line, ch.observed_label, kRed});
    }
  }
  finish_axes(c, a, xt, yt, ytw);
  const bool obs_right = std::isfinite(ch.observed) && ch.observed > (xr[0] + xr[1]) / 2;
  c.legend(legend, a.legend, obs_right ? Legend::UpperLeft : Legend::UpperRight);
  return frame;
}

// ---------------------------------------------------------------- bars

PanelFrame draw_bars(Canvas& c, const BarsChart& ch, const Axes& a, const Box& cell) {
  const double e = c.em();
  const auto n = static_cast<double>(ch.names.size());
  const bool errs = ch.errors.size() > 0;
  double lo = 0, hi = 0;
  for (Eigen::Index i = 0; i < ch.values.size(); ++i) {
    const double err = errs ? ch.errors(i) : 0;
    lo = std::min(lo, ch.values(i) - err);
    hi = std::max(hi, ch.values(i) + err);
  }
  const bool any_mark = std::find(ch.marks.begin(), ch.marks.end(), true) != ch.marks.end();
  // room for the marks beyond the bar ends
  const auto vr = limits(ch.horizontal ? a.xlim : a.ylim, lo, hi, any_mark ? 0.09 : 0.05);
  const std::array<double, 2> cr{0.4, n + 0.6};  // category i (0-based) at n - i: the first on top / left
  const Ticks vt = nice_ticks(vr[0], vr[1]);
  // category labels: measured, shrunk (to 6 pt at least) when they would take more
  // than 45 % of the cell
  double pt = c.font();
  const double room = (ch.horizontal ? cell.w() : cell.h()) * 0.45;
  while (pt > 6 && widest(c, ch.names, pt) > room) pt -= 0.5;
  const double namew = widest(c, ch.names, pt);
  Margins m;
  const double tk = Canvas::kTick + Canvas::kPad, vtw = widest(c, vt.labels, c.font());
  m.top = a.title.empty() ? 0.8 * e : 2.3 * e;
  m.right = 1.0 * e;
  if (ch.horizontal) {
    m.left = 0.5 * e + 0.4 * e + namew + (a.ylabel.empty() ? 0 : 1.6 * e);
    m.bottom = 0.4 * e + tk + e + (a.xlabel.empty() ? 0 : 1.5 * e);
  } else {
    m.left = 0.5 * e + tk + vtw + (a.ylabel.empty() ? 0 : 1.6 * e);
    m.bottom = 0.4 * e + 0.4 * e + namew + (a.xlabel.empty() ? 0 : 1.5 * e);
  }
  const Box b = inside(cell, m);
  // the slot of each bar, also the font limit: labels no taller than their slot
  const double slot = (ch.horizontal ? b.h() : b.w()) / (n + 0.2);
  const double pt_slot = slot / 25.4 * 72 / 1.15;
  if (pt > pt_slot) pt = std::max(3.0, pt_slot);
  if (ch.horizontal) c.viewport(b, vr[0], vr[1], cr[0], cr[1]);
  else c.viewport(b, cr[0], cr[1], vr[0], vr[1]);
  const PanelFrame frame = c.frame();
  const Colormap rdbu = Colormap::get(a.cmap.empty() ? "RdBu_r" : a.cmap);
  const RGB pos = rdbu(0.88), neg = rdbu(0.12), plain = category_colour(0);
  auto at = [&](std::size_t i) { return ch.horizontal ? n - static_cast<double>(i) : static_cast<double>(i) + 1; };
  for (std::size_t i = 0; i < ch.names.size(); ++i) {
    const double v = ch.values(static_cast<Eigen::Index>(i)), p = at(i);
    c.colour(ch.sign_colours ? (v >= 0 ? pos : neg) : plain);
    if (ch.horizontal) c.rect(0, v, p - 0.4, p + 0.4);
    else c.rect(p - 0.4, p + 0.4, 0, v);
  }
  // zero line
  c.colour(kBlack);
  c.line_width(0.8);
  if (ch.horizontal) c.segment(0, cr[0], 0, cr[1]);
  else c.segment(cr[0], 0, cr[1], 0);
  for (std::size_t i = 0; i < ch.names.size(); ++i) {
    const auto k = static_cast<Eigen::Index>(i);
    const double v = ch.values(k), p = at(i), err = errs ? ch.errors(k) : 0;
    if (errs && err > 0) {
      c.colour({0.15, 0.15, 0.15});
      c.line_width(1.0);
      const double cap = 0.15;
      if (ch.horizontal) {
        c.segment(v - err, p, v + err, p);
        c.segment(v - err, p - cap, v - err, p + cap);
        c.segment(v + err, p - cap, v + err, p + cap);
      } else {
        c.segment(p, v - err, p, v + err);
        c.segment(p - cap, v - err, p + cap, v - err);
        c.segment(p - cap, v + err, p + cap, v + err);
      }
    }
    if (!ch.marks.empty() && ch.marks[i]) {
      c.colour(kBlack);
      const double end = v >= 0 ? v + err : v - err;
      if (ch.horizontal) {
        const double d = c.wx(0.5 * e);
        c.text(end + (v >= 0 ? d : -d), p, "*", v >= 0 ? 0 : 1, c.font() * 1.2);
      } else {
        const double d = c.wy(0.9 * e);
        c.text(p, end + (v >= 0 ? d : -d), "*", 0.5, c.font() * 1.2);
      }
    }
  }
  // names on the category axis
  c.colour(kBlack);
  for (std::size_t i = 0; i < ch.names.size(); ++i) {
    const double pos01 = (at(i) - cr[0]) / (cr[1] - cr[0]);
    if (ch.horizontal) c.side_text('l', 0.4 * e, pos01, 1.0, ch.names[i], pt);
    else c.side_text('b', 0.4 * e, pos01, 1.0, ch.names[i], pt, true);
  }
  Ticks none;
  if (ch.horizontal) c.axes(vt, none);
  else c.axes(none, vt);
  c.colour(kBlack);
  if (!a.title.empty()) c.side_text('t', title_off(c), 0.5, 0.5, a.title, c.font() * 1.2);
  if (ch.horizontal) {
    if (!a.xlabel.empty()) c.side_text('b', tk + 2.0 * e, 0.5, 0.5, a.xlabel, c.font());
    if (!a.ylabel.empty()) c.side_text('l', 0.4 * e + namew + 1.1 * e, 0.5, 0.5, a.ylabel, c.font(), true);
  } else {
    if (!a.xlabel.empty()) c.side_text('b', 0.4 * e + namew + 1.0 * e, 0.5, 0.5, a.xlabel, c.font());
    if (!a.ylabel.empty()) c.side_text('l', tk + vtw + 1.1 * e, 0.5, 0.5, a.ylabel, c.font(), true);
  }
  std::vector<LegendEntry> legend;
  if (ch.sign_colours) {
    legend.push_back({LegendEntry::Patch, ch.positive_label.empty() ? "positive" : ch.positive_label, pos});
    legend.push_back({LegendEntry::Patch, ch.negative_label.empty() ? "negative" : ch.negative_label, neg});
  }
  // the corner away from the longest bars
  const double mean = ch.values.mean();
  const Legend corner = ch.horizontal ? (mean >= 0 ? Legend::LowerRight : Legend::LowerLeft)
                                      : (mean >= 0 ? Legend::UpperRight : Legend::LowerRight);
  c.legend(legend, a.legend, corner);
  return frame;
}

// ---------------------------------------------------------------- scatter

PanelFrame draw_scatter(Canvas& c, const ScatterChart& ch, const Axes& a, const Box& cell) {
  const auto xr = limits(a.xlim, ch.x.minCoeff(), ch.x.maxCoeff());
  OlsBand fit;
  Vector grid;
  double ylo = ch.y.minCoeff(), yhi = ch.y.maxCoeff();
  if (ch.fit) {
    grid = Vector::LinSpaced(100, xr[0], xr[1]);
    fit = ols_band(ch.x, ch.y, grid);
    ylo = std::min(ylo, fit.lo.minCoeff()), yhi = std::max(yhi, fit.hi.maxCoeff());
  }
  const auto yr = limits(a.ylim, ylo, yhi);
  const Ticks xt = nice_ticks(xr[0], xr[1]), yt = nice_ticks(yr[0], yr[1]);
  const double ytw = open_axes(c, cell, a, xr, yr, xt, yt);
  const PanelFrame frame = c.frame();
  // groups in order of first appearance
  std::vector<std::string> levels;
  std::vector<int> code(ch.x.size(), 0);
  if (!ch.groups.empty()) {
    std::map<std::string, int> index;
    for (std::size_t i = 0; i < ch.groups.size(); ++i) {
      auto it = index.find(ch.groups[i]);
      if (it == index.end()) {
        it = index.emplace(ch.groups[i], static_cast<int>(levels.size())).first;
        levels.push_back(ch.groups[i]);
      }
      code[i] = it->second;
    }
  }
  if (ch.fit) {
    const RGB dark{0.25, 0.25, 0.25};
    band(c, grid, fit.lo, fit.hi, dark, false);
    c.colour(dark);
    c.line_width(1.5);
    c.polyline(vec(grid), vec(fit.fit));
  }
  const double r = 0.9;  // mm: matplotlib's 6 pt markers ~ 2.1 mm across
  for (Eigen::Index i = 0; i < ch.x.size(); ++i) {
    c.colour(category_colour(static_cast<std::size_t>(code[i])), 0.8);
    c.circle(ch.x(i), ch.y(i), r);
  }
  if (ch.annotate) {
    const auto p = nl::stats::pearson(ch.x, ch.y);
    c.colour(kBlack);
    c.text(xr[0] + c.wx(1.0 * c.em()), yr[1] - c.wy(1.0 * c.em()), fmt("r = %.2f, ", p.r) + p_text(p.p), 0, c.font());
  }
  finish_axes(c, a, xt, yt, ytw);
  std::vector<LegendEntry> legend;
  for (std::size_t g = 0; g < levels.size(); ++g) legend.push_back({LegendEntry::Marker, levels[g], category_colour(g)});
  c.legend(legend, a.legend, Legend::LowerRight);
  return frame;
}

// ---------------------------------------------------------------- box

PanelFrame draw_box(Canvas& c, const BoxChart& ch, const Axes& a, const Box& cell) {
  const auto nc = ch.categories.size(), nh = ch.hues.size();
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& row : ch.values)
    for (const auto& v : row)
      if (v.size()) lo = std::min(lo, v.minCoeff()), hi = std::max(hi, v.maxCoeff());
  const auto yr = limits(a.ylim, lo, hi);
  const std::array<double, 2> xr{0.5, static_cast<double>(nc) + 0.5};
  const Ticks yt = nice_ticks(yr[0], yr[1]);
  Ticks xt;  // category names instead of numbers
  xt.step = 1;
  int extra_lines = 0;  // category names of several lines ("a\nb") need a taller bottom margin
  for (std::size_t k = 0; k < nc; ++k) {
    xt.at.push_back(static_cast<double>(k) + 1);
    xt.labels.push_back(ch.categories[k]);
    extra_lines = std::max(extra_lines, static_cast<int>(std::count(ch.categories[k].begin(), ch.categories[k].end(), '\n')));
  }
  Margins m = axis_margins(c, a, yt, true);
  m.bottom += kLineStep * extra_lines * c.em();
  c.viewport(inside(cell, m), xr[0], xr[1], yr[0], yr[1]);
  const PanelFrame frame = c.frame();
  const double group = 0.8, w = group / static_cast<double>(nh);
  Rng rng(ch.seed, 0);
  for (std::size_t k = 0; k < nc; ++k)
    for (std::size_t h = 0; h < nh; ++h) {
      const Vector& v = ch.values[k][h];
      if (v.size() == 0) continue;
      const double xc = static_cast<double>(k) + 1 - group / 2 + w * (static_cast<double>(h) + 0.5);
      const double bw = w * 0.8;
      const BoxStats s = box_stats(v);
      const RGB col = category_colour(h);
      c.colour(col, 0.45);
      c.rect(xc - bw / 2, xc + bw / 2, s.q1, s.q3);
      const RGB edge{0.2, 0.2, 0.2};
      c.colour(edge);
      c.line_width(1.0);
      c.polyline({xc - bw / 2, xc + bw / 2, xc + bw / 2, xc - bw / 2, xc - bw / 2}, {s.q1, s.q1, s.q3, s.q3, s.q1});
      c.segment(xc, s.q1, xc, s.whisker_lo);
      c.segment(xc, s.q3, xc, s.whisker_hi);
      c.segment(xc - bw / 4, s.whisker_lo, xc + bw / 4, s.whisker_lo);
      c.segment(xc - bw / 4, s.whisker_hi, xc + bw / 4, s.whisker_hi);
      c.line_width(1.8);
      c.segment(xc - bw / 2, s.median, xc + bw / 2, s.median);
      // outliers: open circles at the box centre (matplotlib's fliers)
      c.line_width(0.8);
      for (double o : s.outliers) c.circle(xc, o, 1.0, false);
      // every observation, jittered across 60 % of the box
      c.colour({0.15, 0.15, 0.15}, 0.7);
      for (Eigen::Index i = 0; i < v.size(); ++i) c.circle(xc + (rng.uniform() - 0.5) * bw * 0.6, v(i), 0.55);
    }
  c.axes(xt, yt);
  axis_labels(c, a, widest(c, yt.labels, c.font()), extra_lines);
  std::vector<LegendEntry> legend;
  if (nh > 1)
    for (std::size_t h = 0; h < nh; ++h) legend.push_back({LegendEntry::Patch, ch.hues[h], category_colour(h), LineStyle::Solid, 0.45});
  c.legend(legend, a.legend, Legend::UpperRight);
  return frame;
}

// ---------------------------------------------------------------- heat map and netmat

// The dendrogram of linkage Z (scipy's layout) with leaf order[i] drawn at leaf_pos[i].
void dendrogram(Canvas& c, const Matrix& Z, const std::vector<int>& order, const std::vector<double>& leaf_pos,
                bool on_top) {
  const int n = static_cast<int>(order.size());
  std::vector<double> pos(2 * n - 1), height(2 * n - 1, 0.0);
  for (int i = 0; i < n; ++i) pos[order[i]] = leaf_pos[i];
  c.colour({0.2, 0.2, 0.2});
  c.line_width(0.9);
  for (int s = 0; s < n - 1; ++s) {
    const int a = static_cast<int>(Z(s, 0)), b = static_cast<int>(Z(s, 1));
    const double h = Z(s, 2);
    pos[n + s] = (pos[a] + pos[b]) / 2;
    height[n + s] = h;
    if (on_top) c.polyline({pos[a], pos[a], pos[b], pos[b]}, {height[a], h, h, height[b]});
    else c.polyline({height[a], h, h, height[b]}, {pos[a], pos[a], pos[b], pos[b]});
  }
}

PanelFrame draw_heatmap(Canvas& c, const HeatmapChart& ch, const Axes& a, const Box& cell) {
  const double e = c.em();
  const Eigen::Index nr = ch.M.rows(), nc = ch.M.cols();
  const bool square = nr == nc;
  // the order of rows (and of columns for a square matrix)
  std::vector<int> rows(nr), cols(nc);
  std::iota(rows.begin(), rows.end(), 0);
  std::iota(cols.begin(), cols.end(), 0);
  const HeatmapOrder ho = heatmap_order(ch);
  rows = ho.rows;
  if (square) cols = rows;
  const Colormap cmap = Colormap::get(a.cmap.empty() ? "RdBu_r" : a.cmap);
  // colour limits: symmetric around 0 for signed data under a diverging map
  double vmin = ch.vmin, vmax = ch.vmax;
  {
    double lo = INFINITY, hi = -INFINITY;
    for (Eigen::Index i = 0; i < nr; ++i)
      for (Eigen::Index j = 0; j < nc; ++j) {
        if (ch.netmat && i == j) continue;
        if (std::isfinite(ch.M(i, j))) lo = std::min(lo, ch.M(i, j)), hi = std::max(hi, ch.M(i, j));
      }
    if (!std::isfinite(lo)) lo = -1, hi = 1;
    if (std::isnan(vmin) && std::isnan(vmax) && lo < 0 && hi > 0 && cmap.diverging()) {
      const double m = std::max(-lo, hi);
      vmin = -m, vmax = m;
    }
    if (std::isnan(vmin)) vmin = lo;
    if (std::isnan(vmax)) vmax = hi;
    if (!(vmax > vmin)) vmin -= 0.5, vmax += 0.5;
  }
  std::vector<std::string> rl = ch.row_labels, cl = ch.col_labels;
  if (square && cl.empty()) cl = rl;
  if (square && rl.empty()) rl = cl;
  std::vector<std::string> rl_o, cl_o;
  for (int r : rows) if (!rl.empty()) rl_o.push_back(rl[r]);
  for (int k : cols) if (!cl.empty()) cl_o.push_back(cl[k]);

  // layout: [dendrogram] [row labels] matrix [colour bar] (netmat: dendrogram on top)
  const bool dend = ch.dendrogram && ho.linkage.rows() > 0;
  const bool dend_top = dend && ch.netmat;
  const bool dend_left = dend && !ch.netmat;
  double pt = c.font() * 0.85;
  const Ticks ct = nice_ticks(vmin, vmax, 5);
  Margins m;
  m.top = (a.title.empty() ? 0.8 * e : 2.3 * e) + (dend_top ? cell.h() * 0.15 : 0);
  const double cbar_w = 1.0 * e, cbar_gap = 1.2 * e;
  const double ctw = widest(c, ct.labels, c.font());
  const double cbar_text = Canvas::kTick + Canvas::kPad + ctw + (ch.colorbar_label.empty() ? 0 : 1.6 * e);
  m.right = 0.6 * e + cbar_gap + cbar_w + cbar_text;
  const double dend_w = dend_left ? cell.w() * 0.13 : 0;
  // label font: no taller than a cell, no wider than 30 % of the cell
  const double room_h = cell.h() - m.top - 4 * e, room_w = cell.w() - m.right - dend_w - 4 * e;
  const double cell_mm = std::min(room_h / static_cast<double>(nr), room_w / static_cast<double>(nc));
  pt = std::min(pt, cell_mm / 25.4 * 72 / 1.1);
  const bool show_labels = pt >= 3.5;
  while (show_labels && pt > 3.5 && std::max(widest(c, rl_o, pt), widest(c, cl_o, pt)) > 0.3 * cell.w()) pt -= 0.25;
  const double rlw = show_labels && !rl_o.empty() ? widest(c, rl_o, pt) + 0.4 * e : 0.2 * e;
  const double clw = show_labels && !cl_o.empty() ? widest(c, cl_o, pt) + 0.4 * e : 0.2 * e;
  m.left = 0.5 * e + dend_w + (dend_left ? 0.6 * e : 0) + rlw + (a.ylabel.empty() ? 0 : 1.6 * e);
  m.bottom = 0.5 * e + clw + (a.xlabel.empty() ? 0 : 1.5 * e);
  Box b = inside(cell, m);
  // square cells (matplotlib's imshow aspect "equal")
  {
    const double s = std::min(b.w() / static_cast<double>(nc), b.h() / static_cast<double>(nr));
    const double w = s * static_cast<double>(nc), h = s * static_cast<double>(nr);
    b = {b.x0, b.x0 + w, b.y1 - h, b.y1};
  }
  c.viewport(b, 0, static_cast<double>(nc), 0, static_cast<double>(nr));
  const PanelFrame frame = c.frame();
  // cells, each slightly enlarged so that antialiasing leaves no seams
  const double ov = 0.02;
  for (Eigen::Index i = 0; i < nr; ++i)
    for (Eigen::Index j = 0; j < nc; ++j) {
      const int r = rows[i], k = cols[j];
      if (ch.netmat && r == k) continue;
      const double v = ch.M(r, k);
      if (!std::isfinite(v)) continue;
      c.colour(cmap((v - vmin) / (vmax - vmin)));
      const double y1 = static_cast<double>(nr - i), y0 = y1 - 1;
      c.rect(static_cast<double>(j) - ov, static_cast<double>(j) + 1 + ov, y0 - ov, y1 + ov);
    }
  c.colour(kBlack);
  c.line_width(0.8);
  plbox("bc", 0, 0, "bc", 0, 0);
  if (show_labels) {
    for (std::size_t i = 0; i < rl_o.size(); ++i)
      c.side_text('l', 0.4 * e, (static_cast<double>(nr - i) - 0.5) / static_cast<double>(nr), 1.0, rl_o[i], pt);
    for (std::size_t j = 0; j < cl_o.size(); ++j)
      c.side_text('b', 0.4 * e, (static_cast<double>(j) + 0.5) / static_cast<double>(nc), 1.0, cl_o[j], pt, true);
  }
  if (!a.title.empty())
    c.side_text('t', title_off(c) + (dend_top ? cell.h() * 0.15 : 0), 0.5, 0.5, a.title, c.font() * 1.2);
  if (!a.xlabel.empty()) c.side_text('b', clw + 1.0 * e, 0.5, 0.5, a.xlabel, c.font());
  if (!a.ylabel.empty()) c.side_text('l', rlw + dend_w + 1.1 * e, 0.5, 0.5, a.ylabel, c.font(), true);
  // colour bar
  const Box cb{b.x1 + cbar_gap, b.x1 + cbar_gap + cbar_w, b.y0, b.y1};
  c.viewport(cb, 0, 1, vmin, vmax);
  constexpr int stripes = 256;
  for (int s = 0; s < stripes; ++s) {
    const double t0 = static_cast<double>(s) / stripes, t1 = static_cast<double>(s + 1) / stripes;
    c.colour(cmap((t0 + t1) / 2));
    c.rect(0, 1, vmin + t0 * (vmax - vmin) - 1e-9, vmin + t1 * (vmax - vmin) + (vmax - vmin) * 0.002);
  }
  c.axes(Ticks{}, ct, true);
  if (!ch.colorbar_label.empty())
    c.side_text('r', Canvas::kTick + Canvas::kPad + ctw + 1.1 * e, 0.5, 0.5, ch.colorbar_label, c.font(), true);
  // dendrogram
  if (dend) {
    const double hmax = ho.linkage(ho.linkage.rows() - 1, 2) * 1.05;
    std::vector<double> leaf(nr);
    if (dend_top) {
      for (Eigen::Index i = 0; i < nr; ++i) leaf[i] = static_cast<double>(i) + 0.5;
      c.viewport({b.x0, b.x1, b.y1 + 0.4 * e, b.y1 + cell.h() * 0.15}, 0, static_cast<double>(nc), 0, hmax);
      dendrogram(c, ho.linkage, ho.rows, leaf, true);
    } else {
      for (Eigen::Index i = 0; i < nr; ++i) leaf[i] = static_cast<double>(nr - i) - 0.5;
      const double x1 = b.x0 - rlw - 0.6 * e;
      c.viewport({x1 - dend_w + 0.4 * e, x1, b.y0, b.y1}, hmax, 0, 0, static_cast<double>(nr));
      dendrogram(c, ho.linkage, ho.rows, leaf, false);
    }
  }
  c.viewport(b, 0, static_cast<double>(nc), 0, static_cast<double>(nr));
  return frame;
}

}  // namespace

PanelFrame draw_panel(Canvas& c, const Panel& p, const Box& cell) {
  c.text_size(c.font());
  return std::visit(
      [&](const auto& ch) -> PanelFrame {
        using T = std::decay_t<decltype(ch)>;
        if constexpr (std::is_same_v<T, LinesChart>) return draw_lines(c, ch, p.axes, cell);
        else if constexpr (std::is_same_v<T, RocChart>) return draw_roc(c, ch, p.axes, cell);
        else if constexpr (std::is_same_v<T, HistogramChart>) return draw_histogram(c, ch, p.axes, cell);
        else if constexpr (std::is_same_v<T, BarsChart>) return draw_bars(c, ch, p.axes, cell);
        else if constexpr (std::is_same_v<T, ScatterChart>) return draw_scatter(c, ch, p.axes, cell);
        else if constexpr (std::is_same_v<T, BoxChart>) return draw_box(c, ch, p.axes, cell);
        else return draw_heatmap(c, ch, p.axes, cell);
      },
      p.chart);
}

}  // namespace nl::plot::detail

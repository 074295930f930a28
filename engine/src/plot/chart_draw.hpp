// chart_draw.hpp (private): the drawing layer between the chart code and PLplot.
//
// A Canvas is valid while one PLplot stream is open (chart_device.cpp opens it under the
// process-wide lock). Positions on the page are in millimetres from the bottom-left
// corner (Box); data are drawn in world coordinates after viewport(). Every length the
// charts use is physical (mm, points), so a figure looks the same at any dpi.
#pragma once

#include <string>
#include <vector>

#include "nl/plot/chart.hpp"

namespace nl::plot::detail {

// A rectangle on the page, in mm from the bottom-left corner.
struct Box {
  double x0 = 0, x1 = 0, y0 = 0, y1 = 0;
  double w() const { return x1 - x0; }
  double h() const { return y1 - y0; }
};

struct LegendEntry {
  enum Kind { Line, Patch, Marker } kind = Line;
  std::string label;
  RGB colour;
  LineStyle style = LineStyle::Solid;
  double alpha = 1;
};

// Axis ticks: positions (multiples of step) and their labels.
struct Ticks {
  double step = 1;
  std::vector<double> at;
  std::vector<std::string> labels;
};
// "Nice" ticks inside [lo, hi] (steps 1, 2, 2.5, 5 x 10^k; about `target` of them).
Ticks nice_ticks(double lo, double hi, int target = 6);
// [lo, hi] widened by `margin` of the range on each side (matplotlib's 5 %); a zero
// range becomes +-0.5 (or +-5 % of the value).
std::array<double, 2> padded(double lo, double hi, double margin = 0.05);

class Canvas {
 public:
  Canvas(Format format, double width_in, double height_in, double dpi, double font_pt);

  double page_w() const { return page_w_; }  // mm
  double page_h() const { return page_h_; }
  double font() const { return font_pt_; }  // base size, points
  double em() const { return font_pt_ * 25.4 / 72; }  // base size, mm

  // ---- state
  void colour(const RGB& c, double alpha = 1);
  void line_width(double pt);
  void line_style(LineStyle s);
  void text_size(double pt);
  // Width in mm of text at pt points (cairo measures it with the font PLplot uses).
  double text_width(const std::string& text, double pt) const;

  // ---- coordinates
  // Sets the viewport to box and the world window to [x0, x1] x [y0, y1].
  void viewport(const Box& box, double x0, double x1, double y0, double y1);
  const Box& box() const { return box_; }
  double wx(double mm) const { return mm * (wx1_ - wx0_) / box_.w(); }  // mm -> world x extent
  double wy(double mm) const { return mm * (wy1_ - wy0_) / box_.h(); }
  double x0() const { return wx0_; }
  double x1() const { return wx1_; }
  double y0() const { return wy0_; }
  double y1() const { return wy1_; }
  // The frame of the current viewport in PNG pixels.
  PanelFrame frame() const;

  // ---- primitives (world coordinates; clipped to the viewport)
  void polyline(const std::vector<double>& x, const std::vector<double>& y);
  void segment(double xa, double ya, double xb, double yb);
  void polygon(const std::vector<double>& x, const std::vector<double>& y);
  void rect(double xa, double xb, double ya, double yb);
  void circle(double x, double y, double radius_mm, bool filled = true);
  // Text at a world position; just 0 = left, 0.5 = centre, 1 = right; vertically
  // centred on y.
  void text(double x, double y, const std::string& s, double just, double pt);
  // Text beside the plot box: side 'b', 't', 'l' or 'r'; `off` mm away from that edge
  // (to the text's centre line); pos along the edge in [0, 1]; vertical text reads
  // upwards. Positions are in mm on the page, so they do not depend on how PLplot
  // scales its character cell.
  void side_text(char side, double off, double pos, double just, const std::string& s, double pt, bool vertical = false);
  // Text at a page position in mm.
  void page_text(double x, double y, const std::string& s, double just, double pt, bool vertical = false);

  // Axis geometry shared by the layouts (mm): tick length, gap to the tick labels.
  static constexpr double kTick = 1.4, kPad = 1.2;

  // Every text drawn, in order (the SVG writer lists them in the file's <desc>, since
  // cairo draws text as glyph outlines).
  std::vector<std::string> drawn;

  // ---- furniture
  // The frame (all four sides) with outward ticks and labels on the bottom and left (or
  // right when y_right); empty tick lists draw no ticks on that axis.
  void axes(const Ticks& xt, const Ticks& yt, bool y_right = false);
  // Distance (mm) from the box edge to the centre line of tick labels below the x axis,
  // and from the edge to the outer side of the widest y tick label.
  double xtick_centre() const { return kTick + kPad + 0.5 * em(); }
  // A legend inside the current viewport at the corner (UpperRight when Auto).
  void legend(const std::vector<LegendEntry>& entries, Legend where, Legend fallback);

 private:
  Format format_;
  double dpi_, page_w_, page_h_, font_pt_;
  double px_per_pt_;  // plwidth units per point
  Box box_;
  double wx0_ = 0, wx1_ = 1, wy0_ = 0, wy1_ = 1;
};

// User text as PLplot text: its escape character '#' doubled.
std::string escape(const std::string& s);

// Draws one panel inside cell (mm) and returns where its plot box is.
PanelFrame draw_panel(Canvas& c, const Panel& p, const Box& cell);

// Checks one chart's data; ValueError messages start with the argument name.
void validate(const Chart& chart);

}  // namespace nl::plot::detail

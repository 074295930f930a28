// The PLplot side of the charts: one stream per figure under a process-wide lock, the
// Canvas drawing primitives, text measurement, and the atomic write (nl/plot/chart.hpp).
#include <cairo.h>
#include <fcntl.h>
#include <plplot.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <sstream>

#include "chart_draw.hpp"
#include "plot/output.hpp"
#include "nl/core/core.hpp"
#include "nl/core/mpi.hpp"
#include "nl/io/fileio.hpp"

namespace nl::plot {

Format format_of(const std::string& path) {
  const auto dot = path.find_last_of('.');
  const auto slash = path.find_last_of('/');
  std::string ext = dot == std::string::npos || (slash != std::string::npos && dot < slash) ? "" : path.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (ext == "png") return Format::Png;
  if (ext == "svg") return Format::Svg;
  if (ext == "pdf") return Format::Pdf;
  throw ValueError("path: cannot tell the format of '" + path + "' from its extension; expected .png, .svg or .pdf");
}

namespace detail {

// ---------------------------------------------------------------- PLplot handlers

namespace {

// PLplot reports a bad call through plabort (which would print to stderr) and a fatal
// error through plexit (which would print and call exit()). Both are replaced: plabort's
// message is kept and raised once the stream is closed; plexit's handler throws, which
// unwinds through PLplot's C frames (they carry unwind tables on every platform
// neurolua builds on and hold no resources that the following plend1 does not release).
std::string& abort_message() {
  static std::string m;
  return m;
}
void on_abort(PLCHAR_VECTOR msg) {
  if (abort_message().empty()) abort_message() = msg ? msg : "";
}
int on_exit(PLCHAR_VECTOR msg) { throw FileError(std::string("plotting library error: ") + (msg ? msg : "")); }

const char* device_name(Format f) {
  switch (f) {
    case Format::Png: return "pngcairo";
    case Format::Svg: return "svgcairo";
    case Format::Pdf: return "pdfcairo";
  }
  return "pngcairo";
}

// An unknown device would make plinit prompt on standard input: check the list first.
void check_device(const char* name) {
  const char* menu_items[128];
  const char* dev_items[128];
  const char** menu = menu_items;
  const char** devs = dev_items;
  int n = 128;
  plgDevs(&menu, &devs, &n);
  for (int i = 0; i < n; ++i)
    if (std::strcmp(devs[i], name) == 0) return;
  throw FileError(std::string("the PLplot device '") + name +
                  "' is not installed (Debian package plplot-driver-cairo); cannot draw charts");
}

// One open stream: created by the constructor, always ended by the destructor.
class Stream {
 public:
  Stream(Format f, const std::string& file, int w, int h, double res) {
    check_device(device_name(f));
    abort_message().clear();
    plsexit(on_exit);
    plsabort(on_abort);
    plsdev(device_name(f));
    plsfnam(file.c_str());
    plscolbg(255, 255, 255);
    plscol0(0, 255, 255, 255);
    plspage(res, res, w, h, 0, 0);
    plspause(0);
    open_ = true;
    plinit();
  }
  ~Stream() {
    if (open_) plend1();
  }
  void close() {
    open_ = false;
    plend1();
    if (!abort_message().empty()) throw ValueError("internal plotting error: " + abort_message());
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

 private:
  bool open_ = false;
};

// A scratch file for the plotting library beside the target (so the sandbox rules and
// the file system are the same): nl::AtomicFile's hidden, locked temporary name, which
// a later run removes if this one is killed; never committed, removed when it goes out
// of scope. The finished bytes are then written with write_file_atomic.
// Under MPI, ranks other than 0 write nothing beside the target (nl/core/mpi.hpp): they
// draw into a private scratch file under $TMPDIR, removed the same way.
class TempFile {
 public:
  explicit TempFile(const std::string& target) {
    if (mpi::root()) {
      file_.emplace(target);
      name_ = file_->temp_path();
      return;
    }
    const char* dir = std::getenv("TMPDIR");
    std::string t = std::string(dir && *dir ? dir : "/tmp") + "/.neurolua-plot-XXXXXX";
    const int fd = ::mkstemp(t.data());
    if (fd < 0) throw FileError(t + ": cannot create a scratch file (" + std::strerror(errno) + ")");
    ::close(fd);
    name_ = t;
  }
  ~TempFile() {
    if (!file_ && !name_.empty()) ::unlink(name_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& name() const { return name_; }

 private:
  std::optional<AtomicFile> file_;
  std::string name_;
};

std::mutex& plplot_lock() {
  static std::mutex m;
  return m;
}

}  // namespace

// ---------------------------------------------------------------- text

std::string escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    out += ch;
    if (ch == '#') out += '#';
  }
  return out;
}

namespace {

// cairo's toy text API with the family PLplot's cairo driver asks Pango for ("sans"):
// a measurement within a few per cent of the drawn text, enough for margins.
double measure_pt(const std::string& s, double pt) {
  static cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_A8, 1, 1);
  static cairo_t* cr = [] {
    cairo_t* c = cairo_create(surface);
    cairo_select_font_face(c, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    return c;
  }();
  cairo_set_font_size(cr, pt);
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  return e.x_advance;
}

}  // namespace

// ---------------------------------------------------------------- ticks

Ticks nice_ticks(double lo, double hi, int target) {
  Ticks t;
  const double range = hi - lo;
  if (!(range > 0) || !std::isfinite(range)) return t;
  const double raw = range / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw * 0.999) {
      step = m * mag;
      break;
    }
  t.step = step;
  int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  if (std::abs(step / std::pow(10.0, -decimals) - std::round(step / std::pow(10.0, -decimals))) > 1e-6) ++decimals;
  const bool sci = std::max(std::abs(lo), std::abs(hi)) >= 1e6 || decimals > 5;
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + 1e-9 * range; k += 1) {
    double v = k * step;
    if (std::abs(v) < 1e-12 * range) v = 0;
    t.at.push_back(v);
    char buf[64];
    if (sci) std::snprintf(buf, sizeof buf, "%.3g", v);
    else std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    std::string s = buf;
    if (s.size() > 1 && s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
    t.labels.push_back(s);
  }
  return t;
}

std::array<double, 2> padded(double lo, double hi, double margin) {
  if (!(hi > lo)) {
    const double d = lo == 0 ? 0.5 : std::abs(lo) * 0.05;
    return {lo - d, hi + d};
  }
  const double d = (hi - lo) * margin;
  return {lo - d, hi + d};
}

// ---------------------------------------------------------------- canvas

Canvas::Canvas(Format format, double width_in, double height_in, double dpi, double font_pt)
    : format_(format), dpi_(dpi), page_w_(width_in * 25.4), page_h_(height_in * 25.4), font_pt_(font_pt),
      px_per_pt_(format == Format::Png ? dpi / 72 : 1.0) {
  pladv(0);
  text_size(font_pt);
}

void Canvas::colour(const RGB& c, double alpha) {
  auto byte = [](double v) { return static_cast<PLINT>(std::lround(std::clamp(v, 0.0, 1.0) * 255)); };
  plscol0a(15, byte(c.r), byte(c.g), byte(c.b), std::clamp(alpha, 0.0, 1.0));
  plcol0(15);
}

void Canvas::line_width(double pt) { plwidth(pt * px_per_pt_); }

void Canvas::line_style(LineStyle s) {
  // dash lengths in micrometres, as matplotlib's (3.7, 1.6) and (1, 1.65) x 1.5 pt
  switch (s) {
    case LineStyle::Solid: pllsty(1); break;
    case LineStyle::Dashed: {
      const PLINT mark[1] = {2600}, space[1] = {1100};
      plstyl(1, mark, space);
      break;
    }
    case LineStyle::Dotted: {
      const PLINT mark[1] = {530}, space[1] = {870};
      plstyl(1, mark, space);
      break;
    }
  }
}

void Canvas::text_size(double pt) { plschr(pt * 25.4 / 72, 1.0); }

double Canvas::text_width(const std::string& text, double pt) const { return measure_pt(text, pt) * 25.4 / 72; }

void Canvas::viewport(const Box& b, double x0, double x1, double y0, double y1) {
  box_ = b;
  wx0_ = x0, wx1_ = x1, wy0_ = y0, wy1_ = y1;
  plvpor(b.x0 / page_w_, b.x1 / page_w_, b.y0 / page_h_, b.y1 / page_h_);
  plwind(x0, x1, y0, y1);
}

PanelFrame Canvas::frame() const {
  const double s = dpi_ / 25.4;
  PanelFrame f;
  f.left = box_.x0 * s;
  f.right = box_.x1 * s;
  f.top = (page_h_ - box_.y1) * s;
  f.bottom = (page_h_ - box_.y0) * s;
  f.xmin = wx0_, f.xmax = wx1_, f.ymin = wy0_, f.ymax = wy1_;
  return f;
}

void Canvas::polyline(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() >= 2) plline(static_cast<PLINT>(x.size()), x.data(), y.data());
}

void Canvas::segment(double xa, double ya, double xb, double yb) { pljoin(xa, ya, xb, yb); }

void Canvas::polygon(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() >= 3) plfill(static_cast<PLINT>(x.size()), x.data(), y.data());
}

void Canvas::rect(double xa, double xb, double ya, double yb) {
  const double x[4] = {xa, xb, xb, xa}, y[4] = {ya, ya, yb, yb};
  plfill(4, x, y);
}

void Canvas::circle(double x, double y, double radius_mm, bool filled) {
  constexpr int k = 24;
  double px[k + 1], py[k + 1];
  const double rx = wx(radius_mm), ry = wy(radius_mm);
  for (int i = 0; i <= k; ++i) {
    const double a = 2 * M_PI * i / k;
    px[i] = x + rx * std::cos(a);
    py[i] = y + ry * std::sin(a);
  }
  if (filled) plfill(k, px, py);
  else plline(k + 1, px, py);
}

void Canvas::text(double x, double y, const std::string& s, double just, double pt) {
  text_size(pt);
  // plptex puts the baseline's vertical centre of the character cell at y
  plptex(x, y, 1, 0, just, escape(s).c_str());
  drawn.push_back(s);
  text_size(font_pt_);
}

void Canvas::page_text(double x, double y, const std::string& s, double just, double pt, bool vertical) {
  // a viewport over the whole page with millimetres as world units, then back
  plvpor(0, 1, 0, 1);
  plwind(0, page_w_, 0, page_h_);
  text_size(pt);
  plptex(x, y, vertical ? 0 : 1, vertical ? 1 : 0, just, escape(s).c_str());
  drawn.push_back(s);
  text_size(font_pt_);
  plvpor(box_.x0 / page_w_, box_.x1 / page_w_, box_.y0 / page_h_, box_.y1 / page_h_);
  plwind(wx0_, wx1_, wy0_, wy1_);
}

void Canvas::side_text(char side, double off, double pos, double just, const std::string& s, double pt, bool vertical) {
  switch (side) {
    case 'b': page_text(box_.x0 + pos * box_.w(), box_.y0 - off, s, just, pt, vertical); break;
    case 't': page_text(box_.x0 + pos * box_.w(), box_.y1 + off, s, just, pt, vertical); break;
    case 'l': page_text(box_.x0 - off, box_.y0 + pos * box_.h(), s, just, pt, vertical); break;
    default: page_text(box_.x1 + off, box_.y0 + pos * box_.h(), s, just, pt, vertical); break;
  }
}

void Canvas::axes(const Ticks& xt, const Ticks& yt, bool y_right) {
  colour({0, 0, 0});
  line_width(0.8);
  line_style(LineStyle::Solid);
  plsmaj(kTick, 1.0);
  // frame
  plbox("bc", 0, 0, "bc", 0, 0);
  // outward ticks at the given step, labels drawn by us (plbox's own formatting would
  // scale large numbers into a separate "x10^k" label)
  if (!xt.at.empty()) plbox("bti", xt.step, 1, "", 0, 0);
  if (!yt.at.empty()) plbox("", 0, 0, y_right ? "cti" : "bti", yt.step, 1);
  const double tiny = 1e-9;
  for (std::size_t i = 0; i < xt.at.size(); ++i) {
    const double pos = (xt.at[i] - wx0_) / (wx1_ - wx0_);
    if (pos < -tiny || pos > 1 + tiny) continue;
    side_text('b', xtick_centre(), pos, 0.5, xt.labels[i], font_pt_);
  }
  for (std::size_t i = 0; i < yt.at.size(); ++i) {
    const double pos = (yt.at[i] - wy0_) / (wy1_ - wy0_);
    if (pos < -tiny || pos > 1 + tiny) continue;
    side_text(y_right ? 'r' : 'l', kTick + kPad, pos, y_right ? 0.0 : 1.0, yt.labels[i], font_pt_);
  }
}

void Canvas::legend(const std::vector<LegendEntry>& entries, Legend where, Legend fallback) {
  if (entries.empty() || where == Legend::Off) return;
  if (where == Legend::Auto) where = fallback == Legend::Auto ? Legend::UpperRight : fallback;
  const double e = em(), pt = font_pt_ * 0.9;
  double tw = 0;
  for (const auto& en : entries) tw = std::max(tw, text_width(en.label, pt));
  const double sample = 2.0 * e, pad = 0.5 * e, row = 1.45 * e * 0.9;
  const double w = pad + sample + 0.6 * e + tw + pad, h = pad * 2 + row * static_cast<double>(entries.size());
  const bool right = where == Legend::UpperRight || where == Legend::LowerRight;
  const bool upper = where == Legend::UpperRight || where == Legend::UpperLeft;
  const Box outer = box_;
  const double ox0 = outer.x0, ox1 = outer.x1, oy0 = outer.y0, oy1 = outer.y1;
  const double gap = 0.5 * e;
  Box b;
  b.x0 = right ? ox1 - gap - w : ox0 + gap;
  b.x1 = b.x0 + w;
  b.y1 = upper ? oy1 - gap : oy0 + gap + h;
  b.y0 = b.y1 - h;
  // draw in a viewport of the legend box (mm as world units), then restore
  const double sx0 = wx0_, sx1 = wx1_, sy0 = wy0_, sy1 = wy1_;
  viewport(b, 0, w, 0, h);
  colour({1, 1, 1}, 0.85);
  rect(0, w, 0, h);
  colour({0.8, 0.8, 0.8});
  line_width(0.8);
  line_style(LineStyle::Solid);
  const double in = 0.2;  // inside the clip rectangle
  const std::vector<double> fx{in, w - in, w - in, in, in}, fy{in, in, h - in, h - in, in};
  polyline(fx, fy);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& en = entries[i];
    const double yc = h - pad - row * (static_cast<double>(i) + 0.5);
    switch (en.kind) {
      case LegendEntry::Line:
        colour(en.colour, en.alpha);
        line_width(1.5);
        line_style(en.style);
        segment(pad, yc, pad + sample, yc);
        line_style(LineStyle::Solid);
        break;
      case LegendEntry::Patch:
        colour(en.colour, en.alpha);
        rect(pad + 0.2 * sample, pad + sample * 0.8, yc - 0.3 * e, yc + 0.3 * e);
        break;
      case LegendEntry::Marker:
        colour(en.colour, en.alpha);
        circle(pad + sample / 2, yc, 0.35 * e);
        break;
    }
    colour({0, 0, 0});
    text(pad + sample + 0.6 * e, yc, en.label, 0.0, pt);
  }
  viewport(outer, sx0, sx1, sy0, sy1);
}

}  // namespace detail

// ---------------------------------------------------------------- render

Rendered render(const Figure& f, const std::string& path) {
  const Format format = format_of(path);
  if (f.rows < 1 || f.cols < 1 || f.rows > 20 || f.cols > 20)
    throw ValueError("rows: the grid must have 1 to 20 rows and columns, got " + std::to_string(f.rows) + "x" +
                     std::to_string(f.cols));
  if (f.panels.empty()) throw ValueError("panels: a figure needs at least one panel");
  if (f.panels.size() > static_cast<std::size_t>(f.rows * f.cols))
    throw ValueError("panels: " + std::to_string(f.panels.size()) + " panels do not fit a " + std::to_string(f.rows) +
                     "x" + std::to_string(f.cols) + " grid");
  if (!(f.width >= 1 && f.width <= 100 && f.height >= 1 && f.height <= 100))
    throw ValueError("width: width and height must be between 1 and 100 inches");
  if (!(f.dpi >= 10 && f.dpi <= 1200)) throw ValueError("dpi: must be between 10 and 1200");
  if (!(f.font_size >= 2 && f.font_size <= 72)) throw ValueError("font_size: must be between 2 and 72 points");
  const double px = f.width * f.dpi * f.height * f.dpi;
  if (format == Format::Png && px > 1e8) throw ValueError("dpi: the PNG would have more than 100 million pixels");
  for (std::size_t i = 0; i < f.panels.size(); ++i) {
    try {
      detail::validate(f.panels[i].chart);
      const auto& a = f.panels[i].axes;
      for (const auto* lim : {&a.xlim, &a.ylim})
        if (*lim && !((**lim)[1] > (**lim)[0] && std::isfinite((**lim)[0]) && std::isfinite((**lim)[1])))
          throw ValueError(std::string(lim == &a.xlim ? "xlim" : "ylim") + ": expected {lo, hi} with lo < hi");
      if (!a.cmap.empty()) Colormap::get(a.cmap);
    } catch (const ValueError& e) {
      if (f.panels.size() == 1) throw;
      throw ValueError("panel " + std::to_string(i + 1) + ": " + e.what());
    }
  }
  check_write_access(path);

  std::lock_guard<std::mutex> lock(detail::plplot_lock());
  detail::TempFile tmp(path);
  Rendered out;
  std::vector<std::string> texts;
  out.width_px = static_cast<int>(std::lround(f.width * f.dpi));
  out.height_px = static_cast<int>(std::lround(f.height * f.dpi));
  {
    const bool png = format == Format::Png;
    detail::Stream stream(format, tmp.name(), png ? out.width_px : static_cast<int>(std::lround(f.width * 72)),
                          png ? out.height_px : static_cast<int>(std::lround(f.height * 72)), png ? f.dpi : 72.0);
    detail::Canvas c(format, f.width, f.height, f.dpi, f.font_size);
    const double e = c.em();
    const bool suptitle = !f.title.empty() && f.panels.size() > 1;
    const double top = suptitle ? 2.2 * e : 0;
    const double cw = c.page_w() / f.cols, ch = (c.page_h() - top) / f.rows;
    for (std::size_t i = 0; i < f.panels.size(); ++i) {
      const int r = static_cast<int>(i) / f.cols, k = static_cast<int>(i) % f.cols;
      const detail::Box cell{k * cw, (k + 1) * cw, c.page_h() - top - (r + 1) * ch, c.page_h() - top - r * ch};
      Panel p = f.panels[i];
      if (f.panels.size() == 1 && p.axes.title.empty()) p.axes.title = f.title;
      out.panels.push_back(detail::draw_panel(c, p, cell));
    }
    if (suptitle) {
      c.viewport({0, c.page_w(), 0, c.page_h()}, 0, 1, 0, 1);
      c.colour({0, 0, 0});
      c.page_text(c.page_w() / 2, c.page_h() - 1.1 * e, f.title, 0.5, f.font_size * 1.3);
    }
    texts = std::move(c.drawn);
    stream.close();
  }
  std::ifstream in(tmp.name(), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.empty()) throw FileError(path + ": the plotting library wrote nothing");
  if (format == Format::Pdf) detail::drop_pdf_date(bytes);
  if (format == Format::Svg)
    detail::add_svg_text(bytes, !f.title.empty() ? f.title : f.panels.front().axes.title, texts);
  write_file_atomic(path, bytes);
  return out;
}

}  // namespace nl::plot

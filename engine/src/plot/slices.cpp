// plot/slices.cpp: brain-slice figures (nl/plot/slices.hpp): the layout of the views,
// the rasters of each view (background, map, outlines) and the cairo drawing of the
// figure (views, markers, annotations, colour bar, title) to PNG, SVG or PDF.
//
// Everything is drawn in figure pixels; SVG and PDF surfaces are scaled by 72 / dpi, so
// one drawing path serves all three formats and the views are embedded at `dpi`.
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/io/fileio.hpp"
#include "nl/plot/colormap.hpp"
#include "plot/output.hpp"
#include "plot/slices_impl.hpp"

namespace nl::plot {

Eigen::Vector2d SliceView::to_pixel(const Eigen::Vector3d& mm) const {
  const double sx = width / (h_max - h_min), sy = height / (v_max - v_min);
  return {left + (mm(h_axis) - h_min) * sx, top + (v_max - mm(v_axis)) * sy};
}

Eigen::Vector3d SliceView::to_world(int c, int r) const {
  Eigen::Vector3d p;
  p(normal) = cut;
  p(h_axis) = h_min + (c - left + 0.5) * (h_max - h_min) / width;
  p(v_axis) = v_max - (r - top + 0.5) * (v_max - v_min) / height;
  return p;
}

namespace {

using detail::Box;
using detail::Sampler;

// ---------------------------------------------------------------- cairo ownership

struct CairoDeleter {
  void operator()(cairo_t* cr) const noexcept { cairo_destroy(cr); }
  void operator()(cairo_surface_t* s) const noexcept { cairo_surface_destroy(s); }
};
using Context = std::unique_ptr<cairo_t, CairoDeleter>;
using Surface = std::unique_ptr<cairo_surface_t, CairoDeleter>;

void check_status(cairo_status_t s, const char* what) {
  if (s != CAIRO_STATUS_SUCCESS) throw Error(fmt::format("{}: cairo: {}", what, cairo_status_to_string(s)));
}

cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

constexpr const char* kFont = "DejaVu Sans";

void set_font(cairo_t* cr, double px, bool bold = false) {
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, px);
}

double text_width(cairo_t* cr, const std::string& s) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  return e.x_advance;
}

// Draws s with its baseline at y; align 0 left, 0.5 centre, 1 right of x.
void draw_text(cairo_t* cr, const std::string& s, double x, double y, double align) {
  cairo_move_to(cr, x - align * text_width(cr, s), y);
  cairo_show_text(cr, s.c_str());
}

std::uint32_t argb(const RGB& c) {
  auto b = [](double v) { return static_cast<std::uint32_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0)); };
  return 0xff000000u | (b(c.r) << 16) | (b(c.g) << 8) | b(c.b);
}

RGB mix(const RGB& under, const RGB& over, double alpha) {
  return {under.r + alpha * (over.r - under.r), under.g + alpha * (over.g - under.g),
          under.b + alpha * (over.b - under.b)};
}

// "-42", "0" (never "-0"): slice coordinates in whole mm.
std::string whole_mm(double x) {
  const long v = std::lround(x);
  return fmt::format("{}", v == 0 ? 0L : v);
}

// Colour-bar tick labels: two significant digits as nilearn's colour bars ("%.2g"),
// whole numbers from 100 on, "0" for zero.
std::string tick_label(double x, double range) {
  if (std::fabs(x) <= 1e-9 * range) return "0";
  if (std::fabs(x) >= 100) return fmt::format("{:.0f}", x);
  return fmt::format("{:.2g}", x);
}

const char* axis_letter(int a) { return a == 0 ? "x" : a == 1 ? "y" : "z"; }

// ---------------------------------------------------------------- the map's values

struct MapScale {
  bool signed_map = false;
  double lo = 0, hi = 1;  // values at the ends of the colour map
  double threshold = 0;
};

MapScale map_scale(const Volume& map, std::int64_t frame, const BrainOptions& o) {
  const float* d = map.frame_data(frame);
  double mn = std::numeric_limits<double>::infinity(), mx = -mn;
  for (std::size_t i = 0; i < map.voxels(); ++i)
    if (std::isfinite(d[i])) {
      mn = std::min(mn, static_cast<double>(d[i]));
      mx = std::max(mx, static_cast<double>(d[i]));
    }
  if (!std::isfinite(mn)) mn = mx = 0;
  MapScale s;
  s.threshold = o.threshold;
  s.signed_map = mn < 0;
  const double maxabs = std::max(std::fabs(mn), std::fabs(mx));
  if (s.signed_map) {
    if (o.vmin)
      throw ValueError(fmt::format(
          "vmin: the map has negative and positive values (from {} to {}), so its limits are -vmax..vmax; "
          "vmin applies to one-signed maps",
          tick_label(mn, 1), tick_label(mx, 1)));
    const double vmax = o.vmax.value_or(maxabs > 0 ? maxabs : 1.0);
    if (!(vmax > 0)) throw ValueError("vmax: must be positive for a map with negative values");
    s.lo = -vmax;
    s.hi = vmax;
  } else {
    s.lo = o.vmin.value_or(0.0);
    s.hi = o.vmax.value_or(mx > s.lo ? mx : s.lo + 1.0);
    if (!(s.hi > s.lo)) throw ValueError(fmt::format("vmax ({}) must be above vmin ({})", s.hi, s.lo));
  }
  return s;
}

// ---------------------------------------------------------------- layout

struct ViewSpec {
  int normal;
  double cut;
  bool projection = false;
};

int px(double inches, double dpi) { return static_cast<int>(std::lround(inches * dpi)); }

// Width and height (mm) of a view normal to axis n.
Eigen::Vector2d view_mm(int n, const Box& box) {
  const int h = n == 0 ? 1 : 0, v = n == 2 ? 1 : 2;
  return {box.max(h) - box.min(h), box.max(v) - box.min(v)};
}

struct Frame {
  int pad = 0, gap = 0, title_h = 0, cb_band = 0, bar_w = 0, tick = 0;
  double font_px = 12;
};

SliceLayout make_layout(const BrainOptions& o, const Box& box, const std::vector<ViewSpec>& specs, int columns,
                        const Frame& f) {
  SliceLayout L;
  L.dpi = o.dpi;
  const int n = static_cast<int>(specs.size());
  const int rows = (n + columns - 1) / columns;
  // Column widths and row heights in mm (ortho: one row of different views).
  std::vector<double> col_mm(static_cast<std::size_t>(columns), 0.0), row_mm(static_cast<std::size_t>(rows), 0.0);
  for (int i = 0; i < n; ++i) {
    const Eigen::Vector2d s = view_mm(specs[static_cast<std::size_t>(i)].normal, box);
    col_mm[static_cast<std::size_t>(i % columns)] = std::max(col_mm[static_cast<std::size_t>(i % columns)], s(0));
    row_mm[static_cast<std::size_t>(i / columns)] = std::max(row_mm[static_cast<std::size_t>(i / columns)], s(1));
  }
  double sum_w = 0, sum_h = 0;
  for (double w : col_mm) sum_w += w;
  for (double h : row_mm) sum_h += h;

  const double width_in = o.width > 0 ? o.width : (o.display == SliceDisplay::Ortho || o.display == SliceDisplay::Lightbox || o.display == SliceDisplay::Glass ? 7.5 : 3.5);
  L.width = px(width_in, o.dpi);
  const int avail_w = L.width - 2 * f.pad - f.cb_band - (columns - 1) * f.gap;
  if (avail_w < 20) throw ValueError("width: too narrow for the views and the colour bar");
  double scale = avail_w / sum_w;  // pixels per mm
  const int fixed_h = 2 * f.pad + f.title_h + (rows - 1) * f.gap;
  if (o.height > 0) {
    L.height = px(o.height, o.dpi);
    if (L.height - fixed_h < 20) throw ValueError("height: too small for the views");
    scale = std::min(scale, (L.height - fixed_h) / sum_h);
  } else {
    L.height = fixed_h + static_cast<int>(std::ceil(sum_h * scale));
    if (f.cb_band > 0) L.height = std::max(L.height, fixed_h + px(1.2, o.dpi));
  }
  if (static_cast<double>(L.width) * L.height > 1e8)
    throw ValueError(fmt::format("the figure would have {} x {} pixels; lower width, height or dpi", L.width, L.height));

  // Block of views centred in the area left of the colour bar, below the title.
  std::vector<int> col_px, row_px;
  int block_w = (columns - 1) * f.gap, block_h = (rows - 1) * f.gap;
  for (double w : col_mm) block_w += col_px.emplace_back(static_cast<int>(std::lround(w * scale)));
  for (double h : row_mm) block_h += row_px.emplace_back(static_cast<int>(std::lround(h * scale)));
  const int area_w = L.width - 2 * f.pad - f.cb_band, area_h = L.height - 2 * f.pad - f.title_h;
  const int x0 = f.pad + (area_w - block_w) / 2, y0 = f.pad + f.title_h + (area_h - block_h) / 2;
  for (int i = 0; i < n; ++i) {
    const ViewSpec& s = specs[static_cast<std::size_t>(i)];
    const int c = i % columns, r = i / columns;
    SliceView v;
    v.normal = s.normal;
    v.cut = s.cut;
    v.projection = s.projection;
    v.h_axis = s.normal == 0 ? 1 : 0;
    v.v_axis = s.normal == 2 ? 1 : 2;
    const Eigen::Vector2d mm = view_mm(s.normal, box);
    v.width = static_cast<int>(std::lround(mm(0) * scale));
    v.height = static_cast<int>(std::lround(mm(1) * scale));
    int left = x0, top = y0;
    for (int k = 0; k < c; ++k) left += col_px[static_cast<std::size_t>(k)] + f.gap;
    for (int k = 0; k < r; ++k) top += row_px[static_cast<std::size_t>(k)] + f.gap;
    v.left = left + (col_px[static_cast<std::size_t>(c)] - v.width) / 2;
    v.top = top + (row_px[static_cast<std::size_t>(r)] - v.height) / 2;
    // The world extent is centred on the box, at exactly `scale` pixels per mm.
    const double hc = (box.min(v.h_axis) + box.max(v.h_axis)) / 2, vc = (box.min(v.v_axis) + box.max(v.v_axis)) / 2;
    v.h_min = hc - v.width / (2 * scale);
    v.h_max = hc + v.width / (2 * scale);
    v.v_min = vc - v.height / (2 * scale);
    v.v_max = vc + v.height / (2 * scale);
    L.views.push_back(v);
  }
  if (f.cb_band > 0) {
    L.cb_width = f.bar_w;
    L.cb_left = L.width - f.pad - f.cb_band + f.gap;
    const int top = f.pad + f.title_h, h = area_h;
    L.cb_top = top + h / 10;
    L.cb_height = h - 2 * (h / 10);
  }
  return L;
}

// ---------------------------------------------------------------- view rasters

struct Layers {
  Box box;  // the displayed extent (projections run through it)
  const detail::BgImage* bg = nullptr;
  const Volume* map = nullptr;
  std::int64_t frame = 0;
  MapScale scale;
  const Colormap* cmap = nullptr;
  const BrainOptions* o = nullptr;
};

RGB label_colour(double label) {
  const auto l = static_cast<long long>(std::llround(std::fabs(label)));
  return category_colour(static_cast<std::size_t>(l > 0 ? l - 1 : 0));
}

// The pixels of a glass-brain view: along each line of sight through the extent, the
// map value of largest |value| (nearest voxel, steps of half the map's finest voxel
// size, at most 1 mm) over the background's mean (trilinear), scaled so that the view's
// densest line is 85 % grey.
void projection_raster(const SliceView& v, const Layers& ly, unsigned char* base, int stride, const Colormap& grey) {
  const Sampler map(*ly.map, ly.frame);
  std::optional<Sampler> bg;
  if (ly.bg) bg.emplace(*ly.bg->volume, ly.bg->frame);
  const double step = std::min(1.0, ly.map->grid().spacing().minCoeff() / 2);
  const double z0 = ly.box.min(v.normal), z1 = ly.box.max(v.normal);
  const int steps = std::max(1, static_cast<int>(std::ceil((z1 - z0) / step)));
  std::vector<double> mean(static_cast<std::size_t>(v.width) * static_cast<std::size_t>(v.height), 0.0);
  std::vector<float> peak(mean.size(), std::numeric_limits<float>::quiet_NaN());
  for (int r = 0; r < v.height; ++r)
    for (int c = 0; c < v.width; ++c) {
      Eigen::Vector3d p = v.to_world(v.left + c, v.top + r);
      double sum = 0;
      float best = std::numeric_limits<float>::quiet_NaN();
      for (int k = 0; k < steps; ++k) {
        p(v.normal) = z0 + (k + 0.5) * (z1 - z0) / steps;
        if (bg) {
          const float b = bg->linear(p);
          if (!std::isnan(b)) sum += std::max(0.0, b - ly.bg->lo);
        }
        const float m = map.nearest(p);
        if (!std::isnan(m) && std::fabs(m) > ly.scale.threshold && !(std::fabs(m) <= std::fabs(best))) best = m;
      }
      const std::size_t i = static_cast<std::size_t>(r) * static_cast<std::size_t>(v.width) + static_cast<std::size_t>(c);
      mean[i] = sum / steps;
      peak[i] = best;
    }
  const double top = *std::max_element(mean.begin(), mean.end());
  for (int r = 0; r < v.height; ++r) {
    auto* row = reinterpret_cast<std::uint32_t*>(base + static_cast<std::ptrdiff_t>(r) * stride);
    for (int c = 0; c < v.width; ++c) {
      const std::size_t i = static_cast<std::size_t>(r) * static_cast<std::size_t>(v.width) + static_cast<std::size_t>(c);
      RGB colour = grey(top > 0 ? 0.85 * mean[i] / top : 0.0);
      const float m = peak[i];
      if (!std::isnan(m)) {
        if (ly.o->labels) {
          if (std::lround(m) != 0) colour = mix(colour, label_colour(m), ly.o->alpha);
        } else {
          colour = mix(colour, (*ly.cmap)((m - ly.scale.lo) / (ly.scale.hi - ly.scale.lo)), ly.o->alpha);
        }
      }
      row[c] = argb(colour);
    }
  }
}

// The pixels of one view as an opaque ARGB32 image.
Surface view_raster(const SliceView& v, const Layers& ly) {
  Surface img(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, v.width, v.height));
  check_status(cairo_surface_status(img.get()), "view");
  cairo_surface_flush(img.get());
  unsigned char* base = cairo_image_surface_get_data(img.get());
  const int stride = cairo_image_surface_get_stride(img.get());
  const Colormap grey = Colormap::get("gray");
  if (v.projection) {
    projection_raster(v, ly, base, stride, grey);
    cairo_surface_mark_dirty(img.get());
    return img;
  }
  const Sampler map(*ly.map, ly.frame);
  std::optional<Sampler> bg, contours;
  if (ly.bg) bg.emplace(*ly.bg->volume, ly.bg->frame);
  if (ly.o->contours) contours.emplace(*ly.o->contours, 0);
  const double bg_lo = ly.o->bg_vmin.value_or(ly.bg ? ly.bg->lo : 0.0);
  const double bg_hi = ly.o->bg_vmax.value_or(ly.bg ? ly.bg->hi : 1.0);
  std::vector<float> labels;
  if (contours) labels.resize(static_cast<std::size_t>(v.width) * static_cast<std::size_t>(v.height));
  for (int r = 0; r < v.height; ++r) {
    auto* row = reinterpret_cast<std::uint32_t*>(base + static_cast<std::ptrdiff_t>(r) * stride);
    for (int c = 0; c < v.width; ++c) {
      const Eigen::Vector3d p = v.to_world(v.left + c, v.top + r);
      RGB colour{0, 0, 0};
      if (bg) {
        const float b = bg->linear(p);
        if (!std::isnan(b)) colour = grey(bg_hi > bg_lo ? (b - bg_lo) / (bg_hi - bg_lo) : 0.0);
      }
      const float m = map.nearest(p);
      if (!std::isnan(m) && std::fabs(m) > ly.scale.threshold) {
        if (ly.o->labels) {
          if (std::lround(m) != 0) colour = mix(colour, label_colour(m), ly.o->alpha);
        } else {
          const double t = (m - ly.scale.lo) / (ly.scale.hi - ly.scale.lo);
          colour = mix(colour, (*ly.cmap)(t), ly.o->alpha);
        }
      }
      row[c] = argb(colour);
      if (contours) {
        const float l = contours->nearest(p);
        labels[static_cast<std::size_t>(r) * static_cast<std::size_t>(v.width) + static_cast<std::size_t>(c)] =
            std::isnan(l) ? 0.0f : std::round(l);
      }
    }
  }
  if (contours) {
    // Region outlines: a pixel whose label differs from its right or lower neighbour,
    // in the colour of its own region (or the neighbour's, outside every region).
    auto L = [&](int r, int c) {
      return labels[static_cast<std::size_t>(r) * static_cast<std::size_t>(v.width) + static_cast<std::size_t>(c)];
    };
    for (int r = 0; r < v.height; ++r) {
      auto* row = reinterpret_cast<std::uint32_t*>(base + static_cast<std::ptrdiff_t>(r) * stride);
      for (int c = 0; c < v.width; ++c) {
        const float here = L(r, c);
        float other = here;
        if (c + 1 < v.width && L(r, c + 1) != here) other = L(r, c + 1);
        if (r + 1 < v.height && L(r + 1, c) != here) other = L(r + 1, c);
        if (other == here) continue;
        row[c] = argb(label_colour(here != 0.0f ? here : other));
      }
    }
  }
  cairo_surface_mark_dirty(img.get());
  return img;
}

// ---------------------------------------------------------------- the colour bar

std::vector<double> colorbar_ticks(const MapScale& s) {
  std::vector<double> t;
  for (int k = 0; k <= 4; ++k) t.push_back(s.lo + (s.hi - s.lo) * k / 4.0);
  // The threshold, when it is not too close to a tick already there.
  const double range = s.hi - s.lo;
  for (double th : {-s.threshold, s.threshold}) {
    if (s.threshold <= 0 || th <= s.lo || th >= s.hi) continue;
    bool close = false;
    for (double x : t) close = close || std::fabs(x - th) < 0.08 * range;
    if (!close) t.push_back(th);
  }
  std::sort(t.begin(), t.end());
  return t;
}

void draw_colorbar(cairo_t* cr, const SliceLayout& L, const MapScale& s, const Colormap& cmap, const Frame& f) {
  Surface bar(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, L.cb_width, L.cb_height));
  check_status(cairo_surface_status(bar.get()), "colour bar");
  cairo_surface_flush(bar.get());
  unsigned char* base = cairo_image_surface_get_data(bar.get());
  const int stride = cairo_image_surface_get_stride(bar.get());
  for (int r = 0; r < L.cb_height; ++r) {
    const double t = 1.0 - (r + 0.5) / L.cb_height;  // top = hi
    const double value = s.lo + t * (s.hi - s.lo);
    // The thresholded-out band is grey, as nilearn draws it.
    const std::uint32_t c = std::fabs(value) <= s.threshold && s.threshold > 0 ? argb({0.5, 0.5, 0.5}) : argb(cmap(t));
    auto* row = reinterpret_cast<std::uint32_t*>(base + static_cast<std::ptrdiff_t>(r) * stride);
    std::fill(row, row + L.cb_width, c);
  }
  cairo_surface_mark_dirty(bar.get());
  cairo_set_source_surface(cr, bar.get(), L.cb_left, L.cb_top);
  cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
  cairo_paint(cr);

  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_set_line_width(cr, 1.0);
  set_font(cr, f.font_px);
  const double right = L.cb_left + L.cb_width;
  for (double t : colorbar_ticks(s)) {
    const double y = L.cb_top + (1.0 - (t - s.lo) / (s.hi - s.lo)) * L.cb_height;
    const double yy = std::floor(y) + 0.5;
    cairo_move_to(cr, right, yy);
    cairo_line_to(cr, right + f.tick, yy);
    cairo_stroke(cr);
    draw_text(cr, tick_label(t, s.hi - s.lo), right + f.tick + 2, y + 0.35 * f.font_px, 0.0);
  }
}

// ---------------------------------------------------------------- views and annotations

std::vector<ViewSpec> view_specs(const BrainOptions& o, const Eigen::Vector3d& coords, const Box& box,
                                 const std::optional<Box>& active) {
  switch (o.display) {
    case SliceDisplay::Ortho:
      return {{0, coords(0)}, {1, coords(1)}, {2, coords(2)}};
    case SliceDisplay::X:
      return {{0, coords(0)}};
    case SliceDisplay::Y:
      return {{1, coords(1)}};
    case SliceDisplay::Z:
      return {{2, coords(2)}};
    case SliceDisplay::Glass:
      return {{0, 0.0, true}, {1, 0.0, true}, {2, 0.0, true}};
    case SliceDisplay::Lightbox:
      break;
  }
  std::vector<ViewSpec> out;
  if (!o.slices.empty()) {
    for (double z : o.slices) {
      if (z < box.min(2) || z > box.max(2))
        throw ValueError(fmt::format("slices: z = {} mm lies outside the image (z from {:.1f} to {:.1f} mm)", z,
                                     box.min(2), box.max(2)));
      out.push_back({2, z});
    }
    return out;
  }
  // Where the map is shown: the z extent of its suprathreshold voxels, widened around
  // its centre to at least half the image's height (so a small blob gets neighbours
  // rather than twelve cuts through itself), within the image; the whole height when
  // nothing passes the threshold. Slices sit at the centres of n equal bands of it.
  double lo = box.min(2), hi = box.max(2);
  if (active) {
    lo = std::max(lo, active->min(2));
    hi = std::min(hi, active->max(2));
    const double need = 0.5 * (box.max(2) - box.min(2));
    if (hi - lo < need) {
      const double c = 0.5 * (lo + hi);
      lo = c - need / 2;
      hi = c + need / 2;
      if (lo < box.min(2)) {
        hi += box.min(2) - lo;
        lo = box.min(2);
      }
      if (hi > box.max(2)) {
        lo -= hi - box.max(2);
        hi = box.max(2);
      }
    }
  }
  for (int k = 0; k < o.n_slices; ++k)
    out.push_back({2, std::round(lo + (k + 0.5) * (hi - lo) / o.n_slices)});
  return out;
}

void draw_annotations(cairo_t* cr, const SliceLayout& L, const BrainOptions& o, const Frame& f) {
  cairo_set_source_rgb(cr, 1, 1, 1);
  set_font(cr, f.font_px);
  const double inset = std::max(2.0, 0.25 * f.font_px);
  bool lr_done = false;
  for (const SliceView& v : L.views) {
    if (!v.projection)
      draw_text(cr, fmt::format("{} = {}", axis_letter(v.normal), whole_mm(v.cut)), v.left + inset,
                v.top + v.height - inset, 0.0);
    if (v.h_axis == 0 && !(o.display == SliceDisplay::Lightbox && lr_done)) {
      set_font(cr, f.font_px, true);
      draw_text(cr, "L", v.left + inset, v.top + inset + f.font_px, 0.0);
      draw_text(cr, "R", v.left + v.width - inset, v.top + inset + f.font_px, 1.0);
      set_font(cr, f.font_px);
      lr_done = true;
    }
  }
}

// Peak markers: in every view of ortho and single displays (projected, as nilearn's
// add_markers), in lightbox on the slices within half a slice spacing of the peak.
void draw_peaks(cairo_t* cr, const SliceLayout& L, const BrainOptions& o, const Frame& f) {
  if (o.peaks.empty()) return;
  double half = std::numeric_limits<double>::infinity();
  if (o.display == SliceDisplay::Lightbox && L.views.size() > 1) {
    std::vector<double> z;
    for (const auto& v : L.views) z.push_back(v.cut);
    std::sort(z.begin(), z.end());
    double spacing = std::numeric_limits<double>::infinity();
    for (std::size_t i = 1; i < z.size(); ++i)
      if (z[i] > z[i - 1]) spacing = std::min(spacing, z[i] - z[i - 1]);
    half = spacing / 2;
  }
  const double radius = std::max(3.0, 0.4 * f.font_px);
  cairo_set_line_width(cr, std::max(1.0, radius / 4));
  for (const SliceView& v : L.views) {
    cairo_save(cr);
    cairo_rectangle(cr, v.left, v.top, v.width, v.height);
    cairo_clip(cr);
    for (const Eigen::Vector3d& p : o.peaks) {
      if (std::fabs(p(v.normal) - v.cut) > half) continue;
      const Eigen::Vector2d q = v.to_pixel(p);
      cairo_new_sub_path(cr);
      cairo_arc(cr, q(0), q(1), radius, 0, 2 * M_PI);
      cairo_set_source_rgb(cr, 0.2, 1.0, 0.2);
      cairo_fill_preserve(cr);
      cairo_set_source_rgb(cr, 0, 0, 0);
      cairo_stroke(cr);
    }
    cairo_restore(cr);
  }
}

const char* view_name(int normal) { return normal == 0 ? "sagittal" : normal == 1 ? "coronal" : "axial"; }

}  // namespace

// ---------------------------------------------------------------- public functions

FigureFormat figure_format(const std::string& path) {
  const std::size_t dot = path.find_last_of('.');
  const std::size_t slash = path.find_last_of('/');
  std::string ext = dot == std::string::npos || (slash != std::string::npos && dot < slash) ? "" : path.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == "png") return FigureFormat::Png;
  if (ext == "svg") return FigureFormat::Svg;
  if (ext == "pdf") return FigureFormat::Pdf;
  throw ValueError(fmt::format("path: '{}' has an unsupported extension; use .png, .svg or .pdf", path));
}

BrainFigure render_brain(const Volume& map, const BrainOptions& o, FigureFormat format) {
  // ---- inputs
  std::int64_t frame = 0;
  if (map.ndim() == 4 && map.frames() > 1) {
    if (!o.frame)
      throw ValueError(fmt::format("map: {} is 4-D with {} frames{}; a brain figure shows a 3-D map: give the "
                                   "option frame (1 to {}) or pass v:frame(t)",
                                   format_volume(map), map.frames(),
                                   map.info.path.empty() ? "" : " ('" + map.info.path + "')", map.frames()));
    frame = *o.frame;
  } else if (o.frame && *o.frame != 0) {
    throw ValueError(fmt::format("frame: the map {} has a single frame", format_volume(map)));
  }
  if (frame < 0 || frame >= map.frames())
    throw ValueError(fmt::format("frame: {} out of range [1, {}]", frame + 1, map.frames()));
  if (o.contours && o.display == SliceDisplay::Glass)
    throw ValueError("contours: region outlines are drawn on slices, not on a glass brain (display = glass)");
  if (o.contours && o.contours->ndim() == 4 && o.contours->frames() > 1)
    throw ValueError(fmt::format("contours: {} is 4-D; region outlines need a 3-D label volume",
                                 format_volume(*o.contours)));
  if (!(o.dpi > 0) || !(o.font_size > 0) || !(o.alpha >= 0 && o.alpha <= 1) || o.n_slices < 1)
    throw ValueError("dpi, font_size and slices must be positive and alpha within [0, 1]");

  std::shared_ptr<const detail::BgImage> bg;
  switch (o.bg) {
    case Background::Template:
      bg = detail::template_background();
      break;
    case Background::Image: {
      std::shared_ptr<const Volume> v;
      if (o.bg_volume) {
        v = std::shared_ptr<const Volume>(std::shared_ptr<const Volume>(), o.bg_volume);  // not owned
      } else {
        v = std::make_shared<const Volume>(load_volume(o.bg_path));
      }
      if (v->ndim() == 4 && v->frames() > 1)
        throw ValueError(fmt::format("bg: {} is 4-D; the background must be a 3-D image (pass v:frame(t))",
                                     format_volume(*v)));
      bg = detail::prepare_background(std::move(v), 0);
      break;
    }
    case Background::None:
      break;
  }
  const Box box = bg ? bg->box : detail::grid_box(map.grid());

  const MapScale scale = map_scale(map, frame, o);
  const std::string cmap_name = !o.cmap.empty() ? o.cmap : scale.signed_map ? "cold_hot" : "hot";
  const Colormap cmap = Colormap::get(cmap_name);

  Eigen::Vector3d coords;
  if (o.coords && o.display != SliceDisplay::Glass && o.display != SliceDisplay::Lightbox) {
    coords = *o.coords;
    const bool ortho = o.display == SliceDisplay::Ortho;
    for (int a = 0; a < 3; ++a) {
      const bool used = ortho || (o.display == SliceDisplay::X && a == 0) || (o.display == SliceDisplay::Y && a == 1) ||
                        (o.display == SliceDisplay::Z && a == 2);
      if (used && (coords(a) < box.min(a) || coords(a) > box.max(a)))
        throw ValueError(fmt::format(
            "coords: ({:g}, {:g}, {:g}) mm lies outside the image ({} = {:g} is not within {:.1f} to {:.1f} mm; "
            "the image spans x {:.1f} to {:.1f}, y {:.1f} to {:.1f}, z {:.1f} to {:.1f} mm)",
            coords(0), coords(1), coords(2), axis_letter(a), coords(a), box.min(a), box.max(a), box.min(0),
            box.max(0), box.min(1), box.max(1), box.min(2), box.max(2)));
    }
  } else {
    coords = detail::default_cut(map, o.threshold, frame).cwiseMax(box.min).cwiseMin(box.max);
  }
  const std::vector<ViewSpec> specs =
      view_specs(o, coords, box,
                 o.display == SliceDisplay::Lightbox ? detail::active_box(map, o.threshold, frame) : std::nullopt);
  int columns = static_cast<int>(specs.size());
  if (o.display == SliceDisplay::Lightbox) {
    const int n = columns;
    if (o.columns > 0) {
      columns = std::min(o.columns, n);
    } else {
      const int rows = (n + 5) / 6;
      columns = (n + rows - 1) / rows;
    }
  }

  // ---- measures (a scratch context to measure text)
  Surface scratch(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1));
  Context measure(cairo_create(scratch.get()));
  Frame f;
  f.font_px = o.font_size * o.dpi / 72.0;
  f.pad = std::max(2, px(0.06, o.dpi));
  f.gap = std::max(1, px(0.04, o.dpi));
  f.title_h = o.title.empty() ? 0 : static_cast<int>(std::ceil(1.9 * f.font_px));
  const bool colorbar = o.colorbar && !o.labels;
  if (colorbar) {
    f.bar_w = std::max(4, px(0.12, o.dpi));
    f.tick = std::max(2, px(0.04, o.dpi));
    set_font(measure.get(), f.font_px);
    double label_w = 0;
    for (double t : colorbar_ticks(scale))
      label_w = std::max(label_w, text_width(measure.get(), tick_label(t, scale.hi - scale.lo)));
    f.cb_band = f.gap + f.bar_w + f.tick + 2 + static_cast<int>(std::ceil(label_w));
  }
  BrainFigure fig;
  SliceLayout& L = fig.layout;
  L = make_layout(o, box, specs, columns, f);
  L.coords = coords;
  L.cmap = colorbar ? cmap_name : "";
  if (colorbar) {
    L.cb_min = scale.lo;
    L.cb_max = scale.hi;
  }

  // ---- surface
  Surface surface;
  std::string& out = fig.bytes;
  const double pt = 72.0 / o.dpi;
  switch (format) {
    case FigureFormat::Png:
      surface.reset(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, L.width, L.height));
      break;
    case FigureFormat::Svg:
      surface.reset(cairo_svg_surface_create_for_stream(append_bytes, &out, L.width * pt, L.height * pt));
      break;
    case FigureFormat::Pdf:
      surface.reset(cairo_pdf_surface_create_for_stream(append_bytes, &out, L.width * pt, L.height * pt));
      break;
  }
  check_status(cairo_surface_status(surface.get()), "figure");
  {
    Context cr(cairo_create(surface.get()));
    if (format != FigureFormat::Png) cairo_scale(cr.get(), pt, pt);
    cairo_set_source_rgb(cr.get(), 0, 0, 0);
    cairo_paint(cr.get());

    Layers ly;
    ly.box = box;
    ly.bg = bg.get();
    ly.map = &map;
    ly.frame = frame;
    ly.scale = scale;
    ly.cmap = &cmap;
    ly.o = &o;
    for (const SliceView& v : L.views) {
      Surface img = view_raster(v, ly);
      cairo_set_source_surface(cr.get(), img.get(), v.left, v.top);
      cairo_pattern_set_filter(cairo_get_source(cr.get()), CAIRO_FILTER_NEAREST);
      cairo_paint(cr.get());
    }
    draw_peaks(cr.get(), L, o, f);
    if (o.annotate) draw_annotations(cr.get(), L, o, f);
    if (colorbar) draw_colorbar(cr.get(), L, scale, cmap, f);
    if (!o.title.empty()) {
      cairo_set_source_rgb(cr.get(), 1, 1, 1);
      set_font(cr.get(), 1.25 * f.font_px);
      draw_text(cr.get(), o.title, f.pad, f.pad + 1.3 * f.font_px, 0.0);
    }
    check_status(cairo_status(cr.get()), "figure");
  }
  if (format == FigureFormat::Png) {
    check_status(cairo_surface_write_to_png_stream(surface.get(), append_bytes, &out), "PNG");
  } else {
    cairo_surface_finish(surface.get());
    check_status(cairo_surface_status(surface.get()), format == FigureFormat::Svg ? "SVG" : "PDF");
  }
  if (format == FigureFormat::Svg) {
    std::string desc;
    for (const SliceView& v : L.views)
      desc += v.projection ? fmt::format("{}{} projection", desc.empty() ? "" : "; ", view_name(v.normal))
                           : fmt::format("{}{} {} = {}", desc.empty() ? "" : "; ", view_name(v.normal),
                                         axis_letter(v.normal), whole_mm(v.cut));
    if (colorbar)
      desc += fmt::format("; colour bar {} from {} to {}", cmap_name, tick_label(scale.lo, scale.hi - scale.lo),
                          tick_label(scale.hi, scale.hi - scale.lo));
    detail::add_svg_text(out, o.title.empty() ? "Brain slices" : o.title, {desc});
  }
  if (format == FigureFormat::Pdf) detail::drop_pdf_date(out);
  return fig;
}

SliceLayout plot_brain(const std::string& path, const Volume& map, const BrainOptions& options) {
  const FigureFormat format = figure_format(path);
  check_write_access(path);
  BrainFigure fig = render_brain(map, options, format);
  write_file_atomic(path, fig.bytes);
  return fig.layout;
}

namespace {

struct PngReader {
  std::string_view bytes;
  std::size_t pos = 0;
};

cairo_status_t read_bytes(void* closure, unsigned char* data, unsigned int length) {
  auto* r = static_cast<PngReader*>(closure);
  if (r->bytes.size() - r->pos < length) return CAIRO_STATUS_READ_ERROR;
  std::copy_n(r->bytes.data() + r->pos, length, data);
  r->pos += length;
  return CAIRO_STATUS_SUCCESS;
}

}  // namespace

Raster decode_png(std::string_view bytes) {
  PngReader reader{bytes, 0};
  Surface s(cairo_image_surface_create_from_png_stream(read_bytes, &reader));
  if (cairo_surface_status(s.get()) != CAIRO_STATUS_SUCCESS)
    throw ValueError(fmt::format("not a PNG image: {}", cairo_status_to_string(cairo_surface_status(s.get()))));
  Raster out;
  out.width = cairo_image_surface_get_width(s.get());
  out.height = cairo_image_surface_get_height(s.get());
  const int stride = cairo_image_surface_get_stride(s.get());
  const unsigned char* base = cairo_image_surface_get_data(s.get());
  const cairo_format_t fmt_ = cairo_image_surface_get_format(s.get());
  out.rgba.resize(4 * static_cast<std::size_t>(out.width) * static_cast<std::size_t>(out.height));
  for (int y = 0; y < out.height; ++y) {
    const auto* row = reinterpret_cast<const std::uint32_t*>(base + static_cast<std::ptrdiff_t>(y) * stride);
    for (int x = 0; x < out.width; ++x) {
      const std::uint32_t p = row[x];
      std::uint32_t a = fmt_ == CAIRO_FORMAT_RGB24 ? 255u : (p >> 24) & 0xff;
      auto un = [&](std::uint32_t c) { return a == 0 ? 0u : std::min(255u, (c * 255u + a / 2) / a); };
      std::uint8_t* o = &out.rgba[4 * (static_cast<std::size_t>(y) * static_cast<std::size_t>(out.width) + static_cast<std::size_t>(x))];
      o[0] = static_cast<std::uint8_t>(un((p >> 16) & 0xff));
      o[1] = static_cast<std::uint8_t>(un((p >> 8) & 0xff));
      o[2] = static_cast<std::uint8_t>(un(p & 0xff));
      o[3] = static_cast<std::uint8_t>(a);
    }
  }
  return out;
}

}  // namespace nl::plot

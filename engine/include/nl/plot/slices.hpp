// nl/plot/slices.hpp: brain-slice figures of a statistic map over an anatomical
// background, in the manner of nilearn's plot_stat_map: orthogonal views (sagittal,
// coronal, axial through one point), a single view, or a lightbox montage of axial
// slices; a colour bar, slice coordinates, "L"/"R" letters, peak markers and region
// outlines. Drawn with cairo (PNG, SVG and PDF surfaces); text through cairo's font
// support (fontconfig, DejaVu Sans).
//
// Geometry (the contract the tests check):
//  * Everything is drawn in world (RAS+ mm) space. For each display pixel the world
//    point at its centre is mapped through the inverse affine of each image to a voxel
//    position and sampled there: nearest voxel for the map, the labels and the contours,
//    trilinear for the background. Images on different grids (a 3 mm map over a 1 mm
//    template, an oblique acquisition) need no resampling step.
//  * Neurological convention: the subject's left is on the left of the coronal and axial
//    views (x grows to the right), anterior is up in axial views and to the right in
//    sagittal views, superior is up.
//  * One scale (pixels per mm) for every view of a figure. The display extent is the
//    bounding box of the background's non-zero voxels in world space (2 mm margin),
//    or the map's whole grid without a background.
//  * The layout returned with the image gives, for each view, its pixel rectangle and
//    the world extent of its two axes, so callers can map mm to pixels.
//
// Errors: misuse (a 4-D map without a frame, a coordinate outside the image, a bad
// extension, a bad colour-map name) is ValueError naming the argument; a missing
// background template or unreadable file is FileError naming the file.
#pragma once

#include <Eigen/Dense>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nl/image/image.hpp"

namespace nl::plot {

// ---------------------------------------------------------------- options

// Glass: the three views of Ortho as projections through the whole extent (nilearn's
// plot_glass_brain): the map's value of largest |value| along each line of sight, over
// the background's mean along it (an X-ray of the template).
enum class SliceDisplay { Ortho, X, Y, Z, Lightbox, Glass };
enum class Background { Template, None, Image };
enum class FigureFormat { Png, Svg, Pdf };

struct BrainOptions {
  SliceDisplay display = SliceDisplay::Ortho;
  // Cut point in mm; default: the centre of the largest cluster (see default_cut_coords).
  // For the X, Y, Z displays only that component is used; Glass and Lightbox ignore it.
  std::optional<Eigen::Vector3d> coords;
  int n_slices = 12;            // lightbox: evenly spaced axial slices...
  std::vector<double> slices;   // ...or these z (mm), when not empty
  int columns = 0;              // lightbox columns (0: up to 6, rows balanced)
  std::optional<std::int64_t> frame;  // 0-based frame of a 4-D map

  double threshold = 0.0;       // |value| <= threshold is not drawn (NaN never is)
  std::optional<double> vmin;   // one-signed maps only (default 0)
  std::optional<double> vmax;   // default max |value|
  std::string cmap;             // a Colormap name; "" = cold_hot (signed) or hot (positive)
  bool labels = false;          // the map holds integer labels: one colour each, no colour bar
  double alpha = 1.0;           // overlay opacity
  bool colorbar = true;

  Background bg = Background::Template;
  const Volume* bg_volume = nullptr;  // Background::Image: this volume...
  std::string bg_path;                // ...or this file
  // Grey-scale limits. Default, from the 2nd and 98th percentiles p2, p98 of the non-zero
  // voxels: bg_vmin = p2, bg_vmax = (p2 + p98) / 2 + 1.8 (p98 - p2) / 2 (nilearn's dimming
  // of an anatomy on black: the brightest tissue is about 70 % grey).
  std::optional<double> bg_vmin, bg_vmax;

  std::string title;
  double width = 0.0;   // inches; 0: 7.5 (ortho, lightbox) or 3.5 (one view)
  double height = 0.0;  // inches; 0: from the views' aspect
  double dpi = 100.0;
  double font_size = 9.0;  // points
  bool annotate = true;    // slice coordinates and L/R letters

  std::vector<Eigen::Vector3d> peaks;  // mm, drawn as markers
  const Volume* contours = nullptr;    // a label volume drawn as region outlines (not with Glass)
};

// ---------------------------------------------------------------- layout

// One view: a pixel rectangle (x right, y down; pixel (c, r) covers [c, c+1) x [r, r+1))
// showing the world plane normal to axis `normal` at `cut` mm. World axis h_axis runs
// from h_min (left edge) to h_max (right edge), v_axis from v_min (bottom) to v_max (top).
struct SliceView {
  int normal = 2;  // 0: sagittal (x), 1: coronal (y), 2: axial (z)
  double cut = 0.0;
  bool projection = false;  // a glass-brain view: everything along axis `normal` (cut unused)
  int left = 0, top = 0, width = 0, height = 0;
  int h_axis = 0, v_axis = 1;
  double h_min = 0, h_max = 0, v_min = 0, v_max = 0;

  // Continuous pixel position of a world point (its components along h_axis, v_axis).
  Eigen::Vector2d to_pixel(const Eigen::Vector3d& mm) const;
  // The world point at the centre of pixel (c, r) of the figure.
  Eigen::Vector3d to_world(int c, int r) const;
  bool contains_pixel(int c, int r) const { return c >= left && c < left + width && r >= top && r < top + height; }
};

struct SliceLayout {
  int width = 0, height = 0;  // pixels (PNG) or pixels at `dpi` (SVG, PDF: 72/dpi points each)
  double dpi = 100.0;
  std::vector<SliceView> views;
  Eigen::Vector3d coords{0, 0, 0};  // the cut point used (ortho and single views)
  // Colour bar: its pixel rectangle (empty when there is none) and the values at its
  // bottom and top edges; values with |v| <= threshold are drawn grey.
  int cb_left = 0, cb_top = 0, cb_width = 0, cb_height = 0;
  double cb_min = 0, cb_max = 0;
  std::string cmap;  // the colour map drawn
};

struct BrainFigure {
  std::string bytes;  // the encoded file
  SliceLayout layout;
};

// ---------------------------------------------------------------- drawing

// The format named by path's extension (.png, .svg, .pdf; case-insensitive), or
// ValueError "path: 'x.jpg' has an unsupported extension; use .png, .svg or .pdf".
FigureFormat figure_format(const std::string& path);

// Renders map (3-D, or a frame of a 4-D volume) into the bytes of a file of `format`.
BrainFigure render_brain(const Volume& map, const BrainOptions& options, FigureFormat format);

// Checks write access (the sandbox), renders in the format of path's extension and
// writes the file atomically (nl::write_file_atomic). Returns the layout.
SliceLayout plot_brain(const std::string& path, const Volume& map, const BrainOptions& options);

// The cut point used when none is given, nilearn's find_xyz_cut_coords in spirit: among
// the voxels with |value| > threshold, those at or above the 80th percentile of |value|;
// their largest 26-connected cluster; the voxel of that cluster nearest to its
// |value|-weighted centre of mass (so the cut goes through the cluster even when it is
// curved). The world position of that voxel's centre (mm); the grid centre when no voxel
// passes the threshold.
Eigen::Vector3d default_cut_coords(const Volume& map, double threshold, std::int64_t frame = 0);

// The path of the background template (MRIcron's ch2better: the Colin27 brain in MNI
// space, from Debian's mricron-data, under nl::atlas_dir()).
std::string template_path();

// ---------------------------------------------------------------- reading PNG (tests)

// Decoded PNG pixels, 8-bit RGBA per pixel, rows top to bottom.
struct Raster {
  int width = 0, height = 0;
  std::vector<std::uint8_t> rgba;
  std::array<int, 4> at(int x, int y) const {
    const std::size_t o = 4 * (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x));
    return {rgba[o], rgba[o + 1], rgba[o + 2], rgba[o + 3]};
  }
};
// Decodes PNG bytes with cairo. ValueError when they are not a PNG.
Raster decode_png(std::string_view bytes);

}  // namespace nl::plot

// tests/engine/plot/test_slices.cpp: brain-slice figures (nl/plot/slices.hpp).
//
// The figures are rendered to PNG bytes and decoded again (cairo's PNG reader), and the
// pixels are compared with where the layout says a world point lies. Orientation is
// checked independently of the layout too: a blob on the subject's left must land in
// the left half of the coronal and axial views, an anterior one in the upper half of the
// axial view and the right half of the sagittal view, a superior one in the upper half.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/image/image.hpp"
#include "nl/plot/slices.hpp"

using nl::Volume;
using nl::plot::BrainOptions;
using nl::plot::Raster;
using nl::plot::SliceView;

namespace {

bool exists(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0;
}

// A zero volume of dims on `affine`, with a 3 x 3 x 3 blob of `value` around the voxel
// nearest to the world point p.
Volume blob_volume(const std::array<std::int64_t, 3>& dims, const nl::Affine& affine, const Eigen::Vector3d& p,
                   float value, const Volume* into = nullptr) {
  Volume v = into ? *into : Volume(nl::make_grid(dims, affine));
  const Eigen::Vector3d ijk = v.grid().to_voxel(p);
  const auto c = [&](int a) { return static_cast<std::int64_t>(std::lround(ijk(a))); };
  for (int dk = -1; dk <= 1; ++dk)
    for (int dj = -1; dj <= 1; ++dj)
      for (int di = -1; di <= 1; ++di) v.data()[v.offset(c(0) + di, c(1) + dj, c(2) + dk)] = value;
  return v;
}

// An affine with voxel size s and rotation R whose grid of dims is centred on the origin.
nl::Affine centred_affine(const Eigen::Matrix3d& RS, const std::array<std::int64_t, 3>& dims) {
  nl::Affine A = nl::Affine::Identity();
  A.topLeftCorner<3, 3>() = RS;
  const Eigen::Vector3d half((dims[0] - 1) / 2.0, (dims[1] - 1) / 2.0, (dims[2] - 1) / 2.0);
  A.block<3, 1>(0, 3) = -RS * half;
  return A;
}

bool yellow(const std::array<int, 4>& c) { return c[0] > 200 && c[1] > 200 && c[2] < 80; }

Raster render_png(const Volume& map, const BrainOptions& o, nl::plot::SliceLayout* layout = nullptr) {
  const nl::plot::BrainFigure fig = nl::plot::render_brain(map, o, nl::plot::FigureFormat::Png);
  if (layout) *layout = fig.layout;
  Raster r = nl::plot::decode_png(fig.bytes);
  REQUIRE(r.width == fig.layout.width);
  REQUIRE(r.height == fig.layout.height);
  return r;
}

struct Found {
  int count = 0;
  double cx = 0, cy = 0;  // centroid (pixel centres)
};

Found find_yellow(const Raster& r, const SliceView& v) {
  Found f;
  for (int y = v.top; y < v.top + v.height; ++y)
    for (int x = v.left; x < v.left + v.width; ++x)
      if (yellow(r.at(x, y))) {
        ++f.count;
        f.cx += x + 0.5;
        f.cy += y + 0.5;
      }
  if (f.count) {
    f.cx /= f.count;
    f.cy /= f.count;
  }
  return f;
}

// The blob at p (left, anterior, superior) must appear where the layout predicts, and
// in the expected half of each view.
void check_orientation(const Volume& map, const Eigen::Vector3d& p, nl::plot::Background bg) {
  BrainOptions o;
  o.coords = p;
  o.cmap = "cold_hot";  // the maximum is yellow
  o.bg = bg;
  o.annotate = false;   // white letters would not matter, but keep the views clean
  nl::plot::SliceLayout L;
  const Raster r = render_png(map, o, &L);
  REQUIRE(L.views.size() == 3);
  for (const SliceView& v : L.views) {
    INFO("view normal to axis " << v.normal);
    const Eigen::Vector2d q = v.to_pixel(p);
    REQUIRE(v.contains_pixel(static_cast<int>(q(0)), static_cast<int>(q(1))));
    CHECK(yellow(r.at(static_cast<int>(q(0)), static_cast<int>(q(1)))));
    const Found f = find_yellow(r, v);
    REQUIRE(f.count > 0);
    const double s = v.width / (v.h_max - v.h_min);  // pixels per mm
    CHECK(std::fabs(f.cx - q(0)) < 4.0 * s);
    CHECK(std::fabs(f.cy - q(1)) < 4.0 * s);
    const double mid_x = v.left + v.width / 2.0, mid_y = v.top + v.height / 2.0;
    if (v.normal == 0) {
      CHECK(f.cx > mid_x);  // sagittal: anterior (y > 0) on the right
      CHECK(f.cy < mid_y);  // superior up
    } else {
      CHECK(f.cx < mid_x);  // coronal, axial: the subject's left (x < 0) on the left
      CHECK(f.cy < mid_y);  // coronal: superior up; axial: anterior up
    }
    // The mirror image across the midline is empty.
    if (v.normal != 0) {
      const Eigen::Vector2d m = v.to_pixel(Eigen::Vector3d(-p(0), p(1), p(2)));
      CHECK_FALSE(yellow(r.at(static_cast<int>(m(0)), static_cast<int>(m(1)))));
    }
  }
}

const Eigen::Vector3d kBlob(-40, 30, 24);

}  // namespace

TEST_CASE("slices: orientation with an RAS affine over the template", "[plot][slices]") {
  if (!exists(nl::plot::template_path())) {
    WARN("template missing: " << nl::plot::template_path());
    return;
  }
  const std::array<std::int64_t, 3> dims{91, 109, 91};
  nl::Affine A = nl::Affine::Identity();  // MNI 2 mm
  A.topLeftCorner<3, 3>() *= 2.0;
  A.block<3, 1>(0, 3) << -90, -126, -72;
  check_orientation(blob_volume(dims, A, kBlob, 5.0f), kBlob, nl::plot::Background::Template);
}

TEST_CASE("slices: orientation with a flipped (LAS) affine", "[plot][slices]") {
  const std::array<std::int64_t, 3> dims{60, 70, 60};
  const nl::Affine A = centred_affine(Eigen::Vector3d(-3, 3, 3).asDiagonal(), dims);
  const Volume v = blob_volume(dims, A, kBlob, 5.0f);
  REQUIRE(v.grid().orientation() == "LAS");
  check_orientation(v, kBlob, nl::plot::Background::None);
}

TEST_CASE("slices: orientation with an oblique affine", "[plot][slices]") {
  const std::array<std::int64_t, 3> dims{80, 90, 80};
  const double a = 20.0 * M_PI / 180.0;
  const Eigen::Matrix3d R =
      (Eigen::AngleAxisd(a, Eigen::Vector3d::UnitZ()) * Eigen::AngleAxisd(a, Eigen::Vector3d::UnitX())).toRotationMatrix();
  const Volume v = blob_volume(dims, centred_affine(R * 2.0, dims), kBlob, 5.0f);
  check_orientation(v, kBlob, nl::plot::Background::None);
  // The same map over a background on another (RAS, 1.5 mm) grid.
  const std::array<std::int64_t, 3> bd{120, 140, 120};
  Volume bg(nl::make_grid(bd, centred_affine(Eigen::Vector3d(1.5, 1.5, 1.5).asDiagonal(), bd)));
  std::fill(bg.data(), bg.data() + bg.size(), 40.0f);
  BrainOptions o;
  o.bg = nl::plot::Background::Image;
  o.bg_volume = &bg;
  o.coords = kBlob;
  o.cmap = "cold_hot";
  nl::plot::SliceLayout L;
  const Raster r = render_png(v, o, &L);
  for (const SliceView& view : L.views) {
    const Eigen::Vector2d q = view.to_pixel(kBlob);
    CHECK(yellow(r.at(static_cast<int>(q(0)), static_cast<int>(q(1)))));
    // Elsewhere the background is a uniform grey (r = g = b > 0).
    const auto g = r.at(view.left + 5, view.top + view.height / 2);
    CHECK(g[0] == g[1]);
    CHECK(g[1] == g[2]);
    CHECK(g[0] > 0);
  }
}

TEST_CASE("slices: the default cut goes through the largest cluster", "[plot][slices]") {
  const std::array<std::int64_t, 3> dims{40, 40, 40};
  const nl::Affine A = centred_affine(Eigen::Matrix3d::Identity() * 3.0, dims);
  Volume v = blob_volume(dims, A, kBlob, 5.0f);
  v.data()[v.offset(5, 5, 5)] = 6.0f;  // a single stronger voxel: not the largest cluster
  const Eigen::Vector3d centre = v.grid().to_world(v.grid().to_voxel(kBlob).array().round().matrix());
  const Eigen::Vector3d c = nl::plot::default_cut_coords(v, 0.0);
  CHECK((c - centre).norm() < 1e-9);  // the blob's central voxel
  CHECK((c - kBlob).norm() < 3.0);
}

TEST_CASE("slices: lightbox shows the blob on its slice only", "[plot][slices]") {
  const std::array<std::int64_t, 3> dims{60, 70, 60};
  const nl::Affine A = centred_affine(Eigen::Matrix3d::Identity() * 3.0, dims);
  const Volume v = blob_volume(dims, A, kBlob, 5.0f);
  const Eigen::Vector3d ijk = v.grid().to_voxel(kBlob);
  const double z = v.grid().to_world(ijk.array().round().matrix())(2);
  BrainOptions o;
  o.display = nl::plot::SliceDisplay::Lightbox;
  o.bg = nl::plot::Background::None;
  o.cmap = "cold_hot";
  o.slices = {z - 30, z, z + 30, z - 15};
  nl::plot::SliceLayout L;
  const Raster r = render_png(v, o, &L);
  REQUIRE(L.views.size() == 4);
  CHECK(find_yellow(r, L.views[0]).count == 0);
  CHECK(find_yellow(r, L.views[1]).count > 0);
  CHECK(find_yellow(r, L.views[2]).count == 0);
  CHECK(find_yellow(r, L.views[3]).count == 0);
  const Eigen::Vector2d q = L.views[1].to_pixel(kBlob);
  CHECK(yellow(r.at(static_cast<int>(q(0)), static_cast<int>(q(1)))));
  // Default slices: 12, in two rows of 6.
  o.slices.clear();
  render_png(v, o, &L);
  REQUIRE(L.views.size() == 12);
  CHECK(L.views[5].top == L.views[0].top);
  CHECK(L.views[6].top > L.views[0].top);
  // ... placed where the map is: around the blob (half the image's height), so the
  // blob shows in the middle slices and every slice lies within 50 mm of it, where
  // slices spread over the whole image would leave most of them empty.
  const Raster d = render_png(v, o, &L);
  int with_blob = 0;
  for (const auto& view : L.views) {
    CHECK(std::fabs(view.cut - kBlob(2)) < 50.0);
    if (find_yellow(d, view).count > 0) ++with_blob;
  }
  CHECK(with_blob >= 1);
  CHECK(find_yellow(d, L.views[5]).count + find_yellow(d, L.views[6]).count > 0);
  // A map with nothing above the threshold: the whole height, as before.
  o.threshold = 100;
  render_png(v, o, &L);
  CHECK(L.views.front().cut < kBlob(2) - 50.0);
  CHECK(L.views.back().cut > kBlob(2) + 30.0);
}

TEST_CASE("slices: a glass brain projects the blob into every view", "[plot][slices]") {
  const std::array<std::int64_t, 3> dims{60, 70, 60};
  const double a = 20.0 * M_PI / 180.0;
  const Eigen::Matrix3d R = Eigen::AngleAxisd(a, Eigen::Vector3d::UnitY()).toRotationMatrix();
  const Volume v = blob_volume(dims, centred_affine(R * 3.0, dims), kBlob, 5.0f);
  BrainOptions o;
  o.display = nl::plot::SliceDisplay::Glass;
  o.bg = nl::plot::Background::None;
  o.cmap = "cold_hot";
  o.coords = Eigen::Vector3d(0, 0, 0);  // ignored: a projection shows everything
  nl::plot::SliceLayout L;
  const Raster r = render_png(v, o, &L);
  REQUIRE(L.views.size() == 3);
  for (const SliceView& view : L.views) {
    INFO("view normal to axis " << view.normal);
    CHECK(view.projection);
    const Eigen::Vector2d q = view.to_pixel(kBlob);
    CHECK(yellow(r.at(static_cast<int>(q(0)), static_cast<int>(q(1)))));
    const Found f = find_yellow(r, view);
    CHECK(f.count > 0);
    if (view.normal != 0) CHECK(f.cx < view.left + view.width / 2.0);  // left on the left
  }
  o.contours = &v;
  CHECK_THROWS_WITH(nl::plot::render_brain(v, o, nl::plot::FigureFormat::Png), Catch::Contains("not on a glass brain"));
}

TEST_CASE("slices: values at or below the threshold are not drawn", "[plot][slices]") {
  const std::array<std::int64_t, 3> dims{60, 70, 60};
  const nl::Affine A = centred_affine(Eigen::Matrix3d::Identity() * 3.0, dims);
  const Eigen::Vector3d weak(30, 30, 24), strong = kBlob;  // same y, z: one coronal and axial view holds both
  Volume v = blob_volume(dims, A, strong, 10.0f);
  v = blob_volume(dims, A, weak, 3.0f, &v);
  BrainOptions o;
  o.bg = nl::plot::Background::None;
  o.coords = strong;
  o.cmap = "gray";  // drawn values are grey levels above black
  o.vmin = 0.0;
  o.vmax = 10.0;
  o.annotate = false;
  nl::plot::SliceLayout L;
  {
    o.threshold = 2.0;
    const Raster r = render_png(v, o, &L);
    const Eigen::Vector2d q = L.views[2].to_pixel(weak);
    CHECK(r.at(static_cast<int>(q(0)), static_cast<int>(q(1)))[0] > 50);  // 3 > 2: drawn
  }
  o.threshold = 3.0;  // 3 is not above 3
  const Raster r = render_png(v, o, &L);
  const Eigen::Vector2d qw = L.views[2].to_pixel(weak), qs = L.views[2].to_pixel(strong);
  CHECK(r.at(static_cast<int>(qw(0)), static_cast<int>(qw(1)))[0] == 0);
  CHECK(r.at(static_cast<int>(qs(0)), static_cast<int>(qs(1)))[0] == 255);
}

TEST_CASE("slices: the colour bar shows the colour map's ends", "[plot][slices]") {
  const std::array<std::int64_t, 3> dims{40, 40, 40};
  const nl::Affine A = centred_affine(Eigen::Matrix3d::Identity() * 3.0, dims);
  Volume v = blob_volume(dims, A, kBlob, 4.0f);
  v = blob_volume(dims, A, Eigen::Vector3d(20, -20, -20), -2.0f, &v);
  BrainOptions o;
  o.bg = nl::plot::Background::None;
  o.threshold = 1.0;
  nl::plot::SliceLayout L;
  Raster r = render_png(v, o, &L);
  REQUIRE(L.cb_width > 0);
  CHECK(L.cmap == "cold_hot");
  CHECK(L.cb_min == Approx(-4.0));
  CHECK(L.cb_max == Approx(4.0));
  const int x = L.cb_left + L.cb_width / 2;
  const auto top = r.at(x, L.cb_top), bottom = r.at(x, L.cb_top + L.cb_height - 1);
  const auto middle = r.at(x, L.cb_top + L.cb_height / 2);
  CHECK(yellow(top));                                                   // cold_hot: yellow at +vmax
  CHECK((bottom[0] < 30 && bottom[1] > 220 && bottom[2] > 220));        // cyan at -vmax
  CHECK((middle[0] == 128 && middle[1] == 128 && middle[2] == 128));  // |v| <= threshold: grey
  // Tick labels: white text to the right of the bar.
  int white = 0;
  for (int y = L.cb_top; y < L.cb_top + L.cb_height; ++y)
    for (int xx = L.cb_left + L.cb_width; xx < L.width; ++xx) white += r.at(xx, y)[0] > 200 && r.at(xx, y)[2] > 200;
  CHECK(white > 50);
  // A positive map: "hot" by default, from 0; viridis when asked, its two ends.
  Volume pos = blob_volume(dims, A, kBlob, 4.0f);
  render_png(pos, o, &L);
  CHECK(L.cmap == "hot");
  CHECK(L.cb_min == 0.0);
  o.cmap = "viridis";
  o.threshold = 0;
  r = render_png(pos, o, &L);
  const auto vt = r.at(x, L.cb_top), vb = r.at(x, L.cb_top + L.cb_height - 1);
  CHECK(std::abs(vt[0] - 0xfd) <= 3);
  CHECK(std::abs(vt[2] - 0x25) <= 3);
  CHECK(std::abs(vb[0] - 0x44) <= 3);
  CHECK(std::abs(vb[2] - 0x54) <= 3);
  o.colorbar = false;
  render_png(pos, o, &L);
  CHECK(L.cb_width == 0);
}

namespace {

// A minimal well-formedness check: every element opened is closed in order.
bool well_formed_xml(const std::string& s) {
  std::vector<std::string> stack;
  std::size_t i = 0;
  while ((i = s.find('<', i)) != std::string::npos) {
    const std::size_t end = s.find('>', i);
    if (end == std::string::npos) return false;
    const std::string tag = s.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.empty()) return false;
    if (tag[0] == '?' || tag[0] == '!') continue;
    if (tag.back() == '/') continue;
    const std::size_t name_end = tag.find_first_of(" \t\n/");
    if (tag[0] == '/') {
      if (stack.empty() || stack.back() != tag.substr(1)) return false;
      stack.pop_back();
    } else {
      stack.push_back(tag.substr(0, name_end));
    }
  }
  return stack.empty();
}

}  // namespace

TEST_CASE("slices: SVG and PDF output", "[plot][slices]") {
  const std::array<std::int64_t, 3> dims{40, 40, 40};
  const nl::Affine A = centred_affine(Eigen::Matrix3d::Identity() * 3.0, dims);
  const Volume v = blob_volume(dims, A, kBlob, 4.0f);
  BrainOptions o;
  o.bg = nl::plot::Background::None;
  o.coords = Eigen::Vector3d(-42, 30, 24);
  o.title = "Weights & <peaks>";
  const auto svg = nl::plot::render_brain(v, o, nl::plot::FigureFormat::Svg);
  CHECK(svg.bytes.rfind("<?xml", 0) == 0);
  CHECK(well_formed_xml(svg.bytes));
  CHECK(svg.bytes.find("<title>Weights &amp; &lt;peaks&gt;</title>") != std::string::npos);
  CHECK(svg.bytes.find("sagittal x = -42") != std::string::npos);
  CHECK(svg.bytes.find("coronal y = 30") != std::string::npos);
  CHECK(svg.bytes.find("axial z = 24") != std::string::npos);
  CHECK(svg.bytes.find("<image") != std::string::npos);      // the views, embedded
  CHECK(svg.bytes.find("glyph") != std::string::npos);       // the text, as cairo's glyphs
  const auto pdf = nl::plot::render_brain(v, o, nl::plot::FigureFormat::Pdf);
  CHECK(pdf.bytes.rfind("%PDF-", 0) == 0);
  CHECK(pdf.bytes.find("DejaVuSans") != std::string::npos);  // the font is embedded
  CHECK(pdf.layout.width == svg.layout.width);
}

TEST_CASE("slices: bad inputs raise clear errors", "[plot][slices]") {
  const std::array<std::int64_t, 3> dims{20, 20, 20};
  const nl::Affine A = centred_affine(Eigen::Matrix3d::Identity() * 3.0, dims);
  const Volume v = blob_volume(dims, A, Eigen::Vector3d(0, 0, 0), 4.0f);
  BrainOptions o;
  o.bg = nl::plot::Background::None;

  Volume four(v.grid(), 3, true);
  CHECK_THROWS_WITH(nl::plot::render_brain(four, o, nl::plot::FigureFormat::Png),
                    Catch::Contains("map: [Volume 20x20x20") && Catch::Contains("4-D with 3 frames") &&
                        Catch::Contains("option frame"));
  o.frame = 1;
  CHECK_NOTHROW(nl::plot::render_brain(four, o, nl::plot::FigureFormat::Png));
  o.frame.reset();

  o.coords = Eigen::Vector3d(0, 200, 0);
  CHECK_THROWS_WITH(nl::plot::render_brain(v, o, nl::plot::FigureFormat::Png),
                    Catch::Contains("coords: (0, 200, 0) mm lies outside the image") && Catch::Contains("y = 200"));
  o.display = nl::plot::SliceDisplay::Z;  // only z is used by an axial view
  o.coords = Eigen::Vector3d(0, 200, 0);
  CHECK_NOTHROW(nl::plot::render_brain(v, o, nl::plot::FigureFormat::Png));
  o.display = nl::plot::SliceDisplay::Ortho;
  o.coords.reset();

  CHECK_THROWS_WITH(nl::plot::figure_format("fig.jpg"), "path: 'fig.jpg' has an unsupported extension; use .png, .svg or .pdf");
  CHECK_THROWS_WITH(nl::plot::figure_format("dir.png/fig"), Catch::Contains("unsupported extension"));
  CHECK(nl::plot::figure_format("a/Fig.PNG") == nl::plot::FigureFormat::Png);

  o.cmap = "jet";
  CHECK_THROWS_WITH(nl::plot::render_brain(v, o, nl::plot::FigureFormat::Png), Catch::Contains("unknown colour map 'jet'"));
  o.cmap.clear();
  Volume signed_map = blob_volume(dims, A, Eigen::Vector3d(9, 9, 9), -1.0f, &v);
  o.vmin = 1.0;
  CHECK_THROWS_WITH(nl::plot::render_brain(signed_map, o, nl::plot::FigureFormat::Png),
                    Catch::Contains("vmin applies to one-signed maps"));
  o.vmin.reset();

  // A missing template names the file and the package.
  const char* old = std::getenv("NEUROLUA_ATLAS_DIR");
  const std::string saved = old ? old : "";
  ::setenv("NEUROLUA_ATLAS_DIR", "/nonexistent-neurolua-atlas-dir", 1);
  o.bg = nl::plot::Background::Template;
  CHECK_THROWS_WITH(nl::plot::render_brain(v, o, nl::plot::FigureFormat::Png),
                    Catch::Contains("/nonexistent-neurolua-atlas-dir/ch2better.nii.gz") &&
                        Catch::Contains("mricron-data"));
  if (old)
    ::setenv("NEUROLUA_ATLAS_DIR", saved.c_str(), 1);
  else
    ::unsetenv("NEUROLUA_ATLAS_DIR");
  CHECK_THROWS_AS(nl::plot::decode_png("not a png"), nl::ValueError);
}

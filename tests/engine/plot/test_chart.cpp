// Charts (nl/plot/chart.hpp) and Ward linkage (nl/plot/linkage.hpp): the statistics
// against scipy/statsmodels fixtures (tests/data/plot/make_fixtures.py), the drawings
// read back pixel by pixel with cairo, the files' formats, atomic writes, determinism and
// the input checks.
#include <cairo.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/plot/chart.hpp"

namespace {

namespace pl = nl::plot;
using nl::Matrix;
using nl::Vector;

// A whitespace-separated numeric table from tests/data/plot.
Matrix read_tsv(const std::string& name) {
  const std::string path = std::string(NL_TEST_DATA) + "/plot/" + name;
  std::ifstream in(path);
  if (!in) FAIL("cannot open " << path);
  std::vector<std::vector<double>> rows;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream s(line);
    std::vector<double> r;
    double v;
    while (s >> v) r.push_back(v);
    if (!r.empty()) rows.push_back(r);
  }
  Matrix M(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(rows[0].size()));
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t j = 0; j < rows[i].size(); ++j) M(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = rows[i][j];
  return M;
}

Vector vec(std::initializer_list<double> v) {
  Vector out(static_cast<Eigen::Index>(v.size()));
  Eigen::Index i = 0;
  for (double x : v) out(i++) = x;
  return out;
}

// A scratch folder, removed at the end of the test.
struct Scratch {
  std::filesystem::path dir;
  Scratch() {
    char tmpl[] = "/tmp/nl_plot_XXXXXX";
    dir = mkdtemp(tmpl);
  }
  ~Scratch() { std::filesystem::remove_all(dir); }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A PNG read back through cairo (RGB24: 0x00RRGGBB per pixel).
struct Image {
  int w = 0, h = 0;
  std::vector<std::uint32_t> px;
  explicit Image(const std::string& path) {
    cairo_surface_t* s = cairo_image_surface_create_from_png(path.c_str());
    REQUIRE(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS);
    w = cairo_image_surface_get_width(s);
    h = cairo_image_surface_get_height(s);
    const int stride = cairo_image_surface_get_stride(s);
    const unsigned char* data = cairo_image_surface_get_data(s);
    px.resize(static_cast<std::size_t>(w) * h);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) px[static_cast<std::size_t>(y) * w + x] = reinterpret_cast<const std::uint32_t*>(data + y * stride)[x] & 0xffffff;
    cairo_surface_destroy(s);
  }
  std::uint32_t at(int x, int y) const { return px[static_cast<std::size_t>(y) * w + x]; }
};

// Colour distance (max over channels) to an RGB triple.
int cdist(std::uint32_t p, const pl::RGB& c) {
  const int r = (p >> 16) & 255, g = (p >> 8) & 255, b = p & 255;
  return std::max({std::abs(r - static_cast<int>(std::lround(c.r * 255))), std::abs(g - static_cast<int>(std::lround(c.g * 255))),
                   std::abs(b - static_cast<int>(std::lround(c.b * 255)))});
}

double point_segment(double px, double py, double ax, double ay, double bx, double by) {
  const double dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
  const double t = l2 > 0 ? std::clamp(((px - ax) * dx + (py - ay) * dy) / l2, 0.0, 1.0) : 0.0;
  return std::hypot(px - ax - t * dx, py - ay - t * dy);
}

pl::Figure one(pl::Chart chart, pl::Axes axes = {}) {
  pl::Figure f;
  f.panels.push_back({std::move(chart), std::move(axes)});
  return f;
}

}  // namespace

// ---------------------------------------------------------------- statistics

// The leaves of linkage Z walked from the root (scipy's leaves_list): the dendrogram
// drawn from Z has no crossing lines exactly when this equals the display order.
std::vector<int> preorder(const Matrix& Z) {
  const int n = static_cast<int>(Z.rows()) + 1;
  std::vector<int> out, stack{2 * n - 2};
  while (!stack.empty()) {
    const int id = stack.back();
    stack.pop_back();
    if (id < n) {
      out.push_back(id);
      continue;
    }
    stack.push_back(static_cast<int>(Z(id - n, 1)));
    stack.push_back(static_cast<int>(Z(id - n, 0)));
  }
  return out;
}

void check_order(const pl::HeatmapOrder& o, const Matrix& Z, const Matrix& leaves) {
  REQUIRE(o.linkage.rows() == Z.rows());
  for (Eigen::Index s = 0; s < Z.rows(); ++s) {
    CHECK(o.linkage(s, 0) == Z(s, 0));
    CHECK(o.linkage(s, 1) == Z(s, 1));
    CHECK(o.linkage(s, 2) == Approx(Z(s, 2)).epsilon(1e-10));
    CHECK(o.linkage(s, 3) == Z(s, 3));
  }
  REQUIRE(o.rows.size() == static_cast<std::size_t>(leaves.cols()));
  for (Eigen::Index i = 0; i < leaves.cols(); ++i) CHECK(o.rows[static_cast<std::size_t>(i)] == leaves(0, i));
  CHECK(preorder(o.linkage) == o.rows);
}

TEST_CASE("plot: heatmap hierarchy order matches scipy's Ward linkage of the rows", "[plot]") {
  pl::HeatmapChart h;
  h.M = read_tsv("ward_rows_X.tsv");
  h.ordering = pl::Ordering::Hierarchy;
  check_order(pl::heatmap_order(h), read_tsv("ward_rows_Z.tsv"), read_tsv("ward_rows_leaves.tsv"));
  h.ordering = pl::Ordering::Given;
  h.order = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0};
  CHECK(pl::heatmap_order(h).rows == h.order);
  CHECK(pl::heatmap_order(h).linkage.rows() == 0);
}

TEST_CASE("plot: netmat order is FSLNets' hierarchy (scipy fixture)", "[plot]") {
  pl::HeatmapChart h;
  h.M = read_tsv("netmat.tsv");
  h.netmat = true;
  h.ordering = pl::Ordering::Hierarchy;
  h.M.diagonal().setConstant(INFINITY);  // as a z-transformed netmat has; ignored
  const pl::HeatmapOrder o = pl::heatmap_order(h);
  check_order(o, read_tsv("netmat_Z.tsv"), read_tsv("netmat_leaves.tsv"));
  // the three planted blocks of five come out as contiguous runs
  for (int k = 0; k < 3; ++k) {
    const int block = o.rows[static_cast<std::size_t>(5 * k)] / 5;
    for (int i = 0; i < 5; ++i) CHECK(o.rows[static_cast<std::size_t>(5 * k + i)] / 5 == block);
  }
}

TEST_CASE("plot: netmat cells are drawn in the hierarchy's order", "[plot]") {
  Scratch tmp;
  pl::HeatmapChart h;
  h.M = read_tsv("netmat.tsv");
  h.netmat = true;
  h.ordering = pl::Ordering::Hierarchy;
  h.dendrogram = true;
  const pl::Rendered out = pl::render(one(h), tmp / "n.png");
  const Image img(tmp / "n.png");
  const pl::PanelFrame& f = out.panels[0];
  const std::vector<int> order = pl::heatmap_order(h).rows;
  const double m = h.M.cwiseAbs().maxCoeff();  // symmetric limits under RdBu_r
  const pl::Colormap cmap = pl::Colormap::get("RdBu_r");
  const int n = static_cast<int>(order.size());
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      const std::uint32_t p = img.at(static_cast<int>(f.px(j + 0.5)), static_cast<int>(f.py(n - i - 0.5)));
      INFO("cell " << i << "," << j);
      if (i == j) CHECK(p == 0xffffff);  // blanked diagonal
      else CHECK(cdist(p, cmap((h.M(order[i], order[j]) + m) / (2 * m))) <= 2);
    }
}

TEST_CASE("plot: OLS confidence band matches statsmodels", "[plot]") {
  const Matrix xy = read_tsv("ols_xy.tsv"), band = read_tsv("ols_band.tsv");
  const pl::OlsBand b = pl::ols_band(xy.col(0), xy.col(1), band.col(0));
  for (Eigen::Index i = 0; i < band.rows(); ++i) {
    CHECK(b.fit(i) == Approx(band(i, 1)).epsilon(1e-10));
    CHECK(b.lo(i) == Approx(band(i, 2)).epsilon(1e-9));
    CHECK(b.hi(i) == Approx(band(i, 3)).epsilon(1e-9));
  }
}

TEST_CASE("plot: box statistics and bins as numpy", "[plot]") {
  // numpy.percentile([1, 2, 3, 4, 10], [25, 50, 75]) = 2, 3, 4; fences -1 and 7
  const pl::BoxStats s = pl::box_stats(vec({10, 1, 3, 2, 4}));
  CHECK(s.q1 == 2);
  CHECK(s.median == 3);
  CHECK(s.q3 == 4);
  CHECK(s.whisker_lo == 1);
  CHECK(s.whisker_hi == 4);
  REQUIRE(s.outliers.size() == 1);
  CHECK(s.outliers[0] == 10);
  CHECK(pl::quantile7({1, 2, 3, 4}, 0.25) == 1.75);  // numpy: 1.75
  // numpy.histogram_bin_edges(range(100), "fd") has 5 bins
  CHECK(pl::auto_bins(Vector::LinSpaced(100, 0, 99)) == 5);
  CHECK(pl::auto_bins(vec({1, 1, 1, 1})) == 1);
}

// ---------------------------------------------------------------- drawings

TEST_CASE("plot: ROC curve pixels lie on the curve", "[plot]") {
  Scratch tmp;
  pl::RocCurve r;
  r.fpr = vec({0, 0, 0.2, 0.4, 1});
  r.tpr = vec({0, 0.5, 0.7, 0.9, 1});
  pl::Axes a;
  a.legend = pl::Legend::Off;
  const pl::Rendered out = pl::render(one(pl::RocChart{{r}}, a), tmp / "roc.png");
  const Image img(tmp / "roc.png");
  REQUIRE(img.w == out.width_px);
  REQUIRE(img.h == out.height_px);
  REQUIRE(out.width_px == 640);
  REQUIRE(out.height_px == 480);
  const pl::PanelFrame& f = out.panels[0];
  const pl::RGB blue = pl::category_colour(0);
  // every curve-coloured pixel lies within 2.5 px of the polyline...
  std::size_t n_blue = 0;
  for (int y = 0; y < img.h; ++y)
    for (int x = 0; x < img.w; ++x) {
      if (cdist(img.at(x, y), blue) > 40) continue;
      ++n_blue;
      double d = 1e9;
      for (Eigen::Index k = 0; k + 1 < r.fpr.size(); ++k)
        d = std::min(d, point_segment(x + 0.5, y + 0.5, f.px(r.fpr(k)), f.py(r.tpr(k)), f.px(r.fpr(k + 1)), f.py(r.tpr(k + 1))));
      INFO("pixel " << x << "," << y);
      CHECK(d < 2.5);
    }
  CHECK(n_blue > 300);
  // ...and the whole curve is drawn: points along each segment have a blue pixel nearby
  for (Eigen::Index k = 0; k + 1 < r.fpr.size(); ++k)
    for (double t = 0.05; t < 1; t += 0.1) {
      const double X = f.px(r.fpr(k) + t * (r.fpr(k + 1) - r.fpr(k))), Y = f.py(r.tpr(k) + t * (r.tpr(k + 1) - r.tpr(k)));
      bool found = false;
      for (int dy = -2; dy <= 2 && !found; ++dy)
        for (int dx = -2; dx <= 2 && !found; ++dx) found = cdist(img.at(static_cast<int>(X) + dx, static_cast<int>(Y) + dy), blue) <= 40;
      INFO("segment " << k << " t " << t);
      CHECK(found);
    }
  // the square frame shows 0..1 (with a hair of margin)
  CHECK(f.xmin < 0);
  CHECK(f.xmax > 1);
  CHECK(std::abs((f.right - f.left) - (f.bottom - f.top)) < 1.0);
}

TEST_CASE("plot: the histogram's observed line is at its value", "[plot]") {
  Scratch tmp;
  pl::HistogramChart h;
  h.values = Vector::LinSpaced(200, 0, 1).array().square().matrix();
  h.observed = 0.8;
  h.p = 0.003;
  const pl::Rendered out = pl::render(one(h), tmp / "h.png");
  const Image img(tmp / "h.png");
  const pl::PanelFrame& f = out.panels[0];
  const pl::RGB red{0xd6 / 255.0, 0x27 / 255.0, 0x28 / 255.0};
  const int y = static_cast<int>((f.top + f.bottom) / 2);
  double sum = 0;
  int n = 0;
  for (int x = 0; x < img.w; ++x)
    if (cdist(img.at(x, y), red) < 30) sum += x + 0.5, ++n;
  REQUIRE(n >= 2);
  CHECK(n <= 5);  // one line, 2 pt wide
  CHECK(std::abs(sum / n - f.px(0.8)) < 1.5);
}

TEST_CASE("plot: bars of each sign are coloured on their side of zero", "[plot]") {
  Scratch tmp;
  pl::BarsChart b;
  b.names = {"Frontal_Sup_Medial_L", "Hippocampus_R", "Amygdala_L"};
  b.values = vec({1.0, -0.6, 0.4});
  b.sign_colours = true;
  b.positive_label = "response";
  b.negative_label = "non-response";
  pl::Axes a;
  a.legend = pl::Legend::Off;
  const pl::Rendered out = pl::render(one(b, a), tmp / "b.png");
  const Image img(tmp / "b.png");
  const pl::PanelFrame& f = out.panels[0];
  const pl::Colormap rdbu = pl::Colormap::get("RdBu_r");
  const pl::RGB pos = rdbu(0.88), neg = rdbu(0.12);
  for (int i = 0; i < 3; ++i) {
    const double v = b.values(i), at = 3.0 - i;  // the first bar on top
    const int y = static_cast<int>(f.py(at));
    const std::uint32_t inside = img.at(static_cast<int>(f.px(v / 2)), y);
    const std::uint32_t mirror = img.at(static_cast<int>(f.px(-v / 2)), y);
    INFO("bar " << i);
    CHECK(cdist(inside, v > 0 ? pos : neg) < 10);
    CHECK(inside != mirror);
    CHECK(mirror == 0xffffff);
  }
}

TEST_CASE("plot: a figure lays panels out in a grid", "[plot]") {
  Scratch tmp;
  pl::Figure f;
  f.rows = 1;
  f.cols = 2;
  f.title = "two";
  pl::HistogramChart h;
  h.values = vec({1, 2, 2, 3, 3, 3});
  pl::ScatterChart s;
  s.x = vec({1, 2, 3, 4});
  s.y = vec({2, 1, 4, 3});
  f.panels = {{h, {}}, {s, {}}};
  const pl::Rendered out = pl::render(f, tmp / "f.png");
  REQUIRE(out.panels.size() == 2);
  CHECK(out.panels[0].right < out.width_px / 2.0);
  CHECK(out.panels[1].left > out.width_px / 2.0);
}

// ---------------------------------------------------------------- files

TEST_CASE("plot: formats, determinism and atomic writes", "[plot]") {
  Scratch tmp;
  pl::BarsChart b;
  b.names = {"Frontal_Sup_Medial_L", "Amygdala_L"};
  b.values = vec({0.5, -0.25});
  pl::Axes a;
  a.title = "Region <weights> & more";
  const pl::Figure f = one(b, a);

  pl::render(f, tmp / "a.png");
  pl::render(f, tmp / "b.png");
  const std::string png = slurp(tmp / "a.png");
  CHECK(png.substr(1, 3) == "PNG");
  CHECK(png == slurp(tmp / "b.png"));

  pl::render(f, tmp / "a.svg");
  const std::string svg = slurp(tmp / "a.svg");
  CHECK(svg.find("<svg") != std::string::npos);
  CHECK(svg.find("<title>Region &lt;weights&gt; &amp; more</title>") != std::string::npos);
  CHECK(svg.find("Frontal_Sup_Medial_L") != std::string::npos);

  pl::render(f, tmp / "a.PDF");
  const std::string pdf = slurp(tmp / "a.PDF");
  CHECK(pdf.substr(0, 5) == "%PDF-");
  CHECK(pdf.find("/CreationDate") == std::string::npos);  // no time stamp: same bytes every time
  pl::render(f, tmp / "b.pdf");
  CHECK(slurp(tmp / "b.pdf") == pdf);

  CHECK_THROWS_WITH(pl::render(f, tmp / "a.jpg"), Catch::Contains("path: cannot tell the format of") &&
                                                      Catch::Contains(".png, .svg or .pdf"));

  // a failed render leaves the old file alone, and no temporary file behind
  {
    std::ofstream(tmp / "keep.png") << "old";
  }
  pl::BarsChart bad = b;
  bad.values(1) = NAN;
  CHECK_THROWS_WITH(pl::render(one(bad), tmp / "keep.png"), Catch::Contains("values: entry 2 is NaN"));
  CHECK(slurp(tmp / "keep.png") == "old");
  CHECK_THROWS_AS(pl::render(f, tmp / "missing/x.png"), nl::FileError);
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp.dir)) files += e.path().filename().string().find(".tmp-") == std::string::npos;
  for (const auto& e : std::filesystem::directory_iterator(tmp.dir)) CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);
  CHECK(files == 6);
}

TEST_CASE("plot: input checks name the argument", "[plot]") {
  Scratch tmp;
  const std::string p = tmp / "x.png";
  pl::BarsChart b;
  b.names = {"a", "b", "c"};
  b.values = vec({1, 2});
  CHECK_THROWS_WITH(pl::render(one(b), p), Catch::Contains("values: length 2 differs from names (3)"));
  pl::HistogramChart h;
  CHECK_THROWS_WITH(pl::render(one(h), p), Catch::Contains("values: no values to plot"));
  pl::ScatterChart s;
  s.x = vec({1, 2, 3});
  s.y = vec({1, INFINITY, 3});
  CHECK_THROWS_WITH(pl::render(one(s), p), Catch::Contains("y: entry 2 is infinite"));
  pl::HeatmapChart m;
  m.M = Matrix::Ones(2, 3);
  m.netmat = true;
  CHECK_THROWS_WITH(pl::render(one(m), p), Catch::Contains("M: a netmat must be square"));
  m.netmat = false;
  m.ordering = pl::Ordering::Given;
  m.order = {1, 1};
  CHECK_THROWS_WITH(pl::render(one(m), p), Catch::Contains("order: not a permutation"));
  pl::Figure big = one(h);
  big.panels.push_back(big.panels[0]);
  CHECK_THROWS_WITH(pl::render(big, p), Catch::Contains("panels: 2 panels do not fit a 1x1 grid"));
  CHECK(!std::filesystem::exists(p));
}

TEST_CASE("box: category names of two lines get a taller bottom margin", "[plot][chart]") {
  Scratch tmp;
  pl::BoxChart b;
  b.hues = {""};
  b.values = {{vec({1.0, 2.0, 3.0})}, {vec({2.0, 3.0, 4.0})}};
  pl::Axes a;
  a.xlabel = "edge";
  b.categories = {"Rolandic_Oper_R", "Insula_L"};
  const pl::PanelFrame one_line = pl::render(one(b, a), tmp / "one.png").panels[0];
  b.categories = {"Rolandic_Oper_R-\nPostcentral_R", "Insula_L"};
  const pl::PanelFrame two_lines = pl::render(one(b, a), tmp / "two.png").panels[0];
  // one more line of 10 pt text at 100 dpi: 1.15 em = 16 px
  CHECK(one_line.bottom - two_lines.bottom > 12);
  CHECK(one_line.bottom - two_lines.bottom < 22);
}

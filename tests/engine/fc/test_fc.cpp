// tests/engine/fc/test_fc.cpp: functional connectivity: motion measures, detrending, nuisance
// regression, band-pass filters, the cleaning pipeline, netmats, Fisher z, the Ward node
// order and seed correlation maps.
//
// References: tests/data/fc/fc.txt from make_fixtures.py (NumPy/SciPy implementations of
// nilearn's Butterworth filter, FSLNets' netmat and hierarchy formulas, Power's FD).
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/fc/fc.hpp"
#include "nl/image/image.hpp"

namespace {

using nl::Matrix;
using nl::Vector;
using Index = Eigen::Index;

const std::string fc_dir = std::string(NL_TEST_DATA) + "/fc/";

std::map<std::string, Matrix> read_matrices(const std::string& path) {
  std::map<std::string, Matrix> out;
  std::ifstream in(path);
  REQUIRE(in.good());
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    std::string name;
    Index r = 0, c = 0;
    ss >> name >> r >> c;
    Matrix m(r, c);
    for (Index i = 0; i < r; ++i)
      for (Index j = 0; j < c; ++j) {
        std::string tok;
        ss >> tok;
        m(i, j) = std::stod(tok);
      }
    out[name] = m;
  }
  return out;
}

const std::map<std::string, Matrix>& ref() {
  static const auto m = read_matrices(fc_dir + "fc.txt");
  return m;
}
const std::map<std::string, Matrix>& input() {
  static const auto m = read_matrices(fc_dir + "inputs.txt");
  return m;
}
const Matrix& R(const std::string& k) { return ref().at(k); }
const Matrix& I(const std::string& k) { return input().at(k); }

// max |a - b| relative to max(1, max |b|); NaN must match NaN.
double rel_diff(const Matrix& a, const Matrix& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  double scale = 1.0, d = 0.0;
  for (Index i = 0; i < b.size(); ++i)
    if (!std::isnan(b.data()[i])) scale = std::max(scale, std::abs(b.data()[i]));
  for (Index i = 0; i < b.size(); ++i) {
    const double x = a.data()[i], y = b.data()[i];
    if (std::isnan(x) || std::isnan(y)) {
      if (std::isnan(x) != std::isnan(y)) return std::numeric_limits<double>::infinity();
      continue;
    }
    d = std::max(d, std::abs(x - y));
  }
  return d / scale;
}

Matrix as_row(const Vector& v) { return v.transpose(); }
Matrix mask_row(const nl::fc::FrameMask& m) {
  Matrix out(1, static_cast<Index>(m.size()));
  for (std::size_t i = 0; i < m.size(); ++i) out(0, static_cast<Index>(i)) = m[i];
  return out;
}

template <class F>
std::string value_error(F&& f) {
  try {
    f();
  } catch (const nl::ValueError& e) {
    return e.what();
  }
  FAIL("expected a ValueError");
  return {};
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

// ---------------------------------------------------------------- motion

TEST_CASE("Friston 24, framewise displacement and scrubbing match NumPy", "[fc]") {
  const Matrix& motion = I("motion");
  CHECK(rel_diff(nl::fc::friston24(motion), R("friston24")) < 1e-15);
  const Vector fd = nl::fc::framewise_displacement(motion);
  CHECK(fd(0) == 0.0);
  CHECK(rel_diff(as_row(fd), R("fd")) < 1e-14);
  CHECK(mask_row(nl::fc::scrub_mask(fd, 0.5, 1, 1)) == R("scrub_1_1"));
  CHECK(mask_row(nl::fc::scrub_mask(fd, 0.5, 1, 2)) == R("scrub_1_2"));
  // The fixture's jumps at frames 40 and 90 (0-based) flag 39-41 and 89-91.
  const auto keep = nl::fc::scrub_mask(fd, 0.5, 1, 1);
  for (int t : {39, 40, 41, 89, 90, 91}) CHECK(keep[static_cast<std::size_t>(t)] == 0);
  CHECK(std::count(keep.begin(), keep.end(), 0) == 6);

  const auto names = nl::fc::friston24_names();
  REQUIRE(names.size() == 24);
  CHECK(names[0] == "trans_x");
  CHECK(names[11] == "rot_z_power2");
  CHECK(names[12] == "trans_x_derivative1");
  CHECK(names[23] == "rot_z_derivative1_power2");
}

TEST_CASE("motion summary: mean FD, maxima and exclusion flags", "[fc]") {
  nl::fc::MotionOptions o;
  const auto s = nl::fc::motion_summary(I("motion"), o);
  const Matrix& want = R("motion_summary");
  CHECK(s.mean_fd == Approx(want(0, 0)).epsilon(1e-14));
  CHECK(s.max_fd == Approx(want(0, 1)).epsilon(1e-14));
  CHECK(s.max_translation == Approx(want(0, 2)).epsilon(1e-14));
  CHECK(s.max_rotation == Approx(want(0, 3)).epsilon(1e-14));
  CHECK_FALSE(s.exclude);  // 1.11 mm and 0.71 degrees are inside 2 mm / 2 degrees
  CHECK(s.n_scrubbed == 6);
  o.max_translation = 1.0;
  CHECK(nl::fc::motion_summary(I("motion"), o).exclude);
  o.max_translation = 2.0;
  o.max_rotation = 0.5;
  CHECK(nl::fc::motion_summary(I("motion"), o).exclude);
  o.fd_threshold = std::numeric_limits<double>::quiet_NaN();
  CHECK(nl::fc::motion_summary(I("motion"), o).n_scrubbed == 0);
}

TEST_CASE("FSL and AFNI motion files give the same canonical motion as SPM's", "[fc]") {
  const Matrix spm = nl::fc::canonical_motion(I("motion"), nl::fc::MotionFormat::Spm);
  const Matrix fsl = nl::fc::canonical_motion(I("motion_fsl"), nl::fc::MotionFormat::Fsl);
  const Matrix afni = nl::fc::canonical_motion(I("motion_afni"), nl::fc::MotionFormat::Afni);
  CHECK(rel_diff(fsl, spm) == 0.0);
  CHECK(rel_diff(afni, spm) < 1e-15);
  CHECK(rel_diff(as_row(nl::fc::framewise_displacement(afni)), R("fd")) < 1e-13);
  CHECK(contains(value_error([] { nl::fc::canonical_motion(Matrix::Zero(5, 3), nl::fc::MotionFormat::Spm); }),
                 "6 columns, got 3"));
}

// ---------------------------------------------------------------- detrending and regression

TEST_CASE("polynomial detrending matches lstsq and scipy.signal.detrend", "[fc]") {
  const Matrix& Y = I("Y");
  CHECK(rel_diff(nl::fc::detrend(Y, 1), R("detrend_1")) < 1e-12);
  CHECK(rel_diff(nl::fc::detrend(Y, 2), R("detrend_2")) < 1e-12);
  CHECK(rel_diff(nl::fc::detrend(Y, 1), R("detrend_1_scipy")) < 1e-12);
  const Matrix B = nl::fc::polynomial_basis(50, 3);
  CHECK((B.transpose() * B - Matrix::Identity(4, 4)).cwiseAbs().maxCoeff() < 1e-14);
  CHECK(contains(value_error([] { nl::fc::polynomial_basis(3, 3); }), "needs more than 3 frames"));
}

TEST_CASE("residualize handles a rank-deficient design as lstsq does", "[fc]") {
  const Matrix& Y = I("Y");
  Matrix D(Y.rows(), 3);
  D.col(0).setOnes();
  D.col(1) = I("confounds").col(0);
  D.col(2) = 2.0 * D.col(1);  // collinear
  Matrix D2 = D.leftCols(2);
  CHECK(rel_diff(nl::fc::residualize(Y, D), nl::fc::residualize(Y, D2)) < 1e-12);
  // Residuals are orthogonal to the design.
  CHECK((D2.transpose() * nl::fc::residualize(Y, D)).cwiseAbs().maxCoeff() < 1e-9);
}

// ---------------------------------------------------------------- band-pass

TEST_CASE("Butterworth second-order sections equal scipy.signal.butter", "[fc][bandpass]") {
  nl::fc::BandPassOptions o;
  o.tr = 2.0;
  CHECK(rel_diff(nl::fc::butterworth_sos(o), R("sos_band")) < 1e-14);
  o.tr = 0.7;
  CHECK(rel_diff(nl::fc::butterworth_sos(o), R("sos_band_tr07")) < 1e-14);
  o.tr = 2.0;
  o.high = 0;
  CHECK(rel_diff(nl::fc::butterworth_sos(o), R("sos_high")) < 1e-14);
  o.high = 0.1;
  o.low = 0;
  CHECK(rel_diff(nl::fc::butterworth_sos(o), R("sos_low")) < 1e-14);
  o.low = 0.01;
  o.order = 3;
  CHECK(rel_diff(nl::fc::butterworth_sos(o), R("sos_band_order3")) < 1e-14);
}

TEST_CASE("Butterworth band-pass equals nilearn's (sosfiltfilt, odd padding)", "[fc][bandpass]") {
  const Matrix Yd = nl::fc::detrend(I("Y"), 1);
  nl::fc::BandPassOptions o;
  o.tr = 2.0;
  CHECK(rel_diff(nl::fc::bandpass(Yd, o), R("butter_band")) < 1e-10);
  o.tr = 0.7;
  CHECK(rel_diff(nl::fc::bandpass(Yd, o), R("butter_band_tr07")) < 1e-10);
  o.tr = 2.0;
  o.high = 0;
  CHECK(rel_diff(nl::fc::bandpass(Yd, o), R("butter_high")) < 1e-10);
  o.high = 0.1;
  o.low = 0;
  CHECK(rel_diff(nl::fc::bandpass(Yd, o), R("butter_low")) < 1e-10);
  o.low = 0.01;
  o.order = 3;
  CHECK(rel_diff(nl::fc::bandpass(Yd, o), R("butter_band_order3")) < 1e-10);
}

TEST_CASE("the ideal FFT filter equals numpy's masked rfft", "[fc][bandpass]") {
  const Matrix Yd = nl::fc::detrend(I("Y"), 1);
  nl::fc::BandPassOptions o;
  o.tr = 2.0;
  o.kind = nl::fc::FilterKind::Fft;
  CHECK(rel_diff(nl::fc::bandpass(Yd, o), R("fft_band")) < 1e-12);
  CHECK(rel_diff(nl::fc::bandpass(Yd.topRows(119), o), R("fft_band_odd")) < 1e-12);
  // 120 frames take Armadillo's FFT; 119 (7 x 17) and 113 (prime) the projection onto
  // the kept Fourier modes, faster at such lengths.
  CHECK(rel_diff(nl::fc::bandpass(Yd.topRows(113), o), R("fft_band_prime")) < 1e-12);
  // Idempotent: a projection.
  const Matrix once = nl::fc::bandpass(Yd, o);
  CHECK(rel_diff(nl::fc::bandpass(once, o), once) < 1e-12);
}

// The definition, numpy.fft.irfft(mask * rfft(y)), by a direct DFT in long double: an
// independent reference for the lengths the NumPy fixtures do not cover.
Matrix ideal_reference(const Matrix& Y, double tr, double low, double high) {
  const Index n = Y.rows();
  std::vector<long double> c(static_cast<std::size_t>(n)), s(static_cast<std::size_t>(n));
  const long double pi = 3.141592653589793238462643383279502884L;
  for (Index t = 0; t < n; ++t) {
    c[static_cast<std::size_t>(t)] = std::cos(2 * pi * static_cast<long double>(t) / static_cast<long double>(n));
    s[static_cast<std::size_t>(t)] = std::sin(2 * pi * static_cast<long double>(t) / static_cast<long double>(n));
  }
  Matrix out = Matrix::Zero(n, Y.cols());
  for (Index j = 0; j < Y.cols(); ++j)
    for (Index k = 0; k <= n / 2; ++k) {
      const double f = static_cast<double>(k) / (static_cast<double>(n) * tr);
      if (!(f >= low && f <= high)) continue;
      long double re = 0, im = 0;
      for (Index t = 0; t < n; ++t) {
        const auto i = static_cast<std::size_t>((k * t) % n);
        re += Y(t, j) * c[i];
        im -= Y(t, j) * s[i];
      }
      const long double w = (k == 0 || 2 * k == n) ? 1.0L : 2.0L;  // the mirror bin n - k
      for (Index t = 0; t < n; ++t) {
        const auto i = static_cast<std::size_t>((k * t) % n);
        out(t, j) += static_cast<double>(w * (re * c[i] - im * s[i]) / static_cast<long double>(n));
      }
    }
  return out;
}

// Long runs take the FFT at every length: 1200 (2^4 3 5^2) and 1196 (4 x 13 x 23) with
// KISS FFT's butterflies, 1201 (prime) with Bluestein's algorithm; 241 (prime) and 237
// (3 x 79) the projection.
TEST_CASE("the FFT filter equals the DFT definition at long and awkward lengths", "[fc][bandpass]") {
  nl::fc::BandPassOptions o;
  o.tr = 0.72;
  o.kind = nl::fc::FilterKind::Fft;
  nl::Rng rng(3);
  for (const Index n : {Index{1200}, Index{1196}, Index{1201}, Index{241}, Index{237}}) {
    INFO("frames " << n);
    Matrix Y(n, 3);
    for (Index i = 0; i < Y.size(); ++i) Y.data()[i] = rng.normal();
    CHECK(rel_diff(nl::fc::bandpass(Y, o), ideal_reference(Y, o.tr, o.low, o.high)) < 1e-12);
  }
}

// The FFT filter transforms two columns at once (x + i y); each column must come out as
// if filtered alone, whatever its scale or its partner's, and a NaN must stay in its
// column. The reference is the filter of each column on its own (an odd column count
// leaves the last one unpaired). 120 frames: KISS FFT; 1201: Bluestein.
TEST_CASE("the FFT filter treats each column on its own", "[fc][bandpass]") {
  nl::fc::BandPassOptions o;
  o.tr = 2.0;
  o.kind = nl::fc::FilterKind::Fft;
  nl::Rng rng(5);
  for (const Index n : {Index{120}, Index{1201}}) {
    Matrix Y(n, 5);
    for (Index i = 0; i < Y.size(); ++i) Y.data()[i] = rng.normal();
    Y.col(1) *= 1e-9;  // paired with column 0 (scale about 1)
    Y.col(2) *= 1e9;
    const Matrix all = nl::fc::bandpass(Y, o);
    for (Index j = 0; j < Y.cols(); ++j) {
      INFO("frames " << n << ", column " << j);
      CHECK(rel_diff(all.col(j) / Y.col(j).cwiseAbs().maxCoeff(),
                     nl::fc::bandpass(Matrix(Y.col(j)), o) / Y.col(j).cwiseAbs().maxCoeff()) < 1e-14);
    }
    Matrix Ynan = Y;
    Ynan(5, 3) = std::numeric_limits<double>::quiet_NaN();
    const Matrix f = nl::fc::bandpass(Ynan, o);
    for (Index j = 0; j < Y.cols(); ++j) CHECK(f.col(j).array().isNaN().any() == (j == 3));
  }
}

TEST_CASE("band-pass options are checked", "[fc][bandpass]") {
  const Matrix Y = Matrix::Random(100, 2);
  nl::fc::BandPassOptions o;
  CHECK(contains(value_error([&] { nl::fc::bandpass(Y, o); }), "option 'tr' must be positive"));
  o.tr = 6.0;  // Nyquist 0.083 Hz
  CHECK(contains(value_error([&] { nl::fc::bandpass(Y, o); }), "option 'high' (0.1 Hz) is at or above the Nyquist"));
  o.tr = 2.0;
  o.low = 0.2;
  CHECK(contains(value_error([&] { nl::fc::bandpass(Y, o); }), "must be below 'high'"));
  o.low = 0.01;
  CHECK(contains(value_error([&] { nl::fc::bandpass(Matrix::Random(33, 2), o); }),
                 "needs more than 33 frames (its padding), got 33"));
  CHECK_NOTHROW(nl::fc::bandpass(Matrix::Random(34, 2), o));
}

// ---------------------------------------------------------------- pipeline

TEST_CASE("the cleaning pipeline equals the documented NumPy steps", "[fc][clean]") {
  nl::fc::CleanOptions o;
  o.discard = 5;
  o.detrend = 2;
  nl::fc::BandPassOptions bp;
  bp.tr = 2.0;
  o.bandpass = bp;
  o.scrub = true;
  const auto res = nl::fc::clean(I("Y"), I("motion"), I("confounds"), o);
  CHECK(mask_row(res.kept) == R("clean_kept"));
  CHECK(rel_diff(res.signals, R("clean_signals")) < 1e-10);
  CHECK(res.design.cols() == 3 + 24 + 3);
  REQUIRE(res.motion);
  CHECK(res.motion->fd(0) == 0.0);  // FD restarts after the discarded frames
  CHECK(res.motion->n_scrubbed == 6);
}

TEST_CASE("clean checks its inputs and names them", "[fc][clean]") {
  const Matrix Y = Matrix::Random(50, 3);
  nl::fc::CleanOptions o;
  CHECK(contains(value_error([&] { nl::fc::clean(Y, Matrix::Zero(40, 6), Matrix(), o); }), "motion has 40 rows"));
  CHECK(contains(value_error([&] { nl::fc::clean(Y, Matrix(), Matrix::Zero(49, 2), o); }), "confounds have 49 rows"));
  o.scrub = true;
  CHECK(contains(value_error([&] { nl::fc::clean(Y, Matrix(), Matrix(), o); }), "scrubbing needs the motion"));
  o.scrub = false;
  o.discard = 50;
  CHECK(contains(value_error([&] { nl::fc::clean(Y, Matrix(), Matrix(), o); }), "cannot discard 50 of 50"));
  o.discard = 24;
  CHECK(contains(value_error([&] { nl::fc::clean(Y, Matrix::Random(50, 6), Matrix(), o); }),
                 "26 frames left after discarding, but 26 nuisance regressors"));
  // Without any regressor the signals pass through unchanged.
  o.discard = 0;
  o.detrend = -1;
  CHECK(nl::fc::clean(Y, Matrix(), Matrix(), o).signals == Y);
}

// ---------------------------------------------------------------- netmats

TEST_CASE("netmats equal FSLNets' corr and ridgep formulas", "[fc][netmat]") {
  const Matrix& ts = I("ts_1_1");
  CHECK(rel_diff(nl::fc::netmat(ts, nl::fc::NetmatMethod::Corr), R("netmat_corr")) < 1e-12);
  CHECK(rel_diff(nl::fc::netmat(ts, nl::fc::NetmatMethod::RidgeP, 0.1), R("netmat_ridgep")) < 1e-12);
  CHECK(rel_diff(nl::fc::netmat(ts, nl::fc::NetmatMethod::RidgeP, 1.0), R("netmat_ridgep_rho1")) < 1e-12);
  CHECK(rel_diff(nl::fc::fisher_z(R("fisher_z_in")), R("fisher_z_out")) < 1e-13);
  CHECK(std::isfinite(nl::fc::fisher_z(Matrix::Ones(1, 1))(0, 0)));
  CHECK(nl::fc::fisher_z(Matrix::Ones(1, 1))(0, 0) == Approx(std::atanh(nl::fc::kMaxAbsR)));
}

TEST_CASE("subjects x edges: z per run, averaged over runs, upper triangle", "[fc][netmat]") {
  std::vector<std::vector<const Matrix*>> runs(3);
  const int nruns[] = {2, 1, 3};
  for (int s = 0; s < 3; ++s)
    for (int r = 0; r < nruns[s]; ++r)
      runs[static_cast<std::size_t>(s)].push_back(&I("ts_" + std::to_string(s + 1) + "_" + std::to_string(r + 1)));
  nl::fc::NetmatsOptions o;
  CHECK(rel_diff(nl::fc::netmats(runs, o), R("netmats_corr_z")) < 1e-12);
  o.z = false;
  CHECK(rel_diff(nl::fc::netmats(runs, o), R("netmats_corr_r")) < 1e-12);
  o.method = nl::fc::NetmatMethod::RidgeP;
  CHECK(rel_diff(nl::fc::netmats(runs, o), R("netmats_ridgep_r")) < 1e-12);
  o.z = true;
  CHECK(rel_diff(nl::fc::netmats(runs, o), R("netmats_ridgep_z")) < 1e-12);

  const Matrix bad = Matrix::Random(100, 5);
  runs[1].push_back(&bad);
  CHECK(contains(value_error([&] { nl::fc::netmats(runs, o); }), "subject 2 run 2 has 5 nodes, subject 1 run 1 has 8"));
}

TEST_CASE("edge vectors, labels and their inverse", "[fc][netmat]") {
  Matrix m(3, 3);
  m << 0, 1, 2, 1, 0, 3, 2, 3, 0;
  const Vector e = nl::fc::upper_triangle(m);
  REQUIRE(e.size() == 3);
  CHECK(e(0) == 1);
  CHECK(e(1) == 2);
  CHECK(e(2) == 3);
  CHECK(nl::fc::from_upper_triangle(e, 3) == m);
  const auto labels = nl::fc::edge_labels({"A", "B", "C"});
  REQUIRE(labels.size() == 3);
  CHECK(labels[0] == "A--B");
  CHECK(labels[1] == "A--C");
  CHECK(labels[2] == "B--C");
  CHECK(contains(value_error([&] { nl::fc::from_upper_triangle(e, 4); }), "3 edges do not fill"));
}

// ---------------------------------------------------------------- hierarchy

TEST_CASE("Ward linkage and leaf order equal SciPy's", "[fc][hierarchy]") {
  for (int i = 1; i <= 3; ++i) {
    const Matrix& y = I("ward_y_" + std::to_string(i));
    const Vector yv = y.row(0).transpose();
    const auto n = static_cast<Index>(std::lround((1 + std::sqrt(1 + 8.0 * static_cast<double>(yv.size()))) / 2));
    for (int opt = 0; opt <= 1; ++opt) {
      INFO("case " << i << " optimal ordering " << opt);
      const auto h = nl::fc::ward_linkage(yv, n, opt == 1);
      CHECK(rel_diff(h.linkage, R("ward_" + std::to_string(i) + "_" + std::to_string(opt))) < 1e-12);
      Matrix order(1, n);
      for (Index k = 0; k < n; ++k) order(0, k) = static_cast<double>(h.order[static_cast<std::size_t>(k)]);
      CHECK(order == R("ward_order_" + std::to_string(i) + "_" + std::to_string(opt)));
    }
  }
}

TEST_CASE("FSLNets' hierarchical node order equals SciPy's on group netmats", "[fc][hierarchy]") {
  for (int i = 1; i <= 20; ++i) {
    const std::string k = std::to_string(i);
    INFO("netmat " << k);
    const auto h = nl::fc::hierarchy(I("hier_" + k));
    const Index n = I("hier_" + k).rows();
    Matrix order(1, n);
    for (Index j = 0; j < n; ++j) order(0, j) = static_cast<double>(h.order[static_cast<std::size_t>(j)]);
    CHECK(order == R("hier_order_" + k));
    CHECK(rel_diff(h.linkage, R("hier_linkage_" + k)) < 1e-12);
  }
  CHECK(contains(value_error([] { nl::fc::hierarchy(-Matrix::Ones(4, 4)); }), "nothing to cluster on"));
  CHECK(contains(value_error([] { nl::fc::hierarchy(Matrix::Ones(3, 4)); }), "square netmat"));
}

// ---------------------------------------------------------------- seed maps

TEST_CASE("seed correlation equals numpy.corrcoef, constant voxels are NaN", "[fc][seed]") {
  const Vector seed = I("seed").row(0).transpose();
  const Matrix& Y = I("seed_data");
  CHECK(rel_diff(as_row(nl::fc::seed_correlation(seed, Y, false)), R("seed_r")) < 1e-12);
  CHECK(rel_diff(as_row(nl::fc::seed_correlation(seed, Y, true)), R("seed_z")) < 1e-12);
  CHECK(std::isnan(nl::fc::seed_correlation(seed, Y, true)(7)));
  CHECK(contains(value_error([&] { nl::fc::seed_correlation(seed.head(10), Y, true); }), "the seed has 10 frames"));
  CHECK(contains(value_error([&] { nl::fc::seed_correlation(Vector::Ones(60), Y, true); }), "seed time series is constant"));
}

TEST_CASE("seed_map streams a 4-D volume and paints the mask", "[fc][seed]") {
  const Vector seed = I("seed").row(0).transpose();
  const Matrix& Y = I("seed_data");  // 60 frames x 40 voxels
  const Index nf = Y.rows(), nv = Y.cols();
  nl::Grid grid = nl::make_grid({5, 4, 3}, nl::Affine::Identity());
  nl::Volume v(grid, nf, true);
  nl::Volume mask(grid, 1);
  // Voxels 0, 1, 3, 4, 6, ... (40 of the 60) carry the data; the rest stay 0.
  std::vector<std::size_t> where;
  for (std::size_t i = 0; where.size() < static_cast<std::size_t>(nv); ++i)
    if (i % 3 != 2) where.push_back(i);
  for (std::size_t c = 0; c < where.size(); ++c) {
    mask.data()[where[c]] = 1.0f;
    for (Index t = 0; t < nf; ++t) v.frame_data(t)[where[c]] = static_cast<float>(Y(t, static_cast<Index>(c)));
  }
  // The reference: the matrix path on the same float32 values.
  const Matrix Yf = Y.cast<float>().cast<double>();
  const Vector want = nl::fc::seed_correlation(seed, Yf, true);
  const nl::Volume map = nl::fc::seed_map(seed, v, mask, true, -5.0);
  CHECK(map.frames() == 1);
  for (std::size_t c = 0; c < where.size(); ++c) {
    const double got = map.data()[where[c]], w = want(static_cast<Index>(c));
    if (std::isnan(w)) CHECK(std::isnan(got));
    else CHECK(got == Approx(w).margin(1e-6));
  }
  CHECK(map.data()[2] == -5.0f);
  // The matrix from nl::timeseries painted back gives the same map.
  const Vector z = nl::fc::seed_correlation(seed, nl::timeseries(v, mask), true);
  const nl::Volume painted = nl::fc::paint_mask(z, mask, -5.0);
  for (std::size_t i = 0; i < painted.voxels(); ++i) {
    if (std::isnan(map.data()[i])) CHECK(std::isnan(painted.data()[i]));
    else CHECK(painted.data()[i] == Approx(map.data()[i]).margin(1e-6));
  }
  CHECK(contains(value_error([&] { nl::fc::paint_mask(z.head(3), mask); }), "3 values for a mask of 40 voxels"));
}

TEST_CASE("mask means of a 4-D volume", "[fc]") {
  nl::Grid grid = nl::make_grid({4, 4, 2}, nl::Affine::Identity());
  nl::Volume v(grid, 3, true);
  for (Index t = 0; t < 3; ++t)
    for (std::size_t i = 0; i < v.voxels(); ++i) v.frame_data(t)[i] = static_cast<float>(i + 100 * t);
  nl::Volume a(grid, 1), b(grid, 1);
  a.data()[0] = a.data()[5] = 1;
  b.data()[31] = 2;
  const Matrix m = nl::fc::mask_means(v, {&a, &b});
  REQUIRE(m.rows() == 3);
  REQUIRE(m.cols() == 2);
  CHECK(m(0, 0) == 2.5);
  CHECK(m(2, 0) == 202.5);
  CHECK(m(1, 1) == 131.0);
  nl::Volume empty(grid, 1);
  CHECK(contains(value_error([&] { nl::fc::mask_means(v, {&a, &empty}); }), "mask 2 has no non-zero voxel"));
  nl::Volume other(nl::make_grid({4, 4, 3}, nl::Affine::Identity()), 1);
  CHECK(contains(value_error([&] { nl::fc::mask_means(v, {&other}); }), "mask 1 is on a different grid"));
}

// Issue 20, item 4: ridgep on a constant node gave a silent row of zeros; it raises as
// corr does.
TEST_CASE("netmat refuses a constant node with either method", "[fc][netmat]") {
  Matrix ts(50, 4);
  nl::Rng rng(2);
  for (Eigen::Index j = 0; j < 4; ++j)
    for (Eigen::Index i = 0; i < 50; ++i) ts(i, j) = rng.normal();
  ts.col(2).setConstant(1.0);
  CHECK(contains(value_error([&] { nl::fc::netmat(ts, nl::fc::NetmatMethod::Corr, 0.1); }),
                 "node 3 has a constant time series (no correlation"));
  CHECK(contains(value_error([&] { nl::fc::netmat(ts, nl::fc::NetmatMethod::RidgeP, 0.1); }),
                 "node 3 has a constant time series (no partial correlation"));
}

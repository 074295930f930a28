// fc/filter.cpp: band-pass filtering of time series.
//
// Butterworth: a port of the design path scipy.signal.butter(N, Wn, btype,
// output = "sos") takes (buttap, lp2bp_zpk / lp2lp_zpk / lp2hp_zpk, bilinear_zpk with
// fs = 2 and pre-warping, zpk2sos with "nearest" pairing), followed by
// scipy.signal.sosfiltfilt (odd extension, steady-state initial conditions from
// sosfilt_zi, a forward and a backward pass of sosfilt). nilearn.signal.butterworth
// calls exactly these with order 5 and padtype "odd". Complex division follows NumPy's
// algorithm (Smith's method with a reciprocal), so the coefficients agree with SciPy's
// to the last bits; the filtered signals agree to about 1e-13 (tests/data/fc).
//
// FFT: the ideal filter, numpy.fft.irfft of the masked rfft, by Armadillo's FFT for
// lengths it transforms fast, else as the projection onto the real Fourier modes kept
// (see the FFT section below); agrees with NumPy to about 1e-15 (tests/data/fc).
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <complex>
#include <numbers>
#include <vector>

#include "core/arma_view.hpp"
#include "nl/core/core.hpp"
#include "nl/fc/fc.hpp"

namespace nl::fc {

namespace {

using cplx = std::complex<double>;
constexpr double kPi = std::numbers::pi;

// ---------------------------------------------------------------- NumPy-faithful arithmetic

// NumPy's complex division (loops.c.src: Smith's method with 1 / denominator).
cplx np_div(cplx a, cplx b) {
  const double ar = a.real(), ai = a.imag(), br = b.real(), bi = b.imag();
  if (std::abs(br) >= std::abs(bi)) {
    const double rat = bi / br;
    const double scl = 1.0 / (br + bi * rat);
    return {(ar + ai * rat) * scl, (ai - ar * rat) * scl};
  }
  const double rat = br / bi;
  const double scl = 1.0 / (bi + br * rat);
  return {(ar * rat + ai) * scl, (ai * rat - ar) * scl};
}

// Textbook complex product (what NumPy computes; std::complex may take another path
// for infinities, which never occur here).
cplx np_mul(cplx a, cplx b) {
  return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
}

cplx np_prod(const std::vector<cplx>& v) {
  cplx p(1.0, 0.0);
  for (const cplx& x : v) p = np_mul(p, x);
  return p;
}

struct Zpk {
  std::vector<cplx> z, p;
  double k = 1.0;
};

// ---------------------------------------------------------------- analog prototype and transforms

Zpk buttap(int N) {
  Zpk f;
  for (int m = -N + 1; m < N; m += 2) {
    // -exp(1j * pi * m / (2 N)), the division done as NumPy divides a complex number.
    const cplx arg = np_div(cplx(0.0, kPi * m), cplx(2.0 * N, 0.0));
    f.p.push_back(-std::exp(arg));
  }
  return f;
}

Zpk lp2lp(const Zpk& f, double wo) {
  Zpk g;
  for (const cplx& z : f.z) g.z.push_back(np_mul(cplx(wo, 0), z));
  for (const cplx& p : f.p) g.p.push_back(np_mul(cplx(wo, 0), p));
  const auto degree = static_cast<double>(f.p.size() - f.z.size());
  g.k = f.k * std::pow(wo, degree);
  return g;
}

Zpk lp2hp(const Zpk& f, double wo) {
  Zpk g;
  for (const cplx& z : f.z) g.z.push_back(np_div(cplx(wo, 0), z));
  for (const cplx& p : f.p) g.p.push_back(np_div(cplx(wo, 0), p));
  const std::size_t degree = f.p.size() - f.z.size();
  for (std::size_t i = 0; i < degree; ++i) g.z.emplace_back(0.0, 0.0);
  std::vector<cplx> mz, mp;
  for (const cplx& z : f.z) mz.push_back(-z);
  for (const cplx& p : f.p) mp.push_back(-p);
  g.k = f.k * np_div(np_prod(mz), np_prod(mp)).real();
  return g;
}

Zpk lp2bp(const Zpk& f, double wo, double bw) {
  Zpk g;
  const std::size_t degree = f.p.size() - f.z.size();
  auto shift = [&](const std::vector<cplx>& in, std::vector<cplx>& out) {
    std::vector<cplx> lp, root;
    for (const cplx& x : in) {
      const cplx s = cplx((x.real() * bw) / 2.0, (x.imag() * bw) / 2.0);
      lp.push_back(s);
      const cplx sq = np_mul(s, s);
      root.push_back(std::sqrt(cplx(sq.real() - wo * wo, sq.imag())));
    }
    for (std::size_t i = 0; i < lp.size(); ++i) out.push_back(lp[i] + root[i]);
    for (std::size_t i = 0; i < lp.size(); ++i) out.push_back(lp[i] - root[i]);
  };
  shift(f.z, g.z);
  shift(f.p, g.p);
  for (std::size_t i = 0; i < degree; ++i) g.z.emplace_back(0.0, 0.0);
  g.k = f.k * std::pow(bw, static_cast<double>(degree));
  return g;
}

Zpk bilinear(const Zpk& f, double fs) {
  Zpk g;
  const double fs2 = 2.0 * fs;
  const std::size_t degree = f.p.size() - f.z.size();
  std::vector<cplx> nz, np;
  for (const cplx& z : f.z) {
    g.z.push_back(np_div(cplx(fs2 + z.real(), 0.0 + z.imag()), cplx(fs2 - z.real(), 0.0 - z.imag())));
    nz.emplace_back(fs2 - z.real(), 0.0 - z.imag());
  }
  for (const cplx& p : f.p) {
    g.p.push_back(np_div(cplx(fs2 + p.real(), 0.0 + p.imag()), cplx(fs2 - p.real(), 0.0 - p.imag())));
    np.emplace_back(fs2 - p.real(), 0.0 - p.imag());
  }
  for (std::size_t i = 0; i < degree; ++i) g.z.emplace_back(-1.0, 0.0);
  g.k = f.k * np_div(np_prod(nz), np_prod(np)).real();
  return g;
}

// ---------------------------------------------------------------- zpk2sos ("nearest")

bool is_real(cplx x) { return x.imag() == 0.0; }

// scipy.signal._filter_design._cplxreal: one of each conjugate pair (positive
// imaginary part, averaged with its partner), sorted by real part, then the reals.
std::vector<cplx> cplxreal(std::vector<cplx> z) {
  if (z.empty()) return z;
  const double tol = 100 * std::numeric_limits<double>::epsilon();
  std::stable_sort(z.begin(), z.end(), [](cplx a, cplx b) {
    if (a.real() != b.real()) return a.real() < b.real();
    return std::abs(a.imag()) < std::abs(b.imag());
  });
  std::vector<cplx> zr, zp, zn;
  for (const cplx& x : z) {
    if (std::abs(x.imag()) <= tol * std::abs(x)) zr.emplace_back(x.real(), 0.0);
    else if (x.imag() > 0) zp.push_back(x);
    else zn.push_back(x);
  }
  if (zp.size() != zn.size()) throw ValueError("butterworth: a complex root has no conjugate");
  // Runs of (nearly) equal real parts are sorted by |imag|.
  std::size_t i = 0;
  while (i < zp.size()) {
    std::size_t j = i + 1;
    while (j < zp.size() && zp[j].real() - zp[j - 1].real() <= tol * std::abs(zp[j - 1])) ++j;
    auto by_imag = [](cplx a, cplx b) { return std::abs(a.imag()) < std::abs(b.imag()); };
    std::stable_sort(zp.begin() + static_cast<std::ptrdiff_t>(i), zp.begin() + static_cast<std::ptrdiff_t>(j), by_imag);
    std::stable_sort(zn.begin() + static_cast<std::ptrdiff_t>(i), zn.begin() + static_cast<std::ptrdiff_t>(j), by_imag);
    i = j;
  }
  std::vector<cplx> out;
  for (std::size_t k = 0; k < zp.size(); ++k) {
    const cplx c = zp[k] + std::conj(zn[k]);
    out.emplace_back(c.real() / 2.0, c.imag() / 2.0);
  }
  out.insert(out.end(), zr.begin(), zr.end());
  return out;
}

// Index of the element of `from` nearest to `to` among all, the real or the complex
// ones (ties: the first).
std::size_t nearest(const std::vector<cplx>& from, cplx to, int which /*0 any, 1 real, 2 complex*/) {
  std::size_t best = from.size();
  double bd = 0;
  for (std::size_t i = 0; i < from.size(); ++i) {
    if (which == 1 && !is_real(from[i])) continue;
    if (which == 2 && is_real(from[i])) continue;
    const double d = std::abs(from[i] - to);
    if (best == from.size() || d < bd) best = i, bd = d;
  }
  if (best == from.size()) throw ValueError("butterworth: no zero left to pair");
  return best;
}

// The pole nearest the unit circle (the "worst").
std::size_t worst(const std::vector<cplx>& p, const std::vector<std::size_t>& among) {
  std::size_t best = among.front();
  for (std::size_t i : among)
    if (std::abs(1.0 - std::abs(p[i])) < std::abs(1.0 - std::abs(p[best]))) best = i;
  return best;
}

// Coefficients of prod (x - r_i) for up to two roots, as real numbers (conjugate pairs
// or reals).
std::array<double, 3> poly2(const std::vector<cplx>& r) {
  if (r.empty()) return {1.0, 0.0, 0.0};
  if (r.size() == 1) return {1.0, -r[0].real(), 0.0};
  const cplx s = -r[0] + -r[1];
  const cplx p = np_mul(-r[0], -r[1]);
  return {1.0, s.real(), p.real()};
}

void put_section(Matrix& sos, Index row, const std::vector<cplx>& z, const std::vector<cplx>& p) {
  // _single_zpksos right-aligns shorter polynomials: [z1] gives b = (0, 1, -z1).
  auto place = [&](const std::vector<cplx>& r, Index c0) {
    const auto c = poly2(r);
    const Index len = static_cast<Index>(r.size()) + 1;
    for (Index j = 0; j < 3; ++j) sos(row, c0 + j) = 0.0;
    for (Index j = 0; j < len; ++j) sos(row, c0 + 3 - len + j) = c[static_cast<std::size_t>(j)];
  };
  place(z, 0);
  place(p, 3);
}

Matrix zpk2sos(Zpk f) {
  std::vector<cplx> z = f.z, p = f.p;
  while (p.size() < z.size()) p.emplace_back(0.0, 0.0);
  while (z.size() < p.size()) z.emplace_back(0.0, 0.0);
  const std::size_t n_sections = (std::max(p.size(), z.size()) + 1) / 2;
  if (p.size() % 2 == 1) {
    p.emplace_back(0.0, 0.0);
    z.emplace_back(0.0, 0.0);
  }
  z = cplxreal(z);
  p = cplxreal(p);
  Matrix sos = Matrix::Zero(static_cast<Index>(n_sections), 6);
  auto take = [](std::vector<cplx>& v, std::size_t i) {
    const cplx x = v[i];
    v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
    return x;
  };
  auto count_real = [](const std::vector<cplx>& v) {
    return static_cast<std::size_t>(std::count_if(v.begin(), v.end(), is_real));
  };
  for (std::size_t s = n_sections; s-- > 0;) {
    std::vector<std::size_t> all(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) all[i] = i;
    const cplx p1 = take(p, worst(p, all));
    const auto row = static_cast<Index>(s);
    if (is_real(p1) && count_real(p) == 0) {
      // Special case (1): the last remaining real pole.
      const cplx z1 = take(z, nearest(z, p1, 1));
      put_section(sos, row, {z1, cplx(0, 0)}, {p1, cplx(0, 0)});
    } else if (p.size() + 1 == z.size() && !is_real(p1) && count_real(p) == 1 && count_real(z) == 1) {
      // Special case (2): one real pole and one real zero left; pair with a complex zero.
      const cplx z1 = take(z, nearest(z, p1, 2));
      put_section(sos, row, {z1, std::conj(z1)}, {p1, std::conj(p1)});
    } else {
      cplx p2;
      if (is_real(p1)) {
        std::vector<std::size_t> reals;
        for (std::size_t i = 0; i < p.size(); ++i)
          if (is_real(p[i])) reals.push_back(i);
        p2 = take(p, worst(p, reals));
      } else {
        p2 = std::conj(p1);
      }
      if (!z.empty()) {
        const cplx z1 = take(z, nearest(z, p1, 0));
        if (!is_real(z1)) {
          put_section(sos, row, {z1, std::conj(z1)}, {p1, p2});
        } else if (!z.empty()) {
          const cplx z2 = take(z, nearest(z, p1, 1));
          put_section(sos, row, {z1, z2}, {p1, p2});
        } else {
          put_section(sos, row, {z1}, {p1, p2});
        }
      } else {
        put_section(sos, row, {}, {p1, p2});
      }
    }
  }
  sos.row(0).head(3) *= f.k;
  return sos;
}

// ---------------------------------------------------------------- sosfiltfilt

// Steady-state state of each section for a unit step (scipy.signal.sosfilt_zi).
Matrix sosfilt_zi(const Matrix& sos) {
  Matrix zi(sos.rows(), 2);
  double scale = 1.0;
  for (Index s = 0; s < sos.rows(); ++s) {
    const double b0 = sos(s, 0), b1 = sos(s, 1), b2 = sos(s, 2), a1 = sos(s, 4), a2 = sos(s, 5);
    // (I - companion(a)') zi = b[1:] - a[1:] b0, a 2 x 2 system.
    const double B0 = b1 - a1 * b0, B1 = b2 - a2 * b0;
    const double z0 = (B0 + B1) / (1.0 + a1 + a2);
    const double z1 = B1 - a2 * z0;
    zi(s, 0) = scale * z0;
    zi(s, 1) = scale * z1;
    scale *= ((b0 + b1) + b2) / ((sos(s, 3) + a1) + a2);
  }
  return zi;
}

// One pass of scipy's _sosfilt (transposed direct form II) over x in place.
void sosfilt(const Matrix& sos, std::vector<double>& x, Matrix zi) {
  const Index ns = sos.rows();
  for (double& xv : x) {
    double cur = xv;
    for (Index s = 0; s < ns; ++s) {
      const double nw = sos(s, 0) * cur + zi(s, 0);
      zi(s, 0) = sos(s, 1) * cur - sos(s, 4) * nw + zi(s, 1);
      zi(s, 1) = sos(s, 2) * cur - sos(s, 5) * nw;
      cur = nw;
    }
    xv = cur;
  }
}

Index sos_padlen(const Matrix& sos) {
  Index zb = 0, za = 0;
  for (Index s = 0; s < sos.rows(); ++s) {
    zb += sos(s, 2) == 0.0;
    za += sos(s, 5) == 0.0;
  }
  return 3 * (2 * sos.rows() + 1 - std::min(zb, za));
}

void check_options(const BandPassOptions& o) {
  if (!(o.tr > 0)) throw ValueError(fmt::format("bandpass: option 'tr' must be positive (seconds), got {}", o.tr));
  if (!(o.low >= 0)) throw ValueError(fmt::format("bandpass: option 'low' must be >= 0 Hz, got {}", o.low));
  if (!(o.high >= 0)) throw ValueError(fmt::format("bandpass: option 'high' must be >= 0 Hz, got {}", o.high));
  if (o.low > 0 && o.high > 0 && o.low >= o.high)
    throw ValueError(fmt::format("bandpass: option 'low' ({} Hz) must be below 'high' ({} Hz)", o.low, o.high));
  if (o.low == 0 && o.high == 0) throw ValueError("bandpass: neither 'low' nor 'high' is set");
}

// ---------------------------------------------------------------- FFT (ideal) filter
//
// The ideal filter keeps DFT bin k (and its mirror n - k) when k / (n tr) is in
// [low, high] and zeroes the others: out = real(IDFT(mask .* DFT(y))). The DFT of a real
// column is Hermitian and the mask keeps that symmetry, so this is exactly
// numpy.fft.irfft(mask * rfft(y), n) (irfft reads bins 0..n/2 and takes the rest as
// their conjugates).
//
// The transforms are Armadillo's fft / ifft (KISS FFT: hard-coded butterflies of radix
// 2, 3, 4 and 5, and a generic one costing O(p) per value for any other prime factor
// p). Two columns go through one complex transform: the mask is real and symmetric, so
// the filter is linear over the complex numbers and maps real series to real ones;
// filtering z = x + i y gives filt(x) + i filt(y), half the work of two transforms.
// Each column is first scaled by a power of two (exact) to a largest |value| in
// [0.5, 1): the rounding errors of a pair, about eps log n times the larger of the two,
// are then relative to each column's own scale, as they are when numpy filters it
// alone.
//
// A length whose factorisation would send KISS FFT to the generic butterfly (1201 frames
// is prime: 50 times slower than 1200) goes through Bluestein's algorithm: the
// DFT as a convolution with the chirp w_t = exp(-i pi t^2 / n), done by FFTs of a
// smooth length M >= 2n - 1 (Bluestein 1970; Rabiner, Schafer & Rader 1969, "The chirp
// z-transform algorithm"). The choice follows pocketfft's (numpy.fft's) cost estimate.
//
// KISS FFT is slow per transform, so the FFT is not always the faster way. The
// alternative is the orthogonal projection onto the real Fourier modes kept (or
// removed, whichever are fewer): two matrix products, O(frames^2) per column at GEMM
// speed, whatever the factorisation. Measured on one thread, 10,000 columns, TR 2 s
// (projection / FFT time): 200 frames 1.27, 300 1.21, 1200 3.0 (smooth lengths); 235
// (5 x 47) 0.41, 237 (3 x 79) 0.23, 241 (prime, Bluestein) 0.58, 490 (2 x 5 x 7^2)
// 0.95; 1195 (5 x 239, Bluestein) 1.37, 1196 1.20, 1201 (Bluestein) 1.29. So the FFT
// runs for lengths whose prime factors are 2, 3 and 5 (KISS FFT's fast butterflies)
// and for any length of 1000 frames or more; shorter lengths with another prime factor
// keep the projection.

using arma::uword;

// pocketfft's cost_guess for KISS FFT's hard-coded radices: n times the sum of the prime
// factors of n, those above 5 (the generic butterfly) weighted 1.1.
double fft_cost(Index n) {
  double c = 0;
  Index m = n;
  for (Index r = 2; r * r <= m;) {
    if (m % r == 0) {
      c += r <= 5 ? static_cast<double>(r) : 1.1 * static_cast<double>(r);
      m /= r;
    } else {
      ++r;
    }
  }
  if (m > 1) c += m <= 5 ? static_cast<double>(m) : 1.1 * static_cast<double>(m);
  return c * static_cast<double>(n);
}

// The smallest 2^a 3^b 5^c >= n (KISS FFT's fast lengths).
Index smooth_size(Index n) {
  Index best = 1;
  while (best < n) best *= 2;
  for (Index f5 = 1; f5 < best; f5 *= 5)
    for (Index f35 = f5; f35 < best; f35 *= 3) {
      Index x = f35;
      while (x < n) x *= 2;
      best = std::min(best, x);
    }
  return best;
}

// What every block of columns shares: the bins to zero and, for Bluestein, the chirp
// and the FFT of the convolution kernel (read-only once built, so the threads share it).
struct IdealPlan {
  uword n = 0;
  arma::uvec drop;          // bins zeroed: k and n - k
  bool bluestein = false;
  uword M = 0;              // Bluestein's FFT length
  arma::cx_vec chirp;       // w_t = exp(-i pi t^2 / n), t < n
  arma::cx_vec kernel_fft;  // FFT_M of conj(w_|j|), j in (-n, n), wrapped modulo M
};

IdealPlan ideal_plan(Index n, const BandPassOptions& o) {
  IdealPlan p;
  p.n = static_cast<uword>(n);
  const double step = 1.0 / (static_cast<double>(n) * o.tr);  // numpy.fft.rfftfreq
  std::vector<uword> drop;
  for (Index k = 0; k <= n / 2; ++k) {
    const double f = static_cast<double>(k) * step;
    if (f >= o.low && (o.high == 0 || f <= o.high)) continue;
    drop.push_back(static_cast<uword>(k));
    if (k > 0 && 2 * k != n) drop.push_back(static_cast<uword>(n - k));
  }
  p.drop = arma::uvec(drop);
  const Index M = smooth_size(2 * n - 1);
  // pocketfft's rule: Bluestein (two FFTs of length M per transform) when 1.5 times
  // its cost is below the direct transform's.
  p.bluestein = 1.5 * 2.0 * fft_cost(M) < fft_cost(n);
  if (p.bluestein) {
    p.M = static_cast<uword>(M);
    p.chirp.set_size(p.n);
    for (Index t = 0; t < n; ++t) {
      // Angle reduced exactly: t^2 mod 2n keeps pi t^2 / n in [0, 2 pi).
      const double a = kPi * static_cast<double>((t * t) % (2 * n)) / static_cast<double>(n);
      p.chirp(static_cast<uword>(t)) = cplx(std::cos(a), -std::sin(a));
    }
    arma::cx_vec b(p.M, arma::fill::zeros);
    for (uword t = 0; t < p.n; ++t) {
      b(t) = std::conj(p.chirp(t));
      if (t > 0) b(p.M - t) = b(t);
    }
    p.kernel_fft = arma::fft(b);
  }
  return p;
}

// The DFT of each column of Z (n x w): X_k = sum_t z_t exp(-2 pi i k t / n).
arma::cx_mat dft(const arma::cx_mat& Z, const IdealPlan& p) {
  if (!p.bluestein) return arma::fft(Z);
  // k t = (k^2 + t^2 - (k - t)^2) / 2, so X_k = w_k sum_t (z_t w_t) conj(w_(k-t)): a
  // convolution, circular of length M >= 2n - 1 without wrap-around.
  arma::cx_mat A(p.M, Z.n_cols, arma::fill::zeros);
  A.head_rows(p.n) = Z;
  A.head_rows(p.n).each_col() %= p.chirp;
  A = arma::fft(A);
  A.each_col() %= p.kernel_fft;
  A = arma::ifft(A);
  arma::cx_mat X = A.head_rows(p.n);
  X.each_col() %= p.chirp;
  return X;
}

// The inverse DFT (with the 1 / n): conj(DFT(conj(X))) / n.
arma::cx_mat idft(const arma::cx_mat& X, const IdealPlan& p) {
  if (!p.bluestein) return arma::ifft(X);
  return arma::conj(dft(arma::conj(X), p)) / static_cast<double>(p.n);
}

// The ideal filter as the orthogonal projection onto the real Fourier modes kept (or Y
// minus the projection onto those removed, whichever set is smaller).
Matrix projection_filter(const Matrix& Y, const BandPassOptions& o) {
  const Index n = Y.rows();
  const double step = 1.0 / (static_cast<double>(n) * o.tr);  // numpy.fft.rfftfreq
  const Index kmax = n / 2;
  std::vector<Index> keep, drop;
  for (Index k = 0; k <= kmax; ++k) {
    const double f = static_cast<double>(k) * step;
    const bool kept = f >= o.low && (o.high == 0 || f <= o.high);
    (kept ? keep : drop).push_back(k);
  }
  // The real Fourier basis of the smaller set: mode k contributes cos (and sin unless
  // k = 0 or k = n / 2), normalised to unit length.
  const bool project_kept = keep.size() <= drop.size();
  const std::vector<Index>& modes = project_kept ? keep : drop;
  Index cols = 0;
  for (Index k : modes) cols += (k == 0 || 2 * k == n) ? 1 : 2;
  Matrix B(n, cols);
  Index c = 0;
  for (Index k : modes) {
    const bool single = k == 0 || 2 * k == n;
    const double norm = single ? std::sqrt(1.0 / static_cast<double>(n)) : std::sqrt(2.0 / static_cast<double>(n));
    for (Index t = 0; t < n; ++t) {
      // Angle reduced exactly: (k t mod n) / n keeps it in [0, 2 pi).
      const double a = 2.0 * kPi * static_cast<double>((k * t) % n) / static_cast<double>(n);
      B(t, c) = norm * std::cos(a);
      if (!single) B(t, c + 1) = norm * std::sin(a);
    }
    c += single ? 1 : 2;
  }
  const Matrix P = B.transpose() * Y;
  if (project_kept) return B * P;
  Matrix out = Y;
  out.noalias() -= B * P;
  return out;
}

// True when the FFT is the faster way to filter n frames (see above).
bool fft_is_faster(Index n) {
  constexpr Index kFftMinFrames = 1000;
  Index m = n;
  for (const Index r : {2, 3, 5})
    while (m % r == 0) m /= r;
  return m == 1 || n >= kFftMinFrames;
}

Matrix fft_filter(const Matrix& Y, const BandPassOptions& o) {
  const Index n = Y.rows(), cols = Y.cols();
  const IdealPlan plan = ideal_plan(n, o);
  // Columns go in pairs (a, b) in their order; a column with a NaN or an infinity goes
  // alone (b = -1), as the transform would spread it over its partner.
  std::vector<std::array<Index, 2>> jobs;
  Index pending = -1;
  for (Index c = 0; c < cols; ++c) {
    if (!Y.col(c).allFinite()) {
      jobs.push_back({c, -1});
    } else if (pending < 0) {
      pending = c;
    } else {
      jobs.push_back({pending, c});
      pending = -1;
    }
  }
  if (pending >= 0) jobs.push_back({pending, -1});
  // A finite column's power-of-two exponent: x 2^-e has its largest |value| in [0.5, 1).
  auto exponent = [&](Index c) {
    int e = 0;
    if (Y.col(c).allFinite()) std::frexp(Y.col(c).cwiseAbs().maxCoeff(), &e);
    return e;
  };
  Matrix out(n, cols);
  // Blocks of 32 jobs: a few hundred kB of complex work space per task. The jobs and
  // the blocks depend on the data only, so the result does not depend on the thread
  // count.
  constexpr std::size_t kJobs = 32;
  const std::size_t blocks = (jobs.size() + kJobs - 1) / kJobs;
  parallel_for(blocks, [&](std::size_t blk) {
    const std::size_t j0 = blk * kJobs, w = std::min(kJobs, jobs.size() - j0);
    arma::cx_mat Z(plan.n, w);
    std::vector<std::array<int, 2>> ex(w);
    for (std::size_t q = 0; q < w; ++q) {
      const auto [a, b] = jobs[j0 + q];
      ex[q] = {exponent(a), b >= 0 ? exponent(b) : 0};
      cplx* z = Z.colptr(q);
      for (Index t = 0; t < n; ++t)
        z[t] = cplx(std::ldexp(Y(t, a), -ex[q][0]), b >= 0 ? std::ldexp(Y(t, b), -ex[q][1]) : 0.0);
    }
    arma::cx_mat F = dft(Z, plan);
    F.rows(plan.drop).zeros();
    const arma::cx_mat R = idft(F, plan);
    for (std::size_t q = 0; q < w; ++q) {
      const auto [a, b] = jobs[j0 + q];
      const cplx* r = R.colptr(q);
      for (Index t = 0; t < n; ++t) out(t, a) = std::ldexp(r[t].real(), ex[q][0]);
      if (b >= 0)
        for (Index t = 0; t < n; ++t) out(t, b) = std::ldexp(r[t].imag(), ex[q][1]);
    }
  });
  return out;
}

}  // namespace

// ---------------------------------------------------------------- public

Matrix butterworth_sos(const BandPassOptions& o) {
  check_options(o);
  if (o.order < 1 || o.order > 10)
    throw ValueError(fmt::format("bandpass: option 'order' must be in [1, 10], got {}", o.order));
  const double nyq = 0.5 * (1.0 / o.tr);
  for (const auto& [name, f] : {std::pair{"low", o.low}, std::pair{"high", o.high}})
    if (f >= nyq)
      throw ValueError(fmt::format("bandpass: option '{}' ({} Hz) is at or above the Nyquist frequency {} Hz (TR {} s)",
                                   name, f, nyq, o.tr));
  // Pre-warped cut-offs of scipy's digital design (fs = 2): 4 tan(pi Wn / 2).
  auto warp = [](double wn) { return 2.0 * 2.0 * std::tan((kPi * wn) / 2.0); };
  const Zpk proto = buttap(o.order);
  Zpk analog;
  if (o.low > 0 && o.high > 0) {
    const double w0 = warp(o.low / nyq), w1 = warp(o.high / nyq);
    analog = lp2bp(proto, std::sqrt(w0 * w1), w1 - w0);
  } else if (o.high > 0) {
    analog = lp2lp(proto, warp(o.high / nyq));
  } else {
    analog = lp2hp(proto, warp(o.low / nyq));
  }
  return zpk2sos(bilinear(analog, 2.0));
}

Matrix bandpass(const Matrix& Y, const BandPassOptions& o) {
  check_options(o);
  if (o.kind == FilterKind::Fft) {
    if (Y.rows() < 2) throw ValueError(fmt::format("bandpass: needs at least 2 frames, got {}", Y.rows()));
    return fft_is_faster(Y.rows()) ? fft_filter(Y, o) : projection_filter(Y, o);
  }
  const Matrix sos = butterworth_sos(o);
  const Index edge = sos_padlen(sos);
  const Index n = Y.rows();
  if (n <= edge)
    throw ValueError(fmt::format("bandpass: the Butterworth filter needs more than {} frames (its padding), got {}",
                                 edge, n));
  const Matrix zi = sosfilt_zi(sos);
  Matrix out(n, Y.cols());
  parallel_for(static_cast<std::size_t>(Y.cols()), [&](std::size_t col) {
    const auto j = static_cast<Index>(col);
    // Odd extension by `edge` frames on both sides (scipy's odd_ext).
    std::vector<double> x(static_cast<std::size_t>(n + 2 * edge));
    for (Index i = 0; i < edge; ++i) x[static_cast<std::size_t>(i)] = 2 * Y(0, j) - Y(edge - i, j);
    for (Index i = 0; i < n; ++i) x[static_cast<std::size_t>(edge + i)] = Y(i, j);
    for (Index i = 0; i < edge; ++i) x[static_cast<std::size_t>(edge + n + i)] = 2 * Y(n - 1, j) - Y(n - 2 - i, j);
    sosfilt(sos, x, zi * x.front());
    std::reverse(x.begin(), x.end());
    sosfilt(sos, x, zi * x.front());
    std::reverse(x.begin(), x.end());
    for (Index i = 0; i < n; ++i) out(i, j) = x[static_cast<std::size_t>(edge + i)];
  });
  return out;
}

}  // namespace nl::fc

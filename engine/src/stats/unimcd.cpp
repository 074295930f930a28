// stats/unimcd.cpp: the univariate MCD (rrcov's unimcd; see nl/stats/mcd.hpp) with
// its small sorts, and the window scan it shares with cov_mcd (stats/windows.hpp).
#include "nl/stats/mcd.hpp"

#include "core/simd_quad.hpp"
#include "windows.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/math/distributions/chi_squared.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace nl::stats {

namespace detail {

WindowScan scan_windows(const double* y, Index n, Index h) {
  const Index len = n - h + 1;
  long double s = 0, s2 = 0;
  for (Index j = 0; j < h; ++j) {
    s += y[j];
    s2 += static_cast<long double>(y[j] * y[j]);
  }
  double ay = static_cast<double>(s);
  double ay2 = ay * ay / static_cast<double>(h);
  double sq = static_cast<double>(s2) - ay2;
  WindowScan w;
  w.sqmin = sq;
  thread_local std::vector<double> tied;  // window sums of the exact minimisers
  tied.assign(1, ay);
  for (Index t = 1; t < len; ++t) {
    const double ay_new = ay - y[t - 1] + y[t + h - 1];
    const double ay2_new = ay_new * ay_new / static_cast<double>(h);
    sq = sq - y[t - 1] * y[t - 1] + y[t + h - 1] * y[t + h - 1] - ay2_new + ay2;
    ay = ay_new;
    ay2 = ay2_new;
    if (sq < w.sqmin) {
      w.sqmin = sq;
      w.first = t;
      tied.assign(1, ay);
    } else if (sq == w.sqmin) {
      tied.push_back(ay);
    }
  }
  w.center = tied[(tied.size() + 1) / 2 - 1] / static_cast<double>(h);
  return w;
}

}  // namespace detail

namespace {

using detail::scan_windows;
using detail::WindowScan;

double qchisq(double prob, double df) {
  return boost::math::quantile(boost::math::chi_squared_distribution<double>(df), prob);
}

// ---------------------------------------------------------------- small sorts

// Ascending sort of a[0..n) into out[0..n) for small n (ROBPCA sorts 250 projections of
// ~60 values per fit): each value goes straight to its rank, #{j : a_j < a_i} plus the
// equal values before it. O(n^2) comparisons, but branch-free and vectorised, which for
// n ~ 60 beats a comparison sort (whose branches on data in random order mispredict).
// The output is the sorted values whatever the method, so the AVX build (four
// comparisons at a time) gives the same result.
void rank_sort_base(const double* a, Index n, double* out) {
  typedef double Pair __attribute__((vector_size(16), may_alias, aligned(8)));
  typedef long long Mask2 __attribute__((vector_size(16)));
  const auto load = [](const double* p) { return *reinterpret_cast<const Pair*>(p); };
  for (Index i = 0; i < n; ++i) {
    const double x = a[i];
    const Pair xx = {x, x};
    Mask2 c0 = {0, 0}, c1 = c0;  // minus the counts (a true comparison is -1)
    Index r = 0, j = 0;
    for (; j + 4 <= i; j += 4) {  // before i: equal values count too
      c0 += (Mask2)(load(a + j) <= xx);
      c1 += (Mask2)(load(a + j + 2) <= xx);
    }
    for (; j < i; ++j) r += a[j] <= x;
    for (j = i + 1; j < n && (j & 3); ++j) r += a[j] < x;
    for (; j + 4 <= n; j += 4) {
      c0 += (Mask2)(load(a + j) < xx);
      c1 += (Mask2)(load(a + j + 2) < xx);
    }
    for (; j < n; ++j) r += a[j] < x;
    const Mask2 c = c0 + c1;
    out[r - (c[0] + c[1])] = x;
  }
}

#if NL_HAVE_AVX_KERNELS
__attribute__((target("avx"))) void rank_sort_avx(const double* a, Index n, double* out) {
  typedef double Quad __attribute__((vector_size(32), may_alias, aligned(8)));
  typedef long long Mask4 __attribute__((vector_size(32)));
  const Quad one = {1.0, 1.0, 1.0, 1.0};
  const Mask4 one_bits = (Mask4)one;
  for (Index i = 0; i < n; ++i) {
    const double x = a[i];
    const Quad xx = {x, x, x, x};
    Quad c0 = {0.0, 0.0, 0.0, 0.0}, c1 = c0;  // counts as doubles (exact up to 2^53)
    Index r = 0, j = 0;
    for (; j + 8 <= i; j += 8) {  // before i: equal values count too
      c0 += (Quad)((*reinterpret_cast<const Quad*>(a + j) <= xx) & one_bits);
      c1 += (Quad)((*reinterpret_cast<const Quad*>(a + j + 4) <= xx) & one_bits);
    }
    for (; j < i; ++j) r += a[j] <= x;
    for (j = i + 1; j < n && (j & 7); ++j) r += a[j] < x;
    for (; j + 8 <= n; j += 8) {
      c0 += (Quad)((*reinterpret_cast<const Quad*>(a + j) < xx) & one_bits);
      c1 += (Quad)((*reinterpret_cast<const Quad*>(a + j + 4) < xx) & one_bits);
    }
    for (; j < n; ++j) r += a[j] < x;
    const Quad c = c0 + c1;
    out[r + static_cast<Index>((c[0] + c[1]) + (c[2] + c[3]))] = x;
  }
}
#endif

// The common case of distinct values: the rank of a_i is #{j : a_j < a_i}, counted over
// a copy padded with +inf to a multiple of 8, so that every i runs the same number of
// iterations (the loop branches of the split loops above, whose trip counts change with
// i, mispredict). Returns false when two values share a rank (a tie, or a NaN); out is
// then incomplete and the caller sorts again with the tie rule.
constexpr Index kRankSortMax = 128;

// a[0..n) copied to b, then +inf up to a multiple of 8 (n <= kRankSortMax); returns the
// padded length.
inline Index pad_with_inf(const double* a, Index n, double* b) {
  const Index nq = (n + 7) & ~Index{7};
  std::copy(a, a + n, b);
  std::fill(b + n, b + nq, std::numeric_limits<double>::infinity());
  return nq;
}

// The ranks taken so far; put() stores x at rank r and notes whether r was taken.
struct RankSlots {
  std::uint64_t seen[2] = {0, 0}, dup = 0;
  void put(double* out, std::uint64_t r, double x) {
    out[r] = x;
    dup |= (seen[r >> 6] >> (r & 63)) & 1;
    seen[r >> 6] |= std::uint64_t{1} << (r & 63);
  }
  bool distinct() const { return dup == 0; }
};

bool rank_sort_distinct_base(const double* a, Index n, double* out) {
  typedef double Pair __attribute__((vector_size(16)));
  typedef long long Mask2 __attribute__((vector_size(16)));
  alignas(16) double b[kRankSortMax + 8];
  const Index nq = pad_with_inf(a, n, b);
  RankSlots slots;
  for (Index i = 0; i < n; ++i) {
    const double x = a[i];
    const Pair xx = {x, x};
    Mask2 c0 = {0, 0}, c1 = c0, c2 = c0, c3 = c0;  // minus the counts
    for (Index j = 0; j < nq; j += 8) {
      c0 += (Mask2)(*reinterpret_cast<const Pair*>(b + j) < xx);
      c1 += (Mask2)(*reinterpret_cast<const Pair*>(b + j + 2) < xx);
      c2 += (Mask2)(*reinterpret_cast<const Pair*>(b + j + 4) < xx);
      c3 += (Mask2)(*reinterpret_cast<const Pair*>(b + j + 6) < xx);
    }
    const Mask2 c = (c0 + c1) + (c2 + c3);
    slots.put(out, static_cast<std::uint64_t>(-(c[0] + c[1])), x);
  }
  return slots.distinct();
}

#if NL_HAVE_AVX_KERNELS
__attribute__((target("avx"))) bool rank_sort_distinct_avx(const double* a, Index n, double* out) {
  typedef double Quad __attribute__((vector_size(32)));
  typedef long long Mask4 __attribute__((vector_size(32)));
  const Quad one = {1.0, 1.0, 1.0, 1.0};
  const Mask4 one_bits = (Mask4)one;
  alignas(32) double b[kRankSortMax + 8];
  const Index nq = pad_with_inf(a, n, b);
  RankSlots slots;
  for (Index i = 0; i < n; ++i) {
    const double x = a[i];
    const Quad xx = {x, x, x, x};
    Quad c0 = {0.0, 0.0, 0.0, 0.0}, c1 = c0;  // counts as doubles (exact)
    for (Index j = 0; j < nq; j += 8) {
      c0 += (Quad)((*reinterpret_cast<const Quad*>(b + j) < xx) & one_bits);
      c1 += (Quad)((*reinterpret_cast<const Quad*>(b + j + 4) < xx) & one_bits);
    }
    const Quad c = c0 + c1;
    slots.put(out, static_cast<std::uint64_t>((c[0] + c[1]) + (c[2] + c[3])), x);
  }
  return slots.distinct();
}
#endif

// Ascending sort of a[0..n) into out[0..n), n <= kRankSortMax.
void rank_sort(const double* a, Index n, double* out) {
#if NL_HAVE_AVX_KERNELS
  if (simd_avx()) {
    if (!rank_sort_distinct_avx(a, n, out)) rank_sort_avx(a, n, out);
    return;
  }
#endif
  if (!rank_sort_distinct_base(a, n, out)) rank_sort_base(a, n, out);
}

}  // namespace

// ---------------------------------------------------------------- univariate MCD

UnimcdSetup unimcd_setup(Index n, Index h) {
  if (n < 1 || h < 1 || h > n)
    throw ValueError(fmt::format("unimcd: need 1 <= h <= n, got h = {}, n = {}", h, n));
  UnimcdSetup s;
  s.n = n;
  s.h = h;
  s.chi2_h_over_n = h < n ? qchisq(static_cast<double>(h) / static_cast<double>(n), 1.0) : 0.0;
  s.chi2_975 = qchisq(0.975, 1.0);
  return s;
}

UnivariateMcd unimcd(const Eigen::Ref<const Vector>& y0, Index h, bool want_weights) {
  return unimcd(y0, unimcd_setup(y0.size(), h), want_weights);
}

UnivariateMcd unimcd(const Eigen::Ref<const Vector>& y0, const UnimcdSetup& s,
                     bool want_weights) {
  const Index n = y0.size(), q = s.h;
  if (n != s.n) throw ValueError("unimcd: setup was made for another length");
  UnivariateMcd out;
  if (q == n) {  // a single window: the classical mean and standard deviation
    out.center = y0.mean();
    out.scale = n > 1 ? std::sqrt((y0.array() - out.center).square().sum() /
                                  static_cast<double>(n - 1))
                      : std::numeric_limits<double>::quiet_NaN();
    if (want_weights) out.weights = Mask::Constant(n, true);
    return out;
  }
  // Scratch reused across calls (ROBPCA calls this for every direction).
  thread_local std::vector<double> ybuf;
  ybuf.resize(static_cast<std::size_t>(n));
  if (n <= kRankSortMax) {
    rank_sort(y0.data(), n, ybuf.data());
  } else {
    std::copy(y0.data(), y0.data() + n, ybuf.begin());
    std::sort(ybuf.begin(), ybuf.end());
  }
  const double* const y = ybuf.data();
  const WindowScan w = scan_windows(y, n, q);
  const double initmean = w.center;
  double initcov = w.sqmin / static_cast<double>(q - 1);
  // Rescale so that the q-th smallest squared residual (y - initmean)^2 / initcov sits at
  // chi2_1^{-1}(q/n). The squared deviations of sorted y fall then rise around initmean,
  // so the q-th smallest, which is the (n - q + 1)-th largest, is found by merging
  // inwards from both ends: n - q + 1 steps. Dividing by initcov is monotone, so it is
  // applied to the one value found only.
  const auto sq = [&](Index i) { return (y[i] - initmean) * (y[i] - initmean); };
  double qth = 0.0;
  {
    Index a = 0, b = n - 1;
    for (Index taken = 0; taken <= n - q; ++taken) {
      const double sa = sq(a), sb = sq(b);
      if (sa >= sb) {
        qth = sa;
        ++a;
      } else {
        qth = sb;
        --b;
      }
    }
  }
  const Index split = std::lower_bound(y, y + n, initmean) - y;  // y[split..] >= initmean
  initcov *= (qth / initcov) / s.chi2_h_over_n;
  // Reweight: sums over the sorted values, as rrcov does. The weight test
  // (y - initmean)^2 / initcov < chi2 is monotone in |y - initmean| on either side of
  // initmean, so the kept values are the run y[lo..hi]; its ends are found from the
  // outside in.
  const auto kept = [&](Index i) { return sq(i) / initcov < s.chi2_975; };
  Index lo = 0, hi = n - 1;
  while (lo < split && !kept(lo)) ++lo;
  while (hi >= split && !kept(hi)) --hi;
  long double sw = 0, swy = 0;
  for (Index i = lo; i <= hi; ++i) {
    sw += 1;
    swy += y[i];
  }
  const double tmcd = static_cast<double>(swy / sw);
  long double ss = 0;
  for (Index i = lo; i <= hi; ++i) ss += static_cast<long double>((y[i] - tmcd) * (y[i] - tmcd));
  out.center = tmcd;
  out.scale = std::sqrt(static_cast<double>(ss / (sw - 1)));
  if (want_weights) {
    out.weights.resize(n);
    for (Index i = 0; i < n; ++i)
      out.weights[i] = (y0[i] - initmean) * (y0[i] - initmean) / initcov < s.chi2_975;
  }
  return out;
}

}  // namespace nl::stats

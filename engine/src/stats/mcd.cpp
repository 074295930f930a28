// stats/mcd.cpp: FAST-MCD and covMcd (see nl/stats/mcd.hpp for the
// objective, the contract and the papers). Variable names follow robustbase's Fortran
// (nhalf = h, det, kstep, "candidates" = its mstock/cstock of the 10 best solutions).
#include "nl/stats/mcd.hpp"

#include "nl/core/warnings.hpp"

#include "core/simd_quad.hpp"
#include "windows.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/math/distributions/chi_squared.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>

namespace nl::stats {
namespace {

double qchisq(double prob, double df) {
  return boost::math::quantile(boost::math::chi_squared_distribution<double>(df), prob);
}

void check_finite(const Matrix& X, const char* what) {
  for (Index j = 0; j < X.cols(); ++j)
    for (Index i = 0; i < X.rows(); ++i)
      if (!std::isfinite(X(i, j)))
        throw ValueError(fmt::format("{}: value at row {}, column {} is not finite ({})", what,
                                     i + 1, j + 1, X(i, j)));
}

// Median as R's median(): the mean of the two middle values for even n.
double median_of(std::vector<double> v) {
  const std::size_t n = v.size(), m = n / 2;
  std::nth_element(v.begin(), v.begin() + m, v.end());
  const double hi = v[m];
  if (n % 2 == 1) return hi;
  return (*std::max_element(v.begin(), v.begin() + m) + hi) / 2.0;
}

// ---------------------------------------------------------------- FAST-MCD core

// Doubles whose first element is 64-byte aligned, so that the kernels' vector loads (at
// multiples of four doubles from the start) never straddle a cache line.
class AlignedDoubles {
 public:
  explicit AlignedDoubles(std::size_t n = 0) { assign(n, 0.0); }
  AlignedDoubles(const AlignedDoubles&) = delete;
  AlignedDoubles& operator=(const AlignedDoubles&) = delete;
  void assign(std::size_t n, double v) {
    raw_.assign(n + 8, v);
    const auto a = reinterpret_cast<std::uintptr_t>(raw_.data());
    ptr_ = raw_.data() + ((64 - a % 64) % 64) / sizeof(double);
    size_ = n;
  }
  std::size_t size() const { return size_; }
  double* data() { return ptr_; }
  const double* data() const { return ptr_; }
  double& operator[](std::size_t i) { return ptr_[i]; }

 private:
  std::vector<double> raw_;
  double* ptr_ = nullptr;
  std::size_t size_ = 0;
};

// The raw (unscaled) MCD solution in the original units.
struct RawMcd {
  Vector mean;
  Matrix cov;  // S_H, divisor h - 1
  double logdet = 0.0;
  std::vector<Index> best;
  bool exact = false;
  Mask on_plane;  // exact fit: the rows on the hyperplane
};

// Candidate solution kept between the stages (robustbase's mstock/cstock).
struct Candidate {
  double logdet;
  Vector mean;
  Matrix cov;
};

// "No determinant yet" for the convergence test (rffastmcd starts from det = 0, which
// as a log-determinant would be a legal value).
constexpr double kNoDet = std::numeric_limits<double>::quiet_NaN();

// Largest n for which all (p+1)-subsets are enumerated (robustbase's replow).
Index replow(Index nsel) {
  static const Index irep[6] = {500, 50, 22, 17, 15, 14};
  return nsel <= 6 ? irep[nsel - 1] : 0;
}

// The hot kernels (stats/mcd_kernels.inc), built twice (see core/simd_quad.hpp).
namespace kern_base {
using namespace nl::simd::base;
#include "mcd_kernels.inc"
}  // namespace kern_base

#if NL_HAVE_AVX_KERNELS
#pragma GCC push_options
#pragma GCC target("avx")
namespace kern_avx {
using namespace nl::simd::avx;
#include "mcd_kernels.inc"
}  // namespace kern_avx
#pragma GCC pop_options
#endif

class FastMcd {
 public:
  FastMcd(const Matrix& X, Index h, const McdOptions& opt, Rng& rng)
      : X_(X), n_(X.rows()), p_(X.cols()), h_(h), opt_(opt), rng_(rng), avx_(simd_avx()) {
    // Singularity threshold on the pivots of the standardised covariance (rffastmcd).
    eps_ = p_ < 5 ? 1e-12 : (p_ <= 8 ? 1e-14 : 1e-16);
  }

  RawMcd run();

 private:
  // Scratch space of the kernels, one per thread of work (no allocation inside the loops).
  struct Work {
    AlignedDoubles W;                    // gathered, centred subset rows, by columns
    AlignedDoubles Y;                    // forward-substituted rows (n_pad x p, by columns)
    AlignedDoubles d;                    // squared distances (n_pad; the first n are used)
    std::vector<double> L;               // Cholesky factor, row-major p x p (lower triangle)
    std::vector<double> pivot, inv_diag; // L_jj^2 and 1 / L_jj
    std::vector<double> sel;             // selection buffers (3 n)
    std::vector<Index> H;                // a subset of rows
    Work(Index n, Index n_pad, Index p)
        : W(static_cast<std::size_t>((n + 3) * p)),
          Y(static_cast<std::size_t>(n_pad * p)),
          d(static_cast<std::size_t>(n_pad)),
          L(static_cast<std::size_t>(p * p), 0.0),
          pivot(static_cast<std::size_t>(p)),
          inv_diag(static_cast<std::size_t>(p)),
          sel(static_cast<std::size_t>(3 * n)),
          H(static_cast<std::size_t>(n)) {}
  };

  // One start of stage 1 after its C-steps: the solution kept as a candidate, or the
  // (standardised) mean and covariance of a singular C-step (an exact fit).
  struct Trial {
    bool singular = false;  // the start subset itself is singular (not run)
    bool exact = false;
    double logdet = 0.0;
  };

  // The kernels below run about a thousand times per fit with p ~ 10 and n ~ 100 (250
  // starts, each with three covariances, three factorisations and two rounds of
  // distances), so they are written for those sizes: data by columns padded to a
  // multiple of 4 rows, vectorised across rows (stats/mcd_kernels.inc), no
  // allocation, no GEMM (whose packing dominates at these sizes). Each value is computed
  // in a fixed order, so results do not depend on the compiler, the CPU or the threads.

  // Mean and covariance (divisor m - 1) of the standardised rows in sub.
  void mean_cov(Work& wk, const std::vector<Index>& sub, Vector& mean, Matrix& cov) const {
    mean.resize(p_);
    cov.resize(p_, p_);
    mean_cov(wk, sub, mean.data(), cov.data());
  }
  // The same into p and p x p (column-major) arrays.
  void mean_cov(Work& wk, const std::vector<Index>& sub, double* mean, double* cov) const {
    const Index m = static_cast<Index>(sub.size());
    const Index mp = (m + 3) & ~Index{3};  // rows padded to a multiple of 4 (with zeros)
    if (static_cast<Index>(wk.W.size()) < mp * p_) wk.W.assign(static_cast<std::size_t>(mp * p_), 0.0);
    const double scale = 1.0 / static_cast<double>(m - 1);
#if NL_HAVE_AVX_KERNELS
    if (avx_) {
      kern_avx::gather_center(Zp_.data(), n_pad_, p_, sub.data(), m, mp, wk.W.data(), mean);
      kern_avx::cov_lower(wk.W.data(), mp, p_, scale, cov);
      return;
    }
#endif
    kern_base::gather_center(Zp_.data(), n_pad_, p_, sub.data(), m, mp, wk.W.data(), mean);
    kern_base::cov_lower(wk.W.data(), mp, p_, scale, cov);
  }

  // Cholesky factor L of cov (lower triangle read); false when a pivot d_j = L_jj^2 is
  // not at least eps (rffastmcd's singularity test; it also catches d_j <= 0 and NaN).
  // The log-determinant is formed only on request (logdet()), as most callers only
  // need the factor.
  bool factor(Work& wk, const Eigen::Ref<const Matrix>& cov) const {
    const Index p = p_;
    double* L = wk.L.data();
    for (Index j = 0; j < p; ++j) {
      double* Lj = L + j * p;
      double d = cov(j, j);
      for (Index k = 0; k < j; ++k) d -= Lj[k] * Lj[k];
      if (!(d >= eps_)) return false;
      wk.pivot[j] = d;
      const double ljj = std::sqrt(d);
      Lj[j] = ljj;
      const double inv = 1.0 / ljj;
      wk.inv_diag[j] = inv;
      for (Index i = j + 1; i < p; ++i) {
        const double* Li = L + i * p;
        double v = cov(i, j);
        for (Index k = 0; k < j; ++k) v -= Li[k] * Lj[k];
        L[i * p + j] = v * inv;
      }
    }
    return true;
  }

  // factor() of two matrices at once, statement by statement: each factorisation is a
  // chain of dependent square roots and divisions, and two independent chains overlap.
  // Every value is computed exactly as factor() computes it. False when either is
  // singular (the factors are then incomplete).
  bool factor2(Work& wa, const double* ca, Work& wb, const double* cb) const {
    const Index p = p_;
    double* La = wa.L.data();
    double* Lb = wb.L.data();
    for (Index j = 0; j < p; ++j) {
      double* Laj = La + j * p;
      double* Lbj = Lb + j * p;
      double da = ca[j + j * p], db = cb[j + j * p];
      for (Index k = 0; k < j; ++k) {
        da -= Laj[k] * Laj[k];
        db -= Lbj[k] * Lbj[k];
      }
      if (!(da >= eps_) || !(db >= eps_)) return false;
      wa.pivot[j] = da;
      wb.pivot[j] = db;
      const double la = std::sqrt(da), lb = std::sqrt(db);
      Laj[j] = la;
      Lbj[j] = lb;
      const double inva = 1.0 / la, invb = 1.0 / lb;
      wa.inv_diag[j] = inva;
      wb.inv_diag[j] = invb;
      for (Index i = j + 1; i < p; ++i) {
        const double* Lai = La + i * p;
        const double* Lbi = Lb + i * p;
        double va = ca[i + j * p], vb = cb[i + j * p];
        for (Index k = 0; k < j; ++k) {
          va -= Lai[k] * Laj[k];
          vb -= Lbi[k] * Lbj[k];
        }
        La[i * p + j] = va * inva;
        Lb[i * p + j] = vb * invb;
      }
    }
    return true;
  }

  // log det of the matrix last factored in wk.
  double logdet(const Work& wk) const {
    double s = 0.0;
    for (Index j = 0; j < p_; ++j) s += std::log(wk.pivot[j]);
    return s;
  }

  // Squared Mahalanobis distances wk.d of all rows under (mean, the factor in wk).
  void distances(Work& wk, const double* mean) const {
#if NL_HAVE_AVX_KERNELS
    if (avx_) {
      kern_avx::distances(Zp_.data(), n_pad_, p_, mean, wk.L.data(), wk.inv_diag.data(),
                          wk.Y.data(), wk.d.data());
      return;
    }
#endif
    kern_base::distances(Zp_.data(), n_pad_, p_, mean, wk.L.data(), wk.inv_diag.data(),
                         wk.Y.data(), wk.d.data());
  }

  // The h rows with the smallest wk.d (ties by row index), ascending: the h-th smallest
  // value is found by selection, then one branch-free pass collects the rows at or below
  // it in index order (the comparisons are unpredictable); rows equal to it beyond the
  // h needed, if any, are dropped from the end.
  void smallest(Work& wk, std::vector<Index>& out) const {
    const double* d = wk.d.data();
    const double thr = hth_smallest(wk, d);
    out.resize(static_cast<std::size_t>(n_));
    Index cnt = 0;
    for (Index i = 0; i < n_; ++i) {
      out[cnt] = i;
      cnt += d[i] <= thr;
    }
    for (Index k = cnt - 1; cnt > h_; --k)
      if (d[out[k]] == thr) {
        out.erase(out.begin() + k);
        --cnt;
      }
    out.resize(static_cast<std::size_t>(cnt));
  }

  // The h-th smallest of v[0..n): quickselect with branch-free partitions (each pass
  // copies the values below and above a median-of-three pivot to separate buffers),
  // then insertion sort of the last few. The comparisons of a C-step's distances are
  // unpredictable, so a branchy selection stalls on mispredictions.
  double hth_smallest(Work& wk, const double* v) const {
    double* a = wk.sel.data();    // current candidates
    double* lo_buf = a + n_;      // scratch for values < pivot
    double* hi_buf = a + 2 * n_;  // scratch for values > pivot
    std::copy(v, v + n_, a);
    Index len = n_, k = h_ - 1;   // the k-th smallest (0-based) of a[0..len)
    while (len > 8) {
      double x = a[0], y = a[len / 2], z = a[len - 1];
      if (x > y) std::swap(x, y);
      if (y > z) y = std::max(x, z);  // median of three
      const double pivot = y;
      Index nlo = 0, nhi = 0;
      for (Index i = 0; i < len; ++i) {
        const double e = a[i];
        lo_buf[nlo] = e;
        hi_buf[nhi] = e;
        nlo += e < pivot;
        nhi += e > pivot;
      }
      if (k < nlo) {
        std::swap(a, lo_buf);
        len = nlo;
      } else if (k >= len - nhi) {
        k -= len - nhi;
        std::swap(a, hi_buf);
        len = nhi;
      } else {
        return pivot;
      }
    }
    for (Index i = 1; i < len; ++i) {
      const double e = a[i];
      Index j = i;
      for (; j > 0 && a[j - 1] > e; --j) a[j] = a[j - 1];
      a[j] = e;
    }
    return a[k];
  }

  // m distinct rows, uniform: draws until m different rows came up (a repeat is drawn
  // again), kept ascending as they arrive.
  void random_subset(Index m, std::vector<Index>& sub) {
    sub.resize(static_cast<std::size_t>(m));
    Index* s = sub.data();
    Index have = 0;
    while (have < m) {
      const Index c = static_cast<Index>(rng_.below(static_cast<std::uint64_t>(n_)));
      Index pos = have;
      while (pos > 0 && s[pos - 1] > c) --pos;
      if (pos > 0 && s[pos - 1] == c) continue;  // drawn before: draw again
      for (Index i = have; i > pos; --i) s[i] = s[i - 1];
      s[pos] = c;
      ++have;
    }
  }

  // Adds one row, uniform among those not yet in sub (robustbase's prdraw).
  void add_random_row(std::vector<Index>& sub) {
    Index c = static_cast<Index>(
        rng_.below(static_cast<std::uint64_t>(n_ - static_cast<Index>(sub.size()))));
    for (Index s : sub)  // sub is ascending: skip over its members
      if (s <= c) ++c;
    sub.insert(std::upper_bound(sub.begin(), sub.end(), c), c);
  }

  // The C-steps of stage 1 from a start subset (kstep1 = 2, as rffastmcd); a singular
  // start is only flagged. The (standardised) mean and covariance of the solution, or of
  // the singular C-step, go to mean (p) and cov (p x p, column-major).
  Trial run_trial(Work& wk, const std::vector<Index>& start, double* mean, double* cov) const {
    const Index kstep1 = 2;
    Trial t;
    std::vector<Index>& H = wk.H;
    const Eigen::Map<const Matrix> C(cov, p_, p_);
    mean_cov(wk, start, mean, cov);
    if (!factor(wk, C)) {
      t.singular = true;
      return t;
    }
    distances(wk, mean);
    smallest(wk, H);
    double deti = kNoDet, detimin1 = kNoDet;
    for (Index step = 1; step <= kstep1; ++step) {
      mean_cov(wk, H, mean, cov);
      if (!factor(wk, C)) {
        t.exact = true;
        return t;
      }
      // The determinant of step s is compared two steps later and kept after the last
      // step; with kstep1 = 2 only the last one is ever used, so only it is formed.
      t.logdet = step == kstep1 || step + 2 <= kstep1 ? logdet(wk) : kNoDet;
      if (step >= 2 && t.logdet == detimin1) break;
      detimin1 = deti;
      deti = t.logdet;
      // rffastmcd also computes the next subset after the last step; it is never used.
      if (step == kstep1) break;
      distances(wk, mean);
      smallest(wk, H);
    }
    return t;
  }

  // run_trial for two starts at once, their factorisations interleaved (factor2); the
  // other steps run one start after the other. The results are those of run_trial: when
  // either start meets a singular covariance, both are simply run again by run_trial.
  void run_trial_pair(Work& wa, Work& wb, const std::vector<Index>& sa,
                      const std::vector<Index>& sb, double* mean_a, double* cov_a,
                      double* mean_b, double* cov_b, Trial& ta, Trial& tb) const {
    // The C-steps of run_trial with kstep1 = 2: its determinant test cannot stop them
    // early (it compares with the determinant two steps back, which is not formed).
    const std::vector<Index>* ha = &sa;
    const std::vector<Index>* hb = &sb;
    for (int step = 0; step <= 2; ++step) {
      mean_cov(wa, *ha, mean_a, cov_a);
      mean_cov(wb, *hb, mean_b, cov_b);
      if (!factor2(wa, cov_a, wb, cov_b)) {
        ta = run_trial(wa, sa, mean_a, cov_a);
        tb = run_trial(wb, sb, mean_b, cov_b);
        return;
      }
      if (step == 2) break;
      distances(wa, mean_a);
      smallest(wa, wa.H);
      distances(wb, mean_b);
      smallest(wb, wb.H);
      ha = &wa.H;
      hb = &wb.H;
    }
    ta = Trial{};
    tb = Trial{};
    ta.logdet = logdet(wa);
    tb.logdet = logdet(wb);
  }

  static bool next_combination(std::vector<Index>& c, Index n) {
    const Index k = static_cast<Index>(c.size());
    for (Index i = k - 1; i >= 0; --i) {
      if (c[i] < n - k + i) {
        ++c[i];
        for (Index j = i + 1; j < k; ++j) c[j] = c[j - 1] + 1;
        return true;
      }
    }
    return false;
  }

  // Exact fit: at least h rows lie on the hyperplane z'(x - mean) = 0, z the eigenvector
  // of the smallest eigenvalue of cov (both in the original units). Returns the mean and
  // covariance of the rows within 1e-8 of it (robustbase's rfexact).
  RawMcd exact_fit(const Vector& mean, const Matrix& cov) const {
    Eigen::SelfAdjointEigenSolver<Matrix> es(cov);
    const Vector z = es.eigenvectors().col(0);
    const Vector dist = ((X_.rowwise() - mean.transpose()) * z).cwiseAbs();
    return exact_fit_rows((dist.array() < 1e-8));
  }

  RawMcd exact_fit_rows(const Mask& on) const {
    RawMcd out;
    out.exact = true;
    out.on_plane = on;
    const Index m = on.count();
    out.mean = Vector::Zero(p_);
    for (Index i = 0; i < n_; ++i)
      if (on[i]) out.mean += X_.row(i).transpose();
    out.mean /= static_cast<double>(m);
    out.cov = Matrix::Zero(p_, p_);
    for (Index i = 0; i < n_; ++i)
      if (on[i]) {
        const Vector c = X_.row(i).transpose() - out.mean;
        out.cov += c * c.transpose();
        out.best.push_back(i);
      }
    out.cov /= static_cast<double>(std::max<Index>(m - 1, 1));
    out.logdet = -std::numeric_limits<double>::infinity();
    return out;
  }

  // Standardised (mean, cov) back to the original units.
  void unstandardise(Vector& mean, Matrix& cov) const {
    mean = mean.cwiseProduct(mad_) + med_;
    cov = mad_.asDiagonal() * cov * mad_.asDiagonal();
  }

  RawMcd exact_fit_std(Vector mean, Matrix cov) const {
    unstandardise(mean, cov);
    return exact_fit(mean, cov);
  }

  static void keep_candidate(std::vector<Candidate>& best, double logdet,
                             const Eigen::Ref<const Vector>& mean, const Eigen::Ref<const Matrix>& cov) {
    // The same local optimum reached from another start is kept once.
    for (const Candidate& c : best)
      if (c.logdet == logdet && c.mean == mean && c.cov == cov) return;
    auto pos = std::find_if(best.begin(), best.end(),
                            [&](const Candidate& c) { return logdet <= c.logdet; });
    if (pos - best.begin() >= 10) return;
    best.insert(pos, Candidate{logdet, Vector(mean), Matrix(cov)});
    if (best.size() > 10) best.pop_back();
  }

  const Matrix& X_;
  Index n_, p_, h_;
  McdOptions opt_;
  Rng& rng_;
  bool avx_;  // use the AVX build of the kernels
  double eps_;
  Vector med_, mad_;
  Matrix Z_;                // standardised data (n x p)
  Index n_pad_ = 0;         // n rounded up to a multiple of 4
  AlignedDoubles Zp_;       // Z_ by columns of n_pad_ rows (zero padding)
};

RawMcd FastMcd::run() {
  // Standardise each column by its median and the h-th smallest absolute deviation; a
  // zero scale means at least h equal values: the hyperplane x_j = median is an exact fit.
  med_.resize(p_);
  mad_.resize(p_);
  std::vector<double> col(static_cast<std::size_t>(n_));
  for (Index j = 0; j < p_; ++j) {
    for (Index i = 0; i < n_; ++i) col[i] = X_(i, j);
    med_[j] = median_of(col);
    for (Index i = 0; i < n_; ++i) col[i] = std::fabs(X_(i, j) - med_[j]);
    std::nth_element(col.begin(), col.begin() + (h_ - 1), col.end());
    mad_[j] = col[h_ - 1];
    if (mad_[j] < eps_)
      return exact_fit_rows(((X_.col(j).array() - med_[j]).abs() < 1e-8).eval());
  }
  Z_ = ((X_.rowwise() - med_.transpose()).array().rowwise() / mad_.transpose().array()).matrix();
  n_pad_ = (n_ + 3) & ~Index{3};
  Zp_.assign(static_cast<std::size_t>(n_pad_ * p_), 0.0);
  for (Index j = 0; j < p_; ++j)
    for (Index i = 0; i < n_; ++i) Zp_[static_cast<std::size_t>(j * n_pad_ + i)] = Z_(i, j);
  Work wk(n_, n_pad_, p_);

  // Stage 1: starts from (p+1)-subsets, two C-steps each; keep the 10 best.
  // The starts are drawn in order first (or enumerated for tiny n), the C-steps from them
  // run in parallel (nl::parallel_for), and their results are taken in start order, so
  // the outcome does not depend on the number of threads. A singular start is enlarged
  // by random rows (rffastmcd label 9550), which draws from the stream between two
  // starts: from the first singular start on, the rest of stage 1 is redone in order
  // from the stream state after that start was drawn, so the stream is used exactly as
  // by a sequential run. (In general position no start is singular.)
  const Index nsel = p_ + 1;
  const bool all = n_ <= replow(nsel);
  std::vector<Index> sub(static_cast<std::size_t>(nsel));
  std::iota(sub.begin(), sub.end(), Index{0});
  const auto next_start = [&](Index trial) {
    if (all) return trial == 0 || next_combination(sub, n_);
    if (trial >= opt_.nsamp) return false;
    random_subset(nsel, sub);
    return true;
  };
  std::vector<std::vector<Index>> starts;
  std::vector<Rng> after_draw;  // the stream state after each start was drawn
  if (!all) {
    starts.reserve(static_cast<std::size_t>(opt_.nsamp));
    after_draw.reserve(static_cast<std::size_t>(opt_.nsamp));
  }
  for (Index trial = 0; next_start(trial); ++trial) {
    starts.push_back(sub);
    after_draw.push_back(rng_);
  }
  const std::size_t ntrial = starts.size();
  std::vector<Trial> trials(ntrial);
  Matrix tmean(p_, static_cast<Index>(ntrial)), tcov(p_ * p_, static_cast<Index>(ntrial));
  const std::size_t chunk = 16;
  parallel_for((ntrial + chunk - 1) / chunk, [&](std::size_t c) {
    Work w(n_, n_pad_, p_), w2(n_, n_pad_, p_);
    const std::size_t end = std::min(ntrial, (c + 1) * chunk);
    for (std::size_t t = c * chunk; t < end;) {
      const auto ti = static_cast<Index>(t);
      if (t + 1 < end) {  // two starts at once
        run_trial_pair(w, w2, starts[t], starts[t + 1], tmean.col(ti).data(),
                       tcov.col(ti).data(), tmean.col(ti + 1).data(), tcov.col(ti + 1).data(),
                       trials[t], trials[t + 1]);
        if (trials[t].singular || trials[t + 1].singular) break;  // redone in order below
        t += 2;
      } else {
        trials[t] = run_trial(w, starts[t], tmean.col(ti).data(), tcov.col(ti).data());
        if (trials[t].singular) break;
        ++t;
      }
    }
  });
  std::vector<Candidate> cand;
  std::size_t t = 0;
  for (; t < ntrial && !trials[t].singular; ++t) {
    const auto ti = static_cast<Index>(t);
    const Eigen::Map<const Matrix> C(tcov.col(ti).data(), p_, p_);
    if (trials[t].exact) return exact_fit_std(tmean.col(ti), C);
    keep_candidate(cand, trials[t].logdet, tmean.col(ti), C);
  }
  Vector mean(p_);
  Matrix cov(p_, p_);
  if (t < ntrial) {  // a singular start: continue sequentially from it
    rng_ = after_draw[t];
    sub = starts[t];
    for (Index trial = static_cast<Index>(t);; ++trial) {
      if (trial > static_cast<Index>(t) && !next_start(trial)) break;
      if (trial % 32 == 0) check_interrupt();
      std::vector<Index> start = sub;
      for (;;) {
        mean_cov(wk, start, mean, cov);
        if (factor(wk, cov)) break;
        Eigen::SelfAdjointEigenSolver<Matrix> es(cov);
        const Vector z = es.eigenvectors().col(0);
        const Vector dist = ((Z_.rowwise() - mean.transpose()) * z).cwiseAbs();
        if (hth_smallest(wk, dist.data()) < 1e-8) return exact_fit_std(mean, cov);
        add_random_row(start);
      }
      const Trial tr = run_trial(wk, start, mean.data(), cov.data());
      if (tr.exact) return exact_fit_std(mean, cov);
      keep_candidate(cand, tr.logdet, mean, cov);
    }
  }

  // Stage 3: C-steps from each candidate until det stops changing (at most max_csteps).
  double best_logdet = std::numeric_limits<double>::infinity();
  Vector best_mean;
  Matrix best_cov;
  std::vector<Index> best_H, H, Hprev;
  bool settled = true;  // every candidate's C-steps stopped before max_csteps
  for (std::size_t c = 0; c < cand.size(); ++c) {
    check_interrupt();
    if (!factor(wk, cand[c].cov)) return exact_fit_std(cand[c].mean, cand[c].cov);
    distances(wk, cand[c].mean.data());
    smallest(wk, H);
    double deti = kNoDet, detimin1 = kNoDet;
    bool stopped = false;
    for (Index step = 1; step <= opt_.max_csteps && !stopped; ++step) {
      mean_cov(wk, H, mean, cov);
      if (!factor(wk, cov)) return exact_fit_std(mean, cov);
      const double ld = logdet(wk);
      // rffastmcd compares with the determinant two steps back; det never increases,
      // so this stops one step after convergence.
      if (step >= 2 && ld == detimin1) {
        stopped = true;
        break;
      }
      detimin1 = deti;
      deti = ld;
      if ((c == 0 && step == 1) || ld < best_logdet) {
        best_logdet = ld;
        best_mean = mean;
        best_cov = cov;
        best_H = H;
      }
      distances(wk, mean.data());
      Hprev.swap(H);
      smallest(wk, H);
      // A fixed point: every further step would repeat this one exactly (the same
      // subset, mean, covariance and det, which is no improvement), so the loop would only
      // run on until its det test stops it. Leaving now gives the same result.
      stopped = H == Hprev;
    }
    settled = settled && stopped;
  }
  solver_outcome("MCD", settled, fmt::format("({} C-steps)", opt_.max_csteps),
                 "the h-subset kept changing; the covariance is the best found so far");

  RawMcd out;
  out.mean = best_mean;
  out.cov = best_cov;
  unstandardise(out.mean, out.cov);
  out.logdet = best_logdet + 2.0 * mad_.array().log().sum();
  out.best = best_H;
  return out;
}

// Squared Mahalanobis distances of the rows of X; nullopt-like empty when cov is not
// positive definite.
bool mahalanobis(const Matrix& X, const Vector& center, const Matrix& cov, Vector& out) {
  Eigen::LLT<Matrix> llt(cov);
  if (llt.info() != Eigen::Success) return false;
  Matrix D = (X.rowwise() - center.transpose()).transpose();
  llt.matrixL().solveInPlace(D);
  out = D.colwise().squaredNorm().transpose();
  return true;
}

// R's cov.wt(x, wt = 0/1 weights): weighted mean, covariance with divisor sum(w) - 1.
void cov_wt(const Matrix& X, const Mask& w, Vector& center, Matrix& cov) {
  const Index n = X.rows(), p = X.cols();
  const Index m = w.count();
  center = Vector::Zero(p);
  for (Index i = 0; i < n; ++i)
    if (w[i]) center += X.row(i).transpose();
  center /= static_cast<double>(m);
  Matrix C(p, m);
  for (Index i = 0, r = 0; i < n; ++i)
    if (w[i]) C.col(r++) = X.row(i).transpose() - center;
  cov = C * C.transpose() / static_cast<double>(m - 1);
}

double log_abs_det(const Matrix& A) {
  return std::log(std::fabs(A.partialPivLu().determinant()));
}

}  // namespace

// ---------------------------------------------------------------- covMcd

McdResult cov_mcd(const Matrix& X, const McdOptions& options, Rng& rng) {
  const Index n = X.rows(), p = X.cols();
  if (p < 1) throw ValueError("cov_mcd: X has no columns");
  if (!(options.alpha >= 0.5 && options.alpha <= 1.0))
    throw ValueError(fmt::format("cov_mcd: alpha must be in [0.5, 1], got {}", options.alpha));
  if (options.nsamp < 1 || options.max_csteps < 1)
    throw ValueError("cov_mcd: nsamp and max_csteps must be at least 1");
  if (n <= p + 1)
    throw ValueError(fmt::format("cov_mcd: need n > p + 1 observations, got n = {} for p = {}",
                                 n, p));
  check_finite(X, "cov_mcd");
  const double alpha = options.alpha;
  const Index h = h_alpha_n(alpha, n, p);
  if (h > n) throw ValueError("cov_mcd: h(alpha; n, p) exceeds n");
  const double cutoff = qchisq(0.975, static_cast<double>(p));
  const double dn = static_cast<double>(n);

  McdResult res;
  res.h = h;

  // h == n: the classical estimates, reweighted once (covMcd's "alpha = 1" branch).
  if (h == n) {
    res.raw_center = X.colwise().mean().transpose();
    const Matrix Xc = X.rowwise() - res.raw_center.transpose();
    res.raw_cov = Xc.transpose() * Xc / (dn - 1);
    res.crit = log_abs_det(res.raw_cov);
    res.best.resize(static_cast<std::size_t>(n));
    std::iota(res.best.begin(), res.best.end(), Index{0});
    if (-res.crit / static_cast<double>(p) > 50 ||
        !mahalanobis(X, res.raw_center, res.raw_cov, res.raw_mah)) {
      res.center = res.raw_center;
      res.cov = res.raw_cov;
      res.raw_weights = res.weights = Mask::Constant(n, true);
      res.raw_mah.resize(0);
      res.exact_fit = true;
      return res;
    }
    res.raw_weights = res.raw_mah.array() < cutoff;
    cov_wt(X, res.raw_weights, res.center, res.cov);
    const Index sw = res.raw_weights.count();
    if (sw != n) {
      res.cnp2[0] = mcd_consistency(p, static_cast<double>(sw) / dn);
      res.cov *= res.cnp2[0];
    }
    if (!mahalanobis(X, res.center, res.cov, res.mah)) res.mah = res.raw_mah;
    res.weights = res.mah.array() < cutoff;
    return res;
  }

  const double calpha = mcd_consistency(p, static_cast<double>(h) / dn);
  const double correct = options.use_correction ? mcd_small_sample_raw(p, n, alpha) : 1.0;
  res.raw_cnp2[0] = calpha;
  res.raw_cnp2[1] = correct;

  // p = 1: the exact univariate MCD (rfmcduni): the best window of sorted values.
  if (p == 1) {
    std::vector<double> y(X.data(), X.data() + n);
    std::vector<Index> ord(static_cast<std::size_t>(n));
    std::iota(ord.begin(), ord.end(), Index{0});
    std::stable_sort(ord.begin(), ord.end(), [&](Index a, Index b) { return y[a] < y[b]; });
    std::vector<double> ys(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) ys[i] = y[ord[i]];
    const detail::WindowScan w = detail::scan_windows(ys.data(), n, h);
    const double center = w.center;
    const double scale = std::sqrt(calpha * correct) * std::sqrt(w.sqmin / static_cast<double>(h));
    res.best.assign(ord.begin() + w.first, ord.begin() + w.first + h);
    std::sort(res.best.begin(), res.best.end());
    res.raw_center = Vector::Constant(1, center);
    const Eigen::ArrayXd x = X.col(0).array();
    if (std::fabs(scale) < 1e-7) {  // at least h identical values
      res.exact_fit = true;
      res.raw_cov = res.cov = Matrix::Zero(1, 1);
      res.center = res.raw_center;
      res.crit = -std::numeric_limits<double>::infinity();
      res.raw_weights = res.weights = (x - center).abs() < 1e-7;
      return res;
    }
    res.raw_cov = Matrix::Constant(1, 1, scale * scale);
    res.raw_mah = ((x - center) / scale).square().matrix();
    res.raw_weights = res.raw_mah.array() < cutoff;
    cov_wt(X, res.raw_weights, res.center, res.cov);
    const Index sw = res.raw_weights.count();
    if (sw != n) {
      res.cnp2[0] = mcd_consistency(1, static_cast<double>(sw) / dn);
      res.cnp2[1] = options.use_correction ? mcd_small_sample_reweighted(1, n, alpha) : 1.0;
      res.cov *= res.cnp2[0] * res.cnp2[1];
    }
    // crit: log of the h smallest squared deviations from the raw center / (h - 1).
    std::vector<double> r2(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) r2[i] = (x[i] - center) * (x[i] - center);
    std::nth_element(r2.begin(), r2.begin() + (h - 1), r2.end());
    long double ss = 0;
    for (Index i = 0; i < h; ++i) ss += r2[i];
    res.crit = std::log(static_cast<double>(ss) / static_cast<double>(std::max<Index>(1, h - 1)));
    const double s1 = std::sqrt(res.cov(0, 0));
    res.mah = ((x - res.center[0]) / s1).square().matrix();
    res.weights = res.mah.array() < cutoff;
    return res;
  }

  // p >= 2: FAST-MCD.
  FastMcd fast(X, h, options, rng);
  RawMcd raw = fast.run();
  res.best = raw.best;
  if (raw.exact) {  // covMcd: no reweighting; the rows on the hyperplane get weight 1
    res.exact_fit = true;
    res.raw_center = res.center = raw.mean;
    res.raw_cov = res.cov = calpha * correct * raw.cov;
    res.crit = -std::numeric_limits<double>::infinity();
    res.raw_weights = res.weights = raw.on_plane;
    return res;
  }
  res.crit = raw.logdet;
  res.raw_center = raw.mean;
  res.raw_cov = calpha * correct * raw.cov;
  if (!mahalanobis(X, res.raw_center, res.raw_cov, res.raw_mah))
    throw ValueError("cov_mcd: the raw MCD covariance is not positive definite");
  res.raw_weights = res.raw_mah.array() < cutoff;
  cov_wt(X, res.raw_weights, res.center, res.cov);
  const Index sw = res.raw_weights.count();
  const bool zero_col = ((res.cov.array() == 0.0).colwise().all()).any();
  if (!zero_col && sw != n) {
    res.cnp2[0] = mcd_consistency(p, static_cast<double>(sw) / dn);
    res.cnp2[1] = options.use_correction ? mcd_small_sample_reweighted(p, n, alpha) : 1.0;
    res.cov *= res.cnp2[0] * res.cnp2[1];
  }
  // A (numerically) singular reweighted covariance keeps the raw distances (covMcd).
  if (zero_col || -log_abs_det(res.cov) / static_cast<double>(p) > 50 ||
      !mahalanobis(X, res.center, res.cov, res.mah)) {
    res.mah = res.raw_mah;
    res.weights = res.raw_weights;
  } else {
    res.weights = res.mah.array() < cutoff;
  }
  return res;
}

}  // namespace nl::stats

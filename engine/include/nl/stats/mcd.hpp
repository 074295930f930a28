// nl/stats/mcd.hpp: the Minimum Covariance Determinant estimator (FAST-MCD) and the
// univariate MCD used by ROBPCA.
//
// Objective (Rousseeuw 1984). For X (n x p) and h with (n + p + 1)/2 <= h <= n, find
//     H* = argmin_{H subset of rows, |H| = h}  det( S_H ),
//     T_H = mean of the rows in H,   S_H = 1/(h-1) sum_{i in H} (x_i - T_H)(x_i - T_H)'.
// Raw MCD: T0 = T_H*, S0 = c_alpha * c_np * S_H*, where c_alpha = alpha / F_{chi2(p+2)}
// (chi2_p^{-1}(alpha)) (with alpha = h/n) makes S0 consistent at the normal, and c_np is
// the small-sample factor of Pison, Van Aelst & Willems (2002). Reweighting: w_i =
// [ d^2(x_i; T0, S0) < chi2_p^{-1}(0.975) ], T1 = weighted mean, S1 = weighted covariance
// (divisor sum w - 1) times the consistency and small-sample factors for sum(w)/n.
//
// Algorithm: FAST-MCD (Rousseeuw & Van Driessen 1999, Technometrics 41:212-223), as in
// robustbase::covMcd 0.95 (Fortran rffastmcd) with its defaults: the data are
// standardised by the column median and the h-th smallest |x - median|; nsamp (500)
// random (p+1)-subsets, or all of them when n is tiny (n <= 50, 22, 17, 15, 14 for
// p = 1..5); a singular start subset is enlarged by random points until it is
// non-singular; two C-steps per start (a C-step replaces H by the h rows with the
// smallest Mahalanobis distances under (T_H, S_H); det(S_H) never increases); the 10
// best distinct solutions are iterated to convergence (at most 100 C-steps). p = 1 is
// solved exactly: the optimal h-subset is a window of h consecutive order statistics,
// found in O(n log n). When h rows lie on a hyperplane (det S_H = 0) the estimate is
// returned as an "exact fit" (the mean and covariance of the rows on that hyperplane),
// as covMcd does.
//
// Speed and determinism: the starts are drawn in order, their C-steps run in parallel
// (nl::parallel_for) and are taken in start order, so the random stream is used exactly
// as by a sequential run (a singular start, which draws more rows, makes the rest of
// stage 1 run in order from it) and the result is bit-identical for any number of
// threads. The covariance, distance and selection kernels work on columns padded to
// multiples of 4 or 16 rows with a fixed order of operations, with a second build for
// AVX CPUs that gives the same bits (nl::simd_avx()).
//
// Deviations from covMcd, all documented at their use: (1) for n >= 600 covMcd runs
// FAST-MCD on up to 5 disjoint subsamples of 300 first; here the whole data set is
// always used (slower, same estimator); (2) random subsets come from nl::Rng, so runs
// differ from R's in which starts are tried, not in the objective; (3) non-finite rows
// are an error instead of being dropped silently.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/core/linalg.hpp"

namespace nl::stats {

using Index = Eigen::Index;
using Mask = Eigen::Array<bool, Eigen::Dynamic, 1>;

// ---------------------------------------------------------------- constants

// robustbase::h.alpha.n: h = floor(2 n2 - n + 2 (n - n2) alpha), n2 = floor((n+p+1)/2).
Index h_alpha_n(double alpha, Index n, Index p);

// Consistency factor at the normal for a trimmed covariance keeping the fraction alpha:
// alpha / P(chi2_{p+2} <= chi2_p^{-1}(alpha))  (robustbase .MCDcons).
double mcd_consistency(Index p, double alpha);

// Small-sample correction factors of Pison, Van Aelst & Willems (2002) for the raw and
// the reweighted MCD covariance (robustbase .MCDcnp2 and .MCDcnp2.rew, including the
// simulated table used for alpha = 0.5 and n <= 20).
double mcd_small_sample_raw(Index p, Index n, double alpha);
double mcd_small_sample_reweighted(Index p, Index n, double alpha);

// ---------------------------------------------------------------- univariate MCD

// rrcov's unimcd(y, quan = h), the univariate MCD used by ROBPCA: the window of h
// consecutive order statistics with the smallest variance (the middle one among exact
// ties), raw scale sqrt(SS/(h-1)) rescaled so that the h-th smallest squared standardised
// residual equals chi2_1^{-1}(h/n), then reweighted with w = [res < chi2_1^{-1}(0.975)]:
// center = weighted mean, scale = weighted standard deviation (divisor sum w - 1).
// O(n log n). Contract: 1 <= h <= n; h = n gives the mean and the standard deviation.
struct UnivariateMcd {
  double center = 0.0;
  double scale = 0.0;
  Mask weights;  // filled only when requested (want_weights)
};

// Constants of unimcd that depend only on (n, h): computed once for many columns.
struct UnimcdSetup {
  Index n = 0, h = 0;
  double chi2_h_over_n = 0.0;  // chi2_1^{-1}(h/n)
  double chi2_975 = 0.0;       // chi2_1^{-1}(0.975)
};
UnimcdSetup unimcd_setup(Index n, Index h);

UnivariateMcd unimcd(const Eigen::Ref<const Vector>& y, const UnimcdSetup& setup,
                     bool want_weights = false);
UnivariateMcd unimcd(const Eigen::Ref<const Vector>& y, Index h, bool want_weights = false);

// ---------------------------------------------------------------- FAST-MCD

struct McdOptions {
  double alpha = 0.5;        // h = h_alpha_n(alpha, n, p); 0.5 <= alpha <= 1
  Index nsamp = 500;         // number of random (p+1)-subsets
  Index max_csteps = 100;    // C-steps for each of the 10 best candidates (k3)
  bool use_correction = true;  // small-sample factors (covMcd's default)
};

struct McdResult {
  Vector center;      // reweighted location T1
  Matrix cov;         // reweighted scatter S1 (consistency and small-sample corrected)
  Vector raw_center;  // T0
  Matrix raw_cov;     // S0 = raw_cnp2[0] * raw_cnp2[1] * S_H*
  Index h = 0;
  double crit = 0.0;  // log det S_H* (unscaled h-subset covariance); -inf for an exact fit
  std::vector<Index> best;  // the optimal h-subset H*, 0-based, ascending
  Mask raw_weights;   // [d^2(x_i; T0, S0) < chi2_p^{-1}(0.975)]
  Mask weights;       // the same rule under (T1, S1): covMcd's mcd.wt
  Vector raw_mah;     // d^2(x_i; T0, S0); empty for an exact fit
  Vector mah;         // d^2(x_i; T1, S1); empty for an exact fit
  double raw_cnp2[2] = {1.0, 1.0};  // (c_alpha, small-sample factor) applied to S_H*
  double cnp2[2] = {1.0, 1.0};      // the same for the reweighted covariance
  bool exact_fit = false;  // at least h rows on a hyperplane: center/cov are those rows'
                           // mean and covariance and weights mark them (covMcd warns)
};

// FAST-MCD of X (n x p, all finite). Throws ValueError when n <= p + 1, when a value
// is not finite (naming its row and column, 1-based), or when the options are out of
// range. rng supplies the random subsets; the same stream state gives the same result.
McdResult cov_mcd(const Matrix& X, const McdOptions& options, Rng& rng);

}  // namespace nl::stats

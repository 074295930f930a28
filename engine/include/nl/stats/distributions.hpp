// nl/stats/distributions.hpp: tail probabilities and quantiles of the reference
// distributions used by the tests (Student t, F, chi-squared, standard normal).
//
// All are thin wrappers over Boost.Math (regularized incomplete beta and gamma functions,
// computed to near double precision, including far into the tails: the upper tail is
// evaluated directly as a complement, never as 1 - cdf). Conventions:
//  * a NaN argument gives NaN (nothing throws for it);
//  * statistics may be infinite (t = +inf has upper tail 0);
//  * degrees of freedom must be positive and may be fractional (Welch); df = +inf is
//    allowed for t and means the standard normal.
#pragma once

namespace nl::stats {

// Which tail of a t statistic a p-value counts: both (P(|T| >= |t|)), the upper
// (P(T >= t)) or the lower (P(T <= t)).
enum class Tail { Two, Right, Left };

// P(T >= t) for Student's t with df degrees of freedom.
double t_upper(double t, double df);
// The p-value of t in the given tail(s).
double t_pvalue(double t, double df, Tail tail = Tail::Two);
// The q-quantile of Student's t (0 < q < 1).
double t_quantile(double q, double df);

// P(F >= f) for Fisher's F with (df1, df2) degrees of freedom, and the q-quantile.
double f_upper(double f, double df1, double df2);
double f_quantile(double q, double df1, double df2);

// P(X >= x) for chi-squared with df degrees of freedom.
double chi2_upper(double x, double df);

// P(Z >= z) and the q-quantile of the standard normal.
double normal_upper(double z);
double normal_quantile(double q);

// P(X >= x) for Pearson's type III distribution with the given mean, standard deviation
// and skewness (a gamma distribution shifted and scaled to those moments, reflected
// for negative skewness; the normal when |skew| < 1e-8), as scipy.stats.pearson3.
double pearson3_upper(double x, double mean, double sd, double skew);

}  // namespace nl::stats

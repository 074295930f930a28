// nl/stats/classical.hpp: the classical tests of the source studies (METHODS.md
// sections 2-4): correlations, t-tests, the chi-squared test of independence, one-way
// repeated-measures ANOVA and the Bonferroni correction.
//
// Semantics follow scipy.stats 1.10 / statsmodels (and R, where they agree):
//  * pearson: r = sum dx dy / sqrt(sum dx^2 sum dy^2), t = r sqrt((n - 2) / (1 - r^2)),
//    p from Student t with n - 2 df (scipy pearsonr); CI by Fisher's z,
//    tanh(atanh r -+ z_q / sqrt(n - 3)) (R cor.test; n >= 4, else NaN).
//  * spearman: Pearson r of the mid-ranks (ties averaged), p from t with n - 2 df as
//    scipy spearmanr (R's cor.test uses an exact or Edgeworth p for small n instead);
//    no CI (NaN).
//  * ttest_one (mean vs mu), ttest_paired (mean of x - y vs 0), ttest_two with pooled
//    variance (Student) or Welch-Satterthwaite df (Welch). The estimate is what R's
//    t.test reports: mean(x) (one-sample), the mean of x - y (paired), mean(x) - mean(y)
//    (two-sample); t = (estimate - null value) / se; CI = estimate -+ t_q(df) se at 95 %.
//  * chi2_independence: Pearson's X^2 on an r x c table of counts against
//    E_ij = row_i col_j / total, df = (r - 1)(c - 1); with `yates`, each |O - E| is
//    reduced by min(0.5, |O - E|) when df = 1 (scipy chi2_contingency, R chisq.test).
//  * anova_rm: subjects x conditions, F = MS_conditions / MS_error with
//    SS_error = SS_total - SS_subjects - SS_conditions, df (k - 1, (n - 1)(k - 1))
//    (statsmodels AnovaRM; no sphericity correction).
//  * bonferroni: min(1, m p) with m the number of non-NaN p-values (R p.adjust); NaN
//    stays NaN.
//
// One-sided alternatives (tail Right: the true value is greater) give one-sided
// p-values and one-sided 95 % intervals, as R's `alternative = "greater"` / "less".
//
// Errors (nl::ValueError naming "x", "y" or "table"): a non-finite value (with its
// position), lengths that differ where they must agree, too few observations, and data
// for which the statistic is undefined (a constant sample, zero variance).
#pragma once

#include <Eigen/Dense>

#include "nl/core/linalg.hpp"
#include "nl/stats/distributions.hpp"

namespace nl::stats {

struct Correlation {
  double r = 0, t = 0, df = 0, p = 0;
  double ci_low = 0, ci_high = 0;  // NaN for Spearman or n < 4
  Eigen::Index n = 0;
};

Correlation pearson(const Vector& x, const Vector& y, Tail tail = Tail::Two);
Correlation spearman(const Vector& x, const Vector& y, Tail tail = Tail::Two);

// Mid-ranks (1-based, ties averaged).
Vector midranks(const Vector& x);

struct TTest {
  double t = 0, df = 0, p = 0;
  double estimate = 0, se = 0, ci_low = 0, ci_high = 0;
  double mean_x = 0, mean_y = 0;  // mean_y: mu for the one-sample test
  Eigen::Index n_x = 0, n_y = 0;
};

TTest ttest_one(const Vector& x, double mu = 0, Tail tail = Tail::Two);
TTest ttest_two(const Vector& x, const Vector& y, bool welch, Tail tail = Tail::Two);
TTest ttest_paired(const Vector& x, const Vector& y, Tail tail = Tail::Two);

struct Chi2Test {
  double chi2 = 0, df = 0, p = 0;
  Matrix expected;
  bool yates = false;  // the correction was applied (requested and df = 1)
};

Chi2Test chi2_independence(const Matrix& table, bool yates = true);

struct RmAnova {
  double F = 0, df1 = 0, df2 = 0, p = 0;
  double ss_conditions = 0, ss_subjects = 0, ss_error = 0;
  Vector means;  // per condition
};

RmAnova anova_rm(const Matrix& Y);

Vector bonferroni(const Vector& p);

}  // namespace nl::stats

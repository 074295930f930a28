// nl/stats/glm.hpp: the general linear model fitted to many responses at once, t and F
// contrasts with parametric p-values, and the standard group designs.
//
// Model (one design, m responses, e.g. subjects x edges):
//     Y = X B + E,   X: n x p design,  Y: n x m data,  B: p x m,  E ~ N(0, sigma_j^2 I)
// per column j. Estimates (ordinary least squares through the pseudo-inverse, as
// statsmodels OLS does, so rank-deficient designs work):
//     B^ = X^+ Y,   r = rank(X),   df = n - r,   sigma_j^2 = RSS_j / df,
//     D = (X'X)^+ = X^+ X^+'.
// The rank counts singular values above eps * max(n, p) * s_max (NumPy's matrix_rank).
//
// t contrast c (1 x p):   t_j = c B^_j / sqrt(sigma_j^2 c D c'),  df degrees of freedom.
// F contrast C (s x p):   F_j = (C B^_j)' (C D C')^{-1} (C B^_j) / (s sigma_j^2),  (s, df).
// A contrast must be estimable: each row must lie in the row space of X (c = c X^+ X),
// which always holds for a full-rank X; with a rank-deficient X a contrast on an
// unidentified combination (say the difference of two identical columns) is a
// ValueError. The rows of an F contrast must be linearly independent.
//
// A column that the design fits exactly (residual norm at most 1e-10 times the norm of
// the column, e.g. a constant column with an intercept in the design) has no error
// variance: its t, F and p are NaN rather than the ratio of two rounding errors.
//
// Errors (nl::ValueError, messages name "design", "data" or "contrast"): rows that do
// not agree, a non-finite entry (with its row and column), no residual degrees of
// freedom (n <= rank), a contrast of the wrong length, all zero, not estimable, or an F
// contrast with dependent rows.
#pragma once

#include <Eigen/Dense>
#include <string>
#include <vector>

#include "nl/core/linalg.hpp"
#include "nl/stats/distributions.hpp"

namespace nl::stats {

using Index = Eigen::Index;

// ---------------------------------------------------------------- fit

struct GlmFit {
  Index n = 0, p = 0, m = 0;
  Index rank = 0;
  double df = 0;           // residual degrees of freedom, n - rank
  Matrix beta;             // p x m
  Vector rss;              // m residual sums of squares
  std::vector<bool> exact; // m: the design fits the column exactly (no error variance)
  Matrix pinv;             // p x n, X^+
  Matrix cov_unscaled;     // p x p, D = (X'X)^+
  Matrix row_basis;        // p x rank, orthonormal basis of the row space of X
};

GlmFit glm_fit(const Matrix& X, const Matrix& Y);

// ---------------------------------------------------------------- contrasts

struct TContrast {
  Vector effect;  // m: c B^
  Vector se;      // m: standard error of the effect
  Vector t;       // m
  Vector p;       // m: in the requested tail(s)
  double df = 0;
};

struct FContrast {
  Vector F;  // m
  Vector p;  // m: upper tail
  double df1 = 0, df2 = 0;
};

// Checks a contrast (s x p; one row for t) against a fit: length, zero rows,
// estimability and, for several rows, linear independence. Throws ValueError.
void check_contrast(const GlmFit& fit, const Matrix& C);

TContrast t_contrast(const GlmFit& fit, const Vector& c, Tail tail = Tail::Two);
FContrast f_contrast(const GlmFit& fit, const Matrix& C);

// ---------------------------------------------------------------- designs

// How the rows may be rearranged under the null hypothesis (Winkler et al. 2014):
// permutations (exchangeable errors), sign flips (independent and symmetric errors), or
// both. Blocks restrict permutations to rows of the same block.
enum class Exchange { Permute, SignFlip, Both };

// A design matrix with its contrast of interest, column names and the exchangeability
// its test needs.
struct Design {
  Matrix X;                          // n x p
  Matrix contrast;                   // 1 x p
  std::vector<std::string> names;    // p column names
  Exchange scheme = Exchange::Permute;
  std::vector<int> blocks;           // per row, 0-based block numbers; empty: no blocks
  std::string description;           // e.g. "two-sample: patient - control"
};

// Covariates are added as columns after the group columns, each centred on its mean
// (FSL's convention: the group columns then estimate means at the average covariate).
// cov is n x q (q may be 0), cov_names has q entries.

// One-sample test of the mean: X = [1, covariates], contrast [1, 0, ...], sign flipping.
Design one_sample_design(Index n, const Matrix& cov, const std::vector<std::string>& cov_names);

// Two-sample test: group[i] is 0 or 1; X = [group 0 indicator, group 1 indicator,
// covariates] (cell means), contrast [1, -1, 0, ...] = level 0 - level 1, permutations.
Design two_sample_design(const std::vector<int>& group, const std::string& level0, const std::string& level1,
                         const Matrix& cov, const std::vector<std::string>& cov_names);

// Paired test in long format: subject[i] in 0..S-1 (S = number of subjects) and
// condition[i] in {0, 1}; every subject has exactly one row per condition.
// X = [condition (+1/2 for level 0, -1/2 for level 1), one indicator per subject,
// covariates], contrast [1, 0, ...] = level 0 - level 1; permutations within subjects
// (blocks = subjects), which swaps a subject's two conditions, as FSL randomise's
// paired design with exchangeability blocks. subject_names has S entries.
Design paired_design(const std::vector<int>& subject, const std::vector<int>& condition, const std::string& level0,
                     const std::string& level1, const std::vector<std::string>& subject_names, const Matrix& cov,
                     const std::vector<std::string>& cov_names);

}  // namespace nl::stats

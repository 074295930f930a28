// nl/stats/lmm.hpp: linear mixed models with one grouping factor: a random intercept
// and optional random slopes, correlated (lme4's (1 + time | subject)), fitted by REML
// or maximum likelihood.
//
// Model (Bates, Maechler, Bolker & Walker 2015, "Fitting linear mixed-effects models
// using lme4", J Stat Softw 67(1), section 3):
//     y = X beta + Z b + e,   b ~ N(0, sigma^2 Lambda Lambda'),   e ~ N(0, sigma^2 I),
// with b = (b_1, ..., b_G), one q-vector per group (q = 1 + random slopes), and
// Lambda = I_G (x) T, where T is q x q lower triangular with parameters theta (its lower
// triangle column by column, lme4's order; diagonal >= 0). For fixed theta, the
// penalised least-squares problem min_{u, beta} ||y - X beta - Z Lambda u||^2 + ||u||^2
// is solved by the blocked Cholesky factorisation (per group g, since Z is block
// diagonal):
//     L_g L_g' = T' Z_g' Z_g T + I,          R_ZX,g = L_g^-1 T' Z_g' X_g,
//     R_X' R_X = X'X - sum_g R_ZX,g' R_ZX,g,  c_u,g = L_g^-1 T' Z_g' y_g,
//     R_X beta = R_X^-T (X'y - sum_g R_ZX,g' c_u,g),   u_g = L_g^-T (c_u,g - R_ZX,g beta),
// and with r^2 = ||y - X beta - Z T u||^2 + ||u||^2 the profiled criteria are
//     ML:   -2 l(theta)  = log|L|^2 + n (1 + log(2 pi r^2 / n)),
//     REML: -2 lR(theta) = log|L|^2 + log|R_X|^2 + (n - p)(1 + log(2 pi r^2 / (n - p))).
// sigma^2 = r^2 / n (ML) or r^2 / (n - p) (REML); Var(beta) = sigma^2 (R_X' R_X)^-1.
//
// Optimisation over theta: a bounded Nelder-Mead simplex (diagonal entries projected
// onto >= 0), restarted once from its result, then Newton steps on the profiled
// criterion with central-difference derivatives (Richardson-extrapolated) for the free
// coordinates, a coordinate staying at its bound 0 when the criterion increases into
// the feasible side (a singular fit, as lme4 reports it).
//
// Inference for beta_j: t = beta_j / se_j with residual df = n - p (METHODS.md section 3:
// 40 observations, 3 coefficients, df 37), or Satterthwaite df as lmerTest computes
// them (Kuznetsova, Brockhoff & Christensen 2017, J Stat Softw 82(13)): with the
// variance parameters psi = (theta, sigma) and the unprofiled deviance D(psi), A = 2
// H^-1 (H the Hessian of D at the optimum) and g = d Var(beta_j) / d psi,
// df_j = 2 Var(beta_j)^2 / (g' A g). Two-sided p from Student's t (Boost.Math).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nl/core/linalg.hpp"
#include "nl/table/table.hpp"

namespace nl::stats {

// ---------------------------------------------------------------- model matrices

// The numeric form of a model: what the fit needs, no names.
struct LmmData {
  Vector y;                    // n
  Matrix X;                    // n x p fixed-effects design
  Matrix Z;                    // n x q random-effects covariates (column 0: the intercept, 1)
  std::vector<Eigen::Index> group;  // n, the group of each observation, 0..groups-1
  Eigen::Index groups = 0;
};

enum class DfMethod { Residual, Satterthwaite };

struct LmmOptions {
  bool reml = true;
  DfMethod df = DfMethod::Residual;
  int max_evaluations = 20000;  // of the profiled criterion, over all optimiser phases
};

struct LmmFit {
  // Fixed effects.
  Vector beta, se, t, df, p_value;  // p_value: two-sided, from Student's t with df
  Matrix vcov;            // p x p, sigma^2 (R_X' R_X)^-1
  // Variance parameters.
  Vector theta;           // lower triangle of T, column by column (lme4's getME(, "theta"))
  Matrix random_cov;      // q x q covariance of the random effects, sigma^2 T T'
  double sigma = 0;       // residual standard deviation
  // Criteria: `criterion` is -2 l (ML) or the REML criterion -2 lR, at the optimum.
  double criterion = 0, loglik = 0, aic = 0, bic = 0;
  bool reml = true;
  DfMethod df_method = DfMethod::Residual;
  // Conditional modes of the random effects (groups x q) and the fit.
  Matrix ranef;
  Vector fitted, residuals;
  Eigen::Index n = 0, p = 0, q = 0, groups = 0;
  int evaluations = 0;
  bool converged = false;  // the final gradient of the free coordinates is small
  bool singular = false;   // a diagonal entry of T below 1e-4 (lme4's isSingular): a variance
                           // (nearly) 0 or a correlation (nearly) +-1
  std::vector<std::string> notices;
};

// Fits the model. ValueError for a design with fewer than 2 groups, n <= groups * q,
// n <= p, or a rank-deficient X (naming nothing: see lmm() for names).
LmmFit fit_lmm(const LmmData& d, const LmmOptions& options);

// The profiled criterion at theta (for tests and diagnostics).
double lmm_criterion(const LmmData& d, const Vector& theta, bool reml);

// ---------------------------------------------------------------- the formula interface

// y ~ fixed terms + (1 + random... | group), with an intercept unless intercept = false.
// A term is a column name or an interaction "a:b" (any number of factors). Number
// columns enter as they are; String and Bool columns are factors with levels in
// ascending order (strings bytewise, false before true), the first level being the
// reference. As in R's model.matrix, a factor in a term is coded by treatment contrasts
// (one 0/1 column per non-reference level) when the term without that factor is also in
// the model (the empty term: the intercept), and by indicators of every level
// otherwise; terms are ordered by their number of factors, then as given. Columns are
// named "(Intercept)", "time", "group[B]", "time:response[true]". Random slopes must be
// Number columns. Rows with a missing cell in any column used are left out (R's
// na.omit), as are the levels that then do not occur.
struct LmmSpec {
  std::string y;
  std::vector<std::string> fixed;
  std::string group;
  std::vector<std::string> random;  // random slopes (besides the random intercept)
  bool intercept = true;
};

struct LmmModel {
  LmmSpec spec;
  LmmData data;
  std::vector<std::string> fixed_names;   // p
  std::vector<std::string> random_names;  // q: "(Intercept)", then the slopes
  std::vector<std::string> group_levels;  // groups, as text
  std::vector<std::size_t> rows;          // table rows used (0-based)
  std::size_t dropped = 0;                // rows left out for missing values
};

// Builds the model from a table. ValueError naming the column (unknown, wrong type, a
// factor with one level, a constant or collinear design column, ...).
LmmModel lmm_model(const Table& table, const LmmSpec& spec);

struct Lmm {
  LmmModel model;
  LmmFit fit;
};

// lmm_model + fit_lmm, with rank-deficiency errors naming the design columns.
Lmm lmm(const Table& table, const LmmSpec& spec, const LmmOptions& options);

// "time + time:response[true] + (1 + time | subject)"-style description of the spec.
std::string lmm_formula(const LmmSpec& spec);

// Results as tables: fixed effects (term, estimate, se, df, t, p); variance components
// (group, name, variance, sd, corr: the correlation with the first random term); the
// conditional modes (group level, one column per random term).
Table lmm_coefficients(const Lmm& m);
Table lmm_variance(const Lmm& m);
Table lmm_ranef(const Lmm& m);

// R-like summary: method, formula, criterion, random effects, fixed effects.
std::string format_lmm(const Lmm& m);

}  // namespace nl::stats

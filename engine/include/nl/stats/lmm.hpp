// nl/stats/lmm.hpp: linear mixed models as lme4's lmer fits them: any number of
// random-effect terms (crossed or nested grouping factors), each a random intercept and/or
// random slopes of numeric or factor terms with an unstructured covariance, fitted by
// REML or maximum likelihood; t and F tests with Satterthwaite df as lmerTest computes
// them; likelihood-ratio tests; Wald and profile intervals; prediction.
//
// Model (Bates, Maechler, Bolker & Walker 2015, "Fitting linear mixed-effects models
// using lme4", J Stat Softw 67(1), sections 2-3):
//     y = X beta + Z b + e,   b ~ N(0, sigma^2 Lambda Lambda'),   e ~ N(0, sigma^2 I).
// Random-effect term k has q_k columns Z_k and l_k levels; its block of Z has one column
// per (level, column), level-major, and its block of Lambda is I_{l_k} (x) T_k with T_k
// q_k x q_k lower triangular, parameters theta_k (its lower triangle column by column,
// lme4's order; diagonal >= 0). For fixed theta the penalised least-squares problem
// min ||y - X beta - Z Lambda u||^2 + ||u||^2 is solved by a sparse Cholesky
// factorisation (Eigen's SimplicialLLT with AMD ordering, lme4 uses CHOLMOD):
//     L L' = P (Lambda' Z' Z Lambda + I) P',   R_ZX = L^-1 P Lambda' Z' X,
//     R_X' R_X = X'X - R_ZX' R_ZX,   c_u = L^-1 P Lambda' Z' y,
//     R_X beta = R_X^-T (X'y - R_ZX' c_u),   u = P' L^-T (c_u - R_ZX beta),
// and with r^2 = ||y - X beta - Z Lambda u||^2 + ||u||^2 the profiled criteria are
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
// H^-1 (H the Hessian of D at the optimum) and, for a contrast l, g_i = l' dVar(beta)/dpsi_i l,
// df = 2 (l' Var(beta) l)^2 / (g' A g). Two-sided p from Student's t (Boost.Math).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nl/core/linalg.hpp"
#include "nl/table/table.hpp"

namespace nl::stats {

// ---------------------------------------------------------------- model matrices

// One random-effect term (effects | group) in numeric form.
struct LmmTerm {
  Matrix Z;                         // n x q: the term's covariates (column 0 often the intercept, 1)
  std::vector<Eigen::Index> level;  // n: the level of the grouping factor of each observation
  Eigen::Index levels = 0;          // l: levels of the grouping factor
};

// The numeric form of a model: what the fit needs, no names.
struct LmmData {
  Vector y;                    // n
  Matrix X;                    // n x p fixed-effects design
  std::vector<LmmTerm> terms;  // random-effect terms (lmm_model: lme4's order, most levels first)
};

enum class DfMethod { Residual, Satterthwaite };

struct LmmOptions {
  bool reml = true;
  DfMethod df = DfMethod::Residual;
  int max_evaluations = 20000;  // of the profiled criterion, over all optimiser phases
  Vector start;                 // a starting theta (empty: lme4's, 1 on the diagonals, 0 elsewhere)
};

struct LmmFit {
  // Fixed effects.
  Vector beta, se, t, df, p_value;  // p_value: two-sided, from Student's t with df
  Matrix vcov;            // p x p, sigma^2 (R_X' R_X)^-1
  // Variance parameters.
  Vector theta;           // the T_k's lower triangles, term by term (lme4's getME(, "theta"))
  std::vector<Matrix> random_cov;  // per term, q_k x q_k covariance of its random effects, sigma^2 T_k T_k'
  double sigma = 0;       // residual standard deviation
  // Criteria: `criterion` is -2 l (ML) or the REML criterion -2 lR, at the optimum.
  double criterion = 0, loglik = 0, aic = 0, bic = 0;
  bool reml = true;
  DfMethod df_method = DfMethod::Residual;
  // Conditional modes of the random effects (per term, levels x q_k) and the fit.
  std::vector<Matrix> ranef;
  Vector fitted, residuals;
  Eigen::Index n = 0, p = 0;
  std::vector<Eigen::Index> q, levels;  // per term
  int evaluations = 0;
  bool converged = false;  // the final gradient of the free coordinates is small
  bool singular = false;   // a diagonal entry of a T_k below 1e-4 (lme4's isSingular): a variance
                           // (nearly) 0 or a correlation (nearly) +-1
  // Satterthwaite's ingredients (filled with df = Satterthwaite, or by lmm_satterthwaite):
  // A = 2 H^-1 over psi = (theta, sigma), and dVar(beta)/dpsi_i for each i.
  Matrix varpar_cov;
  std::vector<Matrix> vcov_jacobian;
  std::vector<std::string> notices;
};

// Fits the model. ValueError for a term with fewer than 2 levels, n <= levels * q for a
// term, n <= p, or a rank-deficient X (naming nothing: see lmm() for names).
LmmFit fit_lmm(const LmmData& d, const LmmOptions& options);

// The profiled criterion at theta (for tests and diagnostics).
double lmm_criterion(const LmmData& d, const Vector& theta, bool reml);

// Fills fit.varpar_cov and fit.vcov_jacobian (when empty) and returns Satterthwaite's df
// for the contrast l (length p): 2 (l'Vl)^2 / (g'Ag). NaN (with a notice) when the
// Hessian of the deviance is not positive definite (a variance at its bound 0).
double satterthwaite_df(const LmmData& d, LmmFit& fit, const Vector& l);

// ---------------------------------------------------------------- the formula interface

// y ~ fixed terms + (effects | group) + ..., with an intercept unless intercept = false.
// A term is a column name or an interaction "a:b" (any number of factors). Number
// columns enter as they are; String and Bool columns are factors with levels in
// ascending order (strings bytewise, false before true), the first level being the
// reference. As in R's model.matrix, a factor in a term is coded by treatment contrasts
// (one 0/1 column per non-reference level) when the term without that factor is also in
// the model (the empty term: the intercept), and by indicators of every level
// otherwise; terms are ordered by their number of factors, then as given. Columns are
// named "(Intercept)", "time", "group[B]", "time:response[true]". The effects of a
// random term are coded by the same rules within that term ((1 + phase | s): intercept
// and phase[late]; (0 + phase | s): phase[early] and phase[late]). A grouping factor is
// a column or an interaction of columns ("batch:cask", levels "A:a", ...). Rows with a
// missing cell in any column used are left out (R's na.omit), as are the levels that
// then do not occur.
struct LmmRandomSpec {
  std::vector<std::string> effects;  // terms besides the intercept (numeric or factor)
  bool intercept = true;
  std::string group;                 // a column or an interaction "a:b"
};

struct LmmSpec {
  std::string y;
  std::vector<std::string> fixed;
  bool intercept = true;
  std::vector<LmmRandomSpec> random_terms;
  // The one-term shorthand (1 + random | group), used when random_terms is empty.
  std::string group;
  std::vector<std::string> random;
};

// Parses an R/lme4 model formula: "fc ~ time * group + (1 + time | subject)". Fixed
// part: + (add), - (remove; "- 1" drops the intercept, as does "0 +"), : (interaction), *
// (a*b = a + b + a:b), / (a/b = a + a:b), parentheses, backquoted names. Random terms
// (e | g): e as the fixed part (its own "0 +" / "- 1"); g a column, an interaction
// a:b, or a nesting a/b = (e | a) + (e | a:b); (e || g) is lme4's uncorrelated form,
// expanded as lme4 1.1 does: (1 | g) + (0 + e1 | g) + (0 + e2 | g) + ... (the columns of
// one factor term stay together, correlated). ValueError naming the position on a
// syntax error.
LmmSpec parse_lmm_formula(const std::string& formula);

// The random-effect terms of a spec: random_terms, or the shorthand as one term.
std::vector<LmmRandomSpec> lmm_random_terms(const LmmSpec& spec);

struct LmmModel {
  LmmSpec spec;
  LmmData data;
  std::vector<std::string> fixed_names;   // p
  std::vector<int> fixed_assign;          // p: the fixed term of each column (-1: intercept)
  std::vector<std::vector<std::string>> fixed_terms;  // the fixed terms' variables, in design order
  std::vector<bool> numeric_variable;     // per variable of the model (by name, below)
  std::vector<std::string> variables;
  // Per random term, in lme4's order (most levels first, stable): label (its group,
  // "Subject.1" for a second term of Subject), group, column names, levels as text.
  std::vector<std::string> term_labels, term_groups;
  std::vector<std::vector<std::string>> random_names, group_levels;
  std::vector<std::size_t> rows;          // table rows used (0-based)
  std::size_t dropped = 0;                // rows left out for missing values
  std::map<std::string, std::vector<std::string>> factor_levels;  // levels of each factor used
  // lmerTest's get_rdX for type 3 tests: the intercept, then each fixed term alone (~ 0 + term).
  Matrix rdX;
  std::vector<std::string> rdX_names;
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

// "y ~ time + time:response[true] + (1 + time | subject)"-style description of the spec.
std::string lmm_formula(const LmmSpec& spec);

// Results as tables: fixed effects (term, estimate, se, df, t, p); variance components
// (group, name, variance, sd, corr: the correlation with the term's first column); the
// conditional modes of term k (its group level, one column per random-effect column).
Table lmm_coefficients(const Lmm& m);
Table lmm_variance(const Lmm& m);
Table lmm_ranef(const Lmm& m, std::size_t term);

// R-like summary: method, formula, criterion, random effects, fixed effects.
std::string format_lmm(const Lmm& m);

// ---------------------------------------------------------------- inference

// F tests of the fixed terms with Satterthwaite df, as lmerTest's anova(m, type = 3 or
// 1): the contrasts of each term (type 3: lmerTest's extract_contrasts_type3, contrasts
// orthogonal to the terms that contain the term; type 1: sequential, from the Doolittle
// decomposition of X'X), F = (L beta)'(L V L')^-1 (L beta) / q, and the denominator df
// of lmerTest's contestMD (one Satterthwaite df per eigen-direction of L V L', combined
// as 2E / (E - q), E = sum nu/(nu - 2)).
struct LmmFTest {
  std::string term;
  Matrix L;  // q x p
  double F = 0, numdf = 0, dendf = 0, p = 0, sum_sq = 0, mean_sq = 0;
};
std::vector<LmmFTest> lmm_anova(const Lmm& m, int type);

// One contrast (rows of L, with rhs 0): the F test as lmm_anova computes it.
LmmFTest lmm_contrast(const Lmm& m, const Matrix& L);

// Likelihood-ratio test of nested models, as lme4's anova(m0, m1): both fitted by
// maximum likelihood (a REML fit is refitted), chi^2 = 2 (l1 - l0) on the difference
// in the number of parameters (the model with fewer parameters is m0, whichever order
// they come in). ValueError when the models were fitted to different observations.
struct LmmLrt {
  double loglik0 = 0, loglik1 = 0, aic0 = 0, aic1 = 0, bic0 = 0, bic1 = 0;
  int npar0 = 0, npar1 = 0;
  double chisq = 0, df = 0, p = 0;
  bool refitted = false;  // a REML fit was refitted by ML
  bool swapped = false;   // the arguments came with the larger model first
};
LmmLrt lmm_lrt(const Lmm& a, const Lmm& b);

// Confidence intervals at `level`: "Wald" for the fixed effects (beta +- z se, NaN for
// the variance parameters, as lme4's confint(method = "Wald")), or "profile": the
// likelihood profile of every parameter (the random-effect standard deviations and
// correlations, term by term, sigma, then the fixed effects) of the maximum-likelihood
// fit (a REML fit is refitted by ML first, as lme4's profile does), each bound the root
// of zeta(x) = +-z, zeta = sign(x - x^) sqrt(D(x) - D(x^)), D the ML deviance minimised
// over the other parameters.
struct LmmInterval {
  std::vector<std::string> names;
  Vector lower, upper;
};
LmmInterval lmm_confint(const Lmm& m, const std::string& method, double level);

// The parameters of lmm_confint, named as lme4's confint(oldNames = FALSE):
// "sd_(Intercept)|Subject", "cor_Days.(Intercept)|Subject", "sigma", then the fixed
// effects; lower/upper are left empty.
LmmInterval lmm_profile_names(const Lmm& m);
// lmm_confint(m, "profile", level).
LmmInterval lmm_profile(const Lmm& m, double level);

// Predictions for the rows of `data`: X beta (population, random = false) or X beta + Z
// b (random = true; a level of a grouping factor not in the fit contributes 0, lme4's
// allow.new.levels). Factor levels and columns are those of the fit; a level of a fixed
// factor the fit did not see, or a missing cell, raises naming the column and row.
Vector lmm_predict(const Lmm& m, const Table& data, bool random);

}  // namespace nl::stats

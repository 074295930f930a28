// nl/ml/combat.hpp: ComBat site harmonization as a label-independent pipeline step.
//
// ComBat (Johnson, Li & Rabinovic 2007, Biostatistics 8:118; sva::ComBat in R; for
// neuroimaging Fortin et al. 2017/2018). For feature j of row i at site b with
// covariates c_i (coded as regress_out codes them: numbers as they are, text as dummies):
//
//   x_ij = alpha_j + c_i' beta_j + gamma_bj + sqrt(delta_bj) sigma_j e_ij
//
// fit() follows sva::ComBat line by line (names as there):
//   B.hat = OLS of X on [site dummies, covariates]; grand.mean = sum_b (n_b / n) B.hat_b;
//   var.pooled = mean over all rows of the squared residual (denominator n);
//   stand.mean = grand.mean + c' B.hat_cov;  s = (x - stand.mean) / sqrt(var.pooled);
//   gamma.hat_b, delta.hat_b = mean and variance (n_b - 1) of s over site b's rows;
//   priors per site, across features: gamma.bar_b, t2_b (mean, variance of gamma.hat_b),
//   a.prior_b = (2 s2 + m^2) / s2, b.prior_b = (m s2 + m^3) / s2 (m, s2: mean and
//   variance of delta.hat_b);
//   parametric: gamma*, delta* by it.sol (alternating posterior mean of gamma and
//   posterior mode of delta until the largest relative change is <= 1e-4);
//   non-parametric: int.eprior (each feature's posterior under the empirical
//   distribution of the site's other features);
//   mean_only: delta* = 1, gamma* = postmean(gamma.hat, gamma.bar, 1, 1, t2) as sva.
//   adjusted x = (s - gamma*_b) / sqrt(delta*_b) * sqrt(var.pooled) + stand.mean.
// As sva: a feature with zero variance inside some site (of >= 2 rows) is not adjusted
// (passes unchanged); a site with one row makes the whole fit mean-only (a warning).
//
// apply() maps a row of a training site with the stored grand.mean, var.pooled, B.hat_cov
// and that site's gamma*, delta*: applied to the training rows it gives fit's output.
// A row of a site the training rows did not have follows `unseen`:
//   Error (default): a ValueError naming the site, its rows and the choices;
//   Estimate: that site's gamma*, delta* are estimated from its own rows in this apply
//     call, exactly as fit() estimates a training site's (its gamma.hat, delta.hat, its
//     priors across features, it.sol or int.eprior) with the standardization
//     (grand.mean, var.pooled, B.hat_cov) of the training rows fixed: ComBat's
//     definition of a site's parameters with the reference parameters held (the
//     "ComBat for new sites" practice). Labels are never used. One row of such a site
//     is estimated mean-only, as sva does for a batch of one sample.
// Rows with non-finite covariates or features are refused (ValueError).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nl/ml/transform.hpp"

namespace nl::ml {

enum class CombatUnseen : std::uint8_t { Error = 0, Estimate = 1 };

struct CombatOptions {
  std::string batch;                    // the site column (text)
  std::vector<std::string> covariates;  // effects preserved
  bool parametric = true;
  bool mean_only = false;
  CombatUnseen unseen = CombatUnseen::Error;
};

// One site's empirical Bayes estimates (rows of the state matrices).
struct CombatSite {
  Vector gamma_hat, delta_hat, gamma_star, delta_star;
  double gamma_bar = 0, t2 = 0, a_prior = 0, b_prior = 0;
};

// The per-site estimation shared by fit() and the new-site estimate: s holds the site's
// standardized rows (features in `use` only are estimated; the others get gamma* = 0,
// delta* = 1). Free function so that tests can check the defining property.
CombatSite combat_site(const Matrix& s, const std::vector<Eigen::Index>& use, bool parametric, bool mean_only);

class Combat final : public Transform {
 public:
  // ValueError for an empty batch name, the batch listed among the covariates, or a
  // covariate listed twice.
  explicit Combat(CombatOptions options);
  std::unique_ptr<Transform> clone() const override;
  std::unique_ptr<Transform> copy() const override;
  void fit(const Matrix& X, const Table* covariates) override;
  Matrix apply(const Matrix& X, const Table* covariates) const override;
  std::string name() const override { return "combat"; }
  std::string options() const override;
  // grand_mean_ (1 x p), var_pooled_ (1 x p), beta_ (q x p, the covariate effects),
  // gamma_hat_, delta_hat_, gamma_star_, delta_star_ (sites x p, sites in sorted order),
  // gamma_bar_, t2_, a_prior_, b_prior_, n_ (sites x 1), adjusted_ (1 x p: 1 when the
  // feature is adjusted, 0 when sva's zero-variance rule leaves it unchanged).
  std::vector<StateItem> state() const override;
  // The identity when mean-only (the adjustment only shifts each row); otherwise a
  // ValueError: the slope 1 / sqrt(delta*_bj) depends on the row's site, so no single
  // linear map from output weights to input weights exists.
  Matrix backproject(const Matrix& w) const override;
  void save(Writer& w) const override;
  Eigen::Index n_features_out() const override { return fitted_ ? p_in_ : 0; }
  std::vector<std::string> covariates_used() const override;

  const CombatOptions& combat_options() const noexcept { return o_; }
  // The training sites, sorted (the rows of the per-site state).
  const std::vector<std::string>& sites() const noexcept { return sites_; }
  // Whether the fit ran mean-only (asked for, or forced by a site with one row).
  bool mean_only_used() const noexcept { return mean_only_used_; }
  void set_unseen(CombatUnseen unseen) { o_.unseen = unseen; }

 private:
  void load(Reader& r) override;
  // Standardizes rows with the training state: (x - stand.mean) / sqrt(var.pooled).
  Matrix standardize(const Matrix& X, const Matrix& C) const;
  Matrix unstandardize(const Matrix& S, const Matrix& C) const;
  Matrix coded(const Table& covariates) const;
  CombatOptions o_;
  CovariateCoder coder_;
  std::vector<std::string> sites_;
  std::vector<CombatSite> est_;
  std::vector<Eigen::Index> n_;
  std::vector<Eigen::Index> use_;  // adjusted features
  Vector grand_mean_, var_pooled_;
  Matrix beta_;  // q x p
  bool mean_only_used_ = false;
};

}  // namespace nl::ml

// nl/stats/variance_groups.hpp: GLM statistics robust to unequal variances between groups
// of observations (variance groups), as PALM computes them (Winkler, Ridgway, Webster,
// Smith & Nichols 2014, "Permutation inference for the general linear model",
// NeuroImage 92:381-397, section "Choice of the statistic"; PALM's palm_fastv and
// palm_fastg).
//
// With the model Y = X B + E fitted by least squares (B^ = X^+ Y, residuals e), the
// residual-forming matrix R = I - X X^+ and the variance groups g = 1..G, each column j
// gets the weights
//     w_g = r_g / sum_{i in g} e_ij^2,    r_g = sum_{i in g} R_ii
// (the inverse of the group's residual variance), and with M = sum_g w_g X_g'X_g:
//     one contrast row c (rank 1):  v = c'B^ / sqrt(c' M^-1 c)   (Aspin-Welch v),
//     s rows C (rank s > 1):        G = (C B^)'(C M^-1 C')^-1 (C B^) / (s Lambda),
//     Lambda = 1 + 2 (s - 1) S / (s (s + 2)),  S = sum_g (1 - n_g w_g / W)^2 / r_g,
//     W = sum_g n_g w_g,
// with n_g the group's size. The approximate denominator degrees of freedom are
//     nu = s (s + 2) / (3 S), at most n - p
// (for s = 1, Welch-Satterthwaite's df; n - p with one group, where S = 0), and parametric p-values come from t(nu) for v
// and F(s, nu) for G. A two-sample design with the groups as variance groups gives
// Welch's t-test (R's t.test(var.equal = FALSE)); a one-way design Welch's ANOVA (R's
// oneway.test(var.equal = FALSE)); one variance group gives Student's t and F.
//
// (PALM's palm_fastv returns nu / 3 as the df for v, which disagrees with its own G
// at s = 1 and with Welch; the formula above is the paper's and Welch's.)
#pragma once

#include <string>
#include <vector>

#include "nl/core/linalg.hpp"
#include "nl/stats/distributions.hpp"

namespace nl::stats {

class VarianceGroupModel {
 public:
  // X (n x p, full column rank), C (s x p), groups: one integer label per row.
  // ValueError for a rank-deficient X, a group whose residual degrees of freedom r_g are
  // ~0 (e.g. one observation with its own mean; named by names[label] when given),
  // wrong lengths.
  VarianceGroupModel(const Matrix& X, const Matrix& C, const std::vector<int>& groups,
                     const std::vector<std::string>* names = nullptr);

  // v (one row) or G per column of D (n x m); nu per column when df is given. NaN
  // where a group's residuals are all 0.
  void statistic(const Matrix& D, Vector& stat, Vector* df = nullptr) const;

  bool is_v() const { return s_ == 1; }
  Eigen::Index rank() const { return s_; }
  Eigen::Index groups() const { return static_cast<Eigen::Index>(members_.size()); }

 private:
  Matrix X_, C_, pinv_;
  Eigen::Index s_ = 1;
  std::vector<std::vector<Eigen::Index>> members_;  // rows of each group
  std::vector<Matrix> XtX_;                         // per group X_g'X_g
  Vector r_;                                        // per group sum of R_ii
};

// The parametric test: statistic, nu and p per column (p two-sided or one-sided for v
// as `tail` says; upper tail for G).
struct VarianceGroupTest {
  Vector stat, df, p;
  Eigen::Index df1 = 1;
  bool is_v = true;
  Eigen::Index groups = 0;
};
VarianceGroupTest variance_group_test(const Matrix& Y, const Matrix& X, const Matrix& C,
                                      const std::vector<int>& groups, Tail tail = Tail::Two,
                                      const std::vector<std::string>* names = nullptr);

}  // namespace nl::stats

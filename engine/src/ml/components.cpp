// ml/components.cpp: the Pca and Robpca transforms.
#include "nl/ml/components.hpp"

#include <fmt/format.h>

namespace nl::ml {

Eigen::Index default_components(Eigen::Index p) { return std::max<Eigen::Index>(1, p / 10); }

namespace {
Matrix row(const Vector& v) { return v.transpose(); }
}  // namespace

// ---------------------------------------------------------------- pca

Pca::Pca(Eigen::Index k) : k_(k) {
  if (k < 0) throw ValueError(fmt::format("pca: k must be positive (or 0 for the default), got {}", k));
}
std::unique_ptr<Transform> Pca::clone() const { return std::make_unique<Pca>(k_); }
std::unique_ptr<Transform> Pca::copy() const { return std::make_unique<Pca>(*this); }
std::string Pca::options() const { return k_ > 0 ? fmt::format("pca{{k = {}}}", k_) : "pca{}"; }

void Pca::fit(const Matrix& X, const Table* covariates) {
  begin_fit(X, covariates);
  fit_ = pca_fit(X, k_ > 0 ? k_ : default_components(X.cols()));
  fit_->scores.resize(0, 0);  // n x k, not kept: apply() gives them
  fitted_ = true;
}

// The scores pca_fit computed, the same product as apply() on the training rows.
Matrix Pca::fit_apply(const Matrix& X, const Table* covariates) { return fit_apply(X, covariates, nullptr); }

Matrix Pca::fit_apply(const Matrix& X, const Table* covariates, const Matrix* cross) {
  begin_fit(X, covariates);
  fit_ = pca_fit(X, k_ > 0 ? k_ : default_components(X.cols()), PcaSolver::Auto, cross);
  fitted_ = true;
  return std::move(fit_->scores);
}

void Pca::fit_cross(const Matrix& cross, Vector center, Eigen::Index n) {
  fitted_ = false;
  p_in_ = cross.rows();
  fit_ = pca_fit_cross(cross, std::move(center), n, k_ > 0 ? k_ : default_components(cross.rows()));
  fitted_ = true;
}

const PcaFit& Pca::result() const {
  if (!fitted_) throw ValueError("pca: not fitted (call fit first)");
  return *fit_;
}

Matrix Pca::apply(const Matrix& X, const Table* covariates) const {
  check_apply(X, covariates);
  return pca_transform(*fit_, X);
}

std::vector<StateItem> Pca::state() const {
  if (!fitted_) return {};
  return {{"center_", row(fit_->center)},
          {"loadings_", fit_->loadings},
          {"eigenvalues_", row(fit_->eigenvalues)},
          {"explained_ratio_", row(fit_->explained_ratio)}};
}

// ---------------------------------------------------------------- robpca

Robpca::Robpca(RobpcaOptions options) : options_(options) {
  if (options_.k < 0) throw ValueError(fmt::format("robpca: k must be positive (or 0 for the default), got {}", options_.k));
  if (!(options_.alpha >= 0.5 && options_.alpha <= 1))
    throw ValueError(fmt::format("robpca: alpha must be in [0.5, 1], got {}", options_.alpha));
  if (options_.ndir < 1) throw ValueError(fmt::format("robpca: directions must be at least 1, got {}", options_.ndir));
}
std::unique_ptr<Transform> Robpca::clone() const { return std::make_unique<Robpca>(options_); }
std::unique_ptr<Transform> Robpca::copy() const { return std::make_unique<Robpca>(*this); }

std::string Robpca::options() const {
  return fmt::format("robpca{{{}alpha = {}, directions = {}, seed = {}}}",
                     options_.k > 0 ? fmt::format("k = {}, ", options_.k) : "", options_.alpha, options_.ndir,
                     options_.seed);
}

void Robpca::fit(const Matrix& X, const Table* covariates) {
  begin_fit(X, covariates);
  RobpcaOptions o = options_;
  if (o.k == 0) o.k = default_components(X.cols());
  fit_ = robpca_fit(X, o);
  fitted_ = true;
}

Matrix Robpca::apply(const Matrix& X, const Table* covariates) const {
  check_apply(X, covariates);
  return robpca_transform(*fit_, X);
}

const RobpcaFit& Robpca::result() const {
  if (!fit_) throw ValueError("robpca: not fitted (call fit first)");
  return *fit_;
}

std::vector<StateItem> Robpca::state() const {
  if (!fitted_) return {};
  Matrix h(1, 1);
  h(0, 0) = static_cast<double>(fit_->h);
  Matrix outlier(fit_->outlier.size(), 1);
  for (Eigen::Index i = 0; i < fit_->outlier.size(); ++i) outlier(i, 0) = fit_->outlier(i) ? 1.0 : 0.0;
  Matrix cut(1, 2);
  cut << fit_->cutoff_sd, fit_->cutoff_od;
  return {{"center_", row(fit_->center)}, {"loadings_", fit_->loadings}, {"eigenvalues_", row(fit_->eigenvalues)},
          {"h_", h},
          {"sd_", Matrix(fit_->sd)},
          {"od_", Matrix(fit_->od)},
          {"cutoffs_", cut},
          {"outlier_", outlier}};
}

}  // namespace nl::ml

// nl/ml/components.hpp: PCA and ROBPCA as pipeline transforms (nl/ml/pca.hpp and
// nl/ml/robpca.hpp hold the numerical kernels). Scores of new rows are
// (Y - center) * loadings. k = 0 picks floor(p / 10) components (at least 1), the
// paper's default; a k the training data cannot support is a ValueError.
#pragma once

#include <optional>

#include "nl/ml/pca.hpp"
#include "nl/ml/robpca.hpp"
#include "nl/ml/transform.hpp"

namespace nl::ml {

class Pca final : public Transform {
 public:
  explicit Pca(Eigen::Index k = 0);
  std::unique_ptr<Transform> clone() const override;
  std::unique_ptr<Transform> copy() const override;
  void fit(const Matrix& X, const Table* covariates) override;
  Matrix apply(const Matrix& X, const Table* covariates) const override;
  Matrix fit_apply(const Matrix& X, const Table* covariates) override;
  // The same with Xc' Xc of the centred X given (pca_fit's `cross`).
  Matrix fit_apply(const Matrix& X, const Table* covariates, const Matrix* cross);
  // Fitted from n training rows of which only the cross-product about their means
  // (p x p, n >= p) and the means are known (pca_fit_cross), for ml/fused_chain.cpp.
  void fit_cross(const Matrix& cross, Vector center, Eigen::Index n);
  // The fit (requires fit()).
  const PcaFit& result() const;
  std::string name() const override { return "pca"; }
  std::string options() const override;
  std::vector<StateItem> state() const override;
  Matrix backproject(const Matrix& w) const override;
  void save(Writer& w) const override;
  Eigen::Index n_features_out() const override;

 private:
  void load(Reader& r) override;
  Eigen::Index k_;
  std::optional<PcaFit> fit_;
};

class Robpca final : public Transform {
 public:
  explicit Robpca(RobpcaOptions options);
  std::unique_ptr<Transform> clone() const override;
  std::unique_ptr<Transform> copy() const override;
  void fit(const Matrix& X, const Table* covariates) override;
  Matrix apply(const Matrix& X, const Table* covariates) const override;
  std::string name() const override { return "robpca"; }
  std::string options() const override;
  std::vector<StateItem> state() const override;
  Matrix backproject(const Matrix& w) const override;
  void save(Writer& w) const override;
  Eigen::Index n_features_out() const override;
  const RobpcaFit& result() const;

 private:
  void load(Reader& r) override;
  RobpcaOptions options_;
  std::optional<RobpcaFit> fit_;
};

// floor(p / 10), at least 1: the default number of components.
Eigen::Index default_components(Eigen::Index p);

}  // namespace nl::ml

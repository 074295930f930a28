// ml/training_gram.cpp: a PCA's cross-product from that of the raw training rows
// (ml/training_gram.hpp).
#include "training_gram.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "nl/core/core.hpp"
#include "nl/ml/components.hpp"

namespace nl::ml::detail {

GramTrack::GramTrack(Eigen::Index p) : src_(static_cast<std::size_t>(p)), a_(Vector::Ones(p)) {
  for (Eigen::Index j = 0; j < p; ++j) src_[static_cast<std::size_t>(j)] = j;
}

bool GramTrack::follow(const Transform& step) {
  if (!active_) return false;
  if (const auto* s = dynamic_cast<const Scale*>(&step)) {
    a_ = a_.cwiseProduct(s->factors());
  } else if (const auto* p = dynamic_cast<const Prune*>(&step)) {
    std::vector<Eigen::Index> src;
    Vector a(static_cast<Eigen::Index>(p->kept().size()));
    for (std::size_t k = 0; k < p->kept().size(); ++k) {
      const auto j = static_cast<std::size_t>(p->kept()[k]);
      src.push_back(src_[j]);
      a(static_cast<Eigen::Index>(k)) = a_(static_cast<Eigen::Index>(j));
    }
    src_ = std::move(src);
    a_ = std::move(a);
  } else if (const auto* r = dynamic_cast<const RegressOut*>(&step); r && !project_) {
    project_ = r;
  } else {
    active_ = false;
  }
  return active_;
}

Matrix GramTrack::cross(const TrainingGram& gram, const Matrix& X, const Table* covariates) const {
  const Eigen::Index n = X.rows(), p = X.cols(), q = static_cast<Eigen::Index>(src_.size());
  const Matrix& G = *gram.G;
  if (G.rows() != p || G.cols() != p || gram.m->size() != p)
    throw Error(fmt::format("training gram: {} x {} for {} columns", G.rows(), G.cols(), p));
  // U_r: an orthonormal basis of the span of the design on these rows, by the rank rule
  // of nl::pinv (which regress_out's fit uses): singular values above
  // eps max(n, cols) s_max.
  Matrix U;
  if (project_) {
    const Matrix D = project_->design(covariates, n);
    Eigen::BDCSVD<Matrix> svd(D, Eigen::ComputeThinU);
    const Vector& s = svd.singularValues();
    const double cutoff =
        std::numeric_limits<double>::epsilon() * static_cast<double>(std::max(D.rows(), D.cols())) * (s.size() ? s(0) : 0.0);
    Eigen::Index r = 0;
    while (r < s.size() && s(r) > cutoff) ++r;
    U = svd.matrixU().leftCols(r);
  } else {
    U = Matrix::Constant(n, 1, 1.0 / std::sqrt(static_cast<double>(n)));
  }
  // W = U' Xc on the tracked columns only, scaled: Ws = W(:, src) diag(a).
  Matrix Xs(n, q);
  for (Eigen::Index k = 0; k < q; ++k) {
    const Eigen::Index j = src_[static_cast<std::size_t>(k)];
    Xs.col(k) = (X.col(j).array() - (*gram.m)(j)) * a_(k);
  }
  const Matrix Ws = U.transpose() * Xs;
  Matrix C(q, q);
  C.triangularView<Eigen::Lower>().setZero();
  C.selfadjointView<Eigen::Lower>().rankUpdate(Ws.transpose(), -1.0);
  for (Eigen::Index k = 0; k < q; ++k) {
    const Eigen::Index jk = src_[static_cast<std::size_t>(k)];
    for (Eigen::Index l = k; l < q; ++l)
      C(l, k) += a_(l) * a_(k) * G(src_[static_cast<std::size_t>(l)], jk);
  }
  for (Eigen::Index k = 1; k < q; ++k) C.col(k).head(k) = C.row(k).head(k).transpose();
  return C;
}

bool uses_training_gram(const PipelineSpec& spec) {
  int regress = 0;
  for (const auto& step : spec.steps) {
    if (dynamic_cast<const Pca*>(step.get())) return true;
    if (dynamic_cast<const RegressOut*>(step.get())) {
      if (++regress > 1) return false;
    } else if (!dynamic_cast<const Scale*>(step.get()) && !dynamic_cast<const Prune*>(step.get())) {
      return false;
    }
  }
  return false;
}

Matrix centred_cross(const Matrix& X, const std::vector<Eigen::Index>& rows, const Vector& m) {
  const Eigen::Index p = X.cols();
  Matrix Xc(static_cast<Eigen::Index>(rows.size()), p);
  for (std::size_t k = 0; k < rows.size(); ++k) Xc.row(static_cast<Eigen::Index>(k)) = X.row(rows[k]) - m.transpose();
  Matrix G(p, p);
  G.triangularView<Eigen::Lower>().setZero();
  G.selfadjointView<Eigen::Lower>().rankUpdate(Xc.transpose());
  for (Eigen::Index k = 1; k < p; ++k) G.col(k).head(k) = G.row(k).head(k).transpose();
  return G;
}

std::size_t largest_fold(const std::vector<int>& assign, int folds) {
  std::vector<std::size_t> size(static_cast<std::size_t>(folds), 0);
  for (int f : assign) ++size[static_cast<std::size_t>(f)];
  return *std::max_element(size.begin(), size.end());
}

std::vector<Matrix> fold_blocks(const Matrix& X, const std::vector<Eigen::Index>& rows, const std::vector<int>& assign,
                                int folds, const Vector& m) {
  std::vector<std::vector<Eigen::Index>> fold_rows(static_cast<std::size_t>(folds));
  for (std::size_t k = 0; k < assign.size(); ++k) fold_rows[static_cast<std::size_t>(assign[k])].push_back(rows[k]);
  std::vector<Matrix> blocks;
  if (static_cast<Eigen::Index>(rows.size() - largest_fold(assign, folds)) < X.cols()) return blocks;
  for (const auto& r : fold_rows) blocks.push_back(centred_cross(X, r, m));
  return blocks;
}

Matrix sum_except(const std::vector<Matrix>& blocks, int skip) {
  Matrix G = Matrix::Zero(blocks.front().rows(), blocks.front().cols());
  for (std::size_t g = 0; g < blocks.size(); ++g)
    if (static_cast<int>(g) != skip) G += blocks[g];
  return G;
}

}  // namespace nl::ml::detail

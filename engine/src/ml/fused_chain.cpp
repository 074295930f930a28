// ml/fused_chain.cpp: a CV1 partition's preprocessing as one affine map of its raw rows
// (ml/fused_chain.hpp).
#include "fused_chain.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/simd_quad.hpp"
#include "nl/core/core.hpp"
#include "nl/ml/components.hpp"
#include "nl/ml/transform.hpp"

namespace nl::ml::detail {

namespace {

namespace kern_base {
using namespace nl::simd::base;
#include "fused_kernels.inc"
}  // namespace kern_base

#if NL_HAVE_AVX_KERNELS
#pragma GCC push_options
#pragma GCC target("avx")
namespace kern_avx {
using namespace nl::simd::avx;
#include "fused_kernels.inc"
}  // namespace kern_avx
#pragma GCC pop_options
#endif

using Rows = std::vector<Eigen::Index>;

// Z = Xc(rows, :) M (M: ld x kq row-major), row-major n x kq.
std::vector<double> project(const CentredRows& Xc, const Rows& rows, const std::vector<double>& M, std::ptrdiff_t kq) {
  std::vector<double> Z(rows.size() * static_cast<std::size_t>(kq));
  const auto* r = reinterpret_cast<const std::ptrdiff_t*>(rows.data());
  const auto n = static_cast<std::ptrdiff_t>(rows.size());
#if NL_HAVE_AVX_KERNELS
  if (simd_avx()) {
    kern_avx::project(Xc.data.data(), Xc.ld, r, n, M.data(), kq, Z.data());
    return Z;
  }
#endif
  kern_base::project(Xc.data.data(), Xc.ld, r, n, M.data(), kq, Z.data());
  return Z;
}

// B' Xc(rows, :) for B (rows x m), as an m x p matrix.
Matrix weighted_rows(const CentredRows& Xc, const Rows& rows, const Matrix& B) {
  const auto m = static_cast<std::ptrdiff_t>(B.cols());
  std::vector<double> Brm(rows.size() * static_cast<std::size_t>(m));
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::ptrdiff_t j = 0; j < m; ++j) Brm[i * static_cast<std::size_t>(m) + static_cast<std::size_t>(j)] = B(static_cast<Eigen::Index>(i), j);
  std::vector<double> A(static_cast<std::size_t>(m * Xc.ld));
  const auto* r = reinterpret_cast<const std::ptrdiff_t*>(rows.data());
  const auto n = static_cast<std::ptrdiff_t>(rows.size());
#if NL_HAVE_AVX_KERNELS
  if (simd_avx())
    kern_avx::weighted_rows(Xc.data.data(), Xc.ld, r, n, Brm.data(), m, A.data());
  else
#endif
    kern_base::weighted_rows(Xc.data.data(), Xc.ld, r, n, Brm.data(), m, A.data());
  Matrix out(m, Xc.p);
  for (std::ptrdiff_t j = 0; j < m; ++j)
    for (Eigen::Index c = 0; c < Xc.p; ++c) out(j, c) = A[static_cast<std::size_t>(j * Xc.ld + c)];
  return out;
}

// Xc(rows, :)' Xc(rows, :), p x p.
Matrix cross(const CentredRows& Xc, const Rows& rows) {
  std::vector<double> G(static_cast<std::size_t>(Xc.ld * Xc.ld));
  const auto* r = reinterpret_cast<const std::ptrdiff_t*>(rows.data());
  const auto n = static_cast<std::ptrdiff_t>(rows.size());
#if NL_HAVE_AVX_KERNELS
  if (simd_avx())
    kern_avx::cross_rows(Xc.data.data(), Xc.ld, r, n, G.data());
  else
#endif
    kern_base::cross_rows(Xc.data.data(), Xc.ld, r, n, G.data());
  Matrix out(Xc.p, Xc.p);
  for (Eigen::Index j = 0; j < Xc.p; ++j)
    for (Eigen::Index l = 0; l <= j; ++l) out(j, l) = out(l, j) = G[static_cast<std::size_t>(j * Xc.ld + l)];
  return out;
}

template <class T>
std::shared_ptr<T> fresh(const Transform& proto) {
  std::shared_ptr<Transform> s = proto.clone();
  return std::dynamic_pointer_cast<T>(s);
}

}  // namespace

bool fusable(const PipelineSpec& spec) {
  static_assert(sizeof(Eigen::Index) == sizeof(std::ptrdiff_t));
  int stage = 0;  // 0 before scale, 1 after scale, 2 after prune, 3 after regress_out
  for (const auto& step : spec.steps) {
    const Transform* s = step.get();
    if (dynamic_cast<const Pca*>(s)) return true;
    const int at = dynamic_cast<const Scale*>(s) ? 1 : dynamic_cast<const Prune*>(s) ? 2
                 : dynamic_cast<const RegressOut*>(s) ? 3 : 0;
    if (at <= stage) return false;
    stage = at;
  }
  return false;
}

CentredRows centred_rows(const Matrix& X, const Vector& c) {
  CentredRows out;
  out.p = X.cols();
  out.ld = (out.p + 3) / 4 * 4;
  out.data.assign(static_cast<std::size_t>(X.rows() * out.ld), 0.0);
  for (Eigen::Index j = 0; j < X.cols(); ++j)
    for (Eigen::Index i = 0; i < X.rows(); ++i) out.data[static_cast<std::size_t>(i * out.ld + j)] = X(i, j) - c(j);
  return out;
}

std::vector<Matrix> fold_blocks(const CentredRows& Xc, const Rows& rows, const std::vector<int>& assign, int folds) {
  std::vector<Rows> fold_rows(static_cast<std::size_t>(folds));
  for (std::size_t k = 0; k < assign.size(); ++k) fold_rows[static_cast<std::size_t>(assign[k])].push_back(rows[k]);
  std::vector<Matrix> blocks;
  for (const Rows& r : fold_rows) blocks.push_back(cross(Xc, r));
  return blocks;
}

FoldRanges fold_ranges(const Matrix& X, const Rows& rows, const std::vector<int>& assign, int folds) {
  FoldRanges r;
  const double inf = std::numeric_limits<double>::infinity();
  r.lo.assign(static_cast<std::size_t>(folds), Vector::Constant(X.cols(), inf));
  r.hi.assign(static_cast<std::size_t>(folds), Vector::Constant(X.cols(), -inf));
  for (Eigen::Index j = 0; j < X.cols(); ++j)
    for (std::size_t k = 0; k < rows.size(); ++k) {
      const auto f = static_cast<std::size_t>(assign[k]);
      const double x = X(rows[k], j);
      r.lo[f](j) = std::min(r.lo[f](j), x);
      r.hi[f](j) = std::max(r.hi[f](j), x);
    }
  return r;
}

Preprocessing fit_fused(const PipelineSpec& spec, const CentredRows& Xc, const Vector& centre, const Matrix& G,
                        const Vector& lo, const Vector& hi, const RowSet& train, const std::vector<RowSet>& others) {
  const Eigen::Index p = Xc.p, n = static_cast<Eigen::Index>(train.rows->size());
  const bool via_cross = G.size() > 0;
  if (!fusable(spec) || (via_cross && (n < p || G.rows() != p || G.cols() != p)) || centre.size() != p ||
      lo.size() != p || hi.size() != p)
    throw Error(fmt::format("fused preprocessing: {} training rows of {} columns, a {} x {} cross-product", n, p,
                            G.rows(), G.cols()));
  Preprocessing pre;
  std::size_t at = 0;
  const auto& steps = spec.steps;
  // Scale: y = (x - c) a + b~ over the columns (a = 0: the constant mid-range).
  Vector a = Vector::Ones(p), bt = centre;
  const auto* scale_proto = dynamic_cast<const Scale*>(steps[at].get());
  if (scale_proto) {
    auto sc = fresh<Scale>(*scale_proto);
    sc->fit_range(lo, hi);
    a = sc->factors();
    for (Eigen::Index j = 0; j < p; ++j)
      bt(j) = a(j) != 0.0 ? (centre(j) - lo(j)) * a(j) + sc->lo() : 0.5 * (sc->lo() + sc->hi());
    pre.steps.push_back(std::move(sc));
    ++at;
  }
  // Prune: on scaled data, a column varies iff scale gave it a slope; raw, iff its range
  // is not zero (the training rows are finite).
  Rows src;
  if (dynamic_cast<const Prune*>(steps[at].get())) {
    for (Eigen::Index j = 0; j < p; ++j)
      if (scale_proto ? a(j) != 0.0 : hi(j) > lo(j)) src.push_back(j);
    auto pr = fresh<Prune>(*steps[at]);
    pr->fit_kept(p, src);
    pre.steps.push_back(std::move(pr));
    ++at;
  } else {
    for (Eigen::Index j = 0; j < p; ++j) src.push_back(j);
  }
  const auto q = static_cast<Eigen::Index>(src.size());
  // regress_out: U_r and the coefficients.
  std::shared_ptr<RegressOut> ro;
  Matrix D, U, beta;
  Eigen::Index r = 1;
  if (dynamic_cast<const RegressOut*>(steps[at].get())) {
    ro = fresh<RegressOut>(*steps[at]);
    D = ro->fit_design(train.covariates, n, q);
    Eigen::BDCSVD<Matrix> svd(D, Eigen::ComputeThinU | Eigen::ComputeThinV);
    const Vector& s = svd.singularValues();
    const double cutoff = std::numeric_limits<double>::epsilon() * static_cast<double>(std::max(D.rows(), D.cols())) *
                          (s.size() ? s(0) : 0.0);
    r = 0;
    while (r < s.size() && s(r) > cutoff) ++r;
    U = svd.matrixU().leftCols(r);
    beta = svd.matrixV().leftCols(r) * s.head(r).cwiseInverse().asDiagonal();  // V_r S_r^-1, then times U_r'Y
  } else {
    U = Matrix::Constant(n, 1, 1.0 / std::sqrt(static_cast<double>(n)));
  }
  Matrix B(n, r + 1);
  B.leftCols(r) = U;
  B.col(r).setOnes();
  const Matrix W = weighted_rows(Xc, *train.rows, B);  // (r + 1) x p: U_r'Xc and 1'Xc
  Matrix Ws(r, q);  // U_r'Xc(:, src) diag(a)
  Vector as(q), bs(q), sums(q);
  for (Eigen::Index k = 0; k < q; ++k) {
    const Eigen::Index j = src[static_cast<std::size_t>(k)];
    as(k) = a(j);
    bs(k) = bt(j);
    sums(k) = W(r, j) * a(j);
    Ws.col(k) = W.col(j).head(r) * a(j);
  }
  auto pca = fresh<Pca>(*steps[at + (ro ? 1 : 0)]);
  Vector mu;
  Matrix Ztr;
  if (via_cross) {
    // The PCA's cross-product: diag(a) [G - W'W](src, src) diag(a).
    Matrix C(q, q);
    C.triangularView<Eigen::Lower>().setZero();
    C.selfadjointView<Eigen::Lower>().rankUpdate(Ws.transpose(), -1.0);
    for (Eigen::Index k = 0; k < q; ++k) {
      const Eigen::Index jk = src[static_cast<std::size_t>(k)];
      for (Eigen::Index l = k; l < q; ++l) C(l, k) += as(l) * as(k) * G(src[static_cast<std::size_t>(l)], jk);
    }
    for (Eigen::Index k = 1; k < q; ++k) C.col(k).head(k) = C.row(k).head(k).transpose();
    // The PCA's input mean over the training rows: (1'Y - 1'D beta) / n.
    mu = sums / static_cast<double>(n) + bs;
    if (ro) {
      const Matrix UY = Ws + U.colwise().sum().transpose() * bs.transpose();  // U_r'Y
      beta = beta * UY;
      mu -= (D.colwise().sum() * beta).transpose() / static_cast<double>(n);
    }
    pca->fit_cross(C, mu, n);
  } else {
    // Wide partitions (fewer training rows than columns): the PCA's input rows
    // Y = Xc(:, src) diag(a) + 1 b~' - D beta, formed once, and the PCA fitted on them
    // as fit_preprocessing would (through the n x n Gram matrix); its training scores
    // are the fit's own.
    if (ro) beta = beta * (Ws + U.colwise().sum().transpose() * bs.transpose());
    Matrix Y(n, q);
    const double* base = Xc.data.data();
    for (Eigen::Index k = 0; k < q; ++k) {
      const Eigen::Index j = src[static_cast<std::size_t>(k)];
      for (Eigen::Index i = 0; i < n; ++i)
        Y(i, k) = base[(*train.rows)[static_cast<std::size_t>(i)] * Xc.ld + j] * as(k) + bs(k);
    }
    if (ro) Y.noalias() -= D * beta;
    Ztr = pca->fit_apply(Y, train.covariates);
    mu = pca->result().center;
  }
  if (ro) {
    ro->set_beta(beta);
    pre.steps.push_back(ro);
    ++at;
  }
  const Matrix& L = pca->result().loadings;  // q x k
  pre.steps.push_back(pca);
  ++at;
  // The map: M (ld x kq, row-major), k and N.
  const Eigen::Index k = L.cols();
  const std::ptrdiff_t kq = (k + 3) / 4 * 4;
  std::vector<double> M(static_cast<std::size_t>(Xc.ld * kq), 0.0);
  for (Eigen::Index i = 0; i < q; ++i)
    for (Eigen::Index j = 0; j < k; ++j)
      M[static_cast<std::size_t>(src[static_cast<std::size_t>(i)] * kq + j)] = as(i) * L(i, j);
  const Vector kv = L.transpose() * (bs - mu);
  const Matrix N = ro ? Matrix(beta * L) : Matrix();
  const auto map = [&](const RowSet& set, const Matrix* design) {
    const std::vector<double> Z = project(Xc, *set.rows, M, kq);
    const auto m = static_cast<Eigen::Index>(set.rows->size());
    Matrix out(m, k);
    for (Eigen::Index i = 0; i < m; ++i)
      for (Eigen::Index j = 0; j < k; ++j) out(i, j) = Z[static_cast<std::size_t>(i * kq + j)] + kv(j);
    if (ro) out.noalias() -= (design ? *design : ro->design(set.covariates, m)) * N;
    return out;
  };
  if (via_cross) Ztr = map(train, &D);
  std::vector<Matrix> Z;
  for (const RowSet& o : others) Z.push_back(map(o, nullptr));
  // The steps after the PCA, as fit_preprocessing and Preprocessing::apply.
  for (; at < steps.size(); ++at) {
    std::shared_ptr<Transform> s = steps[at]->clone();
    Ztr = s->fit_apply(Ztr, train.covariates);
    for (std::size_t o = 0; o < others.size(); ++o) Z[o] = s->apply(Z[o], others[o].covariates);
    pre.steps.push_back(std::move(s));
  }
  if (Ztr.cols() == 0) throw ValueError("pipeline: preprocessing left no features");
  *train.out = std::move(Ztr);
  for (std::size_t o = 0; o < others.size(); ++o) *others[o].out = std::move(Z[o]);
  return pre;
}

}  // namespace nl::ml::detail

// stats/variance_groups.cpp: the Aspin-Welch v and G statistics of variance groups (see
// nl/stats/variance_groups.hpp).
#include "nl/stats/variance_groups.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "nl/core/core.hpp"

namespace nl::stats {

namespace {
using Index = Eigen::Index;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

VarianceGroupModel::VarianceGroupModel(const Matrix& X, const Matrix& C, const std::vector<int>& groups,
                                       const std::vector<std::string>* names)
    : X_(X), C_(C), s_(C.rows()) {
  const Index n = X.rows(), p = X.cols();
  if (static_cast<Index>(groups.size()) != n)
    throw ValueError(fmt::format("variance groups has {} entries but the data have {} rows", groups.size(), n));
  if (C.cols() != p) throw ValueError(fmt::format("contrast has {} columns but the design has {}", C.cols(), p));
  Eigen::ColPivHouseholderQR<Matrix> qr(X);
  if (qr.rank() < p)
    throw ValueError(fmt::format("variance groups need a design of full column rank; its rank is {} of {} columns",
                                 qr.rank(), p));
  Eigen::ColPivHouseholderQR<Matrix> cqr(C.transpose());
  if (cqr.rank() < s_) throw ValueError("variance groups: the contrast's rows are linearly dependent");
  pinv_ = qr.solve(Matrix::Identity(n, n));  // X^+ (full column rank: (X'X)^-1 X')
  Vector dR(n);  // diag(I - X X^+)
  for (Index i = 0; i < n; ++i) dR(i) = 1.0 - X.row(i).dot(pinv_.col(i));
  std::map<int, std::size_t> index;
  for (Index i = 0; i < n; ++i) {
    const auto [it, fresh] = index.emplace(groups[static_cast<std::size_t>(i)], members_.size());
    if (fresh) members_.emplace_back();
    members_[it->second].push_back(i);
  }
  r_.resize(static_cast<Index>(members_.size()));
  for (std::size_t g = 0; g < members_.size(); ++g) {
    Matrix Xg(static_cast<Index>(members_[g].size()), p);
    double r = 0;
    for (std::size_t k = 0; k < members_[g].size(); ++k) {
      Xg.row(static_cast<Index>(k)) = X.row(members_[g][k]);
      r += dR(members_[g][k]);
    }
    if (!(r > 1e-8)) {
      const int label = groups[static_cast<std::size_t>(members_[g][0])];
      const std::string name = names && label >= 0 && static_cast<std::size_t>(label) < names->size()
                                   ? (*names)[static_cast<std::size_t>(label)]
                                   : std::to_string(label);
      throw ValueError(fmt::format("variance group '{}' has no residual degrees of freedom (its {} row{} fitted "
                                   "exactly by the design)",
                                   name, members_[g].size(), members_[g].size() == 1 ? " is" : "s are"));
    }
    XtX_.push_back(Xg.transpose() * Xg);
    r_(static_cast<Index>(g)) = r;
  }
}

void VarianceGroupModel::statistic(const Matrix& D, Vector& stat, Vector* df) const {
  const Index m = D.cols(), p = X_.cols(), G = static_cast<Index>(members_.size());
  const Matrix B = pinv_ * D;
  const Matrix E = D - X_ * B;
  const Matrix CB = C_ * B;  // s x m
  stat.resize(m);
  if (df) df->resize(m);
  const auto s = static_cast<double>(s_);
  Vector w(G);
  for (Index j = 0; j < m; ++j) {
    bool ok = true;
    for (Index g = 0; g < G; ++g) {
      double ss = 0;
      for (const Index i : members_[static_cast<std::size_t>(g)]) ss += E(i, j) * E(i, j);
      w(g) = r_(g) / ss;
      ok = ok && ss > 0 && std::isfinite(w(g));
    }
    if (!ok) {
      stat(j) = kNaN;
      if (df) (*df)(j) = kNaN;
      continue;
    }
    Matrix M = Matrix::Zero(p, p);
    double W = 0;
    for (Index g = 0; g < G; ++g) {
      M.noalias() += w(g) * XtX_[static_cast<std::size_t>(g)];
      W += static_cast<double>(members_[static_cast<std::size_t>(g)].size()) * w(g);
    }
    double S = 0;
    for (Index g = 0; g < G; ++g) {
      const double a = 1.0 - static_cast<double>(members_[static_cast<std::size_t>(g)].size()) * w(g) / W;
      S += a * a / r_(g);
    }
    const Eigen::LLT<Matrix> llt(M);
    const Matrix V = C_ * llt.solve(C_.transpose());  // C M^-1 C'
    if (s_ == 1) {
      stat(j) = CB(0, j) / std::sqrt(V(0, 0));
    } else {
      const Vector cb = CB.col(j);
      const double lambda = 1.0 + 2.0 * (s - 1.0) * S / (s * (s + 2.0));
      stat(j) = cb.dot(V.llt().solve(cb)) / (s * lambda);
    }
    // nu never exceeds the residual df n - p (its value with one group, where S = 0).
    if (df) (*df)(j) = std::min(s * (s + 2.0) / (3.0 * S), r_.sum());
  }
}

VarianceGroupTest variance_group_test(const Matrix& Y, const Matrix& X, const Matrix& C,
                                      const std::vector<int>& groups, Tail tail,
                                      const std::vector<std::string>* names) {
  const VarianceGroupModel model(X, C, groups, names);
  VarianceGroupTest t;
  model.statistic(Y, t.stat, &t.df);
  t.is_v = model.is_v();
  t.df1 = model.rank();
  t.groups = model.groups();
  t.p.resize(t.stat.size());
  for (Index j = 0; j < t.stat.size(); ++j) {
    if (std::isnan(t.stat(j))) {
      t.p(j) = kNaN;
      continue;
    }
    t.p(j) = t.is_v ? t_pvalue(t.stat(j), t.df(j), tail) : f_upper(t.stat(j), static_cast<double>(t.df1), t.df(j));
  }
  return t;
}

}  // namespace nl::stats

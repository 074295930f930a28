// fc/netmats.cpp: netmats (FSLNets' nets_netmats 'corr' and 'ridgep'), Fisher z, edge
// vectors and labels, netmats of many subjects and runs.
#include <fmt/format.h>

#include <atomic>
#include <cmath>
#include <limits>

#include "nl/core/core.hpp"
#include "nl/fc/fc.hpp"

namespace nl::fc {

// ---------------------------------------------------------------- one netmat

Matrix netmat(const Matrix& ts, NetmatMethod method, double rho) {
  const Index n = ts.rows(), N = ts.cols();
  if (n < 2) throw ValueError(fmt::format("netmat: needs at least 2 frames, got {}", n));
  if (N < 1) throw ValueError("netmat: the time series have no node (0 columns)");
  if (!ts.allFinite()) throw ValueError("netmat: the time series have non-finite values (NaN or inf)");
  const Matrix centred = ts.rowwise() - ts.colwise().mean();
  Matrix C = (centred.transpose() * centred) / static_cast<double>(n - 1);
  Matrix out(N, N);
  // A constant node has no correlation of either kind: corr would divide by 0, and
  // ridgep (FSLNets: the ridge-regularised precision) would give it a silent row of 0.
  const Vector d = C.diagonal();
  for (Index j = 0; j < N; ++j)
    if (!(d(j) > 0))
      throw ValueError(fmt::format("netmat: node {} has a constant time series (no {} can be computed for it); "
                                   "leave the node out or check its extraction",
                                   j + 1, method == NetmatMethod::Corr ? "correlation" : "partial correlation"));
  if (method == NetmatMethod::Corr) {
    const Vector s = d.cwiseSqrt();
    for (Index j = 0; j < N; ++j)
      for (Index i = 0; i < N; ++i) out(i, j) = C(i, j) / (s(i) * s(j));
  } else {
    if (!(rho >= 0)) throw ValueError(fmt::format("netmat: rho must be >= 0, got {}", rho));
    // FSLNets: grot = cov(ts); grot = grot / sqrt(mean(diag(grot).^2)); inv(grot + rho I).
    const double scale = std::sqrt(C.diagonal().array().square().mean());
    if (!(scale > 0)) throw ValueError("netmat: every node has a constant time series");
    C /= scale;
    C.diagonal().array() += rho;
    Eigen::LLT<Matrix> llt(C);
    if (llt.info() != Eigen::Success)
      throw ValueError(fmt::format("netmat: the regularised covariance is singular (rho = {}); use rho > 0", rho));
    const Matrix P = llt.solve(Matrix::Identity(N, N));
    const Vector s = P.diagonal().cwiseAbs().cwiseSqrt();
    for (Index j = 0; j < N; ++j)
      for (Index i = 0; i < N; ++i) out(i, j) = -P(i, j) / (s(i) * s(j));
  }
  out.diagonal().setZero();
  return out;
}

Matrix fisher_z(const Matrix& r) {
  return r.unaryExpr([](double x) {
    if (std::isnan(x)) return x;
    return std::atanh(std::clamp(x, -kMaxAbsR, kMaxAbsR));
  });
}

// ---------------------------------------------------------------- edges

Vector upper_triangle(const Matrix& m) {
  if (m.rows() != m.cols()) throw ValueError(fmt::format("upper_triangle: a square matrix expected, got {}x{}", m.rows(), m.cols()));
  const Index N = m.rows();
  Vector v(N * (N - 1) / 2);
  Index e = 0;
  for (Index i = 0; i < N; ++i)
    for (Index j = i + 1; j < N; ++j) v(e++) = m(i, j);
  return v;
}

Matrix from_upper_triangle(const Vector& edges, Index nodes, double diagonal) {
  if (nodes < 1 || edges.size() != nodes * (nodes - 1) / 2)
    throw ValueError(fmt::format("from_upper_triangle: {} edges do not fill the upper triangle of {} nodes "
                                 "(that needs {})",
                                 edges.size(), nodes, nodes * (nodes - 1) / 2));
  Matrix m(nodes, nodes);
  Index e = 0;
  for (Index i = 0; i < nodes; ++i) {
    m(i, i) = diagonal;
    for (Index j = i + 1; j < nodes; ++j) m(i, j) = m(j, i) = edges(e++);
  }
  return m;
}

std::vector<std::string> edge_labels(const std::vector<std::string>& nodes) {
  std::vector<std::string> out;
  out.reserve(nodes.size() * (nodes.size() - (nodes.empty() ? 0 : 1)) / 2);
  for (std::size_t i = 0; i < nodes.size(); ++i)
    for (std::size_t j = i + 1; j < nodes.size(); ++j) out.push_back(nodes[i] + "--" + nodes[j]);
  return out;
}

// ---------------------------------------------------------------- many subjects

Matrix netmats(const std::vector<std::vector<const Matrix*>>& runs, const NetmatsOptions& o, const Progress& progress) {
  if (runs.empty()) throw ValueError("netmats: no subject");
  if (runs[0].empty()) throw ValueError("netmats: subject 1 has no run");
  const Index N = runs[0][0]->cols();
  for (std::size_t s = 0; s < runs.size(); ++s) {
    if (runs[s].empty()) throw ValueError(fmt::format("netmats: subject {} has no run", s + 1));
    for (std::size_t r = 0; r < runs[s].size(); ++r)
      if (runs[s][r]->cols() != N)
        throw ValueError(fmt::format("netmats: subject {} run {} has {} nodes, subject 1 run 1 has {}", s + 1, r + 1,
                                     runs[s][r]->cols(), N));
  }
  Matrix out(static_cast<Index>(runs.size()), N * (N - 1) / 2);
  std::int64_t total = 0;
  for (const auto& list : runs) total += static_cast<std::int64_t>(list.size());
  std::atomic<std::int64_t> done{0};
  parallel_for(runs.size(), [&](std::size_t s) {
    Matrix sum = Matrix::Zero(N, N);
    for (std::size_t r = 0; r < runs[s].size(); ++r) {
      check_interrupt();
      try {
        const Matrix m = netmat(*runs[s][r], o.method, o.rho);
        sum += o.z ? fisher_z(m) : m;
      } catch (const ValueError& e) {
        throw ValueError(fmt::format("netmats: subject {} run {}: {}", s + 1, r + 1, e.what()));
      }
      if (progress) progress(++done, total);
    }
    out.row(static_cast<Index>(s)) = upper_triangle(sum / static_cast<double>(runs[s].size())).transpose();
  });
  return out;
}

}  // namespace nl::fc

// Ward linkage (nl/plot/linkage.hpp): the generic agglomerative algorithm with the
// Lance-Williams update, then scipy's relabelling, so Z matches scipy row for row.
#include "nl/plot/linkage.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <string>

#include "nl/core/core.hpp"

namespace nl::plot {
namespace {

struct RawMerge {
  int a, b;  // representative leaves of the two clusters
  double height;
};

// scipy's LinkageUnionFind: cluster ids n, n+1, ... in merge order.
struct UnionFind {
  std::vector<int> parent, size;
  int next;
  explicit UnionFind(int n) : parent(2 * n - 1), size(2 * n - 1, 1), next(n) {
    std::iota(parent.begin(), parent.end(), 0);
  }
  int find(int x) {
    int root = x;
    while (parent[root] != root) root = parent[root];
    while (parent[x] != root) {
      const int up = parent[x];
      parent[x] = root;
      x = up;
    }
    return root;
  }
  int merge(int x, int y) {
    parent[x] = parent[y] = next;
    size[next] = size[x] + size[y];
    return size[next++];
  }
};

// Pre-order walk from the root: the order the dendrogram draws the leaves in.
std::vector<int> leaf_order(const Matrix& Z, int n) {
  std::vector<int> out;
  out.reserve(n);
  std::vector<int> stack{2 * n - 2};
  while (!stack.empty()) {
    const int id = stack.back();
    stack.pop_back();
    if (id < n) {
      out.push_back(id);
      continue;
    }
    stack.push_back(static_cast<int>(Z(id - n, 1)));  // right child is visited second
    stack.push_back(static_cast<int>(Z(id - n, 0)));
  }
  return out;
}

}  // namespace

Linkage ward_linkage(const Matrix& D) {
  const Eigen::Index n = D.rows();
  if (D.cols() != n) throw ValueError("D: expected a square matrix, got " + std::to_string(D.rows()) + "x" +
                                      std::to_string(D.cols()));
  if (n < 2) throw ValueError("D: at least 2 items are needed for a hierarchy");
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < n; ++j) {
      if (i == j) continue;
      if (!std::isfinite(D(i, j)) || D(i, j) < 0)
        throw ValueError("D: entry (" + std::to_string(i + 1) + ", " + std::to_string(j + 1) +
                         ") is not a finite dissimilarity >= 0");
      if (std::abs(D(i, j) - D(j, i)) > 1e-12 * std::max(1.0, std::abs(D(i, j))))
        throw ValueError("D: the matrix is not symmetric at (" + std::to_string(i + 1) + ", " +
                         std::to_string(j + 1) + ")");
    }

  // d holds the current dissimilarities between active clusters; slot i keeps the
  // cluster whose representative leaf is i.
  Matrix d = D;
  std::vector<int> size(n, 1);
  std::vector<char> active(n, 1);
  std::vector<RawMerge> merges;
  merges.reserve(n - 1);
  for (Eigen::Index step = 0; step + 1 < n; ++step) {
    int bi = -1, bj = -1;
    double best = std::numeric_limits<double>::infinity();
    for (Eigen::Index i = 0; i < n; ++i) {
      if (!active[i]) continue;
      for (Eigen::Index j = i + 1; j < n; ++j)
        if (active[j] && d(i, j) < best) best = d(i, j), bi = static_cast<int>(i), bj = static_cast<int>(j);
    }
    merges.push_back({bi, bj, best});
    const double ni = size[bi], nj = size[bj];
    for (Eigen::Index k = 0; k < n; ++k) {
      if (!active[k] || k == bi || k == bj) continue;
      const double nk = size[k];
      const double v = std::sqrt(std::max(
          0.0, ((ni + nk) * d(k, bi) * d(k, bi) + (nj + nk) * d(k, bj) * d(k, bj) - nk * best * best) / (ni + nj + nk)));
      d(k, bi) = d(bi, k) = v;
    }
    size[bi] += size[bj];
    active[bj] = 0;
  }

  // scipy's label(): stable sort by height, then cluster ids by union-find.
  std::stable_sort(merges.begin(), merges.end(), [](const RawMerge& x, const RawMerge& y) { return x.height < y.height; });
  Linkage out;
  out.Z.resize(n - 1, 4);
  UnionFind uf(static_cast<int>(n));
  for (Eigen::Index s = 0; s + 1 < n; ++s) {
    const int x = uf.find(merges[s].a), y = uf.find(merges[s].b);
    out.Z(s, 0) = std::min(x, y);
    out.Z(s, 1) = std::max(x, y);
    out.Z(s, 2) = merges[s].height;
    out.Z(s, 3) = uf.merge(x, y);
  }
  out.leaves = leaf_order(out.Z, static_cast<int>(n));
  return out;
}

Linkage ward_linkage_rows(const Matrix& X) {
  if (X.rows() < 2) throw ValueError("X: at least 2 rows are needed for a hierarchy");
  if (!X.allFinite()) throw ValueError("X: the matrix holds NaN or infinite values");
  const Eigen::Index n = X.rows();
  Matrix D = Matrix::Zero(n, n);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = i + 1; j < n; ++j) D(i, j) = D(j, i) = (X.row(i) - X.row(j)).norm();
  return ward_linkage(D);
}

Matrix fslnets_dissimilarity(const Matrix& netmat) {
  const Eigen::Index n = netmat.rows();
  if (netmat.cols() != n) throw ValueError("Z: a netmat must be square, got " + std::to_string(netmat.rows()) + "x" +
                                           std::to_string(netmat.cols()));
  Matrix c = (netmat + netmat.transpose()) / 2;
  c.diagonal().setZero();
  if (!c.allFinite()) throw ValueError("Z: the netmat holds NaN or infinite values off the diagonal");
  c = c.cwiseMax(0.0);
  std::vector<double> a(c.data(), c.data() + c.size());
  std::sort(a.begin(), a.end());
  // numpy.percentile(|c|, 99), linear interpolation
  const double pos = 0.99 * static_cast<double>(a.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, a.size() - 1);
  double norm = a[lo] + (pos - static_cast<double>(lo)) * (a[hi] - a[lo]);
  if (!(norm > 0)) norm = 1;
  Matrix d = (0.5 - (c / norm).cwiseMax(-1.0).cwiseMin(1.0).array() / 2).matrix();
  d.diagonal().setZero();
  return d;
}

}  // namespace nl::plot

// fc/hierarchy.cpp: Ward hierarchical clustering of netmat nodes and the dendrogram
// leaf order, as FSLNets (Python, fsl.nets.hierarchy) computes it with SciPy:
//
//   clusternet[clusternet < 0] = 0
//   clusternet = clip(clusternet / percentile(|clusternet|, 99), -1, 1)
//   d = (0.5 - clusternet / 2)[triu_indices(N, 1)]
//   Z = scipy.cluster.hierarchy.linkage(d, "ward", optimal_ordering = True)
//   order = dendrogram(Z)["leaves"]
//
// Ward linkage is SciPy's nearest-neighbour-chain algorithm with the Lance-Williams
// update, then the merges are sorted by height and labelled as SciPy does. The optimal leaf ordering
// (Bar-Joseph, Gifford & Jaakkola 2001, Bioinformatics 17:S22) is a port of SciPy's
// _optimal_leaf_ordering.pyx, including its float32 cost table, its pruning and its
// per-node swap decisions, so that the order agrees with SciPy's leaf for leaf.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/fc/fc.hpp"

namespace nl::fc {

namespace {

// ---------------------------------------------------------------- Ward linkage

struct Merge {
  Index a, b;  // representatives (original points) or, after labelling, cluster ids
  double height;
  Index size;
};

// SciPy's _ward distance update (_hierarchy_distance_update.pxi), same operation order.
double ward_update(double d_xi, double d_yi, double d_xy, double size_x, double size_y, double size_i) {
  const double t = 1.0 / (size_x + size_y + size_i);
  return std::sqrt((size_i + size_x) * t * d_xi * d_xi + (size_i + size_y) * t * d_yi * d_yi -
                   size_i * t * d_xy * d_xy);
}

// SciPy's nn_chain (_hierarchy.pyx) for Ward: follow a chain of nearest neighbours
// until two clusters are mutual nearest neighbours, merge them (the new cluster keeps
// the higher index), update distances. Ported step for step, so that ties (distances
// clamped to exactly 0 by hierarchy()) are resolved in SciPy's order.
std::vector<Merge> ward_merges(const Vector& y, Index n) {
  std::vector<double> D(y.data(), y.data() + y.size());
  auto at = [&](Index i, Index j) -> double& {
    if (i > j) std::swap(i, j);
    return D[static_cast<std::size_t>(n * i - (i * (i + 1)) / 2 + (j - i - 1))];  // condensed_index
  };
  std::vector<Index> size(static_cast<std::size_t>(n), 1);
  std::vector<Index> chain(static_cast<std::size_t>(n));
  Index chain_length = 0;
  std::vector<Merge> merges;
  Index x = 0, yc = 0;
  for (Index k = 0; k + 1 < n; ++k) {
    if (chain_length == 0) {
      chain_length = 1;
      for (Index i = 0; i < n; ++i)
        if (size[static_cast<std::size_t>(i)] > 0) {
          chain[0] = i;
          break;
        }
    }
    double current_min = 0;
    for (;;) {
      x = chain[static_cast<std::size_t>(chain_length - 1)];
      // Prefer the previous element of the chain, to avoid cycles.
      if (chain_length > 1) {
        yc = chain[static_cast<std::size_t>(chain_length - 2)];
        current_min = at(x, yc);
      } else {
        current_min = std::numeric_limits<double>::infinity();
      }
      for (Index i = 0; i < n; ++i) {
        if (size[static_cast<std::size_t>(i)] == 0 || x == i) continue;
        const double dist = at(x, i);
        if (dist < current_min) current_min = dist, yc = i;
      }
      if (chain_length > 1 && yc == chain[static_cast<std::size_t>(chain_length - 2)]) break;
      chain[static_cast<std::size_t>(chain_length++)] = yc;
    }
    chain_length -= 2;
    Index a = x, b = yc;
    if (a > b) std::swap(a, b);
    const Index nx = size[static_cast<std::size_t>(a)], ny = size[static_cast<std::size_t>(b)];
    merges.push_back({a, b, current_min, nx + ny});
    size[static_cast<std::size_t>(a)] = 0;
    size[static_cast<std::size_t>(b)] = nx + ny;
    for (Index i = 0; i < n; ++i) {
      const Index ni = size[static_cast<std::size_t>(i)];
      if (ni == 0 || i == b) continue;
      at(i, b) = ward_update(at(i, a), at(i, b), current_min, static_cast<double>(nx), static_cast<double>(ny),
                             static_cast<double>(ni));
    }
  }
  return merges;
}

// SciPy's label(): merges sorted by height (stable), representatives turned into
// cluster ids by union-find, the lower id first; cluster n + i is made by merge i.
Matrix label_merges(std::vector<Merge> merges, Index n) {
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) { return a.height < b.height; });
  std::vector<Index> parent(static_cast<std::size_t>(2 * n - 1));
  std::iota(parent.begin(), parent.end(), Index{0});
  std::vector<Index> csize(static_cast<std::size_t>(2 * n - 1), 1);
  auto find = [&](Index x) {
    Index r = x;
    while (parent[static_cast<std::size_t>(r)] != r) r = parent[static_cast<std::size_t>(r)];
    while (parent[static_cast<std::size_t>(x)] != r) {
      const Index next = parent[static_cast<std::size_t>(x)];
      parent[static_cast<std::size_t>(x)] = r;
      x = next;
    }
    return r;
  };
  Matrix Z(n - 1, 4);
  for (Index i = 0; i + 1 < n; ++i) {
    const Index x = find(merges[static_cast<std::size_t>(i)].a), yv = find(merges[static_cast<std::size_t>(i)].b);
    const Index lo = std::min(x, yv), hi = std::max(x, yv);
    const Index id = n + i;
    parent[static_cast<std::size_t>(lo)] = parent[static_cast<std::size_t>(hi)] = id;
    csize[static_cast<std::size_t>(id)] = csize[static_cast<std::size_t>(lo)] + csize[static_cast<std::size_t>(hi)];
    Z(i, 0) = static_cast<double>(lo);
    Z(i, 1) = static_cast<double>(hi);
    Z(i, 2) = merges[static_cast<std::size_t>(i)].height;
    Z(i, 3) = static_cast<double>(csize[static_cast<std::size_t>(id)]);
  }
  return Z;
}

// Leaves of the dendrogram left to right (Z[i, 0] drawn on the left), as leaves_list.
std::vector<Index> leaves(const Matrix& Z, Index n) {
  std::vector<Index> out, stack{2 * n - 2};
  while (!stack.empty()) {
    const Index c = stack.back();
    stack.pop_back();
    if (c < n) {
      out.push_back(c);
      continue;
    }
    stack.push_back(static_cast<Index>(Z(c - n, 1)));
    stack.push_back(static_cast<Index>(Z(c - n, 0)));
  }
  return out;
}

// ---------------------------------------------------------------- optimal leaf ordering (SciPy port)

void dual_swap(float* d, int* idx, int i1, int i2) {
  std::swap(d[i1], d[i2]);
  std::swap(idx[i1], idx[i2]);
}

// SciPy's _simultaneous_sort (taken there from scikit-learn): an unstable quicksort;
// ported as is because the visiting order decides the pruning below.
void simultaneous_sort(float* dist, int* idx, int size) {
  if (size <= 1) return;
  if (size == 2) {
    if (dist[0] > dist[1]) dual_swap(dist, idx, 0, 1);
    return;
  }
  if (size == 3) {
    if (dist[0] > dist[1]) dual_swap(dist, idx, 0, 1);
    if (dist[1] > dist[2]) {
      dual_swap(dist, idx, 1, 2);
      if (dist[0] > dist[1]) dual_swap(dist, idx, 0, 1);
    }
    return;
  }
  int pivot_idx = size / 2;
  if (dist[0] > dist[size - 1]) dual_swap(dist, idx, 0, size - 1);
  if (dist[size - 1] > dist[pivot_idx]) {
    dual_swap(dist, idx, size - 1, pivot_idx);
    if (dist[0] > dist[size - 1]) dual_swap(dist, idx, 0, size - 1);
  }
  const float pivot_val = dist[size - 1];
  int store_idx = 0;
  for (int i = 0; i < size - 1; ++i)
    if (dist[i] < pivot_val) dual_swap(dist, idx, i, store_idx++);
  dual_swap(dist, idx, store_idx, size - 1);
  pivot_idx = store_idx;
  if (pivot_idx > 1) simultaneous_sort(dist, idx, pivot_idx);
  if (pivot_idx + 2 < size) simultaneous_sort(dist + pivot_idx + 1, idx + pivot_idx + 1, size - pivot_idx - 1);
}

// identify_swaps(): for each merge v (children v_l, v_r), M[u, w] is the least sum of
// adjacent-leaf distances of an ordering of v's leaves that starts at u (a leaf of
// v_l) and ends at w (a leaf of v_r): min over m (the inner end of v_l's ordering) and k
// of M[u, m] + D[m, k] + M[k, w]. Returns, per merge, whether its subtree is reversed.
std::vector<int> identify_swaps(const std::vector<std::array<int, 3>>& Zs, const Matrix& D,
                                const std::vector<std::array<int, 2>>& ranges) {
  const int n = static_cast<int>(Zs.size()) + 1;
  std::vector<float> M(static_cast<std::size_t>(n) * static_cast<std::size_t>(n), 0.0f);
  std::vector<std::array<int, 2>> swap_status(static_cast<std::size_t>(n) * static_cast<std::size_t>(n), {0, 0});
  std::vector<int> must_swap(Zs.size(), 0);
  auto m_at = [&](int i, int j) -> float& { return M[static_cast<std::size_t>(i) * static_cast<std::size_t>(n) + static_cast<std::size_t>(j)]; };
  auto st_at = [&](int i, int j) -> std::array<int, 2>& {
    return swap_status[static_cast<std::size_t>(i) * static_cast<std::size_t>(n) + static_cast<std::size_t>(j)];
  };
  std::vector<float> m_vals(static_cast<std::size_t>(n)), k_vals(static_cast<std::size_t>(n));
  std::vector<int> m_idx(static_cast<std::size_t>(n)), k_idx(static_cast<std::size_t>(n));
  auto sort_slice = [&](float* vals, int* idx, int lo, int hi, int col) {
    for (int i = 0; i < hi - lo; ++i) {
      vals[i] = m_at(lo + i, col);
      idx[i] = lo + i;
    }
    simultaneous_sort(vals, idx, hi - lo);
  };
  int best_u = 0, best_w = 0;
  for (std::size_t i = 0; i < Zs.size(); ++i) {
    const int v_l = Zs[i][0], v_r = Zs[i][1];
    int u_clusters[2], m_clusters[2], w_clusters[2], k_clusters[2];
    int total_u, total_w;
    if (v_l < n) {
      total_u = 1;
      u_clusters[0] = m_clusters[0] = v_l;
    } else {
      total_u = 2;
      u_clusters[0] = Zs[static_cast<std::size_t>(v_l - n)][0];
      m_clusters[0] = Zs[static_cast<std::size_t>(v_l - n)][1];
      u_clusters[1] = Zs[static_cast<std::size_t>(v_l - n)][1];
      m_clusters[1] = Zs[static_cast<std::size_t>(v_l - n)][0];
    }
    if (v_r < n) {
      total_w = 1;
      w_clusters[0] = k_clusters[0] = v_r;
    } else {
      total_w = 2;
      w_clusters[0] = Zs[static_cast<std::size_t>(v_r - n)][1];
      w_clusters[1] = Zs[static_cast<std::size_t>(v_r - n)][0];
      k_clusters[0] = Zs[static_cast<std::size_t>(v_r - n)][0];
      k_clusters[1] = Zs[static_cast<std::size_t>(v_r - n)][1];
    }
    for (int swap_l = 0; swap_l < total_u; ++swap_l) {
      for (int swap_r = 0; swap_r < total_w; ++swap_r) {
        const auto& ur = ranges[static_cast<std::size_t>(u_clusters[swap_l])];
        const auto& mr = ranges[static_cast<std::size_t>(m_clusters[swap_l])];
        const auto& wr = ranges[static_cast<std::size_t>(w_clusters[swap_r])];
        const auto& kr = ranges[static_cast<std::size_t>(k_clusters[swap_r])];
        float min_km = 1073741824.0f;
        for (int m = mr[0]; m < mr[1]; ++m)
          for (int k = kr[0]; k < kr[1]; ++k)
            if (D(m, k) < min_km) min_km = static_cast<float>(D(m, k));
        for (int u = ur[0]; u < ur[1]; ++u) {
          sort_slice(m_vals.data(), m_idx.data(), mr[0], mr[1], u);
          for (int w = wr[0]; w < wr[1]; ++w) {
            sort_slice(k_vals.data(), k_idx.data(), kr[0], kr[1], w);
            float cur_min = 1073741824.0f;
            for (int mi = 0; mi < mr[1] - mr[0]; ++mi) {
              const int m = m_idx[static_cast<std::size_t>(mi)];
              if (m_at(u, m) + m_at(w, k_idx[0]) + min_km >= cur_min) break;
              for (int ki = 0; ki < kr[1] - kr[0]; ++ki) {
                const int k = k_idx[static_cast<std::size_t>(ki)];
                if (m_at(u, m) + m_at(w, k) + min_km >= cur_min) break;
                // float + float, then + double, stored as float (as the Cython code).
                const auto current = static_cast<float>(static_cast<double>(m_at(u, m) + m_at(w, k)) + D(m, k));
                if (current < cur_min) cur_min = current;
              }
            }
            m_at(u, w) = m_at(w, u) = cur_min;
            st_at(u, w) = st_at(w, u) = {swap_l, swap_r};
          }
        }
      }
    }
    float cur_min = 1073741824.0f;
    const auto& lr = ranges[static_cast<std::size_t>(v_l)];
    const auto& rr = ranges[static_cast<std::size_t>(v_r)];
    for (int u = lr[0]; u < lr[1]; ++u)
      for (int w = rr[0]; w < rr[1]; ++w)
        if (m_at(u, w) < cur_min) cur_min = m_at(u, w), best_u = u, best_w = w;
    if (v_l >= n) must_swap[static_cast<std::size_t>(v_l - n)] = st_at(best_u, best_w)[0];
    if (v_r >= n) must_swap[static_cast<std::size_t>(v_r - n)] = st_at(best_u, best_w)[1];
  }
  return must_swap;
}

// SciPy's optimal_leaf_ordering(Z, D): the same tree with children swapped so that the
// dendrogram's leaf order has (SciPy's) minimal sum of adjacent distances.
Matrix optimal_leaf_ordering(const Matrix& Z, const Matrix& D) {
  const Index n = Z.rows() + 1;
  const std::vector<Index> order = leaves(Z, n);
  std::vector<int> pos(static_cast<std::size_t>(n));
  for (std::size_t s = 0; s < order.size(); ++s) pos[static_cast<std::size_t>(order[s])] = static_cast<int>(s);
  std::vector<std::array<int, 3>> Zs(static_cast<std::size_t>(n - 1));
  for (Index i = 0; i + 1 < n; ++i) {
    auto a = static_cast<int>(Z(i, 0)), b = static_cast<int>(Z(i, 1));
    if (a < n) a = pos[static_cast<std::size_t>(a)];
    if (b < n) b = pos[static_cast<std::size_t>(b)];
    Zs[static_cast<std::size_t>(i)] = {a, b, static_cast<int>(Z(i, 3))};
  }
  Matrix Ds(n, n);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) Ds(i, j) = D(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  std::vector<std::array<int, 2>> ranges(static_cast<std::size_t>(2 * n - 1));
  for (Index i = 0; i < n; ++i) ranges[static_cast<std::size_t>(i)] = {static_cast<int>(i), static_cast<int>(i) + 1};
  for (Index i = 0; i + 1 < n; ++i)
    ranges[static_cast<std::size_t>(n + i)] = {ranges[static_cast<std::size_t>(Zs[static_cast<std::size_t>(i)][0])][0],
                                               ranges[static_cast<std::size_t>(Zs[static_cast<std::size_t>(i)][1])][1]};
  const std::vector<int> must_swap = identify_swaps(Zs, Ds, ranges);
  // A node is flipped once for each ancestor-or-self that must be reversed.
  const std::size_t m = static_cast<std::size_t>(n - 1);
  std::vector<std::vector<char>> desc(m, std::vector<char>(m, 0));
  for (std::size_t i = 0; i < m; ++i) {
    desc[i][i] = 1;
    for (int c : {Zs[i][0], Zs[i][1]}) {
      if (c < n) continue;
      const auto ci = static_cast<std::size_t>(c - n);
      for (std::size_t j = 0; j < m; ++j) desc[i][j] = static_cast<char>(desc[i][j] || desc[ci][j]);
    }
  }
  Matrix out = Z;
  for (std::size_t j = 0; j < m; ++j) {
    int flips = 0;
    for (std::size_t i = 0; i < m; ++i) flips += desc[i][j] && must_swap[i];
    if (flips % 2) std::swap(out(static_cast<Index>(j), 0), out(static_cast<Index>(j), 1));
  }
  return out;
}

// numpy.percentile(a, q) with the default linear method (and NumPy's _lerp).
double percentile(std::vector<double> a, double q) {
  std::sort(a.begin(), a.end());
  const double vi = (q / 100.0) * static_cast<double>(a.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(vi));
  const std::size_t hi = std::min(lo + 1, a.size() - 1);
  const double t = vi - static_cast<double>(lo);
  const double x = a[lo], y = a[hi], diff = y - x;
  return t >= 0.5 ? y - diff * (1.0 - t) : x + diff * t;
}

}  // namespace

// ---------------------------------------------------------------- public

Hierarchy ward_linkage(const Vector& condensed, Index n, bool optimal_ordering) {
  if (n < 2) throw ValueError(fmt::format("ward_linkage: needs at least 2 nodes, got {}", n));
  if (condensed.size() != n * (n - 1) / 2)
    throw ValueError(fmt::format("ward_linkage: {} distances for {} nodes (needs {})", condensed.size(), n, n * (n - 1) / 2));
  if (!condensed.allFinite()) throw ValueError("ward_linkage: distances must be finite");
  Hierarchy h;
  h.linkage = label_merges(ward_merges(condensed, n), n);
  if (optimal_ordering && n > 2) {
    Matrix D = Matrix::Zero(n, n);
    Index e = 0;
    for (Index i = 0; i < n; ++i)
      for (Index j = i + 1; j < n; ++j) D(i, j) = D(j, i) = condensed(e++);
    h.linkage = optimal_leaf_ordering(h.linkage, D);
  }
  h.order = leaves(h.linkage, n);
  return h;
}

Hierarchy hierarchy(const Matrix& netmat) {
  if (netmat.rows() != netmat.cols() || netmat.rows() < 2)
    throw ValueError(fmt::format("hierarchy: a square netmat with at least 2 nodes expected, got {}x{}", netmat.rows(),
                                 netmat.cols()));
  if (!netmat.allFinite()) throw ValueError("hierarchy: the netmat has non-finite values");
  const Index N = netmat.rows();
  Matrix c = netmat.cwiseMax(0.0);
  const double norm = percentile(std::vector<double>(c.data(), c.data() + c.size()), 99.0);
  if (!(norm > 0))
    throw ValueError("hierarchy: the netmat has too few positive entries (its 99th percentile of the positive "
                     "part is 0), so there is nothing to cluster on");
  c = (c / norm).cwiseMin(1.0).cwiseMax(-1.0);
  const Matrix d = (0.5 - c.array() / 2.0).matrix();
  Vector y(N * (N - 1) / 2);
  Index e = 0;
  for (Index i = 0; i < N; ++i)
    for (Index j = i + 1; j < N; ++j) y(e++) = d(i, j);
  return ward_linkage(y, N, true);
}

}  // namespace nl::fc

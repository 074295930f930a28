// nl/plot/linkage.hpp: Ward hierarchical clustering, to order heat maps and netmats.
//
// Objective: agglomerative clustering that at each step merges the two clusters whose
// union least increases the within-cluster sum of squares (Ward 1963), through the
// Lance-Williams update on dissimilarities
//   d(k, i u j) = sqrt(((n_i + n_k) d(k,i)^2 + (n_j + n_k) d(k,j)^2 - n_k d(i,j)^2) / (n_i + n_j + n_k)),
// scipy.cluster.hierarchy.linkage(method = "ward") and MATLAB's linkage(y, 'ward').
// Contract: the result has scipy's layout (row s: the two merged cluster ids, smaller
// first, ids >= n naming the cluster made at step id - n; the merge height; the size
// of the new cluster), rows in increasing height. O(n^3) time, O(n^2) memory: meant for
// netmats of a few hundred nodes.
#pragma once

#include <vector>

#include "nl/core/linalg.hpp"

namespace nl::plot {

struct Linkage {
  Matrix Z;                // (n - 1) x 4, scipy's layout
  std::vector<int> leaves;  // leaf order left to right (scipy leaves_list / dendrogram leaves)
};

// Ward linkage of a symmetric n x n dissimilarity matrix (the diagonal is ignored).
// ValueError "D: ..." for a non-square, non-symmetric, negative or non-finite matrix or
// n < 2.
Linkage ward_linkage(const Matrix& D);

// Ward linkage of the rows of X under Euclidean distance (scipy linkage(X, "ward")).
Linkage ward_linkage_rows(const Matrix& X);

// The dissimilarity FSLNets' nets_hierarchy clusters a netmat with: negative entries
// set to 0, divided by the 99th percentile of |entries| (numpy's linear percentile over
// the whole matrix, diagonal set to 0), clamped to [-1, 1], then d = 0.5 - value / 2.
// The netmat is symmetrised first ((Z + Z') / 2).
Matrix fslnets_dissimilarity(const Matrix& netmat);

}  // namespace nl::plot

// nl/stats/permutation.hpp: permutation inference for the GLM (Freedman-Lane), with
// sign flipping, exchangeability blocks and family-wise error control by the maximum
// statistic, as FSL randomise and PALM do it (Winkler, Ridgway, Webster, Smith & Nichols
// 2014, "Permutation inference for the general linear model", NeuroImage 92:381-397).
//
// Freedman-Lane. With the full model Y = X B + E and a contrast C (s x p), the null
// model is the subspace {X b : C b = 0}, spanned by Z = X N with N a basis of null(C).
// With R_Z = I - Z Z^+ and H_Z = Z Z^+, each rearrangement P (a permutation and/or sign
// flips of the rows) gives the data
//     Y*_P = P R_Z Y + H_Z Y,
// to which the full model is refitted and the same t or F statistic computed. P = I
// gives the observed statistic. The rearrangements are the first the identity, then
// random ones, one nl::Rng stream (seed, k) per permutation k, so results do not depend
// on the thread count. p-values count the identity (as randomise):
//     uncorrected  p_j = #{k : T_kj >= T_j} / N,
//     FWE          p_j = #{k : max_i T_ki >= T_j} / N,
// where T is the statistic in the requested tail: |t| (two-sided), t, -t, or F; N is
// the number of rearrangements including the identity. Statistics within a relative
// 1e-10 of the observed count as ties (>=), so that rearrangements that are equivalent
// in exact arithmetic (say swapping two subjects of the same group) are not lost to
// rounding. Columns whose observed statistic is NaN (an exact fit, see glm.hpp) take no
// part in the maxima and get NaN p-values.
//
// Exhaustive enumeration: when the number of distinct rearrangements of the row indices
// (the product of the block sizes' factorials for permutations, 2^n for sign flips, both
// multiplied for both) is at most the number requested, every one of them is used
// exactly once (identity first) and N is that number, as randomise does.
//
// Computation (why it is fast). C B^*_P and the residual sum of squares of Y*_P depend on
// Y only through E = R_Z Y (n x m, formed once), because H_Z Y lies in the null model:
//     C B^*_P = A' P E,  RSS*_P = |P E|^2 - |Q' P E|^2 = |E|^2 - |Q' P E|^2,
// with A = X^+' C' and Q an orthonormal basis of col(X) (A lies in col(X)). So each
// rearrangement costs one product of a few permuted rows of Q with E: the rows of Q are
// permuted instead of the n x m data, and batches of rearrangements are stacked into
// one matrix-matrix product over all columns. Directions of col(X) that no permutation
// can change (constant within every block, such as the intercept) are projected once.
//
// Cluster-level inference (options.clusters): the tests are voxels of a grid (see
// cluster.hpp); every map, observed and rearranged, is thresholded at
// options.cluster_threshold on the same scale as T (|t|, t, -t or F; T >= threshold is
// suprathreshold) and cut into clusters with the same connectivity. For an observed
// cluster of k voxels:
//     FWE p         = #{rearrangements whose largest cluster has >= k voxels} / N
//                     (the maximum cluster size, as randomise -c / PALM -C),
//     uncorrected p = #{clusters of >= k voxels in all N maps} / #{clusters in all N maps}
//                     (the cluster-size distribution pooled over rearrangements: the
//                     permutation counterpart of the random-field cluster p-value that
//                     SPM's topological FDR uses), and
//     FDR p         = Benjamini-Hochberg over the observed clusters' uncorrected p.
// With options.cluster_stat = Mass the same holds with the cluster's mass (the sum of
// T over it) in place of its size.
//
// TFCE inference (options.tfce, tfce.hpp): every map, observed and rearranged, is
// enhanced on the same scale (one-sided t, -t or F as T; two-sided t with both signs
// enhanced separately, scores >= 0), and
//     uncorrected p_j = #{k : TFCE_kj >= TFCE_j} / N,
//     FWE p_j         = #{k : max_i TFCE_ki >= TFCE_j} / N
// (randomise -T, PALM -T), ties within a relative 1e-10 as for the statistic.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nl/io/checkpoint.hpp"
#include "nl/core/core.hpp"
#include "nl/core/linalg.hpp"
#include "nl/core/progress.hpp"
#include "nl/stats/cluster.hpp"
#include "nl/stats/distributions.hpp"
#include "nl/stats/glm.hpp"
#include "nl/stats/tfce.hpp"
#include "nl/stats/variance_groups.hpp"

namespace nl::stats {

enum class BlockMode { Within, Whole, Both };
// Extent: a cluster's number of tests; Mass: the sum of its statistic (T on the tested
// scale) over its tests.
enum class ClusterStat { Extent, Mass };

struct PermutationOptions {
  int permutations = 5000;  // N, including the identity (at least 1)
  std::uint64_t seed = 0;
  Exchange scheme = Exchange::Permute;
  // Per row: its exchangeability block (any integers); empty: all rows form one block.
  // Within (default): permutations stay within blocks; with sign flipping alone, blocks
  // have no effect. Whole: the blocks (all of one size) are permuted as units, the
  // k-th row of a block going to the k-th row of another, and sign flips act on whole
  // blocks (PALM -whole). Both: whole-block permutations composed with permutations
  // within blocks, and sign flips per row (PALM -within -whole). Whole and Both refuse
  // blocks of unequal sizes.
  std::vector<int> blocks;
  BlockMode block_mode = BlockMode::Within;
  Tail tail = Tail::Two;  // t contrasts only; F is always upper-tailed
  // Called with the rearrangements done so far and their total (from worker threads).
  Progress progress;
  // Cluster inference when set (not owned; one grid position per column of Y).
  const ClusterGrid* clusters = nullptr;
  double cluster_threshold = 0;
  ClusterStat cluster_stat = ClusterStat::Extent;  // what a cluster is scored by
  // TFCE when set (not owned; one test per column of Y). two_sided is taken from the
  // tail (t two-sided), not from tfce_options.
  const ClusterGrid* tfce = nullptr;
  TfceOptions tfce_options;
  // Variance groups (variance_groups.hpp): one integer label per row. With two or more
  // groups every map, observed and rearranged, is the Aspin-Welch v (one contrast row)
  // or G (several) instead of t or F (PALM -vg); one group (or empty) is t or F.
  std::vector<int> variance_groups;
  std::vector<std::string> variance_group_names;  // names[label] for errors (optional)
  // Resume after a kill (nl/io/checkpoint.hpp): the counts and maxima of the finished
  // batches of rearrangements are saved to checkpoint.path every checkpoint.every
  // seconds; a later run with the same path, data and options goes on from there.
  CheckpointOptions checkpoint;
};

// One rearrangement of the rows: row i of the rearranged data is sign[i] * E[perm[i]]
// (sign empty: all +1).
struct Shuffle {
  std::vector<Index> perm;
  std::vector<signed char> sign;
};

struct PermutationResult {
  Vector stat;      // m: observed t or F, or v or G with variance groups (NaN where undefined)
  Vector p_unc;     // m: uncorrected permutation p
  Vector p_fwe;     // m: FWE-corrected p (maximum statistic)
  Vector max_stat;  // N: maximum of T over columns per rearrangement; [0] is observed
  // The tail approximation of the FWE p (Winkler et al. 2016, "Faster permutation
  // inference in brain imaging", NeuroImage 141:502-516, the gamma method): Pearson's
  // type III fitted by moments (mean, sd and skewness of max_stat, all N entries, the
  // population moments) and evaluated at each observed statistic, so that p below
  // 1 / N can be estimated. NaN where the statistic is.
  Vector p_fwe_gamma;
  int permutations = 0;  // N
  bool exhaustive = false;

  // Cluster inference (empty unless options.clusters): observed clusters numbered
  // 1, 2, ... by decreasing size.
  std::vector<int> cluster_label;    // m: the test's cluster, 0 for none
  std::vector<Index> cluster_size;   // per cluster, in voxels
  std::vector<Index> cluster_peak;   // per cluster: the test with the largest T
  std::vector<double> cluster_mass;  // per cluster: the sum of T
  Vector cluster_p_fwe, cluster_p_unc, cluster_p_fdr;  // per cluster
  Vector max_cluster;                // N: largest cluster (extent or mass) per rearrangement (0: none)

  // TFCE (empty unless options.tfce).
  Vector tfce;                    // m: observed scores
  Vector tfce_p_unc, tfce_p_fwe;  // m
  Vector max_tfce;                // N: largest score per rearrangement; [0] observed
};

// The rearrangements for n rows under the options: exhaustive when that is no more
// than o.permutations (see above), else the identity and o.permutations - 1 random
// ones. *exhaustive reports which.
std::vector<Shuffle> make_shuffles(Index n, const PermutationOptions& o, bool* exhaustive = nullptr);

// Freedman-Lane inference for the contrast C (one row: t; several rows: F) of the
// model Y = X B + E. Errors as glm_fit and check_contrast, plus: blocks of the wrong
// length, fewer than 1 permutation.
PermutationResult freedman_lane(const Matrix& Y, const Matrix& X, const Matrix& C, const PermutationOptions& o);

// The same with the caller's rearrangements (the first must be the identity; each must
// respect o.scheme and o.blocks: ValueError otherwise). o.permutations and o.seed are
// ignored. For comparisons with other implementations.
PermutationResult freedman_lane(const Matrix& Y, const Matrix& X, const Matrix& C, const PermutationOptions& o,
                                const std::vector<Shuffle>& shuffles);

}  // namespace nl::stats

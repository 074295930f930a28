// nl/stats/store_glm.hpp: the voxelwise GLM with permutation inference on a voxel store
// (nl/io/voxel_store.hpp), computed one block of voxels at a time.
//
// Method: freedman_lane (permutation.hpp) on each block of columns, then combined. The
// rearrangements depend only on the seed, n and the options (never on the data or its
// columns), so every block sees the same ones, and:
//   stat, uncorrected p   per voxel: from its own block (a voxel's count involves only
//                         its own column);
//   max_stat[k]           the maximum over blocks of the blocks' maxima (NaN-aware);
//   FWE p, gamma FWE p    recomputed from the combined max_stat exactly as
//                         freedman_lane does (ties within a relative 1e-10).
// The result equals freedman_lane on the whole n x V matrix to the last bit (tested in
// tests/engine/io/test_voxel_store.cpp) when blocks start at multiples of 4 columns, as
// they do here: every per-column quantity is then computed by the same sequence of
// floating-point operations (Eigen's matrix products treat columns in panels of 4; see
// docs/scaling.md, "Out-of-core voxel data", for the one theoretical exception: a
// rearrangement whose two largest statistics in different blocks agree to within one
// unit in the last place).
//
// Memory: O(n x block) for the data and the engine's working copies of a block, plus
// O(V) for the per-voxel results and O(N) for max_stat, never O(n x V).
//
// Refused (ValueError, saying how much memory the in-memory GLM would need): cluster
// and TFCE inference, which need every rearranged map whole; see docs/scaling.md.
// Variance groups work (their statistics are per voxel too).
//
// MPI: freedman_lane shares each block's rearrangements out over the ranks, so every
// rank reads every block (from the shared file) and all ranks hold the whole result.
#pragma once

#include "nl/io/voxel_store.hpp"
#include "nl/stats/permutation.hpp"

namespace nl::stats {

struct StoreGlmResult {
  PermutationResult perm;  // stat, p_unc, p_fwe, max_stat, p_fwe_gamma (no cluster / TFCE fields)
  // V: the parametric statistic and p per voxel as glm_fit with t_contrast / f_contrast
  // (or variance_group_test) give them on the whole matrix (nl.stats.glm's `stat` and
  // `p`); perm.stat is the same statistic by freedman_lane's formula (equal to rounding).
  Vector stat, p;
  Index n = 0, rank = 0;
  double df = 0;     // residual df of the design
  Index blocks = 0;  // blocks read
  Index block_voxels = 0;
};

// Freedman-Lane inference for contrast C of the design X (n x p, one row per subject of
// the store) at every voxel of the store. block_voxels: voxels per block, rounded up to
// a multiple of the store's chunk_voxels (0: the chunk_voxels). o.progress is called
// with (rearrangements done over all blocks, N x blocks). Errors: as freedman_lane,
// plus ValueError for X with a row count other than the store's subjects and for
// options.clusters or options.tfce.
StoreGlmResult freedman_lane(const VoxelStore& store, const Matrix& X, const Matrix& C, const PermutationOptions& o,
                             Index block_voxels = 0);

}  // namespace nl::stats

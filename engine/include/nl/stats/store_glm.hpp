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
// Cluster and TFCE inference (options.clusters, options.tfce: grids over the store's
// mask voxels) need every rearranged map whole, so they run the other way round: the
// rearrangements in passes of as many batches of 32 as `memory` bytes of rearranged
// maps hold (8 bytes per voxel for the statistic when TFCE or cluster mass needs it,
// 1 for the suprathreshold flags of clusters), each pass reading the whole store once,
// block by block, and computing its rearrangements' statistics at every voxel with the
// same kernel as freedman_lane (the running maxima carried from block to block in
// column order); then the same cluster and TFCE code runs on each whole map. One more
// read of the store gives the observed maps first. The result equals freedman_lane on
// the whole n x V matrix bit for bit (tests/lua/test_store.lua). Memory: `memory` plus
// O(n x block + V + N).
//
// Checkpoints (options.checkpoint): the voxelwise-only run saves the blocks finished so
// far (units: blocks), the whole-map run the passes finished so far (units: batches of
// 32 rearrangements), both with a fingerprint of the store (its creation time, shape,
// mask and sources with their SHA-256), the design, the contrast, the options and the
// seed; semantics as nl/io/checkpoint.hpp.
// Variance groups work (their statistics are per voxel too).
//
// MPI: the voxelwise-only run spreads the blocks over the ranks (each reads its share of
// the store); the whole-map run spreads each pass's batches over the ranks (each rank
// reads the whole store once per pass and holds its share of the maps); every rank ends
// with the whole result.
#pragma once

#include <cstdint>

#include "nl/io/voxel_store.hpp"
#include "nl/stats/permutation.hpp"

namespace nl::stats {

struct StoreGlmResult {
  PermutationResult perm;  // as freedman_lane on the whole matrix (cluster and TFCE fields when asked)
  // V: the parametric statistic and p per voxel as glm_fit with t_contrast / f_contrast
  // (or variance_group_test) give them on the whole matrix (nl.stats.glm's `stat` and
  // `p`); perm.stat is the same statistic by freedman_lane's formula (equal to rounding).
  Vector stat, p;
  Index n = 0, rank = 0;
  double df = 0;     // residual df of the design
  Index blocks = 0;  // blocks read
  Index block_voxels = 0;
  Index passes = 0;  // whole reads of the store (1 without clusters and TFCE)
  Index rearrangements_per_pass = 0;  // with clusters or TFCE: rearranged maps held at once (per rank)
};

// Default bound on the bytes of rearranged maps held at once (cluster and TFCE runs).
inline constexpr std::int64_t kStoreMapMemory = std::int64_t{1} << 30;

// Freedman-Lane inference for contrast C of the design X (n x p, one row per subject of
// the store) at every voxel of the store. block_voxels: voxels per block, rounded up to
// a multiple of the store's chunk_voxels (0: the chunk_voxels). o.progress is called
// with (rearrangements done, total): over all blocks (N x blocks) without clusters and
// TFCE, else rearrangements. memory: the bytes of rearranged maps held at once with
// clusters or TFCE (see above). Errors: as freedman_lane, plus ValueError for X with a
// row count other than the store's subjects, for cluster or TFCE grids of another
// size than the store's voxels, and for `memory` below one batch of 32 maps (the
// message names the option `memory` and the bytes one batch needs), and for a store of
// frames (StoreRows::Frames; the message starts "store:").
StoreGlmResult freedman_lane(const VoxelStore& store, const Matrix& X, const Matrix& C, const PermutationOptions& o,
                             Index block_voxels = 0, std::int64_t memory = kStoreMapMemory);

}  // namespace nl::stats

// stats/store_detail.hpp (engine-internal): what the two runs of the GLM on a voxel
// store (store_glm.cpp: voxelwise, block by block; store_maps.cpp: whole maps, for
// clusters and TFCE) share.
#pragma once

#include <string>
#include <vector>

#include "nl/io/checkpoint.hpp"
#include "nl/stats/store_glm.hpp"

namespace nl::stats::store_detail {

// Voxels per block: block_voxels rounded up to whole chunks and to a multiple of 4
// (0: one chunk). ValueError when negative.
Index block_width(const VoxelStore& store, Index block_voxels);

// A checkpoint's fingerprint of the store: shape, chunks, creation time, mask and every
// source (path, SHA-256, size, time). The store is never modified after its build, and
// a rebuild has another creation time, so this identifies its content without reading it.
void store_identity(Fingerprint& f, const VoxelStore& s);
// ... and of the run: design, contrast, rearrangement count, seed and the options that
// change the numbers.
void run_identity(Fingerprint& f, const Matrix& X, const Matrix& C, const PermutationOptions& o, std::size_t N);

// The parametric statistic and p of the columns of Y, as nl.stats.glm computes them
// (glm_fit with t_contrast / f_contrast, or variance_group_test with two or more groups).
void parametric(const Matrix& Y, const Matrix& X, const Matrix& C, const PermutationOptions& o,
                std::vector<std::string>* vg_names, Eigen::Ref<Vector> stat, Eigen::Ref<Vector> p);

// Under MPI, after each rank has filled the voxels of its share of blocks [b0, b1) (as
// mpi::block_of splits b1 - b0 units): every rank's copy gets them all. Collective.
void share_voxels(Vector& v, std::size_t b0, std::size_t b1, Index block);

// The whole-map run (store_maps.cpp): cluster and TFCE inference.
StoreGlmResult whole_maps(const VoxelStore& store, const Matrix& X, const Matrix& C, const PermutationOptions& o,
                          Index block, std::int64_t memory);

}  // namespace nl::stats::store_detail

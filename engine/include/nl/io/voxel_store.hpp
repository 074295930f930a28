// nl/io/voxel_store.hpp: an out-of-core voxel store, the subjects x voxels data of
// thousands of 3-D maps in one chunked HDF5 file, built once and then read by voxel
// block (the chunked GLM, stats/store_glm.hpp; MPI ranks, each opening the file).
//
// Why: 40,000 maps of 10^6 voxels are 160 GB in float32 and 320 GB as doubles; a
// voxelwise analysis needs all subjects of one voxel at a time, which the maps (one
// subject each) give only by re-reading every map for every block of voxels. The store
// is the transposition done once.
//
// Layout (format version 1). One HDF5 file:
//   /data       float32, n_subjects x n_voxels (row = subject in input order, column = the
//               mask's voxels in NIfTI storage order, x fastest), chunked, with HDF5's
//               byte shuffle + deflate when `compression` > 0, and a Fletcher-32
//               checksum per chunk (a corrupt chunk is an error, never wrong numbers).
//   /mask       uint8, nz x ny x nx (C order, i.e. NIfTI's x fastest in memory).
//   /sources/path, /sources/sha256 (strings), /sources/bytes (uint64),
//   /sources/mtime_ns (int64): one entry per subject, the map it came from.
//   A store of frames (build_series_store; format version 2, attribute rows = "frames")
//   has the frames of one 4-D series as its rows and one /sources entry, the series.
//   root attributes: format ("neurolua voxel store"), format_version (1 or 2), rows
//   ("subjects" or "frames"; written by every build, required from version 2),
//   n_subjects (the rows),
//   n_voxels, dims, affine (4 x 4, 0-based voxel -> RAS mm), the NIfTI grid fields
//   (qform_code, sform_code, sform, quatern, qoffset, qfac, pixdim), mask_source,
//   created (UTC, ISO 8601), neurolua_commit.
//
// Values are float32 on disk: a NIfTI map is float32 in memory already (nl/image), so
// the store keeps each value exactly as load_volume gave it; reads return double
// (exact widening).
//
// Chunks: chunk_subjects x chunk_voxels (default at most 64 x 4096, i.e. up to 1 MiB
// of float32). A chunk spans a block of subjects, not all of them: the build streams the
// maps one batch of chunk_subjects at a time and writes every chunk of the batch whole,
// exactly once, so compression never needs a read-modify-write and memory is O(batch x
// voxels). A chunk of all n subjects (n = 40,000: 655 MB per chunk) could only be
// written whole after all maps were read, or by rewriting each compressed chunk n /
// batch times. Reading voxels [v0, v1) for all subjects reads the ceil(n / 64) chunks
// of each 4096-voxel block it overlaps and no other (1 MiB contiguous reads).
//
// Thread safety: every HDF5 call of this file holds one process-wide mutex. HDF5 is
// not re-entrant unless built with --enable-threadsafe, and even then it serialises
// all calls behind its own global lock (Debian 12's libhdf5-103 is built thread-safe;
// other builds are not, and nothing here relies on it). Reads from several threads are
// therefore correct but not parallel: parallel reading is by processes (MPI ranks or
// separate runs), each of which opens the file read-only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nl/core/linalg.hpp"
#include "nl/core/progress.hpp"
#include "nl/image/image.hpp"

namespace nl {

using Index = Eigen::Index;

// Version 1: rows are subjects' maps. Version 2 adds the root attribute `rows`
// ("subjects" or "frames"); a store of subjects is still written as version 1 (older
// readers open it), a store of frames as version 2, so that a reader that knows only
// version 1 refuses it instead of taking a series' frames for subjects.
inline constexpr int kVoxelStoreFormat = 2;

// What the rows of a store are: one 3-D map per subject (build_voxel_store) or the
// frames of one 4-D series (build_series_store).
enum class StoreRows { Subjects, Frames };

struct VoxelStoreOptions {
  Index chunk_voxels = 4096;  // voxels per chunk (1 .. 2^20)
  // Subjects per chunk, also the maps read per batch; 0: at most 64, n split evenly
  // (edge chunks are stored whole, so 200 subjects get 4 x 50 rather than 3 x 64 + 8).
  Index chunk_subjects = 0;
  // Deflate level 0 (none) .. 9. Measured on GM-like float32 maps (docs/benchmarks.md):
  // level 1 stores 20 % less, but builds 3.4x and reads 1.45x slower; so none by default.
  int compression = 0;
  // SHA-256 of every map (taken from the input log when the reader logged it; else
  // computed); false: size and modification time only.
  bool checksums = true;
  // Called with the maps read so far and n (from the calling thread).
  Progress progress;
};

// One map of the store: where it came from.
struct StoreSource {
  std::string path;
  std::string sha256;  // "" when checksums were off
  std::uint64_t bytes = 0;
  std::int64_t mtime_ns = 0;
};

// Builds the store at `path` from the 3-D NIfTI maps `maps` (row i = maps[i]) inside the
// non-zero voxels of `mask` (one frame). Streaming: chunk_subjects maps are held at a
// time. Atomic: written to a hidden temporary file in path's folder and renamed over
// path at the end; on any error (and on Ctrl-C) the temporary file is removed and path
// is untouched. Under MPI rank 0 builds and the other ranks wait for it and raise the
// same error if it failed.
// Errors: ValueError for no maps, a bad option, an empty mask, a 4-D mask, or path
// being one of the maps or the mask; FileError naming the map and its subject number
// ("map 12 of 400 (sub-12.nii.gz): ...") when a map is missing or unreadable, 4-D, on
// another grid (dims or affine) than the mask, or NaN or infinite inside the mask
// (naming the first such voxel); FileError naming path when it cannot be written.
void build_voxel_store(const std::string& path, const std::vector<std::string>& maps, const Volume& mask,
                       const VoxelStoreOptions& options = {});
// The same with the mask read from a NIfTI file (recorded as mask_source).
void build_voxel_store(const std::string& path, const std::vector<std::string>& maps, const std::string& mask_path,
                       const VoxelStoreOptions& options = {});

// Builds a store of frames (format version 2, rows = StoreRows::Frames) at `path` from
// one 4-D NIfTI series: row t = frame t, columns = the mask's voxels as above, so that a
// block of voxels x all frames can be read at a time (the seed map on a store,
// fc/fc.hpp). The series is loaded once as float32 (load_volume; NIfTI gives no
// frame-by-frame reader) and copied into the file chunk_subjects frames at a time: the
// build's memory is the series plus one batch. /sources holds one entry, the series.
// Atomic and MPI-collective as build_voxel_store; `progress` is called with the frames
// written so far. Errors: ValueError as build_voxel_store (with "series:" for a path
// that is the series); FileError naming the series when it is missing or unreadable,
// 3-D (one frame), on another grid than the mask, or NaN or infinite inside the mask
// (naming the frame and the voxel).
void build_series_store(const std::string& path, const std::string& series, const Volume& mask,
                        const VoxelStoreOptions& options = {});
void build_series_store(const std::string& path, const std::string& series, const std::string& mask_path,
                        const VoxelStoreOptions& options = {});

// A store opened read-only. Copies share the open file (closed with the last copy).
// Every accessor is thread-safe (see above).
class VoxelStore {
 public:
  // FileError naming path when it is missing, not HDF5, not a neurolua voxel store, of
  // a newer format version, or inconsistent (data shape against the mask and sources).
  explicit VoxelStore(const std::string& path);

  const std::string& path() const noexcept;
  Index subjects() const noexcept;  // n, the rows (subjects' maps or frames)
  StoreRows rows() const noexcept;  // Subjects for every version-1 store
  Index voxels() const noexcept;    // voxels in the mask
  Index chunk_subjects() const noexcept;
  Index chunk_voxels() const noexcept;
  int compression() const noexcept;  // deflate level, 0 for none
  int format_version() const noexcept;
  const Grid& grid() const noexcept;
  // The mask (uint8 0/1 on the grid) and its voxels' linear indices (storage order).
  const Volume& mask() const noexcept;
  const std::vector<Index>& mask_indices() const noexcept;
  // One per subject; for a store of frames one, the series.
  const std::vector<StoreSource>& sources() const noexcept;
  const std::string& mask_source() const noexcept;
  const std::string& created() const noexcept;
  // Bytes of /data on disk (after compression) and in float32 uncompressed.
  std::uint64_t stored_bytes() const;
  std::uint64_t raw_bytes() const noexcept;

  // All subjects at mask voxels [v0, v1): n x (v1 - v0). Reads only the chunks that
  // overlap the range. ValueError for a range outside [0, voxels()]; FileError naming
  // the file when HDF5 fails (say a chunk's checksum does not match).
  Matrix read_voxels(Index v0, Index v1) const;
  // Subjects [r0, r1) at voxels [v0, v1).
  Matrix read(Index r0, Index r1, Index v0, Index v1) const;
  // The same as stored: (r1 - r0) x (v1 - v0) float32 values, row-major, into out.
  void read_floats(Index r0, Index r1, Index v0, Index v1, float* out) const;
  // Subject i's map (0-based) as a float32 volume on the grid, 0 outside the mask.
  Volume map(Index i) const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// "[VoxelStore 400 subjects x 228483 voxels, 91x109x91, 2 mm, chunks 58 x 4096, uncompressed]";
// "[VoxelStore 240 frames x ... ('sub-01_bold.nii.gz'), ...]" for a store of frames.
std::string format_voxel_store(const VoxelStore& s);

}  // namespace nl

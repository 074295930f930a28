// nl/atlas/atlas.hpp: label atlases (a label volume + a label table), regional summaries,
// region time series, painting values back into a volume; readers for label tables
// and for regional-value tables (FreeSurfer, CAT12).
//
// An Atlas has regions in label-table order; region r (0-based) has an integer label
// `index` in the image and a `name`. Summaries are computed on the grid of each image:
// when it differs from the atlas grid, the label volume is resampled to it with nearest
// neighbour (each target voxel takes the label nearest to its world position, ties
// rounded up) once per distinct grid (cached, thread-safe) and a notice says so. The
// per-grid index is a run-length list of (offset, length, region) over the voxels in
// storage order, so a sum touches only labelled voxels, sequentially, in double.
//
// Notices (informational one-liners) are returned to the caller, who decides how to
// show them; the engine prints nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "nl/image/image.hpp"
#include "nl/core/linalg.hpp"
#include "nl/table/table.hpp"

namespace nl {

// ---------------------------------------------------------------- label tables

struct Region {
  std::int64_t index = 0;  // the label value in the image
  std::string name;
};

// Reads a label table. The format is recognised from the content:
//  * neuroparc JSON (.json): {"1": {"label": "Precentral_L", ...}, ..., "MetaData": {...}}
//    (an enclosing "rois" object is also accepted);
//  * CAT12 atlas CSV: header "ROIid;ROIabbr;ROIname;..." (';'-separated), name = ROIname;
//  * mricron *.nii.txt: "index name [code]" per line, whitespace-separated;
//  * plain CSV/TSV: index and name columns, with or without a header (a header names
//    the columns index/id/label/value and name/label/region; otherwise the first two).
// Index 0 is the background and is skipped. FileError naming the file and line for a
// duplicate index, a non-integer index, an empty name or an empty table.
std::vector<Region> read_labels(const std::string& path);

// ---------------------------------------------------------------- the atlas

// Atlases installed by Debian's mricron-data, by name.
struct AtlasEntry {
  std::string name;         // "aal"
  std::string image;        // full path of the label image
  std::string labels;       // full path of the label table, or "" (names built in)
  std::string description;  // one line
  bool installed = false;   // the image exists
};
// The directory searched (NEUROLUA_ATLAS_DIR, else /usr/share/mricron/templates).
std::string atlas_dir();
std::vector<AtlasEntry> known_atlases();

struct AtlasOptions {
  // true: labels in the image missing from the table, and table entries with no voxel
  // in the image, are FileErrors. false: the former become regions named
  // "label_<n>", the latter are kept with 0 voxels; both with a notice.
  bool strict = true;
};

enum class SummaryStat { Sum, Mean, Median, VolumeMl };

// A label volume on its grid with per-region offsets (see the file comment).
struct RegionIndex {
  struct Run {
    std::uint64_t start;
    std::uint32_t length;
    std::int32_t region;
  };
  Grid grid;
  std::vector<Run> runs;             // in storage order
  std::vector<std::int64_t> counts;  // voxels per region on this grid
};

class Atlas {
 public:
  // `image` as load_label_image reads it (exact integer labels, whatever their size);
  // regions in table order. FileError (naming `image_path`/`labels_path`) for a 4-D
  // image, or table/image mismatches under options.strict.
  Atlas(LabelImage image, std::vector<Region> regions, std::string name, std::string image_path,
        std::string labels_path, const AtlasOptions& options);
  // The same from a float32 label volume (3-D, integer values): FileError also for a
  // value that is not an integer or beyond 2^24 in magnitude, where float32 cannot tell
  // neighbouring labels apart.
  Atlas(Volume labels, std::vector<Region> regions, std::string name, std::string image_path,
        std::string labels_path, const AtlasOptions& options);

  const std::string& name() const noexcept { return name_; }
  const std::string& image_path() const noexcept { return image_path_; }
  const std::string& labels_path() const noexcept { return labels_path_; }
  // The label image as float32, for its grid and for display: a label beyond 2^24 in
  // magnitude is rounded there (the regions and every summary use the exact labels).
  const Volume& labels() const noexcept { return labels_; }
  // A copy of the label image with exact values: ValueError when a label is beyond 2^24
  // in magnitude, which a float32 Volume cannot hold exactly.
  Volume label_volume() const;
  const std::vector<Region>& regions() const noexcept { return regions_; }
  std::size_t size() const noexcept { return regions_.size(); }
  // Notices from construction (e.g. regions without voxels under strict = false).
  const std::vector<std::string>& notices() const noexcept { return notices_; }

  // Region index on `grid` (the atlas' own grid, or the labels resampled to it with
  // nearest neighbour). Appends a notice when it had to be built by resampling.
  // ValueError when no labelled voxel falls inside that grid (no overlap in world).
  std::shared_ptr<const RegionIndex> index_on(const Grid& grid, std::vector<std::string>& notices,
                                              const std::string& what) const;

 private:
  // Matches the exact labels of every voxel against the table (the constructors' work).
  void init(const std::vector<std::int64_t>& exact, const AtlasOptions& options);

  Volume labels_;
  std::vector<Region> regions_;
  std::string name_, image_path_, labels_path_;
  std::vector<std::string> notices_;
  mutable std::mutex mu_;
  mutable std::vector<std::shared_ptr<const RegionIndex>> cache_;  // cache_.front(): the atlas' own grid
};

// nl.atlas.load: `name_or_path` is a known name (known_atlases) or a label image path;
// `labels_path` overrides the label table ("" = the known one, or <image>.txt /
// <stem>.txt / <stem>.csv / <stem>.tsv / <stem>.json next to a path when present).
// FileError for an unknown name (listing the installed ones) or missing files.
std::shared_ptr<Atlas> load_atlas(const std::string& name_or_path, const std::string& labels_path,
                                  const AtlasOptions& options);

// ---------------------------------------------------------------- summaries

// Per-region description: index, name, voxels, volume_ml, centroid_x/y/z (mm, world).
Table regions_table(const Atlas& atlas);

// Rows of regions_table for the given 0-based region positions, in that order.
Table regions_table(const Atlas& atlas, const std::vector<std::size_t>& positions);

struct Summary {
  Table table;  // one row per volume, one Number column per region (region names)
  std::vector<std::string> notices;
};

// Region statistics of 3-D volumes, in parallel over volumes (nl::parallel_for).
// sum and mean skip NaN voxels; mean and median of a region with no (non-NaN) voxel
// are NaN; volume_ml = sum * voxel volume (mm^3) / 1000. Column names are the region
// names, made unique by appending "_<index>" when two regions share one.
Summary summarize(const Atlas& atlas, const std::vector<const Volume*>& volumes, SummaryStat stat);

// frames x regions: the mean of each region in each frame of a 4-D (or 3-D) volume.
Matrix region_timeseries(const Atlas& atlas, const Volume& v, std::vector<std::string>& notices);

// A float32 volume on the atlas grid with region r filled with values[r] and
// `background` elsewhere. ValueError unless values.size() == atlas.size().
Volume paint(const Atlas& atlas, const std::vector<double>& values, double background);

// Column names summarize() uses (unique).
std::vector<std::string> region_column_names(const Atlas& atlas);

// ---------------------------------------------------------------- regional-value tables

// Reads a subjects x regions table as written by FreeSurfer's aparcstats2table /
// asegstats2table (tab- or space-separated, first header cell e.g. "lh.aparc.volume" or
// "Measure:volume"), by CAT12's ROI export (';' or ',' separated, first column the
// subject or file name) or any table of that shape. The first column becomes a String
// column named "subject"; every other column must be numeric (empty / NA / n/a are
// missing). FileError naming the file, line and column otherwise, or for a repeated
// column name.
Table read_roi_table(const std::string& path);

}  // namespace nl

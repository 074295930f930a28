// atlas.cpp: the Atlas (labels + regions), atlases known by name, per-grid region
// indices, regional summaries, region time series and painting.
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <unordered_map>

#include "nl/atlas/atlas.hpp"
#include "nl/core/core.hpp"

namespace nl {

// ---------------------------------------------------------------- known atlases

namespace {

bool file_exists(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Names of FSL's Harvard-Oxford cortical atlas (HarvardOxford-Cortical.xml); image
// value = position in this list + 1. mricron-data ships the image without the table.
const char* const kHarvardOxfordCortical[] = {
    "Frontal Pole",
    "Insular Cortex",
    "Superior Frontal Gyrus",
    "Middle Frontal Gyrus",
    "Inferior Frontal Gyrus, pars triangularis",
    "Inferior Frontal Gyrus, pars opercularis",
    "Precentral Gyrus",
    "Temporal Pole",
    "Superior Temporal Gyrus, anterior division",
    "Superior Temporal Gyrus, posterior division",
    "Middle Temporal Gyrus, anterior division",
    "Middle Temporal Gyrus, posterior division",
    "Middle Temporal Gyrus, temporooccipital part",
    "Inferior Temporal Gyrus, anterior division",
    "Inferior Temporal Gyrus, posterior division",
    "Inferior Temporal Gyrus, temporooccipital part",
    "Postcentral Gyrus",
    "Superior Parietal Lobule",
    "Supramarginal Gyrus, anterior division",
    "Supramarginal Gyrus, posterior division",
    "Angular Gyrus",
    "Lateral Occipital Cortex, superior division",
    "Lateral Occipital Cortex, inferior division",
    "Intracalcarine Cortex",
    "Frontal Medial Cortex",
    "Juxtapositional Lobule Cortex (formerly Supplementary Motor Cortex)",
    "Subcallosal Cortex",
    "Paracingulate Gyrus",
    "Cingulate Gyrus, anterior division",
    "Cingulate Gyrus, posterior division",
    "Precuneous Cortex",
    "Cuneal Cortex",
    "Frontal Orbital Cortex",
    "Parahippocampal Gyrus, anterior division",
    "Parahippocampal Gyrus, posterior division",
    "Lingual Gyrus",
    "Temporal Fusiform Cortex, anterior division",
    "Temporal Fusiform Cortex, posterior division",
    "Temporal Occipital Fusiform Cortex",
    "Occipital Fusiform Gyrus",
    "Frontal Operculum Cortex",
    "Central Opercular Cortex",
    "Parietal Operculum Cortex",
    "Planum Polare",
    "Heschl's Gyrus (includes H1 and H2)",
    "Planum Temporale",
    "Supracalcarine Cortex",
    "Occipital Pole",
};

struct KnownAtlas {
  const char* name;
  const char* image;
  const char* labels;  // "" = built in
  const char* description;
};
constexpr KnownAtlas kKnown[] = {
    {"aal", "aal.nii.gz", "aal.nii.txt", "AAL (Tzourio-Mazoyer et al. 2002), 116 regions, 1 mm MNI"},
    {"harvard-oxford", "HarvardOxford-cort-maxprob-thr0-1mm.nii.gz", "",
     "Harvard-Oxford cortical, max probability thr0, 48 bilateral regions, 1 mm MNI (names from FSL)"},
    {"brodmann", "brodmann.nii.gz", "", "Brodmann areas (mricron), 41 bilateral areas named BA<n>, 1 mm MNI"},
    {"aicha", "AICHAmc.nii.gz", "AICHAmc.nii.txt", "AICHA (Joliot et al. 2015), 192 regions, 2 mm MNI"},
    {"jhu", "JHU-WhiteMatter-labels-1mm.nii.gz", "JHU-WhiteMatter-labels-1mm.nii.txt",
     "JHU ICBM-DTI-81 white-matter labels, 48 tracts, 1 mm MNI"},
    {"jhu-2mm", "JHU-WhiteMatter-labels-2mm.nii.gz", "JHU-WhiteMatter-labels-2mm.nii.txt",
     "JHU ICBM-DTI-81 white-matter labels, 48 tracts, 2 mm MNI"},
};

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

// "1, 2, 3 and 7 more"
template <class T>
std::string list_some(const std::vector<T>& v, std::size_t max = 10) {
  std::vector<std::string> parts;
  for (std::size_t i = 0; i < v.size() && i < max; ++i) parts.push_back(fmt::format("{}", v[i]));
  std::string s = join(parts, ", ");
  if (v.size() > max) s += fmt::format(" and {} more", v.size() - max);
  return s;
}

}  // namespace

std::string atlas_dir() {
  const char* env = std::getenv("NEUROLUA_ATLAS_DIR");
  return env && *env ? env : "/usr/share/mricron/templates";
}

std::vector<AtlasEntry> known_atlases() {
  const std::string dir = atlas_dir();
  std::vector<AtlasEntry> out;
  for (const auto& k : kKnown) {
    AtlasEntry e{k.name, dir + "/" + k.image, *k.labels ? dir + "/" + k.labels : "", k.description, false};
    e.installed = file_exists(e.image) && (e.labels.empty() || file_exists(e.labels));
    out.push_back(std::move(e));
  }
  return out;
}

// ---------------------------------------------------------------- the atlas

namespace {

// The labels present (non-zero, in increasing order) and the voxel count of each.
std::vector<std::int64_t> present_labels(const std::vector<std::int64_t>& labels,
                                         std::map<std::int64_t, std::int64_t>& counts) {
  std::int64_t last = 0;
  auto* last_count = &counts[0];
  for (std::size_t i = 0, n = labels.size(); i < n; ++i) {
    if (labels[i] != last || i == 0) {
      last = labels[i];
      last_count = &counts[last];
    }
    ++*last_count;
  }
  std::vector<std::int64_t> out;
  for (const auto& [label, count] : counts)
    if (label != 0 && count > 0) out.push_back(label);
  return out;
}

// The exact labels of a float32 label volume (first frame). FileError for a value that
// is not an integer, or beyond 2^24 in magnitude: float32 holds every integer only up
// to there, beyond it neighbouring labels of the original image may have merged.
std::vector<std::int64_t> exact_labels(const Volume& labels, const std::string& image_path) {
  std::vector<std::int64_t> out(labels.voxels());
  const float* p = labels.data();
  for (std::size_t i = 0; i < out.size(); ++i) {
    const double x = p[i];
    if (!std::isfinite(x) || x != std::floor(x) || std::fabs(x) > 16777216.0) {
      const auto nx = static_cast<std::size_t>(labels.nx()), ny = static_cast<std::size_t>(labels.ny());
      const bool integral = std::isfinite(x) && x == std::floor(x);
      throw FileError(fmt::format("'{}': the label image has the {} value {} at voxel ({}, {}, {}) (1-based); {}",
                                  image_path, integral ? "inexact" : "non-integer", x, i % nx + 1, (i / nx) % ny + 1,
                                  i / (nx * ny) + 1,
                                  integral ? "float32 labels beyond 2^24 cannot be told apart (labels would merge)"
                                           : "an atlas needs integer labels"));
    }
    out[i] = static_cast<std::int64_t>(x);
  }
  return out;
}

// Runs of equal region along storage order, split at the end of each x row (so a run
// is a segment of one row, which makes centroids easy). `region` holds each voxel's
// region position, -1 for none.
std::shared_ptr<RegionIndex> build_index(const Grid& grid, const std::vector<std::int32_t>& region,
                                         std::size_t nregions) {
  auto idx = std::make_shared<RegionIndex>();
  idx->grid = grid;
  idx->counts.assign(nregions, 0);
  const auto nx = static_cast<std::size_t>(grid.dims[0]);
  for (std::size_t i = 0, n = region.size(); i < n; ++i) {
    const std::int32_t r = region[i];
    if (r < 0) continue;
    RegionIndex::Run* back = idx->runs.empty() ? nullptr : &idx->runs.back();
    if (back && back->region == r && back->start + back->length == i && i % nx != 0)
      ++back->length;
    else
      idx->runs.push_back({i, 1, r});
    ++idx->counts[static_cast<std::size_t>(r)];
  }
  return idx;
}

// Each voxel's region position (-1 for none) back from an index's runs.
std::vector<std::int32_t> regions_of(const RegionIndex& idx) {
  std::vector<std::int32_t> out(idx.grid.voxels(), -1);
  for (const auto& run : idx.runs)
    std::fill(out.begin() + static_cast<std::ptrdiff_t>(run.start),
              out.begin() + static_cast<std::ptrdiff_t>(run.start + run.length), run.region);
  return out;
}

// The region map (`region` on grid `from`) resampled onto `grid` by nearest neighbour:
// each target voxel takes the region of the source voxel whose centre is nearest to its
// world position, ties rounded up (floor(x + 0.5)), -1 outside. Written out instead of
// using ITK because ITK's resampler accumulates positions along a scanline, which breaks
// exact ties (common between 1 and 1.5 mm grids) one way or the other unpredictably;
// here every position is computed directly from the voxel index, so the result is
// reproducible and matches a NumPy reference exactly. Regions, not label values, are
// carried, so labels of any size stay exact.
std::vector<std::int32_t> nearest_regions(const Grid& from, const std::vector<std::int32_t>& region, const Grid& grid) {
  check_grid(grid, "atlas resampling: the target grid");
  const Eigen::Matrix4d m = from.affine.inverse() * grid.affine;
  std::vector<std::int32_t> out(grid.voxels());
  const auto& sd = from.dims;
  const auto& td = grid.dims;
  const auto sx = static_cast<std::size_t>(sd[0]), sy = static_cast<std::size_t>(sd[1]);
  parallel_for(static_cast<std::size_t>(td[2]), [&](std::size_t kk) {
    const auto k = static_cast<std::int64_t>(kk);
    for (std::int64_t j = 0; j < td[1]; ++j) {
      std::int32_t* row = out.data() + static_cast<std::size_t>((k * td[1] + j) * td[0]);
      const Eigen::Vector3d base = m.block<3, 1>(0, 1) * static_cast<double>(j) +
                                   m.block<3, 1>(0, 2) * static_cast<double>(k) + m.block<3, 1>(0, 3);
      for (std::int64_t i = 0; i < td[0]; ++i) {
        const Eigen::Vector3d p = base + m.block<3, 1>(0, 0) * static_cast<double>(i);
        const double x = std::floor(p(0) + 0.5), y = std::floor(p(1) + 0.5), z = std::floor(p(2) + 0.5);
        const bool inside = x >= 0 && y >= 0 && z >= 0 && x < static_cast<double>(sd[0]) &&
                            y < static_cast<double>(sd[1]) && z < static_cast<double>(sd[2]);
        row[i] = inside ? region[(static_cast<std::size_t>(z) * sy + static_cast<std::size_t>(y)) * sx +
                                 static_cast<std::size_t>(x)]
                        : -1;
      }
    }
  });
  return out;
}

std::string world_box(const Grid& g) {
  Eigen::Vector3d lo = Eigen::Vector3d::Constant(std::numeric_limits<double>::infinity()), hi = -lo;
  for (int c = 0; c < 8; ++c) {
    const Eigen::Vector3d ijk((c & 1) ? g.dims[0] - 1 : 0, (c & 2) ? g.dims[1] - 1 : 0, (c & 4) ? g.dims[2] - 1 : 0);
    const Eigen::Vector3d w = g.to_world(ijk);
    lo = lo.cwiseMin(w);
    hi = hi.cwiseMax(w);
  }
  return fmt::format("x {:.1f}..{:.1f}, y {:.1f}..{:.1f}, z {:.1f}..{:.1f} mm", lo(0), hi(0), lo(1), hi(1), lo(2), hi(2));
}

}  // namespace

Atlas::Atlas(LabelImage image, std::vector<Region> regions, std::string name, std::string image_path,
             std::string labels_path, const AtlasOptions& options)
    : labels_(std::move(image.volume)),
      regions_(std::move(regions)),
      name_(std::move(name)),
      image_path_(std::move(image_path)),
      labels_path_(std::move(labels_path)) {
  if (labels_.frames() != 1)
    throw FileError(fmt::format("'{}': the label image is 4-D ({} frames); probabilistic atlases are not supported",
                                image_path_, labels_.frames()));
  if (image.labels.size() != labels_.voxels())
    throw ValueError(fmt::format("atlas '{}': {} exact labels for {} voxels", name_, image.labels.size(),
                                 labels_.voxels()));
  init(image.labels, options);
}

Atlas::Atlas(Volume labels, std::vector<Region> regions, std::string name, std::string image_path,
             std::string labels_path, const AtlasOptions& options)
    : labels_(std::move(labels)),
      regions_(std::move(regions)),
      name_(std::move(name)),
      image_path_(std::move(image_path)),
      labels_path_(std::move(labels_path)) {
  if (labels_.frames() != 1)
    throw FileError(fmt::format("'{}': the label image is 4-D ({} frames); probabilistic atlases are not supported",
                                image_path_, labels_.frames()));
  init(exact_labels(labels_, image_path_), options);
}

void Atlas::init(const std::vector<std::int64_t>& exact, const AtlasOptions& options) {
  check_grid(labels_.grid(), fmt::format("'{}'", image_path_));
  std::map<std::int64_t, std::int64_t> counts;
  const std::vector<std::int64_t> present = present_labels(exact, counts);
  const std::string table = labels_path_.empty() ? "the built-in label table" : "'" + labels_path_ + "'";

  std::unordered_map<std::int64_t, std::int32_t> region_of;
  for (std::size_t r = 0; r < regions_.size(); ++r) region_of[regions_[r].index] = static_cast<std::int32_t>(r);
  std::vector<std::int64_t> unnamed;
  for (std::int64_t l : present)
    if (!region_of.count(l)) unnamed.push_back(l);
  std::vector<std::string> empty;
  for (const Region& r : regions_)
    if (!counts.count(r.index) || counts[r.index] == 0) empty.push_back(fmt::format("{} {}", r.index, r.name));

  if (!unnamed.empty()) {
    if (options.strict)
      throw FileError(fmt::format("{}: label{} {} occur{} in the image '{}' but not in the label table (pass "
                                  "{{strict = false}} to name them label_<n>)",
                                  table, unnamed.size() > 1 ? "s" : "", list_some(unnamed), unnamed.size() > 1 ? "" : "s",
                                  image_path_));
    for (std::int64_t l : unnamed) {
      region_of[l] = static_cast<std::int32_t>(regions_.size());
      regions_.push_back({l, fmt::format("label_{}", l)});
    }
    notices_.push_back(fmt::format("atlas '{}': {} label{} of the image not in {} added as label_<n>: {}", name_,
                                   unnamed.size(), unnamed.size() > 1 ? "s" : "", table, list_some(unnamed)));
  }
  if (!empty.empty()) {
    if (options.strict)
      throw FileError(fmt::format("{}: {} region{} of the label table {} no voxel in the image '{}': {} (pass "
                                  "{{strict = false}} to keep them with 0 voxels)",
                                  table, empty.size(), empty.size() > 1 ? "s" : "", empty.size() > 1 ? "have" : "has",
                                  image_path_, list_some(empty)));
    notices_.push_back(fmt::format("atlas '{}': {} region{} of {} with no voxel in the image kept with 0 voxels: {}",
                                   name_, empty.size(), empty.size() > 1 ? "s" : "", table, list_some(empty)));
  }
  std::vector<std::int32_t> region(exact.size(), -1);
  std::int64_t last = 0;
  std::int32_t last_region = -1;
  for (std::size_t i = 0; i < exact.size(); ++i) {
    if (exact[i] != last || i == 0) {
      last = exact[i];
      const auto it = region_of.find(last);
      last_region = it == region_of.end() ? -1 : it->second;
    }
    region[i] = last_region;
  }
  cache_.push_back(build_index(labels_.grid(), region, regions_.size()));
}

Volume Atlas::label_volume() const {
  for (const Region& r : regions_)
    if (std::fabs(static_cast<double>(r.index)) > 16777216.0)
      throw ValueError(fmt::format("atlas '{}' has the label {}, beyond 2^24, which a float32 Volume cannot hold "
                                   "exactly; its regions and summaries use the exact labels",
                                   name_, r.index));
  return labels_;
}

std::shared_ptr<const RegionIndex> Atlas::index_on(const Grid& grid, std::vector<std::string>& notices,
                                                   const std::string& what) const {
  std::shared_ptr<const RegionIndex> native;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& idx : cache_)
      if (idx->grid.same_as(grid)) return idx;
    native = cache_.front();
  }
  // Built outside the lock (resampling takes a while); a racing duplicate is harmless.
  std::shared_ptr<RegionIndex> idx =
      build_index(grid, nearest_regions(labels_.grid(), regions_of(*native), grid), regions_.size());
  if (idx->runs.empty())
    throw ValueError(fmt::format("{} does not overlap atlas '{}' in world space: no labelled voxel falls inside its "
                                 "grid (image {}; atlas {})",
                                 what, name_, world_box(grid), world_box(labels_.grid())));
  notices.push_back(fmt::format("atlas '{}' ({}) resampled to the image grid ({}) with nearest neighbour", name_,
                                labels_.grid().describe(), grid.describe()));
  std::vector<std::string> lost;
  for (std::size_t r = 0; r < regions_.size(); ++r)
    if (idx->counts[r] == 0 && native->counts[r] > 0) lost.push_back(regions_[r].name);
  if (!lost.empty())
    notices.push_back(fmt::format("atlas '{}': {} region{} {} no voxel on that grid (mean and median are NaN): {}",
                                  name_, lost.size(), lost.size() > 1 ? "s" : "", lost.size() > 1 ? "have" : "has",
                                  list_some(lost)));
  std::lock_guard<std::mutex> lock(mu_);
  cache_.push_back(idx);
  return idx;
}

// ---------------------------------------------------------------- loading by name or path

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<Region> builtin_labels(const std::string& name, const std::vector<std::int64_t>& labels) {
  std::vector<Region> out;
  if (name == "harvard-oxford") {
    for (std::size_t i = 0; i < std::size(kHarvardOxfordCortical); ++i)
      out.push_back({static_cast<std::int64_t>(i + 1), kHarvardOxfordCortical[i]});
  } else if (name == "brodmann") {
    // mricron's brodmann.nii.gz stores the Brodmann area number as the label.
    std::map<std::int64_t, std::int64_t> counts;
    for (std::int64_t l : present_labels(labels, counts)) out.push_back({l, fmt::format("BA{}", l)});
  }
  return out;
}

std::string strip_suffix(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0
             ? s.substr(0, s.size() - suffix.size())
             : s;
}

}  // namespace

std::shared_ptr<Atlas> load_atlas(const std::string& name_or_path, const std::string& labels_path,
                                  const AtlasOptions& options) {
  const std::vector<AtlasEntry> known = known_atlases();
  const std::string key = lower(name_or_path);
  for (const AtlasEntry& e : known) {
    if (key != e.name && !(e.name == "harvard-oxford" && (key == "harvard_oxford" || key == "harvardoxford"))) continue;
    if (!file_exists(e.image) || (labels_path.empty() && !e.labels.empty() && !file_exists(e.labels)))
      throw FileError(fmt::format("atlas '{}' is not installed: '{}' is missing (Debian package mricron-data, installed "
                                  "by tools/bootstrap.sh; NEUROLUA_ATLAS_DIR overrides the folder)",
                                  e.name, file_exists(e.image) ? e.labels : e.image));
    LabelImage labels = load_label_image(e.image);
    std::string lpath = labels_path.empty() ? e.labels : labels_path;
    std::vector<Region> regions = lpath.empty() ? builtin_labels(e.name, labels.labels) : read_labels(lpath);
    return std::make_shared<Atlas>(std::move(labels), std::move(regions), e.name, e.image, lpath, options);
  }
  const bool looks_like_path = name_or_path.find('/') != std::string::npos ||
                               name_or_path.find(".nii") != std::string::npos || file_exists(name_or_path);
  if (!looks_like_path) {
    std::vector<std::string> names, installed;
    for (const AtlasEntry& e : known) {
      names.push_back(e.name);
      if (e.installed) installed.push_back(e.name);
    }
    throw FileError(fmt::format("unknown atlas '{}': the known names are {} (installed here: {}); or give the path "
                                "of a label image",
                                name_or_path, join(names, ", "), installed.empty() ? "none" : join(installed, ", ")));
  }
  LabelImage labels = load_label_image(name_or_path);
  std::string lpath = labels_path;
  if (lpath.empty()) {
    // mricron's convention (<image without .gz>.txt), then <stem>.{txt,csv,tsv,json}.
    const std::string nii = strip_suffix(name_or_path, ".gz");
    const std::string stem = strip_suffix(nii, ".nii");
    std::vector<std::string> candidates = {nii + ".txt", stem + ".txt", stem + ".csv", stem + ".tsv", stem + ".json"};
    for (const auto& c : candidates)
      if (file_exists(c)) {
        lpath = c;
        break;
      }
    if (lpath.empty())
      throw FileError(fmt::format("no label table found for '{}' (looked for {}); pass one: nl.atlas.load(image, labels)",
                                  name_or_path, join(candidates, ", ")));
  }
  std::vector<Region> regions = read_labels(lpath);
  std::string name = name_or_path.substr(name_or_path.find_last_of('/') + 1);
  name = strip_suffix(strip_suffix(strip_suffix(name, ".gz"), ".nii"), ".nii");
  return std::make_shared<Atlas>(std::move(labels), std::move(regions), name, name_or_path, lpath, options);
}

// ---------------------------------------------------------------- tables

std::vector<std::string> region_column_names(const Atlas& atlas) {
  std::map<std::string, int> uses;
  for (const Region& r : atlas.regions()) ++uses[r.name];
  std::vector<std::string> out;
  for (const Region& r : atlas.regions())
    out.push_back(uses[r.name] > 1 ? fmt::format("{}_{}", r.name, r.index) : r.name);
  return out;
}

Table regions_table(const Atlas& atlas, const std::vector<std::size_t>& positions) {
  std::vector<std::string> notices;
  const auto idx = atlas.index_on(atlas.labels().grid(), notices, "the atlas");
  const std::size_t R = atlas.size();
  std::vector<Eigen::Vector3d> sums(R, Eigen::Vector3d::Zero());
  const auto nx = static_cast<std::uint64_t>(atlas.labels().nx()), ny = static_cast<std::uint64_t>(atlas.labels().ny());
  for (const auto& run : idx->runs) {
    const double L = run.length, i0 = static_cast<double>(run.start % nx);
    const double j = static_cast<double>((run.start / nx) % ny), k = static_cast<double>(run.start / (nx * ny));
    sums[static_cast<std::size_t>(run.region)] += Eigen::Vector3d(L * i0 + L * (L - 1) / 2, L * j, L * k);
  }
  const Grid& g = atlas.labels().grid();
  const double ml = g.voxel_volume() / 1000.0;
  std::vector<double> index, voxels, volume, cx, cy, cz;
  std::vector<std::string> names;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t r : positions) {
    if (r >= R) throw ValueError(fmt::format("region {} out of range [1, {}]", r + 1, R));
    const auto n = static_cast<double>(idx->counts[r]);
    index.push_back(static_cast<double>(atlas.regions()[r].index));
    names.push_back(atlas.regions()[r].name);
    voxels.push_back(n);
    volume.push_back(n * ml);
    const Eigen::Vector3d c = n > 0 ? g.to_world(sums[r] / n) : Eigen::Vector3d::Constant(nan);
    cx.push_back(c(0));
    cy.push_back(c(1));
    cz.push_back(c(2));
  }
  Table t;
  t.set(std::make_shared<const Column>(Column::numbers("index", std::move(index))));
  t.set(std::make_shared<const Column>(Column::strings("name", std::move(names))));
  t.set(std::make_shared<const Column>(Column::numbers("voxels", std::move(voxels))));
  t.set(std::make_shared<const Column>(Column::numbers("volume_ml", std::move(volume))));
  t.set(std::make_shared<const Column>(Column::numbers("centroid_x", std::move(cx))));
  t.set(std::make_shared<const Column>(Column::numbers("centroid_y", std::move(cy))));
  t.set(std::make_shared<const Column>(Column::numbers("centroid_z", std::move(cz))));
  return t;
}

Table regions_table(const Atlas& atlas) {
  std::vector<std::size_t> all(atlas.size());
  for (std::size_t r = 0; r < all.size(); ++r) all[r] = r;
  return regions_table(atlas, all);
}

// ---------------------------------------------------------------- summaries

namespace {

// Sum and count of the non-NaN values of each region in one frame. Each run is summed
// by Eigen's vectorized reduction in double; a run whose sum is NaN holds a NaN voxel
// and is summed again, skipping NaNs (rare, so the fast path stays branch-free).
void region_sums(const RegionIndex& idx, const float* data, double* sum, double* count) {
  for (const auto& run : idx.runs) {
    const float* p = data + run.start;
    const auto r = static_cast<std::size_t>(run.region);
    double s = Eigen::Map<const Eigen::ArrayXf>(p, run.length).cast<double>().sum();
    std::uint32_t n = run.length;
    if (std::isnan(s)) {
      s = 0;
      n = 0;
      for (std::uint32_t i = 0; i < run.length; ++i)
        if (p[i] == p[i]) s += p[i], ++n;
    }
    sum[r] += s;
    count[r] += n;
  }
}

// Median per region: values gathered region by region into one scratch buffer.
void region_medians(const RegionIndex& idx, const float* data, double* out, std::size_t R) {
  std::vector<std::size_t> start(R + 1, 0);
  for (std::size_t r = 0; r < R; ++r) start[r + 1] = start[r] + static_cast<std::size_t>(idx.counts[r]);
  std::vector<float> buf(start[R]);
  std::vector<std::size_t> fill(start.begin(), start.end() - 1);
  for (const auto& run : idx.runs) {
    const auto r = static_cast<std::size_t>(run.region);
    for (std::uint32_t i = 0; i < run.length; ++i) {
      const float x = data[run.start + i];
      if (x == x) buf[fill[r]++] = x;
    }
  }
  for (std::size_t r = 0; r < R; ++r) {
    float* b = buf.data() + start[r];
    const std::size_t n = fill[r] - start[r];
    if (n == 0) {
      out[r] = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    float* mid = b + n / 2;
    std::nth_element(b, mid, b + n);
    double m = *mid;
    if (n % 2 == 0) m = (m + static_cast<double>(*std::max_element(b, mid))) / 2.0;  // numpy's median
    out[r] = m;
  }
}

std::string describe_volume(const Volume& v, std::size_t k, std::size_t n) {
  return v.info.path.empty() ? fmt::format("volume {} of {}", k + 1, n)
                             : fmt::format("volume {} of {} ('{}')", k + 1, n, v.info.path);
}

}  // namespace

Summary summarize(const Atlas& atlas, const std::vector<const Volume*>& volumes, SummaryStat stat) {
  Summary out;
  const std::size_t N = volumes.size(), R = atlas.size();
  std::vector<std::shared_ptr<const RegionIndex>> index(N);
  for (std::size_t k = 0; k < N; ++k) {
    const Volume& v = *volumes[k];
    if (v.frames() != 1)
      throw ValueError(fmt::format("{} is 4-D ({} frames); summarize takes 3-D maps (use atlas:timeseries for 4-D)",
                                   describe_volume(v, k, N), v.frames()));
    index[k] = atlas.index_on(v.grid(), out.notices, describe_volume(v, k, N));
  }
  Matrix X(static_cast<Eigen::Index>(N), static_cast<Eigen::Index>(R));
  parallel_for(N, [&](std::size_t k) {
    const Volume& v = *volumes[k];
    std::vector<double> a(R, 0.0), c(R, 0.0);
    if (stat == SummaryStat::Median) {
      region_medians(*index[k], v.data(), a.data(), R);
    } else {
      region_sums(*index[k], v.data(), a.data(), c.data());
      const double ml = v.grid().voxel_volume() / 1000.0;
      for (std::size_t r = 0; r < R; ++r) {
        if (stat == SummaryStat::Mean) a[r] = c[r] > 0 ? a[r] / c[r] : std::numeric_limits<double>::quiet_NaN();
        if (stat == SummaryStat::VolumeMl) a[r] *= ml;
      }
    }
    for (std::size_t r = 0; r < R; ++r) X(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(r)) = a[r];
  });
  const std::vector<std::string> names = region_column_names(atlas);
  for (std::size_t r = 0; r < R; ++r) {
    std::vector<double> col(X.col(static_cast<Eigen::Index>(r)).data(), X.col(static_cast<Eigen::Index>(r)).data() + N);
    out.table.set(std::make_shared<const Column>(Column::numbers(names[r], std::move(col))));
  }
  return out;
}

Matrix region_timeseries(const Atlas& atlas, const Volume& v, std::vector<std::string>& notices) {
  const auto idx = atlas.index_on(v.grid(), notices, v.info.path.empty() ? "the volume" : "'" + v.info.path + "'");
  const std::size_t R = atlas.size();
  Matrix out(v.frames(), static_cast<Eigen::Index>(R));
  parallel_for(static_cast<std::size_t>(v.frames()), [&](std::size_t t) {
    std::vector<double> s(R, 0.0), c(R, 0.0);
    region_sums(*idx, v.frame_data(static_cast<std::int64_t>(t)), s.data(), c.data());
    for (std::size_t r = 0; r < R; ++r)
      out(static_cast<Eigen::Index>(t), static_cast<Eigen::Index>(r)) =
          c[r] > 0 ? s[r] / c[r] : std::numeric_limits<double>::quiet_NaN();
  });
  return out;
}

Volume paint(const Atlas& atlas, const std::vector<double>& values, double background) {
  if (values.size() != atlas.size())
    throw ValueError(fmt::format("paint needs one value per region: got {}, the atlas has {} regions", values.size(),
                                 atlas.size()));
  std::vector<std::string> notices;
  const auto idx = atlas.index_on(atlas.labels().grid(), notices, "the atlas");
  Volume out(atlas.labels().grid(), 1, false, Volume::Uninitialized{});
  out.info = atlas.labels().info;
  out.info.source_type = DataType::Float32;
  out.info.scaled = false;
  out.info.path.clear();
  out.info.cal_min = out.info.cal_max = 0.0;
  out.info.intent_code = 0;
  std::fill(out.data(), out.data() + out.size(), static_cast<float>(background));
  float* p = out.data();
  for (const auto& run : idx->runs)
    std::fill(p + run.start, p + run.start + run.length, static_cast<float>(values[static_cast<std::size_t>(run.region)]));
  return out;
}

}  // namespace nl

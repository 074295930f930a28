// nl/sim/ketamine.hpp: the built-in ketamine cohort simulator (METHODS.md section 1).
//
// Generates the four cohorts of the structural-MRI ketamine-response paper (seed 000,
// Table 1) on a real label atlas, with a planted, known response effect:
//
//   cohort       n   responders  arm       site
//   discovery    99  52          ketamine  "A" / "B" (two scanner sequences)
//   saline       49  12          saline    "A" / "B" (same trial)
//   external_md  22   5          ketamine  "MD"
//   external_ny  29  16          ketamine  "NY"
//
// Clinical and demographic variables (per cohort and response group, as Table 1 gives
// them): sex by the exact female counts; age and MADRS pre/post as the best of many
// candidate draws (the one whose group means and SDs come closest to Table 1), with
// MADRS integers in [0, 60], pre >= 18, and every subject's response status equal to
// (post - pre) / pre <= -0.5. TIV (ml) is normal given sex.
//
// Regional gray-matter volume (ml) of subject i in region r is a log-linear model:
//
//   log v_ir = log b_r + 0.9 log(TIV_i / 1500) + a_r (age_i - 40) + s_r male_i
//              + q_r siteB_i + o_{c,r}                                  (covariates, scanner)
//              + g_i sigma_g + sum_k L_rk f_ik sigma_f + e_ir sigma_e,r (anatomical variation)
//              + lambda w_r (zF_i [r frontal] + zC_i [r cerebellar])    (response latents)
//
// b_r = the region's volume on the output grid x a GM density in [0.50, 0.65]; a_r is
// an atrophy slope (-0.15 to -0.45 % per year); s_r and q_r small sex and sequence
// offsets; o_{c,r} the multiplicative scanner offset of an external cohort (a cohort-wide
// part plus a region-specific part; 0 for discovery and saline); g, f, e standard
// normal (f: spatially smooth factors, loadings L_rk = exp(-d^2 / (2 * 30 mm^2)) from
// region centroids to 12 anchor regions spread over the brain). The response latents
// zF, zC ~ N(mu, 1) carry the planted effect: in the ketamine cohorts mu_F = +m/2 for
// responders and -m/2 for non-responders, mu_C the opposite (larger frontal volume
// predicts response, larger cerebellar volume non-response); in the saline cohort
// mu = 0 for everyone (the regions vary, unrelated to response). m = effect x the
// calibrated separation (kSeparation in the .cpp; attenuated in the external cohorts).
//
// Randomness: Rng(seed, stream) streams, one per task, so the result does not depend on
// the thread count: population parameters (stream 1), map texture pattern (2), cohort
// layout (10 + cohort), group demographics (20 + 2 cohort + responder), subject volumes
// (1000 + subject), subject map noise (100000 + subject). Subjects are numbered over
// all four cohorts in the order above (sub-001 .. sub-199), so a subject's data does not
// depend on which cohorts are written.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nl/atlas/atlas.hpp"
#include "nl/image/image.hpp"
#include "nl/core/linalg.hpp"
#include "nl/table/table.hpp"

namespace nl::sim {

// ---------------------------------------------------------------- cohorts

enum class Cohort { Discovery, Saline, ExternalMD, ExternalNY };
constexpr std::size_t kCohorts = 4;

// "discovery", "saline", "external_md", "external_ny".
const char* cohort_name(Cohort c) noexcept;

// The Table 1 figures a cohort's response group is drawn to match.
struct GroupTarget {
  int n = 0;
  int female = 0;
  double age_mean = 0, age_sd = 0;
  double pre_mean = 0, pre_sd = 0;
  double post_mean = 0, post_sd = 0;
  double change_mean = 0, change_sd = 0;
};

// Table 1 of the paper: [cohort][0 = responders, 1 = non-responders].
const std::array<std::array<GroupTarget, 2>, kCohorts>& table1() noexcept;

// ---------------------------------------------------------------- options and result

struct KetamineOptions {
  std::uint64_t seed = 1;
  // Voxel size (mm) of the output grid: the atlas' field of view resampled to this
  // isotropic size. ValueError outside [1, 4].
  double resolution = 3.0;
  // Multiplies the planted responder / non-responder separation; 0 gives data without
  // any response effect. ValueError outside [0, 10].
  double effect = 1.0;
  // Planted regions by name. When both are empty the built-in name lists are used
  // (AAL and Neuromorphometrics names, see planted_candidates()); otherwise exactly
  // these regions (each name must be a region of the atlas).
  std::vector<std::string> responder_regions;     // larger in responders
  std::vector<std::string> nonresponder_regions;  // larger in non-responders
};

struct Subject {
  std::string id;  // "sub-001"
  Cohort cohort = Cohort::Discovery;
  bool ketamine = true;
  double age = 0;  // years, 0.1 y resolution
  bool female = false;
  std::string site;  // "A", "B", "MD", "NY"
  double tiv = 0;    // ml, whole
  int madrs_pre = 0, madrs_post = 0;
  bool responder = false;
};

// One planted region (the ground truth).
struct PlantedRegion {
  std::size_t region = 0;  // 0-based position in the atlas
  int sign = 0;            // +1: larger in responders; -1: larger in non-responders
  double weight = 0;       // loading on its response latent (1 = a region the paper names)
  // Population standardized mean difference, responders minus non-responders, of the
  // log regional volume net of the covariates (age, sex, site, TIV), in the discovery
  // cohort (always positive; the direction is `sign`).
  double effect_size = 0;
  // Expected volume difference of a responder over a non-responder in percent (signed).
  double percent = 0;
};

struct KetamineCohort {
  KetamineOptions options;
  std::shared_ptr<const Atlas> atlas;
  Grid grid;                                    // output grid (resolution mm)
  std::shared_ptr<const RegionIndex> index;     // atlas labels on `grid`
  std::vector<Subject> subjects;                // all four cohorts, sub-001 first
  Matrix volumes;                               // subjects x regions, ml
  std::vector<PlantedRegion> planted;           // responder set first, atlas order within
  std::vector<float> pattern;                   // static texture, per labelled voxel in index-run order
  std::vector<std::string> notices;             // e.g. regions without voxels on the grid
};

// Region names (normalized as planted matching does: lower case, runs of characters
// other than letters and digits become one space) that the built-in rule plants, with
// their weights: [0] larger in responders (frontal), [1] larger in non-responders
// (cerebellar).
struct PlantedName {
  const char* name;
  double weight;
};
const std::array<std::vector<PlantedName>, 2>& planted_candidates();

// Simulates all 199 subjects. ValueError for bad options, for planted names that are
// not regions of the atlas, and (built-in rule) for an atlas without any region of one
// of the two candidate sets, naming the atlas.
KetamineCohort simulate_ketamine(std::shared_ptr<const Atlas> atlas, const KetamineOptions& options);

// The GM map of subject s (0-based): float32 on cohort.grid, zero outside the atlas,
// each region's voxels summing (times the voxel volume in ml) to volumes(s, r) up to
// float32 rounding, with a smooth within-region texture and voxel noise.
Volume gm_map(const KetamineCohort& cohort, std::size_t s);

// ---------------------------------------------------------------- tables and files

// participant_id, cohort, arm, age, sex, site, tiv, madrs_pre, madrs_post, gm_path
// for the given subjects (0-based, in that order); gm_path = "gm/<id>_gm.nii.gz".
Table participants_table(const KetamineCohort& cohort, const std::vector<std::size_t>& subjects);
// index, name, sign, effect_size, percent: one row per planted region.
Table ground_truth_table(const KetamineCohort& cohort);
// The regional volumes of the given subjects, one column per region named as
// nl::summarize names them (region_column_names).
Table volumes_table(const KetamineCohort& cohort, const std::vector<std::size_t>& subjects);

// The header line of participants.tsv (tab-separated, no newline).
std::string participants_header();

struct OutputOptions {
  bool overwrite = false;
  int compression = 6;  // gzip level of the maps (1..9)
};

// Writes the given subjects' maps (dir/gm/<id>_gm.nii.gz, in parallel),
// dir/participants.tsv and dir/ground_truth.tsv, each file atomically. Directory
// policy: dir is created (with its parents) when missing; an existing empty directory
// is used; a non-empty one is refused unless options.overwrite is set AND it holds a
// previous simulator output (participants.tsv with exactly the simulator's header, and
// ground_truth.tsv); then the files this run writes replace those of the same name.
// Nothing is ever deleted. The maps are written first and participants.tsv last, so a
// participants.tsv never lists a map that is not there. FileError naming the directory
// or file otherwise.
void write_ketamine(const KetamineCohort& cohort, const std::vector<std::size_t>& subjects, const std::string& dir,
                    const OutputOptions& options);

}  // namespace nl::sim

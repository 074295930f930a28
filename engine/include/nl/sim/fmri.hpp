// nl/sim/fmri.hpp: the resting-state fMRI cohort simulator (METHODS.md sections 2-4).
//
// Writes a 4-D BOLD image per subject, session and run on a real atlas grid, the
// realignment parameters of each run, a participants table with clinical scores and a
// sessions table, with effects planted in the network structure like the findings of
// the three connectivity papers (seeds 002, 003, 004). The default cohort is shaped
// like seed 003 (Siegel et al. 2021): 23 patients with treatment-resistant depression
// (two pre-infusion scans, Pre1 for all 23 and Pre2 for 18; a post-infusion scan two
// weeks after a ketamine infusion for 20; response at 2 weeks known for 21: 11
// responders) and 27 matched controls (7 with a second scan).
//
// Signal model (all latent signals have unit variance; see docs/reference/sim.md):
//
//   latent sources, per run: s_k (one per network k), g (global neural), u (left
//   amygdala - right temporal link), e_r (one per region): white noise convolved with
//   the canonical SPM haemodynamic response sampled at TR, so every source has the
//   BOLD spectrum (most power below 0.1 Hz, lag-1 autocorrelation about 0.8 at 2 s).
//
//   region signal x_r = a_r s_k(r) + gamma g + c_r u + h_r s_limbic
//                       + sqrt(1 - a_r^2 - gamma^2 - c_r^2 - h_r^2) e_r,
//   with a_r the region's loading on its network (the planted effects change it by
//   group and session), gamma = 0.25, c_r = the amygdala-temporal coupling (Amygdala_L,
//   Temporal_Sup_R, Temporal_Mid_R only) and h_r = 0.25 for the sgACC analogue (its
//   limbic input; its a_r is its coupling to the DMN signal). Region signals are
//   correlated exactly as corr(x_i, x_j) = a_i a_j [same network] + gamma^2 + ...
//
//   voxel value (int16) = B_v (1 + q(t)) (1 + (A x_r(t) + noise_v(t) + nuisance_v(t)) / 100),
//   in percent signal change: A = 1 % in grey matter (atlas-labelled voxels), voxel
//   noise 1.2 % (AR(1), phi 0.3), a global nuisance signal (0.8 % in brain and CSF),
//   white-matter and CSF signals (strong in their masks, partial-volume weights in grey
//   matter), linear and quadratic drifts, head-motion artefacts linear in the six
//   realignment parameters plus spin-history drops at motion spikes, and the
//   non-steady-state transient q(t) = 0.2 exp(-t TR / 2.5 s) of the first frames.
//
// Planted effects (loading of the network signal; `effect` scales every deviation from
// the control value, so effect = 0 gives a cohort without any group or time effect):
//
//   measure                    control  patient pre  responder post  non-responder post
//   within somatomotor a         0.70      0.58          0.62            0.62        (seed 002: HC > MDD)
//   within DMN a                 0.55      0.64          0.54            0.62        (seed 003)
//   sgACC-DMN coupling a         0.30      0.42          0.26            0.41        (seed 003)
//   within limbic a              0.40      0.52          0.40            0.40        (seed 003)
//   within visual a              0.70      0.70          0.70            0.70        (negative control)
//   amygdala_L-temporal_R c      0.25      responders 0.45, non-responders 0.15, every session (seed 004)
//
// Other networks (salience, cerebellum, striatum, frontoparietal, temporal) have a =
// 0.60 everywhere. Each subject's loadings also vary by a trait offset (SD 0.07 per
// network) and a run offset (SD 0.03), and each region by a fixed offset (SD 0.04).
// The levels were calibrated with scripts/limbic/calibrate.lua (docs/reference/sim.md).
//
// Randomness: Rng(seed, stream), one stream per task, so results do not depend on the
// thread count: population (1), cohort layout (10), clinical draws (20, 21), subject
// traits (1000 + subject), and per run (stream base + 16 subject + 4 session + run):
// latent signals 1,000,000, head motion 2,000,000, voxel noise 3,000,000. A subject's
// images therefore do not depend on which other subjects or sessions exist.
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

// ---------------------------------------------------------------- networks

enum class Network {
  Dmn, Sgacc, Limbic, Visual, Somatomotor, Salience, Cerebellum, Striatum, Frontoparietal, Temporal, None
};
constexpr std::size_t kNetworks = 11;

// "dmn", "sgacc", "limbic", "visual", "somatomotor", "salience", "cerebellum",
// "striatum", "frontoparietal", "temporal", "none".
const char* network_name(Network n) noexcept;

// The built-in network of every atlas region, by name (AAL and FSL Harvard-Oxford
// cortical names; compared in lower case with runs of other characters than letters
// and digits as one space). Regions not listed are Network::None. ValueError naming
// the atlas when not one region has a network.
std::vector<Network> fmri_networks(const Atlas& atlas);

// Regions of the amygdala-temporal effect: [0] the seed (AAL Amygdala_L, the
// laterobasal-amygdala analogue), [1] its targets (Temporal_Sup_R, Temporal_Mid_R).
// Empty when the atlas lacks them.
std::array<std::vector<std::size_t>, 2> amygdala_temporal_regions(const Atlas& atlas);

// ---------------------------------------------------------------- options and cohort

enum class Session { Pre1, Pre2, Post };
constexpr std::size_t kSessions = 3;
// "pre1", "pre2", "post".
const char* session_name(Session s) noexcept;

struct FmriOptions {
  std::uint64_t seed = 1;
  double resolution = 3.0;  // voxel size of the output grid, mm: [2, 8]
  double tr = 2.0;          // repetition time, s: [0.5, 4]
  int frames = 240;         // per run: [60, 2000]
  int runs = 1;             // per session: [1, 4]
  // Cohort. Patients are sub-001 .. sub-<patients>, controls follow.
  int patients = 23;        // [2, 500]
  int controls = 27;        // [0, 500]
  int responders = 11;      // of the patients with an outcome: [1, patients - dropouts - 1]
  int dropouts = 2;         // patients without a 2-week outcome and without a post scan: [0, patients - 2]
  // Sessions beyond Pre1 (which every subject has).
  int pre2 = 18;            // patients with a second pre-infusion scan: [0, patients]
  int post = 20;            // patients (with an outcome) with a post-infusion scan: [0, patients - dropouts]
  int control_repeat = 7;   // controls with a second scan (session pre2): [0, controls]
  // Post-infusion runs given excessive head motion (a slow drift past 2 mm, so the
  // exclusion rule of METHODS.md section 4 removes them): [0, post * runs].
  int motion_outliers = 1;
  double effect = 1.0;      // scale of every planted effect: [0, 2]
};

// Checks every option; ValueError naming the option and its range.
void check_fmri_options(const FmriOptions& o);

struct FmriSubject {
  std::string id;           // "sub-001"
  bool patient = true;
  double age = 0;           // years, to 0.1
  bool female = false;
  // Outcome (patients with an outcome): response = MADRS reduction >= 50 % at 2 weeks,
  // remission = MADRS < 10 at 2 weeks. -1 = unknown (dropouts, controls).
  int response = -1, remission = -1;
  // MADRS at baseline, 1 day, 2 weeks and 8 weeks after the infusion, and HAMD-17 at
  // baseline and 2 weeks; NaN = not assessed (controls have baselines only).
  double madrs_baseline = 0, madrs_day1 = 0, madrs_week2 = 0, madrs_week8 = 0;
  double hamd_baseline = 0, hamd_week2 = 0;
};

struct FmriRun {
  std::size_t subject = 0;  // position in FmriCohort::subjects
  Session session = Session::Pre1;
  int run = 1;              // 1-based
  bool motion_outlier = false;
  std::string func_path;    // relative to the output directory
  std::string motion_path;
};

// One measure of the ground truth in one condition.
struct TruthRow {
  std::string effect, measure, condition, regions;
  // FC rows: the Fisher z of the expected correlation (expected_correlation), averaged
  // over the measure's region pairs; motion_outlier rows: the largest absolute
  // translation of the run (mm).
  double value = 0;
};

struct FmriCohort {
  FmriOptions options;
  std::shared_ptr<const Atlas> atlas;
  Grid grid;                                  // output grid (resolution mm)
  std::shared_ptr<const RegionIndex> index;   // atlas labels on `grid`
  std::vector<Network> networks;              // per region
  std::array<std::vector<std::size_t>, 2> amygdala_temporal;
  // Tissue masks on `grid` as voxel offsets (ascending): brain (grey matter = the
  // atlas-labelled voxels, plus the white matter and other unlabelled voxels they
  // enclose), white matter (brain voxels not labelled and not next to a labelled one),
  // CSF (the one-voxel rim around the brain).
  std::vector<std::uint32_t> brain, wm, csf;
  // Every voxel with signal (brain and CSF), ascending offset, with its fixed
  // (per-seed) parameters.
  struct TissueVoxel {
    std::uint32_t offset = 0;
    std::int32_t region = -1;  // 0-based atlas region of a grey-matter voxel, else -1
    std::uint8_t tissue = 0;   // 0 grey matter, 1 white matter, 2 other brain, 3 CSF
    float baseline = 0;        // B_v
    std::array<float, 7> gain{};  // % per mm of the 6 realignment parameters (rotations as
                                  // mm of arc at 50 mm), then the spike gain
  };
  std::vector<TissueVoxel> voxels;
  std::vector<FmriSubject> subjects;
  std::vector<FmriRun> runs;                  // subject, then session, then run order
  std::vector<TruthRow> truth;
  std::vector<std::string> notices;           // effects the atlas cannot carry, lost regions
  std::vector<double> region_offset;          // per region, added to its loading (fixed per seed)
};

// Simulates the cohort (layout, clinical scores, population parameters, tissue masks,
// ground truth); images come from fmri_run. ValueError for bad options or an atlas
// without any network region, naming them.
FmriCohort simulate_fmri(std::shared_ptr<const Atlas> atlas, const FmriOptions& options);

struct RunData {
  Volume bold;     // 4-D int16-valued float32 on cohort.grid, TR set
  Matrix motion;   // frames x 6: tx ty tz (mm), rx ry rz (radians), relative to frame 1
  Matrix regions;  // frames x regions: the region signals x_r (unit variance; NaN for a region without voxels)
};

// The data of run k (0-based position in cohort.runs). `with_volume = false` skips the
// voxels (regions and motion only, much faster; the same numbers).
RunData fmri_run(const FmriCohort& cohort, std::size_t k, bool with_volume = true);

// The expected correlation of the region signals in a condition (for the ground truth
// and tests): regions x regions, over subjects and runs (the population loadings, plus
// the variance of the subject and run offsets for two regions of one network).
enum class Condition { Control, ResponderPre, NonresponderPre, ResponderPost, NonresponderPost };
Matrix expected_correlation(const FmriCohort& cohort, Condition c);

// ---------------------------------------------------------------- tables and files

// participant_id, group, age, sex, response, remission, madrs_baseline, madrs_day1,
// madrs_week2, madrs_week8, hamd_baseline, hamd_week2.
Table fmri_participants_table(const FmriCohort& cohort);
std::string fmri_participants_header();
// participant_id, session, run, func_path, motion_path: one row per run.
Table fmri_sessions_table(const FmriCohort& cohort);
// effect, measure, condition, value, regions.
Table fmri_ground_truth_table(const FmriCohort& cohort);
// index, name, network: one row per atlas region (fmri_networks).
Table fmri_networks_table(const Atlas& atlas);

struct FmriOutputOptions {
  bool overwrite = false;
  int compression = 1;  // gzip level of the images (1..9)
};

// Writes dir/func/<id>_ses-<session>_run-<r>_bold.nii.gz and _motion.txt (6 columns,
// SPM rp_*.txt layout) for every run (in parallel), dir/masks/{brain,wm,csf}.nii.gz,
// networks.tsv, ground_truth.tsv, sessions.tsv and participants.tsv (last), each file
// atomically, under the simulators' directory policy (see nl/sim/ketamine.hpp; a
// previous output is recognised by participants.tsv with fmri_participants_header(),
// sessions.tsv and ground_truth.tsv). FileError naming the directory or file.
void write_fmri(const FmriCohort& cohort, const std::string& dir, const FmriOutputOptions& options);

}  // namespace nl::sim

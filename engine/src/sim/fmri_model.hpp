// sim/fmri_model.hpp (engine-internal): the parameters of the fMRI simulator's signal
// model and the pieces sim/fmri.cpp (cohort, tables, files) and sim/fmri_signal.cpp
// (networks, tissue, images) share. The model is described in nl/sim/fmri.hpp.
#pragma once

#include <cstdint>
#include <vector>

#include "nl/sim/fmri.hpp"

namespace nl::sim::detail {

// ---------------------------------------------------------------- loadings

// A network's loading by condition (see the table in nl/sim/fmri.hpp).
struct Levels {
  double control, pre, post_responder, post_nonresponder;
};

constexpr double kGamma = 0.25;          // loading of every region on the global neural signal
constexpr double kSgaccLimbic = 0.25;    // the sgACC analogue's loading on the limbic signal
constexpr double kMaxLoadingVar = 0.95;  // a_r^2 + gamma^2 + c_r^2 + h_r^2 is scaled down to this
constexpr double kTraitSd = 0.07;        // subject offset of a network's loading
constexpr double kStateSd = 0.03;        // run offset of a network's loading
constexpr double kRegionSd = 0.04;       // fixed offset of a region's loading
// Amygdala_L - right temporal coupling c: controls, responders, non-responders.
constexpr double kCouplingControl = 0.25, kCouplingResponder = 0.45, kCouplingNonresponder = 0.15;

// The planted levels of network n (others: 0.60 everywhere; None: 0).
Levels network_levels(Network n);

// The loading of network n in condition c with the deviations from the control value
// scaled by `effect`.
double network_loading(Network n, Condition c, double effect);

// The amygdala-temporal coupling of a subject: response 1 / 0 / -1 (unknown: the
// midpoint of the two), or a control.
double coupling(bool patient, int response, double effect);

// The condition of a run.
Condition run_condition(const FmriSubject& s, Session session);

// Per-region loadings of a run: a (own network), c (amygdala-temporal), h (sgACC's
// limbic input) and the weight of the region noise sqrt(1 - sum of squares), after
// the variance cap. `trait` and `state` hold one offset per network (kNetworks
// entries; 0 for the population values).
struct Loadings {
  std::vector<double> a, c, h, noise;
};
Loadings region_loadings(const FmriCohort& cohort, Condition cond, double c_value, const double* trait,
                         const double* state);

// The latent sources of a run, in draw order: one per network (Network's order; the
// None column is drawn but never used), the global neural signal, the amygdala-temporal
// link.
constexpr Eigen::Index kGlobalSource = static_cast<Eigen::Index>(kNetworks), kLinkSource = kGlobalSource + 1,
                       kSources = kLinkSource + 1;

// regions x kSources: the weight of each source in each region's signal (the sgACC
// analogue on the DMN and limbic sources); region signal = S B' + noise.
Matrix source_weights(const FmriCohort& cohort, const Loadings& L);

// ---------------------------------------------------------------- random streams

constexpr std::uint64_t kPopulationStream = 1, kLayoutStream = 10, kAgeStream = 20, kScoreStream = 21,
                        kTraitStream = 1000, kLatentStream = 1000000, kMotionStream = 2000000,
                        kVoxelStream = 3000000;

// The per-run offset of the run streams: 16 subject + 4 session + (run - 1).
inline std::uint64_t run_stream(std::size_t subject, Session s, int run) {
  return 16 * static_cast<std::uint64_t>(subject) + 4 * static_cast<std::uint64_t>(s) +
         static_cast<std::uint64_t>(run - 1);
}

// ---------------------------------------------------------------- population

// Tissue masks and per-voxel parameters (cohort.brain, wm, csf, voxels) and the region
// offsets, from the population stream.
void draw_tissue(FmriCohort& cohort);

// The ground-truth rows of the planted FC effects (cohort.truth, without motion rows)
// and notices for effects the atlas cannot carry.
void fill_truth(FmriCohort& cohort);

}  // namespace nl::sim::detail

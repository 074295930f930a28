// sim/ketamine.cpp: the ketamine cohort simulator (see nl/sim/ketamine.hpp for the
// model and the random streams).
#include "nl/sim/ketamine.hpp"

#include "nl/io/fileio.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numbers>
#include <numeric>

#include "nl/core/core.hpp"
#include "common.hpp"

namespace nl::sim {

namespace {

namespace fs = std::filesystem;
using detail::normalize_name;
using detail::output_grid;

// ---------------------------------------------------------------- model constants

// Calibrated so that the mean over simulator seeds 1-20 of the paper's pipeline lands
// near the paper's Table 2 (discovery BAC 72.2 %, AUC 0.72; pooled external 60.0 %,
// 0.65; scripts/ketamine/seed_spread.tsv, docs/reference/sim.md "Calibration").
constexpr double kSeparation = 1.035;          // m: responder - non-responder shift of zF, zC (SD units)
constexpr double kExternalAttenuation = 0.50;  // m in the external cohorts = this x m
constexpr double kLambda = 0.045;             // loading of a weight-1 region on its response latent
constexpr double kSigmaGlobal = 0.03;         // global GM factor (log units)
constexpr double kSigmaFactor = 0.035;        // spatial factors
constexpr double kFactorWidth = 30.0;         // mm, Gaussian kernel of the spatial factors
constexpr int kFactors = 12;
constexpr double kTivExponent = 0.9;
constexpr double kTivRef = 1500.0, kAgeRef = 40.0;
constexpr double kScannerGlobalSd = 0.02, kScannerRegionSd = 0.03;
// Candidate draws per group (the best fit to Table 1 is kept): more for small groups,
// whose sample moments scatter more; about 200000 subject draws per group either way.
int candidates(int n) { return std::max(2000, 200000 / std::max(n, 1)); }

constexpr std::uint64_t kPopulationStream = 1, kPatternStream = 2, kCohortStream = 10, kGroupStream = 20,
                        kSubjectStream = 1000, kMapStream = 100000;

// ---------------------------------------------------------------- small helpers

double mean_of(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

// Sample SD (n - 1); 0 for fewer than two values.
double sd_of(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double m = mean_of(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

template <class T>
void shuffle_flags(std::vector<T>& v, std::size_t n_true, Rng& rng) {
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = i < n_true;
  rng.shuffle(v);
}

// ---------------------------------------------------------------- demographics

struct GroupDraw {
  std::vector<double> age;
  std::vector<int> pre, post;
  std::vector<std::uint8_t> female;
};

// Ages: normal draws redrawn outside [18, 80], rounded to 0.1 y; the candidate set
// whose mean and SD are closest to the target is kept.
std::vector<double> draw_ages(const GroupTarget& t, Rng& rng) {
  const auto n = static_cast<std::size_t>(t.n);
  std::vector<double> best, cand(n);
  double best_score = std::numeric_limits<double>::infinity();
  for (int k = 0, K = candidates(t.n); k < K; ++k) {
    for (auto& a : cand) {
      do a = std::round((t.age_mean + t.age_sd * rng.normal()) * 10.0) / 10.0;
      while (a < 18.0 || a > 80.0);
    }
    const double score = std::pow(mean_of(cand) - t.age_mean, 2) + std::pow(sd_of(cand) - t.age_sd, 2);
    if (score < best_score) best_score = score, best = cand;
  }
  return best;
}

// MADRS pre/post: a bivariate normal with the correlation implied by the SDs of pre,
// post and change, rounded to integers; a pair is redrawn until 18 <= pre <= 60,
// 0 <= post <= 60 and its response status (2 post <= pre, i.e. (post - pre) / pre <= -0.5)
// is the group's. The candidate set closest to the six Table 1 moments is kept.
void draw_madrs(const GroupTarget& t, bool responder, Rng& rng, std::vector<int>& pre, std::vector<int>& post) {
  const auto n = static_cast<std::size_t>(t.n);
  double rho = (t.pre_sd * t.pre_sd + t.post_sd * t.post_sd - t.change_sd * t.change_sd) / (2 * t.pre_sd * t.post_sd);
  rho = std::clamp(rho, -0.2, 0.9);
  const double c = std::sqrt(1 - rho * rho);
  std::vector<int> cpre(n), cpost(n);
  std::vector<double> a(n), b(n), d(n);
  double best_score = std::numeric_limits<double>::infinity();
  for (int k = 0, K = candidates(t.n); k < K; ++k) {
    for (std::size_t i = 0; i < n; ++i) {
      for (int tries = 0;; ++tries) {
        if (tries > 100000) throw ValueError("nl.sim.ketamine: cannot draw MADRS scores for the Table 1 targets");
        const double z1 = rng.normal(), z2 = rng.normal();
        const int p = static_cast<int>(std::lround(t.pre_mean + t.pre_sd * z1));
        const int q = static_cast<int>(std::lround(t.post_mean + t.post_sd * (rho * z1 + c * z2)));
        if (p < 18 || p > 60 || q < 0 || q > 60 || (2 * q <= p) != responder) continue;
        cpre[i] = p, cpost[i] = q;
        break;
      }
      a[i] = cpre[i], b[i] = cpost[i], d[i] = cpost[i] - cpre[i];
    }
    const double score = std::pow(mean_of(a) - t.pre_mean, 2) + std::pow(sd_of(a) - t.pre_sd, 2) +
                         std::pow(mean_of(b) - t.post_mean, 2) + std::pow(sd_of(b) - t.post_sd, 2) +
                         std::pow(mean_of(d) - t.change_mean, 2) + std::pow(sd_of(d) - t.change_sd, 2);
    if (score < best_score) best_score = score, pre = cpre, post = cpost;
  }
}

GroupDraw draw_group(const GroupTarget& t, bool responder, Rng& rng) {
  GroupDraw g;
  g.female.resize(static_cast<std::size_t>(t.n));
  shuffle_flags(g.female, static_cast<std::size_t>(t.female), rng);
  g.age = draw_ages(t, rng);
  draw_madrs(t, responder, rng, g.pre, g.post);
  return g;
}

// ---------------------------------------------------------------- the output grid

// ---------------------------------------------------------------- planted regions

// The regions of `names` (normalized) found in the atlas, with their weights.
std::vector<std::pair<std::size_t, double>> find_regions(const Atlas& atlas, const std::vector<PlantedName>& names) {
  std::vector<std::pair<std::size_t, double>> out;
  for (std::size_t r = 0; r < atlas.size(); ++r) {
    const std::string n = normalize_name(atlas.regions()[r].name);
    for (const auto& p : names)
      if (n == p.name) out.emplace_back(r, p.weight);
  }
  return out;
}

std::vector<std::pair<std::size_t, double>> named_regions(const Atlas& atlas, const std::vector<std::string>& names,
                                                          const char* which) {
  std::vector<std::pair<std::size_t, double>> out;
  for (const auto& name : names) {
    std::size_t found = atlas.size();
    for (std::size_t r = 0; r < atlas.size() && found == atlas.size(); ++r)
      if (atlas.regions()[r].name == name) found = r;
    if (found == atlas.size())
      throw ValueError(fmt::format("nl.sim.ketamine: {} region '{}' is not a region of atlas '{}' (see atlas:find)",
                                   which, name, atlas.name()));
    for (const auto& o : out)
      if (o.first == found) throw ValueError(fmt::format("nl.sim.ketamine: {} region '{}' given twice", which, name));
    out.emplace_back(found, 1.0);
  }
  return out;
}

std::string candidate_list(const std::vector<PlantedName>& names) {
  std::string s;
  for (std::size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + std::string(names[i].name);
  return s;
}

// ---------------------------------------------------------------- population parameters

struct Population {
  std::vector<double> base;             // b_r, ml (0 for a region without voxels on the grid)
  std::vector<double> age_slope, male, site_b, sigma_e;
  std::array<std::vector<double>, kCohorts> scanner;  // o_{c,r}
  Matrix loadings;                      // R x K, already multiplied by kSigmaFactor
  std::vector<double> latent_weight;    // lambda w_r (0 outside the planted sets)
  std::vector<int> latent_of;           // 0 none, 1 frontal (zF), 2 cerebellar (zC)
};

Population draw_population(const Atlas& atlas, const RegionIndex& index, const Grid& grid,
                           const std::vector<PlantedRegion>& planted, std::uint64_t seed) {
  const std::size_t R = atlas.size();
  Rng rng(seed, kPopulationStream);
  Population p;
  const double voxel_ml = grid.voxel_volume() / 1000.0;
  p.base.resize(R), p.age_slope.resize(R), p.male.resize(R), p.site_b.resize(R), p.sigma_e.resize(R);
  for (std::size_t r = 0; r < R; ++r) {
    p.base[r] = static_cast<double>(index.counts[r]) * voxel_ml * (0.50 + 0.15 * rng.uniform());
    p.age_slope[r] = -(0.0015 + 0.003 * rng.uniform());
    p.male[r] = 0.015 * rng.normal();
    p.site_b[r] = 0.01 * rng.normal();
    p.sigma_e[r] = 0.025 + 0.015 * rng.uniform();
  }
  for (std::size_t c = 0; c < kCohorts; ++c) {
    p.scanner[c].assign(R, 0.0);
    if (c == static_cast<std::size_t>(Cohort::ExternalMD) || c == static_cast<std::size_t>(Cohort::ExternalNY)) {
      const double global = kScannerGlobalSd * rng.normal();
      for (std::size_t r = 0; r < R; ++r) p.scanner[c][r] = global + kScannerRegionSd * rng.normal();
    }
  }
  // Spatial factors: anchors spread by farthest-point sampling over region centroids.
  const Table regions = regions_table(atlas);
  std::vector<Eigen::Vector3d> centroid(R);
  std::vector<std::size_t> usable;
  for (std::size_t r = 0; r < R; ++r) {
    centroid[r] = {regions.column("centroid_x")->number(r), regions.column("centroid_y")->number(r),
                   regions.column("centroid_z")->number(r)};
    if (centroid[r].allFinite()) usable.push_back(r);
  }
  std::vector<std::size_t> anchors;
  if (!usable.empty()) {
    anchors.push_back(usable[rng.below(usable.size())]);
    std::vector<double> dmin(R, std::numeric_limits<double>::infinity());
    while (anchors.size() < std::min<std::size_t>(kFactors, usable.size())) {
      std::size_t best = usable.front();
      double best_d = -1;
      for (std::size_t r : usable) {
        dmin[r] = std::min(dmin[r], (centroid[r] - centroid[anchors.back()]).norm());
        if (dmin[r] > best_d) best_d = dmin[r], best = r;
      }
      anchors.push_back(best);
    }
  }
  p.loadings = Matrix::Zero(static_cast<Eigen::Index>(R), static_cast<Eigen::Index>(anchors.size()));
  for (std::size_t r : usable)
    for (std::size_t k = 0; k < anchors.size(); ++k) {
      const double d2 = (centroid[r] - centroid[anchors[k]]).squaredNorm();
      p.loadings(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(k)) =
          kSigmaFactor * std::exp(-d2 / (2 * kFactorWidth * kFactorWidth));
    }
  p.latent_weight.assign(R, 0.0);
  p.latent_of.assign(R, 0);
  for (const auto& pr : planted) {
    p.latent_weight[pr.region] = kLambda * pr.weight;
    p.latent_of[pr.region] = pr.sign > 0 ? 1 : 2;
  }
  return p;
}

// Variance of log v_r net of covariates and scanner (anatomical + latent, SD 1 latent).
double residual_variance(const Population& p, std::size_t r) {
  const double f = p.loadings.row(static_cast<Eigen::Index>(r)).squaredNorm();
  return kSigmaGlobal * kSigmaGlobal + f + p.sigma_e[r] * p.sigma_e[r] + p.latent_weight[r] * p.latent_weight[r];
}

}  // namespace

// ---------------------------------------------------------------- public tables

const char* cohort_name(Cohort c) noexcept {
  switch (c) {
    case Cohort::Discovery: return "discovery";
    case Cohort::Saline: return "saline";
    case Cohort::ExternalMD: return "external_md";
    case Cohort::ExternalNY: return "external_ny";
  }
  return "?";
}

// Table 1 of Bryant et al. (2026). The MD responders' row prints "2 (60.0%)" female
// and "3 (40.0%)" male; 2 women is the count consistent with the pooled external
// sample (25 women of 51), so the percentages are taken as swapped.
const std::array<std::array<GroupTarget, 2>, kCohorts>& table1() noexcept {
  static const std::array<std::array<GroupTarget, 2>, kCohorts> t{{
      {{{52, 34, 34.84, 11.72, 32.15, 5.56, 9.48, 5.54, -22.67, 5.43},
        {47, 28, 34.77, 10.29, 33.34, 5.13, 25.17, 6.72, -8.00, 6.06}}},
      {{{12, 7, 29.37, 6.49, 33.92, 5.38, 12.42, 3.60, -21.50, 6.30},
        {37, 24, 35.44, 10.66, 31.97, 5.03, 27.24, 7.14, -4.73, 5.06}}},
      {{{5, 2, 39.60, 5.41, 31.40, 4.62, 7.20, 6.34, -24.20, 7.16},
        {17, 11, 34.59, 9.64, 32.76, 5.02, 27.47, 6.86, -5.29, 7.67}}},
      {{{16, 7, 46.34, 16.39, 30.56, 5.40, 8.50, 5.16, -22.06, 5.81},
        {13, 5, 41.44, 15.32, 31.46, 5.82, 25.46, 5.65, -6.00, 4.16}}},
  }};
  return t;
}

// The paper's top regions (weight 1) and their neighbours (0.6), in AAL names and in
// Neuromorphometrics names (the paper's atlas, as CAT12 and SPM label it).
const std::array<std::vector<PlantedName>, 2>& planted_candidates() {
  static const std::array<std::vector<PlantedName>, 2> c{{
      {
          {"frontal sup medial l", 1.0},  // AAL
          {"frontal sup r", 1.0},
          {"frontal sup orb l", 1.0},  // frontal-pole analogue
          {"frontal med orb l", 0.6},
          {"frontal sup medial r", 0.6},
          {"frontal sup l", 0.6},
          {"left msfg superior frontal gyrus medial segment", 1.0},  // Neuromorphometrics
          {"right sfg superior frontal gyrus", 1.0},
          {"left frp frontal pole", 1.0},
          {"right msfg superior frontal gyrus medial segment", 0.6},
          {"left sfg superior frontal gyrus", 0.6},
          {"right frp frontal pole", 0.6},
      },
      {
          {"vermis 1 2", 1.0},  // AAL: vermal lobules I-V
          {"vermis 3", 1.0},
          {"vermis 4 5", 1.0},
          {"vermis 6", 1.0},  // VI-VII
          {"vermis 7", 1.0},
          {"cerebelum crus1 l", 0.6},  // left cerebellar cortex
          {"cerebelum 6 l", 0.6},
          {"cerebellar vermal lobules i v", 1.0},  // Neuromorphometrics
          {"cerebellar vermal lobules vi vii", 1.0},
          {"left cerebellum exterior", 1.0},
      },
  }};
  return c;
}

// ---------------------------------------------------------------- simulation

KetamineCohort simulate_ketamine(std::shared_ptr<const Atlas> atlas_ptr, const KetamineOptions& options) {
  if (!atlas_ptr) throw ValueError("nl.sim.ketamine: no atlas");
  const Atlas& atlas = *atlas_ptr;
  if (!(options.resolution >= 1.0 && options.resolution <= 4.0))
    throw ValueError(fmt::format("nl.sim.ketamine: resolution must be between 1 and 4 mm, got {}", options.resolution));
  if (!(options.effect >= 0.0 && options.effect <= 10.0))
    throw ValueError(fmt::format("nl.sim.ketamine: effect must be between 0 and 10, got {}", options.effect));

  KetamineCohort out;
  out.options = options;
  out.atlas = atlas_ptr;
  out.grid = output_grid(atlas.labels().grid(), options.resolution);
  std::vector<std::string> index_notices;  // "resampled" is expected here; lost regions are reported below
  out.index = atlas.index_on(out.grid, index_notices, "the simulator's output grid");
  const std::size_t R = atlas.size();
  {
    std::vector<std::string> lost;
    const auto native = atlas.index_on(atlas.labels().grid(), index_notices, "the atlas");
    for (std::size_t r = 0; r < R; ++r)
      if (out.index->counts[r] == 0 && native->counts[r] > 0) lost.push_back(atlas.regions()[r].name);
    if (!lost.empty()) {
      std::string list;
      for (std::size_t k = 0; k < lost.size(); ++k) list += (k ? ", " : "") + lost[k];
      out.notices.push_back(fmt::format("nl.sim.ketamine: {} region{} of atlas '{}' {} no voxel on the {} mm grid "
                                        "(volume 0 for every subject): {}",
                                        lost.size(), lost.size() > 1 ? "s" : "", atlas.name(),
                                        lost.size() > 1 ? "have" : "has", options.resolution, list));
    }
  }

  // Planted regions: the named ones, or the built-in candidates found in the atlas.
  std::array<std::vector<std::pair<std::size_t, double>>, 2> sets;
  if (options.responder_regions.empty() && options.nonresponder_regions.empty()) {
    const auto& cand = planted_candidates();
    for (int k = 0; k < 2; ++k) {
      sets[k] = find_regions(atlas, cand[k]);
      if (sets[k].empty())
        throw ValueError(fmt::format(
            "nl.sim.ketamine: atlas '{}' has no region of the built-in {} set (names compared in lower case, "
            "punctuation as spaces: {}); use an atlas with AAL or Neuromorphometrics names (e.g. \"aal\"), or name "
            "the regions with the option planted = {{responders = {{...}}, nonresponders = {{...}}}}",
            atlas.name(), k == 0 ? "frontal (larger in responders)" : "cerebellar (larger in non-responders)",
            candidate_list(cand[k])));
    }
  } else {
    sets[0] = named_regions(atlas, options.responder_regions, "responder");
    sets[1] = named_regions(atlas, options.nonresponder_regions, "non-responder");
    for (const auto& a : sets[0])
      for (const auto& b : sets[1])
        if (a.first == b.first)
          throw ValueError(fmt::format("nl.sim.ketamine: region '{}' is in both planted sets",
                                       atlas.regions()[a.first].name));
  }
  for (int k = 0; k < 2; ++k) {
    std::sort(sets[k].begin(), sets[k].end());
    for (const auto& [r, w] : sets[k]) {
      if (out.index->counts[r] == 0)
        throw ValueError(fmt::format("nl.sim.ketamine: planted region '{}' has no voxel on the {} mm output grid",
                                     atlas.regions()[r].name, options.resolution));
      PlantedRegion p;
      p.region = r;
      p.sign = k == 0 ? 1 : -1;
      p.weight = w;
      out.planted.push_back(p);
    }
  }
  const Population pop = draw_population(atlas, *out.index, out.grid, out.planted, options.seed);
  const double m = kSeparation * options.effect;
  for (auto& p : out.planted) {
    const double diff = pop.latent_weight[p.region] * m;  // log-volume difference R - NR
    p.effect_size = diff / std::sqrt(residual_variance(pop, p.region));
    p.percent = p.sign * 100.0 * (std::exp(diff) - 1.0);
  }

  // Cohort layout and demographics (group streams), then the subjects in order.
  const auto& targets = table1();
  for (std::size_t c = 0; c < kCohorts; ++c) {
    const auto cohort = static_cast<Cohort>(c);
    const GroupTarget& tr = targets[c][0];
    const GroupTarget& tn = targets[c][1];
    const auto n = static_cast<std::size_t>(tr.n + tn.n);
    Rng layout(options.seed, kCohortStream + c);
    std::vector<std::uint8_t> responder(n), site_b(n, 0);
    shuffle_flags(responder, static_cast<std::size_t>(tr.n), layout);
    const bool trial = cohort == Cohort::Discovery || cohort == Cohort::Saline;
    if (trial) shuffle_flags(site_b, static_cast<std::size_t>(std::lround(0.45 * static_cast<double>(n))), layout);
    std::array<GroupDraw, 2> draws;
    for (int g = 0; g < 2; ++g) {
      Rng rng(options.seed, kGroupStream + 2 * c + static_cast<std::uint64_t>(g));
      draws[g] = draw_group(targets[c][g], g == 0, rng);
    }
    std::array<std::size_t, 2> next{0, 0};
    for (std::size_t i = 0; i < n; ++i) {
      const int g = responder[i] ? 0 : 1;
      const std::size_t k = next[g]++;
      Subject s;
      s.id = fmt::format("sub-{:03d}", out.subjects.size() + 1);
      s.cohort = cohort;
      s.ketamine = cohort != Cohort::Saline;
      s.age = draws[g].age[k];
      s.female = draws[g].female[k] != 0;
      s.site = trial ? (site_b[i] ? "B" : "A") : (cohort == Cohort::ExternalMD ? "MD" : "NY");
      s.madrs_pre = draws[g].pre[k];
      s.madrs_post = draws[g].post[k];
      s.responder = g == 0;
      out.subjects.push_back(std::move(s));
    }
  }

  // Regional volumes, one stream per subject.
  const std::size_t N = out.subjects.size();
  const auto K = pop.loadings.cols();
  out.volumes.resize(static_cast<Eigen::Index>(N), static_cast<Eigen::Index>(R));
  parallel_for(N, [&](std::size_t i) {
    Subject& s = out.subjects[i];
    Rng rng(options.seed, kSubjectStream + i);
    const double tiv = s.female ? 1420.0 + 110.0 * rng.normal() : 1600.0 + 120.0 * rng.normal();
    s.tiv = std::round(std::clamp(tiv, 1000.0, 2200.0));
    const double g = rng.normal();
    Vector f(K);
    for (Eigen::Index k = 0; k < K; ++k) f(k) = rng.normal();
    double mu = 0.0;
    if (s.ketamine) mu = (s.responder ? 0.5 : -0.5) * m;
    if (s.cohort == Cohort::ExternalMD || s.cohort == Cohort::ExternalNY) mu *= kExternalAttenuation;
    const double zF = mu + rng.normal(), zC = -mu + rng.normal();
    const Vector factor = pop.loadings * f;
    const auto c = static_cast<std::size_t>(s.cohort);
    const double common = kTivExponent * std::log(s.tiv / kTivRef) + kSigmaGlobal * g;
    for (std::size_t r = 0; r < R; ++r) {
      const double e = rng.normal();
      if (pop.base[r] == 0.0) {
        out.volumes(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(r)) = 0.0;
        continue;
      }
      double lv = common + pop.age_slope[r] * (s.age - kAgeRef) + (s.female ? 0.0 : pop.male[r]) +
                  (s.site == "B" ? pop.site_b[r] : 0.0) + pop.scanner[c][r] + factor(static_cast<Eigen::Index>(r)) +
                  pop.sigma_e[r] * e;
      if (pop.latent_of[r] == 1) lv += pop.latent_weight[r] * zF;
      if (pop.latent_of[r] == 2) lv += pop.latent_weight[r] * zC;
      out.volumes(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(r)) = pop.base[r] * std::exp(lv);
    }
  });

  // Static texture: six plane waves (wavelength 20-50 mm) over the labelled voxels.
  Rng prng(options.seed, kPatternStream);
  struct Wave {
    Eigen::Vector3d k;
    double phase;
  };
  std::vector<Wave> waves(6);
  for (auto& w : waves) {
    Eigen::Vector3d d(prng.normal(), prng.normal(), prng.normal());
    const double wavelength = 20.0 + 30.0 * prng.uniform();
    w.k = d.normalized() * (2 * std::numbers::pi / wavelength);
    w.phase = 2 * std::numbers::pi * prng.uniform();
  }
  const double amplitude = 0.12 / std::sqrt(static_cast<double>(waves.size()) / 2.0);
  const auto nx = static_cast<std::uint64_t>(out.grid.dims[0]), ny = static_cast<std::uint64_t>(out.grid.dims[1]);
  for (const auto& run : out.index->runs)
    for (std::uint32_t j = 0; j < run.length; ++j) {
      const std::uint64_t v = run.start + j;
      const Eigen::Vector3d ijk(static_cast<double>(v % nx), static_cast<double>((v / nx) % ny),
                                static_cast<double>(v / (nx * ny)));
      const Eigen::Vector3d x = out.grid.to_world(ijk);
      double p = 0;
      for (const auto& w : waves) p += std::cos(w.k.dot(x) + w.phase);
      out.pattern.push_back(static_cast<float>(amplitude * p));
    }
  return out;
}

Volume gm_map(const KetamineCohort& cohort, std::size_t s) {
  if (s >= cohort.subjects.size())
    throw ValueError(fmt::format("gm_map: subject {} out of range (0..{})", s, cohort.subjects.size() - 1));
  const RegionIndex& idx = *cohort.index;
  const std::size_t R = cohort.atlas->size();
  Rng rng(cohort.options.seed, kMapStream + s);
  std::vector<double> w(cohort.pattern.size()), sum(R, 0.0);
  std::size_t k = 0;
  for (const auto& run : idx.runs)
    for (std::uint32_t j = 0; j < run.length; ++j, ++k) {
      w[k] = std::max(0.05, 1.0 + static_cast<double>(cohort.pattern[k]) + 0.08 * rng.normal());
      sum[static_cast<std::size_t>(run.region)] += w[k];
    }
  Volume v(cohort.grid);
  v.info.descrip = fmt::format("nl.sim.ketamine seed {} {}", cohort.options.seed, cohort.subjects[s].id);
  const double voxel_ml = cohort.grid.voxel_volume() / 1000.0;
  float* data = v.data();
  k = 0;
  for (const auto& run : idx.runs) {
    const auto r = static_cast<std::size_t>(run.region);
    const double scale = cohort.volumes(static_cast<Eigen::Index>(s), static_cast<Eigen::Index>(r)) / voxel_ml / sum[r];
    for (std::uint32_t j = 0; j < run.length; ++j, ++k) data[run.start + j] = static_cast<float>(w[k] * scale);
  }
  return v;
}

// ---------------------------------------------------------------- tables

std::string participants_header() {
  return "participant_id\tcohort\tarm\tage\tsex\tsite\ttiv\tmadrs_pre\tmadrs_post\tgm_path";
}

Table participants_table(const KetamineCohort& cohort, const std::vector<std::size_t>& subjects) {
  std::vector<std::string> id, name, arm, sex, site, path;
  std::vector<double> age, tiv, pre, post;
  for (std::size_t i : subjects) {
    if (i >= cohort.subjects.size()) throw ValueError(fmt::format("participants_table: subject {} out of range", i));
    const Subject& s = cohort.subjects[i];
    id.push_back(s.id);
    name.push_back(cohort_name(s.cohort));
    arm.push_back(s.ketamine ? "ketamine" : "saline");
    age.push_back(s.age);
    sex.push_back(s.female ? "F" : "M");
    site.push_back(s.site);
    tiv.push_back(s.tiv);
    pre.push_back(s.madrs_pre);
    post.push_back(s.madrs_post);
    path.push_back("gm/" + s.id + "_gm.nii.gz");
  }
  Table t;
  auto add = [&t](Column c) { t.set(std::make_shared<const Column>(std::move(c))); };
  add(Column::strings("participant_id", std::move(id)));
  add(Column::strings("cohort", std::move(name)));
  add(Column::strings("arm", std::move(arm)));
  add(Column::numbers("age", std::move(age)));
  add(Column::strings("sex", std::move(sex)));
  add(Column::strings("site", std::move(site)));
  add(Column::numbers("tiv", std::move(tiv)));
  add(Column::numbers("madrs_pre", std::move(pre)));
  add(Column::numbers("madrs_post", std::move(post)));
  add(Column::strings("gm_path", std::move(path)));
  return t;
}

Table ground_truth_table(const KetamineCohort& cohort) {
  std::vector<double> index, sign, effect, percent;
  std::vector<std::string> name;
  for (const auto& p : cohort.planted) {
    index.push_back(static_cast<double>(cohort.atlas->regions()[p.region].index));
    name.push_back(cohort.atlas->regions()[p.region].name);
    sign.push_back(p.sign);
    effect.push_back(p.effect_size);
    percent.push_back(p.percent);
  }
  Table t;
  t.set(std::make_shared<const Column>(Column::numbers("index", std::move(index))));
  t.set(std::make_shared<const Column>(Column::strings("name", std::move(name))));
  t.set(std::make_shared<const Column>(Column::numbers("sign", std::move(sign))));
  t.set(std::make_shared<const Column>(Column::numbers("effect_size", std::move(effect))));
  t.set(std::make_shared<const Column>(Column::numbers("percent", std::move(percent))));
  return t;
}

Table volumes_table(const KetamineCohort& cohort, const std::vector<std::size_t>& subjects) {
  const std::vector<std::string> names = region_column_names(*cohort.atlas);
  Table t;
  for (std::size_t r = 0; r < names.size(); ++r) {
    std::vector<double> col;
    col.reserve(subjects.size());
    for (std::size_t i : subjects) {
      if (i >= cohort.subjects.size()) throw ValueError(fmt::format("volumes_table: subject {} out of range", i));
      col.push_back(cohort.volumes(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(r)));
    }
    t.set(std::make_shared<const Column>(Column::numbers(names[r], std::move(col))));
  }
  return t;
}

// ---------------------------------------------------------------- files

void write_ketamine(const KetamineCohort& cohort, const std::vector<std::size_t>& subjects, const std::string& dir,
                    const OutputOptions& options) {
  if (dir.empty()) throw ValueError("nl.sim.ketamine: empty output directory name");
  if (options.compression < 1 || options.compression > 9)
    throw ValueError(fmt::format("nl.sim.ketamine: compression must be 1..9, got {}", options.compression));
  for (std::size_t i : subjects)
    if (i >= cohort.subjects.size()) throw ValueError(fmt::format("write_ketamine: subject {} out of range", i));
  const fs::path root(dir);
  detail::prepare_output_dir(dir, options.overwrite, participants_header(), {"participants.tsv", "ground_truth.tsv"},
                             "participants.tsv with the simulator's columns and ground_truth.tsv", {"gm"});
  SaveOptions save;
  save.compression = options.compression;
  parallel_for(subjects.size(), [&](std::size_t k) {
    const std::size_t s = subjects[k];
    save_volume(gm_map(cohort, s), (root / "gm" / (cohort.subjects[s].id + "_gm.nii.gz")).string(), save);
  });
  write_table(ground_truth_table(cohort), (root / "ground_truth.tsv").string());
  write_table(participants_table(cohort, subjects), (root / "participants.tsv").string());
}

}  // namespace nl::sim

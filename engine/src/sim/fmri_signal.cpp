// sim/fmri_signal.cpp: the fMRI simulator's signals: network assignment by region name,
// loadings, tissue masks, latent sources, head motion and the 4-D images (the model is
// described in nl/sim/fmri.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>

#include "nl/core/core.hpp"
#include "nl/fc/fc.hpp"
#include "common.hpp"
#include "fmri_model.hpp"

namespace nl::sim {

namespace {

using detail::normalize_name;

// ---------------------------------------------------------------- network names

struct NetworkName {
  const char* name;  // normalized; AAL stems match with " l" / " r" appended too
  Network network;
};

// AAL (Tzourio-Mazoyer et al. 2002). The sgACC analogue is Frontal_Med_Orb: AAL has
// no subgenual label, and the subgenual cingulate (MNI about (+-4, 20, -8)) falls in
// Frontal_Med_Orb and Olfactory, while Cingulum_Ant is pregenual and dorsal ACC. AAL
// has no nucleus accumbens; its limbic set is amygdala, hippocampus and thalamus.
const NetworkName kAal[] = {
    {"frontal sup medial", Network::Dmn}, {"cingulum post", Network::Dmn}, {"precuneus", Network::Dmn},
    {"angular", Network::Dmn},
    {"frontal med orb", Network::Sgacc},
    {"amygdala", Network::Limbic}, {"hippocampus", Network::Limbic}, {"thalamus", Network::Limbic},
    {"calcarine", Network::Visual}, {"cuneus", Network::Visual}, {"lingual", Network::Visual},
    {"occipital sup", Network::Visual}, {"occipital mid", Network::Visual}, {"occipital inf", Network::Visual},
    {"fusiform", Network::Visual},
    {"precentral", Network::Somatomotor}, {"postcentral", Network::Somatomotor},
    {"supp motor area", Network::Somatomotor}, {"paracentral lobule", Network::Somatomotor},
    {"rolandic oper", Network::Somatomotor},
    {"insula", Network::Salience}, {"cingulum ant", Network::Salience}, {"cingulum mid", Network::Salience},
    {"supramarginal", Network::Salience},
    {"cerebelum crus1", Network::Cerebellum}, {"cerebelum crus2", Network::Cerebellum},
    {"cerebelum 3", Network::Cerebellum}, {"cerebelum 4 5", Network::Cerebellum},
    {"cerebelum 6", Network::Cerebellum}, {"cerebelum 7b", Network::Cerebellum},
    {"cerebelum 8", Network::Cerebellum}, {"cerebelum 9", Network::Cerebellum},
    {"cerebelum 10", Network::Cerebellum}, {"vermis 1 2", Network::Cerebellum}, {"vermis 3", Network::Cerebellum},
    {"vermis 4 5", Network::Cerebellum}, {"vermis 6", Network::Cerebellum}, {"vermis 7", Network::Cerebellum},
    {"vermis 8", Network::Cerebellum}, {"vermis 9", Network::Cerebellum}, {"vermis 10", Network::Cerebellum},
    {"caudate", Network::Striatum}, {"putamen", Network::Striatum}, {"pallidum", Network::Striatum},
    {"frontal sup", Network::Frontoparietal}, {"frontal mid", Network::Frontoparietal},
    {"frontal inf oper", Network::Frontoparietal}, {"frontal inf tri", Network::Frontoparietal},
    {"parietal sup", Network::Frontoparietal}, {"parietal inf", Network::Frontoparietal},
    {"temporal sup", Network::Temporal}, {"temporal mid", Network::Temporal}, {"temporal inf", Network::Temporal},
    {"temporal pole sup", Network::Temporal}, {"temporal pole mid", Network::Temporal},
    {"heschl", Network::Temporal},
};

// FSL's Harvard-Oxford cortical atlas (bilateral labels; no subcortical structures, so
// no limbic network and no amygdala). Subcallosal Cortex is the sgACC.
const NetworkName kHarvardOxford[] = {
    {"frontal medial cortex", Network::Dmn}, {"paracingulate gyrus", Network::Dmn},
    {"cingulate gyrus posterior division", Network::Dmn}, {"precuneous cortex", Network::Dmn},
    {"angular gyrus", Network::Dmn},
    {"subcallosal cortex", Network::Sgacc},
    {"intracalcarine cortex", Network::Visual}, {"supracalcarine cortex", Network::Visual},
    {"cuneal cortex", Network::Visual}, {"lingual gyrus", Network::Visual},
    {"lateral occipital cortex superior division", Network::Visual},
    {"lateral occipital cortex inferior division", Network::Visual}, {"occipital pole", Network::Visual},
    {"occipital fusiform gyrus", Network::Visual},
    {"precentral gyrus", Network::Somatomotor}, {"postcentral gyrus", Network::Somatomotor},
    {"juxtapositional lobule cortex formerly supplementary motor cortex", Network::Somatomotor},
    {"central opercular cortex", Network::Somatomotor},
    {"insular cortex", Network::Salience}, {"cingulate gyrus anterior division", Network::Salience},
    {"supramarginal gyrus anterior division", Network::Salience}, {"frontal operculum cortex", Network::Salience},
    {"parietal operculum cortex", Network::Salience},
    {"superior frontal gyrus", Network::Frontoparietal}, {"middle frontal gyrus", Network::Frontoparietal},
    {"inferior frontal gyrus pars triangularis", Network::Frontoparietal},
    {"inferior frontal gyrus pars opercularis", Network::Frontoparietal},
    {"superior parietal lobule", Network::Frontoparietal},
    {"supramarginal gyrus posterior division", Network::Frontoparietal},
    {"temporal pole", Network::Temporal}, {"superior temporal gyrus anterior division", Network::Temporal},
    {"superior temporal gyrus posterior division", Network::Temporal},
    {"middle temporal gyrus anterior division", Network::Temporal},
    {"middle temporal gyrus posterior division", Network::Temporal},
    {"middle temporal gyrus temporooccipital part", Network::Temporal},
    {"inferior temporal gyrus anterior division", Network::Temporal},
    {"inferior temporal gyrus posterior division", Network::Temporal},
    {"inferior temporal gyrus temporooccipital part", Network::Temporal}, {"planum polare", Network::Temporal},
    {"heschl s gyrus includes h1 and h2", Network::Temporal}, {"planum temporale", Network::Temporal},
};

// ---------------------------------------------------------------- tissue

// 6-neighbour morphology on a boolean grid (x fastest).
struct Morph {
  std::int64_t nx, ny, nz;
  std::size_t size() const { return static_cast<std::size_t>(nx * ny * nz); }
  template <class F>
  void neighbours(std::size_t v, F&& f) const {
    const auto i = static_cast<std::int64_t>(v) % nx, j = (static_cast<std::int64_t>(v) / nx) % ny,
               k = static_cast<std::int64_t>(v) / (nx * ny);
    if (i > 0) f(v - 1);
    if (i + 1 < nx) f(v + 1);
    if (j > 0) f(v - static_cast<std::size_t>(nx));
    if (j + 1 < ny) f(v + static_cast<std::size_t>(nx));
    if (k > 0) f(v - static_cast<std::size_t>(nx * ny));
    if (k + 1 < nz) f(v + static_cast<std::size_t>(nx * ny));
  }
  std::vector<std::uint8_t> dilate(const std::vector<std::uint8_t>& m) const {
    std::vector<std::uint8_t> out(m);
    for (std::size_t v = 0; v < m.size(); ++v)
      if (m[v]) neighbours(v, [&](std::size_t w) { out[w] = 1; });
    return out;
  }
  std::vector<std::uint8_t> erode(const std::vector<std::uint8_t>& m) const {
    std::vector<std::uint8_t> out(m);
    for (std::size_t v = 0; v < m.size(); ++v)
      if (!m[v]) neighbours(v, [&](std::size_t w) { out[w] = 0; });
    return out;
  }
  bool border(std::size_t v) const {
    const auto i = static_cast<std::int64_t>(v) % nx, j = (static_cast<std::int64_t>(v) / nx) % ny,
               k = static_cast<std::int64_t>(v) / (nx * ny);
    return i == 0 || j == 0 || k == 0 || i == nx - 1 || j == ny - 1 || k == nz - 1;
  }
};

// Smooth random field in about [-1.7, 1.7] (sum of 4 plane waves of wavelength 40-100
// mm, divided by sqrt(2)).
struct Field {
  std::array<Eigen::Vector3d, 4> k;
  std::array<double, 4> phase{};
  explicit Field(Rng& rng) {
    for (std::size_t w = 0; w < 4; ++w) {
      const Eigen::Vector3d d(rng.normal(), rng.normal(), rng.normal());
      k[w] = d.normalized() * (2 * std::numbers::pi / (40.0 + 60.0 * rng.uniform()));
      phase[w] = 2 * std::numbers::pi * rng.uniform();
    }
  }
  double operator()(const Eigen::Vector3d& x) const {
    double s = 0;
    for (std::size_t w = 0; w < 4; ++w) s += std::cos(k[w].dot(x) + phase[w]);
    return s / std::sqrt(2.0);
  }
};

// ---------------------------------------------------------------- latent sources

// The canonical SPM haemodynamic response (double gamma, peak 6 s, undershoot 16 s,
// ratio 1/6) sampled every TR over 0..32 s, scaled to unit energy so that white noise
// convolved with it keeps unit variance.
std::vector<double> hrf(double tr) {
  std::vector<double> h;
  for (double t = 0; t <= 32.0 + 1e-9; t += tr)
    h.push_back(std::pow(t, 5) * std::exp(-t) / 120.0 - std::pow(t, 15) * std::exp(-t) / (6.0 * 1307674368000.0));
  double e = 0;
  for (double x : h) e += x * x;
  for (double& x : h) x /= std::sqrt(e);
  return h;
}

// T samples of white noise convolved with h (after a burn-in of h.size() - 1 samples).
void bold_source(Rng& rng, const std::vector<double>& h, Eigen::Index T, double* out) {
  const auto L = static_cast<Eigen::Index>(h.size());
  std::vector<double> w(static_cast<std::size_t>(T + L - 1));
  for (double& x : w) x = rng.normal();
  for (Eigen::Index t = 0; t < T; ++t) {
    double s = 0;
    for (Eigen::Index j = 0; j < L; ++j) s += h[static_cast<std::size_t>(j)] * w[static_cast<std::size_t>(t + L - 1 - j)];
    out[t] = s;
  }
}

// T samples of a stationary unit-variance AR(1) process with coefficient phi.
std::vector<double> ar1(Rng& rng, Eigen::Index T, double phi) {
  std::vector<double> x(static_cast<std::size_t>(T));
  const double c = std::sqrt(1 - phi * phi);
  double prev = rng.normal();
  for (auto& v : x) v = prev = phi * prev + c * rng.normal();
  return x;
}

// ---------------------------------------------------------------- head motion

constexpr double kRadius = 50.0;  // mm, for rotations as arc length (Power et al. 2012)

// frames x 6 realignment parameters (tx ty tz mm, rx ry rz rad) relative to frame 1:
// a random walk (steps 0.006 mm / 0.0001 rad) plus jitter (0.02 mm / 0.0003 rad), and
// Poisson(2 per 240 frames) spikes: a displacement (translations N(0, 0.25) mm,
// rotations N(0, 0.004) rad) that stays (half of them) or lasts 1-2 frames. An outlier
// run also drifts linearly to `outlier_mm` along one translation axis.
Matrix draw_motion(Rng& rng, Eigen::Index T, double outlier_mm) {
  Matrix m(T, 6);
  Eigen::Matrix<double, 6, 1> walk = Eigen::Matrix<double, 6, 1>::Zero();
  for (Eigen::Index t = 0; t < T; ++t)
    for (int k = 0; k < 6; ++k) {
      const bool rot = k >= 3;
      walk(k) += (rot ? 0.0001 : 0.006) * rng.normal();
      m(t, k) = walk(k) + (rot ? 0.0003 : 0.02) * rng.normal();
    }
  // Spikes: a Poisson count by inversion of uniform draws.
  const double lambda = 2.0 * static_cast<double>(T) / 240.0;
  int spikes = 0;
  for (double p = std::exp(-lambda), cdf = p, u = rng.uniform(); u > cdf && spikes < 1000;) {
    ++spikes;
    p *= lambda / spikes;
    cdf += p;
  }
  for (int s = 0; s < spikes; ++s) {
    const auto at = static_cast<Eigen::Index>(1 + rng.below(static_cast<std::uint64_t>(T - 1)));
    Eigen::Matrix<double, 6, 1> d;
    for (int k = 0; k < 6; ++k) d(k) = (k >= 3 ? 0.004 : 0.25) * rng.normal();
    const bool stays = rng.uniform() < 0.5;
    const Eigen::Index end = stays ? T : std::min<Eigen::Index>(T, at + 1 + static_cast<Eigen::Index>(rng.below(2)));
    for (Eigen::Index t = at; t < end; ++t) m.row(t) += d.transpose();
  }
  if (outlier_mm > 0) {
    const auto axis = static_cast<Eigen::Index>(rng.below(3));
    const double sign = rng.uniform() < 0.5 ? -1.0 : 1.0;
    for (Eigen::Index t = 0; t < T; ++t)
      m(t, axis) += sign * outlier_mm * static_cast<double>(t) / static_cast<double>(T - 1);
  }
  const Eigen::RowVectorXd first = m.row(0);
  m.rowwise() -= first;
  return m;
}

}  // namespace

// ---------------------------------------------------------------- networks

const char* network_name(Network n) noexcept {
  switch (n) {
    case Network::Dmn: return "dmn";
    case Network::Sgacc: return "sgacc";
    case Network::Limbic: return "limbic";
    case Network::Visual: return "visual";
    case Network::Somatomotor: return "somatomotor";
    case Network::Salience: return "salience";
    case Network::Cerebellum: return "cerebellum";
    case Network::Striatum: return "striatum";
    case Network::Frontoparietal: return "frontoparietal";
    case Network::Temporal: return "temporal";
    case Network::None: return "none";
  }
  return "?";
}

const char* session_name(Session s) noexcept {
  switch (s) {
    case Session::Pre1: return "pre1";
    case Session::Pre2: return "pre2";
    case Session::Post: return "post";
  }
  return "?";
}

std::vector<Network> fmri_networks(const Atlas& atlas) {
  std::vector<Network> out(atlas.size(), Network::None);
  bool any = false;
  for (std::size_t r = 0; r < atlas.size(); ++r) {
    const std::string n = normalize_name(atlas.regions()[r].name);
    for (const auto& e : kAal)
      if (n == e.name || n == std::string(e.name) + " l" || n == std::string(e.name) + " r") out[r] = e.network;
    for (const auto& e : kHarvardOxford)
      if (n == e.name) out[r] = e.network;
    any = any || out[r] != Network::None;
  }
  if (!any)
    throw ValueError(fmt::format(
        "nl.sim.fmri: no region of atlas '{}' belongs to a built-in network (the networks are defined by AAL and "
        "Harvard-Oxford cortical region names); use atlas = \"aal\"",
        atlas.name()));
  return out;
}

std::array<std::vector<std::size_t>, 2> amygdala_temporal_regions(const Atlas& atlas) {
  std::array<std::vector<std::size_t>, 2> out;
  for (std::size_t r = 0; r < atlas.size(); ++r) {
    const std::string n = normalize_name(atlas.regions()[r].name);
    if (n == "amygdala l") out[0].push_back(r);
    if (n == "temporal sup r" || n == "temporal mid r") out[1].push_back(r);
  }
  if (out[0].empty() || out[1].empty()) out = {};
  return out;
}

// ---------------------------------------------------------------- loadings

namespace detail {

Levels network_levels(Network n) {
  switch (n) {
    case Network::Somatomotor: return {0.70, 0.58, 0.62, 0.62};
    case Network::Dmn: return {0.55, 0.64, 0.54, 0.62};
    case Network::Sgacc: return {0.30, 0.42, 0.26, 0.41};
    case Network::Limbic: return {0.40, 0.52, 0.40, 0.40};
    case Network::Visual: return {0.70, 0.70, 0.70, 0.70};
    case Network::None: return {0, 0, 0, 0};
    default: return {0.60, 0.60, 0.60, 0.60};
  }
}

double network_loading(Network n, Condition c, double effect) {
  const Levels l = network_levels(n);
  double v = l.control;
  switch (c) {
    case Condition::Control: v = l.control; break;
    case Condition::ResponderPre:
    case Condition::NonresponderPre: v = l.pre; break;
    case Condition::ResponderPost: v = l.post_responder; break;
    case Condition::NonresponderPost: v = l.post_nonresponder; break;
  }
  return l.control + effect * (v - l.control);
}

double coupling(bool patient, int response, double effect) {
  if (!patient) return kCouplingControl;
  const double r = kCouplingControl + effect * (kCouplingResponder - kCouplingControl);
  const double nr = kCouplingControl + effect * (kCouplingNonresponder - kCouplingControl);
  return response == 1 ? r : response == 0 ? nr : 0.5 * (r + nr);
}

Condition run_condition(const FmriSubject& s, Session session) {
  if (!s.patient) return Condition::Control;
  if (session == Session::Post) return s.response == 1 ? Condition::ResponderPost : Condition::NonresponderPost;
  return s.response == 1 ? Condition::ResponderPre : Condition::NonresponderPre;
}

Loadings region_loadings(const FmriCohort& cohort, Condition cond, double c_value, const double* trait,
                         const double* state) {
  const std::size_t R = cohort.networks.size();
  Loadings L;
  L.a.assign(R, 0.0), L.c.assign(R, 0.0), L.h.assign(R, 0.0), L.noise.assign(R, 0.0);
  const double effect = cohort.options.effect;
  for (std::size_t r = 0; r < R; ++r) {
    const Network n = cohort.networks[r];
    const auto k = static_cast<std::size_t>(n);
    if (n != Network::None)
      L.a[r] = std::clamp(network_loading(n, cond, effect) + cohort.region_offset[r] + trait[k] + state[k], 0.0, 0.95);
    if (n == Network::Sgacc) L.h[r] = kSgaccLimbic;
  }
  for (std::size_t r : cohort.amygdala_temporal[0]) L.c[r] = c_value;
  for (std::size_t r : cohort.amygdala_temporal[1]) L.c[r] = c_value;
  const double g2 = kGamma * kGamma;
  for (std::size_t r = 0; r < R; ++r) {
    const double v = L.a[r] * L.a[r] + L.c[r] * L.c[r] + L.h[r] * L.h[r];
    if (v + g2 > kMaxLoadingVar) {
      const double f = std::sqrt((kMaxLoadingVar - g2) / v);
      L.a[r] *= f, L.c[r] *= f, L.h[r] *= f;
    }
    L.noise[r] = std::sqrt(std::max(0.0, 1.0 - g2 - L.a[r] * L.a[r] - L.c[r] * L.c[r] - L.h[r] * L.h[r]));
  }
  return L;
}

Matrix source_weights(const FmriCohort& cohort, const Loadings& L) {
  const std::size_t R = cohort.networks.size();
  Matrix B = Matrix::Zero(static_cast<Eigen::Index>(R), static_cast<Eigen::Index>(kSources));
  for (std::size_t r = 0; r < R; ++r) {
    const auto ri = static_cast<Eigen::Index>(r);
    const Network n = cohort.networks[r];
    if (n != Network::None) B(ri, static_cast<Eigen::Index>(n == Network::Sgacc ? Network::Dmn : n)) = L.a[r];
    B(ri, static_cast<Eigen::Index>(Network::Limbic)) += L.h[r];
    B(ri, kGlobalSource) = kGamma;
    B(ri, kLinkSource) = L.c[r];
  }
  return B;
}

// ---------------------------------------------------------------- tissue and population

void draw_tissue(FmriCohort& cohort) {
  const Grid& g = cohort.grid;
  const Morph M{g.dims[0], g.dims[1], g.dims[2]};
  const std::size_t N = M.size();
  std::vector<std::int32_t> label(N, -1);
  std::vector<std::uint8_t> gm(N, 0);
  for (const auto& run : cohort.index->runs)
    for (std::uint32_t j = 0; j < run.length; ++j) label[run.start + j] = run.region, gm[run.start + j] = 1;

  // Brain: the labelled voxels closed over about 6 mm with their holes filled.
  const int k = std::max(1, static_cast<int>(std::lround(6.0 / cohort.options.resolution)));
  std::vector<std::uint8_t> d = gm;
  for (int i = 0; i < k; ++i) d = M.dilate(d);
  std::vector<std::uint8_t> outside(N, 0);
  std::vector<std::size_t> stack;
  for (std::size_t v = 0; v < N; ++v)
    if (!d[v] && M.border(v)) outside[v] = 1, stack.push_back(v);
  while (!stack.empty()) {
    const std::size_t v = stack.back();
    stack.pop_back();
    M.neighbours(v, [&](std::size_t w) {
      if (!d[w] && !outside[w]) outside[w] = 1, stack.push_back(w);
    });
  }
  std::vector<std::uint8_t> brain(N);
  for (std::size_t v = 0; v < N; ++v) brain[v] = !outside[v];
  for (int i = 0; i < k; ++i) brain = M.erode(brain);
  for (std::size_t v = 0; v < N; ++v) brain[v] = brain[v] || gm[v];
  const std::vector<std::uint8_t> near_gm = M.dilate(gm);
  const std::vector<std::uint8_t> rim = M.dilate(brain);

  Rng rng(cohort.options.seed, detail::kPopulationStream);
  cohort.region_offset.resize(cohort.atlas->size());
  for (double& o : cohort.region_offset) o = kRegionSd * rng.normal();
  const Field texture(rng);
  std::array<Field, 7> fields{Field(rng), Field(rng), Field(rng), Field(rng), Field(rng), Field(rng), Field(rng)};

  // Centre and extent of the brain, for the edge weight of the motion gains.
  Eigen::Vector3d centre = Eigen::Vector3d::Zero();
  std::size_t nb = 0;
  const auto world = [&](std::size_t v) {
    const auto n = static_cast<std::int64_t>(v);
    return g.to_world(Eigen::Vector3d(static_cast<double>(n % g.dims[0]), static_cast<double>((n / g.dims[0]) % g.dims[1]),
                                      static_cast<double>(n / (g.dims[0] * g.dims[1]))));
  };
  for (std::size_t v = 0; v < N; ++v)
    if (brain[v]) centre += world(v), ++nb;
  if (nb == 0) throw ValueError("nl.sim.fmri: the atlas has no labelled voxel on the output grid");
  centre /= static_cast<double>(nb);
  double rmax = 0;
  for (std::size_t v = 0; v < N; ++v)
    if (rim[v]) rmax = std::max(rmax, (world(v) - centre).norm());

  cohort.brain.clear(), cohort.wm.clear(), cohort.csf.clear(), cohort.voxels.clear();
  for (std::size_t v = 0; v < N; ++v) {
    if (!rim[v]) continue;
    FmriCohort::TissueVoxel t;
    t.offset = static_cast<std::uint32_t>(v);
    const Eigen::Vector3d x = world(v);
    const double tex = texture(x);
    if (gm[v]) {
      t.tissue = 0, t.region = label[v];
      t.baseline = static_cast<float>(1000.0 * (1.0 + 0.08 * tex));
    } else if (brain[v] && !near_gm[v]) {
      t.tissue = 1;
      t.baseline = static_cast<float>(850.0 * (1.0 + 0.04 * tex));
    } else if (brain[v]) {
      t.tissue = 2;
      t.baseline = static_cast<float>(900.0 * (1.0 + 0.05 * tex));
    } else {
      t.tissue = 3;
      t.baseline = static_cast<float>(1400.0 * (1.0 + 0.05 * tex));
    }
    const double r = (x - centre).norm() / rmax;
    for (std::size_t j = 0; j < 6; ++j) t.gain[j] = static_cast<float>(1.5 * r * r * fields[j](x));
    t.gain[6] = static_cast<float>(std::max(0.1, 1.0 + 0.3 * fields[6](x)));
    if (brain[v]) cohort.brain.push_back(t.offset);
    if (t.tissue == 1) cohort.wm.push_back(t.offset);
    if (t.tissue == 3) cohort.csf.push_back(t.offset);
    cohort.voxels.push_back(t);
  }
  if (cohort.wm.empty() || cohort.csf.empty())
    throw ValueError(fmt::format("nl.sim.fmri: no {} voxel at resolution {} mm; use a finer resolution",
                                 cohort.wm.empty() ? "white-matter" : "CSF", cohort.options.resolution));
}

}  // namespace detail

// ---------------------------------------------------------------- expected correlation

Matrix expected_correlation(const FmriCohort& cohort, Condition c) {
  std::array<double, kNetworks> zero{};
  double cv = detail::kCouplingControl;
  if (c != Condition::Control) {
    const bool resp = c == Condition::ResponderPre || c == Condition::ResponderPost;
    cv = detail::coupling(true, resp ? 1 : 0, cohort.options.effect);
  }
  const detail::Loadings L = detail::region_loadings(cohort, c, cv, zero.data(), zero.data());
  const Matrix B = detail::source_weights(cohort, L);
  Matrix C = B * B.transpose();
  // The subject and run offsets of a network's loading are shared by its regions, so
  // they add their variance to E[a_i a_j] (the sgACC analogue has offsets of its own).
  const double jitter = detail::kTraitSd * detail::kTraitSd + detail::kStateSd * detail::kStateSd;
  for (std::size_t i = 0; i < cohort.networks.size(); ++i)
    for (std::size_t j = 0; j < cohort.networks.size(); ++j)
      if (i != j && cohort.networks[i] == cohort.networks[j] && cohort.networks[i] != Network::None &&
          L.a[i] > 0 && L.a[j] > 0)
        C(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) += jitter;
  C.diagonal().setOnes();  // + the region noise, sqrt(1 - |B_r|^2)^2
  return C;
}

// ---------------------------------------------------------------- one run

RunData fmri_run(const FmriCohort& cohort, std::size_t k, bool with_volume) {
  if (k >= cohort.runs.size())
    throw ValueError(fmt::format("fmri_run: run {} out of range (0..{})", k, cohort.runs.size() - 1));
  const FmriOptions& o = cohort.options;
  const FmriRun& run = cohort.runs[k];
  const FmriSubject& subj = cohort.subjects[run.subject];
  const auto T = static_cast<Eigen::Index>(o.frames);
  const std::size_t R = cohort.networks.size();
  const std::uint64_t stream = detail::run_stream(run.subject, run.session, run.run);

  // Loadings: population level + subject trait + run state.
  std::array<double, kNetworks> trait{}, state{};
  Rng trng(o.seed, detail::kTraitStream + run.subject);
  for (double& t : trait) t = detail::kTraitSd * trng.normal();
  Rng lat(o.seed, detail::kLatentStream + stream);
  for (double& s : state) s = detail::kStateSd * lat.normal();
  const detail::Loadings L =
      detail::region_loadings(cohort, detail::run_condition(subj, run.session),
                              detail::coupling(subj.patient, subj.response, o.effect), trait.data(), state.data());

  // Latent sources: one per network (None has none), global, amygdala-temporal link;
  // then the region noise, region by region.
  const std::vector<double> h = hrf(o.tr);
  Matrix S(T, detail::kSources);
  for (Eigen::Index j = 0; j < S.cols(); ++j) bold_source(lat, h, T, S.col(j).data());
  const Matrix B = detail::source_weights(cohort, L);
  RunData out;
  out.regions.noalias() = S * B.transpose();
  Vector e(T);
  for (std::size_t r = 0; r < R; ++r) {
    bold_source(lat, h, T, e.data());
    const auto ri = static_cast<Eigen::Index>(r);
    if (cohort.index->counts[r] == 0)
      out.regions.col(ri).setConstant(std::numeric_limits<double>::quiet_NaN());
    else
      out.regions.col(ri) += L.noise[r] * e;
  }

  // Head motion.
  Rng mrng(o.seed, detail::kMotionStream + stream);
  const double outlier = run.motion_outlier ? 2.3 + 0.7 * mrng.uniform() : 0.0;
  out.motion = draw_motion(mrng, T, outlier);
  if (!with_volume) return out;

  // Voxels.
  const Vector fd = fc::framewise_displacement(out.motion, kRadius);
  Rng vrng(o.seed, detail::kVoxelStream + stream);
  const std::vector<double> G = ar1(vrng, T, 0.9), W = ar1(vrng, T, 0.97), C = ar1(vrng, T, 0.3);
  const double d1 = vrng.normal(), d2 = 0.5 * vrng.normal();
  std::vector<double> common(static_cast<std::size_t>(T)), trend(static_cast<std::size_t>(T)),
      transient(static_cast<std::size_t>(T)), spike(static_cast<std::size_t>(T), 0.0);
  for (Eigen::Index t = 0; t < T; ++t) {
    const auto ts = static_cast<std::size_t>(t);
    const double tau = T > 1 ? 2.0 * static_cast<double>(t) / static_cast<double>(T - 1) - 1.0 : 0.0;
    trend[ts] = tau;
    common[ts] = d1 * tau + d2 * (tau * tau - 1.0 / 3.0);
    transient[ts] = 1.0 + 0.2 * std::exp(-static_cast<double>(t) * o.tr / 2.5);
    if (fd(t) > 0.3) {
      spike[ts] -= 1.0 * fd(t);
      if (t + 1 < T) spike[ts + 1] -= 0.5 * fd(t);
    }
  }
  // Motion in mm (rotations as arc length).
  Matrix mm = out.motion;
  mm.rightCols(3) *= kRadius;

  // Tissue weights: noise SD, global, white-matter, CSF (percent).
  struct Weights {
    double noise, global, wm, csf;
  };
  constexpr Weights kWeights[4] = {{1.2, 0.8, 0.15, 0.15}, {0.8, 0.8, 0.6, 0.0}, {1.0, 0.8, 0.3, 0.1}, {2.0, 0.8, 0.0, 1.5}};
  constexpr double kGmAmplitude = 1.0, kVoxelPhi = 0.3;
  const double nc = std::sqrt(1 - kVoxelPhi * kVoxelPhi);

  Volume v(cohort.grid, T, true);
  v.info.source_type = DataType::Int16;
  v.info.pixdim_t = o.tr;
  v.info.time_units = 8;
  v.info.descrip = fmt::format("nl.sim.fmri seed {} {} {} run {}", o.seed, subj.id, session_name(run.session), run.run);
  const std::size_t nvox = cohort.grid.voxels();
  float* data = v.data();
  std::vector<double> noise(static_cast<std::size_t>(T));
  for (const auto& vx : cohort.voxels) {
    const Weights& w = kWeights[vx.tissue];
    const double slope = 0.3 * vrng.normal();
    double prev = vrng.normal();
    for (auto& z : noise) z = prev = kVoxelPhi * prev + nc * vrng.normal();
    const double* x = vx.region >= 0 ? out.regions.col(vx.region).data() : nullptr;
    for (Eigen::Index t = 0; t < T; ++t) {
      const auto ts = static_cast<std::size_t>(t);
      double p = w.noise * noise[ts] + w.global * G[ts] + w.wm * W[ts] + w.csf * C[ts] + common[ts] +
                 slope * trend[ts] + vx.gain[6] * spike[ts];
      for (Eigen::Index j = 0; j < 6; ++j) p += static_cast<double>(vx.gain[static_cast<std::size_t>(j)]) * mm(t, j);
      if (x) p += kGmAmplitude * x[t];
      const double value = static_cast<double>(vx.baseline) * transient[ts] * (1.0 + p / 100.0);
      data[static_cast<std::size_t>(t) * nvox + vx.offset] = static_cast<float>(std::nearbyint(value));
    }
  }
  out.bold = std::move(v);
  return out;
}

}  // namespace nl::sim

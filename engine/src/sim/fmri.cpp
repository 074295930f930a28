// sim/fmri.cpp: the fMRI cohort simulator: options, cohort layout, clinical scores,
// ground truth, tables and files (signals in sim/fmri_signal.cpp; the model is
// described in nl/sim/fmri.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>

#include "nl/core/core.hpp"
#include "nl/io/fileio.hpp"
#include "nl/sim/fmri.hpp"
#include "common.hpp"
#include "fmri_model.hpp"

namespace nl::sim {

namespace {

namespace fs = std::filesystem;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------- small helpers

double mean_of(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double sd_of(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double m = mean_of(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

// n of the positions `from` chosen at random (order kept).
std::vector<std::size_t> choose(std::vector<std::size_t> from, std::size_t n, Rng& rng) {
  rng.shuffle(from);
  from.resize(std::min(n, from.size()));
  std::sort(from.begin(), from.end());
  return from;
}

int scaled_count(double fraction, std::size_t n) {
  return static_cast<int>(std::lround(fraction * static_cast<double>(n)));
}

// ---------------------------------------------------------------- clinical scores

// Seed 003's figures for the patients (Table 1, Results): MADRS 29 (4) at baseline,
// 9 (8) one day, 13 (8) two weeks and 15 (8) eight weeks after the infusion; age 40.0
// (14.05); 10 of 23 women.
constexpr double kAgeMean = 40.0, kAgeSd = 14.05, kFemale = 10.0 / 23.0;
constexpr double kBaseMean = 28.83, kBaseSd = 3.94;
struct Moments {
  double mean, sd;
};
constexpr Moments kDay1{9, 8}, kWeek2{13, 8}, kWeek8{15, 8};
constexpr int kCandidates = 400;

// Ages: normal draws redrawn outside [18, 65], to 0.1 y; the candidate set closest to
// the target moments is kept.
std::vector<double> draw_ages(std::size_t n, Rng& rng) {
  std::vector<double> best, cand(n);
  double best_score = std::numeric_limits<double>::infinity();
  for (int k = 0; k < kCandidates && n > 0; ++k) {
    for (auto& a : cand) {
      do a = std::round((kAgeMean + kAgeSd * rng.normal()) * 10.0) / 10.0;
      while (a < 18.0 || a > 65.0);
    }
    const double score = std::pow(mean_of(cand) - kAgeMean, 2) + std::pow(sd_of(cand) - kAgeSd, 2);
    if (score < best_score) best_score = score, best = cand;
  }
  return best;
}

// Status of a follow-up score relative to the baseline: 0 non-response (2 s > base),
// 1 response without remission (2 s <= base, s >= 10), 2 remission (s < 10, which is a
// response since base >= 22).
bool has_status(int s, int base, int status) {
  if (status == 2) return s < 10;
  if (status == 1) return 2 * s <= base && s >= 10;
  return 2 * s > base;
}

// Integer scores in [0, 60] with the given statuses, normal around the target, the
// candidate set closest to the target moments kept.
std::vector<double> draw_followup(const std::vector<double>& base, const std::vector<int>& status, Moments m,
                                  Rng& rng) {
  const std::size_t n = base.size();
  std::vector<double> best, cand(n);
  double best_score = std::numeric_limits<double>::infinity();
  for (int k = 0; k < kCandidates && n > 0; ++k) {
    for (std::size_t i = 0; i < n; ++i) {
      const int b = static_cast<int>(base[i]);
      int s = 0;
      for (int tries = 0;; ++tries) {
        s = tries < 10000 ? static_cast<int>(std::lround(m.mean + m.sd * rng.normal()))
                          : static_cast<int>(rng.below(61));
        if (s >= 0 && s <= 60 && has_status(s, b, status[i])) break;
      }
      cand[i] = s;
    }
    const double score = std::pow(mean_of(cand) - m.mean, 2) + std::pow(sd_of(cand) - m.sd, 2);
    if (score < best_score) best_score = score, best = cand;
  }
  return best;
}

// HAMD-17 from MADRS: 0.72 MADRS + 0.8 + N(0, 2^2), rounded, in [0, 52] (the two
// scales correlate about 0.9 in this range).
double hamd_of(double madrs, Rng& rng) {
  if (std::isnan(madrs)) return kNaN;
  return std::clamp(std::round(0.72 * madrs + 0.8 + 2.0 * rng.normal()), 0.0, 52.0) + 0.0;  // + 0.0: no -0
}

// Statuses of n subjects: `resp` responders (positions `responders` first), of whom
// `remit` remit.
std::vector<int> statuses(std::size_t n, const std::vector<std::size_t>& responders, std::size_t remit, Rng& rng) {
  std::vector<int> s(n, 0);
  for (std::size_t i : responders) s[i] = 1;
  for (std::size_t i : choose(responders, remit, rng)) s[i] = 2;
  return s;
}

// ---------------------------------------------------------------- layout

void draw_subjects(FmriCohort& c) {
  const FmriOptions& o = c.options;
  const auto P = static_cast<std::size_t>(o.patients), Cn = static_cast<std::size_t>(o.controls);
  Rng layout(o.seed, detail::kLayoutStream);
  std::vector<std::size_t> all(P);
  std::iota(all.begin(), all.end(), 0);
  const std::vector<std::size_t> dropouts = choose(all, static_cast<std::size_t>(o.dropouts), layout);
  std::vector<std::size_t> known;  // patients with an outcome
  for (std::size_t i = 0; i < P; ++i)
    if (!std::binary_search(dropouts.begin(), dropouts.end(), i)) known.push_back(i);
  const std::vector<std::size_t> responders = choose(known, static_cast<std::size_t>(o.responders), layout);
  const std::vector<std::size_t> pre2 = choose(all, static_cast<std::size_t>(o.pre2), layout);
  const std::vector<std::size_t> post = choose(known, static_cast<std::size_t>(o.post), layout);
  std::vector<std::size_t> controls(Cn);
  std::iota(controls.begin(), controls.end(), 0);
  const std::vector<std::size_t> repeat = choose(controls, static_cast<std::size_t>(o.control_repeat), layout);

  // Subjects: patients, then controls.
  Rng ages(o.seed, detail::kAgeStream);
  const std::vector<double> page = draw_ages(P, ages), cage = draw_ages(Cn, ages);
  std::vector<std::uint8_t> pf(P, 0), cf(Cn, 0);
  for (std::size_t i : choose(all, static_cast<std::size_t>(scaled_count(kFemale, P)), layout)) pf[i] = 1;
  for (std::size_t i : choose(controls, static_cast<std::size_t>(scaled_count(kFemale, Cn)), layout)) cf[i] = 1;
  for (std::size_t i = 0; i < P + Cn; ++i) {
    FmriSubject s;
    s.id = fmt::format("sub-{:03d}", i + 1);
    s.patient = i < P;
    s.age = s.patient ? page[i] : cage[i - P];
    s.female = s.patient ? pf[i] != 0 : cf[i - P] != 0;
    c.subjects.push_back(std::move(s));
  }

  // Clinical scores of the patients. Week 2: the layout's responders, 8 of 11 of them
  // remitting. Day 1 (the first dropout did not finish the infusion): 16 of 22
  // responders (every week-2 responder among them), 13 of 22 remitters. Week 8: as many
  // responders as at week 2, 8 of 11 of them week-2 responders, 7 of 11 remitting.
  Rng sc(o.seed, detail::kScoreStream);
  std::vector<double> base(P);
  for (auto& b : base) {
    do b = std::round(kBaseMean + kBaseSd * sc.normal());  // >= 22: never -0
    while (b < 22 || b > 60);
  }
  std::vector<std::size_t> day1_subjects;
  for (std::size_t i = 0; i < P; ++i)
    if (dropouts.empty() || i != dropouts.front()) day1_subjects.push_back(i);
  {
    const std::size_t n = day1_subjects.size();
    std::vector<std::size_t> resp_pos, other_pos;
    for (std::size_t k = 0; k < n; ++k)
      (std::binary_search(responders.begin(), responders.end(), day1_subjects[k]) ? resp_pos : other_pos).push_back(k);
    const auto n_resp = static_cast<std::size_t>(std::max(scaled_count(16.0 / 22.0, n), static_cast<int>(resp_pos.size())));
    for (std::size_t k : choose(other_pos, n_resp - resp_pos.size(), sc)) resp_pos.push_back(k);
    std::sort(resp_pos.begin(), resp_pos.end());
    const auto n_remit = std::min(resp_pos.size(), static_cast<std::size_t>(scaled_count(13.0 / 22.0, n)));
    const std::vector<int> st = statuses(n, resp_pos, n_remit, sc);
    std::vector<double> b(n);
    for (std::size_t k = 0; k < n; ++k) b[k] = base[day1_subjects[k]];
    const std::vector<double> d1 = draw_followup(b, st, kDay1, sc);
    for (std::size_t k = 0; k < n; ++k) c.subjects[day1_subjects[k]].madrs_day1 = d1[k];
  }
  {
    const std::size_t n = known.size();
    std::vector<std::size_t> r2, nr2;
    for (std::size_t k = 0; k < n; ++k)
      (std::binary_search(responders.begin(), responders.end(), known[k]) ? r2 : nr2).push_back(k);
    const auto remit2 = static_cast<std::size_t>(scaled_count(8.0 / 11.0, r2.size()));
    const std::vector<int> st2 = statuses(n, r2, remit2, sc);
    std::vector<double> b(n);
    for (std::size_t k = 0; k < n; ++k) b[k] = base[known[k]];
    const std::vector<double> w2 = draw_followup(b, st2, kWeek2, sc);
    std::vector<std::size_t> r8 = choose(r2, static_cast<std::size_t>(scaled_count(8.0 / 11.0, r2.size())), sc);
    for (std::size_t k : choose(nr2, r2.size() - r8.size(), sc)) r8.push_back(k);
    std::sort(r8.begin(), r8.end());
    const std::vector<int> st8 = statuses(n, r8, static_cast<std::size_t>(scaled_count(7.0 / 11.0, r8.size())), sc);
    const std::vector<double> w8 = draw_followup(b, st8, kWeek8, sc);
    for (std::size_t k = 0; k < n; ++k) {
      FmriSubject& s = c.subjects[known[k]];
      s.madrs_week2 = w2[k];
      s.madrs_week8 = w8[k];
      s.response = st2[k] > 0 ? 1 : 0;
      s.remission = st2[k] == 2 ? 1 : 0;
    }
  }
  for (std::size_t i = 0; i < P + Cn; ++i) {
    FmriSubject& s = c.subjects[i];
    if (s.patient) {
      s.madrs_baseline = base[i];
      if (std::find(day1_subjects.begin(), day1_subjects.end(), i) == day1_subjects.end()) s.madrs_day1 = kNaN;
      if (std::binary_search(dropouts.begin(), dropouts.end(), i)) s.madrs_week2 = s.madrs_week8 = kNaN;
    } else {
      double m;
      do m = std::round(2.0 + 2.0 * sc.normal());
      while (m < 0 || m > 8);
      s.madrs_baseline = m + 0.0;  // + 0.0: no -0
      s.madrs_day1 = s.madrs_week2 = s.madrs_week8 = kNaN;
    }
    s.hamd_baseline = hamd_of(s.madrs_baseline, sc);
    s.hamd_week2 = hamd_of(s.madrs_week2, sc);
  }

  // Runs: Pre1 for everybody, Pre2 and Post for the chosen ones; motion outliers among
  // the post runs.
  for (std::size_t i = 0; i < P + Cn; ++i) {
    const bool patient = i < P;
    const bool has_pre2 = patient ? std::binary_search(pre2.begin(), pre2.end(), i)
                                  : std::binary_search(repeat.begin(), repeat.end(), i - P);
    const bool has_post = patient && std::binary_search(post.begin(), post.end(), i);
    for (Session ses : {Session::Pre1, Session::Pre2, Session::Post}) {
      if ((ses == Session::Pre2 && !has_pre2) || (ses == Session::Post && !has_post)) continue;
      for (int r = 1; r <= o.runs; ++r) {
        FmriRun run;
        run.subject = i;
        run.session = ses;
        run.run = r;
        const std::string stem = fmt::format("func/{}_ses-{}_run-{}", c.subjects[i].id, session_name(ses), r);
        run.func_path = stem + "_bold.nii.gz";
        run.motion_path = stem + "_motion.txt";
        c.runs.push_back(std::move(run));
      }
    }
  }
  std::vector<std::size_t> post_runs;
  for (std::size_t k = 0; k < c.runs.size(); ++k)
    if (c.runs[k].session == Session::Post) post_runs.push_back(k);
  for (std::size_t k : choose(post_runs, static_cast<std::size_t>(o.motion_outliers), layout))
    c.runs[k].motion_outlier = true;
}

std::string names_of(const Atlas& atlas, const std::vector<std::size_t>& regions) {
  std::string s;
  for (std::size_t i = 0; i < regions.size(); ++i) s += (i ? ";" : "") + atlas.regions()[regions[i]].name;
  return s;
}

}  // namespace

// ---------------------------------------------------------------- options

void check_fmri_options(const FmriOptions& o) {
  auto range = [](const char* name, double v, double lo, double hi) {
    if (!(v >= lo && v <= hi))
      throw ValueError(fmt::format("nl.sim.fmri: option '{}' must be between {} and {}, got {}", name, lo, hi, v));
  };
  range("resolution", o.resolution, 2, 8);
  range("tr", o.tr, 0.5, 4);
  range("frames", o.frames, 60, 2000);
  range("runs", o.runs, 1, 4);
  range("effect", o.effect, 0, 2);
  range("patients", o.patients, 2, 500);
  range("controls", o.controls, 0, 500);
  range("dropouts", o.dropouts, 0, o.patients - 2);
  range("responders", o.responders, 1, o.patients - o.dropouts - 1);
  range("pre2", o.pre2, 0, o.patients);
  range("post", o.post, 0, o.patients - o.dropouts);
  range("control_repeat", o.control_repeat, 0, o.controls);
  range("motion_outliers", o.motion_outliers, 0, o.post * o.runs);
}

// ---------------------------------------------------------------- ground truth

namespace detail {

void fill_truth(FmriCohort& c) {
  const Atlas& atlas = *c.atlas;
  std::array<std::vector<std::size_t>, kNetworks> members;
  for (std::size_t r = 0; r < c.networks.size(); ++r)
    if (c.index->counts[r] > 0) members[static_cast<std::size_t>(c.networks[r])].push_back(r);
  auto net = [&](Network n) -> const std::vector<std::size_t>& { return members[static_cast<std::size_t>(n)]; };

  struct Measure {
    const char* effect;
    const char* name;
    std::vector<std::size_t> a, b;  // b empty: within a
  };
  std::vector<Measure> measures;
  auto within = [&](const char* effect, const char* name, Network n) {
    if (net(n).size() >= 2) measures.push_back({effect, name, net(n), {}});
    else
      c.notices.push_back(fmt::format("nl.sim.fmri: atlas '{}' has fewer than 2 regions of the {} network: "
                                      "the {} effect is not planted",
                                      atlas.name(), network_name(n), effect));
  };
  within("somatomotor_hypoconnectivity", "within_somatomotor", Network::Somatomotor);
  within("dmn_treatment", "within_dmn", Network::Dmn);
  if (!net(Network::Sgacc).empty() && !net(Network::Dmn).empty())
    measures.push_back({"sgacc_dmn_treatment", "sgacc_dmn", net(Network::Sgacc), net(Network::Dmn)});
  else
    c.notices.push_back(fmt::format("nl.sim.fmri: atlas '{}' has no sgACC or DMN region: the sgacc_dmn_treatment "
                                    "effect is not planted",
                                    atlas.name()));
  within("limbic_treatment", "within_limbic", Network::Limbic);
  if (!c.amygdala_temporal[0].empty())
    measures.push_back({"amygdala_temporal_response", "amygdala_l_temporal_r", c.amygdala_temporal[0],
                        c.amygdala_temporal[1]});
  else
    c.notices.push_back(fmt::format("nl.sim.fmri: atlas '{}' has no Amygdala_L, Temporal_Sup_R and Temporal_Mid_R: "
                                    "the amygdala_temporal_response effect is not planted",
                                    atlas.name()));
  within("visual_control", "within_visual", Network::Visual);

  const std::pair<Condition, const char*> conds[] = {{Condition::Control, "control"},
                                                      {Condition::ResponderPre, "responder_pre"},
                                                      {Condition::NonresponderPre, "nonresponder_pre"},
                                                      {Condition::ResponderPost, "responder_post"},
                                                      {Condition::NonresponderPost, "nonresponder_post"}};
  for (const auto& m : measures)
    for (const auto& [cond, cname] : conds) {
      const Matrix C = expected_correlation(c, cond);
      double s = 0;
      int n = 0;
      if (m.b.empty()) {
        for (std::size_t i = 0; i < m.a.size(); ++i)
          for (std::size_t j = i + 1; j < m.a.size(); ++j)
            s += std::atanh(C(static_cast<Eigen::Index>(m.a[i]), static_cast<Eigen::Index>(m.a[j]))), ++n;
      } else {
        for (std::size_t i : m.a)
          for (std::size_t j : m.b) s += std::atanh(C(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j))), ++n;
      }
      TruthRow row;
      row.effect = m.effect;
      row.measure = m.name;
      row.condition = cname;
      row.value = s / n;
      row.regions = m.b.empty() ? names_of(atlas, m.a) : names_of(atlas, m.a) + " -- " + names_of(atlas, m.b);
      c.truth.push_back(std::move(row));
    }
}

}  // namespace detail

// ---------------------------------------------------------------- simulation

FmriCohort simulate_fmri(std::shared_ptr<const Atlas> atlas_ptr, const FmriOptions& options) {
  if (!atlas_ptr) throw ValueError("nl.sim.fmri: no atlas");
  check_fmri_options(options);
  const Atlas& atlas = *atlas_ptr;
  FmriCohort c;
  c.options = options;
  c.atlas = atlas_ptr;
  c.networks = fmri_networks(atlas);
  c.amygdala_temporal = amygdala_temporal_regions(atlas);
  c.grid = detail::output_grid(atlas.labels().grid(), options.resolution);
  std::vector<std::string> index_notices;  // "resampled" is expected; lost regions are reported below
  c.index = atlas.index_on(c.grid, index_notices, "the simulator's output grid");
  {
    std::vector<std::string> lost;
    const auto native = atlas.index_on(atlas.labels().grid(), index_notices, "the atlas");
    for (std::size_t r = 0; r < atlas.size(); ++r)
      if (c.index->counts[r] == 0 && native->counts[r] > 0) lost.push_back(atlas.regions()[r].name);
    if (!lost.empty()) {
      std::string list;
      for (std::size_t k = 0; k < lost.size(); ++k) list += (k ? ", " : "") + lost[k];
      c.notices.push_back(fmt::format("nl.sim.fmri: {} region{} of atlas '{}' {} no voxel on the {} mm grid: {}",
                                      lost.size(), lost.size() > 1 ? "s" : "", atlas.name(),
                                      lost.size() > 1 ? "have" : "has", options.resolution, list));
    }
  }
  bool amygdala_on_grid = true;
  for (const auto& set : c.amygdala_temporal)
    for (std::size_t r : set) amygdala_on_grid = amygdala_on_grid && c.index->counts[r] > 0;
  if (!amygdala_on_grid) c.amygdala_temporal = {};
  detail::draw_tissue(c);
  draw_subjects(c);
  detail::fill_truth(c);
  for (const auto& run : c.runs)
    if (run.motion_outlier) {
      // The planted peak translation is drawn with the run's motion; recompute it here
      // from the same stream so the ground truth states it.
      const RunData d = fmri_run(c, static_cast<std::size_t>(&run - c.runs.data()), false);
      TruthRow row;
      row.effect = "motion_outlier";
      row.measure = "max_translation_mm";
      row.condition = fmt::format("{} ses-{} run-{}", c.subjects[run.subject].id, session_name(run.session), run.run);
      row.value = d.motion.leftCols(3).cwiseAbs().maxCoeff();
      c.truth.push_back(std::move(row));
    }
  return c;
}

// ---------------------------------------------------------------- tables

std::string fmri_participants_header() {
  return "participant_id\tgroup\tage\tsex\tresponse\tremission\tmadrs_baseline\tmadrs_day1\tmadrs_week2\t"
         "madrs_week8\thamd_baseline\thamd_week2";
}

Table fmri_participants_table(const FmriCohort& c) {
  const std::size_t n = c.subjects.size();
  std::vector<std::string> id, group, sex;
  std::vector<double> age;
  std::vector<std::uint8_t> resp(n), resp_na(n), remit(n), remit_na(n);
  std::array<std::vector<double>, 6> scores;
  std::array<std::vector<std::uint8_t>, 6> missing;
  for (std::size_t i = 0; i < n; ++i) {
    const FmriSubject& s = c.subjects[i];
    id.push_back(s.id);
    group.push_back(s.patient ? "patient" : "control");
    age.push_back(s.age);
    sex.push_back(s.female ? "F" : "M");
    resp[i] = s.response == 1, resp_na[i] = s.response < 0;
    remit[i] = s.remission == 1, remit_na[i] = s.remission < 0;
    const double v[6] = {s.madrs_baseline, s.madrs_day1, s.madrs_week2, s.madrs_week8, s.hamd_baseline, s.hamd_week2};
    for (std::size_t k = 0; k < 6; ++k) {
      scores[k].push_back(std::isnan(v[k]) ? 0.0 : v[k]);
      missing[k].push_back(std::isnan(v[k]) ? 1 : 0);
    }
  }
  Table t;
  auto add = [&t](Column col) { t.set(std::make_shared<const Column>(std::move(col))); };
  add(Column::strings("participant_id", std::move(id)));
  add(Column::strings("group", std::move(group)));
  add(Column::numbers("age", std::move(age)));
  add(Column::strings("sex", std::move(sex)));
  add(Column::bools("response", std::move(resp), std::move(resp_na)));
  add(Column::bools("remission", std::move(remit), std::move(remit_na)));
  const char* names[6] = {"madrs_baseline", "madrs_day1", "madrs_week2", "madrs_week8", "hamd_baseline", "hamd_week2"};
  for (std::size_t k = 0; k < 6; ++k) add(Column::numbers(names[k], std::move(scores[k]), std::move(missing[k])));
  return t;
}

Table fmri_sessions_table(const FmriCohort& c) {
  std::vector<std::string> id, ses, func, motion;
  std::vector<double> run;
  for (const auto& r : c.runs) {
    id.push_back(c.subjects[r.subject].id);
    ses.push_back(session_name(r.session));
    run.push_back(r.run);
    func.push_back(r.func_path);
    motion.push_back(r.motion_path);
  }
  Table t;
  auto add = [&t](Column col) { t.set(std::make_shared<const Column>(std::move(col))); };
  add(Column::strings("participant_id", std::move(id)));
  add(Column::strings("session", std::move(ses)));
  add(Column::numbers("run", std::move(run)));
  add(Column::strings("func_path", std::move(func)));
  add(Column::strings("motion_path", std::move(motion)));
  return t;
}

Table fmri_ground_truth_table(const FmriCohort& c) {
  std::vector<std::string> effect, measure, condition, regions;
  std::vector<double> value;
  for (const auto& r : c.truth) {
    effect.push_back(r.effect);
    measure.push_back(r.measure);
    condition.push_back(r.condition);
    value.push_back(r.value);
    regions.push_back(r.regions);
  }
  Table t;
  auto add = [&t](Column col) { t.set(std::make_shared<const Column>(std::move(col))); };
  add(Column::strings("effect", std::move(effect)));
  add(Column::strings("measure", std::move(measure)));
  add(Column::strings("condition", std::move(condition)));
  add(Column::numbers("value", std::move(value)));
  add(Column::strings("regions", std::move(regions)));
  return t;
}

Table fmri_networks_table(const Atlas& atlas) {
  const std::vector<Network> networks = fmri_networks(atlas);
  std::vector<double> index;
  std::vector<std::string> name, network;
  for (std::size_t r = 0; r < networks.size(); ++r) {
    index.push_back(static_cast<double>(atlas.regions()[r].index));
    name.push_back(atlas.regions()[r].name);
    network.push_back(network_name(networks[r]));
  }
  Table t;
  t.set(std::make_shared<const Column>(Column::numbers("index", std::move(index))));
  t.set(std::make_shared<const Column>(Column::strings("name", std::move(name))));
  t.set(std::make_shared<const Column>(Column::strings("network", std::move(network))));
  return t;
}

// ---------------------------------------------------------------- files

namespace {

// The realignment parameters as SPM writes rp_*.txt: 6 columns (tx ty tz in mm, rx ry
// rz in radians), one line per frame, numbers in %.10g separated by two spaces.
std::string motion_text(const Matrix& m) {
  std::string s;
  for (Eigen::Index t = 0; t < m.rows(); ++t) {
    for (Eigen::Index k = 0; k < 6; ++k) s += fmt::format("{}{:.10g}", k ? "  " : "", m(t, k));
    s += '\n';
  }
  return s;
}

Volume mask_volume(const Grid& g, const std::vector<std::uint32_t>& offsets, const std::string& what) {
  Volume v(g);
  v.info.source_type = DataType::UInt8;
  v.info.descrip = "nl.sim.fmri " + what + " mask";
  for (std::uint32_t o : offsets) v.data()[o] = 1.0f;
  return v;
}

}  // namespace

void write_fmri(const FmriCohort& c, const std::string& dir, const FmriOutputOptions& options) {
  if (dir.empty()) throw ValueError("nl.sim.fmri: empty output directory name");
  if (options.compression < 1 || options.compression > 9)
    throw ValueError(fmt::format("nl.sim.fmri: option 'compression' must be between 1 and 9, got {}",
                                 options.compression));
  const fs::path root(dir);
  detail::prepare_output_dir(dir, options.overwrite, fmri_participants_header(),
                             {"participants.tsv", "sessions.tsv", "ground_truth.tsv"},
                             "participants.tsv with nl.sim.fmri's columns, sessions.tsv and ground_truth.tsv",
                             {"func", "masks"});
  SaveOptions save;
  save.compression = options.compression;
  save.datatype = DataType::UInt8;
  save_volume(mask_volume(c.grid, c.brain, "brain"), (root / "masks" / "brain.nii.gz").string(), save);
  save_volume(mask_volume(c.grid, c.wm, "white-matter"), (root / "masks" / "wm.nii.gz").string(), save);
  save_volume(mask_volume(c.grid, c.csf, "CSF"), (root / "masks" / "csf.nii.gz").string(), save);
  save.datatype = DataType::Int16;
  parallel_for(c.runs.size(), [&](std::size_t k) {
    const RunData d = fmri_run(c, k);
    write_file_atomic((root / c.runs[k].motion_path).string(), motion_text(d.motion));
    save_volume(d.bold, (root / c.runs[k].func_path).string(), save);
  });
  write_table(fmri_networks_table(*c.atlas), (root / "networks.tsv").string());
  write_table(fmri_ground_truth_table(c), (root / "ground_truth.tsv").string());
  write_table(fmri_sessions_table(c), (root / "sessions.tsv").string());
  write_table(fmri_participants_table(c), (root / "participants.tsv").string());
}

}  // namespace nl::sim

// tests/engine/sim/test_sim_fmri.cpp: the fMRI cohort simulator: options, the default cohort's layout
// and clinical scores against seed 003's figures, determinism (seeds, threads, files),
// image and motion shapes, motion files read back by nl::fc::read_motion, the planted
// effects in the generated region signals by direct computation (correlations, paired
// and two-sample t) against the ground truth, the images carrying the region signals,
// the directory policy and a partial atlas (Harvard-Oxford cortical).
//
// References: cohort sizes, counts and moments are seed 003's (typed here, not read
// from the simulator); effects are recomputed from the signals with plain formulas.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "nl/atlas/atlas.hpp"
#include "nl/core/core.hpp"
#include "nl/fc/fc.hpp"
#include "nl/io/fileio.hpp"
#include "nl/image/image.hpp"
#include "nl/sim/fmri.hpp"
#include "nl/sim/ketamine.hpp"
#include "nl/table/table.hpp"

namespace {

namespace fs = std::filesystem;
using nl::sim::Network;
using nl::sim::Session;

bool installed(const char* name) {
  for (const auto& e : nl::known_atlases())
    if (e.name == name) return e.installed;
  return false;
}

std::shared_ptr<const nl::Atlas> aal() {
  static const std::shared_ptr<const nl::Atlas> a = nl::load_atlas("aal", "", {});
  return a;
}

template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  FAIL("expected exception not thrown");
  return {};
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/nl_simfmri_test_XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double var(const std::vector<double>& v) {
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / static_cast<double>(v.size() - 1);
}

// Student's two-sample t of a minus b (pooled variance).
double t2(const std::vector<double>& a, const std::vector<double>& b) {
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  const double sp = ((na - 1) * var(a) + (nb - 1) * var(b)) / (na + nb - 2);
  return (mean(a) - mean(b)) / std::sqrt(sp * (1 / na + 1 / nb));
}

// One-sample t of the values (for paired differences).
double t1(const std::vector<double>& d) {
  return mean(d) / std::sqrt(var(d) / static_cast<double>(d.size()));
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A small cohort for the file and determinism tests.
nl::sim::FmriOptions small(std::uint64_t seed) {
  nl::sim::FmriOptions o;
  o.seed = seed;
  o.resolution = 6;
  o.frames = 60;
  o.patients = 3;
  o.controls = 1;
  o.responders = 1;
  o.dropouts = 0;
  o.pre2 = 1;
  o.post = 3;
  o.control_repeat = 0;
  o.motion_outliers = 1;
  return o;
}

// Region sets of the scores.
struct Sets {
  std::vector<std::size_t> dmn, sgacc, limbic, visual, somatomotor, amygdala, temporal;
};
Sets sets_of(const nl::sim::FmriCohort& c) {
  Sets s;
  for (std::size_t r = 0; r < c.networks.size(); ++r) {
    if (c.index->counts[r] == 0) continue;
    switch (c.networks[r]) {
      case Network::Dmn: s.dmn.push_back(r); break;
      case Network::Sgacc: s.sgacc.push_back(r); break;
      case Network::Limbic: s.limbic.push_back(r); break;
      case Network::Visual: s.visual.push_back(r); break;
      case Network::Somatomotor: s.somatomotor.push_back(r); break;
      default: break;
    }
  }
  s.amygdala = c.amygdala_temporal[0];
  s.temporal = c.amygdala_temporal[1];
  return s;
}

// Mean Fisher z of the correlations within a (b empty) or between a and b.
double score(const nl::Matrix& C, const std::vector<std::size_t>& a, const std::vector<std::size_t>& b = {}) {
  double s = 0;
  int n = 0;
  if (b.empty()) {
    for (std::size_t i = 0; i < a.size(); ++i)
      for (std::size_t j = i + 1; j < a.size(); ++j)
        s += std::atanh(C(static_cast<Eigen::Index>(a[i]), static_cast<Eigen::Index>(a[j]))), ++n;
  } else {
    for (std::size_t i : a)
      for (std::size_t j : b) s += std::atanh(C(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j))), ++n;
  }
  return s / n;
}

// Pearson correlation matrix of the columns.
nl::Matrix corr(const nl::Matrix& X) {
  const nl::Matrix Xc = X.rowwise() - X.colwise().mean();
  const nl::Vector n = Xc.colwise().norm();
  return (Xc.transpose() * Xc).array() / (n * n.transpose()).array();
}

}  // namespace

TEST_CASE("fmri simulator: options are checked, naming the option", "[sim][fmri]") {
  nl::sim::FmriOptions o;
  CHECK_NOTHROW(nl::sim::check_fmri_options(o));
  auto bad = [](auto change) {
    nl::sim::FmriOptions x;
    change(x);
    return error_of<nl::ValueError>([&] { nl::sim::check_fmri_options(x); });
  };
  CHECK(contains(bad([](auto& x) { x.resolution = 1.5; }), "option 'resolution' must be between 2 and 8, got 1.5"));
  CHECK(contains(bad([](auto& x) { x.frames = 50; }), "option 'frames' must be between 60 and 2000"));
  CHECK(contains(bad([](auto& x) { x.tr = 0; }), "option 'tr'"));
  CHECK(contains(bad([](auto& x) { x.runs = 5; }), "option 'runs'"));
  CHECK(contains(bad([](auto& x) { x.effect = 2.5; }), "option 'effect'"));
  CHECK(contains(bad([](auto& x) { x.responders = 21; }), "option 'responders' must be between 1 and 20, got 21"));
  CHECK(contains(bad([](auto& x) { x.dropouts = 22; }), "option 'dropouts'"));
  CHECK(contains(bad([](auto& x) { x.post = 22; }), "option 'post' must be between 0 and 21"));
  CHECK(contains(bad([](auto& x) { x.pre2 = 24; }), "option 'pre2'"));
  CHECK(contains(bad([](auto& x) { x.control_repeat = 28; }), "option 'control_repeat'"));
  CHECK(contains(bad([](auto& x) { x.motion_outliers = 21; }), "option 'motion_outliers' must be between 0 and 20"));
  CHECK(contains(bad([](auto& x) { x.patients = 1; }), "option 'patients'"));
}

TEST_CASE("fmri simulator: the default cohort is shaped like seed 003", "[sim][fmri][real]") {
  if (!installed("aal")) {
    WARN("skip: mricron-data's AAL is not installed");
    return;
  }
  for (std::uint64_t seed : {1u, 2u}) {
    nl::sim::FmriOptions o;
    o.seed = seed;
    o.resolution = 6;
    const auto c = nl::sim::simulate_fmri(aal(), o);
    INFO("seed " << seed);
    REQUIRE(c.subjects.size() == 50);
    int patients = 0, known = 0, resp = 0, remit = 0, female_p = 0, female_c = 0;
    std::vector<double> base, day1, week2, week8, age;
    for (const auto& s : c.subjects) {
      if (!s.patient) {
        female_c += s.female;
        CHECK(s.response == -1);
        CHECK(std::isnan(s.madrs_week2));
        CHECK(s.madrs_baseline <= 8);
        continue;
      }
      ++patients;
      female_p += s.female;
      age.push_back(s.age);
      CHECK(s.madrs_baseline >= 22);
      base.push_back(s.madrs_baseline);
      if (!std::isnan(s.madrs_day1)) day1.push_back(s.madrs_day1);
      if (s.response >= 0) {
        ++known;
        resp += s.response;
        remit += s.remission;
        week2.push_back(s.madrs_week2);
        week8.push_back(s.madrs_week8);
        // Response and remission follow the scores.
        CHECK((s.madrs_week2 <= 0.5 * s.madrs_baseline) == (s.response == 1));
        CHECK((s.madrs_week2 < 10) == (s.remission == 1));
      } else {
        CHECK(std::isnan(s.madrs_week2));
      }
    }
    CHECK(patients == 23);
    CHECK(known == 21);
    CHECK(resp == 11);
    CHECK(remit == 8);
    CHECK(female_p == 10);
    CHECK(female_c == 12);
    CHECK(day1.size() == 22);
    CHECK(mean(age) == Approx(40.0).margin(0.5));
    CHECK(mean(base) == Approx(28.83).margin(1.0));
    CHECK(mean(day1) == Approx(9).margin(0.5));
    CHECK(mean(week2) == Approx(13).margin(0.5));
    CHECK(std::sqrt(var(week2)) == Approx(8).margin(0.5));
    CHECK(mean(week8) == Approx(15).margin(0.5));

    // Sessions: Pre1 for all 50, Pre2 for 18 patients and 7 controls, Post for 20
    // patients with an outcome; one post run is a motion outlier.
    std::map<std::string, int> count;
    int outliers = 0;
    for (const auto& r : c.runs) {
      const auto& s = c.subjects[r.subject];
      count[std::string(s.patient ? "p-" : "c-") + nl::sim::session_name(r.session)]++;
      if (r.session == Session::Post) CHECK(s.response >= 0);
      if (r.motion_outlier) {
        ++outliers;
        CHECK(r.session == Session::Post);
      }
    }
    CHECK(c.runs.size() == 95);
    CHECK(count["p-pre1"] == 23);
    CHECK(count["p-pre2"] == 18);
    CHECK(count["p-post"] == 20);
    CHECK(count["c-pre1"] == 27);
    CHECK(count["c-pre2"] == 7);
    CHECK(count["c-post"] == 0);
    CHECK(outliers == 1);
  }
}

TEST_CASE("fmri simulator: bit-identical on 1 and 2 threads, files included", "[sim][fmri][real]") {
  if (!installed("aal")) {
    WARN("skip: mricron-data's AAL is not installed");
    return;
  }
  const int saved = nl::threads();
  TempDir t1d, t2d;
  nl::set_threads(1);
  const auto a = nl::sim::simulate_fmri(aal(), small(5));
  nl::sim::write_fmri(a, t1d.path + "/out", {});
  nl::set_threads(2);
  const auto b = nl::sim::simulate_fmri(aal(), small(5));
  nl::sim::write_fmri(b, t2d.path + "/out", {});
  nl::set_threads(saved);
  REQUIRE(a.runs.size() == b.runs.size());
  REQUIRE(a.runs.size() == 8);
  for (std::size_t k = 0; k < a.runs.size(); ++k) {
    INFO(a.runs[k].func_path);
    for (const auto& p : {a.runs[k].func_path, a.runs[k].motion_path}) {
      const std::string x = read_text(t1d.path + "/out/" + p), y = read_text(t2d.path + "/out/" + p);
      CHECK(!x.empty());
      CHECK(x == y);
    }
  }
  for (const char* f : {"participants.tsv", "sessions.tsv", "ground_truth.tsv", "networks.tsv", "masks/brain.nii.gz",
                        "masks/wm.nii.gz", "masks/csf.nii.gz"})
    CHECK(read_text(t1d.path + "/out/" + f) == read_text(t2d.path + "/out/" + f));
  // Another seed gives other images.
  const auto c = nl::sim::simulate_fmri(aal(), small(6));
  const auto ra = nl::sim::fmri_run(a, 0), rc = nl::sim::fmri_run(c, 0);
  CHECK(!std::equal(ra.bold.data(), ra.bold.data() + ra.bold.size(), rc.bold.data()));
  // A run without its volume has the same region signals and motion.
  const auto r0 = nl::sim::fmri_run(a, 0, false);
  CHECK((r0.regions.array() == ra.regions.array() || (r0.regions.array() != r0.regions.array())).all());
  CHECK((r0.motion.array() == ra.motion.array()).all());
  CHECK(r0.bold.size() == 0);
}

TEST_CASE("fmri simulator: images, masks and motion files", "[sim][fmri][real]") {
  if (!installed("aal")) {
    WARN("skip: mricron-data's AAL is not installed");
    return;
  }
  TempDir tmp;
  const std::string dir = tmp.path + "/sim";
  const auto c = nl::sim::simulate_fmri(aal(), small(7));
  nl::sim::write_fmri(c, dir, {});
  const nl::Table sessions = nl::read_table(dir + "/sessions.tsv");
  REQUIRE(sessions.nrows() == c.runs.size());
  const nl::Table participants = nl::read_table(dir + "/participants.tsv");
  CHECK(participants.nrows() == 4);
  CHECK(participants.names() == std::vector<std::string>{"participant_id", "group", "age", "sex", "response",
                                                         "remission", "madrs_baseline", "madrs_day1", "madrs_week2",
                                                         "madrs_week8", "hamd_baseline", "hamd_week2"});
  CHECK(sessions.names() == std::vector<std::string>{"participant_id", "session", "run", "func_path", "motion_path"});

  const nl::Volume brain = nl::load_volume(dir + "/masks/brain.nii.gz");
  const nl::Volume wm = nl::load_volume(dir + "/masks/wm.nii.gz");
  const nl::Volume csf = nl::load_volume(dir + "/masks/csf.nii.gz");
  CHECK(brain.grid().same_as(c.grid));
  CHECK(c.grid.dims == std::array<std::int64_t, 3>{31, 37, 31});  // AAL's 181x217x181 at 6 mm
  std::size_t nb = 0, nw = 0, nc = 0;
  for (std::size_t v = 0; v < brain.voxels(); ++v) {
    nb += brain.data()[v] != 0, nw += wm.data()[v] != 0, nc += csf.data()[v] != 0;
    if (wm.data()[v] != 0) CHECK(brain.data()[v] != 0);
    if (csf.data()[v] != 0) CHECK(brain.data()[v] == 0);
  }
  CHECK(nb == c.brain.size());
  CHECK(nw == c.wm.size());
  CHECK(nc == c.csf.size());
  CHECK(nw > 50);
  CHECK(nc > 500);

  for (std::size_t k = 0; k < c.runs.size(); ++k) {
    INFO(c.runs[k].func_path);
    const nl::sim::RunData d = nl::sim::fmri_run(c, k);
    const nl::Volume v = nl::load_volume(dir + "/" + c.runs[k].func_path);
    CHECK(v.frames() == 60);
    CHECK(v.tr() == 2.0);
    CHECK(v.info.source_type == nl::DataType::Int16);
    CHECK(v.grid().same_as(c.grid));
    REQUIRE(v.size() == d.bold.size());
    CHECK(std::equal(v.data(), v.data() + v.size(), d.bold.data()));
    // Zero outside brain and CSF; positive inside.
    std::size_t zero_inside = 0, nonzero_outside = 0;
    for (std::size_t x = 0; x < v.voxels(); ++x) {
      const bool in = brain.data()[x] != 0 || csf.data()[x] != 0;
      if (in && v.data()[x] <= 0) ++zero_inside;
      if (!in && v.data()[x] != 0) ++nonzero_outside;
    }
    CHECK(zero_inside == 0);
    CHECK(nonzero_outside == 0);
    // The motion file reads back (SPM layout) to the simulated parameters.
    const nl::Matrix m = nl::fc::read_motion(dir + "/" + c.runs[k].motion_path);
    REQUIRE(m.rows() == 60);
    REQUIRE(m.cols() == 6);
    CHECK((m - d.motion).cwiseAbs().maxCoeff() <= 1e-9 * std::max(1.0, d.motion.cwiseAbs().maxCoeff()));
    CHECK(m.row(0).cwiseAbs().maxCoeff() == 0.0);
    nl::fc::MotionOptions mo;
    const auto summary = nl::fc::motion_summary(m, mo);
    CHECK(summary.exclude == c.runs[k].motion_outlier);
    CHECK(summary.mean_fd > 0.02);
    CHECK(summary.mean_fd < 0.4);
    if (c.runs[k].motion_outlier) CHECK(summary.max_translation > 2.0);
    else CHECK(summary.max_translation < 2.0);
  }
  // The ground truth lists the outlier with its peak translation.
  const nl::Table truth = nl::read_table(dir + "/ground_truth.tsv");
  int rows = 0;
  for (std::size_t i = 0; i < truth.nrows(); ++i)
    if (truth.column("effect")->string(i) == "motion_outlier") {
      ++rows;
      CHECK(truth.column("value")->number(i) > 2.0);
      CHECK(truth.column("value")->number(i) < 4.0);
    }
  CHECK(rows == 1);
}

TEST_CASE("fmri simulator: the images carry the region signals", "[sim][fmri][real]") {
  if (!installed("aal")) {
    WARN("skip: mricron-data's AAL is not installed");
    return;
  }
  nl::sim::FmriOptions o = small(8);
  o.resolution = 3;
  o.frames = 200;
  const auto c = nl::sim::simulate_fmri(aal(), o);
  std::size_t k = 0;
  while (c.runs[k].motion_outlier) ++k;
  const nl::sim::RunData d = nl::sim::fmri_run(c, k);
  std::vector<std::string> notices;
  nl::Matrix ts = nl::region_timeseries(*c.atlas, d.bold, notices);
  // Tissue means, then the usual cleaning: discard 10, quadratic trend, Friston 24,
  // white matter, CSF and global signals.
  nl::Volume wm(c.grid), csf(c.grid), brain(c.grid);
  for (auto x : c.wm) wm.data()[x] = 1;
  for (auto x : c.csf) csf.data()[x] = 1;
  for (auto x : c.brain) brain.data()[x] = 1;
  const nl::Matrix conf = nl::fc::mask_means(d.bold, {&wm, &csf, &brain});
  nl::fc::CleanOptions co;
  co.discard = 10;
  co.detrend = 2;
  const nl::Matrix clean = nl::fc::clean(ts, d.motion, conf, co).signals;
  const nl::Matrix truth = nl::fc::clean(d.regions, nl::Matrix(d.regions.rows(), 0), conf, co).signals;
  // Each sizeable region's cleaned mean follows its simulated signal (what the cleaning
  // leaves of the global, white-matter and CSF signals and of the motion spikes, and the
  // voxel noise, keep the agreement below 1).
  std::vector<double> rs;
  for (Eigen::Index r = 0; r < ts.cols(); ++r) {
    if (c.index->counts[static_cast<std::size_t>(r)] < 100) continue;
    const nl::Vector a = clean.col(r).array() - clean.col(r).mean(), b = truth.col(r).array() - truth.col(r).mean();
    rs.push_back(a.dot(b) / (a.norm() * b.norm()));
  }
  std::sort(rs.begin(), rs.end());
  CHECK(rs.size() > 60);
  CHECK(rs.front() > 0.8);
  CHECK(rs[rs.size() / 2] > 0.85);
  // The netmats agree edge for edge (residual nuisance shifts every edge alike).
  std::vector<Eigen::Index> big;
  for (Eigen::Index r = 0; r < ts.cols(); ++r)
    if (c.index->counts[static_cast<std::size_t>(r)] >= 100) big.push_back(r);
  nl::Matrix A(clean.rows(), static_cast<Eigen::Index>(big.size())), B(truth.rows(), A.cols());
  for (std::size_t k = 0; k < big.size(); ++k) {
    A.col(static_cast<Eigen::Index>(k)) = clean.col(big[k]);
    B.col(static_cast<Eigen::Index>(k)) = truth.col(big[k]);
  }
  const nl::Vector ea = nl::fc::upper_triangle(corr(A)), eb = nl::fc::upper_triangle(corr(B));
  const nl::Vector ca = ea.array() - ea.mean(), cb = eb.array() - eb.mean();
  CHECK(ca.dot(cb) / (ca.norm() * cb.norm()) > 0.9);
  // Without the nuisance regressors far less of the signal is visible.
  nl::fc::CleanOptions bare;
  bare.discard = 10;
  bare.detrend = 2;
  const nl::Matrix raw = nl::fc::clean(ts, nl::Matrix(ts.rows(), 0), nl::Matrix(ts.rows(), 0), bare).signals;
  const nl::Matrix raw_truth =
      nl::fc::clean(d.regions, nl::Matrix(ts.rows(), 0), nl::Matrix(ts.rows(), 0), bare).signals;
  std::vector<double> rr;
  for (Eigen::Index r = 0; r < ts.cols(); ++r) {
    if (c.index->counts[static_cast<std::size_t>(r)] < 100) continue;
    const nl::Vector a = raw.col(r).array() - raw.col(r).mean(), b = raw_truth.col(r).array() - raw_truth.col(r).mean();
    rr.push_back(a.dot(b) / (a.norm() * b.norm()));
  }
  std::sort(rr.begin(), rr.end());
  CHECK(rr[rr.size() / 2] < rs[rs.size() / 2] - 0.05);
  // Uncleaned region means are dominated by drifts and the start-up transient.
  CHECK(ts(0, 0) > ts(30, 0) * 1.1);
}

TEST_CASE("fmri simulator: planted effects in the region signals match the ground truth", "[sim][fmri][real]") {
  if (!installed("aal")) {
    WARN("skip: mricron-data's AAL is not installed");
    return;
  }
  nl::sim::FmriOptions o;
  o.seed = 11;
  o.resolution = 6;
  const auto c = nl::sim::simulate_fmri(aal(), o);
  const Sets S = sets_of(c);
  REQUIRE(S.sgacc.size() == 2);
  REQUIRE(S.limbic.size() == 6);
  REQUIRE(S.amygdala.size() == 1);
  REQUIRE(S.temporal.size() == 2);
  // Scores per run from the region signals (frames 11..240).
  enum { Dmn, SgaccDmn, Limbic, Visual, Somato, Amy, K };
  std::vector<std::array<double, K>> run(c.runs.size());
  nl::parallel_for(c.runs.size(), [&](std::size_t k) {
    const auto d = nl::sim::fmri_run(c, k, false);
    const nl::Matrix C = corr(d.regions.bottomRows(d.regions.rows() - 10));
    run[k] = {score(C, S.dmn), score(C, S.sgacc, S.dmn), score(C, S.limbic), score(C, S.visual),
              score(C, S.somatomotor), score(C, S.amygdala, S.temporal)};
  });
  // Subject means per phase (pre: Pre1 and Pre2; post).
  const std::size_t N = c.subjects.size();
  std::vector<std::array<double, K>> pre(N), post(N);
  std::vector<int> npre(N, 0), npost(N, 0);
  for (auto& a : pre) a.fill(0);
  for (auto& a : post) a.fill(0);
  for (std::size_t k = 0; k < c.runs.size(); ++k) {
    const auto& r = c.runs[k];
    auto& acc = r.session == Session::Post ? post[r.subject] : pre[r.subject];
    (r.session == Session::Post ? npost : npre)[r.subject]++;
    for (int j = 0; j < K; ++j) acc[j] += run[k][j];
  }
  // Group values of a score.
  auto group = [&](int j, bool want_post, auto pick) {
    std::vector<double> v;
    for (std::size_t s = 0; s < N; ++s) {
      const int n = want_post ? npost[s] : npre[s];
      if (n > 0 && pick(c.subjects[s])) v.push_back((want_post ? post : pre)[s][j] / n);
    }
    return v;
  };
  auto change = [&](int j, int response) {
    std::vector<double> d;
    for (std::size_t s = 0; s < N; ++s)
      if (c.subjects[s].response == response && npost[s] > 0) d.push_back(post[s][j] / npost[s] - pre[s][j] / npre[s]);
    return d;
  };
  auto control = [](const nl::sim::FmriSubject& s) { return !s.patient; };
  auto patient = [](const nl::sim::FmriSubject& s) { return s.patient; };
  auto responder = [](const nl::sim::FmriSubject& s) { return s.response == 1; };
  auto nonresponder = [](const nl::sim::FmriSubject& s) { return s.response == 0; };

  // The ground truth (expected mean z) of each measure and condition.
  std::map<std::string, double> truth;
  for (const auto& row : c.truth) truth[row.measure + "/" + row.condition] = row.value;
  const char* measure[K] = {"within_dmn", "sgacc_dmn", "within_limbic", "within_visual", "within_somatomotor",
                            "amygdala_l_temporal_r"};
  // Controls' sample means agree with the expected values: the mean of 27 subjects'
  // z has a standard error of about 0.03, and sample z runs above the z of the
  // expected r by up to about 0.04 (atanh is convex; 230 frames).
  for (int j = 0; j < K; ++j) {
    INFO(measure[j]);
    const double expected = truth[std::string(measure[j]) + "/control"];
    CHECK(mean(group(j, false, control)) > expected - 0.06);
    CHECK(mean(group(j, false, control)) < expected + 0.12);
  }
  // sgACC-DMN: decrease after treatment, larger in responders (seed 003).
  const double d_r = mean(change(SgaccDmn, 1)), d_nr = mean(change(SgaccDmn, 0));
  CHECK(t1(change(SgaccDmn, 1)) < -3);
  CHECK(t2(change(SgaccDmn, 0), change(SgaccDmn, 1)) > 2.5);
  CHECK(d_r == Approx(truth["sgacc_dmn/responder_post"] - truth["sgacc_dmn/responder_pre"]).margin(0.06));
  CHECK(d_nr == Approx(truth["sgacc_dmn/nonresponder_post"] - truth["sgacc_dmn/nonresponder_pre"]).margin(0.06));
  // Limbic: decrease after treatment in responders and non-responders alike.
  CHECK(t1(change(Limbic, 1)) < -2.5);
  CHECK(t1(change(Limbic, 0)) < -2.5);
  CHECK(std::abs(t2(change(Limbic, 0), change(Limbic, 1))) < 2);
  // Patients hyperconnected at baseline in DMN, sgACC-DMN and limbic; not in visual.
  CHECK(t2(group(Dmn, false, patient), group(Dmn, false, control)) > 2.5);
  CHECK(t2(group(SgaccDmn, false, patient), group(SgaccDmn, false, control)) > 3);
  CHECK(t2(group(Limbic, false, patient), group(Limbic, false, control)) > 3);
  CHECK(std::abs(t2(group(Visual, false, patient), group(Visual, false, control))) < 2);
  CHECK(std::abs(t1(change(Visual, 1))) < 2.5);
  // Controls > patients within somatomotor (seed 002).
  CHECK(t2(group(Somato, false, control), group(Somato, false, patient)) > 3);
  // Left amygdala - right STG/MTG: responders > non-responders at baseline (seed 004).
  CHECK(t2(group(Amy, false, responder), group(Amy, false, nonresponder)) > 3);
  CHECK(mean(group(Amy, false, responder)) - mean(group(Amy, false, nonresponder)) ==
        Approx(truth["amygdala_l_temporal_r/responder_pre"] - truth["amygdala_l_temporal_r/nonresponder_pre"])
            .margin(0.06));
}

TEST_CASE("fmri simulator: effect = 0 plants nothing, the ground truth is then flat", "[sim][fmri][real]") {
  if (!installed("aal")) {
    WARN("skip: mricron-data's AAL is not installed");
    return;
  }
  nl::sim::FmriOptions o;
  o.resolution = 6;
  o.effect = 0;
  const auto c = nl::sim::simulate_fmri(aal(), o);
  std::map<std::string, std::vector<double>> by_measure;
  for (const auto& r : c.truth)
    if (r.effect != "motion_outlier") by_measure[r.measure].push_back(r.value);
  CHECK(by_measure.size() == 6);
  for (const auto& [m, v] : by_measure) {
    INFO(m);
    REQUIRE(v.size() == 5);
    for (double x : v) CHECK(x == v[0]);
  }
  o.effect = 1;
  const auto d = nl::sim::simulate_fmri(aal(), o);
  std::map<std::string, double> t;
  for (const auto& r : d.truth) t[r.measure + "/" + r.condition] = r.value;
  CHECK(t["within_limbic/responder_pre"] > t["within_limbic/control"]);
  CHECK(t["within_limbic/responder_post"] == Approx(t["within_limbic/control"]));
  CHECK(t["sgacc_dmn/responder_post"] < t["sgacc_dmn/nonresponder_post"]);
  CHECK(t["within_somatomotor/control"] > t["within_somatomotor/responder_pre"]);
  CHECK(t["within_visual/control"] == t["within_visual/nonresponder_post"]);
}

TEST_CASE("fmri simulator: directory policy", "[sim][fmri][real]") {
  if (!installed("aal")) {
    WARN("skip: mricron-data's AAL is not installed");
    return;
  }
  TempDir tmp;
  const auto c = nl::sim::simulate_fmri(aal(), small(9));
  const std::string dir = tmp.path + "/a/b";
  nl::sim::write_fmri(c, dir, {});
  CHECK(fs::is_regular_file(dir + "/participants.tsv"));
  CHECK(contains(error_of<nl::FileError>([&] { nl::sim::write_fmri(c, dir, {}); }),
                 "previous simulator output: pass overwrite = true"));
  nl::sim::FmriOutputOptions ow;
  ow.overwrite = true;
  CHECK_NOTHROW(nl::sim::write_fmri(c, dir, ow));
  // A directory with other files, or a ketamine simulator output, is not replaced.
  const std::string other = tmp.path + "/other";
  fs::create_directories(other);
  nl::write_file_atomic(other + "/notes.txt", "mine\n");
  CHECK(contains(error_of<nl::FileError>([&] { nl::sim::write_fmri(c, other, ow); }),
                 "holds no previous simulator output (participants.tsv with nl.sim.fmri's columns"));
  const std::string ket = tmp.path + "/ket";
  fs::create_directories(ket);
  nl::write_file_atomic(ket + "/participants.tsv", nl::sim::participants_header() + "\n");
  nl::write_file_atomic(ket + "/ground_truth.tsv", "index\n");
  nl::write_file_atomic(ket + "/sessions.tsv", "x\n");
  CHECK_THROWS_AS(nl::sim::write_fmri(c, ket, ow), nl::FileError);
  CHECK(read_text(other + "/notes.txt") == "mine\n");
  nl::sim::FmriOutputOptions bad;
  bad.compression = 0;
  CHECK(contains(error_of<nl::ValueError>([&] { nl::sim::write_fmri(c, tmp.path + "/new", bad); }),
                 "option 'compression'"));
}

TEST_CASE("fmri simulator: networks by name, a cortical atlas plants what it can", "[sim][fmri][real]") {
  if (!installed("aal") || !installed("harvard-oxford")) {
    WARN("skip: mricron-data's AAL or Harvard-Oxford is not installed");
    return;
  }
  const auto net = nl::sim::fmri_networks(*aal());
  std::map<std::string, Network> by_name;
  for (std::size_t r = 0; r < net.size(); ++r) by_name[aal()->regions()[r].name] = net[r];
  CHECK(by_name["Frontal_Med_Orb_L"] == Network::Sgacc);
  CHECK(by_name["Precuneus_R"] == Network::Dmn);
  CHECK(by_name["Amygdala_L"] == Network::Limbic);
  CHECK(by_name["Thalamus_R"] == Network::Limbic);
  CHECK(by_name["Calcarine_L"] == Network::Visual);
  CHECK(by_name["Precentral_L"] == Network::Somatomotor);
  CHECK(by_name["Insula_R"] == Network::Salience);
  CHECK(by_name["Vermis_4_5"] == Network::Cerebellum);
  CHECK(by_name["Putamen_L"] == Network::Striatum);
  CHECK(by_name["Temporal_Sup_R"] == Network::Temporal);
  CHECK(by_name["Rectus_L"] == Network::None);
  const auto at = nl::sim::amygdala_temporal_regions(*aal());
  REQUIRE(at[0].size() == 1);
  CHECK(aal()->regions()[at[0][0]].name == "Amygdala_L");
  CHECK(at[1].size() == 2);

  const auto ho = nl::load_atlas("harvard-oxford", "", {});
  nl::sim::FmriOptions o = small(1);
  o.motion_outliers = 0;
  const auto c = nl::sim::simulate_fmri(ho, o);
  std::string notices;
  for (const auto& n : c.notices) notices += n + "\n";
  CHECK(contains(notices, "limbic_treatment effect is not planted"));
  CHECK(contains(notices, "amygdala_temporal_response effect is not planted"));
  std::map<std::string, int> measures;
  for (const auto& r : c.truth) measures[r.measure]++;
  CHECK(measures.count("sgacc_dmn") == 1);
  CHECK(measures.count("within_limbic") == 0);
  CHECK(measures.count("amygdala_l_temporal_r") == 0);
  const auto hn = nl::sim::fmri_networks(*ho);
  for (std::size_t r = 0; r < hn.size(); ++r)
    if (ho->regions()[r].name == "Subcallosal Cortex") CHECK(hn[r] == Network::Sgacc);
  // An atlas without any known region name is refused, naming it.
  nl::Volume labels(ho->labels().grid());
  for (std::size_t v = 0; v < labels.voxels(); ++v) labels.data()[v] = ho->labels().data()[v] > 0 ? 1.0f : 0.0f;
  labels.info.source_type = nl::DataType::UInt8;
  const auto blob = std::make_shared<nl::Atlas>(labels, std::vector<nl::Region>{{1, "blob"}}, "blob", "", "",
                                                nl::AtlasOptions{});
  CHECK(contains(error_of<nl::ValueError>([&] { nl::sim::simulate_fmri(blob, o); }), "atlas 'blob'"));
}

// tests/engine/sim/test_sim.cpp: the ketamine cohort simulator: determinism (seeds, threads), cohort
// sizes and responder counts, response status against the MADRS columns, Table 1
// figures, GM maps that sum to the simulated volumes, the planted effect (present in
// the ketamine cohorts, absent in saline), files and the output-directory policy.
//
// References: the cohort sizes, counts and moments are the paper's Table 1 (seed 000),
// typed here independently of the simulator's own table.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "nl/atlas/atlas.hpp"
#include "nl/core/core.hpp"
#include "nl/image/image.hpp"
#include "nl/sim/ketamine.hpp"
#include "nl/table/table.hpp"

namespace {

namespace fs = std::filesystem;
using nl::sim::Cohort;

const std::string atlas_dir = std::string(NL_TEST_DATA) + "/atlas/";

bool aal_installed() {
  for (const auto& e : nl::known_atlases())
    if (e.name == "aal") return e.installed;
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
    char tmpl[] = "/tmp/nl_sim_test_XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::vector<std::size_t> subjects_of(const nl::sim::KetamineCohort& k, Cohort c) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < k.subjects.size(); ++i)
    if (k.subjects[i].cohort == c) out.push_back(i);
  return out;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double sd(const std::vector<double>& v) {
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

// Welch t of responders minus non-responders on the residuals of log volume after
// least squares on [1, age, male, log TIV] plus a dummy per site, over the subjects of
// the given cohorts.
double response_t(const nl::sim::KetamineCohort& k, std::vector<Cohort> cohorts, std::size_t region) {
  std::vector<std::size_t> rows;
  for (Cohort c : cohorts)
    for (std::size_t i : subjects_of(k, c)) rows.push_back(i);
  const std::vector<std::string> sites{"B", "MD", "NY"};
  const auto n = static_cast<Eigen::Index>(rows.size());
  nl::Matrix G(n, 7);
  nl::Vector y(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto& s = k.subjects[rows[static_cast<std::size_t>(i)]];
    G.row(i) << 1.0, s.age, s.female ? 0.0 : 1.0, std::log(s.tiv), s.site == "B", s.site == "MD", s.site == "NY";
    y(i) = std::log(k.volumes(static_cast<Eigen::Index>(rows[static_cast<std::size_t>(i)]),
                              static_cast<Eigen::Index>(region)));
  }
  const nl::Vector res = y - G * G.completeOrthogonalDecomposition().solve(y);
  std::vector<double> a, b;
  for (Eigen::Index i = 0; i < n; ++i) (k.subjects[rows[static_cast<std::size_t>(i)]].responder ? a : b).push_back(res(i));
  return (mean(a) - mean(b)) / std::sqrt(sd(a) * sd(a) / static_cast<double>(a.size()) +
                                         sd(b) * sd(b) / static_cast<double>(b.size()));
}

// Mean t over the planted regions of one sign.
double set_t(const nl::sim::KetamineCohort& k, std::vector<Cohort> cohorts, int sign) {
  double s = 0;
  int n = 0;
  for (const auto& p : k.planted)
    if (p.sign == sign) s += response_t(k, cohorts, p.region), ++n;
  return s / n;
}

}  // namespace

TEST_CASE("ketamine cohorts: sizes, responders, sex, sites, arms (Table 1)", "[sim][real]") {
  if (!aal_installed()) {
    WARN("skip: mricron-data's AAL is not installed");
    return;
  }
  // cohort, responders, non-responders, female responders, female non-responders
  struct Expect {
    Cohort c;
    int r, nr, fr, fnr;
    const char* name;
  };
  const Expect expect[] = {{Cohort::Discovery, 52, 47, 34, 28, "discovery"},
                           {Cohort::Saline, 12, 37, 7, 24, "saline"},
                           {Cohort::ExternalMD, 5, 17, 2, 11, "external_md"},
                           {Cohort::ExternalNY, 16, 13, 7, 5, "external_ny"}};
  for (std::uint64_t seed : {1u, 7u}) {
    nl::sim::KetamineOptions o;
    o.seed = seed;
    const auto k = nl::sim::simulate_ketamine(aal(), o);
    REQUIRE(k.subjects.size() == 199);
    CHECK(k.volumes.rows() == 199);
    CHECK(k.volumes.cols() == 116);
    CHECK(k.subjects.front().id == "sub-001");
    CHECK(k.subjects.back().id == "sub-199");
    for (const auto& e : expect) {
      int r = 0, nr = 0, fr = 0, fnr = 0;
      std::map<std::string, int> sites;
      for (std::size_t i : subjects_of(k, e.c)) {
        const auto& s = k.subjects[i];
        (s.responder ? r : nr)++;
        if (s.female) (s.responder ? fr : fnr)++;
        sites[s.site]++;
        CHECK(s.ketamine == (e.c != Cohort::Saline));
      }
      INFO(e.name << " seed " << seed);
      CHECK(std::string(nl::sim::cohort_name(e.c)) == e.name);
      CHECK(r == e.r);
      CHECK(nr == e.nr);
      CHECK(fr == e.fr);
      CHECK(fnr == e.fnr);
      if (e.c == Cohort::Discovery || e.c == Cohort::Saline) {
        CHECK(sites.size() == 2);
        CHECK(sites["A"] > 0);
        CHECK(sites["B"] > 0);
      } else {
        CHECK(sites.size() == 1);
        CHECK(sites.count(e.c == Cohort::ExternalMD ? "MD" : "NY") == 1);
      }
    }
  }
}

TEST_CASE("ketamine cohorts: response status follows the MADRS columns, Table 1 moments", "[sim][real]") {
  if (!aal_installed()) {
    WARN("skip: mricron-data's AAL is not installed");
    return;
  }
  // Table 1: age, MADRS pre, post: mean and SD; [cohort][responders, non-responders].
  const double t1[4][2][6] = {
      {{34.84, 11.72, 32.15, 5.56, 9.48, 5.54}, {34.77, 10.29, 33.34, 5.13, 25.17, 6.72}},
      {{29.37, 6.49, 33.92, 5.38, 12.42, 3.60}, {35.44, 10.66, 31.97, 5.03, 27.24, 7.14}},
      {{39.60, 5.41, 31.40, 4.62, 7.20, 6.34}, {34.59, 9.64, 32.76, 5.02, 27.47, 6.86}},
      {{46.34, 16.39, 30.56, 5.40, 8.50, 5.16}, {41.44, 15.32, 31.46, 5.82, 25.46, 5.65}}};
  for (std::uint64_t seed : {1u, 2u}) {
    nl::sim::KetamineOptions o;
    o.seed = seed;
    const auto k = nl::sim::simulate_ketamine(aal(), o);
    for (const auto& s : k.subjects) {
      INFO(s.id);
      CHECK(((static_cast<double>(s.madrs_post) - s.madrs_pre) / s.madrs_pre <= -0.5) == s.responder);
      CHECK(s.madrs_pre >= 18);
      CHECK(s.madrs_pre <= 60);
      CHECK(s.madrs_post >= 0);
      CHECK(s.madrs_post <= 60);
      CHECK(s.age >= 18);
      CHECK(s.age <= 80);
      CHECK(s.age * 10 == std::round(s.age * 10));
      CHECK(s.tiv == std::round(s.tiv));
      CHECK(s.tiv > 1000);
      CHECK(s.tiv < 2200);
    }
    for (int c = 0; c < 4; ++c)
      for (int g = 0; g < 2; ++g) {
        std::vector<double> age, pre, post;
        for (std::size_t i : subjects_of(k, static_cast<Cohort>(c)))
          if (k.subjects[i].responder == (g == 0)) {
            age.push_back(k.subjects[i].age);
            pre.push_back(k.subjects[i].madrs_pre);
            post.push_back(k.subjects[i].madrs_post);
          }
        INFO("cohort " << c << " group " << g << " seed " << seed);
        const double* t = t1[c][g];
        CHECK(mean(age) == Approx(t[0]).margin(0.15));
        CHECK(sd(age) == Approx(t[1]).margin(0.15));
        CHECK(mean(pre) == Approx(t[2]).margin(0.5));
        CHECK(sd(pre) == Approx(t[3]).margin(0.5));
        CHECK(mean(post) == Approx(t[4]).margin(0.5));
        CHECK(sd(post) == Approx(t[5]).margin(0.5));
      }
    // TIV depends on sex.
    std::vector<double> f, m;
    for (const auto& s : k.subjects) (s.female ? f : m).push_back(s.tiv);
    CHECK(mean(m) - mean(f) > 100);
  }
}

TEST_CASE("ketamine simulator: bit-identical for a seed on any thread count", "[sim][real]") {
  if (!aal_installed()) {
    WARN("skip: mricron-data's AAL is not installed");
    return;
  }
  const int saved = nl::threads();
  nl::sim::KetamineOptions o;
  o.seed = 3;
  nl::set_threads(1);
  const auto a = nl::sim::simulate_ketamine(aal(), o);
  const nl::Volume ma = nl::sim::gm_map(a, 150);
  nl::set_threads(4);
  const auto b = nl::sim::simulate_ketamine(aal(), o);
  const nl::Volume mb = nl::sim::gm_map(b, 150);
  nl::set_threads(saved);
  CHECK((a.volumes.array() == b.volumes.array()).all());
  for (std::size_t i = 0; i < a.subjects.size(); ++i) {
    CHECK(a.subjects[i].age == b.subjects[i].age);
    CHECK(a.subjects[i].tiv == b.subjects[i].tiv);
    CHECK(a.subjects[i].madrs_post == b.subjects[i].madrs_post);
    CHECK(a.subjects[i].site == b.subjects[i].site);
  }
  REQUIRE(ma.size() == mb.size());
  CHECK(std::equal(ma.data(), ma.data() + ma.size(), mb.data()));

  o.seed = 4;
  const auto c = nl::sim::simulate_ketamine(aal(), o);
  CHECK((a.volumes.array() != c.volumes.array()).all());
}

TEST_CASE("ketamine GM maps: regional sums equal the simulated volumes", "[sim][real]") {
  if (!aal_installed()) {
    WARN("skip: mricron-data's AAL is not installed");
    return;
  }
  for (double res : {3.0, 2.0}) {
    nl::sim::KetamineOptions o;
    o.resolution = res;
    const auto k = nl::sim::simulate_ketamine(aal(), o);
    CHECK(k.grid.spacing()(0) == Approx(res));
    // AAL (181x217x181, 1 mm) at 3 mm: 61x73x61; at 2 mm: the MNI 91x109x91 grid.
    CHECK(k.grid.dims[0] == (res == 3.0 ? 61 : 91));
    CHECK(k.grid.dims[1] == (res == 3.0 ? 73 : 109));
    CHECK(k.grid.origin().isApprox(aal()->labels().grid().origin()));
    CHECK(k.notices.empty());  // every AAL region keeps voxels at 2 and 3 mm
    for (std::size_t s : {std::size_t{0}, std::size_t{120}, std::size_t{198}}) {
      const nl::Volume v = nl::sim::gm_map(k, s);
      REQUIRE(v.grid().same_as(k.grid));
      const nl::Summary sum = nl::summarize(*aal(), {&v}, nl::SummaryStat::VolumeMl);
      for (std::size_t r = 0; r < 116; ++r) {
        INFO("subject " << s << " region " << r << " res " << res);
        CHECK(sum.table.columns()[r]->number(0) ==
              Approx(k.volumes(static_cast<Eigen::Index>(s), static_cast<Eigen::Index>(r))).epsilon(1e-6));
        CHECK(k.volumes(static_cast<Eigen::Index>(s), static_cast<Eigen::Index>(r)) > 0);
      }
      // Zero outside the atlas, positive inside, and not constant within a region.
      const nl::Volume labels = nl::resample(aal()->labels(), k.grid, nl::Interpolation::Nearest);
      std::size_t inside = 0, outside_nonzero = 0, inside_nonpositive = 0;
      std::vector<double> hippo;
      for (std::size_t j = 0; j < v.size(); ++j) {
        if (labels.data()[j] == 0) {
          outside_nonzero += v.data()[j] != 0;
        } else {
          ++inside;
          inside_nonpositive += !(v.data()[j] > 0);
        }
        if (labels.data()[j] == 37) hippo.push_back(v.data()[j]);
      }
      CHECK(outside_nonzero == 0);
      CHECK(inside_nonpositive == 0);
      CHECK(inside > 1000);
      REQUIRE(hippo.size() > 10);
      CHECK(sd(hippo) > 0.05 * mean(hippo));
      CHECK(mean(hippo) > 0.2);
      CHECK(mean(hippo) < 1.2);
    }
  }
}

TEST_CASE("ketamine planted effect: in the ketamine cohorts, not in saline", "[sim][real]") {
  if (!aal_installed()) {
    WARN("skip: mricron-data's AAL is not installed");
    return;
  }
  nl::sim::KetamineOptions o;
  const auto k = nl::sim::simulate_ketamine(aal(), o);
  // Ground truth: the paper's regions, frontal larger in responders, cerebellar larger
  // in non-responders.
  std::map<std::string, int> sign;
  for (const auto& p : k.planted) {
    sign[aal()->regions()[p.region].name] = p.sign;
    CHECK(p.effect_size > 0.2);
    CHECK(p.effect_size < 2.0);
    CHECK((p.percent > 0) == (p.sign > 0));
    // The calibrated separation (kSeparation 1.035, lambda 0.045; docs/reference/sim.md):
    // a weight-1 region is exp(0.045 x 1.035) - 1 = 4.768 % larger, a weight-0.6 one 2.834 %.
    CHECK(std::fabs(p.percent) == Approx(100 * (std::exp(0.045 * 1.035 * p.weight) - 1)).epsilon(1e-12));
    CHECK(std::fabs(p.percent) == Approx(p.weight == 1.0 ? 4.768 : 2.834).margin(0.001));
  }
  CHECK(sign.size() == 13);
  for (const char* f : {"Frontal_Sup_Medial_L", "Frontal_Sup_Medial_R", "Frontal_Sup_L", "Frontal_Sup_R",
                        "Frontal_Sup_Orb_L", "Frontal_Med_Orb_L"})
    CHECK(sign[f] == 1);
  for (const char* c : {"Vermis_1_2", "Vermis_3", "Vermis_4_5", "Vermis_6", "Vermis_7", "Cerebelum_Crus1_L", "Cerebelum_6_L"})
    CHECK(sign[c] == -1);
  const nl::Table truth = nl::sim::ground_truth_table(k);
  CHECK(truth.names() == std::vector<std::string>{"index", "name", "sign", "effect_size", "percent"});
  CHECK(truth.nrows() == 13);
  CHECK(truth.column("name")->string(0) == "Frontal_Sup_L");
  CHECK(truth.column("index")->number(0) == 3);

  // Covariate-adjusted t of responders minus non-responders, averaged over each set.
  const std::vector<Cohort> disc{Cohort::Discovery}, saline{Cohort::Saline},
      external{Cohort::ExternalMD, Cohort::ExternalNY};
  CHECK(set_t(k, disc, 1) > 2.5);
  CHECK(set_t(k, disc, -1) < -2.5);
  CHECK(std::fabs(set_t(k, saline, 1)) < 1.5);
  CHECK(std::fabs(set_t(k, saline, -1)) < 1.5);
  // A region outside the planted sets carries no response effect.
  CHECK(std::fabs(response_t(k, disc, 36)) < 2.5);  // Hippocampus_L

  // The external cohorts carry the pattern, attenuated: visible with a doubled effect.
  o.effect = 2;
  const auto strong = nl::sim::simulate_ketamine(aal(), o);
  CHECK(set_t(strong, external, 1) > 1.5);
  CHECK(set_t(strong, external, -1) < -1.5);
  CHECK(std::fabs(set_t(strong, saline, 1)) < 1.5);
  CHECK(std::fabs(set_t(strong, saline, -1)) < 1.5);
  CHECK(strong.planted[0].effect_size == Approx(2 * k.planted[0].effect_size));

  o.effect = 0;
  const auto null = nl::sim::simulate_ketamine(aal(), o);
  CHECK(std::fabs(set_t(null, disc, 1)) < 1.5);
  CHECK(std::fabs(set_t(null, disc, -1)) < 1.5);
  for (const auto& p : null.planted) CHECK(p.effect_size == 0);
}

TEST_CASE("ketamine simulator: planted regions by name, atlases without the names, bad options", "[sim]") {
  const auto tiny = nl::load_atlas(atlas_dir + "tiny.nii.gz", "", {});
  nl::sim::KetamineOptions o;
  o.resolution = 2;
  auto e = error_of<nl::ValueError>([&] { nl::sim::simulate_ketamine(tiny, o); });
  CHECK(contains(e, "atlas 'tiny' has no region of the built-in frontal (larger in responders) set"));
  CHECK(contains(e, "frontal sup medial l"));
  CHECK(contains(e, "planted = {responders = {...}, nonresponders = {...}}"));

  o.responder_regions = {"Alpha_L"};
  o.nonresponder_regions = {"Gamma"};
  const auto k = nl::sim::simulate_ketamine(tiny, o);
  REQUIRE(k.planted.size() == 2);
  CHECK(k.planted[0].region == 0);
  CHECK(k.planted[0].sign == 1);
  CHECK(k.planted[1].region == 2);
  CHECK(k.planted[1].sign == -1);
  CHECK(k.subjects.size() == 199);
  const nl::Volume v = nl::sim::gm_map(k, 5);
  const nl::Summary sum = nl::summarize(*tiny, {&v}, nl::SummaryStat::VolumeMl);
  for (std::size_t r = 0; r < 3; ++r)
    CHECK(sum.table.columns()[r]->number(0) == Approx(k.volumes(5, static_cast<Eigen::Index>(r))).epsilon(1e-6));

  o.nonresponder_regions = {"Delta"};
  CHECK(contains(error_of<nl::ValueError>([&] { nl::sim::simulate_ketamine(tiny, o); }),
                 "non-responder region 'Delta' is not a region of atlas 'tiny'"));
  o.nonresponder_regions = {"Alpha_L"};
  CHECK(contains(error_of<nl::ValueError>([&] { nl::sim::simulate_ketamine(tiny, o); }),
                 "region 'Alpha_L' is in both planted sets"));
  o.nonresponder_regions = {"Gamma"};
  o.resolution = 0.5;
  CHECK(contains(error_of<nl::ValueError>([&] { nl::sim::simulate_ketamine(tiny, o); }),
                 "resolution must be between 1 and 4 mm, got 0.5"));
  o.resolution = 2;
  o.effect = -1;
  CHECK(contains(error_of<nl::ValueError>([&] { nl::sim::simulate_ketamine(tiny, o); }),
                 "effect must be between 0 and 10, got -1"));
}

TEST_CASE("ketamine files: participants.tsv, ground_truth.tsv, maps, directory policy", "[sim][real]") {
  if (!aal_installed()) {
    WARN("skip: mricron-data's AAL is not installed");
    return;
  }
  const auto k = nl::sim::simulate_ketamine(aal(), {});
  const auto md = subjects_of(k, Cohort::ExternalMD);
  TempDir tmp;
  const std::string dir = tmp.path + "/out/sim";  // parents are created
  nl::sim::write_ketamine(k, md, dir, {});

  std::ifstream in(dir + "/participants.tsv");
  std::string header;
  std::getline(in, header);
  CHECK(header == "participant_id\tcohort\tarm\tage\tsex\tsite\ttiv\tmadrs_pre\tmadrs_post\tgm_path");
  const nl::Table p = nl::read_table(dir + "/participants.tsv");
  REQUIRE(p.nrows() == 22);
  CHECK(p.column("participant_id")->string(0) == "sub-149");
  CHECK(p.column("cohort")->string(0) == "external_md");
  CHECK(p.column("arm")->string(0) == "ketamine");
  CHECK(p.column("site")->string(0) == "MD");
  CHECK(p.column("gm_path")->string(21) == "gm/sub-170_gm.nii.gz");
  for (std::size_t i = 0; i < 22; ++i) {
    const auto& s = k.subjects[md[i]];
    CHECK(p.column("age")->number(i) == s.age);
    CHECK(p.column("tiv")->number(i) == s.tiv);
    CHECK(p.column("madrs_pre")->number(i) == s.madrs_pre);
    CHECK(p.column("sex")->string(i) == (s.female ? "F" : "M"));
  }
  const nl::Table truth = nl::read_table(dir + "/ground_truth.tsv");
  CHECK(truth.nrows() == k.planted.size());
  CHECK(truth.column("effect_size")->number(3) == k.planted[3].effect_size);

  // A map read back sums to the simulated volumes (float32 on disk).
  const nl::Volume v = nl::load_volume(dir + "/gm/sub-160_gm.nii.gz");
  CHECK(v.info.source_type == nl::DataType::Float32);
  const nl::Summary sum = nl::summarize(*aal(), {&v}, nl::SummaryStat::VolumeMl);
  for (std::size_t r = 0; r < 116; ++r)
    CHECK(sum.table.columns()[r]->number(0) == Approx(k.volumes(159, static_cast<Eigen::Index>(r))).epsilon(1e-6));
  std::size_t maps = 0;
  for (const auto& f : fs::directory_iterator(dir + "/gm")) maps += f.path().string().ends_with("_gm.nii.gz");
  CHECK(maps == 22);

  // Policy: a previous output needs overwrite; unrelated files are refused, never removed.
  auto e = error_of<nl::FileError>([&] { nl::sim::write_ketamine(k, md, dir, {}); });
  CHECK(contains(e, "directory is not empty; it holds a previous simulator output: pass overwrite = true"));
  std::ofstream(dir + "/notes.txt") << "mine\n";
  nl::sim::OutputOptions ow;
  ow.overwrite = true;
  nl::sim::write_ketamine(k, {md[0], md[1]}, dir, ow);
  CHECK(nl::read_table(dir + "/participants.tsv").nrows() == 2);
  CHECK(fs::exists(dir + "/notes.txt"));

  const std::string other = tmp.path + "/other";
  fs::create_directories(other);
  std::ofstream(other + "/data.csv") << "x\n1\n";
  e = error_of<nl::FileError>([&] { nl::sim::write_ketamine(k, md, other, ow); });
  CHECK(contains(e, "holds no previous simulator output"));
  e = error_of<nl::FileError>([&] { nl::sim::write_ketamine(k, md, other, {}); });
  CHECK(contains(e, "choose a new or empty directory"));
  CHECK(fs::exists(other + "/data.csv"));
  CHECK(!fs::exists(other + "/gm"));
  e = error_of<nl::FileError>([&] { nl::sim::write_ketamine(k, md, other + "/data.csv", {}); });
  CHECK(contains(e, "exists and is not a directory"));
}

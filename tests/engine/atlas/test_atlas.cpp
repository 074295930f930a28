// tests/engine/atlas/test_atlas.cpp: label tables, atlases by name and path, regions, summaries, painting,
// region time series, regional-value tables (FreeSurfer, CAT12).
//
// References: tests/data/atlas/{fixture,tiny}.txt from tests/data/nifti/make_fixtures.py
// (nibabel + NumPy).
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "nl/atlas/atlas.hpp"
#include "nl/core/core.hpp"
#include "nl/image/image.hpp"
#include "nl/table/table.hpp"

namespace {

const std::string atlas_dir = std::string(NL_TEST_DATA) + "/atlas/";
const std::string shared_dir = NL_SHARED_DATA;

bool exists(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0;
}

std::map<std::string, std::vector<double>> read_fixture(const std::string& path) {
  std::map<std::string, std::vector<double>> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    std::string key;
    ss >> key;
    double x;
    while (ss >> x) out[key].push_back(x);
  }
  return out;
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

double cell(const nl::Table& t, const std::string& col, std::size_t row) { return t.column(col)->number(row); }

std::shared_ptr<nl::Atlas> tiny(const std::string& labels, bool strict = true) {
  nl::AtlasOptions o;
  o.strict = strict;
  return nl::load_atlas(atlas_dir + "tiny.nii.gz", labels.empty() ? "" : atlas_dir + labels, o);
}

bool aal_installed() {
  for (const auto& e : nl::known_atlases())
    if (e.name == "aal") return e.installed;
  return false;
}

}  // namespace

// ---------------------------------------------------------------- label tables

TEST_CASE("label tables in every format give the same regions", "[atlas]") {
  for (const std::string f : {"tiny.nii.txt", "tiny.tsv", "tiny_noheader.csv", "tiny_cat12.csv", "tiny.json"}) {
    INFO(f);
    const auto regions = nl::read_labels(atlas_dir + f);
    REQUIRE(regions.size() == 3);
    CHECK(regions[0].index == 1);
    CHECK(regions[2].index == 3);
    CHECK(regions[2].name == "Gamma");
    CHECK(regions[0].name == "Alpha_L");
    CHECK((regions[1].name == "Beta R" || regions[1].name == "Beta_R"));
  }
  // Found next to the image by mricron's naming convention.
  CHECK(tiny("")->labels_path() == atlas_dir + "tiny.nii.txt");
}

TEST_CASE("bad label tables give errors naming the file and line", "[atlas][bad]") {
  std::string m = error_of<nl::FileError>([] { nl::read_labels(atlas_dir + "tiny_dup.txt"); });
  CHECK(contains(m, "tiny_dup.txt' line 4: duplicate index 2 (already given on line 2)"));
  m = error_of<nl::FileError>([] { nl::read_labels(atlas_dir + "tiny_badindex.txt"); });
  CHECK(contains(m, "line 2: index 'x' is not an integer"));
  m = error_of<nl::FileError>([] { tiny("tiny_extra.txt"); });
  CHECK(contains(m, "tiny_extra.txt"));
  CHECK(contains(m, "1 region of the label table has no voxel in the image"));
  CHECK(contains(m, "4 Delta"));
  m = error_of<nl::FileError>([] { tiny("tiny_missing.txt"); });
  CHECK(contains(m, "label 3 occurs in the image"));
  CHECK(contains(m, "but not in the label table"));
  CHECK(error_of<nl::FileError>([] { nl::read_labels(atlas_dir + "nope.txt"); }).find("cannot open") !=
        std::string::npos);
}

TEST_CASE("strict = false turns table/image mismatches into notices", "[atlas]") {
  const auto a = tiny("tiny_extra.txt", false);
  CHECK(a->size() == 4);
  REQUIRE(a->notices().size() == 1);
  CHECK(contains(a->notices()[0], "kept with 0 voxels"));
  const auto b = tiny("tiny_missing.txt", false);
  REQUIRE(b->size() == 3);
  CHECK(b->regions()[2].name == "label_3");
  CHECK(contains(b->notices()[0], "added as label_<n>"));
}

// ---------------------------------------------------------------- regions

TEST_CASE("toy atlas regions match NumPy counts and centroids", "[atlas]") {
  const auto ref = read_fixture(atlas_dir + "tiny.txt");
  const auto a = tiny("tiny.json");
  const nl::Table t = nl::regions_table(*a);
  REQUIRE(t.nrows() == 3);
  for (std::size_t r = 0; r < 3; ++r) {
    const std::string k = std::to_string(r + 1);
    CHECK(cell(t, "voxels", r) == ref.at("tiny.count." + k)[0]);
    CHECK(cell(t, "volume_ml", r) == Approx(ref.at("tiny.count." + k)[0] * 8 / 1000.0));
    CHECK(cell(t, "centroid_x", r) == Approx(ref.at("tiny.centroid." + k)[0]));
    CHECK(cell(t, "centroid_y", r) == Approx(ref.at("tiny.centroid." + k)[1]));
    CHECK(cell(t, "centroid_z", r) == Approx(ref.at("tiny.centroid." + k)[2]));
  }
  CHECK(t.column("name")->string(1) == "Beta R");
}

TEST_CASE("AAL from mricron-data: 116 regions, counts and centroids", "[atlas][real]") {
  if (!aal_installed()) {
    WARN("skip: mricron-data's AAL is not installed");
    return;
  }
  const auto ref = read_fixture(atlas_dir + "fixture.txt");
  const auto aal = nl::load_atlas("aal", "", {});
  REQUIRE(aal->size() == 116);
  CHECK(aal->regions()[36].name == "Hippocampus_L");
  const nl::Table t = nl::regions_table(*aal);
  double total = 0;
  for (std::size_t r = 0; r < t.nrows(); ++r) total += cell(t, "voxels", r);
  CHECK(total == ref.at("aal.labelled")[0]);
  for (int r : {1, 2, 37, 38, 71, 116}) {
    const std::string k = std::to_string(r);
    const auto row = static_cast<std::size_t>(r - 1);
    CHECK(cell(t, "index", row) == r);
    CHECK(cell(t, "voxels", row) == ref.at("aal.count." + k)[0]);
    CHECK(cell(t, "centroid_x", row) == Approx(ref.at("aal.centroid." + k)[0]).margin(1e-9));
    CHECK(cell(t, "centroid_y", row) == Approx(ref.at("aal.centroid." + k)[1]).margin(1e-9));
    CHECK(cell(t, "centroid_z", row) == Approx(ref.at("aal.centroid." + k)[2]).margin(1e-9));
  }
}

TEST_CASE("AAL on CAT12's 1.5 mm grid: nearest neighbour with ties up, as NumPy", "[atlas][real]") {
  if (!aal_installed()) {
    WARN("skip: mricron-data's AAL is not installed");
    return;
  }
  const auto ref = read_fixture(atlas_dir + "fixture.txt");
  const auto aal = nl::load_atlas("aal", "", {});
  nl::Affine A;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) A(r, c) = ref.at("aal15.target_affine")[static_cast<std::size_t>(4 * r + c)];
  nl::Volume ones(nl::make_grid({121, 145, 121}, A), 1);
  std::fill(ones.data(), ones.data() + ones.size(), 1.0f);
  const nl::Summary s = nl::summarize(*aal, {&ones}, nl::SummaryStat::Sum);
  REQUIRE(s.notices.size() >= 1);
  CHECK(contains(s.notices[0], "resampled to the image grid (121x145x121, 1.5 mm)"));
  for (int r : {1, 2, 37, 38, 71, 116})
    CHECK(cell(s.table, aal->regions()[static_cast<std::size_t>(r - 1)].name, 0) ==
          ref.at("aal15.count." + std::to_string(r))[0]);
}

TEST_CASE("every installed atlas loads by name", "[atlas][real]") {
  const std::map<std::string, std::size_t> sizes = {{"aal", 116},     {"harvard-oxford", 48}, {"brodmann", 41},
                                                    {"aicha", 192},   {"jhu", 48},            {"jhu-2mm", 48}};
  for (const auto& e : nl::known_atlases()) {
    INFO(e.name);
    if (!e.installed) continue;
    const auto a = nl::load_atlas(e.name, "", {});
    CHECK(a->size() == sizes.at(e.name));
  }
  if (exists(nl::atlas_dir() + "/brodmann.nii.gz")) {
    const auto b = nl::load_atlas("brodmann", "", {});
    CHECK(b->regions()[0].name == "BA1");
    CHECK(b->regions().back().name == "BA48");
  }
  if (exists(nl::atlas_dir() + "/HarvardOxford-cort-maxprob-thr0-1mm.nii.gz")) {
    const auto ho = nl::load_atlas("harvard-oxford", "", {});
    CHECK(ho->regions()[6].name == "Precentral Gyrus");
  }
  const std::string m = error_of<nl::FileError>([] { nl::load_atlas("destrieux", "", {}); });
  CHECK(contains(m, "unknown atlas 'destrieux'"));
  CHECK(contains(m, "aal, harvard-oxford, brodmann, aicha, jhu"));
}

// ---------------------------------------------------------------- summaries

TEST_CASE("MNI GM summarized over AAL matches NumPy (atlas resampled, with notice)", "[atlas][real]") {
  const std::string gm_path = shared_dir + "/mni152/mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz";
  if (!aal_installed() || !exists(gm_path)) {
    WARN("skip: AAL or ../shared/data absent");
    return;
  }
  const auto ref = read_fixture(atlas_dir + "fixture.txt");
  const auto aal = nl::load_atlas("aal", "", {});
  const nl::Volume gm = nl::load_volume(gm_path);
  const std::vector<const nl::Volume*> vols = {&gm, &gm};
  for (const auto& [stat, key] : std::vector<std::pair<nl::SummaryStat, std::string>>{
           {nl::SummaryStat::Sum, "sum"}, {nl::SummaryStat::Mean, "mean"},
           {nl::SummaryStat::Median, "median"}, {nl::SummaryStat::VolumeMl, "volume_ml"}}) {
    INFO(key);
    const nl::Summary s = nl::summarize(*aal, vols, stat);
    REQUIRE(s.table.nrows() == 2);
    REQUIRE(s.table.ncols() == 116);
    for (int r : {1, 2, 37, 38, 71, 116}) {
      const auto& name = aal->regions()[static_cast<std::size_t>(r - 1)].name;
      CHECK(cell(s.table, name, 0) == Approx(ref.at("aal_gm." + key + "." + std::to_string(r))[0]).epsilon(1e-12));
      CHECK(cell(s.table, name, 1) == cell(s.table, name, 0));
    }
  }
  // The resampling notice is given once per grid.
  std::vector<std::string> notices;
  aal->index_on(gm.grid(), notices, "x");
  CHECK(notices.empty());
}

TEST_CASE("summaries on the atlas grid, paint, time series, overlap", "[atlas]") {
  const auto a = tiny("tiny.nii.txt");
  const nl::Volume p = nl::paint(*a, {1.5, -2.0, 10.0}, 0.0);
  CHECK(p.info.source_type == nl::DataType::Float32);
  const nl::Summary s = nl::summarize(*a, {&p}, nl::SummaryStat::Mean);
  CHECK(s.notices.empty());
  CHECK(cell(s.table, "Alpha_L", 0) == 1.5);
  CHECK(cell(s.table, "Beta_R", 0) == -2.0);
  CHECK(cell(s.table, "Gamma", 0) == 10.0);
  CHECK(cell(nl::summarize(*a, {&p}, nl::SummaryStat::Sum).table, "Gamma", 0) == 360.0);
  CHECK(cell(nl::summarize(*a, {&p}, nl::SummaryStat::VolumeMl).table, "Gamma", 0) == Approx(360.0 * 8 / 1000));
  CHECK_THROWS_AS(nl::paint(*a, {1, 2}, 0), nl::ValueError);

  // 4-D: frames x regions means; summarize refuses it.
  nl::Volume v4(a->labels().grid(), 2);
  std::copy(p.data(), p.data() + p.size(), v4.frame_data(0));
  for (std::size_t i = 0; i < p.size(); ++i) v4.frame_data(1)[i] = 2 * p.data()[i];
  std::vector<std::string> notices;
  const nl::Matrix ts = nl::region_timeseries(*a, v4, notices);
  CHECK(ts.rows() == 2);
  CHECK(ts(1, 2) == 20.0);
  CHECK(contains(error_of<nl::ValueError>([&] { nl::summarize(*a, {&v4}, nl::SummaryStat::Mean); }), "is 4-D"));

  // A NaN voxel is left out of the mean.
  nl::Volume q = p;
  q.data()[q.offset(2, 2, 2)] = std::nanf("");
  CHECK(cell(nl::summarize(*a, {&q}, nl::SummaryStat::Mean).table, "Alpha_L", 0) == 1.5);

  // A volume on another grid: the atlas is resampled (notice); far away: an error.
  nl::Affine shifted = a->labels().grid().affine;
  shifted(0, 3) += 1.0;
  nl::Volume moved(nl::make_grid({10, 10, 10}, shifted), 1);
  const nl::Summary sm = nl::summarize(*a, {&moved}, nl::SummaryStat::Sum);
  REQUIRE(sm.notices.size() >= 1);
  CHECK(contains(sm.notices[0], "resampled to the image grid"));
  shifted(0, 3) += 1000.0;
  nl::Volume far(nl::make_grid({10, 10, 10}, shifted), 1);
  const std::string m = error_of<nl::ValueError>([&] { nl::summarize(*a, {&p, &far}, nl::SummaryStat::Sum); });
  CHECK(contains(m, "volume 2 of 2 does not overlap atlas 'tiny' in world space"));
}

// ---------------------------------------------------------------- regional-value tables

TEST_CASE("FreeSurfer and CAT12 regional tables", "[atlas]") {
  const nl::Table fs = nl::read_roi_table(atlas_dir + "aparc_small.tsv");
  REQUIRE(fs.nrows() == 2);
  CHECK(fs.names() == std::vector<std::string>{"subject", "lh_bankssts_volume", "lh_cuneus_volume"});
  CHECK(fs.column("subject")->string(1) == "Site_0050002");
  CHECK(cell(fs, "lh_cuneus_volume", 0) == 2716.5);
  CHECK(fs.column("lh_cuneus_volume")->is_missing(1));
  const nl::Table cat = nl::read_roi_table(atlas_dir + "cat12_roi.csv");
  CHECK(cat.names()[1] == "Left Hippocampus");
  CHECK(cell(cat, "Right Hippocampus", 1) == 3.33);
  const std::string m = error_of<nl::FileError>([] { nl::read_roi_table(atlas_dir + "bad_roi.tsv"); });
  CHECK(contains(m, "bad_roi.tsv' line 3, column 3 ('b'): 'abc' is not a number"));
}

TEST_CASE("ABIDE FreeSurfer tables read and join with the phenotypes", "[atlas][real]") {
  const std::string dir = shared_dir + "/abide_fs6/";
  if (!exists(dir + "aseg_table.tsv")) {
    WARN("skip: ../shared/data/abide_fs6 absent");
    return;
  }
  const nl::Table aseg = nl::read_roi_table(dir + "aseg_table.tsv");
  CHECK(aseg.nrows() == 1035);
  CHECK(aseg.column("IntraCranialVol")->missing_count() == 0);
  const nl::Table lh = nl::read_roi_table(dir + "lh.aparc_table_volume.tsv");
  CHECK(lh.nrows() == 1035);
  const nl::Table brain = nl::read_roi_table(dir + "brainstats_abide_with_pial.txt");  // space-separated
  CHECK(brain.nrows() == 1035);
  CHECK(brain.column("EstimatedTotalIntraCranialVol")->number(0) == 1697598.984182);
  // Keys SITE_00SUBID -> SUB_ID, then a many-to-one join on the phenotypes.
  const auto& key = *aseg.column("subject");
  std::vector<double> ids(key.size());
  for (std::size_t i = 0; i < key.size(); ++i) ids[i] = std::stod(key.string(i).substr(key.string(i).rfind('_') + 1));
  nl::Table keyed = aseg;
  keyed.set(std::make_shared<const nl::Column>(nl::Column::numbers("SUB_ID", ids)));
  const nl::Table pheno = nl::read_table(dir + "phenotypes.csv");
  nl::JoinOptions jo;
  jo.left_key = "SUB_ID";
  const nl::Table joined = keyed.join(pheno, jo);
  CHECK(joined.nrows() >= 1000);
  CHECK(joined.find("DX_GROUP") != nullptr);
  CHECK(joined.find("Left-Hippocampus") != nullptr);
}

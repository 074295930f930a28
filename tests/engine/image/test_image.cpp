// tests/engine/image/test_image.cpp: nl::Volume, NIfTI I/O, affines, arithmetic, smoothing, resampling.
//
// References come from tests/data/nifti/make_fixtures.py (nibabel, NumPy, SciPy), never
// from neurolua's own earlier output.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/image/image.hpp"

using nl::Volume;

namespace {

const std::string nifti_dir = std::string(NL_TEST_DATA) + "/nifti/";
const std::string shared_dir = NL_SHARED_DATA;
const std::string nibabel_dir = "/usr/lib/python3/dist-packages/nibabel/tests/data/";

bool exists(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0;
}

// key -> values of a fixture file ("key v1 v2 ..." lines, '#' comments).
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

const std::map<std::string, std::vector<double>>& small() {
  static const auto f = read_fixture(nifti_dir + "small.txt");
  return f;
}
const std::map<std::string, std::vector<double>>& real() {
  static const auto f = read_fixture(nifti_dir + "fixture.txt");
  return f;
}

double sum(const Volume& v) {
  double s = 0;
  for (std::size_t i = 0; i < v.size(); ++i) s += v.data()[i];
  return s;
}

void check_affine(const nl::Affine& a, const std::vector<double>& ref, double tol) {
  REQUIRE(ref.size() == 16);
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) CHECK(a(r, c) == Approx(ref[static_cast<std::size_t>(4 * r + c)]).margin(tol));
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

std::string temp_path(const std::string& ext) {
  char tmpl[] = "/tmp/nl_test_image_XXXXXX";
  const int fd = ::mkstemp(tmpl);
  ::close(fd);
  ::unlink(tmpl);
  return std::string(tmpl) + ext;
}

void check_same(const Volume& a, const Volume& b) {
  REQUIRE(a.grid().dims == b.grid().dims);
  REQUIRE(a.frames() == b.frames());
  CHECK(a.grid().affine == b.grid().affine);
  CHECK(a.grid().qform_code == b.grid().qform_code);
  CHECK(a.grid().sform_code == b.grid().sform_code);
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!(a.data()[i] == b.data()[i] || (std::isnan(a.data()[i]) && std::isnan(b.data()[i])))) {
      FAIL("voxel " << i << " differs: " << a.data()[i] << " vs " << b.data()[i]);
    }
}

}  // namespace

// ---------------------------------------------------------------- loading

TEST_CASE("small images load with nibabel's affines, scaling and values", "[image]") {
  for (const std::string name : {"scaled_int16.nii.gz", "sform_only.nii", "qform_only.nii.gz", "no_xform.nii",
                                 "float64.nii.gz", "nifti2_4d.nii.gz"}) {
    INFO(name);
    const Volume v = nl::load_volume(nifti_dir + name);
    const auto& dims = small().at(name + ".dims");
    CHECK(v.nx() == dims[0]);
    CHECK(v.ny() == dims[1]);
    CHECK(v.nz() == dims[2]);
    CHECK(v.frames() == (dims.size() > 3 ? dims[3] : 1));
    check_affine(v.grid().affine, small().at(name + ".affine"), 1e-6);
    CHECK(sum(v) == Approx(small().at(name + ".sum")[0]).epsilon(1e-12));
    const auto& first = small().at(name + ".first");
    for (std::size_t i = 0; i < first.size(); ++i) CHECK(v.data()[i] == first[i]);
    CHECK(v.data()[v.size() - 1] == small().at(name + ".last")[0]);
  }
}

TEST_CASE("header fields: datatype, scaling, version, codes", "[image]") {
  const Volume s = nl::load_volume(nifti_dir + "scaled_int16.nii.gz");
  CHECK(s.info.source_type == nl::DataType::Int16);
  CHECK(s.info.scaled);
  CHECK(nl::output_datatype(s, {}) == nl::DataType::Float32);
  const Volume u = nl::load_volume(nifti_dir + "sform_only.nii");
  CHECK(u.info.source_type == nl::DataType::UInt8);
  CHECK_FALSE(u.info.scaled);
  CHECK(u.grid().sform_code == 4);
  CHECK(u.grid().qform_code == 0);
  CHECK(u.grid().orientation() == "LAS");
  CHECK(nl::output_datatype(u, {}) == nl::DataType::UInt8);
  const Volume n2 = nl::load_volume(nifti_dir + "nifti2_4d.nii.gz");
  CHECK(n2.info.nifti_version == 2);
  CHECK(n2.ndim() == 4);
  const Volume q = nl::load_volume(nifti_dir + "qform_only.nii.gz");
  CHECK(q.grid().sform_code == 0);
  CHECK(q.grid().qform_code == 1);
  CHECK(nl::format_volume(u) == "[Volume 7x6x5, 2 mm, uint8, LAS]");
}

TEST_CASE("save/load round trips keep data, affine, codes and datatype", "[image]") {
  for (const std::string name : {"scaled_int16.nii.gz", "sform_only.nii", "qform_only.nii.gz", "no_xform.nii",
                                 "float64.nii.gz", "nifti2_4d.nii.gz", "good_int16.nii"}) {
    for (const std::string ext : {".nii", ".nii.gz"}) {
      INFO(name << " -> " << ext);
      const Volume v = nl::load_volume(nifti_dir + name);
      const std::string out = temp_path(ext);
      nl::save_volume(v, out);
      const Volume w = nl::load_volume(out);
      check_same(v, w);
      CHECK(w.info.nifti_version == v.info.nifti_version);
      CHECK(w.info.source_type == nl::output_datatype(v, {}));
      ::unlink(out.c_str());
    }
  }
}

TEST_CASE("save: forced datatypes, bad names, atomic replacement", "[image]") {
  const Volume v = nl::load_volume(nifti_dir + "good_int16.nii");
  const std::string out = temp_path(".nii.gz");
  nl::SaveOptions o;
  o.datatype = nl::DataType::Float64;
  nl::save_volume(v, out, o);
  CHECK(nl::load_volume(out).info.source_type == nl::DataType::Float64);
  o.datatype = nl::DataType::UInt8;  // values up to 999 do not fit
  const std::string msg = error_of<nl::ValueError>([&] { nl::save_volume(v, out, o); });
  CHECK(msg.find("cannot be stored exactly as uint8") != std::string::npos);
  CHECK(msg.find("voxel (") != std::string::npos);
  CHECK(nl::load_volume(out).info.source_type == nl::DataType::Float64);  // untouched
  CHECK(error_of<nl::ValueError>([&] { nl::save_volume(v, "/tmp/x.img"); }).find(".nii or .nii.gz") != std::string::npos);
  CHECK(error_of<nl::FileError>([&] { nl::save_volume(v, "/nonexistent/dir/x.nii"); }).find("cannot write") !=
        std::string::npos);
  // Saving over the file a volume came from works and leaves no temporary behind.
  const Volume w = nl::load_volume(out);
  nl::save_volume(w, out);
  check_same(w, nl::load_volume(out));
  ::unlink(out.c_str());
}

TEST_CASE("bad files give clear errors naming the file", "[image][bad]") {
  auto msg = [](const std::string& name) {
    return error_of<nl::FileError>([&] { nl::load_volume(nifti_dir + name); });
  };
  std::string m = msg("truncated.nii.gz");
  CHECK(m.find("truncated.nii.gz") != std::string::npos);
  CHECK(m.find("truncated: read") != std::string::npos);
  CHECK(m.find("(unexpected end of file)") != std::string::npos);
  m = msg("truncated.nii");
  CHECK(m.find("truncated: the header needs 2000 bytes") != std::string::npos);
  m = msg("wrong_magic.nii");
  CHECK(m.find("wrong magic number 'XYZ\\x00'") != std::string::npos);
  m = msg("huge_dims.nii.gz");
  CHECK(m.find("30000x30000x30000x30000") != std::string::npos);
  CHECK(m.find("more than the budget") != std::string::npos);
  CHECK(msg("zero_dim.nii").find("dimension 2 is 0") != std::string::npos);
  CHECK(msg("negative_dim.nii").find("dimension 3 is -5") != std::string::npos);
  CHECK(msg("complex.nii").find("datatype 32 (complex64) is not supported") != std::string::npos);
  CHECK(msg("not_nifti.nii.gz").find("not a NIfTI file") != std::string::npos);
  CHECK(msg("missing.nii").find("cannot open") != std::string::npos);
  CHECK(error_of<nl::FileError>([] { nl::load_volume(nifti_dir); }).find("directory") != std::string::npos);
}

TEST_CASE("the memory budget is checked before allocating", "[image][bad]") {
  nl::set_memory_budget(1000);
  const std::string m = error_of<nl::FileError>([] { nl::load_volume(nifti_dir + "good_int16.nii"); });
  nl::set_memory_budget(0);
  CHECK(m.find("3.9 KB of memory, more than the budget of 1000 bytes") != std::string::npos);
  CHECK(nl::memory_budget() > 1000);
  CHECK_NOTHROW(nl::load_volume(nifti_dir + "good_int16.nii"));
}

TEST_CASE("load_volumes keeps order and names the failing file", "[image]") {
  std::vector<std::string> paths;
  for (int i = 0; i < 6; ++i) paths.push_back(nifti_dir + (i % 2 ? "sform_only.nii" : "good_int16.nii"));
  const auto vs = nl::load_volumes(paths);
  REQUIRE(vs.size() == 6);
  for (int i = 0; i < 6; ++i) CHECK(vs[static_cast<std::size_t>(i)]->nx() == (i % 2 ? 7 : 10));
  paths[4] = nifti_dir + "wrong_magic.nii";
  const std::string m = error_of<nl::FileError>([&] { nl::load_volumes(paths); });
  CHECK(m.find("file 5 of 6") != std::string::npos);
  CHECK(m.find("wrong_magic.nii") != std::string::npos);
}

// ---------------------------------------------------------------- real images

TEST_CASE("nibabel's 4-D, NIfTI-2 and big-endian examples", "[image][real]") {
  if (!exists(nibabel_dir + "example4d.nii.gz")) {
    WARN("skip: python3-nibabel's test data not installed");
    return;
  }
  const Volume v = nl::load_volume(nibabel_dir + "example4d.nii.gz");
  CHECK(v.ndim() == 4);
  CHECK(v.frames() == 2);
  check_affine(v.grid().affine, real().at("example4d.affine"), 1e-9);
  CHECK(sum(v) == real().at("example4d.sum")[0]);
  CHECK(v.tr() == 2000.0);  // the file says 2000 with unit "sec"
  CHECK(v.grid().orientation() == "LAS");
  CHECK(v.data()[v.offset(64, 48, 12, 1)] == real().at("example4d.value.64_48_12_1")[0]);
  const auto w = v.grid().to_world({64, 48, 12});
  const auto& ref = real().at("example4d.world.64_48_12");
  for (int i = 0; i < 3; ++i) CHECK(w(i) == Approx(ref[static_cast<std::size_t>(i)]).margin(1e-9));
  const auto vox = v.grid().to_voxel(w);
  CHECK(vox(0) == Approx(64).margin(1e-9));
  Volume mask(v.grid(), 1);
  mask.data()[mask.offset(64, 48, 12)] = 1;
  const nl::Matrix ts = nl::timeseries(v, mask);
  REQUIRE(ts.rows() == 2);
  CHECK(ts(0, 0) == real().at("example4d.timeseries.64_48_12")[0]);
  CHECK(ts(1, 0) == real().at("example4d.timeseries.64_48_12")[1]);
  CHECK(sum(nl::frame(v, 1)) == real().at("example4d.frame_sums")[1]);

  const Volume n2 = nl::load_volume(nibabel_dir + "example_nifti2.nii.gz");
  CHECK(n2.info.nifti_version == 2);
  CHECK(sum(n2) == real().at("nifti2.sum")[0]);
  check_affine(n2.grid().affine, real().at("nifti2.affine"), 1e-9);
  const Volume be = nl::load_volume(nibabel_dir + "anatomical.nii");
  CHECK(sum(be) == real().at("bigendian.sum")[0]);
  CHECK(be.data()[be.offset(16, 20, 12)] == real().at("bigendian.value.16_20_12")[0]);
}

TEST_CASE("IXI T1 and MNI GM: header, values, exact round trip", "[image][real]") {
  const std::string ixi = shared_dir + "/ixi_t1/IXI012-HH-1211_T1.nii.gz";
  if (!exists(ixi)) {
    WARN("skip: ../shared/data not found (" << shared_dir << ")");
    return;
  }
  const Volume v = nl::load_volume(ixi);
  check_affine(v.grid().affine, real().at("ixi012.affine"), 1e-9);
  CHECK(sum(v) == real().at("ixi012.sum")[0]);
  CHECK(v.grid().orientation() == "PSR");
  CHECK(v.data()[v.offset(10, 20, 30)] == real().at("ixi012.value.10_20_30")[0]);
  for (const std::string ext : {".nii", ".nii.gz"}) {
    const std::string out = temp_path(ext);
    nl::save_volume(v, out);
    const Volume w = nl::load_volume(out);
    check_same(v, w);
    CHECK(v.info.scaled);  // uint8 with scl_slope 13.9: saved as float32, values exact
    CHECK(w.info.source_type == nl::DataType::Float32);
    ::unlink(out.c_str());
  }
  const Volume gm = nl::load_volume(shared_dir + "/mni152/mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz");
  check_affine(gm.grid().affine, real().at("mni_gm.affine"), 1e-9);
  CHECK(sum(gm) == real().at("mni_gm.sum")[0]);
  CHECK(gm.grid().orientation() == "RAS");
}

TEST_CASE("smoothing and resampling agree with SciPy", "[image][real]") {
  const std::string ixi = shared_dir + "/ixi_t1/IXI012-HH-1211_T1.nii.gz";
  if (!exists(ixi) || !real().count("ixi012.smooth8.60_60_45")) {
    WARN("skip: ../shared/data or the SciPy references are absent");
    return;
  }
  const Volume v = nl::load_volume(ixi);
  const Volume s = nl::smooth(v, {8, 8, 8});
  for (const std::string key : {"60_60_45", "40_70_50", "80_50_30"}) {
    int i, j, k;
    std::sscanf(key.c_str(), "%d_%d_%d", &i, &j, &k);
    // The same sampled kernel as SciPy's gaussian_filter (float32 arithmetic here).
    CHECK(s.data()[s.offset(i, j, k)] == Approx(real().at("ixi012.smooth8." + key)[0]).epsilon(1e-5));
  }
  CHECK(sum(s) == Approx(sum(v)).epsilon(0.01));  // mass is (nearly) preserved

  const auto& ta = real().at("resample.target_affine");
  nl::Affine A;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) A(r, c) = ta[static_cast<std::size_t>(4 * r + c)];
  const nl::Grid g = nl::make_grid({61, 73, 61}, A);
  const Volume r = nl::resample(v, g, nl::Interpolation::Linear);
  CHECK(r.grid().orientation() == "RAS");
  for (const std::string key : {"30_36_30", "20_40_35", "35_30_25", "30_50_40"}) {
    int i, j, k;
    std::sscanf(key.c_str(), "%d_%d_%d", &i, &j, &k);
    CHECK(r.data()[r.offset(i, j, k)] == Approx(real().at("resample.linear." + key)[0]).epsilon(1e-4).margin(1e-3));
  }
  const Volume n = nl::resample(v, g, nl::Interpolation::Nearest);
  CHECK(n.info.source_type == nl::DataType::UInt8);
  // Round trip through a finer grid with nearest neighbour returns the original voxels.
  const Volume back = nl::resample(nl::resample(v, v.grid(), nl::Interpolation::Nearest), v.grid(),
                                   nl::Interpolation::Nearest);
  check_same(v, back);
}

// ---------------------------------------------------------------- computed volumes

TEST_CASE("a smoothed point source has the requested FWHM", "[image]") {
  const nl::Grid g = nl::make_grid({41, 41, 41}, nl::Affine(Eigen::Vector4d(2.0, 2.0, 2.0, 1.0).asDiagonal()));
  Volume v(g, 1);
  v.data()[v.offset(20, 20, 20)] = 1000.0f;
  const Volume s = nl::smooth(v, {8, 8, 8});
  double m0 = 0, m2 = 0;
  for (std::int64_t i = 0; i < 41; ++i) {
    const double x = s.data()[s.offset(i, 20, 20)];
    m0 += x;
    m2 += x * std::pow((static_cast<double>(i) - 20) * 2.0, 2);
  }
  const double sigma = std::sqrt(m2 / m0), want = 8.0 / std::sqrt(8 * std::log(2.0));
  CHECK(sigma == Approx(want).epsilon(0.002));
  CHECK(sum(s) == Approx(1000.0).epsilon(1e-3));
  // Only the axes with a non-zero FWHM are smoothed.
  const Volume yz = nl::smooth(v, {0, 8, 8});
  CHECK(yz.data()[yz.offset(19, 20, 20)] == 0.0f);
  CHECK(yz.data()[yz.offset(20, 21, 20)] > 0.0f);
  CHECK_THROWS_AS(nl::smooth(v, {-1, 8, 8}), nl::ValueError);
  const Volume same = nl::smooth(v, {0, 0, 0});
  check_same(v, same);
}

TEST_CASE("arithmetic, masks, values, stats", "[image]") {
  const Volume a = nl::load_volume(nifti_dir + "sform_only.nii");
  const Volume b = nl::combine(a, 2.0, nl::ArithOp::Mul, false);
  CHECK(b.data()[3] == 2 * a.data()[3]);
  CHECK(b.info.source_type == nl::DataType::Float32);
  const Volume c = nl::combine(b, a, nl::ArithOp::Sub);
  CHECK(sum(c) == Approx(sum(a)));
  CHECK(nl::combine(a, 1.0, nl::ArithOp::Div, true).data()[3] == Approx(1.0 / a.data()[3]));
  const Volume m = nl::compare(a, 100.0, nl::VoxelCmp::Gt);
  CHECK(m.info.source_type == nl::DataType::UInt8);
  const nl::VolumeStats ms = nl::volume_stats(m, nullptr);
  std::size_t above = 0;
  for (std::size_t i = 0; i < a.size(); ++i) above += a.data()[i] > 100;
  CHECK(ms.nonzero == above);
  CHECK(ms.sum == above);
  const nl::Matrix vals = nl::values(a, &m);
  CHECK(static_cast<std::size_t>(vals.rows()) == above);
  CHECK(vals.minCoeff() > 100);
  const nl::VolumeStats st = nl::volume_stats(a, nullptr);
  CHECK(st.sum == small().at("sform_only.nii.sum")[0]);
  CHECK(st.n == a.size());
  const Volume both = nl::logical(m, nl::logical_not(m), nl::VoxelLogic::And);
  CHECK(nl::volume_stats(both, nullptr).nonzero == 0);
  // Different grids and frame counts are refused with a message naming both grids.
  const Volume other = nl::load_volume(nifti_dir + "good_int16.nii");
  const std::string msg = error_of<nl::ValueError>([&] { nl::combine(a, other, nl::ArithOp::Add); });
  CHECK(msg.find("different grids") != std::string::npos);
  CHECK(msg.find("7x6x5") != std::string::npos);
  CHECK(msg.find("10x10x10") != std::string::npos);
  const Volume q = nl::load_volume(nifti_dir + "qform_only.nii.gz");  // same dims, other affine
  CHECK(error_of<nl::ValueError>([&] { nl::combine(a, q, nl::ArithOp::Add); }).find("different affines") !=
        std::string::npos);
  CHECK_THROWS_AS(nl::values(a, &other), nl::ValueError);
}

TEST_CASE("4-D frames broadcast against a 3-D volume", "[image]") {
  const Volume v = nl::load_volume(nifti_dir + "nifti2_4d.nii.gz");
  const Volume f0 = nl::frame(v, 0);
  CHECK(f0.ndim() == 3);
  const Volume d = nl::combine(v, f0, nl::ArithOp::Sub);
  CHECK(d.frames() == 2);
  CHECK(nl::volume_stats(nl::frame(d, 0), nullptr).nonzero == 0);
  CHECK_THROWS_AS(nl::frame(v, 2), nl::ValueError);
  const nl::Matrix all = nl::values(v, nullptr);
  CHECK(all.cols() == 2);
  CHECK(static_cast<std::size_t>(all.rows()) == v.voxels());
}

// tests/engine/image/test_geometry.cpp: headers whose geometry or scaling lies, and
// grids that would make ITK's VNL abort (issue 17, items 4 and 5).
//
// The files are built byte by byte here; tests/data/nifti/make_bad_headers.py writes the
// same headers for the fuzz corpus and prints what nibabel 5.0 makes of each (the
// expected affines below are its output).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "nl/atlas/atlas.hpp"
#include "nl/core/core.hpp"
#include "nl/image/image.hpp"

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// A little-endian single-file NIfTI-1 header with 4x4x4 float32 voxels 1..64, and the
// fields a test changes.
struct Header {
  unsigned char b[352] = {};
  std::vector<unsigned char> data;
  Header() {
    put<std::int32_t>(0, 348);
    const std::int16_t dim[8] = {3, 4, 4, 4, 1, 1, 1, 1};
    std::memcpy(b + 40, dim, sizeof dim);
    put<std::int16_t>(70, 16);
    put<std::int16_t>(72, 32);
    const float pixdim[8] = {1, 2, 2, 2, 1, 1, 1, 1};
    std::memcpy(b + 76, pixdim, sizeof pixdim);
    put<float>(108, 352);
    put<float>(112, 1);
    std::memcpy(b + 344, "n+1\0", 4);
    for (int i = 0; i < 64; ++i) {
      const float x = static_cast<float>(i + 1);
      const auto* p = reinterpret_cast<const unsigned char*>(&x);
      data.insert(data.end(), p, p + 4);
    }
  }
  template <class T>
  Header& put(int offset, T value) {
    std::memcpy(b + offset, &value, sizeof value);
    return *this;
  }
  Header& pixdim(int i, float v) { return put<float>(76 + 4 * i, v); }
  Header& codes(std::int16_t q, std::int16_t s) { return put<std::int16_t>(252, q).put<std::int16_t>(254, s); }
  Header& srow(int r, int c, float v) { return put<float>(280 + 16 * r + 4 * c, v); }
  std::string write(const std::string& name) const {
    const std::string path = "/tmp/nl_test_geometry_" + std::to_string(::getpid()) + "_" + name;
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(b), sizeof b);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    return path;
  }
};

std::string load_error(const Header& h, const std::string& name) {
  const std::string path = h.write(name);
  std::string msg;
  try {
    nl::load_volume(path);
  } catch (const nl::FileError& e) {
    msg = e.what();
  }
  ::unlink(path.c_str());
  if (msg.empty()) FAIL("loading " << name << " did not fail");
  CHECK(msg.find("'" + path + "'") != std::string::npos);
  return msg;
}

nl::Volume load(const Header& h, const std::string& name) {
  const std::string path = h.write(name);
  nl::Volume v = nl::load_volume(path);
  ::unlink(path.c_str());
  return v;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("non-finite geometry in the header is refused on load, naming the field", "[image][bad][geometry]") {
  Header nan_pix;
  nan_pix.pixdim(1, NAN).pixdim(2, NAN).pixdim(3, NAN);
  CHECK(contains(load_error(nan_pix, "nanpix.nii"), "the voxel size pixdim[1] is NaN and no sform gives the voxel sizes"));
  Header nan_sform;
  nan_sform.codes(0, 1).srow(0, 0, NAN).srow(1, 1, 2).srow(2, 2, 2);
  CHECK(contains(load_error(nan_sform, "nansform.nii"),
                 "the sform (used because sform_code is 1) holds a non-finite value, srow_x[0] = NaN"));
  Header nan_q;
  nan_q.codes(1, 0).put<float>(260, NAN);
  CHECK(contains(load_error(nan_q, "nanq.nii"), "quatern_c = NaN"));
  Header inf_offset;
  inf_offset.codes(1, 0).put<float>(272, INFINITY);
  CHECK(contains(load_error(inf_offset, "infoffset.nii"), "qoffset_y = inf"));
  Header singular;
  singular.codes(0, 1).srow(0, 0, 1).srow(0, 1, 1).srow(1, 0, 1).srow(1, 1, 1).srow(2, 2, 2);
  CHECK(contains(load_error(singular, "singular.nii"), "the affine's voxel axes are (nearly) parallel"));
}

TEST_CASE("vox_offset below the header end is refused and scaling beyond float32 is an error", "[image][bad]") {
  Header zero;
  zero.put<float>(108, 0);
  CHECK(contains(load_error(zero, "vox0.nii"), "vox_offset is 0 in the header (unset); a single-file NIfTI-1 stores"));
  Header low;
  low.put<float>(108, 348);
  CHECK(contains(load_error(low, "vox348.nii"), "vox_offset is 348 in the header;"));
  Header slope;
  slope.put<float>(112, 1e38f);
  CHECK(contains(load_error(slope, "slope.nii"), "scale the value at voxel (4, 1, 1) (1-based) to inf"));
  Header inter;
  inter.put<float>(112, 2).put<float>(116, NAN);
  CHECK(contains(load_error(inter, "inter.nii"), "scl_slope is 2 but scl_inter is NaN"));
  // Non-finite voxel values are data, not an overflow, even when scaled.
  Header nan_voxel;
  nan_voxel.put<float>(112, 2);
  const float n = NAN;
  std::memcpy(nan_voxel.data.data() + 8, &n, 4);
  const nl::Volume v = load(nan_voxel, "nanvoxel.nii");
  CHECK(std::isnan(v.data()[2]));
  CHECK(v.data()[3] == 8.0f);
}

TEST_CASE("zero and negative voxel sizes are repaired as nibabel does", "[image][geometry]") {
  Header zero;
  zero.pixdim(1, 0).pixdim(2, 0).pixdim(3, 0);
  const nl::Volume v = load(zero, "zero.nii");
  // nibabel 5.0: [[-1, 0, 0, 1.5], [0, 1, 0, -1.5], [0, 0, 1, -1.5]]
  nl::Affine want;
  want << -1, 0, 0, 1.5, 0, 1, 0, -1.5, 0, 0, 1, -1.5, 0, 0, 0, 1;
  CHECK(v.grid().affine.isApprox(want));
  CHECK(v.grid().spacing().isApprox(Eigen::Vector3d(1, 1, 1)));
  Header neg;
  neg.codes(1, 0).pixdim(1, -3).put<float>(268, 5);
  const nl::Volume q = load(neg, "neg.nii");
  nl::Affine wq;
  wq << 3, 0, 0, 5, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1;  // nibabel: abs(pixdim); nifti_clib took 1
  CHECK(q.grid().affine.isApprox(wq));
}

// The grids below cannot come out of load_volume or make_grid; built by hand they
// stand for any future path that might produce one. Each engine entry point that hands
// a grid to ITK, inverts an affine or divides by a spacing must refuse it with a
// ValueError (which the bindings turn into a Lua error) instead of reaching VNL's abort.
TEST_CASE("degenerate grids never reach ITK: resample, smooth, make_grid, atlases refuse them", "[image][geometry]") {
  nl::Grid good;
  good.dims = {4, 4, 4};
  good.affine = nl::Affine::Identity() * 2.0;
  good.affine(3, 3) = 1;
  std::vector<std::pair<std::string, nl::Grid>> bad;
  for (double x : {kNaN, std::numeric_limits<double>::infinity(), 0.0}) {
    nl::Grid g = good;
    g.affine(0, 0) = x;
    bad.push_back({"spacing " + std::to_string(x), g});
  }
  {
    nl::Grid g = good;
    g.affine(1, 3) = kNaN;
    bad.push_back({"NaN origin", g});
    g = good;
    g.affine.col(1) = g.affine.col(0);
    bad.push_back({"parallel axes", g});
    g = good;
    g.affine(3, 0) = 1;
    bad.push_back({"last row", g});
  }
  nl::Volume ok(good);
  for (const auto& [what, g] : bad) {
    INFO(what);
    CHECK_FALSE(nl::grid_problem(g).empty());
    nl::Volume v(g);
    CHECK_THROWS_AS(nl::resample(v, good, nl::Interpolation::Linear), nl::ValueError);
    CHECK_THROWS_AS(nl::resample(ok, g, nl::Interpolation::Nearest), nl::ValueError);
    CHECK_THROWS_AS(nl::smooth(v, {4, 4, 4}), nl::ValueError);
    CHECK_THROWS_AS(nl::make_grid(g.dims, g.affine), nl::ValueError);
    CHECK_THROWS_AS(nl::Atlas(nl::Volume(g), {}, "a", "a.nii", "", nl::AtlasOptions{}), nl::ValueError);
  }
  CHECK(nl::grid_problem(good).empty());
  CHECK_NOTHROW(nl::resample(ok, good, nl::Interpolation::Linear));
}

TEST_CASE("label images are read as exact integers", "[image][atlas]") {
  // int32 labels 2^24 and 2^24 + 1, which float32 stores as the same number.
  Header h;
  h.put<std::int16_t>(70, 8).put<std::int16_t>(72, 32);
  for (int i = 0; i < 64; ++i) {
    const std::int32_t x = i < 32 ? 16777216 : 16777217;
    std::memcpy(h.data.data() + 4 * i, &x, 4);
  }
  const std::string path = h.write("int32labels.nii");
  const nl::LabelImage img = nl::load_label_image(path);
  ::unlink(path.c_str());
  REQUIRE(img.labels.size() == 64);
  CHECK(img.labels[0] == 16777216);
  CHECK(img.labels[63] == 16777217);
  CHECK(img.volume.data()[0] == img.volume.data()[63]);  // float32 cannot tell them apart
  const nl::Atlas a(img, {{16777216, "A"}, {16777217, "B"}}, "big", path, "", nl::AtlasOptions{});
  const nl::Table t = nl::regions_table(a);
  CHECK((*t.find("voxels"))->numeric(0) == 32);
  CHECK((*t.find("voxels"))->numeric(1) == 32);
  CHECK_THROWS_AS(a.label_volume(), nl::ValueError);
  // Resampled onto another grid, the regions stay apart too.
  nl::Grid fine = img.volume.grid();
  fine.dims = {8, 8, 8};
  fine.affine.block<3, 3>(0, 0) /= 2.0;
  std::vector<std::string> notices;
  const auto idx = a.index_on(fine, notices, "fine");
  CHECK(idx->counts[0] > 0);
  CHECK(idx->counts[1] > 0);

  // float32 labels beyond 2^24 and non-integers are refused, naming the voxel.
  Header f;
  const float big = 16777218.0f;
  std::memcpy(f.data.data() + 4 * 5, &big, 4);
  const std::string fpath = f.write("floatlabels.nii");
  std::string msg;
  try {
    nl::load_label_image(fpath);
  } catch (const nl::FileError& e) {
    msg = e.what();
  }
  ::unlink(fpath.c_str());
  CHECK(contains(msg, "the label image has the inexact value 16777218 at voxel (2, 2, 1) (1-based)"));
}

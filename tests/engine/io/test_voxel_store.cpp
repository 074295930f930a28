// tests/engine/io/test_voxel_store.cpp: the out-of-core voxel store (nl/io/voxel_store.hpp)
// and the GLM computed on it block by block (nl/stats/store_glm.hpp): values, mask,
// grid and sources kept; the chunked GLM equal to freedman_lane on the whole matrix bit
// for bit; every bad input refused with a message naming the map; failed builds leave
// nothing behind; reads touch only the chunks they need; the build's and the GLM's
// memory stay O(chunk), not O(data).
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/image/image.hpp"
#include "nl/io/fileio.hpp"
#include "nl/io/provenance.hpp"
#include "nl/io/voxel_store.hpp"
#include "nl/stats/permutation.hpp"
#include "nl/stats/store_glm.hpp"

namespace {

using nl::Matrix;
using nl::Vector;
using nl::Volume;
namespace st = nl::stats;

// A fresh folder, removed (one level deep, hidden files too) at the end.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/nl-store-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    for (const auto& name : list()) std::remove((path + "/" + name).c_str());
    ::rmdir(path.c_str());
  }
  std::string operator/(const std::string& name) const { return path + "/" + name; }
  std::vector<std::string> list() const {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(path.c_str())) {
      while (const dirent* e = ::readdir(d))
        if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") out.push_back(e->d_name);
      ::closedir(d);
    }
    return out;
  }
};

template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "(no error)";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Bitwise equality of two vectors (NaN equals NaN of the same bits).
bool same_bits(const Vector& a, const Vector& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<std::size_t>(a.size())) == 0;
}

// An oblique-free 2 mm LAS grid with a translation, and a blob-shaped mask on it.
nl::Grid test_grid(std::array<std::int64_t, 3> dims = {12, 10, 8}) {
  nl::Affine a = nl::Affine::Identity();
  a(0, 0) = -2, a(1, 1) = 2, a(2, 2) = 2.5;
  a(0, 3) = 11, a(1, 3) = -9, a(2, 3) = -8;
  return nl::make_grid(dims, a);
}
Volume test_mask(const nl::Grid& g) {
  Volume m(g);
  m.info.source_type = nl::DataType::UInt8;
  for (std::int64_t k = 0; k < g.dims[2]; ++k)
    for (std::int64_t j = 0; j < g.dims[1]; ++j)
      for (std::int64_t i = 0; i < g.dims[0]; ++i) {
        const double x = (i - 5.5) / 5.0, y = (j - 4.5) / 4.5, z = (k - 3.5) / 3.8;
        if (x * x + y * y + z * z < 1.0) m.data()[m.offset(i, j, k)] = 1;
      }
  return m;
}

// n maps on g: subject i, voxel q of the mask gets signal(i, q) (float32), plus noise
// outside the mask (never read). Written as .nii (float32) or .nii.gz.
std::vector<std::string> write_maps(const TempDir& dir, const nl::Grid& g, int n, const std::function<double(int, std::size_t)>& value,
                                    const char* ext = ".nii") {
  std::vector<std::string> paths;
  for (int i = 0; i < n; ++i) {
    Volume v(g);
    for (std::size_t q = 0; q < v.voxels(); ++q) v.data()[q] = static_cast<float>(value(i, q));
    const std::string p = dir / fmt::format("sub-{}{}", i + 1, ext);
    nl::save_volume(v, p);
    paths.push_back(p);
  }
  return paths;
}

double noise(int i, std::size_t q) {
  nl::Rng r(static_cast<std::uint64_t>(i) * 1000003u + q, 5);
  return r.normal();
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// The peak resident memory (kB) since the last reset_peak(); Linux's VmHWM, which
// /proc/self/clear_refs "5" resets (so earlier tests in the same process do not hide a
// peak); ru_maxrss when that is unavailable.
bool reset_peak() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}
long peak_kb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}
long current_kb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

}  // namespace

TEST_CASE("store: values, mask, grid and sources round-trip", "[store]") {
  TempDir dir;
  const nl::Grid g = test_grid();
  const Volume mask = test_mask(g);
  // 37 subjects with chunks of 8: the last row of chunks is partial; the mask's voxels
  // are not a multiple of 64 either.
  auto value = [](int i, std::size_t q) { return 100.0 * noise(i, q) + i; };
  const auto maps = write_maps(dir, g, 37, value);
  std::vector<std::int64_t> reported;
  for (const int level : {0, 1}) {
    nl::VoxelStoreOptions o;
    o.chunk_voxels = 64;
    o.chunk_subjects = 8;
    o.compression = level;
    o.progress = [&](std::int64_t done, std::int64_t) { reported.push_back(done); };
    const std::string path = dir / fmt::format("store{}.h5", level);
    nl::build_voxel_store(path, maps, mask, o);
    const nl::VoxelStore s(path);
    std::vector<std::size_t> index;
    for (std::size_t q = 0; q < mask.voxels(); ++q)
      if (mask.data()[q] != 0) index.push_back(q);
    const auto V = static_cast<Eigen::Index>(index.size());
    REQUIRE(s.subjects() == 37);
    REQUIRE(s.voxels() == V);
    CHECK(V % 64 != 0);
    CHECK(s.chunk_subjects() == 8);
    CHECK(s.chunk_voxels() == 64);
    CHECK(s.compression() == level);
    CHECK(s.format_version() == 1);
    CHECK(s.grid().same_as(g));
    CHECK(s.grid().affine == g.affine);
    CHECK(s.grid().sform_code == g.sform_code);
    CHECK(s.grid().qform_code == g.qform_code);
    for (std::size_t q = 0; q < mask.voxels(); ++q) CHECK(s.mask().data()[q] == mask.data()[q]);
    REQUIRE(s.mask_indices().size() == index.size());
    // Every value exactly: float32 maps are stored as float32 and read back as double.
    const Matrix all = s.read_voxels(0, V);
    for (int i = 0; i < 37; ++i)
      for (Eigen::Index q = 0; q < V; ++q)
        REQUIRE(all(i, q) == static_cast<double>(static_cast<float>(value(i, index[static_cast<std::size_t>(q)]))));
    // Unaligned ranges and sub-blocks agree with the whole.
    CHECK(s.read_voxels(5, 133) == all.middleCols(5, 128));
    CHECK(s.read_voxels(V - 1, V) == all.rightCols(1));
    CHECK(s.read(3, 20, 60, 70) == all.block(3, 60, 17, 10));
    CHECK(s.read_voxels(7, 7).cols() == 0);
    // A subject's map: its values in the mask, 0 outside, on the grid.
    const Volume m = s.map(36);
    CHECK(m.grid().same_as(g));
    for (std::size_t q = 0; q < m.voxels(); ++q)
      REQUIRE(m.data()[q] == (mask.data()[q] != 0 ? static_cast<float>(value(36, q)) : 0.0f));
    // Sources: paths in order, SHA-256 of the bytes, sizes.
    REQUIRE(s.sources().size() == 37);
    for (std::size_t i = 0; i < 37; ++i) {
      CHECK(s.sources()[i].path == maps[i]);
      CHECK(s.sources()[i].sha256 == nl::sha256_hex(slurp(maps[i])));
      struct stat st {};
      REQUIRE(::stat(maps[i].c_str(), &st) == 0);
      CHECK(s.sources()[i].bytes == static_cast<std::uint64_t>(st.st_size));
    }
    CHECK(!s.created().empty());
    CHECK(nl::format_voxel_store(s) ==
          fmt::format("[VoxelStore 37 subjects x {} voxels, 12x10x8, 2x2x2.5 mm, chunks 8 x 64, {}]", V,
                      level ? "deflate 1" : "uncompressed"));
    CHECK(error_of<nl::ValueError>([&] { s.read_voxels(0, V + 1); }) ==
          fmt::format("voxels [0, {}) outside the store's [0, {})", V + 1, V));
    CHECK(contains(error_of<nl::ValueError>([&] { s.map(37); }), "subject 37 outside"));
  }
  // Progress after each batch of 8 maps.
  CHECK(reported == std::vector<std::int64_t>{8, 16, 24, 32, 37, 8, 16, 24, 32, 37});
  // The mask as a file: recorded as the mask's source.
  const std::string mask_path = dir / "mask.nii.gz";
  nl::save_volume(mask, mask_path);
  nl::build_voxel_store(dir / "from_path.h5", maps, mask_path, {});
  const nl::VoxelStore s(dir / "from_path.h5");
  CHECK(s.mask_source() == mask_path);
  CHECK(s.chunk_subjects() == 37);  // at most 64, n split evenly
  // 70 maps: 2 x 35 rather than 64 + 6 (an edge chunk is stored whole).
  const auto seventy = write_maps(dir, g, 70, value);
  nl::build_voxel_store(dir / "seventy.h5", seventy, mask, {});
  CHECK(nl::VoxelStore(dir / "seventy.h5").chunk_subjects() == 35);
  CHECK(s.read_voxels(0, s.voxels()) == nl::VoxelStore(dir / "store1.h5").read_voxels(0, s.voxels()));
}

TEST_CASE("store: the chunked GLM equals freedman_lane on the whole matrix bit for bit", "[store]") {
  TempDir dir;
  const nl::Grid g = test_grid({14, 12, 9});
  const Volume mask = test_mask(g);
  const int n = 40;
  // An effect of group in part of the brain, a covariate elsewhere.
  Matrix X(n, 3);
  for (int i = 0; i < n; ++i) X(i, 0) = 1, X(i, 1) = i % 2, X(i, 2) = noise(i, 999999);
  auto value = [&](int i, std::size_t q) { return noise(i, q) + (q % 7 == 0 ? 0.9 * X(i, 1) : 0.0) + 0.3 * X(i, 2); };
  const auto maps = write_maps(dir, g, n, value);
  nl::VoxelStoreOptions so;
  so.chunk_voxels = 100;  // blocks start at multiples of 100 (and of 4)
  so.chunk_subjects = 16;
  nl::build_voxel_store(dir / "s.h5", maps, mask, so);
  const nl::VoxelStore s(dir / "s.h5");
  const Matrix Y = s.read_voxels(0, s.voxels());
  REQUIRE(s.voxels() > 300);

  struct Case {
    const char* name;
    Matrix C;
    st::Tail tail;
    st::Exchange scheme;
  };
  Matrix t1(1, 3), F(2, 3);
  t1 << 0, 1, 0;
  F << 0, 1, 0, 0, 0, 1;
  const std::vector<Case> cases = {{"t two-sided", t1, st::Tail::Two, st::Exchange::Permute},
                                   {"t right", t1, st::Tail::Right, st::Exchange::Permute},
                                   {"t left, sign flips", t1, st::Tail::Left, st::Exchange::SignFlip},
                                   {"F", F, st::Tail::Two, st::Exchange::Both}};
  for (const auto& c : cases) {
    SECTION(c.name) {
      st::PermutationOptions o;
      o.permutations = 150;
      o.seed = 11;
      o.tail = c.tail;
      o.scheme = c.scheme;
      const st::PermutationResult whole = st::freedman_lane(Y, X, c.C, o);
      for (const Eigen::Index block : {0, 150, 1000000}) {
        const st::StoreGlmResult r = st::freedman_lane(s, X, c.C, o, block);
        INFO("block " << block << " -> " << r.block_voxels << " voxels, " << r.blocks << " blocks");
        CHECK(r.blocks == (block == 0 ? (s.voxels() + 99) / 100 : block == 150 ? (s.voxels() + 199) / 200 : 1));
        CHECK(same_bits(r.perm.stat, whole.stat));
        CHECK(same_bits(r.perm.p_unc, whole.p_unc));
        CHECK(same_bits(r.perm.max_stat, whole.max_stat));
        CHECK(same_bits(r.perm.p_fwe, whole.p_fwe));
        CHECK(same_bits(r.perm.p_fwe_gamma, whole.p_fwe_gamma));
        CHECK(r.perm.permutations == whole.permutations);
        CHECK(r.df == n - 3);
        CHECK(r.rank == 3);
      }
      // The planted effect is found and the test is not vacuous: some voxels are
      // FWE-significant and most are not.
      if (c.tail != st::Tail::Left) {
        const auto sig = (whole.p_fwe.array() < 0.05).count();
        CHECK(sig > 3);
        CHECK(sig < s.voxels() / 2);
      }
    }
  }
  // The parametric statistic and p equal the in-memory GLM's (nl.stats.glm's stat and p).
  st::PermutationOptions o;
  o.permutations = 1;
  const st::StoreGlmResult r = st::freedman_lane(s, X, t1, o);
  REQUIRE(r.blocks > 1);
  const st::GlmFit fit = st::glm_fit(X, Y);
  const st::TContrast tc = st::t_contrast(fit, t1.row(0).transpose(), st::Tail::Two);
  CHECK(same_bits(r.stat, tc.t));
  CHECK(same_bits(r.p, tc.p));
  const st::FContrast fc = st::f_contrast(fit, F);
  const st::StoreGlmResult rf = st::freedman_lane(s, X, F, o);
  CHECK(same_bits(rf.stat, fc.F));
  CHECK(same_bits(rf.p, fc.p));
  CHECK((r.stat - r.perm.stat).cwiseAbs().maxCoeff() < 1e-10 * r.stat.cwiseAbs().maxCoeff());
}

TEST_CASE("store: TFCE and clusters on a store equal the in-memory run bit for bit", "[store]") {
  TempDir dir;
  const nl::Grid g = test_grid();
  const auto maps = write_maps(dir, g, 12, noise);
  nl::build_voxel_store(dir / "s.h5", maps, test_mask(g), {8, 0, 0, true, {}});
  const nl::VoxelStore s(dir / "s.h5");
  Matrix X = Matrix::Ones(12, 2);
  for (Eigen::Index i = 0; i < 12; ++i) X(i, 1) = i % 2;
  const Matrix C{{0.0, 1.0}};
  st::PermutationOptions o;
  o.permutations = 80;
  o.seed = 9;
  st::ClusterGrid grid({1, 1, s.voxels()}, [&] {
    std::vector<Eigen::Index> v(static_cast<std::size_t>(s.voxels()));
    for (std::size_t q = 0; q < v.size(); ++q) v[q] = static_cast<Eigen::Index>(q);
    return v;
  }(), 6);
  o.tfce = &grid;
  o.clusters = &grid;
  o.cluster_threshold = 1.0;
  const st::PermutationResult m = st::freedman_lane(s.read_voxels(0, s.voxels()), X, C, o);
  // Memory for one batch per pass: 1 + 3 reads of the store.
  const st::StoreGlmResult r = st::freedman_lane(s, X, C, o, 8, 32 * 9 * s.voxels());
  CHECK(r.passes == 4);
  CHECK(same_bits(r.perm.stat, m.stat));
  CHECK(same_bits(r.perm.p_unc, m.p_unc));
  CHECK(same_bits(r.perm.p_fwe, m.p_fwe));
  CHECK(same_bits(r.perm.max_stat, m.max_stat));
  CHECK(same_bits(r.perm.tfce, m.tfce));
  CHECK(same_bits(r.perm.tfce_p_fwe, m.tfce_p_fwe));
  CHECK(same_bits(r.perm.tfce_p_unc, m.tfce_p_unc));
  CHECK(same_bits(r.perm.max_tfce, m.max_tfce));
  CHECK(same_bits(r.perm.max_cluster, m.max_cluster));
  CHECK(same_bits(r.perm.cluster_p_fwe, m.cluster_p_fwe));
  CHECK(same_bits(r.perm.cluster_p_unc, m.cluster_p_unc));
  CHECK(r.perm.cluster_label == m.cluster_label);
  const std::string msg = error_of<nl::ValueError>([&] { st::freedman_lane(s, X, C, o, 0, 100); });
  CHECK(contains(msg, "memory: 100 bytes hold fewer than one batch of 32 rearranged maps"));
  o.tfce = o.clusters = nullptr;
  CHECK(error_of<nl::ValueError>([&] { st::freedman_lane(s, Matrix::Ones(5, 1), C, o); }) ==
        "design has 5 rows but the store has 12 subjects");
}

TEST_CASE("store: bad maps are refused by name and leave no file behind", "[store]") {
  TempDir dir;
  const nl::Grid g = test_grid();
  const Volume mask = test_mask(g);
  auto maps = write_maps(dir, g, 5, noise);
  const std::string out = dir / "out.h5";
  // An earlier store at the same path must survive a failed build unchanged.
  nl::build_voxel_store(out, maps, mask, {});
  const std::string before = slurp(out);
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  auto fails = [&](std::vector<std::string> m, const std::vector<std::string>& parts) {
    const auto files_before = sorted(dir.list());
    const std::string msg = error_of<nl::FileError>([&] { nl::build_voxel_store(out, m, mask, {}); });
    for (const auto& p : parts) CHECK_THAT(msg, Catch::Contains(p));
    CHECK(sorted(dir.list()) == files_before);  // no temporary file left
    for (const auto& f : dir.list()) CHECK(!contains(f, ".nl-tmp-"));
    CHECK(slurp(out) == before);
  };
  SECTION("missing") {
    maps[2] = dir / "nope.nii";
    fails(maps, {"map 3 of 5", "nope.nii"});
  }
  SECTION("4-D") {
    Volume v(g, 3);
    nl::save_volume(v, dir / "four.nii");
    maps[1] = dir / "four.nii";
    fails(maps, {"map 2 of 5 ('", "four.nii') is 4-D (3 frames)"});
  }
  SECTION("other dims") {
    nl::save_volume(Volume(test_grid({12, 10, 9})), dir / "dims.nii");
    maps[4] = dir / "dims.nii";
    fails(maps, {"map 5 of 5", "dims.nii') is 12x10x9 but the mask is 12x10x8"});
  }
  SECTION("other affine") {
    nl::Affine a = g.affine;
    a(1, 3) += 1.0;
    nl::save_volume(Volume(nl::make_grid(g.dims, a)), dir / "shifted.nii");
    maps[0] = dir / "shifted.nii";
    fails(maps, {"map 1 of 5", "shifted.nii') has the mask's dimensions but another affine (entries differ by up to 1"});
  }
  SECTION("NaN inside the mask") {
    Volume v(g);
    std::size_t at = 0;
    while (mask.data()[at] == 0) ++at;
    v.data()[at] = NAN;
    nl::save_volume(v, dir / "nan.nii");
    maps[3] = dir / "nan.nii";
    fails(maps, {"map 4 of 5", "nan.nii') has NaN inside the mask at voxel (", "mask voxel 1 of"});
    // NaN outside the mask is fine.
    Volume w(g);
    w.data()[0] = NAN;
    REQUIRE(mask.data()[0] == 0);
    nl::save_volume(w, dir / "nan_outside.nii");
    maps[3] = dir / "nan_outside.nii";
    nl::build_voxel_store(dir / "ok.h5", maps, mask, {});
    CHECK(nl::VoxelStore(dir / "ok.h5").subjects() == 5);
    std::remove((dir / "ok.h5").c_str());
  }
  SECTION("not a NIfTI file") {
    std::ofstream(dir / "text.nii") << "hello";
    maps[2] = dir / "text.nii";
    fails(maps, {"map 3 of 5", "text.nii"});
  }
}

TEST_CASE("store: arguments and inputs are checked before anything is written", "[store]") {
  TempDir dir;
  const nl::Grid g = test_grid();
  const Volume mask = test_mask(g);
  const auto maps = write_maps(dir, g, 3, noise);
  auto value_error = [&](const std::string& path, const std::vector<std::string>& m, const Volume& k,
                         nl::VoxelStoreOptions o = {}) {
    return error_of<nl::ValueError>([&] { nl::build_voxel_store(path, m, k, o); });
  };
  CHECK(value_error(dir / "a.h5", {}, mask) == "maps: no maps given");
  CHECK(contains(value_error(maps[1], maps, mask), "is map 2 of 3; the store never overwrites an input"));
  CHECK(contains(value_error(dir / "./sub-1.nii", maps, mask), "is map 1 of 3"));
  CHECK(value_error(dir / "a.h5", maps, Volume(g)) == "mask: has no non-zero voxel");
  CHECK(contains(value_error(dir / "a.h5", maps, Volume(g, 2)), "mask: has 2 frames"));
  nl::VoxelStoreOptions o;
  o.compression = 10;
  CHECK(contains(value_error(dir / "a.h5", maps, mask, o), "compression must be a deflate level from 0 (none) to 9"));
  o = {};
  o.chunk_voxels = 0;
  CHECK(contains(value_error(dir / "a.h5", maps, mask, o), "chunk_voxels must be from 1"));
  // The mask file itself is an input too.
  nl::save_volume(mask, dir / "mask.nii");
  CHECK(contains(error_of<nl::ValueError>([&] { nl::build_voxel_store(dir / "mask.nii", maps, dir / "mask.nii"); }),
                 "is the mask; the store never overwrites an input"));
  CHECK(dir.list().size() == 4);  // 3 maps and the mask: nothing else
}

TEST_CASE("store: opening checks the file", "[store]") {
  TempDir dir;
  CHECK(contains(error_of<nl::FileError>([&] { nl::VoxelStore s(dir / "missing.h5"); }), "cannot open '"));
  std::ofstream(dir / "text.h5") << "not hdf5";
  CHECK(contains(error_of<nl::FileError>([&] { nl::VoxelStore s(dir / "text.h5"); }), "is not an HDF5 file"));
  CHECK(contains(error_of<nl::FileError>([&] { nl::VoxelStore s(dir.path); }), "it is a directory"));
}

TEST_CASE("store: a read touches only the chunks of its voxels (a corrupt chunk elsewhere goes unnoticed)",
          "[store]") {
  TempDir dir;
  const nl::Grid g = test_grid();
  const Volume mask = test_mask(g);
  // Subject 1 holds a marker at the mask's first voxel; uncompressed, so its bytes can be
  // found in the file.
  const float marker = 1234.5678f;
  std::size_t first = 0;
  while (mask.data()[first] == 0) ++first;
  const auto maps = write_maps(dir, g, 4, [&](int i, std::size_t q) { return i == 0 && q == first ? marker : noise(i, q); });
  nl::VoxelStoreOptions o;
  o.compression = 0;
  o.chunk_voxels = 64;
  nl::build_voxel_store(dir / "s.h5", maps, mask, o);
  std::string bytes = slurp(dir / "s.h5");
  const auto at = bytes.find(std::string(reinterpret_cast<const char*>(&marker), 4));
  REQUIRE(at != std::string::npos);
  REQUIRE(bytes.find(std::string(reinterpret_cast<const char*>(&marker), 4), at + 1) == std::string::npos);
  bytes[at + 1] ^= 0x40;  // corrupt the first chunk
  std::ofstream(dir / "s.h5", std::ios::binary | std::ios::trunc) << bytes;
  const nl::VoxelStore s(dir / "s.h5");
  const Eigen::Index V = s.voxels();
  // Chunks 2.. read fine (and correctly); chunk 1 fails its checksum.
  const Matrix tail = s.read_voxels(64, V);
  CHECK(tail(1, 0) == static_cast<double>(static_cast<float>(noise(1, s.mask_indices()[64]))));
  const std::string msg = error_of<nl::FileError>([&] { s.read_voxels(0, 10); });
  CHECK(contains(msg, dir / "s.h5"));
  CHECK(contains(msg, "cannot read subjects 1 to 4 at voxels 1 to 10"));
  CHECK(contains(error_of<nl::FileError>([&] { s.map(0); }), "cannot read subjects 1 to 1"));
}

TEST_CASE("store: the build and the GLM use memory of a few chunks, not of the data", "[store]") {
  TempDir dir;
  // 240 maps of 40^3 voxels with a mask of ~33,000: 32 MB as float32 data, 64 MB as
  // doubles. Chunks of 16 subjects x 4096 voxels.
  const nl::Grid g = test_grid({40, 40, 40});
  Volume mask(g);
  for (std::int64_t k = 0; k < 40; ++k)
    for (std::int64_t j = 0; j < 40; ++j)
      for (std::int64_t i = 0; i < 40; ++i)
        mask.data()[mask.offset(i, j, k)] = (i - 19.5) * (i - 19.5) + (j - 19.5) * (j - 19.5) + (k - 19.5) * (k - 19.5) < 400;
  const int n = 240;
  std::vector<std::string> maps;
  {
    Volume v(g);
    for (int i = 0; i < n; ++i) {
      for (std::size_t q = 0; q < v.voxels(); ++q) v.data()[q] = static_cast<float>((q * 7 + static_cast<std::size_t>(i) * 13) % 101);
      maps.push_back(dir / fmt::format("m{}.nii", i));
      nl::save_volume(v, maps.back());
    }
  }
  nl::VoxelStoreOptions o;
  o.chunk_subjects = 16;
  o.compression = 1;
  const bool resettable = reset_peak();
  const long base = current_kb();
  nl::build_voxel_store(dir / "s.h5", maps, mask, o);
  const long build_peak = peak_kb() - base;
  const nl::VoxelStore s(dir / "s.h5");
  const double data_mb = 4.0 * static_cast<double>(n) * static_cast<double>(s.voxels()) / 1e6;
  INFO("build: peak " << build_peak / 1024.0 << " MB over the start for " << data_mb << " MB of float32 data"
                      << (resettable ? "" : " (peak not resettable)"));
  REQUIRE(data_mb > 30);
  // AddressSanitizer keeps freed memory in its quarantine (256 MB) and pads every
  // allocation, so resident memory says nothing about the code there: the bounds are
  // checked in the normal build (tools/sanitize.sh runs this case for its memory errors).
#if defined(__SANITIZE_ADDRESS__)
  constexpr bool bounds = false;
#else
  constexpr bool bounds = true;
#endif
  // One batch (16 x 33,000 float32 = 2 MB) plus a map per thread and HDF5's buffers.
  if (bounds) CHECK(build_peak < 16 * 1024);

  Matrix X(n, 2);
  for (int i = 0; i < n; ++i) X(i, 0) = 1, X(i, 1) = i % 3;
  Matrix C(1, 2);
  C << 0, 1;
  st::PermutationOptions po;
  po.permutations = 20;
  reset_peak();
  const long base2 = current_kb();
  const st::StoreGlmResult r = st::freedman_lane(s, X, C, po);
  const long glm_peak = peak_kb() - base2;
  INFO("GLM: peak " << glm_peak / 1024.0 << " MB over the start; the whole data as doubles: " << 2 * data_mb << " MB");
  CHECK(r.blocks == (s.voxels() + 4095) / 4096);
  // A block (240 x 4096 doubles = 7.9 MB) and the engine's copies of it; whole: 64 MB each.
  if (bounds) CHECK(glm_peak < 48 * 1024);
}

// Tests of nl/stats/cluster and cluster-level permutation inference against
// scipy.ndimage.label and a numpy Freedman-Lane implementation
// (tests/data/cluster/make_fixtures.py).
#include <catch2/catch.hpp>

#include <string>

#include "nl/core/core.hpp"
#include "nl/stats/cluster.hpp"
#include "nl/stats/permutation.hpp"
#include "stats_fixture.hpp"

namespace {

using nl::Matrix;
using nl_test::read_fixture;
using nl_test::error_of;
using nl_test::rel_close;
namespace st = nl::stats;
using Index = Eigen::Index;

std::vector<Index> indices(const Matrix& m) {
  std::vector<Index> v;
  for (Index i = 0; i < m.size(); ++i) v.push_back(static_cast<Index>(m.data()[i]));
  return v;
}

st::ClusterGrid grid_of(std::map<std::string, Matrix>& f, int connectivity) {
  const Matrix& d = f["dims"];
  return st::ClusterGrid({static_cast<Index>(d(0)), static_cast<Index>(d(1)), static_cast<Index>(d(2))},
                         indices(f["tests"]), connectivity);
}


}  // namespace

TEST_CASE("clusters equal scipy.ndimage.label with 6, 18 and 26 neighbours", "[stats][cluster]") {
  auto f = read_fixture("cluster/labels.txt");
  std::vector<char> supra;
  for (Index i = 0; i < f["map"].size(); ++i) supra.push_back(f["map"].data()[i] != 0);
  for (const int conn : {6, 18, 26}) {
    INFO("connectivity " << conn);
    const st::ClusterGrid grid = grid_of(f, conn);
    std::vector<int> labels;
    std::vector<Index> sizes;
    grid.label(supra, labels, sizes);
    const Matrix& want = f["labels" + std::to_string(conn)];
    REQUIRE(labels.size() == static_cast<std::size_t>(want.size()));
    for (Index i = 0; i < want.size(); ++i) CHECK(labels[static_cast<std::size_t>(i)] == want.data()[i]);
    CHECK(sizes == indices(f["sizes" + std::to_string(conn)]));
    // The unordered sizes of the permutation path are the same multiset.
    std::vector<Index> unordered, stack;
    std::vector<char> seen(supra.size(), 0);
    grid.sizes(supra.data(), unordered, seen, stack);
    std::sort(unordered.rbegin(), unordered.rend());
    CHECK(unordered == sizes);
    CHECK(std::count(seen.begin(), seen.end(), 1) == 0);
  }
}

TEST_CASE("cluster-level permutation p-values equal numpy", "[stats][cluster]") {
  auto f = read_fixture("cluster/perm.txt");
  const st::ClusterGrid grid = grid_of(f, 26);
  const auto shuffles = nl_test::shuffles_of_rows(f["perm"]);
  st::PermutationOptions o;
  o.clusters = &grid;
  o.cluster_threshold = 2.0;
  const auto r = st::freedman_lane(f["Y"], f["X"], f["C"], o, shuffles);
  for (Index j = 0; j < f["T"].size(); ++j) CHECK(rel_close(std::fabs(r.stat(j)), f["T"].data()[j], 1e-10));
  REQUIRE(r.cluster_size == indices(f["sizes"]));
  for (Index j = 0; j < f["labels"].size(); ++j) CHECK(r.cluster_label[static_cast<std::size_t>(j)] == f["labels"].data()[j]);
  for (Index c = 0; c < f["p_fwe"].size(); ++c) {
    CHECK(r.cluster_p_fwe(c) == f["p_fwe"].data()[c]);
    CHECK(rel_close(r.cluster_p_unc(c), f["p_unc"].data()[c], 1e-15));
  }
  for (Index k = 0; k < f["max_cluster"].size(); ++k) CHECK(r.max_cluster(k) == f["max_cluster"].data()[k]);
  // The peak of each cluster is its largest |t|.
  for (std::size_t c = 0; c < r.cluster_size.size(); ++c) {
    const Index peak = r.cluster_peak[c];
    CHECK(r.cluster_label[static_cast<std::size_t>(peak)] == static_cast<int>(c + 1));
    for (Index j = 0; j < r.stat.size(); ++j)
      if (r.cluster_label[static_cast<std::size_t>(j)] == static_cast<int>(c + 1))
        CHECK(std::fabs(r.stat(j)) <= std::fabs(r.stat(peak)));
  }

  SECTION("random rearrangements: the same on 1 and 2 threads") {
    st::PermutationOptions q = o;
    q.permutations = 400;
    q.seed = 3;
    const int before = nl::threads();
    nl::set_threads(1);
    const auto a = st::freedman_lane(f["Y"], f["X"], f["C"], q);
    nl::set_threads(2);
    const auto b = st::freedman_lane(f["Y"], f["X"], f["C"], q);
    nl::set_threads(before);
    CHECK(a.max_cluster == b.max_cluster);
    CHECK(a.cluster_p_fwe == b.cluster_p_fwe);
    CHECK(a.cluster_p_unc == b.cluster_p_unc);
    CHECK(a.cluster_p_fdr.size() == static_cast<Index>(a.cluster_size.size()));
  }
}

TEST_CASE("cluster-mass permutation p-values equal numpy", "[stats][cluster]") {
  auto f = read_fixture("cluster/perm.txt");
  const st::ClusterGrid grid = grid_of(f, 26);
  const auto shuffles = nl_test::shuffles_of_rows(f["perm"]);
  st::PermutationOptions o;
  o.clusters = &grid;
  o.cluster_threshold = 2.0;
  o.cluster_stat = st::ClusterStat::Mass;
  const auto r = st::freedman_lane(f["Y"], f["X"], f["C"], o, shuffles);
  REQUIRE(r.cluster_size == indices(f["sizes"]));  // clusters still numbered by size
  for (Index c = 0; c < f["mass"].size(); ++c) {
    CHECK(rel_close(r.cluster_mass[static_cast<std::size_t>(c)], f["mass"].data()[c], 1e-10));
    CHECK(r.cluster_p_fwe(c) == f["mass_p_fwe"].data()[c]);
    CHECK(rel_close(r.cluster_p_unc(c), f["mass_p_unc"].data()[c], 1e-15));
  }
  for (Index k = 0; k < f["max_mass"].size(); ++k) CHECK(rel_close(r.max_cluster(k), f["max_mass"].data()[k], 1e-10));
}

TEST_CASE("cluster grid errors", "[stats][cluster]") {
  CHECK(error_of([] { st::ClusterGrid({2, 2, 2}, {0, 1, 1}); }) == "cluster grid: tests 2 and 3 share a voxel");
  CHECK(error_of([] { st::ClusterGrid({2, 2, 2}, {0, 8}); }) == "cluster grid: test 2 lies outside the grid");
  CHECK(error_of([] { st::ClusterGrid({2, 2, 2}, {0}, 8); }) == "connectivity must be 6, 18 or 26, got 8");
  const st::ClusterGrid g({2, 2, 2}, {0, 1, 2});
  st::PermutationOptions o;
  o.clusters = &g;
  o.permutations = 10;
  Matrix X = Matrix::Ones(6, 2), Y = Matrix::Random(6, 4), C(1, 2);
  for (int i = 0; i < 6; ++i) X(i, 1) = i % 2;
  C << 0, 1;
  CHECK(error_of([&] { st::freedman_lane(Y, X, C, o); }) == "cluster grid has 3 voxels but the data have 4 columns");
}

TEST_CASE("cluster extent and mass hold the FWE level under the null", "[stats][cluster]") {
  // 300 null data sets of smooth noise on a 10 x 10 x 10 grid (each subject's map is
  // white noise averaged over 3 x 3 x 3 neighbourhoods), two groups of 10 subjects,
  // clusters at |t| >= 2.5, 100 rearrangements. The family-wise error rate is the
  // fraction of data sets whose largest cluster has FWE p <= 0.05; Monte-Carlo sd of the
  // rate 0.0126: band 0.05 +- 3 sd.
  const Index d = 10, V = d * d * d, n = 20;
  std::vector<Index> voxels(static_cast<std::size_t>(V));
  for (Index v = 0; v < V; ++v) voxels[static_cast<std::size_t>(v)] = v;
  const st::ClusterGrid grid({d, d, d}, voxels, 26);
  Matrix X(n, 2), C(1, 2);
  for (Index i = 0; i < n; ++i) X.row(i) << 1, i < n / 2 ? 0.0 : 1.0;
  C << 0, 1;
  for (const auto stat : {st::ClusterStat::Extent, st::ClusterStat::Mass}) {
    int hits = 0;
    const int sets = 300;
    for (int s = 0; s < sets; ++s) {
      nl::Rng rng(404, static_cast<std::uint64_t>(s));
      Matrix Y(n, V);
      std::vector<double> white(static_cast<std::size_t>(V));
      for (Index i = 0; i < n; ++i) {
        for (auto& w : white) w = rng.normal();
        for (Index z = 0; z < d; ++z)
          for (Index y = 0; y < d; ++y)
            for (Index x = 0; x < d; ++x) {
              double sum = 0;
              int count = 0;
              for (Index dz = -1; dz <= 1; ++dz)
                for (Index dy = -1; dy <= 1; ++dy)
                  for (Index dx = -1; dx <= 1; ++dx) {
                    const Index xx = x + dx, yy = y + dy, zz = z + dz;
                    if (xx < 0 || yy < 0 || zz < 0 || xx >= d || yy >= d || zz >= d) continue;
                    sum += white[static_cast<std::size_t>(xx + d * (yy + d * zz))];
                    ++count;
                  }
              Y(i, x + d * (y + d * z)) = sum / std::sqrt(static_cast<double>(count));
            }
      }
      st::PermutationOptions o;
      o.permutations = 100;
      o.seed = static_cast<std::uint64_t>(s) + 1;
      o.clusters = &grid;
      o.cluster_threshold = 2.5;
      o.cluster_stat = stat;
      const auto r = st::freedman_lane(Y, X, C, o);
      hits += r.cluster_p_fwe.size() > 0 && r.cluster_p_fwe.minCoeff() <= 0.05;
    }
    const double rate = static_cast<double>(hits) / sets;
    INFO((stat == st::ClusterStat::Mass ? "mass" : "extent") << " FWE rate " << rate);
    CHECK(rate >= 0.012);
    CHECK(rate <= 0.088);
  }
}

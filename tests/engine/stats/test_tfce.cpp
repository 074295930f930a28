// Tests of nl/stats/tfce (threshold-free cluster enhancement) and max-TFCE permutation
// inference: against MNE-Python 1.3's TFCE and its cluster finding
// (tests/data/tfce/make_fixtures.py), against a direct per-height implementation of
// the paper's sum, and against the integral itself where it has a closed form.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <string>

#include "nl/core/core.hpp"
#include "nl/stats/cluster.hpp"
#include "nl/stats/permutation.hpp"
#include "nl/stats/tfce.hpp"
#include "stats_fixture.hpp"

namespace {

using nl::Matrix;
using nl::Vector;
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

Vector vec(const Matrix& m) { return Eigen::Map<const Vector>(m.data(), m.size()); }

void check_close(const Vector& got, const Matrix& want, double rel, double abs_floor = 1e-12) {
  REQUIRE(got.size() == want.size());
  for (Index j = 0; j < got.size(); ++j) {
    INFO("test " << j);
    CHECK(std::fabs(got(j) - want.data()[j]) <= rel * std::fabs(want.data()[j]) + abs_floor);
  }
}

// MNE 1.3's TFCE as tfce_sum: heights dh, 2 dh, ... below the map's maximum (|x| when
// two-sided), each weighted dh^H (its height 0 has weight 0^H = 0).
Vector mne13(const st::ClusterGrid& g, const Vector& x, double dh, double E, double H, bool two) {
  const double top = two ? x.cwiseAbs().maxCoeff() : x.maxCoeff();
  std::vector<double> levels, weights;
  for (Index k = 1; static_cast<double>(k) * dh < top; ++k) {
    levels.push_back(static_cast<double>(k) * dh);
    weights.push_back(std::pow(dh, H));
  }
  return st::tfce_sum(g, x, levels, weights, E, two);
}

// The paper's sum written out: at every height, label the clusters of {x >= h} (one
// sign at a time) and add e^E h^H dh to their tests.
Vector direct(const st::ClusterGrid& g, const Vector& x, double dh, double E, double H, bool two) {
  Vector score = Vector::Zero(x.size());
  const double top = two ? x.cwiseAbs().maxCoeff() : x.maxCoeff();
  for (Index k = 1; static_cast<double>(k) * dh <= top; ++k) {
    const double h = static_cast<double>(k) * dh;
    for (const double sign : {1.0, -1.0}) {
      if (sign < 0 && !two) continue;
      const st::ClusterMap cm = st::find_clusters(g, sign * x, h);
      for (Index j = 0; j < x.size(); ++j) {
        const int c = cm.label[static_cast<std::size_t>(j)];
        if (c > 0) score(j) += std::pow(static_cast<double>(cm.size[static_cast<std::size_t>(c - 1)]), E) * std::pow(h, H) * dh;
      }
    }
  }
  return score;
}


std::vector<std::array<Index, 2>> pairs(const Matrix& m) {
  std::vector<std::array<Index, 2>> out;
  for (Index i = 0; i < m.rows(); ++i) out.push_back({static_cast<Index>(m(i, 0)), static_cast<Index>(m(i, 1))});
  return out;
}

}  // namespace

TEST_CASE("tfce on a volume equals MNE-Python (its TFCE and the paper's sum on its clusters)", "[stats][tfce]") {
  auto f = read_fixture("tfce/maps.txt");
  const Matrix& d = f["dims"];
  const Vector x = vec(f["x"]);
  for (const int conn : {6, 26}) {
    const st::ClusterGrid g({static_cast<Index>(d(0)), static_cast<Index>(d(1)), static_cast<Index>(d(2))},
                            indices(f["tests"]), conn);
    for (const bool two : {false, true}) {
      const std::string key = std::to_string(conn) + (two ? "_two" : "_right");
      INFO(key);
      check_close(mne13(g, x, 0.1, 0.5, 2, two), f["mne_" + key], 1e-12);
      st::TfceOptions o;
      o.dh = 0.1;
      o.two_sided = two;
      const Vector t = st::tfce(g, x, o);
      check_close(t, f["paper_" + key], 1e-12);
      check_close(t, direct(g, x, 0.1, 0.5, 2, two).transpose(), 1e-12);
    }
    if (conn == 26) {
      st::TfceOptions o;  // dh auto: max |x| / 100
      o.two_sided = true;
      check_close(st::tfce(g, x, o), f["paper_26_two_auto"], 1e-12);
    }
  }
}

TEST_CASE("tfce on graph nodes and on connectome edges equals MNE-Python", "[stats][tfce]") {
  auto f = read_fixture("tfce/maps.txt");
  const st::ClusterGrid nodes = st::ClusterGrid::graph(40, pairs(f["links"]));
  st::TfceOptions o;
  o.E = 1;
  o.H = 2;
  o.dh = 0.05;
  o.two_sided = true;
  const Vector g = vec(f["g"]);
  check_close(mne13(nodes, g, 0.05, 1, 2, true), f["mne_graph"], 1e-12);
  check_close(st::tfce(nodes, g, o), f["paper_graph"], 1e-12);

  std::vector<std::array<Index, 2>> ends;
  for (Index i = 0; i < 12; ++i)
    for (Index j = i + 1; j < 12; ++j) ends.push_back({i, j});
  const st::ClusterGrid edges = st::ClusterGrid::edges(12, ends);
  const Vector e = vec(f["e"]);
  o.dh = 0.1;
  check_close(mne13(edges, e, 0.1, 1, 2, false), f["mne_edges"], 1e-12);
  check_close(st::tfce(edges, e, o), f["paper_edges_two"], 1e-12);
  o.two_sided = false;
  check_close(st::tfce(edges, e, o), f["paper_edges"], 1e-12);
  check_close(st::tfce(edges, e, o), direct(edges, e, 0.1, 1, 2, false).transpose(), 1e-12);
}

TEST_CASE("tfce converges to the integral of e(h)^E h^H dh", "[stats][tfce]") {
  // A chain of 3 voxels with heights 3, 2, 1 (6-connected along x): voxel 0 lies in a
  // cluster of 3 up to h = 1, of 2 up to 2, alone up to 3:
  //   TFCE_0 = 3^E (1/3) + 2^E (8 - 1)/3 + (27 - 8)/3,
  //   TFCE_2 = 3^E (1/3).
  const st::ClusterGrid g({3, 1, 1}, {0, 1, 2}, 6);
  Vector x(3);
  x << 3, 2, 1;
  const double E = 0.5;
  const double want0 = std::pow(3, E) / 3 + std::pow(2, E) * 7 / 3 + 19.0 / 3;
  const double want2 = std::pow(3, E) / 3;
  st::TfceOptions o;
  double err_prev = INFINITY;
  for (const double dh : {0.01, 0.001, 0.0001}) {
    o.dh = dh;
    const Vector t = st::tfce(g, x, o);
    const double err = std::fabs(t(0) - want0);
    CHECK(err < 30 * dh);  // a right Riemann sum: error O(dh)
    CHECK(err < err_prev);
    CHECK(std::fabs(t(2) - want2) < 3 * dh);
    err_prev = err;
  }
  // A voxel below the first height, and NaN, score 0; scores do not depend on test order.
  Vector y(3);
  y << 0.05, NAN, 2;
  o.dh = 0.1;
  const Vector t = st::tfce(g, y, o);
  CHECK(t(0) == 0);
  CHECK(t(1) == 0);
  CHECK(t(2) > 0);
}

TEST_CASE("tfce agrees with the direct per-height sum on random maps", "[stats][tfce]") {
  nl::Rng rng(7, 0);
  const st::ClusterGrid g({9, 8, 5}, [] {
    std::vector<Index> v;
    for (Index i = 0; i < 9 * 8 * 5; ++i)
      if (i % 7 != 3) v.push_back(i);
    return v;
  }(), 18);
  for (int rep = 0; rep < 5; ++rep) {
    Vector x(g.tests());
    for (Index j = 0; j < x.size(); ++j) x(j) = 3 * rng.normal() + (j % 11 == 0 ? 2 : 0);
    for (const bool two : {false, true}) {
      st::TfceOptions o;
      o.dh = 0.25;
      o.E = 0.6;
      o.H = 1.8;
      o.two_sided = two;
      check_close(st::tfce(g, x, o), direct(g, x, 0.25, 0.6, 1.8, two).transpose(), 1e-11);
    }
  }
}

TEST_CASE("max-TFCE permutation p-values equal numpy + MNE", "[stats][tfce]") {
  auto c = read_fixture("cluster/perm.txt");
  auto f = read_fixture("tfce/perm.txt");
  const Matrix& d = c["dims"];
  const st::ClusterGrid grid({static_cast<Index>(d(0)), static_cast<Index>(d(1)), static_cast<Index>(d(2))},
                             indices(c["tests"]), 26);
  const auto shuffles = nl_test::shuffles_of_rows(c["perm"]);
  st::PermutationOptions o;
  o.tfce = &grid;  // E 0.5, H 2, dh auto; two-sided from the tail
  const auto r = st::freedman_lane(c["Y"], c["X"], c["C"], o, shuffles);
  check_close(r.tfce, f["tfce"], 1e-9);
  check_close(r.max_tfce, f["max_tfce"], 1e-9);
  REQUIRE(r.tfce_p_fwe.size() == f["p_fwe"].size());
  for (Index j = 0; j < r.tfce.size(); ++j) {
    CHECK(r.tfce_p_fwe(j) == f["p_fwe"].data()[j]);
    CHECK(r.tfce_p_unc(j) == f["p_unc"].data()[j]);
  }

  SECTION("random rearrangements: the same on 1 and 2 threads") {
    st::PermutationOptions q = o;
    q.permutations = 300;
    q.seed = 5;
    const int before = nl::threads();
    nl::set_threads(1);
    const auto a = st::freedman_lane(c["Y"], c["X"], c["C"], q);
    nl::set_threads(2);
    const auto b = st::freedman_lane(c["Y"], c["X"], c["C"], q);
    nl::set_threads(before);
    CHECK(a.max_tfce == b.max_tfce);
    CHECK(a.tfce_p_fwe == b.tfce_p_fwe);
    CHECK(a.tfce_p_unc == b.tfce_p_unc);
  }
}

TEST_CASE("tfce errors name the problem", "[stats][tfce]") {
  const st::ClusterGrid g({2, 2, 2}, {0, 1, 2});
  st::TfceOptions o;
  CHECK(error_of([&] { st::tfce(g, Vector::Ones(4), o); }) == "tfce: the map has 4 values for 3 tests");
  o.E = -1;
  CHECK(error_of([&] { st::tfce(g, Vector::Ones(3), o); }) == "tfce: E must be a finite number >= 0, got -1");
  o.E = 0.5;
  o.dh = 1e-9;
  CHECK(error_of([&] { st::tfce(g, Vector::Constant(3, 100.0), o); }) ==
        "tfce: a step of 1e-09 cuts the map's range (0, 100] into more than 10^7 heights");
  o.dh = 0;
  Vector inf = Vector::Ones(3);
  inf(1) = INFINITY;
  CHECK(error_of([&] { st::tfce(g, inf, o); }) == "tfce: the map holds an infinite value");
  CHECK(error_of([] { st::ClusterGrid::edges(3, {{0, 1}, {1, 0}}); }) ==
        "edges: the edge between nodes 1 and 2 is given twice");
  CHECK(error_of([] { st::ClusterGrid::edges(3, {{0, 3}}); }) == "edges: edge 1 joins nodes 1 and 4, outside 1..3");
  CHECK(error_of([] { st::ClusterGrid::graph(3, {{0, 5}}); }) == "graph: link 1 joins nodes 1 and 6, outside 1..3");
  // All below the first height: zeros, no error.
  CHECK(st::tfce(g, Vector::Constant(3, -1.0), o).isZero());
}

TEST_CASE("max-TFCE FWE holds its level under the null", "[stats][tfce]") {
  // Null data sets (no group difference), each tested with 200 permutations; the
  // family-wise error rate is the fraction with any FWE p <= 0.05. With 300 data sets
  // its Monte-Carlo sd is 0.0126: the band is the nominal 0.05 +- 3 sd.
  auto fwe_rate = [](const st::ClusterGrid& g, int sets, const std::function<Matrix(nl::Rng&)>& draw, st::Tail tail) {
    const Index n = 16;
    Matrix X = Matrix::Ones(n, 2);
    for (Index i = 0; i < n / 2; ++i) X(i, 1) = 0;
    Matrix C(1, 2);
    C << 0, 1;
    int hits = 0;
    for (int s = 0; s < sets; ++s) {
      nl::Rng rng(99, static_cast<std::uint64_t>(s));
      st::PermutationOptions o;
      o.permutations = 200;
      o.seed = static_cast<std::uint64_t>(s) + 1;
      o.tail = tail;
      o.tfce = &g;
      if (g.kind() != st::ClusterGrid::Kind::Grid) o.tfce_options.E = 1;
      const auto r = st::freedman_lane(draw(rng), X, C, o);
      hits += r.tfce_p_fwe.minCoeff() <= 0.05;
    }
    return static_cast<double>(hits) / sets;
  };
  SECTION("connectome edges, noise shared by the edges of a node") {
    std::vector<std::array<Index, 2>> ends;
    for (Index i = 0; i < 10; ++i)
      for (Index j = i + 1; j < 10; ++j) ends.push_back({i, j});
    const st::ClusterGrid g = st::ClusterGrid::edges(10, ends);
    const double rate = fwe_rate(g, 300, [&](nl::Rng& rng) {
      Matrix Y(16, static_cast<Index>(ends.size()));
      for (Index i = 0; i < 16; ++i) {
        double node[10];
        for (double& v : node) v = rng.normal();
        for (std::size_t e = 0; e < ends.size(); ++e) Y(i, static_cast<Index>(e)) = node[ends[e][0]] + node[ends[e][1]] + rng.normal();
      }
      return Y;
    }, st::Tail::Two);
    CHECK(rate >= 0.012);
    CHECK(rate <= 0.088);
  }
  SECTION("a smooth volume, one-sided") {
    std::vector<Index> all;
    for (Index v = 0; v < 8 * 8 * 5; ++v) all.push_back(v);
    const st::ClusterGrid g({8, 8, 5}, all, 26);
    const double rate = fwe_rate(g, 300, [&](nl::Rng& rng) {
      Matrix Y(16, 8 * 8 * 5);
      for (Index i = 0; i < 16; ++i) {
        Vector white(8 * 8 * 5);
        for (Index v = 0; v < white.size(); ++v) white(v) = rng.normal();
        for (Index v = 0; v < white.size(); ++v) {  // mean over the 3 x 3 x 3 box: smooth noise
          double s = white(v);
          g.neighbours(v, [&](Index u) { s += white(u); });
          Y(i, v) = s;
        }
      }
      return Y;
    }, st::Tail::Right);
    CHECK(rate >= 0.012);
    CHECK(rate <= 0.088);
  }
}

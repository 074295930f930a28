// tests/engine/stats/test_variance_groups.cpp: the Aspin-Welch v and G statistics of
// variance groups (nl/stats/variance_groups.hpp) against R's Welch tests
// (tests/data/permutation/welch.txt from make_welch.R), their reduction to Student's t
// and F with one group, their permutation distribution, and the family-wise error of
// the permutation test under the null with unequal variances.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/stats/glm.hpp"
#include "nl/stats/permutation.hpp"
#include "nl/stats/variance_groups.hpp"
#include "stats_fixture.hpp"

namespace {

using nl::Matrix;
using nl::Vector;
using Index = Eigen::Index;
namespace st = nl::stats;

std::vector<int> labels(const Matrix& g) {
  std::vector<int> out;
  for (Index i = 0; i < g.rows(); ++i) out.push_back(static_cast<int>(g(i, 0)));
  return out;
}

// Cell-means design: one indicator per group.
Matrix indicators(const std::vector<int>& g, int groups) {
  Matrix X = Matrix::Zero(static_cast<Index>(g.size()), groups);
  for (std::size_t i = 0; i < g.size(); ++i) X(static_cast<Index>(i), g[i]) = 1;
  return X;
}

}  // namespace

TEST_CASE("v is Welch's t and G is Welch's one-way ANOVA (R)", "[stats][vg]") {
  const auto f = nl_test::read_fixture("permutation/welch.txt");
  {
    const auto g = labels(f.at("two_group"));
    Matrix C(1, 2);
    C << 1, -1;
    const auto t = st::variance_group_test(f.at("two_Y"), indicators(g, 2), C, g);
    const Matrix& R = f.at("two_welch");
    CHECK(t.is_v);
    CHECK(t.groups == 2);
    for (Index j = 0; j < R.rows(); ++j) {
      CHECK(t.stat(j) == Approx(R(j, 0)).epsilon(1e-12));
      CHECK(t.df(j) == Approx(R(j, 1)).epsilon(1e-12));
      CHECK(t.p(j) == Approx(R(j, 2)).epsilon(1e-10));
    }
  }
  {
    const auto g = labels(f.at("three_group"));
    Matrix C(2, 3);
    C << 1, -1, 0, 0, 1, -1;
    const auto t = st::variance_group_test(f.at("three_Y"), indicators(g, 3), C, g);
    const Matrix& R = f.at("three_welch");
    CHECK(!t.is_v);
    CHECK(t.df1 == 2);
    for (Index j = 0; j < R.rows(); ++j) {
      CHECK(t.stat(j) == Approx(R(j, 0)).epsilon(1e-12));
      CHECK(t.df(j) == Approx(R(j, 2)).epsilon(1e-12));
      CHECK(t.p(j) == Approx(R(j, 3)).epsilon(1e-10));
    }
    // The same contrast written on another parameterisation of the design (intercept +
    // two indicators) gives the same G: the statistic is invariant.
    Matrix X2(g.size(), 3);
    for (std::size_t i = 0; i < g.size(); ++i) X2.row(static_cast<Index>(i)) << 1, g[i] == 1, g[i] == 2;
    Matrix C2(2, 3);
    C2 << 0, 1, 0, 0, 0, 1;
    const auto t2 = st::variance_group_test(f.at("three_Y"), X2, C2, g);
    for (Index j = 0; j < R.rows(); ++j) CHECK(t2.stat(j) == Approx(R(j, 0)).epsilon(1e-10));
  }
}

TEST_CASE("one variance group gives Student's t and F, and bad groups raise", "[stats][vg]") {
  nl::Rng rng(5);
  const Index n = 23;
  Matrix X(n, 3), Y(n, 4);
  for (Index i = 0; i < n; ++i) {
    X.row(i) << 1, rng.normal(), rng.normal();
    for (Index j = 0; j < 4; ++j) Y(i, j) = rng.normal() + 0.3 * X(i, 1);
  }
  const std::vector<int> one(static_cast<std::size_t>(n), 7);
  const st::GlmFit fit = st::glm_fit(X, Y);
  Matrix c(1, 3);
  c << 0, 1, 0;
  const auto v = st::variance_group_test(Y, X, c, one);
  const auto t = st::t_contrast(fit, c.row(0).transpose());
  for (Index j = 0; j < 4; ++j) {
    CHECK(v.stat(j) == Approx(t.t(j)).epsilon(1e-12));
    CHECK(v.df(j) == Approx(n - 3).epsilon(1e-12));
  }
  Matrix C(2, 3);
  C << 0, 1, 0, 0, 0, 1;
  const auto G = st::variance_group_test(Y, X, C, one);
  const auto F = st::f_contrast(fit, C);
  for (Index j = 0; j < 4; ++j) CHECK(G.stat(j) == Approx(F.F(j)).epsilon(1e-12));
  // A group of one row with its own mean has no residual degrees of freedom.
  std::vector<int> g(static_cast<std::size_t>(n), 0);
  g[0] = 1;
  Matrix Xg = X;
  Xg.col(2).setZero();
  Xg(0, 2) = 1;
  CHECK_THROWS_WITH(st::VarianceGroupModel(Xg, c, g), Catch::Contains("variance group '1' has no residual degrees of freedom (its 1 row is fitted"));
  CHECK_THROWS_WITH(st::VarianceGroupModel(X, c, std::vector<int>(3, 0)), Catch::Contains("3 entries but the data have 23"));
  Matrix Xr = X;
  Xr.col(2) = 2 * X.col(1);
  CHECK_THROWS_WITH(st::VarianceGroupModel(Xr, c, one), Catch::Contains("full column rank"));
}

TEST_CASE("permutation with variance groups: each rearrangement is v of the rearranged data", "[stats][vg]") {
  nl::Rng rng(11);
  const Index n = 16, m = 3;
  Matrix X(n, 3), Y(n, m);
  std::vector<int> g(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) {
    g[static_cast<std::size_t>(i)] = i < 6 ? 0 : 1;
    X.row(i) << 1, i < 6 ? 0.0 : 1.0, rng.normal();
    for (Index j = 0; j < m; ++j) Y(i, j) = (i < 6 ? 1.0 : 3.0) * rng.normal() + 0.5 * X(i, 2);
  }
  Matrix C(1, 3);
  C << 0, 1, 0;
  st::PermutationOptions o;
  o.variance_groups = g;
  // The identity and three random rearrangements, checked one by one: Y* = P R_Z Y + H_Z Y.
  std::vector<st::Shuffle> sh(4);
  for (std::size_t k = 0; k < sh.size(); ++k) {
    for (Index i = 0; i < n; ++i) sh[k].perm.push_back(i);
    if (k > 0) rng.shuffle(sh[k].perm);
  }
  const auto r = st::freedman_lane(Y, X, C, o, sh);
  const auto v0 = st::variance_group_test(Y, X, C, g);
  for (Index j = 0; j < m; ++j) CHECK(r.stat(j) == Approx(v0.stat(j)).epsilon(1e-10));
  Matrix Zf(n, 2);
  Zf << X.col(0), X.col(2);
  const Matrix H = Zf * (Zf.transpose() * Zf).inverse() * Zf.transpose();
  const Matrix E = Y - H * Y;
  for (std::size_t k = 1; k < sh.size(); ++k) {
    Matrix Ys(n, m);
    for (Index i = 0; i < n; ++i) Ys.row(i) = E.row(sh[k].perm[static_cast<std::size_t>(i)]);
    Ys += H * Y;
    const auto vk = st::variance_group_test(Ys, X, C, g);
    CHECK(r.max_stat(static_cast<Index>(k)) == Approx(vk.stat.cwiseAbs().maxCoeff()).epsilon(1e-10));
  }
}

TEST_CASE("variance groups hold the FWE level under the null with unequal variances", "[stats][vg]") {
  // 300 null data sets: groups of 8 (sd 1) and 16 (sd 4) rows, an intercept, the group
  // and a covariate; 10 tests. Monte-Carlo sd of the rate 0.0126: band 0.05 +- 3 sd.
  const Index n = 24, m = 10;
  Matrix C(1, 3);
  C << 0, 1, 0;
  std::vector<int> g(static_cast<std::size_t>(n));
  int hits = 0;
  const int sets = 300;
  for (int s = 0; s < sets; ++s) {
    nl::Rng rng(77, static_cast<std::uint64_t>(s));
    Matrix X(n, 3), Y(n, m);
    for (Index i = 0; i < n; ++i) {
      g[static_cast<std::size_t>(i)] = i < 8 ? 0 : 1;
      X.row(i) << 1, i < 8 ? 0.0 : 1.0, rng.normal();
      for (Index j = 0; j < m; ++j) Y(i, j) = (i < 8 ? 1.0 : 4.0) * rng.normal() + 0.5 * X(i, 2);
    }
    st::PermutationOptions o;
    o.variance_groups = g;
    o.permutations = 200;
    o.seed = static_cast<std::uint64_t>(s) + 1;
    hits += st::freedman_lane(Y, X, C, o).p_fwe.minCoeff() <= 0.05;
  }
  const double rate = static_cast<double>(hits) / sets;
  INFO("FWE rate " << rate);
  CHECK(rate >= 0.012);
  CHECK(rate <= 0.088);
}

// Tests of whole-block exchangeability (PermutationOptions::block_mode, PALM -whole and
// -within -whole): the rearrangements it enumerates, the kernel against a direct refit
// of every rearrangement, and the family-wise error under the null when the effect of
// interest varies between blocks only.
#include <catch2/catch.hpp>

#include <functional>
#include <set>
#include <string>

#include "nl/core/core.hpp"
#include "nl/stats/permutation.hpp"
#include "stats_fixture.hpp"

namespace {

using nl::Matrix;
using nl::Vector;
using nl_test::error_of;
using nl_test::rel_close;
namespace st = nl::stats;
using Index = Eigen::Index;


}  // namespace

TEST_CASE("whole-block rearrangements keep the blocks' structure and are enumerated once", "[stats][blocks]") {
  st::PermutationOptions o;
  o.blocks = {7, 7, 7, 3, 3, 3, 9, 9, 9};  // three blocks of three, in order 7, 3, 9
  o.block_mode = st::BlockMode::Whole;
  o.permutations = 1000;
  bool exhaustive = false;
  const auto whole = st::make_shuffles(9, o, &exhaustive);
  CHECK(exhaustive);
  REQUIRE(whole.size() == 6);  // 3!
  std::set<std::vector<Index>> seen;
  for (const auto& s : whole) {
    seen.insert(s.perm);
    for (Index b = 0; b < 3; ++b)  // row k of a block takes row k of one block
      for (Index k = 0; k < 3; ++k) {
        CHECK(s.perm[static_cast<std::size_t>(3 * b + k)] % 3 == k);
        CHECK(s.perm[static_cast<std::size_t>(3 * b + k)] / 3 == s.perm[static_cast<std::size_t>(3 * b)] / 3);
      }
  }
  CHECK(seen.size() == 6);

  o.block_mode = st::BlockMode::Both;  // 3! (3!)^3 = 1296 > 1000: random
  const auto both = st::make_shuffles(9, o, &exhaustive);
  CHECK_FALSE(exhaustive);
  o.permutations = 1296;
  const auto all = st::make_shuffles(9, o, &exhaustive);
  CHECK(exhaustive);
  std::set<std::vector<Index>> every;
  for (const auto& s : all) {
    every.insert(s.perm);
    for (Index b = 0; b < 3; ++b)  // a block's rows come from one block
      for (Index k = 0; k < 3; ++k)
        CHECK(s.perm[static_cast<std::size_t>(3 * b + k)] / 3 == s.perm[static_cast<std::size_t>(3 * b)] / 3);
  }
  CHECK(every.size() == 1296);

  o.block_mode = st::BlockMode::Whole;  // sign flips of whole blocks: 2^3
  o.scheme = st::Exchange::SignFlip;
  o.permutations = 100;
  const auto flips = st::make_shuffles(9, o, &exhaustive);
  CHECK(exhaustive);
  REQUIRE(flips.size() == 8);
  std::set<std::vector<signed char>> signs;
  for (const auto& s : flips) {
    signs.insert(s.sign);
    for (Index i = 0; i < 9; ++i) CHECK(s.sign[static_cast<std::size_t>(i)] == s.sign[static_cast<std::size_t>(i / 3 * 3)]);
  }
  CHECK(signs.size() == 8);

  o.blocks = {0, 0, 1, 1, 1, 2, 2, 2, 2};
  CHECK(error_of([&] { st::make_shuffles(9, o); }) ==
        "whole-block exchangeability needs blocks of one size; block 1 has 2 rows, block 2 has 3 (blocks numbered in "
        "order of first appearance)");
}

// The group of interest is constant within blocks (families, sites): only whole-block
// rearrangements change it. The kernel must not treat block-constant directions as
// fixed then (they move between blocks).
TEST_CASE("whole-block Freedman-Lane equals a direct refit of every rearrangement", "[stats][blocks]") {
  nl::Rng rng(4);
  const Index blocks = 6, size = 3, n = blocks * size, m = 5;
  Matrix X(n, 3), Y(n, m);
  std::vector<int> block(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) {
    block[static_cast<std::size_t>(i)] = static_cast<int>(i / size);
    X(i, 0) = 1;
    X(i, 1) = rng.normal();
    X(i, 2) = i / size < blocks / 2 ? 0 : 1;  // block-level group
  }
  Vector effect(blocks);
  for (Index b = 0; b < blocks; ++b) effect(b) = rng.normal();
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < m; ++j) Y(i, j) = effect(i / size) + rng.normal() + 0.4 * X(i, 1) + (j == 0 ? X(i, 2) : 0.0);
  Matrix C(1, 3);
  C << 0, 0, 1;
  for (const auto mode : {st::BlockMode::Whole, st::BlockMode::Both}) {
    INFO("mode " << static_cast<int>(mode));
    st::PermutationOptions o;
    o.blocks = block;
    o.block_mode = mode;
    o.permutations = 200;
    o.seed = 3;
    const auto r = st::freedman_lane(Y, X, C, o);
    const auto shuffles = st::make_shuffles(n, o);
    const Matrix Z = X.leftCols(2);
    const Matrix Hz = Z * nl::pinv(Z);
    const Matrix E = Y - Hz * Y;
    const Vector T0 = r.stat.cwiseAbs();
    std::vector<std::int64_t> count(static_cast<std::size_t>(m), 0);
    Vector maxima(static_cast<Index>(shuffles.size()));
    for (std::size_t k = 0; k < shuffles.size(); ++k) {
      Matrix Ys = Hz * Y;
      for (Index i = 0; i < n; ++i) Ys.row(i) += E.row(shuffles[k].perm[static_cast<std::size_t>(i)]);
      const Vector T = st::t_contrast(st::glm_fit(X, Ys), C.row(0).transpose()).t.cwiseAbs();
      maxima(static_cast<Index>(k)) = T.maxCoeff();
      CHECK(rel_close(r.max_stat(static_cast<Index>(k)), maxima(static_cast<Index>(k)), 1e-9));
      for (Index j = 0; j < m; ++j) count[static_cast<std::size_t>(j)] += T(j) >= T0(j) * (1 - 1e-10);
    }
    for (Index j = 0; j < m; ++j) {
      CHECK(r.p_unc(j) == static_cast<double>(count[static_cast<std::size_t>(j)]) / 200.0);
      CHECK(r.p_fwe(j) == static_cast<double>((maxima.array() >= T0(j) * (1 - 1e-10)).count()) / 200.0);
    }
  }
}

TEST_CASE("whole-block permutation holds the FWE level when the group varies between blocks", "[stats][blocks]") {
  // 300 null data sets: 8 blocks of 3 rows (a random effect per block), the group set
  // per block; 20 tests. Monte-Carlo sd of the rate 0.0126: band 0.05 +- 3 sd.
  const Index blocks = 8, size = 3, n = blocks * size, m = 20;
  Matrix X(n, 2);
  std::vector<int> block(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) {
    block[static_cast<std::size_t>(i)] = static_cast<int>(i / size);
    X(i, 0) = 1;
    X(i, 1) = i / size < blocks / 2 ? 0 : 1;
  }
  Matrix C(1, 2);
  C << 0, 1;
  int hits = 0;
  const int sets = 300;
  for (int s = 0; s < sets; ++s) {
    nl::Rng rng(123, static_cast<std::uint64_t>(s));
    Matrix Y(n, m);
    for (Index j = 0; j < m; ++j) {
      Vector effect(blocks);
      for (Index b = 0; b < blocks; ++b) effect(b) = 1.5 * rng.normal();
      for (Index i = 0; i < n; ++i) Y(i, j) = effect(i / size) + rng.normal();
    }
    st::PermutationOptions o;
    o.blocks = block;
    o.block_mode = st::BlockMode::Whole;
    o.permutations = 200;
    o.seed = static_cast<std::uint64_t>(s) + 1;
    hits += st::freedman_lane(Y, X, C, o).p_fwe.minCoeff() <= 0.05;
  }
  const double rate = static_cast<double>(hits) / sets;
  CHECK(rate >= 0.012);
  CHECK(rate <= 0.088);
}
